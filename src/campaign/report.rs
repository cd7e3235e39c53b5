//! The campaign report: every record with its final state, as CSV, read
//! from the store a page at a time so a million-record report streams in
//! constant memory. Served by `GET /v1/campaigns/{id}/records?format=csv`
//! and written to `<data_dir>/reports/` when a campaign is REPORTED.

use crate::ids::{CampaignId, RecordId};
use crate::store::{RecordRow, Store, StoreError};
use bytes::Bytes;
use futures_util::Stream;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const HEADER: &str =
    "record_id,class,state,final,attempts,last_disposition,phone1,phone_idx,account,first_name,last_name\n";

const PAGE: u32 = 1000;

/// A CSV field: quoted when it holds a comma, quote or line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

pub fn line(r: &RecordRow) -> String {
    let data: serde_json::Value = serde_json::from_str(&r.data).unwrap_or_default();
    let text = |k: &str| data.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
    let cols = [
        r.id.to_string(),
        if r.class == 0 { "appended".into() } else { "loaded".into() },
        r.state.clone(),
        r.final_state.clone().unwrap_or_default(),
        r.attempts.to_string(),
        r.last_disposition.clone().unwrap_or_default(),
        text("phone1"),
        r.phone_idx.to_string(),
        text("account"),
        text("first_name"),
        text("last_name"),
    ];
    let mut out = cols.iter().map(|c| field(c)).collect::<Vec<_>>().join(",");
    out.push('\n');
    out
}

/// The report as a stream of CSV chunks (header first); only records in
/// `state` when one is given.
pub fn stream(
    store: Arc<dyn Store>,
    id: CampaignId,
    state: Option<String>,
) -> impl Stream<Item = Result<Bytes, StoreError>> {
    futures_util::stream::try_unfold((Some(RecordId(0)), true), move |(after, first)| {
        let (store, state) = (store.clone(), state.clone());
        async move {
            let Some(after) = after else { return Ok(None) };
            let rows = store.records_page(id, state.as_deref(), after, PAGE).await?;
            let mut chunk = if first { HEADER.to_string() } else { String::new() };
            for r in &rows {
                chunk.push_str(&line(r));
            }
            let next = if rows.len() < PAGE as usize { None } else { rows.last().map(|r| r.id) };
            if chunk.is_empty() {
                return Ok(None);
            }
            Ok(Some((Bytes::from(chunk), (next, false))))
        }
    })
}

/// Writes the report to `dir/campaign-<id>-<day>.csv` (via a temporary
/// file, so a crash never leaves half a report under the final name).
pub async fn write(store: Arc<dyn Store>, id: CampaignId, day: &str, dir: &Path) -> Result<PathBuf, String> {
    use futures_util::TryStreamExt;
    use tokio::io::AsyncWriteExt;
    tokio::fs::create_dir_all(dir).await.map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(format!("campaign-{id}-{day}.csv"));
    let tmp = path.with_extension("csv.part");
    let mut f = tokio::fs::File::create(&tmp).await.map_err(|e| format!("{}: {e}", tmp.display()))?;
    let mut s = std::pin::pin!(stream(store, id, None));
    while let Some(chunk) = s.try_next().await.map_err(|e| e.to_string())? {
        f.write_all(&chunk).await.map_err(|e| e.to_string())?;
    }
    f.sync_all().await.map_err(|e| e.to_string())?;
    tokio::fs::rename(&tmp, &path).await.map_err(|e| e.to_string())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_needed() {
        let r = RecordRow {
            id: RecordId(7),
            class: 0,
            state: "done".into(),
            due_at: 0,
            phone_idx: 1,
            attempts_on_phone: 1,
            attempts: 3,
            last_disposition: Some("busy".into()),
            final_state: Some("busy".into()),
            data: r#"{"phone1":"+15551","account":"A, \"B\"","last_name":"Ng"}"#.into(),
        };
        assert_eq!(line(&r), "7,appended,done,busy,3,busy,+15551,1,\"A, \"\"B\"\"\",,Ng\n");
        assert_eq!(HEADER.matches(',').count(), line(&r).matches(',').count() - 1);
    }
}

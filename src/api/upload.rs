//! `POST /v1/campaigns/{id}/upload`: the initial build from a CSV whose
//! header names the record fields. The body streams through the CSV parser
//! in chunks and is loaded in batches, so a million rows never sit in
//! memory at once.

use super::App;
use super::campaigns::campaign_of;
use super::error::{ApiError, ErrorBody};
use super::records::{Built, build_batch};
use crate::auth::{Permission, Principal};
use crate::campaign::build::Builder;
use crate::campaign::csv::CsvRecords;
use crate::campaign::model::CampaignState;
use crate::campaign::sortkey::SortSpec;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::{Extension, Json};
use http_body_util::BodyExt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

const BATCH: usize = 10_000;

/// Clears the campaign's "uploading" flag however the upload ends.
struct Uploading<'a>(&'a std::sync::atomic::AtomicBool);

impl Drop for Uploading<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// Build a BUILT campaign from CSV (`Content-Type: text/csv`; header row
/// names the fields, `phone1` required). Duplicates and cell numbers are removed.
#[utoipa::path(post, path = "/v1/campaigns/{id}/upload", tag = "campaigns", params(("id" = i64, Path)),
    request_body(content = String, content_type = "text/csv", description = "phone1,phone2,account,first_name,...\n+15551230001,,A-1,Ann"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Uploaded, loaded and rejected rows with reasons", body = Built),
        (status = 400, description = "Not CSV, or the header is unusable", body = ErrorBody),
        (status = 403, description = "The role may not build campaigns", body = ErrorBody),
        (status = 404, description = "No such campaign", body = ErrorBody),
        (status = 409, description = "Not BUILT, or another upload is running", body = ErrorBody),
        (status = 413, description = "Larger than [campaigns] max_upload_mb", body = ErrorBody),
        (status = 415, description = "Not text/csv", body = ErrorBody),
    ))]
pub async fn upload(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Built>, ApiError> {
    p.require(Permission::Manage)?;
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !ct.trim().to_ascii_lowercase().starts_with("text/csv") {
        return Err(ApiError::UnsupportedMediaType("send the file as Content-Type: text/csv".into()));
    }
    let row = campaign_of(&app, &p, &id).await?;
    let handle =
        app.campaigns.handle(row.id).ok_or_else(|| ApiError::Conflict(format!("the campaign is {}", row.state)))?;
    let state = *handle.state.borrow();
    if state != CampaignState::Built {
        return Err(ApiError::Conflict(format!(
            "uploads build BUILT campaigns; this one is {} (append records instead)",
            state.as_str()
        )));
    }
    if handle.uploading.swap(true, Ordering::AcqRel) {
        return Err(ApiError::Conflict("another upload into this campaign is running".into()));
    }
    let _guard = Uploading(&handle.uploading);
    let svc = app.store.service(&row.client, &row.service).await.map_err(ApiError::store)?;
    let sort: SortSpec = svc.map(|s| s.sort).unwrap_or_default().parse().unwrap_or(SortSpec::UploadOrder);
    let mut builder = Builder::new(&app.cells);
    if row.loaded > 0 {
        for phone in app.store.loaded_phones(row.id).await.map_err(ApiError::store)? {
            builder.remember(&phone);
        }
    }
    let mut csv = CsvRecords::new();
    let mut built = Built::default();
    let mut out = Vec::new();
    let mut batch = Vec::with_capacity(BATCH);
    let mut refused = 0u64;
    let mut bytes = 0u64;
    let mut body = body;
    let limit = app.cfg.campaigns.max_upload_bytes;
    loop {
        let chunk = match body.frame().await {
            None => None,
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => Some(data),
                Err(_) => continue,
            },
            Some(Err(e)) => return Err(ApiError::BadRequest(format!("could not read the body: {e}"))),
        };
        match &chunk {
            Some(data) => {
                bytes += data.len() as u64;
                if bytes > limit {
                    return Err(ApiError::PayloadTooLarge(format!(
                        "the upload is larger than [campaigns] max_upload_mb ({} MiB); rows so far were loaded",
                        limit >> 20
                    )));
                }
                csv.feed(data, &mut out)
            }
            None => csv.finish(&mut out),
        }
        .map_err(|e| ApiError::field("csv", e.to_string()))?;
        for r in out.drain(..) {
            built.uploaded += 1;
            match r {
                Ok(rec) => batch.push(rec),
                Err(e) => {
                    refused += 1;
                    built.reject(e.row, Some(e.field), "invalid", e.message);
                }
            }
        }
        if batch.len() >= BATCH || (chunk.is_none() && (!batch.is_empty() || refused > 0)) {
            let rows = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            build_batch(&handle, &sort, &mut builder, rows, refused, &mut built).await?;
            refused = 0;
        }
        if chunk.is_none() {
            break;
        }
    }
    Ok(Json(built))
}

//! Records of a campaign: the build step shared by JSON creation and CSV
//! upload, appends (`PUT /v1/campaigns/{id}/records`, seed 002's rules)
//! and the paginated record list (JSON or CSV).

use super::campaigns::campaign_of;
use super::error::{ApiError, ErrorBody};
use super::{App, read_json};
use crate::auth::{Permission, Principal};
use crate::campaign::actor::{Command, InsertError};
use crate::campaign::build::Builder;
use crate::campaign::manager::Handle;
use crate::campaign::model::CampaignType;
use crate::campaign::record::NewRecord;
use crate::campaign::report;
use crate::campaign::sortkey::{self, SortSpec};
use crate::ids::RecordId;
use crate::store::{RecordClass, RecordInsert};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use utoipa::{IntoParams, ToSchema};

/// Rows listed one by one in a build report; the rest are only counted.
const REPORTED_REJECTIONS: usize = 1000;

#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Built {
    pub uploaded: u64,
    pub loaded: u64,
    pub rejected: u64,
    /// The first 1,000 rejected rows with their reasons.
    pub rejections: Vec<Rejected>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Rejected {
    /// 1-based row (CSV data row or position in `records`).
    pub row: u64,
    /// `invalid`, `duplicate` or `cell_phone`.
    pub reason: String,
    pub field: Option<String>,
    pub message: String,
}

impl Built {
    pub fn reject(&mut self, row: u64, field: Option<String>, reason: &str, message: String) {
        self.rejected += 1;
        if self.rejections.len() < REPORTED_REJECTIONS {
            self.rejections.push(Rejected { row, reason: reason.into(), field, message });
        }
    }
}

fn insert_row(sort: &SortSpec, r: &NewRecord) -> Result<RecordInsert, ApiError> {
    let mut key = sortkey::key(sort, r, 0);
    // The store appends the real sequence number in place of the zero.
    key.truncate(key.len() - 8);
    let data = serde_json::to_string(r).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(RecordInsert { key_prefix: key, phone1: r.phone1.clone(), data })
}

async fn insert(handle: &Handle, class: RecordClass, rows: Vec<RecordInsert>, uploaded: i64) -> Result<(), ApiError> {
    let (tx, rx) = oneshot::channel();
    handle
        .tx
        .send(Command::Insert { class, rows, uploaded, reply: tx })
        .await
        .map_err(|_| ApiError::Conflict("the campaign has ended".into()))?;
    match rx.await.map_err(|_| ApiError::Internal("the campaign did not answer".into()))? {
        Ok(()) => Ok(()),
        Err(InsertError::State(s)) => Err(ApiError::Conflict(format!(
            "records can be added only in BUILT, PAUSE or PLAY; the campaign is {}",
            s.as_str()
        ))),
        Err(InsertError::Store(e)) => Err(ApiError::store(e)),
    }
}

/// Scrubs a batch of an initial build (duplicates, cell phones) and loads
/// what survives in the service's order. `refused` rows were already
/// counted as uploaded and rejected by the caller.
pub async fn build_batch(
    handle: &Handle,
    sort: &SortSpec,
    builder: &mut Builder<'_>,
    batch: Vec<(u64, NewRecord)>,
    refused: u64,
    built: &mut Built,
) -> Result<(), ApiError> {
    let offered = batch.len() as i64;
    let mut rows = Vec::with_capacity(batch.len());
    for (row, r) in batch {
        match builder.admit(r) {
            Ok(r) => rows.push(insert_row(sort, &r)?),
            Err(why) => built.reject(row, Some("phone1".into()), why.as_str(), format!("all numbers removed ({why})")),
        }
    }
    built.loaded += rows.len() as u64;
    insert(handle, RecordClass::Loaded, rows, offered + refused as i64).await?;
    Ok(())
}

/// Append records to a live campaign (seed 002). They skip de-duplication
/// and scrubbing and are dialled before every loaded record, first in
/// first out.
#[utoipa::path(put, path = "/v1/campaigns/{id}/records", tag = "campaigns", params(("id" = i64, Path)),
    request_body(content = [Object], description = "Records: `phone1` required, `phone2` up to 30 numbers, any other fields"),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Appended (durably)"),
        (status = 400, description = "A record is invalid; the field names the row, e.g. `[3].phone2`", body = ErrorBody),
        (status = 403, description = "Only sysadmin, superuser and manager may append", body = ErrorBody),
        (status = 404, description = "No such campaign", body = ErrorBody),
        (status = 409, description = "Appends not allowed: type, allow_append, state or not today's campaign", body = ErrorBody),
        (status = 413, description = "More than 10,000 records, or body too large", body = ErrorBody),
        (status = 429, description = "More than 5 appends in the last minute; see Retry-After", body = ErrorBody),
    ))]
pub async fn append(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<StatusCode, ApiError> {
    p.require(Permission::Manage)?;
    let row = campaign_of(&app, &p, &id).await?;
    let kind = CampaignType::parse(&row.kind).unwrap_or(CampaignType::Manual);
    if !kind.accepts_appends() {
        return Err(ApiError::Conflict(format!("{} campaigns do not take appends", kind.as_str())));
    }
    if !row.allow_append {
        return Err(ApiError::Conflict(format!("campaign {} was created without allow_append", row.id)));
    }
    let handle = app.campaigns.handle(row.id).ok_or_else(|| {
        ApiError::Conflict(format!("records can be added only in BUILT, PAUSE or PLAY; the campaign is {}", row.state))
    })?;
    let state = *handle.state.borrow();
    if !state.accepts_appends() {
        return Err(ApiError::Conflict(format!(
            "records can be added only in BUILT, PAUSE or PLAY; the campaign is {}",
            state.as_str()
        )));
    }
    let svc = app.store.service(&row.client, &row.service).await.map_err(ApiError::store)?;
    let today = svc
        .and_then(|s| jiff::tz::TimeZone::get(&s.time_zone).ok())
        .map(|tz| tz.to_datetime(jiff::Timestamp::now()).date().to_string());
    if today.as_deref() != Some(row.day.as_str()) {
        return Err(ApiError::Conflict(format!(
            "appends go to today's campaigns only; campaign {} is of {}",
            row.id, row.day
        )));
    }
    rate_limit(&handle, app.cfg.campaigns.appends_per_minute)?;
    let body = body.map_err(super::body_error)?;
    let values: Vec<serde_json::Value> = read_json(&body).map_err(|e| match e {
        ApiError::BadField { .. } => ApiError::BadRequest("the body must be a JSON array of record objects".into()),
        e => e,
    })?;
    let max = app.cfg.campaigns.max_append_records;
    if values.len() > max {
        return Err(ApiError::PayloadTooLarge(format!("{} records; at most {max} per append", values.len())));
    }
    if values.is_empty() {
        return Err(ApiError::BadRequest("the array holds no record".into()));
    }
    let mut rows = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        let r = NewRecord::from_json(v).map_err(|e| ApiError::field(format!("[{i}].{}", e.field), e.message))?;
        rows.push(insert_row(&SortSpec::UploadOrder, &r)?);
    }
    let n = rows.len() as i64;
    insert(&handle, RecordClass::Appended, rows, n).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Seed 002: at most N append calls per rolling minute per campaign.
fn rate_limit(handle: &Handle, per_minute: u32) -> Result<(), ApiError> {
    let now = Instant::now();
    let mut q = handle.appends.lock().unwrap_or_else(|e| e.into_inner());
    while q.front().is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60)) {
        q.pop_front();
    }
    if q.len() >= per_minute as usize {
        let retry_after = Duration::from_secs(60).saturating_sub(now.duration_since(q[0]));
        return Err(ApiError::TooMany {
            field: None,
            message: format!("at most {per_minute} appends per rolling minute per campaign"),
            retry_after,
        });
    }
    q.push_back(now);
    Ok(())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecordsQuery {
    /// `ready`, `waiting`, `dialing` or `done`.
    pub state: Option<String>,
    /// 1-based page of 100 records, in load order (JSON).
    pub page: Option<u32>,
    /// `json` (default) or `csv`: every record of the campaign (in `state`, if given), streamed: the report.
    pub format: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecordView {
    pub id: i64,
    /// `appended` or `loaded`.
    pub class: &'static str,
    pub state: String,
    /// When a waiting record is due (epoch ms).
    pub due_at: i64,
    pub phone_idx: i64,
    pub attempts: i64,
    pub last_disposition: Option<String>,
    #[serde(rename = "final")]
    pub final_state: Option<String>,
    #[schema(value_type = Object)]
    pub record: serde_json::Value,
}

const PAGE: u32 = 100;

/// A campaign's records with their state (100 per page); `format=csv` streams them all (the report).
#[utoipa::path(get, path = "/v1/campaigns/{id}/records", tag = "campaigns", params(("id" = i64, Path), RecordsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Records", body = [RecordView]),
        (status = 400, description = "A parameter is invalid", body = ErrorBody),
        (status = 404, description = "No such campaign", body = ErrorBody),
    ))]
pub async fn list(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    super::ApiQuery(q): super::ApiQuery<RecordsQuery>,
) -> Result<Response, ApiError> {
    let row = campaign_of(&app, &p, &id).await?;
    if let Some(s) = &q.state
        && !["ready", "waiting", "dialing", "done"].contains(&s.as_str())
    {
        return Err(ApiError::field("state", "one of ready, waiting, dialing, done"));
    }
    let page = q.page.unwrap_or(1);
    if page == 0 {
        return Err(ApiError::field("page", "pages start at 1"));
    }
    // Pages by id: the store walks its primary key, not an offset.
    let mut after = RecordId(0);
    let mut rows = Vec::new();
    for _ in 0..page {
        rows = app.store.records_page(row.id, q.state.as_deref(), after, PAGE).await.map_err(ApiError::store)?;
        match rows.last() {
            Some(r) => after = r.id,
            None => break,
        }
    }
    let views: Vec<RecordView> = rows
        .into_iter()
        .map(|r| RecordView {
            id: r.id.0,
            class: if r.class == 0 { "appended" } else { "loaded" },
            state: r.state,
            due_at: r.due_at,
            phone_idx: r.phone_idx,
            attempts: r.attempts,
            last_disposition: r.last_disposition,
            final_state: r.final_state,
            record: serde_json::from_str(&r.data).unwrap_or_default(),
        })
        .collect();
    match q.format.as_deref() {
        None | Some("json") => Ok(Json(views).into_response()),
        Some("csv") => {
            // The whole campaign, streamed page by page: the report.
            let body = axum::body::Body::from_stream(report::stream(app.store.clone(), row.id, q.state.clone()));
            Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response())
        }
        Some(_) => Err(ApiError::field("format", "json or csv")),
    }
}

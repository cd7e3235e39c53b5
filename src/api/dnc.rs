//! `/v1/dnc`: the client's do-not-call list and the global one (`global`,
//! sysadmin and superuser only). Numbers are checked at dial time for every
//! record, appended ones included.

use super::error::{ApiError, ErrorBody};
use super::{App, read_json};
use crate::auth::{Permission, Principal};
use crate::campaign::record::normalize_phone;
use crate::store::DncRow;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDnc {
    pub numbers: Vec<String>,
    /// Where the request came from (`customer_request`, `complaint`...).
    #[serde(default)]
    pub source: Option<String>,
    /// The global list, for every client (sysadmin and superuser).
    #[serde(default)]
    pub global: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DncAdded {
    pub added: u64,
    /// Numbers already on the list.
    pub already: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DncEntry {
    pub phone: String,
    pub source: String,
    /// Epoch milliseconds.
    pub added_at: i64,
    pub global: bool,
}

impl From<DncRow> for DncEntry {
    fn from(r: DncRow) -> Self {
        DncEntry { phone: r.phone, source: r.source, added_at: r.added_at, global: r.client == "*" }
    }
}

fn list_of(p: &Principal, global: bool) -> Result<String, ApiError> {
    if global {
        p.require(Permission::Admin)?;
        Ok("*".into())
    } else {
        p.require(Permission::Manage)?;
        Ok(p.client.0.clone())
    }
}

/// Add numbers: JSON `{"numbers": [...], "source"}` or a CSV / text body with one number per line.
#[utoipa::path(post, path = "/v1/dnc", tag = "dnc", request_body = NewDnc, security(("bearer" = [])),
    responses(
        (status = 200, description = "Added", body = DncAdded),
        (status = 400, description = "A number is invalid (the field names it)", body = ErrorBody),
        (status = 403, description = "The role may not change this list", body = ErrorBody),
    ))]
pub async fn add(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<DncAdded>, ApiError> {
    let body = body.map_err(super::body_error)?;
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    let req = if ct.starts_with("text/csv") || ct.starts_with("text/plain") {
        let text = std::str::from_utf8(&body).map_err(|_| ApiError::BadRequest("the body is not UTF-8".into()))?;
        let numbers = text
            .lines()
            .map(|l| l.split(',').next().unwrap_or("").trim().trim_matches('"').to_string())
            .filter(|l| !l.is_empty() && !l.eq_ignore_ascii_case("phone") && !l.starts_with('#'))
            .collect();
        NewDnc { numbers, source: Some("csv_import".into()), global: false }
    } else {
        read_json(&body)?
    };
    let list = list_of(&p, req.global)?;
    let mut numbers = Vec::with_capacity(req.numbers.len());
    for (i, n) in req.numbers.iter().enumerate() {
        numbers.push(normalize_phone(n).map_err(|m| ApiError::field(format!("numbers[{i}]"), m))?);
    }
    let source = req.source.unwrap_or_else(|| "api".into());
    if source.len() > 100 {
        return Err(ApiError::field("source", "at most 100 characters"));
    }
    let now = jiff::Timestamp::now().as_millisecond();
    let added = app.store.dnc_add(&list, &numbers, &source, now).await.map_err(ApiError::store)?;
    Ok(Json(DncAdded { added, already: numbers.len() as u64 - added }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DncQuery {
    /// Look one number up (the client's list, then the global one).
    pub phone: Option<String>,
    /// List the global list instead of the client's.
    pub global: Option<bool>,
    /// List numbers after this one (pagination).
    pub after: Option<String>,
    /// 1 to 1000 (default 100).
    pub limit: Option<u32>,
}

/// Look a number up, or list a list in number order.
#[utoipa::path(get, path = "/v1/dnc", tag = "dnc", params(DncQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "Entries (empty when a looked-up number is not listed)", body = [DncEntry]),
        (status = 400, description = "A parameter is invalid", body = ErrorBody),
    ))]
pub async fn list(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
    super::ApiQuery(q): super::ApiQuery<DncQuery>,
) -> Result<Json<Vec<DncEntry>>, ApiError> {
    if let Some(phone) = &q.phone {
        let phone = normalize_phone(phone).map_err(|m| ApiError::field("phone", m))?;
        let hit = app.store.dnc_find(&p.client, &phone).await.map_err(ApiError::store)?;
        return Ok(Json(hit.into_iter().map(DncEntry::from).collect()));
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::field("limit", "must be from 1 to 1000"));
    }
    let list = if q.global == Some(true) {
        // The global list holds every client's opt-outs: admins only.
        p.require(Permission::Admin)?;
        "*".to_string()
    } else {
        p.client.0.clone()
    };
    let rows = app.store.dnc_list(&list, q.after.as_deref(), limit).await.map_err(ApiError::store)?;
    Ok(Json(rows.into_iter().map(DncEntry::from).collect()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RemoveQuery {
    /// Remove from the global list.
    pub global: Option<bool>,
}

/// Take a number off a list.
#[utoipa::path(delete, path = "/v1/dnc/{phone}", tag = "dnc", params(("phone" = String, Path), RemoveQuery),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "The role may not change this list", body = ErrorBody),
        (status = 404, description = "Not on the list", body = ErrorBody),
    ))]
pub async fn remove(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
    Path(phone): Path<String>,
    super::ApiQuery(q): super::ApiQuery<RemoveQuery>,
) -> Result<StatusCode, ApiError> {
    let list = list_of(&p, q.global == Some(true))?;
    let phone = normalize_phone(&phone).map_err(|m| ApiError::field("phone", m))?;
    if app.store.dnc_remove(&list, &phone).await.map_err(ApiError::store)? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound { field: "phone", what: "the number on this list".into() })
    }
}

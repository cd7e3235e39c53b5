//! `/v1/leads`: leads of the caller's client with their state, history and
//! messages (the sales team's view of qualified leads), and
//! `/v1/clients/{id}/lead-keys`: the lead API keys of a client. Keys from
//! `[[lead_api.accounts]]` are listed read-only; keys created here live in
//! the store, hashed, and are shown once.

use super::error::{ApiError, ErrorBody};
use super::leads::hash;
use super::{ApiJson, ApiQuery, App};
use crate::auth::{Permission, Principal};
use crate::ids::{ClientId, LeadId};
use crate::leads::engine::apply::view;
use crate::store::{LeadFilter, LeadKeyRow};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

/// One lead with its history and messages.
#[utoipa::path(get, path = "/v1/leads/{id}", tag = "leads", params(("id" = i64, Path, description = "The validation_id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The lead: state, reason, submitted fields, history, messages", body = Object),
        (status = 404, description = "No such lead of this client", body = ErrorBody),
    ))]
pub async fn get(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    p.require(Permission::Read)?;
    let not_found = || ApiError::NotFound { field: "id", what: format!("lead {id:?}") };
    let n: i64 = id.parse().map_err(|_| not_found())?;
    let row = app.store.lead(LeadId(n)).await.map_err(ApiError::store)?.ok_or_else(not_found)?;
    if row.client != p.client {
        return Err(not_found());
    }
    let history = app.store.lead_history(row.id).await.map_err(ApiError::store)?;
    let messages = app.store.lead_messages(row.id).await.map_err(ApiError::store)?;
    let ts = |ms: i64| jiff::Timestamp::from_millisecond(ms).map(|t| t.to_string()).unwrap_or_default();
    let mut v = view(&row);
    v["history"] =
        history.iter().map(|(at, k, d)| serde_json::json!({"at": ts(*at), "kind": k, "detail": d})).collect();
    v["messages"] = messages
        .iter()
        .map(|m| {
            serde_json::json!({"id": m.id, "channel": m.channel, "state": m.state, "attempts": m.attempts,
                "last_error": m.last_error, "created_at": ts(m.created_at), "sent_at": m.sent_at.map(ts)})
        })
        .collect();
    Ok(Json(v))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LeadQuery {
    /// `pending`, `qualified` or `rejected`.
    pub state: Option<String>,
    pub service_id: Option<i64>,
    /// Leads with a smaller validation_id (the `next` of the previous page).
    pub before: Option<i64>,
    /// 1 to 500, default 100.
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LeadPage {
    #[schema(value_type = Vec<Object>)]
    pub leads: Vec<serde_json::Value>,
    /// Pass as `before` for the next page; absent on the last one.
    pub next: Option<i64>,
}

/// Leads of the client, newest first (e.g. `?state=qualified` for the
/// sales team).
#[utoipa::path(get, path = "/v1/leads", tag = "leads", params(LeadQuery), security(("bearer" = [])),
    responses((status = 200, description = "A page of leads", body = LeadPage),
        (status = 400, description = "A query field is invalid", body = ErrorBody)))]
pub async fn list(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
    ApiQuery(q): ApiQuery<LeadQuery>,
) -> Result<Json<LeadPage>, ApiError> {
    p.require(Permission::Read)?;
    if let Some(s) = &q.state
        && crate::leads::machine::LeadState::parse(s).is_none()
    {
        return Err(ApiError::field("state", "one of pending, qualified, rejected"));
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::field("limit", "must be from 1 to 500"));
    }
    let f = LeadFilter {
        client: Some(p.client.clone()),
        state: q.state.clone(),
        service_id: q.service_id,
        before: q.before,
        limit,
    };
    let rows = app.store.leads(&f).await.map_err(ApiError::store)?;
    let next = (rows.len() == limit as usize).then(|| rows.last().map(|r| r.id.0)).flatten();
    Ok(Json(LeadPage { leads: rows.iter().map(view).collect(), next }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLeadKey {
    /// An account of this client (`[[lead_api.accounts]]`).
    pub account_key: String,
    pub label: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LeadKey {
    pub id: String,
    pub account_key: String,
    pub label: Option<String>,
    /// Only in the reply that created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apikey: Option<String>,
    /// `api`, or `config` for keys of `[[lead_api.accounts]]` (read-only).
    pub source: &'static str,
    /// Epoch milliseconds; 0 for configured keys.
    pub created_at: i64,
}

fn own(p: &Principal, client: &str) -> Result<(), ApiError> {
    p.require(Permission::Admin)?;
    if p.client.0 != client {
        return Err(ApiError::NotFound { field: "id", what: format!("client {client}") });
    }
    Ok(())
}

/// Lead API keys of a client (configured ones without their secret).
#[utoipa::path(get, path = "/v1/clients/{id}/lead-keys", tag = "leads", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, description = "The keys", body = [LeadKey]),
        (status = 403, description = "Administrators only", body = ErrorBody),
        (status = 404, description = "Not the caller's client", body = ErrorBody)))]
pub async fn list_keys(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
    Path(client): Path<String>,
) -> Result<Json<Vec<LeadKey>>, ApiError> {
    own(&p, &client)?;
    let mut out: Vec<LeadKey> = Vec::new();
    for a in app.cfg.lead_api.accounts.iter().filter(|a| a.client == client) {
        for (i, _) in a.apikeys.iter().enumerate() {
            out.push(LeadKey {
                id: format!("config:{}:{i}", a.account_key),
                account_key: a.account_key.clone(),
                label: None,
                apikey: None,
                source: "config",
                created_at: 0,
            });
        }
    }
    for k in app.store.lead_keys(&ClientId(client)).await.map_err(ApiError::store)? {
        out.push(LeadKey {
            id: k.id,
            account_key: k.account_key,
            label: k.label,
            apikey: None,
            source: "api",
            created_at: k.created_at,
        });
    }
    Ok(Json(out))
}

/// Create a lead API key for one of the client's accounts; the key is
/// shown once.
#[utoipa::path(post, path = "/v1/clients/{id}/lead-keys", tag = "leads", params(("id" = String, Path)),
    request_body = NewLeadKey, security(("bearer" = [])),
    responses((status = 201, description = "Created; `apikey` is shown only here", body = LeadKey),
        (status = 400, description = "Unknown account of this client", body = ErrorBody),
        (status = 403, description = "Administrators only", body = ErrorBody)))]
pub async fn create_key(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
    Path(client): Path<String>,
    ApiJson(req): ApiJson<NewLeadKey>,
) -> Result<(StatusCode, Json<LeadKey>), ApiError> {
    own(&p, &client)?;
    if !app.cfg.lead_api.accounts.iter().any(|a| a.client == client && a.account_key == req.account_key) {
        return Err(ApiError::field(
            "account_key",
            format!("no lead account {:?} of client {client}", req.account_key),
        ));
    }
    if req.label.as_ref().is_some_and(|l| l.chars().count() > 200) {
        return Err(ApiError::field("label", "at most 200 characters"));
    }
    let apikey: String = {
        use rand::Rng;
        let bytes: [u8; 24] = rand::rng().random();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    };
    let row = LeadKeyRow {
        id: uuid::Uuid::now_v7().to_string(),
        client: ClientId(client),
        account_key: req.account_key,
        key_hash: hash(&apikey),
        label: req.label,
        created_at: jiff::Timestamp::now().as_millisecond(),
    };
    app.store.lead_key_add(&row).await.map_err(ApiError::store)?;
    let k = LeadKey {
        id: row.id,
        account_key: row.account_key,
        label: row.label,
        apikey: Some(apikey),
        source: "api",
        created_at: row.created_at,
    };
    Ok((StatusCode::CREATED, Json(k)))
}

/// Revoke a lead API key created through the API.
#[utoipa::path(delete, path = "/v1/clients/{id}/lead-keys/{key_id}", tag = "leads",
    params(("id" = String, Path), ("key_id" = String, Path)), security(("bearer" = [])),
    responses((status = 204, description = "Revoked"),
        (status = 403, description = "Administrators only, or a configured key", body = ErrorBody),
        (status = 404, description = "No such key", body = ErrorBody)))]
pub async fn delete_key(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
    Path((client, key)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    own(&p, &client)?;
    if key.starts_with("config:") {
        return Err(ApiError::Forbidden("configured keys are changed in [[lead_api.accounts]]".into()));
    }
    match app.store.lead_key_delete(&ClientId(client), &key).await.map_err(ApiError::store)? {
        true => Ok(StatusCode::NO_CONTENT),
        false => Err(ApiError::NotFound { field: "key_id", what: format!("lead key {key}") }),
    }
}

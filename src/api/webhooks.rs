//! `/v1/webhooks`: status-webhook subscriptions of the caller's client, and
//! their dead-letter lists. Configured (`[[webhooks]]`) ones are listed
//! read-only.

use super::error::{ApiError, ErrorBody};
use super::{ApiJson, App};
use crate::auth::{Permission, Principal};
use crate::events::{check_url, valid_pattern};
use crate::store::WebhookRow;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    #[schema(example = "https://crm.example.com/dialerd")]
    pub url: String,
    /// Event types or patterns: `call.ended`, `call.*`, `*` (docs/events.md).
    pub events: Vec<String>,
    /// HMAC key for `Dialerd-Signature` (16+ characters); generated when absent.
    pub secret: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    /// Only in the reply that created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// `api`, or `config` for `[[webhooks]]` entries (read-only here).
    pub source: &'static str,
    /// Epoch milliseconds.
    pub created_at: i64,
}

fn view(w: &WebhookRow, secret: bool) -> Webhook {
    Webhook {
        id: w.id.clone(),
        url: w.url.clone(),
        events: serde_json::from_str(&w.events).unwrap_or_default(),
        secret: secret.then(|| w.secret.clone()),
        source: if w.id.starts_with("config:") { "config" } else { "api" },
        created_at: w.created_at,
    }
}

/// Subscribe a URL to events; the reply shows the signing secret once.
#[utoipa::path(post, path = "/v1/webhooks", tag = "events", request_body = NewWebhook, security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = Webhook),
        (status = 400, description = "A field is invalid", body = ErrorBody),
        (status = 403, description = "The role may not manage webhooks", body = ErrorBody),
    ))]
pub async fn create(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
    ApiJson(req): ApiJson<NewWebhook>,
) -> Result<(StatusCode, Json<Webhook>), ApiError> {
    p.require(Permission::Manage)?;
    check_url(&req.url).map_err(|m| ApiError::field("url", m))?;
    if req.events.is_empty() {
        return Err(ApiError::field("events", "name at least one event type (\"call.*\", \"call.ended\", \"*\")"));
    }
    for (i, e) in req.events.iter().enumerate() {
        if !valid_pattern(e) {
            return Err(ApiError::field(
                format!("events[{i}]"),
                format!("{e:?} is not an event type (docs/events.md)"),
            ));
        }
    }
    let secret = match req.secret {
        Some(s) if s.len() < 16 || s.len() > 256 => return Err(ApiError::field("secret", "16 to 256 characters")),
        Some(s) => s,
        None => format!("whsec_{}", crate::auth::new_session_token()),
    };
    let row = WebhookRow {
        id: uuid::Uuid::now_v7().to_string(),
        client: p.client.0.clone(),
        url: req.url,
        events: serde_json::to_string(&req.events).map_err(|e| ApiError::Internal(e.to_string()))?,
        secret,
        created_at: jiff::Timestamp::now().as_millisecond(),
    };
    app.store.webhook_create(&row).await.map_err(ApiError::store)?;
    app.outbox.add(&row);
    Ok((StatusCode::CREATED, Json(view(&row, true))))
}

/// The client's webhooks, and the configured ones that receive its events.
#[utoipa::path(get, path = "/v1/webhooks", tag = "events", security(("bearer" = [])), responses(
    (status = 200, description = "Webhooks (secrets not shown)", body = [Webhook]),
))]
pub async fn list(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
) -> Result<Json<Vec<Webhook>>, ApiError> {
    let mut out: Vec<Webhook> = app
        .cfg
        .webhooks
        .iter()
        .filter(|w| w.client.as_ref().is_none_or(|c| *c == p.client.0))
        .map(|w| Webhook {
            id: format!("config:{}", w.name),
            url: w.url.clone(),
            events: w.events.clone(),
            secret: None,
            source: "config",
            created_at: 0,
        })
        .collect();
    let rows = app.store.webhooks(Some(&p.client.0)).await.map_err(ApiError::store)?;
    out.extend(rows.iter().map(|w| view(w, false)));
    Ok(Json(out))
}

/// Remove a webhook and its undelivered events.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "events", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "The role may not manage webhooks", body = ErrorBody),
        (status = 404, description = "No such webhook", body = ErrorBody),
        (status = 409, description = "A configured webhook (edit dialerd.toml)", body = ErrorBody),
    ))]
pub async fn remove(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    p.require(Permission::Manage)?;
    if id.starts_with("config:") {
        return Err(ApiError::Conflict(format!("{id} comes from dialerd.toml; remove it there")));
    }
    if app.store.webhook_delete(&p.client.0, &id).await.map_err(ApiError::store)? {
        app.outbox.remove(&id);
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound { field: "id", what: format!("webhook {id:?}") })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeadLetter {
    /// Pass to the replay route.
    pub id: i64,
    pub event_id: String,
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
    pub attempts: i64,
    pub last_error: Option<String>,
}

/// Ensures the webhook is the caller's (or configured for them).
async fn owned(app: &App, p: &Principal, id: &str) -> Result<(), ApiError> {
    let not_found = || ApiError::NotFound { field: "id", what: format!("webhook {id:?}") };
    if let Some(name) = id.strip_prefix("config:") {
        let ok = app
            .placer
            .live
            .get()
            .webhooks
            .iter()
            .any(|w| w.name == name && w.client.as_ref().is_none_or(|c| *c == p.client.0));
        return if ok && p.may(Permission::Admin) { Ok(()) } else { Err(not_found()) };
    }
    let rows = app.store.webhooks(Some(&p.client.0)).await.map_err(ApiError::store)?;
    if rows.iter().any(|w| w.id == id) { Ok(()) } else { Err(not_found()) }
}

/// Events delivery gave up on (after `[events] retry_horizon_s`).
#[utoipa::path(get, path = "/v1/webhooks/{id}/dead", tag = "events", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Dead letters, oldest first (at most 1,000)", body = [DeadLetter]),
        (status = 404, description = "No such webhook", body = ErrorBody),
    ))]
pub async fn dead(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Vec<DeadLetter>>, ApiError> {
    owned(&app, &p, &id).await?;
    let rows = app.store.outbox_dead_list(&id, 1000).await.map_err(ApiError::store)?;
    Ok(Json(
        rows.into_iter()
            .map(|r| DeadLetter {
                id: r.id,
                event_id: r.event_id,
                event: serde_json::from_str(&r.body).unwrap_or_default(),
                attempts: r.attempts,
                last_error: r.last_error,
            })
            .collect(),
    ))
}

/// Deliver a dead letter again (from now, with a fresh horizon).
#[utoipa::path(post, path = "/v1/webhooks/{id}/dead/{letter}/replay", tag = "events",
    params(("id" = String, Path), ("letter" = i64, Path)), security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued for delivery"),
        (status = 403, description = "The role may not manage webhooks", body = ErrorBody),
        (status = 404, description = "No such webhook or dead letter", body = ErrorBody),
    ))]
pub async fn replay(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
    Path((id, letter)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    p.require(Permission::Manage)?;
    owned(&app, &p, &id).await?;
    let letter: i64 = letter.parse().map_err(|_| ApiError::NotFound { field: "letter", what: "dead letter".into() })?;
    let now = jiff::Timestamp::now().as_millisecond();
    if app.store.outbox_replay(&id, letter, now).await.map_err(ApiError::store)? {
        app.outbox.wake_one(&id);
        Ok(StatusCode::ACCEPTED)
    } else {
        Err(ApiError::NotFound { field: "letter", what: format!("dead letter {letter}") })
    }
}

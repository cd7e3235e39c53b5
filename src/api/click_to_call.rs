//! `POST /v1/click-to-call` and `GET /v1/click-to-call/{id}` (issue 7,
//! seed 000). The POST comes from a site's backend: `Dialerd-Site` names
//! the site and `Dialerd-Request-Signature` signs the exact body with the
//! site's secret (`clicktocall::signature`); each nonce is accepted once.
//! The GET answers the site (signed, empty body), an API key or session
//! of the site's client (status and visitor info), or the browser that
//! holds the request's status token (status only; CORS for the site's
//! `allowed_origins`, see `widget.rs`). A POST with `at` is a callback:
//! stored as `scheduled` and run then (`clicktocall::timer`).

use super::error::{ApiError, ErrorBody};
use super::{App, read_json};
use crate::clicktocall::schedule::parse_at;
use crate::clicktocall::service::{NewRequest, now_ms, token_hash};
use crate::clicktocall::signature::{self, HEADER};
use crate::clicktocall::status::{Order, Status};
use crate::config::SiteConfig;
use crate::leads::phone::{self, Strictness};
use crate::metrics as m;
use crate::store::ClickRow;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::Arc;
use utoipa::ToSchema;

pub const SITE_HEADER: &str = "Dialerd-Site";
pub const TOKEN_HEADER: &str = "Dialerd-Status-Token";

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClickRequest {
    /// The visitor's number; national numbers are read in the site's region.
    #[schema(example = "+442071838750")]
    pub phone: String,
    /// The agent group to ring.
    #[schema(example = "sales")]
    pub agent_group: String,
    /// Shown to the agent: name, page, the widget's extra fields...
    #[serde(default)]
    #[schema(value_type = Object)]
    pub visitor: Map<String, Value>,
    /// `agent_first` (default) or `customer_first`.
    #[serde(default = "agent_first")]
    pub order: Order,
    /// A callback: call at this time (RFC 3339, in the future, at most 30
    /// days ahead), or at the site's next opening after it. The request is
    /// `scheduled` until then; no agent need be available now.
    #[schema(example = "2026-05-04T09:30:00+01:00")]
    pub at: Option<String>,
}

fn agent_first() -> Order {
    Order::AgentFirst
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClickCreated {
    pub id: String,
    pub status: Status,
    /// Read-only access to this request's status, for the visitor's
    /// browser: `GET /v1/click-to-call/{id}` with header
    /// `Dialerd-Status-Token`.
    pub status_token: String,
    /// When a scheduled request will run (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClickView {
    pub id: String,
    pub status: Status,
    /// The widget's view: `new`, `processing` or `finished`.
    pub phase: &'static str,
    pub order: String,
    pub agent_group: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sip_status: Option<i64>,
    /// RFC 3339.
    pub created_at: String,
    pub updated_at: String,
    /// When a scheduled request runs (or ran).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_at: Option<String>,
    /// Absent for a status-token reader.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub visitor: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_call_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_call_id: Option<String>,
}

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map(|t| t.to_string()).unwrap_or_default()
}

fn header<'h>(h: &'h HeaderMap, name: &str) -> Option<&'h str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// The site named by `Dialerd-Site`, if the body is signed by one of its
/// secrets within the tolerance and the nonce is new.
async fn signed_site<'a>(app: &'a App, headers: &HeaderMap, body: &[u8]) -> Result<(usize, &'a SiteConfig), ApiError> {
    let c2c = app.clicks.as_ref().ok_or(ApiError::NotFound { field: "path", what: "click to call".into() })?;
    let key = header(headers, SITE_HEADER).ok_or_else(|| {
        m::click_refused("site");
        ApiError::Unsigned(format!("the {SITE_HEADER} header is missing"))
    })?;
    let (i, site) = c2c.site(key).ok_or_else(|| {
        m::click_refused("site");
        ApiError::Unsigned(format!("no site {key:?} in [click_to_call]"))
    })?;
    let now_s = now_ms() / 1000;
    let tolerance = app.cfg.click_to_call.tolerance.as_secs() as i64;
    let mut last = None;
    let mut ok = None;
    for secret in &site.secrets {
        match signature::verify(secret.as_bytes(), header(headers, HEADER), body, now_s, tolerance) {
            Ok(s) => {
                ok = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let Some(signed) = ok else {
        let e = last.expect("a site has at least one secret");
        m::click_refused(match e {
            signature::SignatureError::Stale(_) => "expired",
            _ => "signature",
        });
        return Err(ApiError::Unsigned(e.to_string()));
    };
    let expires = (signed.t + tolerance + 1) * 1000;
    if !c2c.store().nonce_use(&site.key, &signed.nonce, expires, now_ms()).await.map_err(ApiError::store)? {
        m::click_refused("replay");
        return Err(ApiError::Unsigned("the nonce was already used (a replayed request)".into()));
    }
    Ok((i, site))
}

/// Ask dialerd to connect a website visitor with an agent group.
#[utoipa::path(post, path = "/v1/click-to-call", tag = "click to call", request_body = ClickRequest,
    params(
        ("Dialerd-Site" = String, Header, description = "The site's key ([[click_to_call.sites]] key)"),
        ("Dialerd-Request-Signature" = String, Header, description = "t=<unix>,n=<nonce>,v1=<hex HMAC-SHA256(secret, \"<t>.<n>.<body>\")>"),
    ),
    responses(
        (status = 201, description = "Accepted (`requested`, or `scheduled` with `at`); statuses follow as click_to_call.* events", body = ClickCreated),
        (status = 400, description = "A field is missing or malformed (`at`: not RFC 3339, past, or more than 30 days ahead)", body = ErrorBody),
        (status = 401, description = "Unsigned, wrongly signed, expired or replayed", body = ErrorBody),
        (status = 403, description = "The number is on the DNC list, outside calling hours, or the group is not the site's", body = ErrorBody),
        (status = 404, description = "No such agent group", body = ErrorBody),
        (status = 409, description = "No agent of the group is available (not for a scheduled request)", body = ErrorBody),
        (status = 429, description = "The site's or the number's rate limit", body = ErrorBody),
        (status = 503, description = "Draining", body = ErrorBody),
    ))]
pub async fn create(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<ClickCreated>), ApiError> {
    if app.draining.is_cancelled() {
        return Err(ApiError::Draining);
    }
    let (site_idx, site) = signed_site(&app, &headers, &body).await?;
    let req: ClickRequest = read_json(&body)?;
    let phone = phone::normalize(&req.phone, &site.region, Strictness::Possible)
        .map_err(|e| ApiError::field("phone", e.to_string()))?;
    if !crate::ids::valid_name(&req.agent_group) {
        return Err(ApiError::field("agent_group", "1 to 64 letters, digits, '-', '_' or '.'"));
    }
    if Value::Object(req.visitor.clone()).to_string().len() > 4096 {
        return Err(ApiError::field("visitor", "at most 4 KiB of JSON"));
    }
    let at = match &req.at {
        Some(text) => Some(parse_at(text, jiff::Timestamp::now()).map_err(|e| ApiError::field("at", e))?),
        None => None,
    };
    let c2c = app.clicks.as_ref().expect("checked by signed_site");
    let new =
        NewRequest { site: site_idx, phone, agent_group: req.agent_group, order: req.order, visitor: req.visitor, at };
    let created = c2c.create(new).await.map_err(|e| {
        m::click_refused("policy");
        ApiError::click(e)
    })?;
    let reply = ClickCreated {
        id: created.id,
        status: created.status,
        status_token: created.token,
        due_at: created.due_at.map(rfc3339),
    };
    Ok((StatusCode::CREATED, Json(reply)))
}

/// A request's status; with the site's signature or a key of its client,
/// also the visitor info and who took it.
#[utoipa::path(get, path = "/v1/click-to-call/{id}", tag = "click to call", params(("id" = String, Path),
        ("Dialerd-Status-Token" = Option<String>, Header, description = "The create reply's status_token (status only)"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The request", body = ClickView),
        (status = 401, description = "No status token, signature, key or session", body = ErrorBody),
        (status = 404, description = "No such request (for this reader)", body = ErrorBody),
        (status = 410, description = "Older than the retention window", body = ErrorBody),
    ))]
pub async fn get(State(app): State<Arc<App>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let row = match &app.clicks {
        Some(c2c) => c2c.store().click(&id).await.map_err(ApiError::store),
        None => Err(ApiError::NotFound { field: "path", what: "click to call".into() }),
    };
    let site = row.as_ref().ok().and_then(|r| r.as_ref()).map(|r| r.site.clone());
    let mut resp = match row {
        Ok(row) => read(&app, &headers, &id, row).await.map(Json).into_response(),
        Err(e) => e.into_response(),
    };
    // Errors too: the widget shows why its poll failed.
    super::widget::status_cors(&app, site.as_deref(), &headers, &mut resp);
    resp
}

async fn read(app: &App, headers: &HeaderMap, id: &str, row: Option<ClickRow>) -> Result<ClickView, ApiError> {
    let c2c = app.clicks.as_ref().expect("checked by get");
    let not_found = || ApiError::NotFound { field: "id", what: format!("click-to-call request {id:?}") };
    // Who is asking decides what they see; a stranger learns nothing.
    let full = if let Some(token) = header(headers, TOKEN_HEADER) {
        let row = row.as_ref().ok_or_else(not_found)?;
        if !crate::auth::constant_time_eq(&token_hash(token), &row.token_hash) {
            return Err(ApiError::Unauthorized);
        }
        false
    } else if header(headers, SITE_HEADER).is_some() {
        let (_, site) = signed_site(app, headers, b"").await?;
        if row.as_ref().is_some_and(|r| r.site != site.key) {
            return Err(not_found());
        }
        true
    } else {
        let p = super::session::principal_of(app, headers).await?.ok_or(ApiError::Unauthorized)?;
        if row.as_ref().is_some_and(|r| r.client != p.client) {
            return Err(not_found());
        }
        true
    };
    let row = row.ok_or_else(not_found)?;
    // A callback stays readable while it waits and for the window after
    // its time, like a request made then.
    let since = row.created_at.max(row.due_at.unwrap_or(0));
    if row.status != Status::Scheduled.as_str() && now_ms() - since > c2c.retention().as_millis() as i64 {
        return Err(ApiError::Gone(format!("click-to-call request {id:?} is older than the retention window")));
    }
    Ok(view(row, full))
}

fn view(r: ClickRow, full: bool) -> ClickView {
    let ts = rfc3339;
    let status = Status::parse(&r.status).unwrap_or(Status::Failed);
    ClickView {
        id: r.id,
        status,
        phase: status.phase(),
        order: r.order,
        agent_group: r.agent_group,
        cause: r.cause,
        sip_status: r.sip_status,
        created_at: ts(r.created_at),
        updated_at: ts(r.updated_at),
        due_at: r.due_at.map(ts),
        phone: full.then_some(r.phone),
        visitor: full.then(|| serde_json::from_str(&r.visitor).unwrap_or_default()),
        agent: r.agent.filter(|_| full),
        agent_call_id: r.agent_call.filter(|_| full),
        customer_call_id: r.customer_call.filter(|_| full),
    }
}

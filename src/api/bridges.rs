//! `POST /v1/calls/{id}/bridge`: join two answered calls of the caller's
//! client (B2BUA, `call::bridge`). Their flows stop, each hears the
//! other, and either hanging up ends both.

use super::error::{ApiError, ErrorBody};
use super::{ApiJson, App};
use crate::auth::{Permission, Principal};
use crate::call::view::CallState;
use crate::ids::CallId;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BridgeRequest {
    /// The other answered call.
    pub with: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Bridged {
    pub id: String,
    pub with: String,
}

fn answered_call(app: &App, p: &Principal, field: &'static str, id: &str) -> Result<CallId, ApiError> {
    let not_found = || ApiError::NotFound { field, what: format!("call {id:?}") };
    let cid: CallId = id.parse().map_err(|_| not_found())?;
    if !app.deps.registry.belongs_to(&cid, &p.client) {
        return Err(not_found());
    }
    let view = app.deps.registry.view(&cid).ok_or_else(not_found)?;
    if view.state != CallState::Answered {
        return Err(ApiError::Conflict(format!("call {id} is {:?}, not answered", view.state).to_lowercase()));
    }
    if view.bridge.is_some() {
        return Err(ApiError::Conflict(format!("call {id} is already bridged")));
    }
    Ok(cid)
}

/// Bridge this answered call with another.
#[utoipa::path(post, path = "/v1/calls/{id}/bridge", tag = "calls", params(("id" = String, Path)),
    request_body = BridgeRequest, security(("bearer" = [])),
    responses(
        (status = 200, description = "Bridged; GET /v1/calls/{id} shows `bridge` with relay counters", body = Bridged),
        (status = 400, description = "A call with itself", body = ErrorBody),
        (status = 404, description = "No such call of this client", body = ErrorBody),
        (status = 409, description = "A call is not answered, already bridged, or ended meanwhile", body = ErrorBody),
    ))]
pub async fn bridge(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<BridgeRequest>,
) -> Result<Json<Bridged>, ApiError> {
    p.require(Permission::Call)?;
    let a = answered_call(&app, &p, "id", &id)?;
    let b = answered_call(&app, &p, "with", &req.with)?;
    if a == b {
        return Err(ApiError::field("with", "a call cannot be bridged with itself"));
    }
    let (end_a, end_b) = crate::call::bridge::pair(a, b);
    let ended = |c: CallId| ApiError::Conflict(format!("call {c} ended meanwhile"));
    let ra = app.deps.registry.bridge(&a, end_a).map_err(|_| ended(a))?;
    let rb = app.deps.registry.bridge(&b, end_b).map_err(|_| ended(b))?;
    // A call that refuses drops its end; the other then leaves the bridge
    // unjoined, as it was.
    for (c, r) in [(a, ra), (b, rb)] {
        match r.await {
            Ok(Ok(())) => {}
            Ok(Err(why)) => return Err(ApiError::Conflict(format!("call {c}: {why}"))),
            Err(_) => return Err(ended(c)),
        }
    }
    Ok(Json(Bridged { id: a.to_string(), with: b.to_string() }))
}

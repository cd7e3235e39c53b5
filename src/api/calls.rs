//! `/v1/calls`: place, inspect and end calls.

use super::error::{ApiError, ErrorBody};
use super::target::Target;
use super::{ApiJson, App};
use crate::call::actor::{self, CallSpec};
use crate::call::machine::Plan;
use crate::call::registry::HangupError;
use crate::call::view::{CallState, CallView};
use crate::config::{OnCapacity, is_sip_user};
use crate::dialplan::Flow;
use crate::ids::CallId;
use crate::metrics as m;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCall {
    /// A phone number (`+15551234`) or `sip:user@host`.
    #[schema(example = "+15551234")]
    pub to: String,
    /// The `[[trunks]] name` to send the INVITE through.
    #[schema(example = "carrier")]
    pub trunk: String,
    /// From user for this call; the trunk's `caller_id` by default.
    pub caller_id: Option<String>,
    /// From display name; the trunk's `caller_name` by default.
    pub caller_name: Option<String>,
    /// A WAV file under `[media] prompts_dir` played after answer.
    #[schema(example = "welcome.wav")]
    pub prompt: Option<String>,
    /// Collect DTMF digits after the prompt.
    pub gather: Option<GatherSpec>,
    /// Run this flow from `dialplans/` once answered (instead of `prompt`
    /// and `gather`).
    #[schema(example = "lead-qualification")]
    pub dialplan: Option<String>,
    /// Call variables for the flow (text, numbers or booleans).
    #[schema(value_type = Option<Object>)]
    pub vars: Option<serde_json::Map<String, serde_json::Value>>,
    /// Give up ringing after this long (default `[calls] no_answer_timeout_s`).
    pub no_answer_timeout_s: Option<f64>,
    /// Hang up answered calls after this long (default `[calls] max_duration_s`).
    pub max_duration_s: Option<f64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GatherSpec {
    #[schema(minimum = 1, maximum = 32)]
    pub max_digits: u32,
    /// Seconds to wait for digits after the prompt ends.
    #[schema(minimum = 0.1, maximum = 600)]
    pub timeout_s: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    #[schema(example = "01937a6e-5b9c-7c1e-9a0e-3f1b2c4d5e6f")]
    pub id: String,
    pub state: CallState,
}

fn seconds(field: &str, v: Option<f64>, default: Duration, max: f64) -> Result<Duration, ApiError> {
    match v {
        None => Ok(default),
        Some(s) if s.is_finite() && s > 0.0 && s <= max => Ok(Duration::from_secs_f64(s)),
        Some(_) => Err(ApiError::field(field, format!("must be a number of seconds above 0 and at most {max}"))),
    }
}

/// Place a call.
#[utoipa::path(
    post,
    path = "/v1/calls",
    tag = "calls",
    request_body = NewCall,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The call exists and is dialling (or queued)", body = Created,
            headers(("Location" = String, description = "/v1/calls/{id}"))),
        (status = 400, description = "A field is invalid", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer key", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 429, description = "No capacity now; see Retry-After", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Shutting down", body = ErrorBody),
    )
)]
pub async fn create_call(
    State(app): State<Arc<App>>,
    ApiJson(req): ApiJson<NewCall>,
) -> Result<impl IntoResponse, ApiError> {
    if app.draining.is_cancelled() {
        return Err(ApiError::Draining);
    }
    let target = Target::parse(&req.to).map_err(|m| ApiError::field("to", m))?;
    let trunk_id = app
        .admission
        .find(&req.trunk)
        .ok_or_else(|| ApiError::field("trunk", format!("no trunk named {:?} in the configuration", req.trunk)))?;
    let trunk = app.admission.trunk(trunk_id).clone();
    let from_user = match &req.caller_id {
        Some(c) if !is_sip_user(c) => {
            return Err(ApiError::field("caller_id", "must be a SIP user (digits, letters, + * . _ -)"));
        }
        Some(c) => c.clone(),
        None => trunk.cfg.caller_id.clone().unwrap_or_else(|| "dialerd".into()),
    };
    if req.caller_name.as_deref().is_some_and(|n| n.len() > 64 || n.contains(['"', '\\', '\r', '\n'])) {
        return Err(ApiError::field(
            "caller_name",
            "at most 64 characters, without quotes, backslashes or line breaks",
        ));
    }
    let flow = flow_of(&app, &req)?;
    let vars = vars_of(req.vars.as_ref())?;
    let calls = &app.cfg.calls;
    let no_answer_timeout = seconds("no_answer_timeout_s", req.no_answer_timeout_s, calls.no_answer_timeout, 600.0)?;
    let max_duration = seconds("max_duration_s", req.max_duration_s, calls.max_duration, 86_400.0)?;

    let (user, host) = match target {
        Target::Number(n) => (n, trunk.uri_host()),
        Target::Uri { user, host } => (user, host),
    };
    let admitted = match app.cfg.calls.on_capacity {
        OnCapacity::Queue => None,
        OnCapacity::Reject => {
            let grant = app.admission.try_invite().and_then(|p| app.admission.try_admit(trunk_id).map(|a| (a, p)));
            match grant {
                Ok(g) => Some(g),
                Err(refusal) => {
                    m::call_refused(refusal.reason());
                    let field =
                        matches!(refusal.reason(), "trunk_paused" | "trunk_busy" | "trunk_rate").then_some("trunk");
                    return Err(ApiError::TooMany {
                        field,
                        message: format!("no capacity for a new call now ({})", refusal.reason()),
                        retry_after: refusal.retry_after(),
                    });
                }
            }
        }
    };

    let id = CallId::new();
    let plan = Plan {
        user,
        flow,
        vars,
        no_answer_timeout,
        max_duration,
        max_redirects: calls.max_redirects,
        give_up_after: app.cfg.sip.t1 * 64 + Duration::from_secs(1),
    };
    let (view_tx, view_rx) = watch::channel(CallView::new(id, req.to.trim().to_string(), trunk.cfg.name.clone()));
    let (cmd_tx, cmd_rx) = mpsc::channel(4);
    app.deps.registry.insert(id, view_rx, cmd_tx);
    let spec = CallSpec {
        id,
        trunk,
        plan,
        host,
        from_user,
        from_display: req.caller_name.clone().or_else(|| app.admission.trunk(trunk_id).cfg.caller_name.clone()),
        admitted,
    };
    let state = if spec.admitted.is_some() { CallState::Dialing } else { CallState::Queued };
    app.tasks.spawn(actor::run(spec, app.deps.clone(), view_tx, cmd_rx));
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&format!("/v1/calls/{id}")) {
        headers.insert(header::LOCATION, v);
    }
    Ok((StatusCode::CREATED, headers, Json(Created { id: id.to_string(), state })))
}

/// The flow a call runs: a named dialplan, or the inline prompt-and-digits.
fn flow_of(app: &App, req: &NewCall) -> Result<Arc<Flow>, ApiError> {
    if let Some(name) = &req.dialplan {
        if req.prompt.is_some() || req.gather.is_some() {
            return Err(ApiError::field("dialplan", "prompt and gather apply only without a dialplan"));
        }
        return app
            .dialplans
            .get(name)
            .ok_or_else(|| ApiError::field("dialplan", format!("no dialplan named {name:?}")));
    }
    let prompt = match &req.prompt {
        Some(name) => Some(app.prompts.load(name).map_err(|e| ApiError::field("prompt", format!("{name:?}: {e}")))?),
        None => None,
    };
    let gather = match &req.gather {
        None => None,
        Some(g) => {
            if !(1..=32).contains(&g.max_digits) {
                return Err(ApiError::field("gather.max_digits", "must be from 1 to 32"));
            }
            if !(g.timeout_s.is_finite() && g.timeout_s >= 0.1 && g.timeout_s <= 600.0) {
                return Err(ApiError::field("gather.timeout_s", "must be from 0.1 to 600 seconds"));
            }
            Some((g.max_digits as usize, Duration::from_secs_f64(g.timeout_s)))
        }
    };
    Ok(Arc::new(Flow::inline(prompt, gather)))
}

fn vars_of(vars: Option<&serde_json::Map<String, serde_json::Value>>) -> Result<BTreeMap<String, String>, ApiError> {
    let mut out = BTreeMap::new();
    for (k, v) in vars.into_iter().flatten() {
        let text = match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            _ => return Err(ApiError::field(format!("vars.{k}"), "must be text, a number or a boolean")),
        };
        if k.is_empty() || k.len() > 64 || text.len() > 1024 {
            return Err(ApiError::field(format!("vars.{k}"), "names up to 64 and values up to 1024 characters"));
        }
        out.insert(k.clone(), text);
    }
    Ok(out)
}

fn parse_id(id: &str) -> Result<CallId, ApiError> {
    id.parse().map_err(|_| ApiError::NotFound { field: "id", what: format!("call {id:?}") })
}

/// A call's state, events and outcome.
#[utoipa::path(
    get,
    path = "/v1/calls/{id}",
    tag = "calls",
    params(("id" = String, Path, description = "The id `POST /v1/calls` returned")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The call", body = CallView),
        (status = 401, description = "Missing or wrong bearer key", body = ErrorBody),
        (status = 404, description = "No such call (or it ended longer ago than the retention)", body = ErrorBody),
    )
)]
pub async fn get_call(State(app): State<Arc<App>>, Path(id): Path<String>) -> Result<Json<CallView>, ApiError> {
    let cid = parse_id(&id)?;
    app.deps.registry.view(&cid).map(Json).ok_or(ApiError::NotFound { field: "id", what: format!("call {id:?}") })
}

/// End a call: CANCEL before answer, BYE after.
#[utoipa::path(
    delete,
    path = "/v1/calls/{id}",
    tag = "calls",
    params(("id" = String, Path, description = "The id `POST /v1/calls` returned")),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Hang-up requested; poll GET for the outcome", body = Created),
        (status = 401, description = "Missing or wrong bearer key", body = ErrorBody),
        (status = 404, description = "No such call", body = ErrorBody),
        (status = 409, description = "The call has already ended", body = ErrorBody),
    )
)]
pub async fn delete_call(State(app): State<Arc<App>>, Path(id): Path<String>) -> Result<impl IntoResponse, ApiError> {
    let cid = parse_id(&id)?;
    match app.deps.registry.hangup(&cid) {
        Ok(()) => {
            let state = app.deps.registry.view(&cid).map_or(CallState::Ended, |v| v.state);
            Ok((StatusCode::ACCEPTED, Json(Created { id, state })))
        }
        Err(HangupError::NotFound) => Err(ApiError::NotFound { field: "id", what: format!("call {id:?}") }),
        Err(HangupError::AlreadyEnded) => Err(ApiError::Conflict(format!("call {id} has already ended"))),
    }
}

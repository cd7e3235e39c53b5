//! `/v1/calls`: place, inspect and end calls.

use super::error::{ApiError, ErrorBody};
use super::target::Target;
use super::{ApiJson, App};
use crate::auth::{Permission, Principal};
use crate::call::place::PlaceRequest;
use crate::call::registry::HangupError;
use crate::call::view::{CallState, CallView};
use crate::config::is_sip_user;
use crate::dialplan::Flow;
use crate::events::pops;
use crate::events::screenpop::{PopFields, PopStatus};
use crate::ids::CallId;
use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCall {
    /// A phone number (`+15551234`) or `sip:user@host`.
    #[schema(example = "+15551234")]
    pub to: String,
    /// A `[[trunks]] name`, or a `[[trunk_groups]] name` whose trunks are
    /// tried in order (failover before answer).
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
    /// An `[[agents]] id`: the call is placed on the agent's behalf and pops
    /// the agent's CRM screen with status `Dialing` (seed 004).
    pub agent: Option<String>,
    /// An RFC 8224 `Identity` header value for this call (a STIR/SHAKEN
    /// PASSporT signed by your signing service), sent untouched in place of
    /// the trunk's `identity`.
    #[serde(default)]
    pub identity: Option<String>,
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
    Extension(principal): Extension<Principal>,
    ApiJson(req): ApiJson<NewCall>,
) -> Result<impl IntoResponse, ApiError> {
    principal.require(Permission::Call)?;
    if app.draining.is_cancelled() {
        return Err(ApiError::Draining);
    }
    let target = Target::parse(&req.to).map_err(|m| ApiError::field("to", m))?;
    let route = app.admission.route(&req.trunk).filter(|r| !r.trunks.is_empty()).ok_or_else(|| {
        ApiError::field("trunk", format!("no trunk or trunk group named {:?} in the configuration", req.trunk))
    })?;
    let trunk = app.admission.trunk(route.trunks[0]);
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
    if req.identity.as_deref().is_some_and(|i| i.is_empty() || i.len() > 8192 || i.contains(['\r', '\n'])) {
        return Err(ApiError::field("identity", "one line of at most 8192 characters (an RFC 8224 Identity value)"));
    }
    let live = app.placer.live.get();
    let agent = match &req.agent {
        None => None,
        Some(a) => Some(
            live.agents
                .iter()
                .find(|x| &x.id == a && x.client == principal.client.0)
                .ok_or_else(|| ApiError::field("agent", format!("no agent {a:?} in the configuration")))?,
        ),
    };
    let flow = flow_of(&app, &req)?;
    let vars = vars_of(req.vars.as_ref())?;
    let calls = &app.cfg.calls;
    let no_answer_timeout = seconds("no_answer_timeout_s", req.no_answer_timeout_s, calls.no_answer_timeout, 600.0)?;
    let max_duration = seconds("max_duration_s", req.max_duration_s, calls.max_duration, 86_400.0)?;

    // A number goes to the trunk's own host, whichever trunk of a group
    // ends up carrying the call.
    let (user, host) = match target {
        Target::Number(n) => (n, None),
        Target::Uri { user, host } => (user, Some(host)),
    };
    let to_text = req.to.trim().to_string();
    let did = from_user.clone();
    let req = PlaceRequest {
        user,
        host,
        to_text: to_text.clone(),
        route,
        from_user: Some(from_user),
        from_display: req.caller_name.clone(),
        flow,
        vars,
        no_answer_timeout,
        max_duration,
        on_capacity: app.cfg.calls.on_capacity,
        origin: crate::call::actor::Origin { client: Some(principal.client.clone()), ..Default::default() },
        park_on: None,
        identity: req.identity.clone(),
    };
    let placed = app.placer.place(req).map_err(|refusal| {
        let field =
            matches!(refusal.reason(), "trunk_paused" | "trunk_busy" | "trunk_rate" | "trunk_down").then_some("trunk");
        ApiError::TooMany {
            field,
            message: format!("no capacity for a new call now ({})", refusal.reason()),
            retry_after: refusal.retry_after(),
        }
    })?;
    let (id, state) = (placed.id, placed.state);
    app.call_log.watch(principal.client.clone(), placed.view);
    if let Some(a) = agent
        && let Some(endpoint) = a.pop.clone().filter(|_| a.pops.outgoing)
    {
        let fields = PopFields {
            phone: to_text,
            ivrid: id.to_string(),
            exten_user: a.extension.clone(),
            did,
            status: PopStatus::Dialing,
        };
        pops::spawn(&app.tasks, app.deps.http.clone(), app.deps.registry.clone(), id, endpoint, fields);
    }
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
pub async fn get_call(
    State(app): State<Arc<App>>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<CallView>, ApiError> {
    let cid = parse_id(&id)?;
    let not_found = || ApiError::NotFound { field: "id", what: format!("call {id:?}") };
    if !app.deps.registry.belongs_to(&cid, &principal.client) {
        return Err(not_found());
    }
    app.deps.registry.view(&cid).map(Json).ok_or_else(not_found)
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
pub async fn delete_call(
    State(app): State<Arc<App>>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    principal.require(Permission::Call)?;
    let cid = parse_id(&id)?;
    if !app.deps.registry.belongs_to(&cid, &principal.client) {
        return Err(ApiError::NotFound { field: "id", what: format!("call {id:?}") });
    }
    match app.deps.registry.hangup(&cid) {
        Ok(()) => {
            let state = app.deps.registry.view(&cid).map_or(CallState::Ended, |v| v.state);
            Ok((StatusCode::ACCEPTED, Json(Created { id, state })))
        }
        Err(HangupError::NotFound) => Err(ApiError::NotFound { field: "id", what: format!("call {id:?}") }),
        Err(HangupError::AlreadyEnded) => Err(ApiError::Conflict(format!("call {id} has already ended"))),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallsQuery {
    /// Calls of one campaign (its attempts).
    pub campaign: Option<i64>,
    /// `answered`, `busy`, `no_answer`, `interrupted`...
    pub disposition: Option<String>,
    /// Started at or after, epoch milliseconds.
    pub from: Option<i64>,
    /// Started at or before, epoch milliseconds.
    pub to: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 1000 (default 100).
    pub limit: Option<u32>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallRecord {
    pub id: String,
    pub campaign_id: Option<i64>,
    pub record_id: Option<i64>,
    pub phone: String,
    pub trunk: String,
    /// Epoch milliseconds.
    pub started_at: i64,
    pub ended_at: Option<i64>,
    /// Absent while the call is in progress.
    pub disposition: Option<String>,
    pub sip_status: Option<i64>,
    pub cause: Option<String>,
    /// The flow's outcome (`qualified`, `rejected`...).
    pub outcome: Option<String>,
    pub digits: Option<String>,
    pub duration_ms: Option<i64>,
    /// The Q.850 cause of the hang-up (RFC 3326 `Reason`), when there was one.
    pub q850_cause: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallPage {
    pub calls: Vec<CallRecord>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Calls and campaign attempts from the store, newest first (`format=csv` for reports).
#[utoipa::path(get, path = "/v1/calls", tag = "calls", params(CallsQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of calls", body = CallPage),
        (status = 400, description = "A parameter is invalid", body = ErrorBody),
    ))]
pub async fn list_calls(
    State(app): State<Arc<App>>,
    Extension(principal): Extension<Principal>,
    super::ApiQuery(q): super::ApiQuery<CallsQuery>,
) -> Result<axum::response::Response, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::field("limit", "must be from 1 to 1000"));
    }
    let before = match &q.cursor {
        None => None,
        Some(c) => {
            let (at, id) = c.split_once('_').ok_or_else(|| ApiError::field("cursor", "not a cursor from this API"))?;
            Some((at.parse().map_err(|_| ApiError::field("cursor", "not a cursor from this API"))?, id.to_string()))
        }
    };
    let filter = crate::store::CallFilter {
        client: Some(principal.client.clone()),
        campaign: q.campaign.map(crate::ids::CampaignId),
        disposition: q.disposition.clone(),
        from_ms: q.from,
        to_ms: q.to,
        before,
        limit,
    };
    let rows = app.store.calls(&filter).await.map_err(ApiError::store)?;
    let next_cursor =
        (rows.len() as u32 == limit).then(|| rows.last().map(|r| format!("{}_{}", r.started_at, r.id))).flatten();
    let calls: Vec<CallRecord> = rows
        .into_iter()
        .map(|r| CallRecord {
            id: r.id,
            campaign_id: r.campaign.map(|c| c.0),
            record_id: r.record.map(|c| c.0),
            phone: r.phone,
            trunk: r.trunk,
            started_at: r.started_at,
            ended_at: r.end.as_ref().map(|e| e.ended_at),
            disposition: r.end.as_ref().map(|e| e.disposition.clone()),
            sip_status: r.end.as_ref().and_then(|e| e.sip_status),
            cause: r.end.as_ref().and_then(|e| e.cause.clone()),
            outcome: r.end.as_ref().and_then(|e| e.outcome.clone()),
            digits: r.end.as_ref().map(|e| e.digits.clone()),
            duration_ms: r.end.as_ref().and_then(|e| e.duration_ms),
            q850_cause: r.end.as_ref().and_then(|e| e.q850_cause),
        })
        .collect();
    match q.format.as_deref() {
        None | Some("json") => Ok(Json(CallPage { calls, next_cursor }).into_response()),
        Some("csv") => {
            let mut out = String::from(
                "id,campaign_id,record_id,phone,trunk,started_at,ended_at,disposition,sip_status,cause,outcome,duration_ms\n",
            );
            let o = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
            for c in &calls {
                out.push_str(&format!(
                    "{},{},{},{},{},{},{},{},{},{},{},{}\n",
                    c.id,
                    o(c.campaign_id),
                    o(c.record_id),
                    c.phone,
                    c.trunk,
                    c.started_at,
                    o(c.ended_at),
                    c.disposition.as_deref().unwrap_or(""),
                    o(c.sip_status),
                    c.cause.as_deref().unwrap_or(""),
                    c.outcome.as_deref().unwrap_or("").replace(',', " "),
                    o(c.duration_ms)
                ));
            }
            Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response())
        }
        Some(_) => Err(ApiError::field("format", "json or csv")),
    }
}

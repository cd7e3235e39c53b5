//! `/v1/campaigns`: create (with an initial build from JSON records), find,
//! read, play/pause/stop, stats and "why not dialling".

use super::error::{ApiError, ErrorBody};
use super::records::{Built, build_batch};
use super::{App, read_json};
use crate::auth::{Permission, Principal};
use crate::campaign::actor::Command;
use crate::campaign::build::Builder;
use crate::campaign::calendar::{self, Window};
use crate::campaign::caller_ids::CallerIdStrategy;
use crate::campaign::explain::{Explanation, explain as explain_words};
use crate::campaign::manager::{Handle, service_context};
use crate::campaign::model::{CampaignState, CampaignType, Control, NumberCaps, Pacing, Retries, Settings};
use crate::campaign::record::NewRecord;
use crate::config::is_sip_user;
use crate::ids::CampaignId;
use crate::store::{CampaignFilter, CampaignRow, NewCampaignRow};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::oneshot;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCampaign {
    /// A service from `POST /v1/services`.
    pub service: String,
    pub name: String,
    #[serde(rename = "type", default = "outbound")]
    #[schema(value_type = String, example = "OUTBOUND")]
    pub kind: CampaignType,
    #[serde(default)]
    pub allow_append: bool,
    pub trunks: Vec<String>,
    #[serde(default)]
    pub dialplan: Option<String>,
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    #[serde(default)]
    pub caller_id: Option<String>,
    #[serde(default)]
    pub caller_name: Option<String>,
    /// A caller-ID pool (up to 100 numbers): each call shows one of them,
    /// picked by `caller_id_strategy`. Excludes `caller_id`.
    #[serde(default)]
    pub caller_ids: Vec<String>,
    /// `round_robin` (default) or `least_used_today` (the client's calls
    /// since the start of the service's day).
    #[serde(default)]
    pub caller_id_strategy: CallerIdStrategy,
    #[serde(default)]
    pub pacing: Option<Pacing>,
    #[serde(default)]
    pub retries: Option<Retries>,
    /// The legal window in the callee's time zone, `HH:MM-HH:MM` (default `08:00-21:00`).
    #[serde(default)]
    pub calling_window: Option<String>,
    #[serde(default)]
    pub caps: Option<NumberCaps>,
    #[serde(default)]
    pub no_answer_timeout_s: Option<f64>,
    /// Flow outcomes that put the number on the do-not-call list (default `rejected`, `opt_out`).
    #[serde(default)]
    pub dnc_outcomes: Option<Vec<String>>,
    /// The initial build: de-duplicated and scrubbed of cell numbers.
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub records: Option<Vec<serde_json::Value>>,
}

fn outbound() -> CampaignType {
    CampaignType::Outbound
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Campaign {
    pub id: i64,
    pub client_id: String,
    pub service: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub state: String,
    pub allow_append: bool,
    /// Creation time, epoch milliseconds.
    pub created_at: i64,
    /// The campaign's date: its creation day in the service's time zone.
    pub day: String,
    pub uploaded: i64,
    pub loaded: i64,
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
}

impl From<CampaignRow> for Campaign {
    fn from(r: CampaignRow) -> Self {
        Campaign {
            id: r.id.0,
            client_id: r.client.0,
            service: r.service,
            name: r.name,
            kind: r.kind,
            state: r.state,
            allow_append: r.allow_append,
            created_at: r.created_at,
            day: r.day,
            uploaded: r.uploaded,
            loaded: r.loaded,
            settings: serde_json::from_str(&r.settings).unwrap_or_default(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedCampaign {
    pub campaign: Campaign,
    pub build: Built,
}

fn settings_of(app: &App, req: &NewCampaign) -> Result<Settings, ApiError> {
    if req.trunks.is_empty() {
        return Err(ApiError::field("trunks", "name at least one [[trunks]] entry"));
    }
    for (i, t) in req.trunks.iter().enumerate() {
        if app.admission.route(t).is_none() {
            return Err(ApiError::field(
                format!("trunks[{i}]"),
                format!("no trunk or trunk group named {t:?} in the configuration"),
            ));
        }
    }
    if let Some(d) = &req.dialplan
        && app.dialplans.get(d).is_none()
    {
        return Err(ApiError::field("dialplan", format!("no dialplan named {d:?}")));
    }
    if req.caller_id.as_deref().is_some_and(|c| !is_sip_user(c)) {
        return Err(ApiError::field("caller_id", "must be a SIP user (digits, letters, + * . _ -)"));
    }
    if !req.caller_ids.is_empty() && req.caller_id.is_some() {
        return Err(ApiError::field("caller_ids", "give either caller_id or a caller_ids pool, not both"));
    }
    if req.caller_ids.len() > 100 {
        return Err(ApiError::field("caller_ids", "at most 100 numbers"));
    }
    for (i, c) in req.caller_ids.iter().enumerate() {
        if !is_sip_user(c) {
            return Err(ApiError::field(format!("caller_ids[{i}]"), "must be a SIP user (digits, letters, + * . _ -)"));
        }
        if req.caller_ids[..i].contains(c) {
            return Err(ApiError::field(format!("caller_ids[{i}]"), format!("{c:?} is listed twice")));
        }
    }
    let window = req.calling_window.clone().unwrap_or_else(|| "08:00-21:00".into());
    Window::parse(&window).map_err(|m| ApiError::field("calling_window", m))?;
    let pacing = req.pacing.clone().unwrap_or_default();
    if !(1..=10_000).contains(&pacing.max_concurrent) {
        return Err(ApiError::field("pacing.max_concurrent", "must be from 1 to 10000"));
    }
    if !(pacing.max_cps.is_finite() && pacing.max_cps > 0.0 && pacing.max_cps <= 1000.0) {
        return Err(ApiError::field("pacing.max_cps", "must be above 0 and at most 1000"));
    }
    let retries = req.retries.clone().unwrap_or_default();
    for (name, r) in [
        ("busy", retries.busy),
        ("no_answer", retries.no_answer),
        ("failed", retries.failed),
        ("machine", retries.machine),
        ("interrupted", retries.interrupted),
    ] {
        if !(r.delay_s.is_finite() && (0.0..=30.0 * 86_400.0).contains(&r.delay_s)) {
            return Err(ApiError::field(format!("retries.{name}.delay_s"), "must be from 0 to 2592000 seconds"));
        }
        if r.max_attempts == 0 || r.max_attempts > 100 {
            return Err(ApiError::field(format!("retries.{name}.max_attempts"), "must be from 1 to 100"));
        }
    }
    let caps = req.caps.clone().unwrap_or_default();
    if !(1..=1000).contains(&caps.per_day) {
        return Err(ApiError::field("caps.per_day", "must be from 1 to 1000"));
    }
    if !(1..=1000).contains(&caps.per_24h) {
        return Err(ApiError::field("caps.per_24h", "must be from 1 to 1000"));
    }
    if let Some(s) = req.no_answer_timeout_s
        && !(s.is_finite() && s > 0.0 && s <= 600.0)
    {
        return Err(ApiError::field("no_answer_timeout_s", "must be above 0 and at most 600 seconds"));
    }
    Ok(Settings {
        trunks: req.trunks.clone(),
        dialplan: req.dialplan.clone(),
        vars: req.vars.clone(),
        caller_id: req.caller_id.clone(),
        caller_name: req.caller_name.clone(),
        caller_ids: req.caller_ids.clone(),
        caller_id_strategy: req.caller_id_strategy,
        pacing,
        retries,
        calling_window: window,
        caps,
        no_answer_timeout_s: req.no_answer_timeout_s,
        dnc_outcomes: req.dnc_outcomes.clone().unwrap_or_else(|| vec!["rejected".into(), "opt_out".into()]),
        continuous: false,
        decisive_outcomes: Vec::new(),
    })
}

/// Create a campaign (state BUILT), optionally with its initial records.
#[utoipa::path(post, path = "/v1/campaigns", tag = "campaigns", request_body = NewCampaign, security(("bearer" = [])),
    responses(
        (status = 201, description = "Created and built; the build reports uploaded, loaded and rejected rows", body = CreatedCampaign),
        (status = 400, description = "A field is invalid", body = ErrorBody),
        (status = 403, description = "The role may not create campaigns", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
    ))]
pub async fn create(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, Json<CreatedCampaign>), ApiError> {
    p.require(Permission::Manage)?;
    let req: NewCampaign = read_json(&body.map_err(super::body_error)?)?;
    if req.name.trim().is_empty() || req.name.len() > 200 {
        return Err(ApiError::field("name", "1 to 200 characters"));
    }
    let settings = settings_of(&app, &req)?;
    let svc = app.store.service(&p.client, &req.service).await.map_err(ApiError::store)?;
    let svc = svc
        .ok_or_else(|| ApiError::field("service", format!("no service {:?}; POST /v1/services first", req.service)))?;
    let sort = svc.sort.parse().map_err(ApiError::Internal)?;
    let tz = jiff::tz::TimeZone::get(&svc.time_zone).map_err(|e| ApiError::Internal(e.to_string()))?;
    let now = jiff::Timestamp::now();
    let row = NewCampaignRow {
        client: p.client.clone(),
        service: svc.id.clone(),
        name: req.name.trim().to_string(),
        kind: req.kind.as_str().into(),
        state: CampaignState::Built.as_str().into(),
        allow_append: req.allow_append,
        settings: serde_json::to_string(&settings).map_err(|e| ApiError::Internal(e.to_string()))?,
        created_at: now.as_millisecond(),
        day: tz.to_datetime(now).date().to_string(),
    };
    // Parse every record before anything is stored: a bad row is reported,
    // not half-loaded.
    let mut parsed = Vec::new();
    let mut built = Built::default();
    for (i, v) in req.records.iter().flatten().enumerate() {
        built.uploaded += 1;
        match NewRecord::from_json(v) {
            Ok(r) => parsed.push((i as u64 + 1, r)),
            Err(e) => built.reject(i as u64 + 1, Some(format!("records[{i}].{}", e.field)), "invalid", e.message),
        }
    }
    let id = app.store.create_campaign(&row).await.map_err(ApiError::store)?;
    let stored = app.store.campaign(id).await.map_err(ApiError::store)?.ok_or(ApiError::Internal("lost".into()))?;
    let handle = app.campaigns.spawn(&stored).await.map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut builder = Builder::new(&app.cells);
    let refused = built.uploaded - parsed.len() as u64;
    build_batch(&handle, &sort, &mut builder, parsed, refused, &mut built).await?;
    let stored = app.store.campaign(id).await.map_err(ApiError::store)?.ok_or(ApiError::Internal("lost".into()))?;
    Ok((StatusCode::CREATED, Json(CreatedCampaign { campaign: stored.into(), build: built })))
}

/// The caller's campaign, or 404 (another client's campaign does not exist for them).
pub async fn campaign_of(app: &App, p: &Principal, id: &str) -> Result<CampaignRow, ApiError> {
    let not_found = || ApiError::NotFound { field: "id", what: format!("campaign {id:?}") };
    let n: i64 = id.parse().map_err(|_| not_found())?;
    let row = app.store.campaign(CampaignId(n)).await.map_err(ApiError::store)?.ok_or_else(not_found)?;
    if row.client != p.client {
        return Err(not_found());
    }
    Ok(row)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindQuery {
    /// Service id.
    pub service: Option<String>,
    /// States by name, comma-separated (`PLAY,PAUSE`).
    pub state: Option<String>,
    /// Types by name, comma-separated (`OUTBOUND`).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<String>,
    /// Created at or after, epoch milliseconds.
    pub from: Option<i64>,
    /// Created at or before, epoch milliseconds.
    pub to: Option<i64>,
    /// 1 to 10 (default 10).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Found {
    pub campaigns: Vec<Campaign>,
}

/// Find matching campaigns (seed 002): newest first, at most 10.
#[utoipa::path(get, path = "/v1/campaigns", tag = "campaigns", params(FindQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "Matching campaigns", body = Found),
        (status = 400, description = "A parameter is invalid", body = ErrorBody),
    ))]
pub async fn find(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
    super::ApiQuery(q): super::ApiQuery<FindQuery>,
) -> Result<Json<Found>, ApiError> {
    let limit = q.limit.unwrap_or(10);
    if !(1..=10).contains(&limit) {
        return Err(ApiError::field("limit", "must be from 1 to 10"));
    }
    let names = |field: &'static str, v: &Option<String>, ok: fn(&str) -> Option<&'static str>| {
        v.iter()
            .flat_map(|s| s.split(','))
            .filter(|s| !s.trim().is_empty())
            .map(|s| ok(s).map(str::to_string).ok_or_else(|| ApiError::field(field, format!("{s:?} is not a {field}"))))
            .collect::<Result<Vec<_>, _>>()
    };
    let filter = CampaignFilter {
        service: q.service.clone(),
        states: names("state", &q.state, |s| CampaignState::parse(s).map(CampaignState::as_str))?,
        kinds: names("type", &q.kind, |s| CampaignType::parse(s).map(CampaignType::as_str))?,
        from_ms: q.from,
        to_ms: q.to,
        limit,
    };
    let rows = app.store.find_campaigns(&p.client, &filter).await.map_err(ApiError::store)?;
    Ok(Json(Found { campaigns: rows.into_iter().map(Campaign::from).collect() }))
}

/// One campaign.
#[utoipa::path(get, path = "/v1/campaigns/{id}", tag = "campaigns", params(("id" = i64, Path)), security(("bearer" = [])),
    responses(
        (status = 200, description = "The campaign", body = Campaign),
        (status = 404, description = "No such campaign", body = ErrorBody),
    ))]
pub async fn get(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Campaign>, ApiError> {
    Ok(Json(campaign_of(&app, &p, &id).await?.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StateReply {
    pub id: i64,
    pub state: String,
}

fn handle_of(app: &App, row: &CampaignRow) -> Result<Arc<Handle>, ApiError> {
    app.campaigns
        .handle(row.id)
        .ok_or_else(|| ApiError::Conflict(format!("campaign {} is {} and takes no commands", row.id, row.state)))
}

async fn control(app: &App, p: &Principal, id: &str, c: Control) -> Result<Json<StateReply>, ApiError> {
    p.require(Permission::Manage)?;
    let row = campaign_of(app, p, id).await?;
    let handle = handle_of(app, &row)?;
    let (tx, rx) = oneshot::channel();
    handle.tx.send(Command::Control(c, tx)).await.map_err(|_| ApiError::Conflict("the campaign has ended".into()))?;
    match rx.await.map_err(|_| ApiError::Internal("the campaign did not answer".into()))? {
        Ok(state) => Ok(Json(StateReply { id: row.id.0, state: state.as_str().into() })),
        Err(e) => {
            Err(ApiError::Conflict(format!("cannot {} campaign {}: it is {}", e.action, row.id, e.from.as_str())))
        }
    }
}

macro_rules! control_route {
    ($name:ident, $path:literal, $c:expr, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "campaigns", params(("id" = i64, Path)), security(("bearer" = [])),
            responses(
                (status = 200, description = "The new state", body = StateReply),
                (status = 403, description = "The role may not steer campaigns", body = ErrorBody),
                (status = 404, description = "No such campaign", body = ErrorBody),
                (status = 409, description = "Not allowed from the current state (named in the message)", body = ErrorBody),
            ))]
        pub async fn $name(
            State(app): State<Arc<App>>,
            Extension(p): Extension<Principal>,
            Path(id): Path<String>,
        ) -> Result<Json<StateReply>, ApiError> {
            control(&app, &p, &id, $c).await
        }
    };
}

control_route!(play, "/v1/campaigns/{id}/play", Control::Play, "Start or resume dialling (from BUILT or PAUSE).");
control_route!(pause, "/v1/campaigns/{id}/pause", Control::Pause, "Stop placing new calls; calls in progress go on.");
control_route!(stop, "/v1/campaigns/{id}/stop", Control::Stop, "End the campaign; no appends afterwards.");

#[derive(Debug, Serialize, ToSchema)]
pub struct Stats {
    pub id: i64,
    pub state: String,
    /// Rows received by builds and appends (valid or not).
    pub uploaded: i64,
    /// Valid records loaded (built and appended).
    pub loaded: i64,
    pub appended: i64,
    /// Records whose dialling completed with at least one call.
    pub completed: i64,
    /// Records yet to be dialled to the end.
    pub remaining: i64,
    pub pct_completed: f64,
    /// Same as `loaded` (seed 002's "total").
    pub total: i64,
    /// Records finished for any reason (completed, DNC, no window...), in percent.
    pub pct_done: f64,
    pub ready: i64,
    pub waiting: i64,
    pub dialing: i64,
    /// Final states of finished records.
    pub finals: BTreeMap<String, i64>,
    /// Calls by disposition.
    pub attempts: BTreeMap<String, i64>,
}

const NOT_CALLED: [&str; 4] = ["dnc", "no_number", "no_window", "unreadable"];

/// Live counters (seed 002's campaign monitor), updated whether or not the campaign plays.
#[utoipa::path(get, path = "/v1/campaigns/{id}/stats", tag = "campaigns", params(("id" = i64, Path)), security(("bearer" = [])),
    responses(
        (status = 200, description = "Counters", body = Stats),
        (status = 404, description = "No such campaign", body = ErrorBody),
    ))]
pub async fn stats(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Stats>, ApiError> {
    let row = campaign_of(&app, &p, &id).await?;
    let c = app.store.counts(row.id).await.map_err(ApiError::store)?;
    let completed: i64 = c.finals.iter().filter(|(f, _)| !NOT_CALLED.contains(&f.as_str())).map(|(_, n)| n).sum();
    let pct = |n: i64| if row.loaded == 0 { 0.0 } else { (n as f64 * 10_000.0 / row.loaded as f64).round() / 100.0 };
    let state = app.campaigns.handle(row.id).map_or(row.state.clone(), |h| h.state.borrow().as_str().to_string());
    Ok(Json(Stats {
        id: row.id.0,
        state,
        uploaded: row.uploaded,
        loaded: row.loaded,
        appended: row.appended,
        completed,
        remaining: row.loaded - c.done,
        pct_completed: pct(completed),
        total: row.loaded,
        pct_done: pct(c.done),
        ready: c.ready,
        waiting: c.waiting,
        dialing: c.dialing,
        finals: c.finals.into_iter().collect(),
        attempts: c.attempts.into_iter().collect(),
    }))
}

/// Why the campaign is not dialling now, in plain words.
#[utoipa::path(get, path = "/v1/campaigns/{id}/explain", tag = "campaigns", params(("id" = i64, Path)), security(("bearer" = [])),
    responses(
        (status = 200, description = "The reason", body = Explanation),
        (status = 404, description = "No such campaign", body = ErrorBody),
    ))]
pub async fn explain(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Explanation>, ApiError> {
    let row = campaign_of(&app, &p, &id).await?;
    let c = app.store.counts(row.id).await.map_err(ApiError::store)?;
    let snapshot = match app.campaigns.handle(row.id) {
        Some(h) => {
            let (tx, rx) = oneshot::channel();
            h.tx.send(Command::Explain(tx)).await.map_err(|_| ApiError::Internal("the campaign stopped".into()))?;
            rx.await.map_err(|_| ApiError::Internal("the campaign did not answer".into()))?
        }
        None => {
            let state = CampaignState::parse(&row.state).unwrap_or(CampaignState::Reported);
            let (tz, schedule, _) =
                service_context(app.store.as_ref(), &row).await.map_err(|e| ApiError::Internal(e.to_string()))?;
            let now = jiff::Timestamp::now();
            crate::campaign::explain::Snapshot {
                state,
                service_open: schedule.is_open(&tz, now),
                service_next_open: calendar::Schedule::next_open(&schedule, &tz, now),
                in_flight: 0,
                max_concurrent: 0,
                blocked: None,
                draining: app.draining.is_cancelled(),
            }
        }
    };
    Ok(Json(explain_words(&snapshot, &c)))
}

//! `/v1/agents` and `/v1/agent-groups` (issue 7): the client's agents with
//! their status (available, paused, offline set here; busy derived from
//! dialerd's own calls), groups with their ring steps, and operator
//! metrics. Objects from the configuration are listed read-only; objects
//! created here live in the store.

use super::error::{ApiError, ErrorBody};
use super::{ApiJson, App};
use crate::agents::directory::{Agent, Group, GroupBody, StepBody, step_body, step_of};
use crate::agents::roster::{AgentReport, Status};
use crate::auth::{Permission, Principal};
use crate::store::{AgentGroupRow, AgentRow};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Instant;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentView {
    pub id: String,
    /// Sent to CRMs as `extenUser` (seed 004).
    pub extension: String,
    pub uri: Option<String>,
    /// `available`, `busy`, `paused` or `offline`.
    #[schema(value_type = String)]
    pub status: Status,
    /// Groups the agent belongs to.
    pub groups: Vec<String>,
    /// `config` (read-only here) or `api`.
    pub source: &'static str,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAgent {
    pub id: String,
    pub extension: String,
    /// `sip:user@host` where the agent's phone is reached.
    pub uri: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStatus {
    /// `available`, `paused` or `offline` (busy is dialerd's to set).
    pub status: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupView {
    pub id: String,
    pub agents: Vec<String>,
    /// Ring steps in order; then the fallback.
    pub steps: Vec<StepBody>,
    pub fallback_dialplan: Option<String>,
    /// `config` or `api` (ignored when creating).
    #[serde(default, skip_deserializing)]
    pub source: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupStats {
    pub group: String,
    #[schema(value_type = Object)]
    pub totals: AgentReport,
    #[schema(value_type = Object)]
    pub agents: Vec<(String, AgentReport)>,
}

fn view(app: &App, client: &str, (a, status): (Agent, Status)) -> AgentView {
    let groups = app.directory.groups_of(client, &a.id);
    AgentView { id: a.id, extension: a.extension, uri: a.uri, status, groups, source: a.source }
}

fn group_view(g: Group) -> GroupView {
    GroupView {
        id: g.id,
        agents: g.agents,
        steps: g.steps.iter().map(step_body).collect(),
        fallback_dialplan: g.fallback_dialplan,
        source: g.source,
    }
}

fn check_id(id: &str) -> Result<(), ApiError> {
    match crate::ids::valid_name(id) {
        true => Ok(()),
        false => Err(ApiError::field("id", "1 to 64 letters, digits, '-', '_' or '.'")),
    }
}

fn not_found(what: &str, id: &str) -> ApiError {
    ApiError::NotFound { field: "id", what: format!("{what} {id:?}") }
}

/// The client's agents and their status.
#[utoipa::path(get, path = "/v1/agents", tag = "agents", security(("bearer" = [])),
    responses((status = 200, description = "Agents", body = [AgentView])))]
pub async fn list(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
) -> Result<Json<Vec<AgentView>>, ApiError> {
    p.require(Permission::Read)?;
    let c = &p.client.0;
    Ok(Json(app.directory.agents(c).into_iter().map(|a| view(&app, c, a)).collect()))
}

/// Add an agent (stored; available at once).
#[utoipa::path(post, path = "/v1/agents", tag = "agents", request_body = NewAgent, security(("bearer" = [])),
    responses((status = 201, description = "Created", body = AgentView),
        (status = 400, description = "A field is invalid", body = ErrorBody),
        (status = 409, description = "The id is taken", body = ErrorBody)))]
pub async fn create(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
    ApiJson(req): ApiJson<NewAgent>,
) -> Result<(StatusCode, Json<AgentView>), ApiError> {
    p.require(Permission::Manage)?;
    let c = p.client.0.clone();
    check_id(&req.id)?;
    if !crate::config::valid_extension(&req.extension) {
        return Err(ApiError::field("extension", "1 to 32 of: letters, digits, * # + . _ -"));
    }
    if let Some(u) = &req.uri
        && (!u.get(..4).is_some_and(|s| s.eq_ignore_ascii_case("sip:"))
            || u.len() > 256
            || u.contains(char::is_whitespace))
    {
        return Err(ApiError::field("uri", "a SIP URI: sip:user@host, at most 256 characters"));
    }
    if app.directory.agent(&c, &req.id).is_some() {
        return Err(ApiError::Conflict(format!("agent {:?} exists", req.id)));
    }
    if app.directory.agents(&c).iter().any(|(a, _)| a.extension == req.extension) {
        return Err(ApiError::field("extension", format!("{:?} is another agent's extension", req.extension)));
    }
    let now = jiff::Timestamp::now().as_millisecond();
    let row =
        AgentRow { client: p.client.clone(), id: req.id, extension: req.extension, uri: req.uri, created_at: now };
    app.store.agent_create(&row).await.map_err(ApiError::store)?;
    let a = Agent { client: c.clone(), id: row.id, extension: row.extension, uri: row.uri, source: "api" };
    app.directory.add_agent(a.clone(), Instant::now());
    Ok((StatusCode::CREATED, Json(view(&app, &c, (a, Status::Available)))))
}

/// Remove an agent created through the API (not one in a group).
#[utoipa::path(delete, path = "/v1/agents/{id}", tag = "agents", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 204, description = "Removed"),
        (status = 403, description = "A configured agent", body = ErrorBody),
        (status = 404, description = "No such agent", body = ErrorBody),
        (status = 409, description = "The agent is in a group", body = ErrorBody)))]
pub async fn remove(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    p.require(Permission::Manage)?;
    let c = &p.client.0;
    let (a, _) = app.directory.agent(c, &id).ok_or_else(|| not_found("agent", &id))?;
    if a.source == "config" {
        return Err(ApiError::Forbidden("configured agents are changed in [[agents]]".into()));
    }
    let groups = app.directory.groups_of(c, &id);
    if !groups.is_empty() {
        return Err(ApiError::Conflict(format!("agent {id:?} is in group(s) {}", groups.join(", "))));
    }
    app.store.agent_delete(&p.client, &id).await.map_err(ApiError::store)?;
    app.directory.remove_agent(c, &id);
    Ok(StatusCode::NO_CONTENT)
}

/// Set an agent's own status.
#[utoipa::path(put, path = "/v1/agents/{id}/status", tag = "agents", params(("id" = String, Path)),
    request_body = NewStatus, security(("bearer" = [])),
    responses((status = 200, description = "The agent with its status now", body = AgentView),
        (status = 400, description = "Not a status an agent may set", body = ErrorBody),
        (status = 404, description = "No such agent", body = ErrorBody)))]
pub async fn set_status(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<NewStatus>,
) -> Result<Json<AgentView>, ApiError> {
    p.require(Permission::Call)?;
    let c = &p.client.0;
    let s = Status::parse_settable(&req.status)
        .ok_or_else(|| ApiError::field("status", "available, paused or offline (busy is set by dialerd)"))?;
    let (a, _) = app.directory.agent(c, &id).ok_or_else(|| not_found("agent", &id))?;
    let now = app.directory.set_status(c, &id, s, Instant::now()).map_err(|_| not_found("agent", &id))?;
    Ok(Json(view(&app, c, (a, now))))
}

/// The client's agent groups.
#[utoipa::path(get, path = "/v1/agent-groups", tag = "agents", security(("bearer" = [])),
    responses((status = 200, description = "Groups", body = [GroupView])))]
pub async fn list_groups(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
) -> Result<Json<Vec<GroupView>>, ApiError> {
    p.require(Permission::Read)?;
    Ok(Json(app.directory.groups(&p.client.0).into_iter().map(group_view).collect()))
}

/// Create an agent group (stored).
#[utoipa::path(post, path = "/v1/agent-groups", tag = "agents", request_body = GroupView, security(("bearer" = [])),
    responses((status = 201, description = "Created", body = GroupView),
        (status = 400, description = "A field is invalid", body = ErrorBody),
        (status = 409, description = "The id is taken", body = ErrorBody)))]
pub async fn create_group(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
    ApiJson(req): ApiJson<GroupView>,
) -> Result<(StatusCode, Json<GroupView>), ApiError> {
    p.require(Permission::Manage)?;
    let c = p.client.0.clone();
    check_id(&req.id)?;
    if req.agents.is_empty() {
        return Err(ApiError::field("agents", "name at least one agent"));
    }
    for (i, a) in req.agents.iter().enumerate() {
        if app.directory.agent(&c, a).is_none() {
            return Err(ApiError::field(format!("agents[{i}]"), format!("no agent {a:?}")));
        }
        if req.agents[..i].contains(a) {
            return Err(ApiError::field(format!("agents[{i}]"), format!("{a:?} is listed twice")));
        }
    }
    if req.steps.is_empty() {
        return Err(ApiError::field(
            "steps",
            "give at least one step: {\"strategy\": \"ring_all\", \"ring_timeout_s\": 20}",
        ));
    }
    let mut steps = Vec::new();
    for (i, s) in req.steps.iter().enumerate() {
        steps.push(step_of(s).map_err(|m| ApiError::field(format!("steps[{i}]"), m))?);
    }
    if let Some(d) = &req.fallback_dialplan
        && app.dialplans.get(d).is_none()
    {
        return Err(ApiError::field("fallback_dialplan", format!("no dialplan named {d:?}")));
    }
    if app.directory.groups(&c).iter().any(|g| g.id == req.id) {
        return Err(ApiError::Conflict(format!("agent group {:?} exists", req.id)));
    }
    let body = GroupBody { agents: req.agents.clone(), steps: req.steps, fallback_dialplan: req.fallback_dialplan };
    let row = AgentGroupRow {
        client: p.client.clone(),
        id: req.id.clone(),
        body: serde_json::to_string(&body).map_err(|e| ApiError::Internal(e.to_string()))?,
        created_at: jiff::Timestamp::now().as_millisecond(),
    };
    app.store.group_create(&row).await.map_err(ApiError::store)?;
    let g = Group {
        client: c,
        id: req.id,
        agents: body.agents,
        steps,
        fallback_dialplan: body.fallback_dialplan,
        source: "api",
    };
    app.directory.add_group(g.clone());
    Ok((StatusCode::CREATED, Json(group_view(g))))
}

/// Remove an agent group created through the API.
#[utoipa::path(delete, path = "/v1/agent-groups/{id}", tag = "agents", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 204, description = "Removed"),
        (status = 403, description = "A configured group", body = ErrorBody),
        (status = 404, description = "No such group", body = ErrorBody)))]
pub async fn remove_group(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    p.require(Permission::Manage)?;
    let c = &p.client.0;
    let g = app.directory.groups(c).into_iter().find(|g| g.id == id).ok_or_else(|| not_found("agent group", &id))?;
    if g.source == "config" {
        return Err(ApiError::Forbidden("configured groups are changed in [[agent_groups]]".into()));
    }
    app.store.group_delete(&p.client, &id).await.map_err(ApiError::store)?;
    app.directory.remove_group(c, &id);
    Ok(StatusCode::NO_CONTENT)
}

/// Operator metrics of a group and its agents: offered, answered, missed,
/// average speed of answer, average handle time, occupancy.
#[utoipa::path(get, path = "/v1/agent-groups/{id}/stats", tag = "agents", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, description = "Figures since dialerd started", body = GroupStats),
        (status = 404, description = "No such group", body = ErrorBody)))]
pub async fn stats(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<GroupStats>, ApiError> {
    p.require(Permission::Read)?;
    let (totals, agents) =
        app.directory.group_report(&p.client.0, &id, Instant::now()).ok_or_else(|| not_found("agent group", &id))?;
    Ok(Json(GroupStats { group: id, totals, agents }))
}

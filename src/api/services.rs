//! `/v1/services` and `/v1/schedules`: a service names the dialling sort,
//! the time zone and the working-hours schedule its campaigns follow; one
//! schedule can serve many services of a client.

use super::error::{ApiError, ErrorBody};
use super::{ApiJson, App};
use crate::auth::{Permission, Principal};
use crate::campaign::calendar::{Schedule, ScheduleSpec};
use crate::campaign::sortkey::SortSpec;
use crate::ids::valid_name;
use crate::store::ServiceRow;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewService {
    #[schema(example = "collections")]
    pub id: String,
    pub name: String,
    /// `upload` (upload order) or record fields with asc/desc, e.g. `balance desc, last_name asc`.
    #[serde(default)]
    #[schema(example = "balance desc, last_name asc")]
    pub sort: Option<String>,
    /// IANA time zone of the service's team.
    #[schema(example = "America/New_York")]
    pub time_zone: String,
    /// A schedule from `PUT /v1/schedules/{name}`; open at all hours without one.
    #[serde(default)]
    pub schedule: Option<String>,
    /// Keep append-enabled campaigns open until the end of the day (then REPORTED).
    #[serde(default)]
    pub report_at_end_of_day: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Service {
    pub id: String,
    pub name: String,
    pub sort: String,
    pub time_zone: String,
    pub schedule: Option<String>,
    pub report_at_end_of_day: bool,
    pub client_id: String,
}

impl From<ServiceRow> for Service {
    fn from(r: ServiceRow) -> Self {
        Service {
            id: r.id,
            name: r.name,
            sort: r.sort,
            time_zone: r.time_zone,
            schedule: r.schedule,
            report_at_end_of_day: r.report_at_end_of_day,
            client_id: r.client.0,
        }
    }
}

/// Create a service.
#[utoipa::path(post, path = "/v1/services", tag = "services", request_body = NewService, security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = Service),
        (status = 400, description = "A field is invalid", body = ErrorBody),
        (status = 403, description = "The role may not manage services", body = ErrorBody),
        (status = 409, description = "The id is taken", body = ErrorBody),
    ))]
pub async fn create(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
    ApiJson(req): ApiJson<NewService>,
) -> Result<(StatusCode, Json<Service>), ApiError> {
    p.require(Permission::Manage)?;
    if !valid_name(&req.id) {
        return Err(ApiError::field("id", "1 to 64 letters, digits, '-', '_' or '.'"));
    }
    if req.name.trim().is_empty() || req.name.len() > 200 {
        return Err(ApiError::field("name", "1 to 200 characters"));
    }
    let sort: SortSpec =
        req.sort.as_deref().unwrap_or("upload").parse().map_err(|m: String| ApiError::field("sort", m))?;
    jiff::tz::TimeZone::get(&req.time_zone)
        .map_err(|_| ApiError::field("time_zone", format!("{:?} is not an IANA time zone", req.time_zone)))?;
    if let Some(s) = &req.schedule
        && app.store.schedule(&p.client, s).await.map_err(ApiError::store)?.is_none()
    {
        return Err(ApiError::field("schedule", format!("no schedule named {s:?}; PUT /v1/schedules/{s} first")));
    }
    let row = ServiceRow {
        client: p.client.clone(),
        id: req.id,
        name: req.name.trim().to_string(),
        sort: sort.to_string(),
        time_zone: req.time_zone,
        schedule: req.schedule,
        report_at_end_of_day: req.report_at_end_of_day,
        created_at: jiff::Timestamp::now().as_millisecond(),
    };
    app.store.create_service(&row).await.map_err(ApiError::store)?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// The client's services.
#[utoipa::path(get, path = "/v1/services", tag = "services", security(("bearer" = [])), responses(
    (status = 200, description = "Services", body = [Service]),
))]
pub async fn list(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
) -> Result<Json<Vec<Service>>, ApiError> {
    let rows = app.store.services(&p.client).await.map_err(ApiError::store)?;
    Ok(Json(rows.into_iter().map(Service::from).collect()))
}

/// Create or replace a working-hours schedule (weekday intervals in the service's zone, plus holidays).
#[utoipa::path(put, path = "/v1/schedules/{name}", tag = "services", request_body = ScheduleSpec,
    params(("name" = String, Path, description = "The schedule's name")), security(("bearer" = [])),
    responses(
        (status = 200, description = "Saved", body = ScheduleSpec),
        (status = 400, description = "A field is invalid", body = ErrorBody),
        (status = 403, description = "The role may not manage schedules", body = ErrorBody),
    ))]
pub async fn put_schedule(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
    Path(name): Path<String>,
    ApiJson(spec): ApiJson<ScheduleSpec>,
) -> Result<Json<ScheduleSpec>, ApiError> {
    p.require(Permission::Manage)?;
    if !valid_name(&name) {
        return Err(ApiError::field("name", "1 to 64 letters, digits, '-', '_' or '.'"));
    }
    let schedule = Schedule::from_spec(&spec).map_err(|e| ApiError::field(e.field, e.message))?;
    let text = serde_json::to_string(&schedule.spec()).map_err(|e| ApiError::Internal(e.to_string()))?;
    app.store.put_schedule(&p.client, &name, &text).await.map_err(ApiError::store)?;
    Ok(Json(schedule.spec()))
}

/// One schedule.
#[utoipa::path(get, path = "/v1/schedules/{name}", tag = "services",
    params(("name" = String, Path, description = "The schedule's name")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The schedule", body = ScheduleSpec),
        (status = 404, description = "No such schedule", body = ErrorBody),
    ))]
pub async fn get_schedule(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
    Path(name): Path<String>,
) -> Result<Json<ScheduleSpec>, ApiError> {
    let text = app.store.schedule(&p.client, &name).await.map_err(ApiError::store)?;
    let text = text.ok_or_else(|| ApiError::NotFound { field: "name", what: format!("schedule {name:?}") })?;
    serde_json::from_str(&text).map(Json).map_err(|e| ApiError::Internal(e.to_string()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NamedSchedule {
    pub name: String,
    pub schedule: ScheduleSpec,
}

/// The client's schedules.
#[utoipa::path(get, path = "/v1/schedules", tag = "services", security(("bearer" = [])), responses(
    (status = 200, description = "Schedules", body = [NamedSchedule]),
))]
pub async fn list_schedules(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
) -> Result<Json<Vec<NamedSchedule>>, ApiError> {
    let rows = app.store.schedules(&p.client).await.map_err(ApiError::store)?;
    Ok(Json(
        rows.into_iter()
            .filter_map(|(name, text)| {
                serde_json::from_str(&text).ok().map(|schedule| NamedSchedule { name, schedule })
            })
            .collect(),
    ))
}

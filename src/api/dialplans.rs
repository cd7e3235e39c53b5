//! `/v1/dialplans`: what is loaded, and reloading from disk.

use super::App;
use super::error::ErrorBody;
use crate::dialplan::LoadReport;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use std::sync::Arc;

/// The flows loaded now, with their versions.
#[utoipa::path(
    get,
    path = "/v1/dialplans",
    tag = "dialplans",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Loaded flows", body = LoadReport),
        (status = 401, description = "Missing or wrong bearer key", body = ErrorBody),
    )
)]
pub async fn list(State(app): State<Arc<App>>) -> Json<LoadReport> {
    Json(app.dialplans.report())
}

/// Re-read `dialplans/`. All or nothing: with any problem the running set
/// stays (409, with every problem); running calls keep their version.
#[utoipa::path(
    post,
    path = "/v1/dialplans:reload",
    tag = "dialplans",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Reloaded; new calls use the new versions", body = LoadReport),
        (status = 409, description = "Not reloaded: the files have problems; the old set stays", body = LoadReport),
        (status = 401, description = "Missing or wrong bearer key", body = ErrorBody),
    )
)]
pub async fn reload(State(app): State<Arc<App>>) -> (StatusCode, Json<LoadReport>) {
    match app.dialplans.reload() {
        Ok(r) => {
            tracing::info!(flows = r.flows.len(), "dialplans reloaded");
            (StatusCode::OK, Json(r))
        }
        Err(r) => {
            tracing::warn!(problems = ?r.problems, "dialplan reload refused; the old set stays");
            (StatusCode::CONFLICT, Json(r))
        }
    }
}

//! The HTTP API (axum): routes, bearer auth, JSON errors, and the OpenAPI
//! document generated from the handlers' annotations (utoipa-axum), so a
//! route cannot exist without being documented.

pub mod agents;
pub mod bridges;
pub mod calls;
pub mod campaigns;
pub mod click_to_call;
pub mod dialplans;
pub mod dnc;
pub mod error;
pub mod lead_admin;
pub mod lead_page;
pub mod leads;
pub mod records;
pub mod services;
pub mod session;
pub mod target;
pub mod upload;
pub mod webhooks;
pub mod widget;

use crate::call::actor::CallDeps;
use crate::call::log::CallLog;
use crate::call::place::Placer;
use crate::call::prompts::PromptStore;
use crate::campaign::build::CellList;
use crate::campaign::manager::Campaigns;
use crate::config::Config;
use crate::dialplan::DialplanStore;
use crate::events::outbox::Outbox;
use crate::store::Store;
use crate::trunk::Admission;
use axum::extract::{FromRequest, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use error::{ApiError, ErrorBody};
use metrics_exporter_prometheus::PrometheusHandle;
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Everything handlers need.
pub struct App {
    pub cfg: Arc<Config>,
    pub deps: Arc<CallDeps>,
    pub admission: Arc<Admission>,
    pub prompts: PromptStore,
    pub dialplans: Arc<DialplanStore>,
    pub metrics: Option<PrometheusHandle>,
    /// Cancelled when the daemon starts draining: new calls get 503.
    pub draining: CancellationToken,
    pub tasks: TaskTracker,
    pub sip_listen: SocketAddr,
    pub store: Arc<dyn Store>,
    pub placer: Placer,
    pub call_log: CallLog,
    pub campaigns: Arc<Campaigns>,
    pub cells: Arc<CellList>,
    pub outbox: Arc<Outbox>,
    /// Lead qualification (seed 001).
    pub leads: Option<crate::leads::engine::Leads>,
    pub lead_limit: leads::RateLimit,
    /// Agents, groups and their roster (issue 7).
    pub directory: Arc<crate::agents::directory::Directory>,
    /// Click to call (issue 7); `None` in tests that build no daemon.
    pub clicks: Option<crate::clicktocall::service::ClickToCall>,
    openapi: OnceLock<String>,
}

/// The daemon's handles the API needs besides the call machinery.
pub struct Runtime {
    pub metrics: Option<PrometheusHandle>,
    pub draining: CancellationToken,
    pub tasks: TaskTracker,
    pub sip_listen: SocketAddr,
    pub store: Arc<dyn Store>,
    pub call_log: CallLog,
    /// The one way calls are placed (shared with campaigns).
    pub placer: Placer,
    pub campaigns: Arc<Campaigns>,
    pub cells: Arc<CellList>,
    pub outbox: Arc<Outbox>,
    pub leads: Option<crate::leads::engine::Leads>,
    pub directory: Arc<crate::agents::directory::Directory>,
    pub clicks: Option<crate::clicktocall::service::ClickToCall>,
}

impl App {
    pub fn new(
        cfg: Arc<Config>,
        deps: Arc<CallDeps>,
        admission: Arc<Admission>,
        dialplans: Arc<DialplanStore>,
        rt: Runtime,
    ) -> Self {
        let prompts = PromptStore::new(cfg.media.prompts_dir.clone());
        Self {
            placer: rt.placer,
            store: rt.store,
            call_log: rt.call_log,
            campaigns: rt.campaigns,
            cells: rt.cells,
            outbox: rt.outbox,
            leads: rt.leads,
            directory: rt.directory,
            clicks: rt.clicks,
            lead_limit: leads::RateLimit::default(),
            cfg,
            deps,
            admission,
            prompts,
            dialplans,
            metrics: rt.metrics,
            draining: rt.draining,
            tasks: rt.tasks,
            sip_listen: rt.sip_listen,
            openapi: OnceLock::new(),
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "dialerd", description = "Place SIP calls and run campaigns. Authenticate with `Authorization: Bearer <key>` (an `[api] keys` entry, or a session id from `POST /v1/session/login`)."),
    modifiers(&BearerScheme),
    tags(
        (name = "calls", description = "Outbound calls"),
        (name = "dialplans", description = "IVR flows loaded from dialplans/"),
        (name = "session", description = "Log in with a client, user name and password"),
        (name = "services", description = "Services (dialling sort, time zone, working hours) and schedules"),
        (name = "campaigns", description = "Campaigns: build, append, play, pause, stop, stats"),
        (name = "dnc", description = "Do-not-call lists"),
        (name = "events", description = "Status webhooks (signed, durable, in order per call)"),
        (name = "agents", description = "Agents, their status, agent groups and operator metrics"),
        (name = "click to call", description = "Signed requests from a site to connect a visitor with an agent group"),
        (name = "leads", description = "Lead qualification: the seed-compatible lead API (POST /api/), leads, lead API keys and the confirm page"),
        (name = "ops", description = "Health, metrics and this document")
    )
)]
struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The router with state; the OpenAPI document is built alongside.
pub fn router(app: Arc<App>) -> Router {
    let big = axum::extract::DefaultBodyLimit::max(app.cfg.campaigns.max_body_bytes);
    let bulk = OpenApiRouter::new()
        .routes(routes!(campaigns::create, campaigns::find))
        .routes(routes!(records::append, records::list))
        .routes(routes!(upload::upload))
        .routes(routes!(dnc::add, dnc::list))
        .layer(big);
    let protected = OpenApiRouter::new()
        .routes(routes!(calls::create_call, calls::list_calls))
        .routes(routes!(calls::get_call, calls::delete_call))
        .routes(routes!(bridges::bridge))
        .routes(routes!(dialplans::list))
        .routes(routes!(dialplans::reload))
        .routes(routes!(session::logout))
        .routes(routes!(services::create, services::list))
        .routes(routes!(services::put_schedule, services::get_schedule))
        .routes(routes!(services::list_schedules))
        .routes(routes!(campaigns::get))
        .routes(routes!(campaigns::play))
        .routes(routes!(campaigns::pause))
        .routes(routes!(campaigns::stop))
        .routes(routes!(campaigns::stats))
        .routes(routes!(campaigns::explain))
        .routes(routes!(dnc::remove))
        .routes(routes!(webhooks::create, webhooks::list))
        .routes(routes!(webhooks::remove))
        .routes(routes!(webhooks::dead))
        .routes(routes!(webhooks::replay))
        .routes(routes!(agents::list, agents::create))
        .routes(routes!(agents::remove))
        .routes(routes!(agents::set_status))
        .routes(routes!(agents::list_groups, agents::create_group))
        .routes(routes!(agents::remove_group))
        .routes(routes!(agents::stats))
        .routes(routes!(lead_admin::get))
        .routes(routes!(lead_admin::list))
        .routes(routes!(lead_admin::list_keys, lead_admin::create_key))
        .routes(routes!(lead_admin::delete_key))
        .merge(bulk)
        .route_layer(middleware::from_fn_with_state(app.clone(), session::authenticate));
    let public = OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(metrics))
        .routes(routes!(openapi))
        .routes(routes!(session::login))
        .routes(routes!(leads::lead_api, leads::lead_api_preflight))
        .routes(routes!(lead_page::show, lead_page::choose))
        .routes(routes!(click_to_call::create))
        .routes(routes!(click_to_call::get, widget::status_preflight))
        .routes(routes!(widget::site, widget::site_preflight))
        .routes(routes!(widget::script));
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi()).merge(protected).merge(public).split_for_parts();
    let _ = app.openapi.set(doc.to_pretty_json().expect("the document serialises"));
    router
        .fallback(|| async { ApiError::NotFound { field: "path", what: "route".into() } })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed("method not allowed on this route".into()) })
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .with_state(app)
}

/// JSON body extractor whose every rejection is an [`ApiError`] naming the
/// field (axum's own `Json` rejections are plain text).
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(body_error)?;
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ApiError::BadRequest("the body must be a JSON object".into()));
        }
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut de).map_err(error::json_error)?;
        de.end().map_err(|_| ApiError::BadRequest("the body is not valid JSON: trailing characters".into()))?;
        Ok(ApiJson(value))
    }
}

/// Query-string extractor whose rejection is an [`ApiError`] (axum's own
/// `Query` rejection is plain text).
pub struct ApiQuery<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e| ApiError::BadRequest(format!("invalid query: {}", e.body_text())))
    }
}

/// axum's body rejections as JSON errors.
pub fn body_error(e: axum::extract::rejection::BytesRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge("the body is larger than this route accepts".into())
    } else {
        ApiError::BadRequest(format!("could not read the body: {e}"))
    }
}

/// A JSON body of any shape (arrays included), errors naming the path.
pub fn read_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(error::json_error)?;
    de.end().map_err(|_| ApiError::BadRequest("the body is not valid JSON: trailing characters".into()))?;
    Ok(value)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `draining` while shutting down.
    pub status: &'static str,
    /// Calls the API can see (live and recently ended).
    pub calls_known: usize,
    pub sip_listen: String,
}

/// Liveness and readiness.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses(
    (status = 200, description = "Serving", body = Health),
    (status = 503, description = "Draining", body = Health),
))]
async fn healthz(State(app): State<Arc<App>>) -> (StatusCode, Json<Health>) {
    let draining = app.draining.is_cancelled();
    let h = Health {
        status: if draining { "draining" } else { "ok" },
        calls_known: app.deps.registry.len(),
        sip_listen: app.sip_listen.to_string(),
    };
    (if draining { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK }, Json(h))
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(get, path = "/metrics", tag = "ops", responses(
    (status = 200, description = "Prometheus text format", content_type = "text/plain", body = String),
))]
async fn metrics(State(app): State<Arc<App>>) -> impl IntoResponse {
    let body = app.metrics.as_ref().map(|h| h.render()).unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body)
}

/// This document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "ops", responses(
    (status = 200, description = "OpenAPI 3.1 description of every route", content_type = "application/json", body = Object),
    (status = 500, description = "Not built", body = ErrorBody),
))]
async fn openapi(State(app): State<Arc<App>>) -> Response {
    match app.openapi.get() {
        Some(doc) => ([(header::CONTENT_TYPE, "application/json")], doc.clone()).into_response(),
        None => ApiError::Internal("the OpenAPI document was not built".into()).into_response(),
    }
}

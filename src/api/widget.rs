//! What a site's pages need for the callback widget (issue 7 item 5,
//! seed 003): `GET /widget.js`, the script a site embeds with one tag;
//! `GET /v1/click-to-call/sites/{key}`, the site's widget settings and
//! whether a call can happen now (nothing secret: the widget decides
//! between the "call me now" and the offline "call me later" form); and
//! CORS for the site's `allowed_origins` on that route and on the status
//! route the widget polls with its status token. Requests themselves go
//! through the site's own backend, which holds the signing secret
//! (`docs/widget.md`). No cookies: the browser holds only the status
//! token of its own request.

use super::App;
use super::error::{ApiError, ErrorBody};
use crate::campaign::calendar::ScheduleSpec;
use crate::clicktocall::schedule::MAX_AHEAD_DAYS;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::{Arc, LazyLock};
use utoipa::ToSchema;

/// The widget: plain DOM in a shadow root, no third-party code or assets.
const SCRIPT: &str = include_str!("widget/widget.js");

/// Changes with the script, so a cached copy is revalidated cheaply.
static ETAG: LazyLock<String> = LazyLock::new(|| {
    let d = Sha256::digest(SCRIPT.as_bytes());
    format!("\"{}\"", d.iter().take(8).map(|b| format!("{b:02x}")).collect::<String>())
});

/// The embeddable callback widget.
#[utoipa::path(get, path = "/widget.js", tag = "click to call", responses(
    (status = 200, description = "The script: `<script src=\".../widget.js\" data-site=\"shop\" data-endpoint=\"/callback\" async></script>` (docs/widget.md)", content_type = "text/javascript", body = String),
    (status = 304, description = "Not modified (`If-None-Match` matched the `ETag`)"),
))]
pub async fn script(headers: HeaderMap) -> Response {
    let etag = HeaderValue::from_str(&ETAG).expect("hex in quotes");
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == ETAG.as_str() || t.trim() == "*"));
    let common = [
        (header::ETAG, etag),
        // An hour: a new version reaches pages within that, and the
        // ETag makes the check after it cost a 304.
        (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    ];
    if fresh {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    let mut resp = (StatusCode::OK, common, SCRIPT).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
    resp
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupAvailability {
    pub id: String,
    /// Some agent of the group is `available` now.
    pub agent_available: bool,
}

/// What the widget needs to draw its form: nothing secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct SiteView {
    pub site: String,
    /// Extra fields the form asks for (name and phone always).
    pub fields: Vec<String>,
    /// Some agent of the site's groups is available now.
    pub agent_available: bool,
    pub groups: Vec<GroupAvailability>,
    /// Within the site's working hours now. (The visitor's calling window
    /// depends on their number; a scheduled request waits for it too.)
    pub open: bool,
    /// When the site opens next (RFC 3339); absent while open or if it
    /// never opens within 400 days.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_open: Option<String>,
    /// While open, when this opening ends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closes_at: Option<String>,
    pub time_zone: String,
    pub working_hours: ScheduleSpec,
    /// How far ahead a callback may be asked for (`at`).
    pub max_days_ahead: i64,
}

/// The site's widget settings and whether a call can happen now.
#[utoipa::path(get, path = "/v1/click-to-call/sites/{key}", tag = "click to call",
    params(("key" = String, Path, description = "The site's key ([[click_to_call.sites]] key)")),
    responses(
        (status = 200, description = "The site's fields, availability and hours; CORS for its allowed_origins", body = SiteView),
        (status = 404, description = "No such site", body = ErrorBody),
    ))]
pub async fn site(State(app): State<Arc<App>>, headers: HeaderMap, Path(key): Path<String>) -> Response {
    let Some(c2c) = &app.clicks else {
        return ApiError::NotFound { field: "path", what: "click to call".into() }.into_response();
    };
    let Some((_, site)) = c2c.site(&key) else {
        let mut resp = ApiError::NotFound { field: "key", what: format!("site {key:?}") }.into_response();
        vary(&mut resp);
        return resp;
    };
    let dir = c2c.directory();
    let ids = if site.agent_groups.is_empty() {
        dir.groups(&site.client).into_iter().map(|g| g.id).collect()
    } else {
        site.agent_groups.clone()
    };
    let groups: Vec<GroupAvailability> = ids
        .into_iter()
        .map(|id| {
            let agent_available = dir.offer(&site.client, &id).is_some_and(|(c, _, _)| !c.is_empty());
            GroupAvailability { id, agent_available }
        })
        .collect();
    let now = jiff::Timestamp::now();
    let open = site.working_hours.is_open(&site.time_zone, now);
    let (next_open, closes_at) = if open {
        (None, site.working_hours.next_close(&site.time_zone, now))
    } else {
        (site.working_hours.next_open(&site.time_zone, now), None)
    };
    let view = SiteView {
        site: site.key.clone(),
        fields: site.fields.clone(),
        agent_available: groups.iter().any(|g| g.agent_available),
        groups,
        open,
        next_open: next_open.map(|t| t.to_string()),
        closes_at: closes_at.map(|t| t.to_string()),
        time_zone: site.time_zone.iana_name().unwrap_or("UTC").to_string(),
        working_hours: site.working_hours.spec(),
        max_days_ahead: MAX_AHEAD_DAYS,
    };
    // Availability changes by the second: never from a cache.
    let mut resp = ([(header::CACHE_CONTROL, "no-store")], Json(view)).into_response();
    cors(site.allowed_origins.iter().map(String::as_str), &headers, &mut resp);
    resp
}

/// CORS preflight for the site route.
#[utoipa::path(options, path = "/v1/click-to-call/sites/{key}", tag = "click to call",
    params(("key" = String, Path)),
    responses((status = 204, description = "CORS preflight; the site's allowed_origins get Access-Control-Allow-* headers")))]
pub async fn site_preflight(State(app): State<Arc<App>>, headers: HeaderMap, Path(key): Path<String>) -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    match app.clicks.as_ref().and_then(|c| c.site(&key)) {
        Some((_, site)) => cors(site.allowed_origins.iter().map(String::as_str), &headers, &mut resp),
        None => vary(&mut resp),
    }
    resp
}

/// CORS preflight for `GET /v1/click-to-call/{id}` with the
/// `Dialerd-Status-Token` header.
#[utoipa::path(options, path = "/v1/click-to-call/{id}", tag = "click to call",
    params(("id" = String, Path)),
    responses((status = 204, description = "CORS preflight; the request's site's allowed_origins get Access-Control-Allow-* headers")))]
pub async fn status_preflight(State(app): State<Arc<App>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let site = match &app.clicks {
        Some(c) => c.store().click(&id).await.ok().flatten().map(|r| r.site),
        None => None,
    };
    let mut resp = StatusCode::NO_CONTENT.into_response();
    status_cors(&app, site.as_deref(), &headers, &mut resp);
    resp
}

/// CORS for the status route: the request's site's origins, or any
/// site's when there is no such request (its 404 is then readable; the
/// status itself always needs the token).
pub fn status_cors(app: &App, site: Option<&str>, headers: &HeaderMap, resp: &mut Response) {
    let Some(c2c) = &app.clicks else { return };
    let sites = c2c.sites().iter().filter(|s| site.is_none_or(|k| s.key == k));
    cors(sites.flat_map(|s| s.allowed_origins.iter().map(String::as_str)), headers, resp);
}

/// Answers may differ by `Origin`: caches must keep them apart.
fn vary(resp: &mut Response) {
    resp.headers_mut().append(header::VARY, HeaderValue::from_static("Origin"));
}

/// `Access-Control-Allow-*` when the request's `Origin` is one of
/// `allowed` (compared as browsers send it: lower-case, no path). No
/// `Allow-Credentials`: the widget sends no cookies.
fn cors<'a>(mut allowed: impl Iterator<Item = &'a str>, headers: &HeaderMap, resp: &mut Response) {
    vary(resp);
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else { return };
    if !allowed.any(|a| a == origin) {
        return;
    }
    let Ok(v) = HeaderValue::from_str(origin) else { return };
    let h = resp.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, OPTIONS"));
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("Dialerd-Status-Token"));
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_origin(origin: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        h
    }

    #[test]
    fn only_listed_origins_are_allowed() {
        let allowed = ["https://shop.example", "http://127.0.0.1:8081"];
        for (origin, ok) in [
            ("https://shop.example", true),
            ("http://127.0.0.1:8081", true),
            ("https://evil.example", false),
            ("https://shop.example.evil.example", false),
            ("http://shop.example", false),
            ("null", false),
        ] {
            let mut resp = StatusCode::OK.into_response();
            cors(allowed.into_iter(), &with_origin(origin), &mut resp);
            let acao = resp.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN);
            assert_eq!(acao.is_some(), ok, "{origin}");
            if ok {
                assert_eq!(acao.unwrap(), origin);
                assert_eq!(resp.headers()[header::ACCESS_CONTROL_ALLOW_HEADERS], "Dialerd-Status-Token");
                assert!(resp.headers().get(header::ACCESS_CONTROL_ALLOW_CREDENTIALS).is_none());
            }
            assert_eq!(resp.headers()[header::VARY], "Origin", "{origin}");
        }
    }

    #[tokio::test]
    async fn the_script_is_cacheable_and_revalidates() {
        let resp = script(HeaderMap::new()).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
        assert!(resp.headers()[header::CACHE_CONTROL].to_str().unwrap().contains("max-age"));
        let etag = resp.headers()[header::ETAG].clone();
        let mut h = HeaderMap::new();
        h.insert(header::IF_NONE_MATCH, etag);
        assert_eq!(script(h).await.status(), StatusCode::NOT_MODIFIED);
        let mut h = HeaderMap::new();
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"stale\""));
        assert_eq!(script(h).await.status(), StatusCode::OK);
    }
}

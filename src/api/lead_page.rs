//! `/l/{token}`: the confirm page a lead opens from its email, SMS or
//! WhatsApp message. The token is signed and expiring (`leads/link.rs`).
//! GET only shows the page, because mail scanners prefetch links; the
//! page's buttons POST, and only a POST changes the lead's state. HTML in
//! the lead's language (`langcode`), no script, no cookie.

use super::App;
use crate::ids::LeadId;
use crate::leads::engine::apply::form;
use crate::leads::link::{self, LinkError};
use crate::leads::machine::{Choice, LeadState};
use crate::leads::page::{self, Lang, PageState, PageView};
use crate::store::LeadRow;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::HeaderName::from_static("x-robots-tag"), "noindex"),
            (header::HeaderName::from_static("referrer-policy"), "no-referrer"),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        body,
    )
        .into_response()
}

fn error_page(state: PageState) -> Response {
    let status = if matches!(state, PageState::Expired) { StatusCode::GONE } else { StatusCode::NOT_FOUND };
    let v = PageView { lang: Lang::Eng, token: "", company: "", service: "", name: None, state };
    html(status, page::render(&v))
}

fn secret(app: &App) -> Option<&[u8]> {
    app.leads.as_ref().map(|l| l.deps.link_secret.as_slice())
}

/// Checks the token; `Err` is the page to answer with.
async fn lead_of(app: &App, token: &str) -> Result<LeadRow, Response> {
    let Some(secret) = secret(app) else { return Err(error_page(PageState::Invalid)) };
    let now = jiff::Timestamp::now().as_second();
    let id = match link::verify(secret, token, now) {
        Ok(id) => id,
        Err(LinkError::Expired) => return Err(error_page(PageState::Expired)),
        Err(_) => return Err(error_page(PageState::Invalid)),
    };
    match app.store.lead(LeadId(id)).await {
        Ok(Some(row)) => Ok(row),
        Ok(None) => Err(error_page(PageState::Invalid)),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read a lead for its confirm page");
            Err(html(
                StatusCode::SERVICE_UNAVAILABLE,
                "<!doctype html><title>Try again</title><p>Try again later.".into(),
            ))
        }
    }
}

fn render(app: &App, row: &LeadRow, token: &str, chose: Option<Choice>) -> Response {
    let f = form(row);
    let svc = app.leads.as_ref().and_then(|l| {
        l.deps.services.iter().find(|s| s.account_key == row.account_key && s.service_id == row.service_id).cloned()
    });
    let company = svc.as_ref().map(|s| s.policy.company.clone()).unwrap_or_default();
    let service = f.service_name.clone().or_else(|| svc.as_ref().map(|s| s.name.clone())).unwrap_or_default();
    let state = match (LeadState::parse(&row.state), row.reason.as_deref()) {
        (Some(LeadState::Qualified), _) => PageState::Qualified,
        // "Call me" in call mode: pending again, with a call queued.
        (Some(LeadState::Pending), _) if chose == Some(Choice::CallMe) => {
            PageState::CallScheduled { when: String::new() }
        }
        (Some(LeadState::Pending), _) | (Some(LeadState::Rejected), Some("no_contact")) => PageState::Open,
        (Some(LeadState::Rejected), _) => PageState::Rejected,
        (None, _) => PageState::Invalid,
    };
    let v = PageView {
        lang: Lang::from_code(f.langcode.as_deref()),
        token,
        company: &company,
        service: &service,
        name: f.name.as_deref(),
        state,
    };
    html(StatusCode::OK, page::render(&v))
}

/// The confirm page: the same options as the IVR call.
#[utoipa::path(get, path = "/l/{token}", tag = "leads", params(("token" = String, Path, description = "Signed link token from the lead's message")),
    responses(
        (status = 200, description = "HTML page with the \"call me\" and \"stop contacting me\" buttons, or the lead's outcome", content_type = "text/html"),
        (status = 404, description = "Not a valid link (HTML)", content_type = "text/html"),
        (status = 410, description = "The link has expired (HTML)", content_type = "text/html"),
    ))]
pub async fn show(State(app): State<Arc<App>>, Path(token): Path<String>) -> Response {
    match lead_of(&app, &token).await {
        Ok(row) => render(&app, &row, &token, None),
        Err(r) => r,
    }
}

/// A button of the confirm page: `choice=call` or `choice=stop`.
#[utoipa::path(post, path = "/l/{token}", tag = "leads", params(("token" = String, Path)),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "`choice=call` or `choice=stop`"),
    responses(
        (status = 200, description = "HTML page with the outcome", content_type = "text/html"),
        (status = 400, description = "No valid choice (HTML)", content_type = "text/html"),
        (status = 404, description = "Not a valid link (HTML)", content_type = "text/html"),
        (status = 410, description = "The link has expired (HTML)", content_type = "text/html"),
    ))]
pub async fn choose(State(app): State<Arc<App>>, Path(token): Path<String>, body: Bytes) -> Response {
    let row = match lead_of(&app, &token).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let choice = form_urlencoded::parse(&body).find(|(k, _)| k == "choice").map(|(_, v)| v.into_owned());
    let choice = match choice.as_deref() {
        Some("call") => Choice::CallMe,
        Some("stop") => Choice::Stop,
        _ => {
            return html(
                StatusCode::BAD_REQUEST,
                "<!doctype html><title>Choose</title><p>Choose one of the buttons.".into(),
            );
        }
    };
    let Some(leads) = &app.leads else { return error_page(PageState::Invalid) };
    match leads.page(row.id, choice).await {
        Ok(row) => render(&app, &row, &token, Some(choice)),
        Err(e) => {
            tracing::warn!(error = %e, "confirm page choice failed");
            html(StatusCode::SERVICE_UNAVAILABLE, "<!doctype html><title>Try again</title><p>Try again later.".into())
        }
    }
}

//! `POST /api/`: seed 001's lead API, wire-compatible so a web form written
//! for it works unchanged. Form-encoded (JSON accepted too), always HTTP
//! 200 with `status` ok|fail|error and `msg` naming the field, never the
//! `/v1` error shape. CORS for `[lead_api] cors_origins`, since such forms
//! post cross-origin; a rate limit per client IP per minute on both
//! actions.

use super::App;
use crate::leads::engine::Submission;
use crate::leads::phone::{self, Strictness};
use crate::leads::wire::{self, Reply, Request};
use crate::metrics as m;
use crate::store::Store;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Requests per client IP in the last minute. A plain map behind a mutex
/// held for a few instructions, never across an await.
#[derive(Default)]
pub struct RateLimit {
    seen: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl RateLimit {
    pub fn allow(&self, ip: IpAddr, per_minute: u32, now: Instant) -> bool {
        let mut seen = self.seen.lock().expect("rate-limit lock");
        if seen.len() > 100_000 {
            // Bounded memory under a spray of addresses: forget idle ones.
            seen.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < Duration::from_secs(60)));
        }
        let q = seen.entry(ip).or_default();
        while q.front().is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60)) {
            q.pop_front();
        }
        if q.len() >= per_minute as usize {
            return false;
        }
        q.push_back(now);
        true
    }
}

pub fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

fn client_ip(app: &App, headers: &HeaderMap, peer: Option<SocketAddr>) -> IpAddr {
    let peer = peer.map(|p| p.ip()).unwrap_or(IpAddr::from([0, 0, 0, 0]));
    if app.cfg.lead_api.trust_forwarded_for
        && let Some(ip) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse().ok())
    {
        return ip;
    }
    peer
}

/// `Access-Control-Allow-Origin` for an allowed origin.
pub fn cors(app: &App, headers: &HeaderMap, resp: &mut Response) {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else { return };
    let allowed = &app.cfg.lead_api.cors_origins;
    if allowed.iter().any(|a| a == "*" || a.trim_end_matches('/') == origin)
        && let Ok(v) = HeaderValue::from_str(origin)
    {
        let h = resp.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST, OPTIONS"));
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("Content-Type"));
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    }
}

fn fields(headers: &HeaderMap, body: &[u8]) -> Result<Vec<(String, String)>, String> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if ct.starts_with("application/json") {
        let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| format!("body: not JSON ({e})"))?;
        let obj = v.as_object().ok_or("body: must be a JSON object")?;
        return Ok(obj
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
            .collect());
    }
    if !(ct.is_empty() || ct.starts_with("application/x-www-form-urlencoded")) {
        return Err("body: send application/x-www-form-urlencoded (or application/json)".into());
    }
    Ok(form_urlencoded::parse(body).into_owned().collect())
}

/// The seed's lead API (`action=token_create` or `action=lead_submit`).
#[utoipa::path(post, path = "/api/", tag = "leads",
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "Seed 001 fields: `action=token_create&account_key=..&apikey=..&for_action=lead_submit`, or `action=lead_submit&auth=<token>&account_key=..&customer_id=..&interaction_id=..&phone_number=..&service_id=..` plus the optional fields"),
    responses((status = 200, description = "Always 200: `status` ok|fail|error, `msg` names the field on fail/error; `token`, or `validation_id` with `out_of_working_hours` and `skip_ivr_call_counter` when they apply", body = Object)))]
pub async fn lead_api(
    State(app): State<Arc<App>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let (action, reply) = match body {
        Err(e) => ("unknown", Reply::fail(format!("body: {}", e.body_text()))),
        Ok(b) => handle(&app, &headers, peer.map(|c| c.0.0), &b).await,
    };
    m::lead_request(action, reply.status);
    let mut resp = (StatusCode::OK, Json(reply)).into_response();
    cors(&app, &headers, &mut resp);
    resp
}

/// CORS preflight for forms that post JSON or custom headers.
#[utoipa::path(options, path = "/api/", tag = "leads",
    responses((status = 204, description = "CORS preflight; allowed origins get Access-Control-Allow-* headers")))]
pub async fn lead_api_preflight(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    cors(&app, &headers, &mut resp);
    resp
}

async fn handle(app: &App, headers: &HeaderMap, peer: Option<SocketAddr>, body: &[u8]) -> (&'static str, Reply) {
    let ip = client_ip(app, headers, peer);
    let cfg = &app.cfg.lead_api;
    if !app.lead_limit.allow(ip, cfg.rate_per_minute, Instant::now()) {
        return ("limited", Reply::fail(format!("rate limit: at most {} requests per minute", cfg.rate_per_minute)));
    }
    let fields = match fields(headers, body) {
        Ok(f) => f,
        Err(m) => return ("unknown", Reply::fail(m)),
    };
    match wire::parse(&fields) {
        Err(e) => {
            burn_token(app, &fields).await;
            ("unknown", Reply::fail(e.to_string()))
        }
        Ok(Request::TokenCreate(t)) => ("token_create", token_create(app, &t.account_key, &t.apikey).await),
        Ok(Request::LeadSubmit(s)) => ("lead_submit", lead_submit(app, *s).await),
    }
}

/// A lead_submit refused for a bad field still consumes its token.
async fn burn_token(app: &App, fields: &[(String, String)]) {
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim());
    if get("action") == Some("lead_submit")
        && let Some(auth) = get("auth").filter(|a| !a.is_empty())
    {
        let now = jiff::Timestamp::now().as_millisecond();
        let _ = app.store.lead_token_consume(&hash(auth), get("account_key").unwrap_or(""), now).await;
    }
}

async fn key_ok(app: &App, account_key: &str, apikey: &str) -> Result<bool, crate::store::StoreError> {
    let h = hash(apikey);
    let Some(acct) = app.cfg.lead_api.accounts.iter().find(|a| a.account_key == account_key) else {
        return Ok(false);
    };
    // Hashes compared, not keys: equal-length digests, no early exit on
    // a shared prefix of the secret.
    if acct.apikeys.iter().any(|k| hash(k) == h) {
        return Ok(true);
    }
    Ok(app.store.lead_key_find(&h).await?.is_some_and(|k| k.account_key == account_key && k.client.0 == acct.client))
}

async fn token_create(app: &App, account_key: &str, apikey: &str) -> Reply {
    if !app.cfg.lead_api.accounts.iter().any(|a| a.account_key == account_key) {
        return Reply::fail("account_key: unknown account");
    }
    match key_ok(app, account_key, apikey).await {
        Ok(true) => {}
        Ok(false) => return Reply::fail("apikey: not a key of this account"),
        Err(e) => return store_error(e),
    }
    let token: String = {
        use rand::Rng;
        let bytes: [u8; 24] = rand::rng().random();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    };
    let now = jiff::Timestamp::now().as_millisecond();
    let expires = now + app.cfg.lead_api.token_ttl.as_millis() as i64;
    let store: &dyn Store = &*app.store;
    if let Err(e) = store.lead_token_create(&hash(&token), account_key, expires).await {
        return store_error(e);
    }
    let _ = store.lead_tokens_purge(now).await;
    Reply { status: "ok", token: Some(token), ..Default::default() }
}

fn store_error(e: crate::store::StoreError) -> Reply {
    tracing::warn!(error = %e, "lead API store error");
    Reply::error("internal: the store failed; try again")
}

async fn lead_submit(app: &App, s: wire::LeadSubmit) -> Reply {
    let Some(acct) = app.cfg.lead_api.accounts.iter().find(|a| a.account_key == s.account_key) else {
        return Reply::fail("account_key: unknown account");
    };
    // Seed 001: the token is consumed whether the submit succeeds or not.
    let now = jiff::Timestamp::now().as_millisecond();
    match app.store.lead_token_consume(&hash(&s.auth), &s.account_key, now).await {
        Ok(true) => {}
        Ok(false) => return Reply::fail("auth: the token is unknown, expired or already used"),
        Err(e) => return store_error(e),
    }
    let Some(leads) = &app.leads else { return Reply::error("internal: lead qualification is not running") };
    let Some(service) = leads.service_of(&s.account_key, s.service_id) else {
        return Reply::fail(format!("service_id: no qualification campaign for service {}", s.service_id));
    };
    let strict = if acct.strict_numbers { Strictness::Valid } else { Strictness::Possible };
    let phone = match phone::normalize(&s.phone_number, &acct.region, strict) {
        Ok(p) => p,
        Err(e) => return Reply::fail(format!("phone_number: {e}")),
    };
    match leads.submit(Submission { service, phone, form: s }).await {
        Ok(r) => Reply {
            status: "ok",
            validation_id: Some(r.id.0),
            out_of_working_hours: r.out_of_hours.then_some(true),
            skip_ivr_call_counter: r.skip_ivr,
            ..Default::default()
        },
        Err(crate::leads::engine::LeadError::Store(e)) => store_error(e),
        Err(e) => Reply::error(format!("internal: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_is_per_ip_and_rolls() {
        let r = RateLimit::default();
        let t0 = Instant::now();
        let a = IpAddr::from([127, 0, 0, 1]);
        let b = IpAddr::from([127, 0, 0, 2]);
        assert!((0..3).all(|_| r.allow(a, 3, t0)));
        assert!(!r.allow(a, 3, t0), "the fourth in a minute is refused");
        assert!(r.allow(b, 3, t0), "another address has its own budget");
        assert!(r.allow(a, 3, t0 + Duration::from_secs(61)), "the window rolls");
    }
}

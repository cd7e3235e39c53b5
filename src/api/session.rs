//! Who is calling: the bearer middleware (API keys from config, then
//! sessions from the store), permission checks, and `/v1/session`.

use super::error::{ApiError, ErrorBody};
use super::{ApiJson, App};
use crate::auth::{self, Permission, Principal, Role, password};
use crate::ids::ClientId;
use crate::store::SessionRow;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

impl Principal {
    /// 403 naming what the role may not do.
    pub fn require(&self, p: Permission) -> Result<(), ApiError> {
        if self.may(p) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!("role {} may not {} here", self.role.as_str(), p.as_str())))
        }
    }
}

fn bearer(req: &Request) -> Option<String> {
    bearer_of(req.headers())
}

fn bearer_of(headers: &axum::http::HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer "))?.trim();
    (!token.is_empty()).then(|| token.to_string())
}

/// The bearer token's [`Principal`]: an `[api] keys` entry (compared in
/// constant time), else a live session; `Ok(None)` without a token.
pub async fn principal_of(app: &App, headers: &axum::http::HeaderMap) -> Result<Option<Principal>, ApiError> {
    let Some(token) = bearer_of(headers) else { return Ok(None) };
    let key =
        app.cfg.api.keys.iter().fold(None, |hit, k| {
            if auth::constant_time_eq(k.key.as_bytes(), token.as_bytes()) { Some(k) } else { hit }
        });
    if let Some(k) = key {
        return Ok(Some(Principal { client: k.client.clone(), role: k.role, user: None }));
    }
    let now = jiff::Timestamp::now().as_millisecond();
    match app.store.session(&auth::token_hash(&token), now).await {
        Ok(Some(s)) => Role::parse(&s.role)
            .map(|role| Some(Principal { client: s.client, role, user: Some(s.username) }))
            .ok_or(ApiError::Unauthorized),
        Ok(None) => Err(ApiError::Unauthorized),
        Err(e) => Err(ApiError::Internal(e.to_string())),
    }
}

/// Resolves the bearer token to a [`Principal`] for the handlers.
pub async fn authenticate(State(app): State<Arc<App>>, mut req: Request, next: Next) -> Response {
    let principal = match principal_of(&app, req.headers()).await {
        Ok(Some(p)) => p,
        Ok(None) => return ApiError::Unauthorized.into_response(),
        Err(e) => return e.into_response(),
    };
    req.extensions_mut().insert(principal);
    next.run(req).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    #[schema(example = "acme")]
    pub client: String,
    #[schema(example = "alice")]
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginReply {
    /// Send as `Authorization: Bearer <session_id>`.
    pub session_id: String,
    pub client_id: String,
    pub role: Role,
    /// RFC 3339 expiry.
    pub expires_at: String,
}

/// Log in with a client name, user name and password (seed 002's session API).
#[utoipa::path(post, path = "/v1/session/login", tag = "session", request_body = Login, responses(
    (status = 200, description = "A new session", body = LoginReply),
    (status = 400, description = "A field is missing or malformed", body = ErrorBody),
    (status = 401, description = "Unknown client or user, or wrong password", body = ErrorBody),
))]
pub async fn login(State(app): State<Arc<App>>, ApiJson(req): ApiJson<Login>) -> Result<Json<LoginReply>, ApiError> {
    let client = ClientId(req.client.trim().to_string());
    let user = app.store.user(&client, req.username.trim()).await.map_err(ApiError::store)?;
    // Verify against a fixed hash when the user is unknown, so timing does
    // not tell which user names exist.
    let ok = password::verify(&req.password, user.as_ref().map_or(password::nobody(), |u| u.password_hash.as_str()));
    let (Some(user), true) = (user, ok) else {
        return Err(ApiError::Unauthorized);
    };
    let role = Role::parse(&user.role).ok_or(ApiError::Unauthorized)?;
    let token = auth::new_session_token();
    let expires = jiff::Timestamp::now() + jiff::SignedDuration::try_from(app.cfg.api.session_ttl).unwrap_or_default();
    let row = SessionRow {
        client: client.clone(),
        username: user.username.clone(),
        role: role.as_str().into(),
        expires_at: expires.as_millisecond(),
    };
    app.store.create_session(&auth::token_hash(&token), &row).await.map_err(ApiError::store)?;
    Ok(Json(LoginReply { session_id: token, client_id: client.0, role, expires_at: expires.to_string() }))
}

/// End the session whose id is the bearer token.
#[utoipa::path(post, path = "/v1/session/logout", tag = "session", security(("bearer" = [])), responses(
    (status = 204, description = "The session has ended"),
    (status = 401, description = "No session", body = ErrorBody),
))]
pub async fn logout(
    State(app): State<Arc<App>>,
    Extension(p): Extension<Principal>,
    req: Request,
) -> Result<StatusCode, ApiError> {
    if p.user.is_none() {
        return Err(ApiError::field("authorization", "an API key is not a session; there is nothing to log out"));
    }
    let token = bearer(&req).ok_or(ApiError::Unauthorized)?;
    app.store.delete_session(&auth::token_hash(&token)).await.map_err(ApiError::store)?;
    Ok(StatusCode::NO_CONTENT)
}

//! The one place API failures become HTTP responses:
//! `{"error": {"field": "...", "message": "..."}}` with the right status.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::time::Duration;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// The request field at fault, when one is (`to`, `gather.max_digits`).
    pub field: Option<String>,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadField { field: String, message: String },
    #[error("{0}")]
    BadRequest(String),
    #[error("missing or invalid bearer key")]
    Unauthorized,
    #[error("{what} not found")]
    NotFound { field: &'static str, what: String },
    #[error("{0}")]
    Forbidden(String),
    /// A policy refuses a valid request (DNC, calling hours): 403 naming the field.
    #[error("{message}")]
    Refused { field: &'static str, message: String },
    /// A signed request whose signature fails: 401 naming the header.
    #[error("{0}")]
    Unsigned(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Gone(String),
    #[error("{message}")]
    TooMany { field: Option<&'static str>, message: String, retry_after: Duration },
    #[error("dialerd is shutting down")]
    Draining,
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A store failure: the caller learns it was ours, the log gets detail.
    pub fn store(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Exists(what) => ApiError::Conflict(format!("{what} already exists")),
            crate::store::StoreError::NotFound(what) => ApiError::NotFound { field: "id", what },
            e => {
                tracing::warn!(error = %e, "store error");
                ApiError::Internal("the store failed; try again".into())
            }
        }
    }

    pub fn click(e: crate::clicktocall::service::ClickError) -> Self {
        use crate::clicktocall::service::ClickError as E;
        let m = e.to_string();
        match e {
            E::RateLimited { field, message, retry_after } => {
                ApiError::TooMany { field: Some(field), message, retry_after }
            }
            E::OnDnc | E::Closed(_) => ApiError::Refused { field: "phone", message: m },
            E::UnknownGroup(g) => ApiError::NotFound { field: "agent_group", what: format!("agent group {g:?}") },
            E::GroupNotAllowed(_) => ApiError::Refused { field: "agent_group", message: m },
            E::NoAgent(_) => ApiError::Conflict(m),
            E::Draining => ApiError::Draining,
            E::Store(s) => ApiError::store(s),
        }
    }

    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::BadField { field: field.into(), message: message.into() }
    }
}

fn retry_after_header(d: Duration) -> HeaderValue {
    // Whole seconds, rounded up, at least 1 (RFC 9110 §10.2.3).
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    HeaderValue::from(secs.max(1))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, field) = match &self {
            ApiError::BadField { field, .. } => (StatusCode::BAD_REQUEST, Some(field.clone())),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, None),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, Some("authorization".into())),
            ApiError::NotFound { field, .. } => (StatusCode::NOT_FOUND, Some(field.to_string())),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, Some("authorization".into())),
            ApiError::Refused { field, .. } => (StatusCode::FORBIDDEN, Some(field.to_string())),
            ApiError::Unsigned(_) => (StatusCode::UNAUTHORIZED, Some("dialerd-request-signature".into())),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, None),
            ApiError::Gone(_) => (StatusCode::GONE, None),
            ApiError::TooMany { field, .. } => (StatusCode::TOO_MANY_REQUESTS, field.map(str::to_string)),
            ApiError::Draining => (StatusCode::SERVICE_UNAVAILABLE, None),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, None),
            ApiError::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, None),
            ApiError::UnsupportedMediaType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("content-type".into())),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, None),
        };
        let body = ErrorBody { error: ErrorDetail { field, message: self.to_string() } };
        let mut resp = (status, Json(body)).into_response();
        let headers = resp.headers_mut();
        match &self {
            ApiError::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ApiError::TooMany { retry_after, .. } => {
                headers.insert(header::RETRY_AFTER, retry_after_header(*retry_after));
            }
            ApiError::Draining => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
            }
            _ => {}
        }
        resp
    }
}

/// Turns serde's complaint into the field it is about: the path to the bad
/// value, or the name in "missing field `x`" / "unknown field `x`".
pub fn json_error(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    let text = inner.to_string();
    let message = text.split(" at line ").next().unwrap_or(&text).to_string();
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|p| message.split_once(p).and_then(|(_, rest)| rest.split('`').next()))
        .map(str::to_string);
    let field = match (path.as_str(), named) {
        ("." | "" | "?", Some(n)) => n,
        // "unknown field" paths already end with the field's name.
        (p, Some(n)) if p == n || p.ends_with(&format!(".{n}")) => p.to_string(),
        (p, Some(n)) => format!("{p}.{n}"),
        ("." | "" | "?", None) => {
            return ApiError::BadRequest(if inner.is_syntax() || inner.is_eof() {
                format!("the body is not valid JSON: {message}")
            } else {
                format!("the body must be a JSON object: {message}")
            });
        }
        (p, None) => p.to_string(),
    };
    ApiError::BadField { field, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        to: String,
        gather: Option<Inner>,
    }
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Inner {
        max_digits: u32,
    }

    fn field_of(json: &str) -> (Option<String>, String) {
        let mut de = serde_json::Deserializer::from_str(json);
        let e = serde_path_to_error::deserialize::<_, Body>(&mut de).unwrap_err();
        match json_error(e) {
            ApiError::BadField { field, message } => (Some(field), message),
            ApiError::BadRequest(m) => (None, m),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn serde_errors_name_their_field() {
        assert_eq!(field_of("{}").0.as_deref(), Some("to"));
        assert_eq!(field_of(r#"{"to": 5}"#).0.as_deref(), Some("to"));
        assert_eq!(field_of(r#"{"to": "1", "gather": {"max_digits": "x"}}"#).0.as_deref(), Some("gather.max_digits"));
        assert_eq!(field_of(r#"{"to": "1", "gather": {}}"#).0.as_deref(), Some("gather.max_digits"));
        assert_eq!(field_of(r#"{"to": "1", "tru": 1}"#).0.as_deref(), Some("tru"));
        let (f, m) = field_of("{not json");
        assert_eq!(f, None);
        assert!(m.contains("not valid JSON"), "{m}");
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_header(Duration::from_millis(100)), "1");
        assert_eq!(retry_after_header(Duration::from_millis(2100)), "3");
        assert_eq!(retry_after_header(Duration::ZERO), "1");
    }
}

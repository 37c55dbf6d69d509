//! Entra's error responses: JSON with `error`, `error_description` (starting
//! `AADSTSnnnn:`), integer `error_codes`, `timestamp`, `trace_id`, `correlation_id`
//! (echoing `client-request-id`) and `error_uri` (`entra-oauth.md` §2.1).

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mdep_model::aadsts::Aadsts;
use time::OffsetDateTime;
use time::macros::format_description;
use uuid::Uuid;

/// A failed Entra request.
#[derive(Debug, Clone)]
pub struct EntraError {
    /// The code.
    pub code: Aadsts,
    /// The message after `AADSTSnnnn: `.
    pub message: String,
    /// Override of the OAuth `error` value (discovery uses `invalid_tenant`).
    pub error: Option<&'static str>,
}

impl EntraError {
    /// An error with Entra's text for `code`.
    pub fn new(code: Aadsts, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            error: None,
        }
    }

    /// Replaces the OAuth `error` value.
    pub fn with_error(mut self, error: &'static str) -> Self {
        self.error = Some(error);
        self
    }

    /// The full `error_description`.
    pub fn description(&self, ctx: &RequestContext) -> String {
        format!(
            "AADSTS{}: {} Trace ID: {} Correlation ID: {} Timestamp: {}",
            self.code.code, self.message, ctx.trace_id, ctx.correlation_id, ctx.timestamp
        )
    }

    /// The HTTP response.
    pub fn into_response_with(self, ctx: &RequestContext) -> Response {
        let body = serde_json::json!({
            "error": self.error.unwrap_or(self.code.error),
            "error_description": self.description(ctx),
            "error_codes": [self.code.code],
            "timestamp": ctx.timestamp,
            "trace_id": ctx.trace_id,
            "correlation_id": ctx.correlation_id,
            "error_uri": format!("{}/error?code={}", ctx.origin, self.code.code),
        });
        let status = StatusCode::from_u16(self.code.status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut resp = (status, body.to_string()).into_response();
        ctx.decorate(resp.headers_mut());
        resp
    }
}

/// Per-request identifiers Entra returns.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// `x-ms-request-id` and `trace_id`.
    pub trace_id: String,
    /// `client-request-id` as sent (when a GUID), else a new one.
    pub correlation_id: String,
    /// `yyyy-MM-dd HH:mm:ssZ`.
    pub timestamp: String,
    /// The caller's origin, for `error_uri`.
    pub origin: String,
}

impl RequestContext {
    /// Reads `client-request-id` from the request.
    pub fn new(headers: &HeaderMap, origin: String) -> Self {
        let correlation_id = headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Uuid::try_parse(v.trim()).ok())
            .unwrap_or_else(crate::crypto::uuid_v4)
            .to_string();
        let timestamp = OffsetDateTime::now_utc()
            .format(format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second]Z"
            ))
            .unwrap_or_default();
        Self {
            trace_id: crate::crypto::uuid_v4().to_string(),
            correlation_id,
            timestamp,
            origin,
        }
    }

    /// Adds the headers Entra sends on token responses (`entra-oauth.md` §1.1).
    pub fn decorate(&self, h: &mut HeaderMap) {
        insert_static(
            h,
            &[
                (header::CONTENT_TYPE, "application/json; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store, no-cache"),
                (header::PRAGMA, "no-cache"),
                (header::EXPIRES, "-1"),
                (HeaderName::from_static("x-ms-ests-server"), "mdep-emulator"),
            ],
        );
        if let Ok(v) = HeaderValue::from_str(&self.trace_id) {
            h.insert("x-ms-request-id", v);
        }
        if let Ok(v) = HeaderValue::from_str(&self.correlation_id) {
            h.insert("client-request-id", v);
        }
    }
}

/// Sets each fixed header.
pub fn insert_static(h: &mut HeaderMap, headers: &[(HeaderName, &'static str)]) {
    for (name, value) in headers {
        h.insert(name.clone(), HeaderValue::from_static(value));
    }
}

//! MDE's error responses: `{"error":{"code":…,"message":…,"target":…}}` where `target` is
//! a tracking id (`mde-api.md` §6.3), with the status that goes with the code.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

/// A failed MDE API call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdeError {
    /// HTTP status.
    pub status: StatusCode,
    /// MDE's `error.code`, e.g. `ResourceNotFound`.
    pub code: &'static str,
    /// Free text; says what to do where that is useful.
    pub message: String,
    /// Seconds to wait, for 429 and 503.
    pub retry_after: Option<u64>,
}

/// What a 403 for missing application roles says (both APIs): the roles that would do,
/// the token's, and `advice`.
pub fn roles_message(accepted: &[&str], granted: &[String], advice: &str) -> String {
    let granted = if granted.is_empty() {
        "none".to_owned()
    } else {
        granted.join(", ")
    };
    format!(
        "Missing application roles. API required roles: {}. Application roles: {granted}. {advice}",
        accepted.join(" or ")
    )
}

impl MdeError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 401 `Unauthorized`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Unauthorized", message)
    }

    /// 403 `Forbidden` for missing application roles.
    pub fn missing_roles(accepted: &[&str], granted: &[String]) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            roles_message(
                accepted,
                granted,
                "Add the permission to the app and have the tenant's administrator consent again, then take a new token.",
            ),
        )
    }

    /// 404 `ResourceNotFound`.
    pub fn not_found(kind: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!("{kind} {} was not found", truncate(id)),
        )
    }

    /// 400 `ODataError`.
    pub fn odata(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "ODataError", message)
    }

    /// 400 `BadRequest`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    /// 403 `DisabledFeature` ("Tenant feature isn't enabled", `mde-api.md` §6.3).
    pub fn disabled_feature(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "DisabledFeature", message)
    }

    /// 400 `InvalidRequestBody`.
    pub fn invalid_body(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "InvalidRequestBody", message)
    }

    /// 400 `MissingRequiredParameter`.
    pub fn missing(parameter: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "MissingRequiredParameter",
            format!("Parameter {parameter} is missing. Body parameters are case-sensitive."),
        )
    }

    /// 400 with a specific code (`InvalidInput`, `ActiveRequestAlreadyExists`, …).
    pub fn bad(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 429 `TooManyRequests`.
    pub fn too_many(retry_after: u64, message: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", message);
        e.retry_after = Some(retry_after);
        e
    }

    /// 503 `ServiceUnavailable`.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            message,
        )
    }

    /// 500 `InternalServerError` (storage failures; details go to the log only).
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "The emulator could not complete the request; see its log.",
        )
    }
}

/// Keeps echoed input short.
pub fn truncate(s: &str) -> String {
    if s.chars().count() > 100 {
        let mut t: String = s.chars().take(100).collect();
        t.push('…');
        t
    } else {
        s.to_owned()
    }
}

impl IntoResponse for MdeError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "target": Uuid::new_v4().to_string(),
            }
        });
        let mut resp = (self.status, body.to_string()).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

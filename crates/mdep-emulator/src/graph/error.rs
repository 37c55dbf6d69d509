//! Microsoft Graph's error envelope (`graph-security.md` §2.7, `concepts/errors.md`):
//! `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`,
//! with the `request-id` and `client-request-id` headers carrying the same ids.

use crate::defender::auth::AuthError;
use crate::defender::error::MdeError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;
use uuid::Uuid;

/// A failed Graph call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphError {
    /// HTTP status.
    pub status: StatusCode,
    /// Graph's `error.code`, e.g. `InvalidAuthenticationToken`.
    pub code: &'static str,
    /// Free text.
    pub message: String,
    /// Seconds to wait, for 429.
    pub retry_after: Option<u64>,
}

impl GraphError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400 `BadRequest`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    /// 403 `Forbidden` for missing application roles.
    pub fn missing_roles(accepted: &[&str], granted: &[String]) -> Self {
        let granted = if granted.is_empty() {
            "none".to_owned()
        } else {
            granted.join(", ")
        };
        Self::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            format!(
                "Missing application roles. API required roles: {}. Application roles: {granted}. Add the Microsoft Graph application permission to the app, have the tenant's administrator consent again, then take a new token.",
                accepted.join(" or ")
            ),
        )
    }

    /// 404 `NotFound`.
    pub fn not_found(kind: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!(
                "{kind} {} was not found.",
                crate::defender::error::truncate(id)
            ),
        )
    }

    /// The body, with the ids of the request.
    pub fn body(&self, request_id: &str, client_request_id: &str) -> String {
        let date = OffsetDateTime::now_utc();
        let date = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            date.year(),
            u8::from(date.month()),
            date.day(),
            date.hour(),
            date.minute(),
            date.second()
        );
        serde_json::json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "innerError": {
                    "date": date,
                    "request-id": request_id,
                    "client-request-id": client_request_id,
                }
            }
        })
        .to_string()
    }

    /// The response with the ids of the request.
    pub fn render(&self, request_id: &str, client_request_id: &str) -> Response {
        let mut resp = (self.status, self.body(request_id, client_request_id)).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(
                    "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"",
                ),
            );
        }
        if let Some(secs) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// Rendered with fresh ids; the Graph router's envelope layer renders it again with the
/// request's own ids (it finds the error in the response's extensions).
impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let id = Uuid::new_v4().to_string();
        let mut resp = self.render(&id, &id);
        resp.extensions_mut().insert(self);
        resp
    }
}

/// Token failures: 401 `InvalidAuthenticationToken` with Graph's messages (the audience
/// one as captured, `graph-security.md` §2.7), each followed by what to do.
impl From<AuthError> for GraphError {
    fn from(e: AuthError) -> Self {
        let message = match &e {
            AuthError::Missing => "Access token is empty. Send 'Authorization: Bearer <token>' with a token for https://graph.microsoft.com (scope https://graph.microsoft.com/.default).".to_owned(),
            AuthError::NotBearer | AuthError::Malformed(_) => {
                format!("IDX14100: JWT is not well formed. ({e})")
            }
            AuthError::Audience(aud) => format!(
                "Access token validation failure. Invalid audience. The token is for '{}'; request it with scope https://graph.microsoft.com/.default.",
                crate::defender::error::truncate(aud)
            ),
            AuthError::Expired(_) => {
                "Lifetime validation failed, the token is expired. Take a new token.".to_owned()
            }
            AuthError::NotYetValid(_) => {
                "Lifetime validation failed, the token is not yet valid. Check the clock."
                    .to_owned()
            }
            other => format!(
                "Access token validation failure. {}",
                other.to_string().trim_start_matches("Unauthorized: ")
            ),
        };
        Self::new(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            message,
        )
    }
}

/// The Defender engine's refusals (OData options, hunting queries, storage, quotas) in
/// Graph's words.
impl From<MdeError> for GraphError {
    fn from(e: MdeError) -> Self {
        let code = match e.status.as_u16() {
            // The captured `$top` refusal on incidents has an empty code
            // (`graph-security.md` §4.1).
            400 if e.message.starts_with("The limit of '") => "",
            400 => "BadRequest",
            401 => "InvalidAuthenticationToken",
            403 => "Forbidden",
            404 => "NotFound",
            429 => "TooManyRequests",
            503 => "ServiceNotAvailable",
            _ => "UnknownError",
        };
        Self {
            status: e.status,
            code,
            message: e.message,
            retry_after: e.retry_after,
        }
    }
}

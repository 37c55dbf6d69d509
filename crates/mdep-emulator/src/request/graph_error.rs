//! Microsoft Graph's error envelope (`graph-security.md` §2.7, `concepts/errors.md`):
//! `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`,
//! with the `request-id` and `client-request-id` headers carrying the same ids.

use super::error::{MdeError, roles_message, truncate};
use super::token::AuthError;
use axum::extract::Request;
use axum::http::HeaderMap;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
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
        Self::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            roles_message(
                accepted,
                granted,
                "Add the Microsoft Graph application permission to the app, have the tenant's administrator consent again, then take a new token.",
            ),
        )
    }

    /// 404 `NotFound`.
    pub fn not_found(kind: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("{kind} {} was not found.", truncate(id)),
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
                truncate(aud)
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

/// The ids of a Graph response: a fresh `request-id`, and the client's
/// `client-request-id` when it sent a usable one (else the same as `request-id`).
fn request_ids(headers: &HeaderMap) -> (String, String) {
    let request_id = Uuid::new_v4().to_string();
    let client = headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty() && s.len() <= 100)
        .map_or_else(|| request_id.clone(), str::to_owned);
    (request_id, client)
}

fn set_ids(resp: &mut Response, request_id: &str, client: &str) {
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(client) {
        h.insert("client-request-id", v);
    }
}

/// A Graph error answered before the request reaches the Graph routes (an injected
/// fault), with the ids and envelope the routes would give.
pub fn error_response(e: &GraphError, headers: &HeaderMap) -> Response {
    let (request_id, client) = request_ids(headers);
    let mut resp = e.render(&request_id, &client);
    set_ids(&mut resp, &request_id, &client);
    resp
}

/// Whether `path` is one of Graph's (`/v1.0/…`, `/beta/…`).
pub fn is_graph_path(path: &str) -> bool {
    ["/v1.0", "/beta"]
        .iter()
        .any(|root| path == *root || path.starts_with(&format!("{root}/")))
}

/// Gives every response `request-id` and `client-request-id` (the client's, when it sent
/// a usable one), and writes them into the error envelope.
pub async fn envelope(req: Request, next: Next) -> Response {
    let (request_id, client) = request_ids(req.headers());
    let mut resp = next.run(req).await;
    if let Some(e) = resp.extensions_mut().remove::<GraphError>() {
        let ext = std::mem::take(resp.extensions_mut());
        resp = e.render(&request_id, &client);
        resp.extensions_mut().extend(ext);
    }
    set_ids(&mut resp, &request_id, &client);
    resp
}

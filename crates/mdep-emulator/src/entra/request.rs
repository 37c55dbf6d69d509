//! What every Entra endpoint reads from a request: the caller's origin, Entra's request
//! ids, and short echoes of the caller's input in messages.

use super::error::RequestContext;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Uri};
use std::convert::Infallible;

/// The origin (`scheme://host[:port]`) the caller used, so discovery documents and
/// assertion audiences name the same host the client talks to.
pub fn origin(state: &AppState, uri: &Uri, headers: &HeaderMap) -> String {
    let host = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| {
            headers
                .get(axum::http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_owned)
        })
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        })
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{}://{}", state.scheme, host)
}

/// Keeps echoed input short in messages.
pub fn truncate(s: &str) -> String {
    if s.chars().count() > 200 {
        let mut t: String = s.chars().take(200).collect();
        t.push('…');
        t
    } else {
        s.to_owned()
    }
}

/// One call to an Entra endpoint: the emulator's state, the request's headers, the
/// caller's origin and the ids Entra answers with.
pub struct Call {
    /// The emulator.
    pub state: AppState,
    /// The request's headers.
    pub headers: HeaderMap,
    /// `scheme://host[:port]` as the caller used it.
    pub origin: String,
    /// `x-ms-request-id`, `client-request-id` and the timestamp for errors.
    pub ctx: RequestContext,
}

impl FromRequestParts<AppState> for Call {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        let origin = origin(state, &parts.uri, &parts.headers);
        Ok(Self {
            state: state.clone(),
            headers: parts.headers.clone(),
            ctx: RequestContext::new(&parts.headers, origin.clone()),
            origin,
        })
    }
}

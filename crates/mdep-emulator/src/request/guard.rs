//! The gate in front of each API's routes: refuse a path with a malformed segment,
//! authenticate the bearer token for the API's audience, then count the call against the
//! quota that applies. The caller goes into the request's extensions (for
//! [`super::call::Call`]) and its tenant onto the response (for the request counters).
//! What axum's extractors refuse on the way to a handler (a body over the limit, a path
//! parameter that is not UTF-8) comes back as plain text; the gate answers it in the
//! API's own error body instead.

use super::api::Api;
use super::auth::{self, Caller};
use crate::AppState;
use crate::CountedTenant;
use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

fn authenticate<A: Api>(state: &AppState, headers: &HeaderMap) -> Result<Caller, A::Error> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    Ok(auth::authenticate(&state.emu, authorization, A::AUDIENCE)?)
}

/// The first segment of `path` that is not percent-encoded UTF-8: a `%` not followed by
/// two hex digits, or escapes that decode to invalid UTF-8.
pub fn malformed_segment(path: &str) -> Option<&str> {
    path.split('/').find(|segment| {
        let b = segment.as_bytes();
        let mut decoded = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                let hex = b
                    .get(i + 1..i + 3)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                let Some(byte) = hex else { return true };
                decoded.push(byte);
                i += 3;
            } else {
                decoded.push(b[i]);
                i += 1;
            }
        }
        std::str::from_utf8(&decoded).is_err()
    })
}

/// An answer axum gave for the handler — an extractor's rejection, always plain text,
/// where the handlers behind the gate answer JSON only — in the API's error body, with
/// the same status, quoting what axum said.
async fn in_envelope<A: Api>(resp: Response) -> Response {
    let plain = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("text/plain"));
    if !plain || !resp.status().is_client_error() {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let mut out = if parts.status == StatusCode::PAYLOAD_TOO_LARGE {
        A::too_large(crate::MAX_REQUEST_BYTES).into_response()
    } else {
        // axum's rejection messages are one short line.
        let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
        A::rejected(parts.status, String::from_utf8_lossy(&text).trim()).into_response()
    };
    out.extensions_mut().extend(parts.extensions);
    out
}

/// Every request of API `A`: a well-formed path, authenticate, then admit against the
/// quota; extractors' rejections answered in the API's error body.
pub async fn guard<A: Api>(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    if let Some(segment) = malformed_segment(req.uri().path()) {
        return A::malformed_path(segment).into_response();
    }
    let caller = match authenticate::<A>(&state, req.headers()) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let tenant = CountedTenant(caller.tenant.to_string());
    let mut resp = match A::admit(state.emu.defender(), &caller, req.uri().path()) {
        Ok(()) => {
            req.extensions_mut().insert(caller);
            in_envelope::<A>(next.run(req).await).await
        }
        Err(e) => e.into_response(),
    };
    resp.extensions_mut().insert(tenant);
    resp
}

/// Any other path under API `A`: 401 without a valid token, else the API's answer to a
/// path it does not serve.
pub async fn unknown<A: Api>(
    State(state): State<AppState>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Response {
    match authenticate::<A>(&state, &headers) {
        Err(e) => e.into_response(),
        Ok(c) => {
            let mut r = A::unknown(uri.path()).into_response();
            r.extensions_mut()
                .insert(CountedTenant(c.tenant.to_string()));
            r
        }
    }
}

/// The fallback of API `A`'s router: [`unknown`], behind the fault injection the routes
/// have (a nested router's fallback is not one of the routes the app's route layers
/// wrap), so `GET /api` and unknown paths are delayed or failed like the rest.
pub fn fallback<A: Api>(state: AppState) -> axum::routing::MethodRouter<AppState> {
    axum::routing::any(unknown::<A>)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            super::inject::inject,
        ))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::malformed_segment;

    #[test]
    fn malformed_segments() {
        assert_eq!(malformed_segment("/api/machines/%ZZ"), Some("%ZZ"));
        assert_eq!(malformed_segment("/api/machines/%FF/x"), Some("%FF"));
        assert_eq!(malformed_segment("/api/machines/ab%"), Some("ab%"));
        assert_eq!(malformed_segment("/api/machines/%4"), Some("%4"));
        assert_eq!(malformed_segment("/api/machines/%+1"), Some("%+1"));
        assert_eq!(malformed_segment("/api/machines/%C3%A9t%C3%A9"), None);
        assert_eq!(malformed_segment("/api/users/contoso%5Cjo"), None);
        assert_eq!(malformed_segment("/api/machines"), None);
    }
}

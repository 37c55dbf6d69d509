//! The fault-injection middleware: applies the faults in force ([`super::faults`]) to
//! every non-admin request, answering in the envelope of the API the path belongs to
//! (MDE's body on `/api`, Graph's on `/v1.0` and `/beta`, an OAuth-style body on the
//! Entra endpoints). `drop_after` and `slow_body_ms` let the request be handled first and
//! then spoil its answer: the head goes out, then the connection is cut or the body stalls.

use super::error::MdeError;
use super::faults::Action;
use super::graph_error::{GraphError, error_response, is_graph_path};
use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use uuid::Uuid;

/// The tenant a request is for, for targeting: the (unverified) `tid` of a Bearer token
/// on `/api`, else the first path segment.
fn tenant_of(state: &AppState, req: &Request, path: &str) -> Option<Uuid> {
    if is_mde_path(path) {
        let token = req
            .headers()
            .get(header::AUTHORIZATION)?
            .to_str()
            .ok()?
            .split_once(' ')?
            .1
            .trim();
        let payload = token.split('.').nth(1)?;
        let bytes = crate::crypto::b64_any_decode(payload)?;
        let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        return Uuid::try_parse(v["tid"].as_str()?).ok();
    }
    let segment = path.trim_start_matches('/').split('/').next()?;
    match state.emu.directory().resolve(segment) {
        crate::directory::TenantRef::Known(t) => Some(t),
        _ => None,
    }
}

/// `/api` and the paths under it.
fn is_mde_path(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

fn broken_body() -> axum::body::Body {
    axum::body::Body::from_stream(futures_util::stream::once(async {
        Err::<axum::body::Bytes, _>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "fault injection: connection dropped",
        ))
    }))
}

/// The middleware: applies the faults in force to every non-admin request.
pub async fn inject(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let faults = state.emu.defender().faults();
    // The whole path, also under a nested router's fallback (which sees it stripped).
    let path = req
        .extensions()
        .get::<axum::extract::OriginalUri>()
        .map_or_else(|| req.uri().path(), |o| o.0.path())
        .to_owned();
    if path.starts_with("/_emulator/") {
        return next.run(req).await;
    }
    let tenant = tenant_of(&state, &req, &path);
    // The `Host` header (HTTP/1.1), else the request's authority (HTTP/2's `:authority`).
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().authority().map(|a| a.as_str().to_owned()));
    let Some(action) = faults.decide(&path, tenant, host.as_deref()) else {
        return next.run(req).await;
    };
    let mut resp = respond(action, &path, req, next).await;
    // Counted against the tenant the request names (for /api, the token's `tid` as sent).
    if let Some(t) = tenant
        && resp.extensions().get::<crate::CountedTenant>().is_none()
    {
        resp.extensions_mut()
            .insert(crate::CountedTenant(t.to_string()));
    }
    resp
}

/// The handler's answer with its body replaced by `body` (the head as it was, without a
/// `Content-Length` that would no longer hold).
async fn reshape(
    resp: Response,
    body: impl FnOnce(axum::body::Bytes) -> axum::body::Body,
) -> Response {
    let (mut parts, inner) = resp.into_parts();
    let bytes = axum::body::to_bytes(inner, usize::MAX)
        .await
        .unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, body(bytes))
}

/// `bytes` in two halves with a stall of `ms` between them (before any byte when there
/// is only one).
fn stalled_body(bytes: axum::body::Bytes, ms: u64) -> axum::body::Body {
    let half = bytes.len() / 2;
    let (first, rest) = (bytes.slice(..half), bytes.slice(half..));
    let chunks =
        futures_util::stream::iter([(first, 0), (rest, ms)]).then(|(b, wait)| async move {
            if wait > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
            }
            Ok::<_, std::io::Error>(b)
        });
    axum::body::Body::from_stream(chunks)
}

async fn respond(action: Action, path: &str, req: Request, next: Next) -> Response {
    if action.latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(action.latency_ms)).await;
    }
    if action.drop_after {
        // Handled (its effect stays), answer lost.
        return reshape(next.run(req).await, |_| broken_body()).await;
    }
    if let Some(ms) = action.slow_body_ms {
        return reshape(next.run(req).await, |b| stalled_body(b, ms)).await;
    }
    if action.drop {
        let mut resp = Response::new(broken_body());
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        return resp;
    }
    let Some((status, retry_after)) = action.status else {
        return next.run(req).await;
    };
    let message = "Injected fault (emulator fault injection).";
    let graph = is_graph_path(path);
    if is_mde_path(path) || graph {
        let mut e = match status {
            429 => MdeError::too_many(retry_after.unwrap_or(1), message),
            503 => MdeError::unavailable(message),
            _ => MdeError::internal(),
        };
        e.retry_after = retry_after;
        if graph {
            // Graph's envelope (`innerError` with the request's ids) and codes
            // (`TooManyRequests`, `ServiceNotAvailable`, `UnknownError`).
            let e = GraphError::from(e);
            return error_response(&e, req.headers());
        }
        return e.into_response();
    }
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let error = if status == 429 {
        "too_many_requests"
    } else {
        "temporarily_unavailable"
    };
    let body = serde_json::json!({"error": error, "error_description": message});
    let mut resp = (code, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    if let Some(s) = retry_after {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(s));
    }
    resp
}

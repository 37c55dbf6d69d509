//! The gate in front of each API's routes: authenticate the bearer token for the API's
//! audience, then count the call against the quota that applies. The caller goes into
//! the request's extensions (for [`super::call::Call`]) and its tenant onto the response
//! (for the request counters).

use super::api::Api;
use super::auth::{self, Caller};
use crate::AppState;
use crate::CountedTenant;
use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

fn authenticate<A: Api>(state: &AppState, headers: &HeaderMap) -> Result<Caller, A::Error> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    Ok(auth::authenticate(&state.emu, authorization, A::AUDIENCE)?)
}

/// Every request of API `A`: authenticate, then admit against the quota.
pub async fn guard<A: Api>(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let caller = match authenticate::<A>(&state, req.headers()) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let tenant = CountedTenant(caller.tenant.to_string());
    let mut resp = match A::admit(state.emu.defender(), &caller, req.uri().path()) {
        Ok(()) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
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

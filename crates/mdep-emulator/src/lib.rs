#![doc = include_str!("../README.md")]

pub mod admin;
pub mod collection;
pub mod crypto;
pub mod defender;
pub mod directory;
pub mod entra;
pub mod graph;
pub mod keys;
pub mod request;
pub mod scenario;
pub mod server;
pub mod state;
pub mod store;
pub mod tls;

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use std::sync::Arc;

pub use state::Emulator;

/// What every handler sees.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The emulator's state.
    pub emu: Arc<Emulator>,
    /// `https` or `http`: how the server is reached (for URLs it hands out).
    pub scheme: &'static str,
}

/// Largest request the emulator reads, in bytes; larger ones get Entra's error.
pub const MAX_REQUEST_BYTES: usize = entra::token::MAX_BODY;

/// Set on a response by a handler that knows the request's tenant (e.g. from a token's
/// `tid`), so the request counters attribute it there.
#[derive(Debug, Clone)]
pub struct CountedTenant(pub String);

/// Counts every answered request by tenant, method, route and status (admin routes
/// excepted), for `GET /_emulator/counters`.
async fn count_requests(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let Some(route) = route.filter(|r| !r.starts_with("/_emulator/")) else {
        return next.run(req).await;
    };
    let method = req.method().as_str().to_owned();
    let path_tenant = route
        .starts_with("/{tenant}/")
        .then(|| {
            req.uri()
                .path()
                .trim_start_matches('/')
                .split('/')
                .next()
                .map(str::to_owned)
        })
        .flatten();
    let resp = next.run(req).await;
    let tenant = resp
        .extensions()
        .get::<CountedTenant>()
        .map(|t| t.0.clone())
        .or(path_tenant);
    state.emu.count(state::CounterKey {
        tenant,
        method,
        route,
        status: resp.status().as_u16(),
    });
    resp
}

/// The whole emulator as a router, testable without sockets (`app(..).oneshot(req)`).
pub fn app(emu: Arc<Emulator>, scheme: &'static str) -> Router {
    let state = AppState { emu, scheme };
    Router::new()
        .merge(entra::routes())
        .merge(admin::routes(state.clone()))
        .merge(defender::routes(state.clone()))
        .merge(graph::routes(state.clone()))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            request::inject::inject,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .fallback(|| async { (StatusCode::NOT_FOUND, "Not found").into_response() })
        .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(state)
}

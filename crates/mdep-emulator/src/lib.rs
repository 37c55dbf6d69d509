#![doc = include_str!("../README.md")]

pub mod admin;
pub mod crypto;
pub mod directory;
pub mod entra;
pub mod keys;
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

/// The whole emulator as a router, testable without sockets (`app(..).oneshot(req)`).
pub fn app(emu: Arc<Emulator>, scheme: &'static str) -> Router {
    let state = AppState { emu, scheme };
    Router::new()
        .merge(entra::routes())
        .merge(admin::routes(state.clone()))
        .fallback(|| async { (StatusCode::NOT_FOUND, "Not found").into_response() })
        .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(state)
}

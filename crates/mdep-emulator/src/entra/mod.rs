//! Entra ID: token endpoints (v1 and v2), discovery and keys, and the admin-consent pages.

pub mod assertion;
pub mod consent;
pub mod discovery;
pub mod error;
pub mod token;

use crate::AppState;
use axum::Router;
use axum::http::{HeaderMap, Uri};
use axum::routing::{get, post};

/// The Entra routes, paths as Microsoft's.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/{tenant}/oauth2/token",
            post(token::token_v1).get(token::token_get),
        )
        .route(
            "/{tenant}/oauth2/v2.0/token",
            post(token::token_v2).get(token::token_get),
        )
        .route(
            "/{tenant}/.well-known/openid-configuration",
            get(discovery::openid_v1),
        )
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(discovery::openid_v2),
        )
        .route("/{tenant}/discovery/keys", get(discovery::keys_v1))
        .route("/{tenant}/discovery/v2.0/keys", get(discovery::keys_v2))
        .route("/discovery/keys", get(discovery::keys_v1_common))
        .route("/discovery/v2.0/keys", get(discovery::keys_v2_common))
        .route("/{tenant}/discovery/instance", get(discovery::instance))
        .route("/{tenant}/oauth2/authorize", get(consent::authorize))
        .route("/{tenant}/oauth2/v2.0/authorize", get(consent::authorize))
        .route("/{tenant}/adminconsent", get(consent::admin_consent_v1))
        .route(
            "/{tenant}/v2.0/adminconsent",
            get(consent::admin_consent_v2),
        )
        .route("/{tenant}/login", post(consent::sign_in))
        .route("/{tenant}/consent", post(consent::decide))
        .route("/error", get(consent::error_page))
}

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

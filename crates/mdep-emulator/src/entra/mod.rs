//! Entra ID: token endpoints (v1 and v2), discovery and keys, and the admin-consent pages.

pub mod assertion;
pub mod consent;
pub mod discovery;
pub mod error;
pub mod request;
pub mod token;

pub use request::origin;

use crate::AppState;
use axum::Router;
use axum::routing::{MethodRouter, get, post};

/// The Entra routes, paths as Microsoft's.
pub fn routes() -> Router<AppState> {
    let table: [(&str, MethodRouter<AppState>); 16] = [
        (
            "/{tenant}/oauth2/token",
            post(token::token_v1).get(token::token_get),
        ),
        (
            "/{tenant}/oauth2/v2.0/token",
            post(token::token_v2).get(token::token_get),
        ),
        (
            "/{tenant}/.well-known/openid-configuration",
            get(discovery::openid_v1),
        ),
        (
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(discovery::openid_v2),
        ),
        ("/{tenant}/discovery/keys", get(discovery::keys_v1)),
        ("/{tenant}/discovery/v2.0/keys", get(discovery::keys_v2)),
        ("/discovery/keys", get(discovery::keys_v1_common)),
        ("/discovery/v2.0/keys", get(discovery::keys_v2_common)),
        ("/{tenant}/discovery/instance", get(discovery::instance)),
        ("/{tenant}/oauth2/authorize", get(consent::authorize)),
        ("/{tenant}/oauth2/v2.0/authorize", get(consent::authorize)),
        ("/{tenant}/adminconsent", get(consent::admin_consent_v1)),
        (
            "/{tenant}/v2.0/adminconsent",
            get(consent::admin_consent_v2),
        ),
        ("/{tenant}/login", post(consent::sign_in)),
        ("/{tenant}/consent", post(consent::decide)),
        ("/error", get(consent::error_page)),
    ];
    table
        .into_iter()
        .fold(Router::new(), |router, (path, handler)| {
            router.route(path, handler)
        })
}

//! Microsoft Graph's security API on the emulator's listener, under `/v1.0` and `/beta`
//! (`graph-security.md` §2 and §4): `runHuntingQuery`, `alerts_v2` and `incidents`, over
//! the same per-tenant Defender data as `/api` — an alert updated on one side is updated
//! on the other.
//!
//! - Graph's error envelope, the `request-id` and `client-request-id` every response
//!   carries, the caller and the quotas are in [`crate::request`] ([`Graph`]); this
//!   module only assembles the routes.
//! - [`alerts`]: an MDE alert in Graph's schema; [`incidents`]: alerts grouped by their
//!   incident id; [`hunting`]: the KQL subset engine of the MDE side.
//! - Tokens must be for Microsoft Graph (`aud` `https://graph.microsoft.com`, with or
//!   without the slash, or Graph's app id); quotas: 150 calls a minute per app and
//!   tenant on alerts and incidents, 45 hunting calls a minute per tenant.

pub mod alerts;
pub mod hunting;
pub mod incidents;

use crate::AppState;
use crate::request::graph::Graph;
use crate::request::graph_error::envelope;
use crate::request::guard::{guard, unknown};
use axum::Router;
use axum::routing::{get, post};

fn api(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/security/runHuntingQuery", post(hunting::run))
        .route(
            "/security/microsoft.graph.security.runHuntingQuery",
            post(hunting::run),
        )
        .route("/security/alerts_v2", get(alerts::list))
        .route(
            "/security/alerts_v2/{id}",
            get(alerts::get_one).patch(alerts::update),
        )
        .route("/security/incidents", get(incidents::list))
        .route(
            "/security/incidents/{id}",
            get(incidents::get_one).patch(incidents::update),
        )
        .route("/security/incidents/{id}/alerts", get(incidents::alerts))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::<Graph>,
        ))
        .fallback(axum::routing::any(unknown::<Graph>).with_state(state))
        .layer(axum::middleware::from_fn(envelope))
}

/// The Graph routes under `/v1.0` and `/beta`.
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .nest("/v1.0", api(state.clone()))
        .nest("/beta", api(state))
}

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
//! - [`applications`] and [`service_principals`]: the application API subset that
//!   registers a partner app and grants its permissions (`graph-security.md` §5), over
//!   the same directory the scenario's apps live in; [`app_body`] reads and writes the
//!   application resource, [`objects`] holds what both share, [`proof`] checks `addKey`.
//! - Tokens must be for Microsoft Graph (`aud` `https://graph.microsoft.com`, with or
//!   without the slash, or Graph's app id); quotas: 150 calls a minute per app and
//!   tenant on alerts and incidents, 45 hunting calls a minute per tenant.

pub mod alerts;
pub mod app_body;
pub mod applications;
pub mod hunting;
pub mod incidents;
pub mod objects;
pub mod proof;
pub mod service_principals;

use crate::AppState;
use crate::collection::serve::{get_one, list, update};
use crate::request::graph::Graph;
use crate::request::graph_error::envelope;
use crate::request::guard::{fallback, guard};
use alerts::AlertsV2;
use axum::Router;
use axum::routing::{get, post};
use incidents::Incidents;
use service_principals as sps;

fn api(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/security/runHuntingQuery", post(hunting::run))
        .route(
            "/security/microsoft.graph.security.runHuntingQuery",
            post(hunting::run),
        )
        // `getRunHuntingQuery(query='…',timespan='…')`: the function call is one segment.
        .route("/security/{call}", get(hunting::get_run))
        .route("/security/alerts_v2", get(list::<AlertsV2>))
        .route(
            "/security/alerts_v2/{id}",
            get(get_one::<AlertsV2>).patch(update::<AlertsV2>),
        )
        .route("/security/incidents", get(list::<Incidents>))
        .route(
            "/security/incidents/{id}",
            get(get_one::<Incidents>).patch(update::<Incidents>),
        )
        .route("/security/incidents/{id}/alerts", get(incidents::alerts))
        .route(
            "/applications",
            post(applications::create).get(applications::list),
        )
        .route(
            "/applications/{id}",
            get(applications::get).patch(applications::update),
        )
        // `/applications(appId='…')`: the key form is one path segment.
        .route("/{key}", get(applications::get).patch(applications::update))
        .route(
            "/applications/{id}/addPassword",
            post(applications::add_password),
        )
        .route("/{key}/addPassword", post(applications::add_password))
        .route(
            "/applications/{id}/removePassword",
            post(applications::remove_password),
        )
        .route("/{key}/removePassword", post(applications::remove_password))
        .route("/applications/{id}/addKey", post(applications::add_key))
        .route("/{key}/addKey", post(applications::add_key))
        .route("/servicePrincipals", post(sps::create).get(sps::list))
        .route("/servicePrincipals/{id}", get(sps::get))
        .route(
            "/servicePrincipals/{id}/appRoleAssignedTo",
            get(sps::assigned_to).post(sps::assign),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::<Graph>,
        ))
        .fallback(fallback::<Graph>(state))
        .layer(axum::middleware::from_fn(envelope))
}

/// The Graph routes under `/v1.0` and `/beta`.
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .nest("/v1.0", api(state.clone()))
        .nest("/beta", api(state))
}

//! Defender for Endpoint: the MDE REST API a partner calls with a token from the Entra
//! half, under `/api` and `/api/v1.0` (`mde-api.md` §4–§6). This module only assembles
//! the routes; what every handler works with (the caller, the error body, the envelope,
//! quotas) is in [`crate::request`], the settings and data cache in
//! [`crate::state::defender`].
//!
//! - [`generate`]: the deterministic per-tenant data; [`data`]: that data in memory,
//!   written through to the store.
//! - [`query`]: OData query options.
//! - [`alerts`], [`machines`], [`actions`], [`indicators`], [`hunting`], [`intel`],
//!   [`investigations`], [`library`], [`live`], [`package`], [`reference`], [`tvm`]: the
//!   endpoints.

pub mod actions;
pub mod alerts;
pub mod data;
pub mod generate;
pub mod hunting;
pub mod indicators;
pub mod intel;
pub mod investigations;
pub mod library;
pub mod live;
pub mod machines;
pub mod package;
pub mod params;
pub mod query;
pub mod reference;
pub mod tvm;

pub use crate::request::faults;
pub use crate::state::defender::{DEFAULT_TENANTS_IN_MEMORY, DefenderSettings, DefenderState};
pub use data::{read, write};

use crate::AppState;
use crate::collection::serve::{get_one, list};
use crate::request::guard::{fallback, guard};
use crate::request::mde::Mde;
use axum::Router;
use axum::routing::{get, post};

fn api(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/alerts", get(list::<alerts::Alerts>))
        .route("/alerts/batchUpdate", post(alerts::batch_update))
        .route("/alerts/CreateAlertByReference", post(reference::create))
        .route(
            "/alerts/{id}",
            get(get_one::<alerts::Alerts>).patch(alerts::update),
        )
        .route("/alerts/{id}/machine", get(machines::of_alert))
        .route("/alerts/{id}/files", get(alerts::files))
        .route("/alerts/{id}/ips", get(alerts::ips))
        .route("/alerts/{id}/domains", get(alerts::domains))
        .route("/alerts/{id}/user", get(alerts::user))
        .route("/machines", get(list::<machines::Machines>))
        .route("/machines/findbytag", get(machines::find_by_tag))
        .route(
            "/machines/AddOrRemoveTagForMultipleMachines",
            post(machines::tags_for_many),
        )
        .route(
            "/machines/{id}",
            get(machines::get_or_find).patch(machines::update),
        )
        .route(
            "/machines/{id}/setDeviceValue",
            post(machines::set_device_value),
        )
        .route("/machines/{id}/logonusers", get(machines::logon_users))
        .route("/machines/{id}/alerts", get(machines::alerts))
        .route("/machines/{id}/tags", post(machines::tags))
        .route(
            "/machines/{id}/startInvestigation",
            post(investigations::start),
        )
        .merge(actions::routes())
        .merge(tvm::export::routes())
        .route("/machineactions", get(list::<actions::MachineActions>))
        .route(
            "/machineactions/{id}",
            get(get_one::<actions::MachineActions>),
        )
        .route("/machineactions/{id}/cancel", post(actions::cancel))
        .route(
            "/machineactions/{id}/getPackageUri",
            get(package::package_uri),
        )
        .route("/machineactions/{id}/{op}", get(live::result_link))
        .route("/machines/{id}/runliveresponse", post(live::run))
        .route(
            "/indicators",
            get(list::<indicators::Indicators>).post(indicators::submit),
        )
        .route("/indicators/import", post(indicators::import))
        .route("/indicators/BatchDelete", post(indicators::batch_delete))
        .route("/files/{id}/alerts", get(alerts::file_alerts))
        .route("/ips/{ip}/alerts", get(alerts::ip_alerts))
        .route("/domains/{domain}/alerts", get(alerts::domain_alerts))
        .route("/users/{id}/alerts", get(alerts::user_alerts))
        .route("/files/{id}/machines", get(machines::file_machines))
        .route("/domains/{domain}/machines", get(machines::domain_machines))
        .route("/users/{id}/machines", get(machines::user_machines))
        .route("/advancedqueries/run", post(hunting::run_query))
        .route("/files/{id}", get(intel::file))
        .route("/files/{id}/stats", get(intel::file_stats))
        .route("/ips/{ip}/stats", get(intel::ip_stats))
        .route("/domains/{domain}/stats", get(intel::domain_stats))
        .route("/exposureScore", get(intel::exposure_score))
        .route(
            "/exposureScore/ByMachineGroups",
            get(intel::exposure_score_by_groups),
        )
        .route("/configurationScore", get(intel::configuration_score))
        .route("/machines/{id}/software", get(tvm::machine_software))
        .route(
            "/machines/{id}/vulnerabilities",
            get(tvm::machine_vulnerabilities),
        )
        .route(
            "/investigations",
            get(list::<investigations::Investigations>),
        )
        .route(
            "/investigations/{id}",
            get(get_one::<investigations::Investigations>),
        )
        .route("/vulnerabilities", get(list::<tvm::Vulnerabilities>))
        .route(
            "/remediationTasks",
            get(list::<tvm::remediation::RemediationTasks>),
        )
        .route(
            "/remediationTasks/{id}",
            get(get_one::<tvm::remediation::RemediationTasks>),
        )
        .route(
            "/remediationTasks/{id}/machineReferences",
            get(tvm::remediation::machine_references),
        )
        // The method pages' examples write it in lower case.
        .route(
            "/remediationtasks",
            get(list::<tvm::remediation::RemediationTasks>),
        )
        .route(
            "/remediationtasks/{id}",
            get(get_one::<tvm::remediation::RemediationTasks>),
        )
        .route(
            "/remediationtasks/{id}/machinereferences",
            get(tvm::remediation::machine_references),
        )
        .route(
            "/recommendations",
            get(list::<tvm::recommendations::Recommendations>),
        )
        .route(
            "/recommendations/{id}",
            get(get_one::<tvm::recommendations::Recommendations>),
        )
        .route(
            "/recommendations/{id}/software",
            get(tvm::recommendations::software),
        )
        .route(
            "/recommendations/{id}/machineReferences",
            get(tvm::recommendations::machine_references),
        )
        .route(
            "/recommendations/{id}/vulnerabilities",
            get(tvm::recommendations::vulnerabilities),
        )
        .route(
            "/machines/{id}/recommendations",
            get(tvm::recommendations::of_machine),
        )
        .route("/Software", get(list::<tvm::SoftwareList>))
        .route("/software", get(list::<tvm::SoftwareList>))
        .route("/Software/{id}", get(tvm::software::one))
        .route(
            "/Software/{id}/distributions",
            get(tvm::software::distributions),
        )
        .route(
            "/Software/{id}/machineReferences",
            get(tvm::software::machine_references),
        )
        .route(
            "/Software/{id}/vulnerabilities",
            get(tvm::software::vulnerabilities),
        )
        .route(
            "/Software/{id}/getmissingkbs",
            get(tvm::software::software_missing_kbs),
        )
        .route(
            "/machines/{id}/getmissingkbs",
            get(tvm::software::machine_missing_kbs),
        )
        .route(
            "/vulnerabilities/machinesVulnerabilities",
            get(list::<tvm::vulnerabilities::MachinesVulnerabilities>),
        )
        .route("/vulnerabilities/{id}", get(tvm::vulnerabilities::one))
        .route(
            "/vulnerabilities/{id}/machineReferences",
            get(tvm::vulnerabilities::machine_references),
        )
        .route("/libraryfiles", get(library::list).post(library::upload))
        .route(
            "/libraryfiles/{name}",
            axum::routing::delete(library::delete),
        )
        .route(
            "/indicators/{id}",
            axum::routing::delete(indicators::delete),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::<Mde>,
        ))
        .fallback(fallback::<Mde>(state))
}

/// The MDE routes under `/api` and `/api/v1.0`.
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/live-response/{tenant}/{action}/{index}",
            get(live::download),
        )
        .route(
            "/tvm-export/{tenant}/{folder}/{at}/{file}",
            get(tvm::export::download),
        )
        .route(
            "/investigation-package/{tenant}/{action}",
            get(package::download),
        )
        .nest("/api", api(state.clone()))
        .nest("/api/v1.0", api(state))
}

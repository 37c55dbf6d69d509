//! Advanced hunting: `POST /api/advancedqueries/run` with the KQL subset of [`kql`] over
//! four tables made from the tenant's data: `DeviceInfo` (one row per device),
//! `AlertInfo` (per alert), `AlertEvidence` (per evidence, plus the device) and a minimal
//! `DeviceProcessEvents` (the processes in alert evidence). The answer has `Stats`,
//! `Schema` and `Results` (`mde-api.md` §4.7); a query outside the subset is 400 naming
//! what is not supported. Its own quota: 45 calls a minute per tenant by default.

mod eval;
mod handler;
pub mod kql;
mod ops;
mod tables;
mod typing;
mod value;

pub use handler::run_query;

use crate::AppState;
use mdep_model::Licence;

/// The tenant's licence when it leaves advanced hunting out (`mde-api.md` §1.1: "Advanced
/// hunting capabilities are not included in Defender for Business"; Plan 1 has none
/// either), with the message both APIs answer then.
pub fn unlicensed(state: &AppState, tenant: uuid::Uuid) -> Option<(Licence, String)> {
    let licence = state.emu.directory().tenants.get(&tenant)?.licence;
    (!licence.includes_hunting()).then(|| {
        (
            licence,
            format!(
                "Advanced hunting is not included in {} (the tenant's licence, {licence}): it needs Microsoft Defender for Endpoint Plan 2.",
                licence.product()
            ),
        )
    })
}
pub use ops::{run, run_in};
pub use value::{MAX_ROWS, Table, Ty, V, bad, cell};

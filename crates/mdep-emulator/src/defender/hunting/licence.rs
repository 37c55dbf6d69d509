//! Advanced hunting and the tenant's licence.

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

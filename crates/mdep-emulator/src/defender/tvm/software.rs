//! One product of the software inventory (`mde-api.md` §4.8, `software.md`): by id, its
//! version distribution, the devices that have it, its vulnerabilities, and the missing
//! security updates (KBs) by product and by device (§4.4).

use super::catalog::{
    CATALOG, by_id, device_software, exposure, machine_ref, machines_with, software_item,
    vulnerability_items,
};
use crate::defender::data::{TenantData, read};
use crate::request::call::Call;
use crate::request::error::MdeError;
use crate::request::mde::{ApiResult, Mde};
use axum::extract::Path;
use serde_json::{Value, json};

/// Roles that read the software inventory.
pub const READ: &[&str] = &["Software.Read.All"];

/// The catalog index of software `id` that some device of the tenant has, and how
/// many do, or MDE's 404 (`/api/Software` lists only those).
fn find(d: &TenantData, id: &str) -> Result<(usize, usize), MdeError> {
    let k = by_id(id)?;
    let n = exposure(d)[k];
    if n == 0 {
        return Err(MdeError::not_found("Software", id));
    }
    Ok((k, n))
}

/// `GET /api/Software/{id}`.
pub async fn one(call: Call<Mde>, Path(id): Path<String>) -> ApiResult {
    call.require(READ)?;
    let data = call.data()?;
    let d = read(&data);
    let (k, n) = find(&d, &id)?;
    Ok(call.ok("Software/$entity", software_item(&CATALOG[k], n)))
}

/// `GET /api/Software/{id}/distributions` (`software_distributions.json`): every device
/// with a product runs the catalog's version of it, so one row.
pub async fn distributions(call: Call<Mde>, Path(id): Path<String>) -> ApiResult {
    call.require(READ)?;
    let data = call.data()?;
    let d = read(&data);
    let (k, n) = find(&d, &id)?;
    let s = &CATALOG[k];
    let row = json!({
        "version": s.version,
        "installations": n,
        "vulnerabilities": s.cves.len(),
    });
    Ok(call.all("Distributions", vec![row]))
}

/// `GET /api/Software/{id}/machineReferences`.
pub async fn machine_references(call: Call<Mde>, Path(id): Path<String>) -> ApiResult {
    call.require(READ)?;
    let data = call.data()?;
    let d = read(&data);
    let (k, _) = find(&d, &id)?;
    let items = machines_with(&d, k).map(machine_ref).collect();
    Ok(call.all("MachineReferences", items))
}

/// `GET /api/Software/{id}/vulnerabilities`: `get-vuln-by-software.md` names
/// `Vulnerability.Read.All` for it, not `Software.Read.All`.
pub async fn vulnerabilities(call: Call<Mde>, Path(id): Path<String>) -> ApiResult {
    call.require(&["Vulnerability.Read.All"])?;
    let data = call.data()?;
    let d = read(&data);
    let (k, n) = find(&d, &id)?;
    Ok(call.all("Vulnerabilities", vulnerability_items(&CATALOG[k], n)))
}

/// The missing KB of catalog entry `k`, missed on `n` devices, as
/// `machines_getmissingkbs.json` shows it (`PublicProductFixDto`).
fn missing_kb(k: usize, n: usize) -> Option<Value> {
    let s = &CATALOG[k];
    let (kb, name) = s.kb?;
    Some(json!({
        "id": kb,
        "name": name,
        "productsNames": [s.name],
        "url": format!("https://catalog.update.microsoft.com/v7/site/Search.aspx?q=KB{kb}"),
        "machineMissedOn": n,
        "cveAddressed": s.cves.len(),
    }))
}

/// The `@odata.context` of missing KBs (`machines_getmissingkbs.json`).
const KBS: &str = "Collection(microsoft.windowsDefenderATP.api.PublicProductFixDto)";

/// `GET /api/Software/{id}/getmissingkbs`.
pub async fn software_missing_kbs(call: Call<Mde>, Path(id): Path<String>) -> ApiResult {
    call.require(READ)?;
    let data = call.data()?;
    let d = read(&data);
    let (k, n) = find(&d, &id)?;
    Ok(call.all(KBS, missing_kb(k, n).into_iter().collect()))
}

/// `GET /api/machines/{id}/getmissingkbs`: the KBs of the device's products;
/// `machineMissedOn` counts the tenant's devices.
pub async fn machine_missing_kbs(call: Call<Mde>, Path(id): Path<String>) -> ApiResult {
    call.require(READ)?;
    let data = call.data()?;
    let d = read(&data);
    let (_, mine) = device_software(&d, &id)?;
    let counts = exposure(&d);
    let items = mine
        .into_iter()
        .filter_map(|k| missing_kb(k, counts[k]))
        .collect();
    Ok(call.all(KBS, items))
}

//! One vulnerability and the devices it is on (`mde-api.md` §4.8): `GET
//! /api/vulnerabilities/{cveId}`, `…/machineReferences`, and every (device, CVE) pair,
//! `GET /api/vulnerabilities/machinesVulnerabilities`
//! (`vulnerabilities_machinesvulnerabilities.json`).

use super::catalog::{
    CATALOG, by_cve, exposure, installed, machine_ref, machines_with, seed, vulnerability_item,
};
use crate::defender::data::{TenantData, read};
use crate::defender::query::{EntitySet, Field, Kind, MAX_TOP};
use crate::request::call::Call;
use crate::request::mde::{ApiResult, Mde};
use axum::extract::Path;
use serde_json::{Value, json};
use std::borrow::Cow;

/// Roles that read vulnerabilities.
pub const READ: &[&str] = &["Vulnerability.Read.All"];

/// `GET /api/vulnerabilities/{cveId}`: any CVE of the catalog (the vulnerability list is
/// MDE's, not the tenant's); `exposedMachines` counts the tenant's devices.
pub async fn one(call: Call<Mde>, Path(cve): Path<String>) -> ApiResult {
    call.require(READ)?;
    let (k, j) = by_cve(&cve)?;
    let data = call.data()?;
    let d = read(&data);
    let n = exposure(&d)[k];
    Ok(call.ok(
        "Vulnerabilities/$entity",
        vulnerability_item(&CATALOG[k], j, n),
    ))
}

/// `GET /api/vulnerabilities/{cveId}/machineReferences`.
pub async fn machine_references(call: Call<Mde>, Path(cve): Path<String>) -> ApiResult {
    call.require(READ)?;
    let (k, _) = by_cve(&cve)?;
    let data = call.data()?;
    let d = read(&data);
    let items = machines_with(&d, k).map(machine_ref).collect();
    Ok(call.all("MachineReferences", items))
}

const fn str_field(key: &'static str) -> Field {
    Field {
        key,
        kind: Kind::Str,
    }
}

/// The (device, CVE) entity set: `$filter` as `get-all-vulnerabilities-by-machines.md`.
pub static MACHINE_VULNERABILITIES: EntitySet = EntitySet {
    name: "PublicAssetVulnerabilityDto",
    filterable: &[
        str_field("id"),
        str_field("cveId"),
        str_field("machineId"),
        str_field("fixingKbId"),
        str_field("productName"),
        str_field("productVersion"),
        Field {
            key: "severity",
            kind: Kind::Enum(&["Low", "Medium", "High", "Critical"]),
        },
        str_field("productVendor"),
    ],
    properties: &[
        "id",
        "cveId",
        "machineId",
        "fixingKbId",
        "productName",
        "productVendor",
        "productVersion",
        "severity",
    ],
    expands_evidence: false,
    max_top: MAX_TOP,
};

/// Every (device, CVE) pair of the tenant, ids written as the sample's
/// (`machine-_-cve-_-vendor-_-product-_-version-_-kb`).
pub fn pairs(d: &TenantData) -> Vec<Value> {
    let seed = seed(d);
    let mut out = Vec::new();
    for m in &d.machines {
        let mid = m["id"].as_str().unwrap_or_default();
        for k in installed(mid, seed) {
            let s = &CATALOG[k];
            let kb = s.kb.map(|k| k.0);
            for (cve, severity, _, _) in s.cves {
                out.push(json!({
                    "id": format!("{mid}-_-{cve}-_-{}-_-{}-_-{}-_-{}", s.vendor, s.name, s.version, kb.unwrap_or("")),
                    "cveId": cve,
                    "machineId": mid,
                    "fixingKbId": kb,
                    "productName": s.name,
                    "productVendor": s.vendor,
                    "productVersion": s.version,
                    "severity": severity,
                }));
            }
        }
    }
    out
}

crate::entity_set! {
/// `GET /api/vulnerabilities/machinesVulnerabilities`.
MachinesVulnerabilities: Mde = &MACHINE_VULNERABILITIES,
    "Collection(microsoft.windowsDefenderATP.api.PublicAssetVulnerabilityDto)",
    "Vulnerability", READ;
fn items(_, d) {
    pairs(d).into_iter().map(Cow::Owned).collect()
}
}

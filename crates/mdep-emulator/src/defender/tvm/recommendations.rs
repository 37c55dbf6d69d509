//! Security recommendations (`mde-api.md` §4.8, `recommendations_list.json`): one per
//! product of the catalog with CVEs that some device of the tenant has, "update to the
//! version that fixes them".

use super::catalog::{
    CATALOG, Software, device_software, exposure, machine_ref, machines_with, software_item,
    vulnerability_items,
};
use crate::collection::set::Get;
use crate::defender::data::{TenantData, read};
use crate::defender::query::{EntitySet, Field, Kind, MAX_TOP};
use crate::request::call::Call;
use crate::request::error::MdeError;
use crate::request::mde::{ApiResult, Mde};
use axum::extract::Path;
use serde_json::{Value, json};
use std::borrow::Cow;

/// Roles that read recommendations.
pub const READ: &[&str] = &["SecurityRecommendation.Read.All"];

const fn str_field(key: &'static str) -> Field {
    Field {
        key,
        kind: Kind::Str,
    }
}

/// The recommendation entity set: `$filter` on the fields `get-all-recommendations.md`
/// lists.
pub static RECOMMENDATIONS: EntitySet = EntitySet {
    name: "Recommendation",
    filterable: &[
        str_field("id"),
        str_field("productName"),
        str_field("vendor"),
        str_field("recommendedVersion"),
        str_field("recommendationCategory"),
        str_field("subCategory"),
        Field {
            key: "severityScore",
            kind: Kind::Num,
        },
        str_field("remediationType"),
        str_field("recommendedProgram"),
        str_field("recommendedVendor"),
        str_field("status"),
    ],
    properties: &[
        "id",
        "productName",
        "recommendationName",
        "weaknesses",
        "vendor",
        "recommendedVersion",
        "recommendationCategory",
        "subCategory",
        "severityScore",
        "publicExploit",
        "activeAlert",
        "associatedThreats",
        "remediationType",
        "status",
        "configScoreImpact",
        "exposureImpact",
        "totalMachineCount",
        "exposedMachinesCount",
        "nonProductivityImpactedAssets",
        "relatedComponent",
    ],
    expands_evidence: false,
    max_top: MAX_TOP,
};

/// `.net_framework` → `.net Framework`: the product as the portal names it.
pub(super) fn component(s: &Software) -> String {
    s.name
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The recommendation for `s`, on `n` of the tenant's `total` devices.
fn item(s: &Software, n: usize, total: usize) -> Value {
    let severity = s.cves.iter().map(|c| c.2).fold(0.0, f64::max);
    json!({
        "id": s.recommendation_id(),
        "productName": s.name,
        "recommendationName": format!("Update {}", component(s)),
        "weaknesses": s.cves.len(),
        "vendor": s.vendor,
        "recommendedVersion": s.fixed,
        "recommendationCategory": "Application",
        "subCategory": "",
        "severityScore": severity,
        "publicExploit": s.cves.iter().any(|c| c.3),
        "activeAlert": false,
        "associatedThreats": [],
        "remediationType": "Update",
        "status": "Active",
        "configScoreImpact": 0,
        "exposureImpact": severity * n as f64 / total.max(1) as f64,
        "totalMachineCount": n,
        "exposedMachinesCount": n,
        "nonProductivityImpactedAssets": 0,
        "relatedComponent": component(s),
    })
}

/// Whether catalog entry `k`, on `n` devices, has a recommendation.
fn recommended(k: usize, n: usize) -> bool {
    n > 0 && !CATALOG[k].cves.is_empty()
}

/// The tenant's recommendations, with their catalog index.
fn all(d: &TenantData) -> Vec<(usize, Value)> {
    let counts = exposure(d);
    counts
        .iter()
        .enumerate()
        .filter(|(k, n)| recommended(*k, **n))
        .map(|(k, n)| (k, item(&CATALOG[k], *n, d.machines.len())))
        .collect()
}

crate::entity_set! {
/// `GET /api/recommendations` and `GET /api/recommendations/{id}` (`va-_-vendor-_-product`).
Recommendations: Mde = &RECOMMENDATIONS, "Recommendations", "Recommendation", READ;
fn items(_, d) {
    all(d).into_iter().map(|(_, v)| Cow::Owned(v)).collect()
}
}

impl Get for Recommendations {
    fn find(_: &Call<Mde>, d: &TenantData, id: &str) -> Option<Value> {
        all(d)
            .into_iter()
            .find(|(_, v)| v["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id)))
            .map(|(_, v)| v)
    }
}

/// The catalog index of recommendation `id` of the tenant, and its device count, or
/// MDE's 404.
fn find(d: &TenantData, id: &str) -> Result<(usize, usize), MdeError> {
    let counts = exposure(d);
    CATALOG
        .iter()
        .position(|s| s.recommendation_id().eq_ignore_ascii_case(id))
        .filter(|k| recommended(*k, counts[*k]))
        .map(|k| (k, counts[k]))
        .ok_or_else(|| MdeError::not_found("Recommendation", id))
}

/// `GET /api/recommendations/{id}/software`: the product it updates.
pub async fn software(call: Call<Mde>, Path(id): Path<String>) -> ApiResult {
    call.require(READ)?;
    let data = call.data()?;
    let d = read(&data);
    let (k, n) = find(&d, &id)?;
    Ok(call.all("Software", vec![software_item(&CATALOG[k], n)]))
}

/// `GET /api/recommendations/{id}/machineReferences`: the devices it applies to.
pub async fn machine_references(call: Call<Mde>, Path(id): Path<String>) -> ApiResult {
    call.require(READ)?;
    let data = call.data()?;
    let d = read(&data);
    let (k, _) = find(&d, &id)?;
    let items = machines_with(&d, k).map(machine_ref).collect();
    Ok(call.all("MachineReferences", items))
}

/// `GET /api/recommendations/{id}/vulnerabilities`: the CVEs the update fixes.
pub async fn vulnerabilities(call: Call<Mde>, Path(id): Path<String>) -> ApiResult {
    call.require(READ)?;
    let data = call.data()?;
    let d = read(&data);
    let (k, n) = find(&d, &id)?;
    Ok(call.all("Vulnerabilities", vulnerability_items(&CATALOG[k], n)))
}

/// `GET /api/machines/{id}/recommendations`: the recommendations for the device's
/// products (their counts are the tenant's, as in MDE).
pub async fn of_machine(call: Call<Mde>, Path(id): Path<String>) -> ApiResult {
    call.require(READ)?;
    let data = call.data()?;
    let d = read(&data);
    let (_, mine) = device_software(&d, &id)?;
    let items = all(&d)
        .into_iter()
        .filter(|(k, _)| mine.contains(k))
        .map(|(_, v)| v)
        .collect();
    Ok(call.all("Recommendations", items))
}

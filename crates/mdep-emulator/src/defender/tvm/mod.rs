//! Vulnerability management (`mde-api.md` §4.4, §4.8): the software inventory, its
//! vulnerabilities, security recommendations, missing KBs, the assessment exports and
//! remediation tasks, all derived from [`catalog`] so they agree with each other and with
//! the tenant's devices.
//!
//! - [`catalog`]: the products, their versions, KBs and CVEs, and who has them;
//! - [`export`]: the assessment exports, by page and as signed file links;
//! - [`recommendations`]: `/api/recommendations…`, `/api/machines/{id}/recommendations`;
//! - [`remediation`]: the remediation tasks, `/api/remediationTasks…`;
//! - [`software`]: `/api/Software/{id}…`, missing KBs;
//! - [`vulnerabilities`]: `/api/vulnerabilities/{cveId}…`, `machinesVulnerabilities`.

pub mod catalog;
pub mod export;
pub mod recommendations;
pub mod remediation;
pub mod software;
pub mod vulnerabilities;

use super::data::read;
use super::query::{EntitySet, Field, Kind};
use crate::request::call::Call;
use crate::request::mde::{ApiResult, Mde};
use axum::extract::Path;
use catalog::{CATALOG, device_software, exposure, software_item, vulnerability_items};
use std::borrow::Cow;

/// The software entity set (`get-software.md`).
pub static SOFTWARE: EntitySet = EntitySet {
    name: "Software",
    filterable: &[
        Field {
            key: "id",
            kind: Kind::Str,
        },
        Field {
            key: "name",
            kind: Kind::Str,
        },
        Field {
            key: "vendor",
            kind: Kind::Str,
        },
    ],
    properties: &[
        "id",
        "name",
        "vendor",
        "weaknesses",
        "publicExploit",
        "activeAlert",
        "exposedMachines",
        "impactScore",
    ],
    expands_evidence: false,
    max_top: 10_000,
};

crate::entity_set! {
/// `GET /api/Software`: the products some device of the tenant has.
SoftwareList: Mde = &SOFTWARE, "Software", "Software", &["Software.Read.All"];
fn items(_, d) {
    CATALOG
        .iter()
        .zip(exposure(d))
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| Cow::Owned(software_item(s, n)))
        .collect()
}
}

/// `GET /api/machines/{id}/software`.
pub async fn machine_software(call: Call<Mde>, Path(id): Path<String>) -> ApiResult {
    call.require(&["Software.Read.All"])?;
    let data = call.data()?;
    let d = read(&data);
    let (_, mine) = device_software(&d, &id)?;
    let counts = exposure(&d);
    let items = mine
        .into_iter()
        .map(|k| software_item(&CATALOG[k], counts[k]))
        .collect();
    Ok(call.all("Software", items))
}

/// `GET /api/machines/{id}/vulnerabilities` (its own quota: 50/min, 1,500/hour).
pub async fn machine_vulnerabilities(call: Call<Mde>, Path(id): Path<String>) -> ApiResult {
    call.require(&["Vulnerability.Read.All"])?;
    call.admit_method("machines/{id}/vulnerabilities", 50, 1500)?;
    let data = call.data()?;
    let d = read(&data);
    let (_, mine) = device_software(&d, &id)?;
    let counts = exposure(&d);
    let items = mine
        .into_iter()
        .flat_map(|k| vulnerability_items(&CATALOG[k], counts[k]))
        .collect();
    Ok(call.all("Vulnerabilities", items))
}

/// The vulnerability entity set (`get-all-vulnerabilities.md`; `$top` at most 8,000).
pub static VULNERABILITIES: EntitySet = EntitySet {
    name: "Vulnerability",
    filterable: &[
        Field {
            key: "id",
            kind: Kind::Str,
        },
        Field {
            key: "name",
            kind: Kind::Str,
        },
        Field {
            key: "description",
            kind: Kind::Str,
        },
        Field {
            key: "cvssV3",
            kind: Kind::Num,
        },
        Field {
            key: "publishedOn",
            kind: Kind::Time,
        },
        Field {
            key: "severity",
            kind: Kind::Enum(&["Low", "Medium", "High", "Critical"]),
        },
        Field {
            key: "updatedOn",
            kind: Kind::Time,
        },
    ],
    properties: &[
        "id",
        "name",
        "description",
        "severity",
        "cvssV3",
        "cvssVector",
        "exposedMachines",
        "publishedOn",
        "updatedOn",
        "publicExploit",
        "exploitVerified",
        "exploitInKit",
        "exploitTypes",
        "exploitUris",
        "CveSupportability",
    ],
    expands_evidence: false,
    max_top: 8_000,
};

crate::entity_set! {
/// `GET /api/vulnerabilities`: every CVE of the catalog, with the tenant's exposure.
Vulnerabilities: Mde = &VULNERABILITIES, "Vulnerabilities", "Vulnerability",
    &["Vulnerability.Read.All"];
fn items(_, d) {
    CATALOG
        .iter()
        .zip(exposure(d))
        .flat_map(|(s, n)| vulnerability_items(s, n))
        .map(Cow::Owned)
        .collect()
}
}

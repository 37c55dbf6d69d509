//! The rows of the software assessments, from the tenant's devices and [`CATALOG`]:
//! vulnerabilities by device (`machines_softwarevulnerabilitiesbymachine_page.json`), their
//! changes (`machines_softwarevulnerabilitychangesbymachine_page.json`), the software
//! inventory with a CPE (`machines_softwareinventorybymachine_page.json`) and without one
//! (`machines_softwareinventorynoproductcodebymachine_page.json`).

use super::fields::{device_rng, export_time, millis};
use crate::defender::data::TenantData;
use crate::defender::tvm::catalog::{CATALOG, Software, installed, seed};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

/// A CVE of the catalog: id, severity, CVSS v3, public exploit.
type Cve = (&'static str, &'static str, f64, bool);

/// One row of the vulnerability assessment: device `m`, product `s`, CVE `c` (none for
/// a product without CVEs).
fn vulnerability(m: &Value, s: &Software, c: Option<&Cve>) -> Value {
    let mid = m["id"].as_str().unwrap_or_default();
    let kb = c.and(s.kb);
    json!({
        "id": format!("{mid}_{}_{}_{}_{}", s.name, s.version, c.map_or("", |c| c.0), kb.map_or("", |k| k.0)),
        "deviceId": mid,
        "rbacGroupName": m["rbacGroupName"],
        "deviceName": m["computerDnsName"],
        "osPlatform": m["osPlatform"],
        "osVersion": m["osVersion"],
        "osArchitecture": m["osArchitecture"],
        "softwareVendor": s.vendor,
        "softwareName": s.name,
        "softwareVersion": s.version,
        "cveId": c.map(|c| c.0),
        "vulnerabilitySeverityLevel": c.map(|c| c.1),
        "recommendedSecurityUpdate": kb.map(|k| k.1),
        "recommendedSecurityUpdateId": kb.map(|k| k.0),
        "recommendedSecurityUpdateUrl": kb.map(|k| format!("https://catalog.update.microsoft.com/v7/site/Search.aspx?q=KB{}", k.0)),
        "diskPaths": [],
        "registryPaths": [],
        "lastSeenTimestamp": export_time(&m["lastSeen"]),
        "firstSeenTimestamp": export_time(&m["firstSeen"]),
        "exploitabilityLevel": match c {
            Some(c) if c.3 => "ExploitIsPublic",
            _ => "NoExploit",
        },
        "recommendationReference": s.recommendation_id(),
        "securityUpdateAvailable": c.is_some(),
    })
}

/// The CVEs of `s` as rows: each CVE, or one `None` for a product without any.
fn cves(s: &Software) -> Vec<Option<&Cve>> {
    if s.cves.is_empty() {
        vec![None]
    } else {
        s.cves.iter().map(Some).collect()
    }
}

/// Every row of the software vulnerability assessment, in device order: one per device,
/// product and CVE.
pub fn vulnerabilities(d: &TenantData, _now: OffsetDateTime) -> Vec<Value> {
    let seed = seed(d);
    let mut out = Vec::new();
    for m in &d.machines {
        for k in installed(m["id"].as_str().unwrap_or_default(), seed) {
            let s = &CATALOG[k];
            out.extend(cves(s).into_iter().map(|c| vulnerability(m, s, c)));
        }
    }
    out
}

/// Six hours: how often MDE regenerates the delta export (`get-assessment-software-
/// vulnerabilities.md` §3.4).
pub const PERIOD: i64 = 6 * 3600;
/// The delta export reaches back 14 days: 56 periods.
const PERIODS: u64 = 14 * 4;

/// The start of the six-hour period `t` falls into.
pub fn period_start(t: OffsetDateTime) -> OffsetDateTime {
    let s = t.unix_timestamp();
    OffsetDateTime::from_unix_timestamp(s - s.rem_euclid(PERIOD)).unwrap_or(t)
}

/// `2020-11-03 10:13:34.8476880`, as the delta export writes `eventTimestamp`.
pub fn event_time(t: OffsetDateTime) -> String {
    t.format(time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:7]"
    ))
    .unwrap_or_default()
}

/// The changes of the last 14 days, in device order: for the products a device has,
/// some of its rows were found (`New`) or changed (`Updated`) in one of the six-hour
/// periods; for a vulnerable product it no longer has, some of its CVEs were remediated
/// (`Fixed`). A change row is the full row without `securityUpdateAvailable`, plus
/// `status` and `eventTimestamp` (§3.6.2).
pub fn changes(d: &TenantData, now: OffsetDateTime) -> Vec<Value> {
    let seed = seed(d);
    let latest = period_start(now);
    let mut out = Vec::new();
    for m in &d.machines {
        let mid = m["id"].as_str().unwrap_or_default();
        let have = installed(mid, seed);
        for (k, s) in CATALOG.iter().enumerate() {
            let mut rng = device_rng(seed, mid, &format!("va-delta-{k}"));
            let status = if have.contains(&k) {
                if !rng.chance(50) {
                    continue;
                }
                if rng.chance(30) { "Updated" } else { "New" }
            } else if !s.cves.is_empty() && rng.chance(15) {
                "Fixed"
            } else {
                continue;
            };
            let at = latest - Duration::seconds(PERIOD * rng.below(PERIODS) as i64);
            for c in cves(s) {
                let mut row = vulnerability(m, s, c);
                if let Some(o) = row.as_object_mut() {
                    o.remove("securityUpdateAvailable");
                    o.insert("status".into(), json!(status));
                    o.insert("eventTimestamp".into(), json!(event_time(at)));
                }
                out.push(row);
            }
        }
    }
    out
}

/// End of support: Office 2016/2019 (16.0 perpetual) ended on 14 October 2025; the
/// other products of the catalog are supported.
fn end_of_support(s: &Software) -> (&'static str, Value) {
    if s.name == "office" {
        ("EOS Version", json!("2025-10-14T00:00:00+00:00"))
    } else {
        ("None", Value::Null)
    }
}

/// Every row of the software inventory (products with a CPE): one per device and
/// product, `numberOfWeaknesses` the product's CVEs.
pub fn inventory(d: &TenantData, _now: OffsetDateTime) -> Vec<Value> {
    let seed = seed(d);
    let mut out = Vec::new();
    for m in &d.machines {
        for k in installed(m["id"].as_str().unwrap_or_default(), seed) {
            let s = &CATALOG[k];
            let (eos, eos_date) = end_of_support(s);
            out.push(json!({
                "deviceId": m["id"],
                "rbacGroupName": m["rbacGroupName"],
                "deviceName": m["computerDnsName"],
                "osPlatform": m["osPlatform"],
                "softwareVendor": s.vendor,
                "softwareName": s.name,
                "softwareVersion": s.version,
                "numberOfWeaknesses": s.cves.len(),
                "diskPaths": [],
                "registryPaths": [],
                "softwareFirstSeenTimestamp": export_time(&m["firstSeen"]),
                "endOfSupportStatus": eos,
                "endOfSupportDate": eos_date,
            }));
        }
    }
    out
}

/// Software without a CPE (line-of-business and installer packages): vendor, name,
/// version. Vulnerability management knows nothing more about them.
const NO_CPE: &[(&str, &str, &str)] = &[
    ("microsoft", "vs_communitymsi", "17.8.34330.188"),
    ("intel", "intel®_software_installer", "22.20.2.2"),
    ("lob apps", "headtrax", "60.273.3"),
];

/// Every row of the inventory of software without a CPE: one per device and product.
pub fn no_product_code(d: &TenantData, _now: OffsetDateTime) -> Vec<Value> {
    let seed = seed(d);
    let mut out = Vec::new();
    for m in &d.machines {
        let mid = m["id"].as_str().unwrap_or_default();
        let mut rng = device_rng(seed, mid, "noncpe");
        for (vendor, name, version) in NO_CPE {
            if rng.chance(50) {
                out.push(json!({
                    "deviceId": mid,
                    "rbacGroupId": m["rbacGroupId"],
                    "rbacGroupName": m["rbacGroupName"],
                    "deviceName": m["computerDnsName"],
                    "osPlatform": m["osPlatform"],
                    "softwareVendor": vendor,
                    "softwareName": name,
                    "softwareVersion": version,
                    "softwareLastSeenTimestamp": millis(&m["lastSeen"]),
                }));
            }
        }
    }
    out
}

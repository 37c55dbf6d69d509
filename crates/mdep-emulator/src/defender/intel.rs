//! File, IP and domain profiles and statistics, the exposure score, and the TVM
//! vulnerability and software lists (`mde-api.md` §4.8, §4.10), all derived from the
//! tenant's generated data so they agree with its alerts and devices.

use super::data::TenantData;
use super::data::read;
use super::generate::{self, Rng, ts0, ts7};
use super::query::{EntitySet, Field, Kind, Query};
use crate::request::call::Call;
use crate::request::envelope::{Req, entity};
use crate::request::error::{MdeError, truncate};
use crate::request::mde::Mde;
use crate::request::mde::{ApiResult, json};
use axum::extract::Path;
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::borrow::Cow;
use time::OffsetDateTime;

/// Every piece of evidence of the tenant, with its alert's index.
fn evidence(d: &TenantData) -> impl Iterator<Item = (usize, &Value)> {
    d.evidence.iter().enumerate().flat_map(|(i, ev)| {
        ev.as_array()
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .map(move |e| (i, e))
    })
}

/// `GET /api/files/{id}`: `id` is a SHA-1 or SHA-256 seen in the tenant's evidence.
pub async fn file(call: Call<Mde>, Path(id): Path<String>) -> ApiResult {
    call.require(&["File.Read.All"])?;
    super::params::hash(&id, &[40, 64], "give a SHA-1 or SHA-256.")?;
    let data = call.data()?;
    let d = read(&data);
    let key = if id.len() == 40 { "sha1" } else { "sha256" };
    let e = evidence(&d)
        .map(|(_, e)| e)
        .find(|e| e[key].as_str().is_some_and(|h| h.eq_ignore_ascii_case(&id)))
        .ok_or_else(|| MdeError::not_found("File", &id))?;
    let profile = generate::file_profile(e);
    Ok(call.ok("Files/$entity", profile))
}

fn look_back(req: &Req) -> Result<u32, MdeError> {
    let mut hours = 720;
    for (k, v) in form_urlencoded::parse(req.query.as_deref().unwrap_or("").as_bytes()) {
        if k.eq_ignore_ascii_case("lookBackHours") {
            hours = v
                .parse::<u32>()
                .ok()
                .filter(|h| (1..=720).contains(h))
                .ok_or_else(|| {
                    MdeError::bad(
                        "InvalidInput",
                        format!("Invalid input lookBackHours '{}': 1 to 720.", truncate(&v)),
                    )
                })?;
        }
    }
    Ok(hours)
}

/// First and last time among `times` (evidence creation times), as MDE's org stats show
/// them (whole seconds).
fn span_of<'a>(times: impl Iterator<Item = &'a str>) -> (Value, Value) {
    let mut all: Vec<&str> = times.collect();
    all.sort_unstable();
    let fmt = |s: Option<&&str>| {
        s.and_then(|s| {
            OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
        })
        .map_or(Value::Null, |t| json!(ts0(t)))
    };
    (fmt(all.first()), fmt(all.last()))
}

/// `GET /api/files/{sha1}/stats`.
pub async fn file_stats(call: Call<Mde>, Path(id): Path<String>) -> ApiResult {
    call.require(&["File.Read.All"])?;
    look_back(&call.req)?;
    super::params::hash(&id, &[40, 64], "give a SHA-1 or SHA-256.")?;
    let data = call.data()?;
    let d = read(&data);
    let key = if id.len() == 40 { "sha1" } else { "sha256" };
    let hits: Vec<(usize, &Value)> = evidence(&d)
        .filter(|(_, e)| e[key].as_str().is_some_and(|h| h.eq_ignore_ascii_case(&id)))
        .collect();
    let mut machines: Vec<&Value> = hits
        .iter()
        .map(|(i, _)| &d.alerts[*i]["machineId"])
        .collect();
    machines.dedup();
    let (first, last) = span_of(
        hits.iter()
            .filter_map(|(_, e)| e["evidenceCreationTime"].as_str()),
    );
    let mut names: Vec<&str> = hits
        .iter()
        .filter_map(|(_, e)| e["fileName"].as_str())
        .collect();
    names.dedup();
    let sha1 = hits
        .first()
        .and_then(|(_, e)| e["sha1"].as_str())
        .unwrap_or(&id)
        .to_ascii_lowercase();
    let global = hits.first().map(|(_, e)| generate::file_profile(e));
    let g = |k: &str| global.as_ref().map_or(Value::Null, |p| p[k].clone());
    Ok(json(
        StatusCode::OK,
        &entity(
            &call.req,
            "microsoft.windowsDefenderATP.api.InOrgFileStats",
            json!({
                "sha1": sha1,
                "organizationPrevalence": machines.len(),
                "orgFirstSeen": first,
                "orgLastSeen": last,
                "globallyPrevalence": g("globalPrevalence"),
                "globalFirstObserved": g("globalFirstObserved"),
                "globalLastObserved": g("globalLastObserved"),
                "topFileNames": names,
            }),
        ),
    ))
}

/// `GET /api/ips/{ip}/stats`: unknown but valid addresses have prevalence 0.
pub async fn ip_stats(call: Call<Mde>, Path(ip): Path<String>) -> ApiResult {
    call.require(&["Ip.Read.All"])?;
    look_back(&call.req)?;
    super::params::ip(&ip)?;
    let data = call.data()?;
    let d = read(&data);
    let hits: Vec<(usize, &Value)> = evidence(&d)
        .filter(|(_, e)| e["ipAddress"].as_str() == Some(ip.as_str()))
        .collect();
    let mut machines: Vec<&Value> = hits
        .iter()
        .map(|(i, _)| &d.alerts[*i]["machineId"])
        .collect();
    machines.extend(
        d.machines
            .iter()
            .filter(|m| m["lastIpAddress"] == ip.as_str())
            .map(|m| &m["id"]),
    );
    machines.sort_by_key(|v| v.as_str());
    machines.dedup();
    let (first, last) = span_of(
        hits.iter()
            .filter_map(|(_, e)| e["evidenceCreationTime"].as_str()),
    );
    Ok(json(
        StatusCode::OK,
        &entity(
            &call.req,
            "microsoft.windowsDefenderATP.api.InOrgIPStats",
            json!({
                "ipAddress": ip,
                "organizationPrevalence": machines.len(),
                "orgFirstSeen": first,
                "orgLastSeen": last,
            }),
        ),
    ))
}

/// `GET /api/domains/{domain}/stats`: unknown domains have prevalence 0.
pub async fn domain_stats(call: Call<Mde>, Path(host): Path<String>) -> ApiResult {
    call.require(&["Url.Read.All"])?;
    look_back(&call.req)?;
    let lower = super::params::domain(&host)?;
    let data = call.data()?;
    let d = read(&data);
    let hits: Vec<(usize, &Value)> = evidence(&d)
        .filter(|(_, e)| {
            e["url"]
                .as_str()
                .is_some_and(|u| super::params::on_domain(u, &lower))
        })
        .collect();
    let mut machines: Vec<&Value> = hits
        .iter()
        .map(|(i, _)| &d.alerts[*i]["machineId"])
        .collect();
    machines.sort_by_key(|v| v.as_str());
    machines.dedup();
    let (first, last) = span_of(
        hits.iter()
            .filter_map(|(_, e)| e["evidenceCreationTime"].as_str()),
    );
    Ok(json(
        StatusCode::OK,
        &entity(
            &call.req,
            "microsoft.windowsDefenderATP.api.InOrgDomainStats",
            json!({
                "host": lower,
                "organizationPrevalence": machines.len(),
                "orgFirstSeen": first,
                "orgLastSeen": last,
            }),
        ),
    ))
}

fn exposure_points(level: &str) -> f64 {
    match level {
        "Low" => 20.0,
        "Medium" => 50.0,
        "High" => 85.0,
        _ => 5.0,
    }
}

/// `GET /api/exposureScore`: the mean of the devices' exposure levels (0–100).
pub async fn exposure_score(call: Call<Mde>) -> ApiResult {
    call.require(&["Score.Read.All"])?;
    let data = call.data()?;
    let d = read(&data);
    let n = d.machines.len().max(1) as f64;
    let score: f64 = d
        .machines
        .iter()
        .map(|m| exposure_points(m["exposureLevel"].as_str().unwrap_or_default()))
        .sum::<f64>()
        / n;
    Ok(json(
        StatusCode::OK,
        &entity(
            &call.req,
            "ExposureScore/$entity",
            json!({"time": ts7(OffsetDateTime::now_utc()), "score": score}),
        ),
    ))
}

struct Software {
    vendor: &'static str,
    name: &'static str,
    cves: &'static [(&'static str, &'static str, f64, bool)],
}

/// The software catalog devices draw from, with known CVEs (id, severity, CVSS, public exploit).
const CATALOG: &[Software] = &[
    Software {
        vendor: "microsoft",
        name: "edge",
        cves: &[
            ("CVE-2024-21388", "High", 8.8, false),
            ("CVE-2023-36562", "Medium", 6.5, false),
        ],
    },
    Software {
        vendor: "microsoft",
        name: ".net_framework",
        cves: &[("CVE-2023-36899", "High", 8.8, false)],
    },
    Software {
        vendor: "google",
        name: "chrome",
        cves: &[
            ("CVE-2024-0519", "High", 8.8, true),
            ("CVE-2023-7024", "High", 8.8, true),
        ],
    },
    Software {
        vendor: "oracle",
        name: "jre",
        cves: &[("CVE-2024-20918", "High", 7.4, false)],
    },
    Software {
        vendor: "7-zip",
        name: "7-zip",
        cves: &[("CVE-2024-11477", "High", 7.8, true)],
    },
    Software {
        vendor: "openssl",
        name: "openssl",
        cves: &[
            ("CVE-2023-0286", "High", 7.4, false),
            ("CVE-2022-3602", "High", 7.5, true),
        ],
    },
    Software {
        vendor: "zoom",
        name: "zoom",
        cves: &[("CVE-2023-39216", "Critical", 9.6, false)],
    },
    Software {
        vendor: "microsoft",
        name: "office",
        cves: &[],
    },
];

/// Which catalog entries a device has: a stable function of its id.
fn installed(machine_id: &str, seed: u64) -> Vec<usize> {
    let mut h = seed;
    for b in machine_id.bytes() {
        h = h.wrapping_mul(0x100_0000_01b3).wrapping_add(u64::from(b));
    }
    let mut rng = Rng::new(h);
    (0..CATALOG.len()).filter(|_| rng.chance(40)).collect()
}

fn exposure(d: &TenantData) -> Vec<usize> {
    let seed = d.tenant.as_u64_pair().0;
    let mut counts = vec![0; CATALOG.len()];
    for m in &d.machines {
        for i in installed(m["id"].as_str().unwrap_or_default(), seed) {
            counts[i] += 1;
        }
    }
    counts
}

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

fn software_item(s: &Software, n: usize) -> Value {
    json!({
        "id": format!("{}-_-{}", s.vendor, s.name),
        "name": s.name,
        "vendor": s.vendor,
        "weaknesses": s.cves.len(),
        "publicExploit": s.cves.iter().any(|c| c.3),
        "activeAlert": false,
        "exposedMachines": n,
        "impactScore": s.cves.iter().map(|c| c.2).sum::<f64>() * n as f64 / 100.0,
    })
}

/// `GET /api/Software`.
pub async fn software(call: Call<Mde>) -> ApiResult {
    call.require(&["Software.Read.All"])?;
    let q = Query::parse(call.req.query.as_deref(), &SOFTWARE)?;
    let data = call.data()?;
    let d = read(&data);
    let counts = exposure(&d);
    let items: Vec<Value> = CATALOG
        .iter()
        .zip(&counts)
        .filter(|(_, n)| **n > 0)
        .map(|(s, n)| software_item(s, *n))
        .collect();
    let page_size = call.state.emu.defender().settings().page_size;
    let mut page = q.run(items.iter().map(Cow::Borrowed), page_size);
    page.items = page.items.drain(..).map(|v| q.project(v)).collect();
    Ok(call.page("Software", page))
}

/// The catalog entries on one device of the tenant, or MDE's 404.
fn device_software(d: &TenantData, id: &str) -> Result<Vec<usize>, MdeError> {
    let i = super::machines::find(d, id)?;
    let mid = d.machines[i]["id"].as_str().unwrap_or_default();
    Ok(installed(mid, d.tenant.as_u64_pair().0))
}

/// `GET /api/machines/{id}/software`.
pub async fn machine_software(call: Call<Mde>, Path(id): Path<String>) -> ApiResult {
    call.require(&["Software.Read.All"])?;
    let data = call.data()?;
    let d = read(&data);
    let mine = device_software(&d, &id)?;
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
    let mine = device_software(&d, &id)?;
    let counts = exposure(&d);
    let items = mine
        .into_iter()
        .flat_map(|k| vulnerability_items(&CATALOG[k], counts[k]))
        .collect();
    Ok(call.all("Vulnerabilities", items))
}

/// `GET /api/configurationScore`: the share of devices in a healthy state, scaled to
/// MDE's 0–1000 (an emulator formula).
pub async fn configuration_score(call: Call<Mde>) -> ApiResult {
    call.require(&["Score.Read.All"])?;
    let data = call.data()?;
    let d = read(&data);
    let n = d.machines.len().max(1) as f64;
    let good = d
        .machines
        .iter()
        .filter(|m| m["healthStatus"] == "Active" && m["defenderAvStatus"] == "Updated")
        .count() as f64;
    let score = (good / n * 1000.0).round() as i64;
    Ok(json(
        StatusCode::OK,
        &entity(
            &call.req,
            "ConfigurationScore/$entity",
            json!({"time": ts7(OffsetDateTime::now_utc()), "score": score}),
        ),
    ))
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

fn vulnerability_items(s: &Software, n: usize) -> Vec<Value> {
    s.cves
        .iter()
        .enumerate()
        .map(|(k, (id, severity, cvss, public))| {
            let year: i32 = id.get(4..8).and_then(|y| y.parse().ok()).unwrap_or(2024);
            let published = format!("{year}-{:02}-{:02}T00:00:00Z", 1 + (k * 5) % 12, 8 + k);
            json!({
                "id": id,
                "name": id,
                "description": format!("A vulnerability in {} {} could allow an attacker to run code or read data on an affected device.", s.vendor, s.name),
                "severity": severity,
                "cvssV3": cvss,
                "cvssVector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H",
                "exposedMachines": n,
                "publishedOn": published,
                "updatedOn": published,
                "publicExploit": public,
                "exploitVerified": public,
                "exploitInKit": false,
                "exploitTypes": if *public { json!(["RemoteCodeExecution"]) } else { json!([]) },
                "exploitUris": [],
                "CveSupportability": "supported",
            })
        })
        .collect()
}

/// `GET /api/vulnerabilities`.
pub async fn vulnerabilities(call: Call<Mde>) -> ApiResult {
    call.require(&["Vulnerability.Read.All"])?;
    let q = Query::parse(call.req.query.as_deref(), &VULNERABILITIES)?;
    let data = call.data()?;
    let d = read(&data);
    let counts = exposure(&d);
    let items: Vec<Value> = CATALOG
        .iter()
        .zip(&counts)
        .flat_map(|(s, n)| vulnerability_items(s, *n))
        .collect();
    let page_size = call.state.emu.defender().settings().page_size;
    let mut page = q.run(items.iter().map(Cow::Borrowed), page_size);
    page.items = page.items.drain(..).map(|v| q.project(v)).collect();
    Ok(call.page("Vulnerabilities", page))
}

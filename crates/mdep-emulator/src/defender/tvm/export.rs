//! The software vulnerability assessment exports (`mde-api.md` §4.8,
//! `get-assessment-software-vulnerabilities.md`): one row per device, product and CVE
//! (a product without CVEs has one row with `cveId` null), shaped as
//! `machines_softwarevulnerabilitiesbymachine_page.json`.
//!
//! - `GET /api/machines/SoftwareVulnerabilitiesByMachine`: pages of `pageSize` rows
//!   (default 50,000, at most 200,000) chained by `@odata.nextLink` with `$skiptoken`;
//!   30 calls a minute, 1,000 an hour.
//! - `GET /api/machines/SoftwareVulnerabilitiesExport?sasValidHours=N` (1–6): links to
//!   gzip'd JSON lines files served by the emulator itself, signed and expiring as live
//!   response result links ([`crate::defender::live::sign`]); 5 calls a minute, 20 an hour.

use super::catalog::{CATALOG, installed, seed};
use crate::AppState;
use crate::defender::data::{TenantData, read};
use crate::defender::generate::ts0;
use crate::defender::live::{check_link, denied, sign};
use crate::defender::query::Page;
use crate::request::call::Call;
use crate::request::error::{MdeError, truncate};
use crate::request::mde::{ApiResult, Mde};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::Write;
use time::OffsetDateTime;
use uuid::Uuid;

/// Roles that read the exports.
pub const READ: &[&str] = &["Vulnerability.Read.All"];

/// Rows per page by default, and at most.
const PAGE_DEFAULT: usize = 50_000;
const PAGE_MAX: usize = 200_000;
/// Rows per export file.
pub const FILE_ROWS: usize = 100_000;

/// `2020-12-30T14:17:26.123Z` as the export writes times: `2020-12-30 14:17:26`.
fn export_time(v: &Value) -> Value {
    v.as_str()
        .and_then(|s| s.get(..19))
        .map_or(Value::Null, |s| json!(s.replace('T', " ")))
}

/// Every row of the tenant's assessment, in device order.
pub fn rows(d: &TenantData) -> Vec<Value> {
    let seed = seed(d);
    let mut out = Vec::new();
    for m in &d.machines {
        let mid = m["id"].as_str().unwrap_or_default();
        for k in installed(mid, seed) {
            let s = &CATALOG[k];
            let cves: Vec<Option<&(&str, &str, f64, bool)>> = if s.cves.is_empty() {
                vec![None]
            } else {
                s.cves.iter().map(Some).collect()
            };
            for c in cves {
                let kb = c.and(s.kb);
                out.push(json!({
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
                }));
            }
        }
    }
    out
}

fn bad(what: &str, value: &str, rule: &str) -> MdeError {
    MdeError::bad(
        "InvalidInput",
        format!("Invalid input {what} '{}': {rule}", truncate(value)),
    )
}

/// `GET /api/machines/SoftwareVulnerabilitiesByMachine?pageSize=N&$skiptoken=…`.
pub async fn by_machine(call: Call<Mde>) -> ApiResult {
    call.require(READ)?;
    call.admit_method("SoftwareVulnerabilitiesByMachine", 30, 1000)?;
    let (mut size, mut start) = (PAGE_DEFAULT, 0);
    for (k, v) in form_urlencoded::parse(call.req.query.as_deref().unwrap_or("").as_bytes()) {
        if k.eq_ignore_ascii_case("pageSize") {
            size = v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=PAGE_MAX).contains(n))
                .ok_or_else(|| bad("pageSize", &v, "1 to 200000."))?;
        } else if k.eq_ignore_ascii_case("$skiptoken") {
            start = URL_SAFE_NO_PAD
                .decode(v.as_bytes())
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .and_then(|t| t["LineStoppedAt"].as_u64())
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| bad("$skiptoken", &v, "use the @odata.nextLink as given."))?;
        }
    }
    let data = call.data()?;
    let all = rows(&read(&data));
    let end = all.len().min(start.saturating_add(size));
    let items = all.get(start..end).unwrap_or_default().to_vec();
    let next = (end < all.len()).then(|| {
        let token = URL_SAFE_NO_PAD.encode(json!({"LineStoppedAt": end}).to_string());
        format!("pageSize={size}&$skiptoken={token}")
    });
    Ok(call.page(
        "Collection(microsoft.windowsDefenderATP.api.AssetVulnerability)",
        Page {
            items,
            count: None,
            next,
        },
    ))
}

/// The path of export file `index` of the export of `tenant` generated at `at`.
fn file_path(tenant: Uuid, at: i64, index: usize) -> String {
    format!("tvm-export/{tenant}/{at}/part-{index:05}.json.gz")
}

/// `GET /api/machines/SoftwareVulnerabilitiesExport?sasValidHours=N`.
pub async fn export(call: Call<Mde>) -> ApiResult {
    call.require(READ)?;
    call.admit_method("SoftwareVulnerabilitiesExport", 5, 20)?;
    let mut hours = 6;
    for (k, v) in form_urlencoded::parse(call.req.query.as_deref().unwrap_or("").as_bytes()) {
        if k.eq_ignore_ascii_case("sasValidHours") {
            hours = v
                .parse::<i64>()
                .ok()
                .filter(|h| (1..=6).contains(h))
                .ok_or_else(|| bad("sasValidHours", &v, "1 to 6."))?;
        }
    }
    let data = call.data()?;
    let n = rows(&read(&data)).len();
    let now = OffsetDateTime::now_utc();
    let at = now.unix_timestamp();
    let expiry = at + hours * 3600;
    let files: Vec<String> = (0..n.div_ceil(FILE_ROWS).max(1))
        .map(|i| {
            let path = file_path(call.caller.tenant, at, i);
            let sig = sign(&call.state, &path, expiry);
            format!("{}/{path}?se={expiry}&sig={sig}", call.req.origin)
        })
        .collect();
    Ok(call.ok(
        "microsoft.windowsDefenderATP.api.ExportFilesResponse",
        json!({"exportFiles": files, "generatedTime": ts0(now)}),
    ))
}

/// `GET /tvm-export/{tenant}/{at}/{file}?se=…&sig=…`: one export file, gzip'd JSON lines,
/// for whoever holds a valid link (no bearer token, as with a storage SAS link).
pub async fn download(
    State(state): State<AppState>,
    Path((tenant, at, file)): Path<(String, i64, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let index = file
        .strip_prefix("part-")
        .and_then(|f| f.strip_suffix(".json.gz"))
        .and_then(|i| i.parse::<usize>().ok());
    let (Ok(tenant), Some(index)) = (Uuid::try_parse(&tenant), index) else {
        return denied("the link is not valid");
    };
    if let Err(why) = check_link(&state, &file_path(tenant, at, index), &q) {
        return denied(why);
    }
    let Ok(data) = state.emu.defender().data(&state.emu, tenant) else {
        return denied("the link is not valid");
    };
    let all = rows(&read(&data));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    for row in all.iter().skip(index * FILE_ROWS).take(FILE_ROWS) {
        let _ = writeln!(gz, "{row}");
    }
    match gz.finish() {
        Ok(bytes) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/gzip")],
            bytes,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

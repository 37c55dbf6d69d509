//! The assessment exports (`mde-api.md` §4.8, `get-assessment-*.md`,
//! `export-certificate-inventory-assessment.md`), one implementation for all of them;
//! each assessment is a row of [`ASSESSMENTS`]: its two methods, roles, entity type and
//! the function that derives its rows from the tenant's devices ([`software`],
//! [`device`], with the formats of [`fields`]).
//!
//! - `GET /api/machines/{X}ByMachine`: pages of `pageSize` rows (default 50,000, at most
//!   200,000) chained by `@odata.nextLink` with `$skiptoken`; 30 calls a minute, 1,000 an
//!   hour, per method; `$top=N` answers the first N rows without a next link.
//! - `GET /api/machines/{X}Export?sasValidHours=N`: links to gzip'd JSON lines files
//!   served by the emulator itself, signed and expiring as live response result links
//!   ([`crate::defender::live::sign`]); 5 calls a minute, 20 an hour, per method.
//! - `GET /api/machines/SoftwareVulnerabilityChangesByMachine?sinceTime=…` (required, at
//!   most 14 days back): the changes of the six-hour periods from the one `sinceTime`
//!   falls into; JSON only.

pub mod device;
pub mod fields;
pub mod software;

use crate::AppState;
use crate::defender::data::{TenantData, read};
use crate::defender::generate::ts0;
use crate::defender::live::{check_link, denied, sign};
use crate::defender::query::Page;
use crate::request::call::Call;
use crate::request::error::{MdeError, truncate};
use crate::request::mde::{ApiResult, Mde};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::Write;
use time::OffsetDateTime;
use uuid::Uuid;

/// One assessment.
pub struct Assessment {
    /// `SoftwareVulnerabilitiesByMachine`: the JSON method, under `/api/machines/`.
    pub by_machine: &'static str,
    /// `SoftwareVulnerabilitiesExport`: the files method, if there is one.
    pub export: Option<&'static str>,
    /// `VaExport`: the folder of its files.
    pub folder: &'static str,
    /// Other spellings of its methods in Microsoft's pages.
    pub aliases: &'static [&'static str],
    /// The roles that read it.
    pub roles: &'static [&'static str],
    /// The entity type of its rows, in `@odata.context`.
    pub entity: &'static str,
    /// `sasValidHours`: default and maximum.
    pub hours: (i64, i64),
    /// Whether `sinceTime` is required (the delta export).
    pub since: bool,
    /// Its rows, for the tenant's data, at a time.
    pub rows: fn(&TenantData, OffsetDateTime) -> Vec<Value>,
}

/// The assessments, with their documented methods, roles and link lifetimes.
pub static ASSESSMENTS: &[Assessment] = &[
    Assessment {
        by_machine: "SoftwareVulnerabilitiesByMachine",
        export: Some("SoftwareVulnerabilitiesExport"),
        folder: "VaExport",
        aliases: &[],
        roles: &["Vulnerability.Read.All"],
        entity: "AssetVulnerability",
        hours: (1, 6),
        since: false,
        rows: software::vulnerabilities,
    },
    Assessment {
        by_machine: "SoftwareVulnerabilityChangesByMachine",
        export: None,
        folder: "VaDelta",
        aliases: &[],
        roles: &["Vulnerability.Read.All"],
        entity: "DeltaAssetVulnerability",
        hours: (1, 6),
        since: true,
        rows: software::changes,
    },
    Assessment {
        by_machine: "SecureConfigurationsAssessmentByMachine",
        export: Some("SecureConfigurationsAssessmentExport"),
        folder: "ScaExport",
        aliases: &[],
        roles: &["Vulnerability.Read.All"],
        entity: "AssetConfiguration",
        hours: (1, 6),
        since: false,
        rows: device::configurations,
    },
    Assessment {
        by_machine: "SoftwareInventoryByMachine",
        export: Some("SoftwareInventoryExport"),
        folder: "SoftwareInventory",
        aliases: &[],
        roles: &["Software.Read.All"],
        entity: "AssetSoftware",
        hours: (1, 6),
        since: false,
        rows: software::inventory,
    },
    Assessment {
        by_machine: "SoftwareInventoryNoProductCodeByMachine",
        export: Some("SoftwareInventoryNonCpeExport"),
        folder: "NonCpeSoftwareInventory",
        aliases: &[],
        roles: &["Software.Read.All"],
        entity: "AssetNonCpeSoftware",
        hours: (3, 24),
        since: false,
        rows: software::no_product_code,
    },
    Assessment {
        by_machine: "BrowserExtensionsInventoryByMachine",
        export: Some("BrowserExtensionsInventoryExport"),
        folder: "BrowserExtensions",
        aliases: &["browserextensionsinventoryExport"],
        roles: &["Software.Read.All"],
        entity: "AssetSoftware",
        hours: (1, 6),
        since: false,
        rows: device::extensions,
    },
    Assessment {
        by_machine: "CertificateAssessmentByMachine",
        export: Some("CertificateAssessmentExport"),
        folder: "CertificateAssessmentExport",
        aliases: &[
            "certificateAssessmentByMachine",
            "certificateAssessmentExport",
        ],
        roles: &["Vulnerability.Read.All"],
        entity: "AssetCertificateAssessment",
        hours: (3, 24),
        since: false,
        rows: device::certificates,
    },
];

/// Rows per page by default, and at most.
const PAGE_DEFAULT: usize = 50_000;
const PAGE_MAX: usize = 200_000;
/// Rows per export file.
pub const FILE_ROWS: usize = 100_000;
/// How far back `sinceTime` may reach.
const SINCE_DAYS: i64 = 14;

fn bad(what: &str, value: &str, rule: &str) -> MdeError {
    MdeError::bad(
        "InvalidInput",
        format!("Invalid input {what} '{}': {rule}", truncate(value)),
    )
}

/// `2021-05-19T18:35:49.924Z` or `2021-05-19`, as `sinceTime` is written.
fn parse_since(v: &str) -> Option<OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    OffsetDateTime::parse(v, &Rfc3339).ok().or_else(|| {
        time::Date::parse(v, time::macros::format_description!("[year]-[month]-[day]"))
            .ok()
            .map(|d| d.midnight().assume_utc())
    })
}

/// `GET /api/machines/{a.by_machine}?pageSize=N&$skiptoken=…[&sinceTime=…]`.
async fn by_machine(a: &'static Assessment, call: Call<Mde>) -> ApiResult {
    call.require(a.roles)?;
    call.admit_method(a.by_machine, 30, 1000)?;
    let now = OffsetDateTime::now_utc();
    let (mut size, mut start, mut since, mut top) = (PAGE_DEFAULT, 0, None, None);
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
        } else if k.eq_ignore_ascii_case("$top") {
            top = Some(
                v.parse::<usize>()
                    .ok()
                    .filter(|n| (1..=PAGE_MAX).contains(n))
                    .ok_or_else(|| bad("$top", &v, "1 to 200000."))?,
            );
        } else if a.since && k.eq_ignore_ascii_case("sinceTime") {
            let t = parse_since(&v)
                .ok_or_else(|| bad("sinceTime", &v, "a date-time such as 2021-05-19T18:35:49Z."))?;
            if t < software::period_start(now - time::Duration::days(SINCE_DAYS)) {
                return Err(bad("sinceTime", &v, "at most 14 days in the past."));
            }
            since = Some((t, v.into_owned()));
        }
    }
    if a.since && since.is_none() {
        return Err(MdeError::bad(
            "InvalidInput",
            "The sinceTime parameter is required.",
        ));
    }
    let data = call.data()?;
    let mut all = (a.rows)(&read(&data), now);
    if let Some((t, _)) = &since {
        let from = software::event_time(software::period_start(*t));
        all.retain(|r| r["eventTimestamp"].as_str() >= Some(from.as_str()));
    }
    // `$top`: the first rows only, whatever `pageSize`, without a next link (§1.4).
    if let Some(n) = top {
        all.truncate(n);
        (start, size) = (0, n);
    }
    let end = all.len().min(start.saturating_add(size));
    let items = all.get(start..end).unwrap_or_default().to_vec();
    let next = (end < all.len()).then(|| {
        let token = URL_SAFE_NO_PAD.encode(json!({"LineStoppedAt": end}).to_string());
        let since = since.as_ref().map_or(String::new(), |(_, v)| {
            form_urlencoded::Serializer::new(String::new())
                .append_pair("sinceTime", v)
                .finish()
                + "&"
        });
        format!("{since}pageSize={size}&$skiptoken={token}")
    });
    Ok(call.page(
        &format!("Collection(microsoft.windowsDefenderATP.api.{})", a.entity),
        Page {
            items,
            count: None,
            next,
        },
    ))
}

/// The path of export file `index` of assessment `a` of `tenant` generated at `at`.
fn file_path(a: &Assessment, tenant: Uuid, at: i64, index: usize) -> String {
    format!(
        "tvm-export/{tenant}/{}/{at}/part-{index:05}.json.gz",
        a.folder
    )
}

/// `GET /api/machines/{a.export}?sasValidHours=N`.
async fn export(a: &'static Assessment, call: Call<Mde>) -> ApiResult {
    call.require(a.roles)?;
    call.admit_method(a.export.unwrap_or(a.by_machine), 5, 20)?;
    let (mut hours, max) = a.hours;
    for (k, v) in form_urlencoded::parse(call.req.query.as_deref().unwrap_or("").as_bytes()) {
        if k.eq_ignore_ascii_case("sasValidHours") {
            hours = v
                .parse::<i64>()
                .ok()
                .filter(|h| (1..=max).contains(h))
                .ok_or_else(|| bad("sasValidHours", &v, &format!("1 to {max}.")))?;
        }
    }
    let data = call.data()?;
    let now = OffsetDateTime::now_utc();
    let n = (a.rows)(&read(&data), now).len();
    let at = now.unix_timestamp();
    let expiry = at + hours * 3600;
    let files: Vec<String> = (0..n.div_ceil(FILE_ROWS).max(1))
        .map(|i| {
            let path = file_path(a, call.caller.tenant, at, i);
            let sig = sign(&call.state, &path, expiry);
            format!("{}/{path}?se={expiry}&sig={sig}", call.req.origin)
        })
        .collect();
    Ok(call.ok(
        "microsoft.windowsDefenderATP.api.ExportFilesResponse",
        json!({"exportFiles": files, "generatedTime": ts0(now)}),
    ))
}

/// `GET /tvm-export/{tenant}/{folder}/{at}/{file}?se=…&sig=…`: one export file, gzip'd
/// JSON lines, for whoever holds a valid link (no bearer token, as with a storage SAS
/// link). The rows are those of the export's generation time.
pub async fn download(
    State(state): State<AppState>,
    Path((tenant, folder, at, file)): Path<(String, String, i64, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let index = file
        .strip_prefix("part-")
        .and_then(|f| f.strip_suffix(".json.gz"))
        .and_then(|i| i.parse::<usize>().ok());
    let a = ASSESSMENTS
        .iter()
        .find(|a| a.export.is_some() && a.folder == folder);
    let (Ok(tenant), Some(index), Some(a)) = (Uuid::try_parse(&tenant), index, a) else {
        return denied("the link is not valid");
    };
    if let Err(why) = check_link(&state, &file_path(a, tenant, at, index), &q) {
        return denied(why);
    }
    let (Ok(data), Ok(when)) = (
        state.emu.defender().data(&state.emu, tenant),
        OffsetDateTime::from_unix_timestamp(at),
    ) else {
        return denied("the link is not valid");
    };
    let all = (a.rows)(&read(&data), when);
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

/// The routes of every assessment under `/api`: each method as the docs write it (every
/// spelling), in lower case, and under `/Machines` (the browser extensions page's).
pub fn routes() -> Router<AppState> {
    let mut r = Router::new();
    let mut seen = std::collections::HashSet::new();
    for a in ASSESSMENTS {
        let mut add = |name: &'static str, export_call: bool| {
            for prefix in ["/machines", "/Machines"] {
                for n in [name.to_owned(), name.to_ascii_lowercase()] {
                    let path = format!("{prefix}/{n}");
                    if !seen.insert(path.clone()) {
                        continue;
                    }
                    let h = if export_call {
                        get(move |call: Call<Mde>| export(a, call))
                    } else {
                        get(move |call: Call<Mde>| by_machine(a, call))
                    };
                    r = std::mem::take(&mut r).route(&path, h);
                }
            }
        };
        add(a.by_machine, false);
        if let Some(x) = a.export {
            add(x, true);
        }
        for alias in a.aliases {
            add(alias, alias.ends_with("Export"));
        }
    }
    r
}

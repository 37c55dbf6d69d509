//! `mdep tvm export ASSESSMENT`: an assessment export of every chosen tenant
//! (`mde-api.md` §4.8), as rows through the JSON method, or with `--files` as the
//! export's gzip'd files, downloaded to `DIR/<tenant>/<assessment>/part-NNNNN.json.gz`
//! with a row per file.

use crate::context::Output;
use crate::run::fanout::{call, each, fixed};
use crate::run::select::{Api, Targets};
use anyhow::{Result, bail};
use clap::Args;
use mdep_api::ApiError;
use mdep_api::mde::assessment::{Assessment, download_part};
use serde_json::{Value, json};
use std::path::PathBuf;

fn assessment(s: &str) -> Result<Assessment, String> {
    Assessment::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = Assessment::ALL.iter().map(|a| a.name()).collect();
        format!("one of: {}", names.join(", "))
    })
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The assessment: software-vulnerabilities, vulnerability-changes,
    /// secure-configurations, software-inventory, software-inventory-no-cpe,
    /// browser-extensions, certificates.
    #[arg(value_parser = assessment, value_name = "ASSESSMENT")]
    pub assessment: Assessment,
    /// Read the rows through the JSON method, every page (the default).
    #[arg(long, conflicts_with = "files")]
    pub json: bool,
    /// Download the export's files instead (not for vulnerability-changes).
    #[arg(long, requires = "out")]
    pub files: bool,
    /// Where --files writes: DIR/<tenant>/<assessment>/part-NNNNN.json.gz.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// vulnerability-changes: the changes since this time (RFC 3339, at most 14 days
    /// back; MDE answers whole six-hour periods).
    #[arg(long, value_name = "RFC3339")]
    pub since: Option<String>,
    /// Rows per request (MDE: default 50,000, at most 200,000).
    #[arg(long, value_name = "N")]
    pub page_size: Option<u32>,
    /// --files: how long the links stay valid, in hours (MDE's default when absent).
    #[arg(long, value_name = "HOURS")]
    pub sas_valid_hours: Option<u8>,
    #[command(flatten)]
    pub targets: Targets,
}

/// The columns of a table or CSV for each assessment's rows.
fn columns(a: Assessment) -> &'static [(&'static str, &'static str)] {
    match a {
        Assessment::SoftwareVulnerabilities => &[
            ("DEVICE", "deviceName"),
            ("SOFTWARE", "softwareName"),
            ("VERSION", "softwareVersion"),
            ("CVE", "cveId"),
            ("SEVERITY", "vulnerabilitySeverityLevel"),
        ],
        Assessment::SoftwareVulnerabilityChanges => &[
            ("STATUS", "status"),
            ("EVENT", "eventTimestamp"),
            ("DEVICE", "deviceName"),
            ("SOFTWARE", "softwareName"),
            ("CVE", "cveId"),
        ],
        Assessment::SecureConfigurations => &[
            ("DEVICE", "deviceName"),
            ("CONFIGURATION", "configurationId"),
            ("NAME", "configurationName"),
            ("APPLICABLE", "isApplicable"),
            ("COMPLIANT", "isCompliant"),
        ],
        Assessment::SoftwareInventory => &[
            ("DEVICE", "deviceName"),
            ("VENDOR", "softwareVendor"),
            ("SOFTWARE", "softwareName"),
            ("VERSION", "softwareVersion"),
            ("WEAKNESSES", "numberOfWeaknesses"),
        ],
        Assessment::SoftwareInventoryNoProductCode => &[
            ("DEVICE", "deviceName"),
            ("VENDOR", "softwareVendor"),
            ("SOFTWARE", "softwareName"),
            ("VERSION", "softwareVersion"),
            ("LAST SEEN", "softwareLastSeenTimestamp"),
        ],
        Assessment::BrowserExtensions => &[
            ("DEVICE", "DeviceName"),
            ("BROWSER", "BrowserName"),
            ("EXTENSION", "ExtensionName"),
            ("VERSION", "ExtensionVersion"),
            ("RISK", "ExtensionRisk"),
        ],
        Assessment::Certificates => &[
            ("DEVICE", "deviceName"),
            ("TYPE", "subjectType"),
            ("THUMBPRINT", "thumbprint"),
            ("EXPIRES", "notAfter"),
            ("SELF-SIGNED", "isSelfSigned"),
        ],
    }
}

const FILE_COLS: &[(&str, &str)] = &[("FILE", "file"), ("BYTES", "bytes"), ("ROWS", "rows")];

/// A tenant's name as a directory name: letters, digits, `.`, `-` and `_` kept, the rest
/// `_` (no separators, no `..`).
fn dir_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.trim_matches('.').is_empty() {
        "_".to_owned()
    } else {
        s
    }
}

pub async fn run(args: ExportArgs, api: &Api, out: Output) -> Result<()> {
    let a = args.assessment;
    let since = match (&args.since, a.needs_since()) {
        (Some(s), true) => Some(
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                .map_err(|e| {
                    anyhow::anyhow!(
                        "--since {s}: not an RFC 3339 time ({e}); e.g. 2025-01-31T00:00:00Z"
                    )
                })?,
        ),
        (None, true) => bail!(
            "{a} needs --since RFC3339 (at most 14 days back), e.g. --since 2025-01-31T00:00:00Z"
        ),
        (Some(_), false) => bail!("--since is only for vulnerability-changes"),
        (None, false) => None,
    };
    if !args.files {
        if args.out.is_some() || args.sas_valid_hours.is_some() {
            bail!("--out and --sas-valid-hours are for --files");
        }
        let page_size = args.page_size;
        let rows = |t| {
            let c = api.client.clone();
            async move { c.assessment(&t, a, page_size, since).await }
        };
        let what = |v: &Vec<Value>| format!("{} rows", v.len());
        return call(
            api,
            &args.targets,
            rows,
            out,
            fixed(columns(a)),
            |v| each(v),
            what,
        )
        .await;
    }
    if a.export_path().is_none() {
        bail!("{a} has no files export: read it without --files");
    }
    if args.page_size.is_some() {
        bail!("--page-size is for the JSON method, not --files");
    }
    let Some(dir) = args.out.clone() else {
        bail!("--files needs --out DIR");
    };
    let hours = args.sas_valid_hours;
    let files = |t: mdep_api::Tenant| {
        let c = api.client.clone();
        let http = api.partner.http.clone();
        let dir = dir.join(dir_name(&t.name)).join(a.name());
        async move {
            let list = c.assessment_files(&t, a, hours).await?;
            let io = |e: std::io::Error, p: &std::path::Path| {
                ApiError::Invalid(format!("writing {}: {e}", p.display()))
            };
            std::fs::create_dir_all(&dir).map_err(|e| io(e, &dir))?;
            let mut rows = Vec::new();
            for (i, link) in list.export_files.iter().enumerate() {
                let part = download_part(&http, &t, link).await?;
                let path = dir.join(format!("part-{i:05}.json.gz"));
                std::fs::write(&path, &part.bytes).map_err(|e| io(e, &path))?;
                rows.push(json!({
                    "file": path.display().to_string(),
                    "bytes": part.bytes.len(),
                    "rows": part.rows.len(),
                }));
            }
            Ok(rows)
        }
    };
    let what = |v: &Vec<Value>| format!("{} files", v.len());
    call(
        api,
        &args.targets,
        files,
        out,
        fixed(FILE_COLS),
        |v| Ok(v.clone()),
        what,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_names_become_safe_directory_names() {
        assert_eq!(dir_name("Customer 1"), "Customer_1");
        assert_eq!(dir_name("../etc"), ".._etc");
        assert_eq!(dir_name(".."), "_");
        assert_eq!(dir_name("a/b\\c"), "a_b_c");
    }

    #[test]
    fn every_assessment_has_columns_and_a_name() {
        for a in Assessment::ALL {
            assert!(!columns(a).is_empty());
            assert_eq!(assessment(a.name()), Ok(a));
        }
        assert!(assessment("nothing").is_err());
    }
}

//! `mdep tvm` (threat and vulnerability management): security recommendations,
//! software inventory, vulnerabilities, remediation tasks and the tenants' scores, across
//! tenants (`mde-api.md` §4.8); the assessment exports in [`export`].

mod export;

use crate::context::Output;
use crate::run::fanout::{call, each, fixed, list_args};
use crate::run::query::ListArgs;
use crate::run::select::{Api, Targets};
use anyhow::Result;
use clap::Subcommand;
use mdep_api::entity::{Recommendation, Score, Software, Vulnerability};
use serde_json::{Value, json};

#[derive(Debug, Subcommand)]
pub enum TvmCommand {
    /// Security recommendations (`GET /api/recommendations`), across tenants, every page.
    #[command(
        after_help = "Examples:\n  mdep tvm recommendations --all-tenants\n  mdep tvm recommendations --tenant Contoso --filter \"exposedMachinesCount gt 5\" -o csv"
    )]
    Recommendations(ListArgs),
    /// The software inventory (`GET /api/Software`), across tenants, every page.
    #[command(
        after_help = "Examples:\n  mdep tvm software --all-tenants -o csv\n  mdep tvm software --tenant Contoso --filter \"vendor eq 'microsoft'\""
    )]
    Software(ListArgs),
    /// Vulnerabilities (`GET /api/vulnerabilities`), across tenants, every page.
    #[command(
        after_help = "Examples:\n  mdep tvm vulnerabilities --all-tenants --filter \"severity eq 'Critical'\"\n  mdep tvm vulnerabilities --tenant Contoso -o json"
    )]
    Vulnerabilities(ListArgs),
    /// Remediation tasks (`GET /api/remediationTasks`), across tenants, every page.
    #[command(after_help = "Example:\n  mdep tvm remediation --all-tenants -o csv")]
    Remediation(ListArgs),
    /// Each tenant's exposure score and configuration score.
    #[command(after_help = "Example:\n  mdep tvm scores --all-tenants -o csv")]
    Scores(Targets),
    /// The exposure score of each device group (`GET /api/exposureScore/ByMachineGroups`).
    #[command(after_help = "Example:\n  mdep tvm group-scores --all-tenants -o csv")]
    GroupScores(Targets),
    /// An assessment export of every tenant: rows through the JSON method, or with
    /// `--files` the export's gzip'd JSON lines files downloaded to a directory.
    #[command(
        after_help = "Examples:\n  mdep tvm export software-inventory --all-tenants -o csv\n  mdep tvm export secure-configurations --tenant Contoso --json -o jsonl\n  mdep tvm export vulnerability-changes --since 2025-01-31T00:00:00Z --all-tenants\n  mdep tvm export certificates --files --out exports/ --all-tenants\n\nAssessments: software-vulnerabilities, vulnerability-changes (JSON only, needs --since),\nsecure-configurations, software-inventory, software-inventory-no-cpe, browser-extensions,\ncertificates. --files writes DIR/<tenant>/<assessment>/part-NNNNN.json.gz and prints a row\nper file (tenant, file, bytes, rows)."
    )]
    Export(export::ExportArgs),
}

pub async fn run(cmd: TvmCommand, api: &Api, out: Output) -> Result<()> {
    match cmd {
        TvmCommand::Recommendations(l) => {
            list_args::<Recommendation>(api, &l, "/api/recommendations", out, RECOMMENDATION_COLS)
                .await
        }
        TvmCommand::Software(l) => {
            list_args::<Software>(api, &l, "/api/Software", out, SOFTWARE_COLS).await
        }
        TvmCommand::Vulnerabilities(l) => {
            list_args::<Vulnerability>(api, &l, "/api/vulnerabilities", out, VULNERABILITY_COLS)
                .await
        }
        TvmCommand::Remediation(l) => {
            list_args::<Value>(api, &l, "/api/remediationTasks", out, REMEDIATION_COLS).await
        }
        TvmCommand::Scores(targets) => {
            let scores = |t| {
                let c = api.client.clone();
                async move {
                    let (exposure, configuration) =
                        tokio::try_join!(c.exposure_score(&t), c.configuration_score(&t))?;
                    Ok(json!({
                        "exposureScore": exposure.score,
                        "configurationScore": configuration.score,
                        "time": exposure.time,
                    }))
                }
            };
            let what = |_: &Value| "scores".to_owned();
            let row = |v: &Value| Ok(vec![v.clone()]);
            call(api, &targets, scores, out, fixed(SCORE_COLS), row, what).await
        }
        TvmCommand::Export(args) => export::run(args, api, out).await,
        TvmCommand::GroupScores(targets) => {
            let groups = |t| {
                let c = api.client.clone();
                async move { c.exposure_score_by_groups(&t).await }
            };
            let what = |v: &Vec<Score>| format!("{} device groups", v.len());
            let cols = fixed(GROUP_SCORE_COLS);
            call(api, &targets, groups, out, cols, |v| each(v), what).await
        }
    }
}

const RECOMMENDATION_COLS: &[(&str, &str)] = &[
    ("RECOMMENDATION", "id"),
    ("NAME", "recommendationName"),
    ("SEVERITY", "severityScore"),
    ("EXPOSED", "exposedMachinesCount"),
    ("STATUS", "status"),
];

const SOFTWARE_COLS: &[(&str, &str)] = &[
    ("SOFTWARE", "id"),
    ("NAME", "name"),
    ("VENDOR", "vendor"),
    ("WEAKNESSES", "weaknesses"),
    ("EXPOSED", "exposedMachines"),
];

const VULNERABILITY_COLS: &[(&str, &str)] = &[
    ("CVE", "id"),
    ("SEVERITY", "severity"),
    ("CVSS", "cvssV3"),
    ("EXPOSED", "exposedMachines"),
    ("PUBLISHED", "publishedOn"),
];

const REMEDIATION_COLS: &[(&str, &str)] = &[
    ("TASK", "id"),
    ("TITLE", "title"),
    ("STATUS", "status"),
    ("PRIORITY", "priority"),
    ("DUE", "dueOn"),
];

const SCORE_COLS: &[(&str, &str)] = &[
    ("EXPOSURE", "exposureScore"),
    ("CONFIGURATION", "configurationScore"),
    ("TIME", "time"),
];

const GROUP_SCORE_COLS: &[(&str, &str)] = &[
    ("GROUP", "rbacGroupName"),
    ("EXPOSURE", "score"),
    ("TIME", "time"),
];

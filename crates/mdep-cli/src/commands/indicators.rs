//! `mdep indicators`: list, add, delete, import.

use crate::context::Output;
use crate::run::exit::some_failed;
use crate::run::fanout::{call, each, fixed, list_args};
use crate::run::query::ListArgs;
use crate::run::select::{Api, Targets, confirm};
use anyhow::{Context as _, Result, bail};
use clap::Subcommand;
use mdep_api::entity::Indicator;
use serde_json::Value;

#[derive(Debug, Subcommand)]
pub enum IndicatorsCommand {
    /// List custom indicators, across tenants.
    #[command(
        after_help = "Example:\n  mdep indicators list --all-tenants --filter \"indicatorType eq 'IpAddress'\""
    )]
    List(ListArgs),
    /// Submit (or update) an indicator, in every tenant chosen.
    #[command(
        after_help = "Example:\n  mdep indicators add --all-tenants --type IpAddress --value 203.0.113.7 --action Block --title \"C2\" --description \"seen in incident 42\""
    )]
    Add {
        #[command(flatten)]
        targets: Targets,
        /// FileSha1, FileSha256, FileMd5, CertificateThumbprint, IpAddress, DomainName or Url.
        #[arg(long = "type")]
        kind: String,
        /// The hash, IP, domain or URL.
        #[arg(long)]
        value: String,
        /// Allowed, Audit, Warn, Block or BlockAndRemediate.
        #[arg(long)]
        action: String,
        /// Title.
        #[arg(long)]
        title: String,
        /// Description.
        #[arg(long)]
        description: String,
        /// Informational, Low, Medium or High.
        #[arg(long)]
        severity: Option<String>,
        /// Expiry (RFC 3339).
        #[arg(long)]
        expiration: Option<String>,
        /// Raise an alert on a match (required for Audit).
        #[arg(long)]
        generate_alert: bool,
    },
    /// Delete indicators by id.
    #[command(after_help = "Example:\n  mdep indicators delete 995 996 --tenant Contoso --yes")]
    Delete {
        /// Indicator ids.
        #[arg(required = true)]
        ids: Vec<String>,
        /// Tenant name, id or domain.
        #[arg(long)]
        tenant: Option<String>,
        /// Do not ask before deleting more than one.
        #[arg(long)]
        yes: bool,
    },
    /// Import indicators from a JSON file (a list, or `{"Indicators": [...]}`), 500 a call.
    #[command(after_help = "Example:\n  mdep indicators import iocs.json --all-tenants")]
    Import {
        /// The file.
        file: std::path::PathBuf,
        #[command(flatten)]
        targets: Targets,
    },
}

pub async fn run(cmd: IndicatorsCommand, api: &Api, out: Output) -> Result<()> {
    match cmd {
        IndicatorsCommand::List(l) => {
            list_args::<Indicator>(api, &l, "/api/indicators", out, INDICATOR_COLS).await
        }
        IndicatorsCommand::Add {
            targets,
            kind,
            value,
            action,
            title,
            description,
            severity,
            expiration,
            generate_alert,
        } => {
            let mut body = serde_json::json!({
                "indicatorValue": value, "indicatorType": kind, "action": action,
                "title": title, "description": description,
            });
            if let Some(o) = body.as_object_mut() {
                if let Some(s) = severity {
                    o.insert("severity".into(), Value::String(s));
                }
                if let Some(e) = expiration {
                    o.insert("expirationTime".into(), Value::String(e));
                }
                if generate_alert {
                    o.insert("generateAlert".into(), Value::Bool(true));
                }
            }
            let submit = |t| {
                let (c, body) = (api.client.clone(), body.clone());
                async move { c.submit_indicator(&t, &body).await }
            };
            let rows = |i: &Indicator| each(std::slice::from_ref(i));
            let what = |i: &Indicator| format!("indicator {}", i.id.clone().unwrap_or_default());
            call(
                api,
                &targets,
                submit,
                out,
                fixed(INDICATOR_COLS),
                rows,
                what,
            )
            .await
        }
        IndicatorsCommand::Delete { ids, tenant, yes } => {
            let t = api.one(&tenant)?;
            if ids.len() > 1 {
                confirm(
                    &format!("delete {} indicators in {}", ids.len(), t.name),
                    yes,
                )?;
            }
            let mut failed = 0;
            for id in &ids {
                match api.client.delete_indicator(&t, id).await {
                    Ok(()) => eprintln!("{}: deleted indicator {id}", t.name),
                    Err(e) => {
                        failed += 1;
                        eprintln!("{}: indicator {id}: {e}", t.name);
                    }
                }
            }
            some_failed(failed, ids.len(), "indicators were not deleted")
        }
        IndicatorsCommand::Import { file, targets } => {
            let list = std::sync::Arc::new(read_import(&file)?);
            let import = |t| {
                let (c, list) = (api.client.clone(), list.clone());
                async move { c.import_indicators(&t, &list).await }
            };
            let what = |v: &Vec<mdep_api::entity::ImportResult>| {
                let bad = v.iter().filter(|x| x.is_failed).count();
                format!("{} imported, {bad} failed", v.len() - bad)
            };
            call(
                api,
                &targets,
                import,
                out,
                fixed(IMPORT_COLS),
                |v| each(v),
                what,
            )
            .await
        }
    }
}

/// The indicators of an import file: a JSON list, or `{"Indicators": [...]}`.
fn read_import(file: &std::path::Path) -> Result<Vec<Value>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let v: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
    Ok(match v {
        Value::Array(a) => a,
        Value::Object(mut o) => match o.remove("Indicators") {
            Some(Value::Array(a)) => a,
            _ => bail!(
                "{}: expected a list of indicators or {{\"Indicators\": [...]}}",
                file.display()
            ),
        },
        _ => bail!("{}: expected a list of indicators", file.display()),
    })
}

const INDICATOR_COLS: &[(&str, &str)] = &[
    ("ID", "id"),
    ("TYPE", "indicatorType"),
    ("VALUE", "indicatorValue"),
    ("ACTION", "action"),
    ("SEVERITY", "severity"),
    ("TITLE", "title"),
];

const IMPORT_COLS: &[(&str, &str)] = &[
    ("ID", "id"),
    ("INDICATOR", "indicator"),
    ("FAILED", "isFailed"),
    ("REASON", "failureReason"),
];

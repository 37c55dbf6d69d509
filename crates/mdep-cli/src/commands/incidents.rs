//! `mdep incidents` (Microsoft Graph): list, get, update.

use crate::context::Global;
use crate::run::fanout::stream;
use crate::run::output::print_one;
use crate::run::query::{ListArgs, Triage, Vocabulary, graph_enum};
use crate::run::select::Api;
use anyhow::{Result, bail};
use clap::Subcommand;
use serde_json::{Map, Value};

/// How `mdep incidents list` describes its triage filters.
#[derive(Debug, Clone)]
pub struct IncidentWords;

impl Vocabulary for IncidentWords {
    const SINCE: &'static str = "Incidents created within this long (30m, 24h, 7d)";
    const SEVERITY: &'static str = "unknown, informational, low, medium or high";
    const STATUS: &'static str = "active, inProgress, resolved, redirected or awaitingAction";
}

#[derive(Debug, Subcommand)]
pub enum IncidentsCommand {
    /// List incidents (Microsoft Graph), across tenants, every page.
    #[command(
        after_help = "Examples:\n  mdep incidents list --all-tenants --status active --severity high\n  mdep incidents list --tenant Contoso --alerts -o json\n  mdep incidents list --tag eu --since 7d -o csv"
    )]
    List {
        #[command(flatten)]
        list: ListArgs,
        #[command(flatten)]
        triage: Triage<IncidentWords>,
        /// Include each incident's alerts (`$expand=alerts`).
        #[arg(long)]
        alerts: bool,
    },
    /// Show one incident.
    #[command(after_help = "Example:\n  mdep incidents get 29 --tenant Contoso --alerts -o json")]
    Get {
        /// Incident id.
        id: String,
        /// Tenant name, id or domain.
        #[arg(long)]
        tenant: Option<String>,
        /// Include its alerts.
        #[arg(long)]
        alerts: bool,
    },
    /// Update an incident: status, owner, classification, determination, tags.
    #[command(
        after_help = "Example:\n  mdep incidents update 29 --tenant Contoso --status resolved --classification falsePositive --determination notMalicious --resolving-comment \"lab test\""
    )]
    Update {
        /// Incident id.
        id: String,
        /// Tenant name, id or domain.
        #[arg(long)]
        tenant: Option<String>,
        /// active, inProgress, resolved, redirected or awaitingAction.
        #[arg(long)]
        status: Option<String>,
        /// Owner.
        #[arg(long)]
        assigned_to: Option<String>,
        /// unknown, falsePositive, truePositive or informationalExpectedActivity.
        #[arg(long)]
        classification: Option<String>,
        /// Determination (e.g. malware, notMalicious, securityTesting).
        #[arg(long)]
        determination: Option<String>,
        /// A custom tag; repeat for several (replaces the incident's custom tags).
        #[arg(long = "custom-tag")]
        custom_tags: Vec<String>,
        /// Why it was resolved.
        #[arg(long)]
        resolving_comment: Option<String>,
    },
}

const INCIDENT_COLS: &[(&str, &str)] = &[
    ("INCIDENT", "id"),
    ("SEVERITY", "severity"),
    ("STATUS", "status"),
    ("ASSIGNED", "assignedTo"),
    ("CREATED", "createdDateTime"),
    ("NAME", "displayName"),
];

pub async fn run(cmd: IncidentsCommand, g: &Global) -> Result<()> {
    let api = Api::open(g)?;
    match cmd {
        IncidentsCommand::List {
            list: l,
            triage,
            alerts,
        } => {
            let q = triage.graph_query(&l.list)?;
            let graph = api.graph.clone();
            let incidents = move |t: &_| graph.incidents(t, &q, alerts);
            stream(&api, &l.targets, incidents, g.output, INCIDENT_COLS).await
        }
        IncidentsCommand::Get { id, tenant, alerts } => {
            let t = api.one(&tenant)?;
            let i = api.graph.incident(&t, &id, alerts).await?;
            print_one(g.output, &t.name, &i, INCIDENT_COLS)
        }
        IncidentsCommand::Update {
            id,
            tenant,
            status,
            assigned_to,
            classification,
            determination,
            custom_tags,
            resolving_comment,
        } => {
            let t = api.one(&tenant)?;
            let mut body = Map::new();
            // Enums in Graph's spelling; the owner and the comment as given.
            for (k, v, spell) in [
                ("status", status, graph_enum as fn(&str) -> String),
                ("assignedTo", assigned_to, str::to_owned),
                ("classification", classification, graph_enum),
                ("determination", determination, graph_enum),
                ("resolvingComment", resolving_comment, str::to_owned),
            ] {
                if let Some(v) = v {
                    body.insert(k.into(), Value::String(spell(&v)));
                }
            }
            if !custom_tags.is_empty() {
                body.insert("customTags".into(), serde_json::json!(custom_tags));
            }
            if body.is_empty() {
                bail!(
                    "nothing to update: give --status, --assigned-to, --classification, --determination, --custom-tag or --resolving-comment"
                );
            }
            let i = api
                .graph
                .update_incident(&t, &id, &Value::Object(body))
                .await?;
            print_one(g.output, &t.name, &i, INCIDENT_COLS)
        }
    }
}

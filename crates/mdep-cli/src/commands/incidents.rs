//! `mdep incidents` (Microsoft Graph): list, get, update.

use crate::context::Output;
use crate::run::fanout::{show, stream};
use crate::run::output::print_one;
use crate::run::query::{ListArgs, graph_enum};
use crate::run::select::Api;
use crate::run::triage::{INCIDENTS, Triage, Verdict};
use anyhow::Result;
use clap::Subcommand;
use serde_json::{Map, Value};

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
        triage: Triage<INCIDENTS>,
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
        #[command(flatten)]
        verdict: Verdict<INCIDENTS>,
        /// A custom tag; repeat for several (replaces the incident's custom tags).
        #[arg(long = "custom-tag")]
        custom_tags: Vec<String>,
        /// Why it was resolved.
        #[arg(long)]
        resolving_comment: Option<String>,
    },
}

pub async fn run(cmd: IncidentsCommand, api: &Api, out: Output) -> Result<()> {
    match cmd {
        IncidentsCommand::List {
            list: l,
            triage,
            alerts,
        } => {
            let q = triage.graph_query(&l.list)?;
            let graph = api.graph.clone();
            let incidents = move |t: &_| graph.incidents(t, &q, alerts);
            stream(api, &l.targets, incidents, out, INCIDENT_COLS).await
        }
        IncidentsCommand::Get { id, tenant, alerts } => {
            let get = async |t: &_| api.graph.incident(t, &id, alerts).await;
            show(api, &tenant, out, INCIDENT_COLS, get).await
        }
        IncidentsCommand::Update {
            verdict,
            custom_tags,
            resolving_comment,
        } => {
            let (v, t) = (&verdict, api.one(&verdict.tenant)?);
            let mut body = Map::new();
            // Enums in Graph's spelling; the owner and the comment as given.
            for (k, value, spell) in [
                ("status", &v.status, graph_enum as fn(&str) -> String),
                ("assignedTo", &v.assigned_to, str::to_owned),
                ("classification", &v.classification, graph_enum),
                ("determination", &v.determination, graph_enum),
                ("resolvingComment", &resolving_comment, str::to_owned),
            ] {
                if let Some(value) = value {
                    body.insert(k.into(), Value::String(spell(value)));
                }
            }
            if !custom_tags.is_empty() {
                body.insert("customTags".into(), serde_json::json!(custom_tags));
            }
            Verdict::<INCIDENTS>::any(!body.is_empty(), ", --custom-tag or --resolving-comment")?;
            let i = api
                .graph
                .update_incident(&t, &v.id, &Value::Object(body))
                .await?;
            print_one(out, &t.name, &i, INCIDENT_COLS)
        }
    }
}

const INCIDENT_COLS: &[(&str, &str)] = &[
    ("INCIDENT", "id"),
    ("SEVERITY", "severity"),
    ("STATUS", "status"),
    ("ASSIGNED", "assignedTo"),
    ("CREATED", "createdDateTime"),
    ("NAME", "displayName"),
];

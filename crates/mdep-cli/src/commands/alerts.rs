//! `mdep alerts`: list (MDE or Graph), get, update, create from an advanced hunting event.

use crate::commands::response::{CreateAlertArgs, create_alert};
use crate::context::Output;
use crate::run::fanout::{list, show, stream};
use crate::run::output::print_one;
use crate::run::query::ListArgs;
use crate::run::select::{Api, ApiChoice};
use crate::run::triage::{ALERTS, Triage, Verdict};
use anyhow::Result;
use clap::Subcommand;
use mdep_api::entity::{Alert, AlertUpdate};

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// List alerts, across tenants, every page.
    #[command(
        after_help = "Examples:\n  mdep alerts list --all-tenants --since 24h --severity High\n  mdep alerts list --api graph --all-tenants --status new -o jsonl\n  mdep alerts list --tenant Contoso --status New -o csv > alerts.csv\n  mdep alerts list --tag eu --filter \"category eq 'Malware'\" -o jsonl"
    )]
    List {
        #[command(flatten)]
        list: ListArgs,
        #[command(flatten)]
        triage: Triage<ALERTS>,
        /// Include each alert's evidence (`$expand=evidence`; Graph alerts always carry it).
        #[arg(long)]
        evidence: bool,
        /// mde (`/api/alerts`) or graph (`/security/alerts_v2`, every Defender product).
        #[arg(long, value_enum, default_value = "mde")]
        api: ApiChoice,
    },
    /// Show one alert.
    #[command(
        after_help = "Example:\n  mdep alerts get da637472900382838869_1364969609 --tenant Contoso -o json"
    )]
    Get {
        /// Alert id.
        id: String,
        /// Tenant name, id or domain.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Update an alert: status, owner, classification, determination, comment.
    #[command(
        after_help = "Example:\n  mdep alerts update da637472900382838869_1364969609 --tenant Contoso --status Resolved --classification FalsePositive --determination Clean --comment \"lab test\""
    )]
    Update {
        #[command(flatten)]
        verdict: Verdict<ALERTS>,
        /// A comment to add.
        #[arg(long)]
        comment: Option<String>,
    },
    /// Raise an alert from an advanced hunting event (`POST
    /// /api/alerts/CreateAlertByReference`, Alert.ReadWrite.All; 15 calls a minute): the
    /// event's DeviceId, Timestamp and ReportId name it; an open alert with the same title
    /// on the device takes the event instead.
    #[command(
        after_help = "Example:\n  mdep alerts create --tenant Contoso --machine 1e5bc9d7e413ddd7902c2932e418702b84d0cc07 --event-time 2026-12-01T08:00:00.1234567Z --report-id 4711 --severity High --category Malware --title \"Dropper seen\" --description \"found by hunting\" --recommended-action \"isolate the device\""
    )]
    Create(CreateAlertArgs),
}
const GRAPH_ALERT_COLS: &[(&str, &str)] = &[
    ("ALERT", "id"),
    ("SEVERITY", "severity"),
    ("STATUS", "status"),
    ("INCIDENT", "incidentId"),
    ("CREATED", "createdDateTime"),
    ("SOURCE", "serviceSource"),
    ("TITLE", "title"),
];

pub async fn run(cmd: AlertsCommand, api: &Api, out: Output) -> Result<()> {
    match cmd {
        AlertsCommand::List {
            list: l,
            triage,
            evidence: _,
            api: ApiChoice::Graph,
        } => {
            let q = triage.graph_query(&l.list)?;
            let graph = api.graph.clone();
            let alerts = move |t: &_| graph.alerts(t, &q);
            stream(api, &l.targets, alerts, out, GRAPH_ALERT_COLS).await
        }
        AlertsCommand::List {
            list: l,
            triage,
            evidence,
            api: ApiChoice::Mde,
        } => {
            let mut q = triage.query(&l.list, "alertCreationTime", str::to_owned)?;
            if evidence {
                q = q.expand("evidence");
            }
            list::<Alert>(api, &l.targets, "/api/alerts", q, out, ALERT_COLS).await
        }
        AlertsCommand::Create(a) => create_alert(a, api, out, ALERT_COLS).await,
        AlertsCommand::Get { id, tenant } => {
            let get = async |t: &_| api.client.alert(t, &id).await;
            show(api, &tenant, out, ALERT_COLS, get).await
        }
        AlertsCommand::Update { verdict, comment } => {
            let (v, t) = (&verdict, api.one(&verdict.tenant)?);
            let u = AlertUpdate {
                status: v.status.clone(),
                assigned_to: v.assigned_to.clone(),
                classification: v.classification.clone(),
                determination: v.determination.clone(),
                comment,
                ..Default::default()
            };
            let set = serde_json::to_value(&u)?;
            Verdict::<ALERTS>::any(
                set.as_object().is_some_and(|o| !o.is_empty()),
                " or --comment",
            )?;
            let a = api.client.update_alert(&t, &v.id, &u).await?;
            print_one(out, &t.name, &a, ALERT_COLS)
        }
    }
}

const ALERT_COLS: &[(&str, &str)] = &[
    ("ALERT", "id"),
    ("SEVERITY", "severity"),
    ("STATUS", "status"),
    ("CREATED", "alertCreationTime"),
    ("DEVICE", "computerDnsName"),
    ("TITLE", "title"),
];

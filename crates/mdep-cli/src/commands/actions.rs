//! Machine actions: taking them on devices (`mdep machine isolate|unisolate|scan|…`)
//! and reading them back (`mdep actions list|get`, and `package-uri` for a collected
//! investigation package).

use crate::commands::response::{PackageUriArgs, package_uri};
use crate::context::Output;
use crate::run::exit::{report_failure, some_failed};
use crate::run::fanout::{list_args, show};
use crate::run::output::{Sink, cols};
use crate::run::progress::spinner;
use crate::run::query::ListArgs;
use crate::run::select::{Api, confirm};
use anyhow::Result;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget};
use mdep_api::entity::MachineAction;
use mdep_api::{ApiError, ResponseAction};
use serde_json::Value;
use std::io::IsTerminal;
use std::time::Duration;

/// What every response action takes.
#[derive(Debug, Args, Clone)]
pub struct ActionArgs {
    /// Device ids or computer names.
    #[arg(required = true)]
    pub ids: Vec<String>,
    /// Tenant name, id or domain.
    #[arg(long)]
    pub tenant: Option<String>,
    /// Why (MDE requires a comment).
    #[arg(long)]
    pub comment: String,
    /// Follow each action until it succeeds or fails.
    #[arg(long)]
    pub wait: bool,
    /// Seconds between checks with --wait.
    #[arg(long, default_value = "5", value_name = "SECONDS")]
    pub poll: f64,
    /// Give up waiting after this many seconds.
    #[arg(long, default_value = "1800", value_name = "SECONDS")]
    pub timeout: u64,
    /// Do not ask before acting on more than one device.
    #[arg(long)]
    pub yes: bool,
}

/// The example of a response action: `mdep machine VERB` on a device, with `COMMENT`
/// and any further options.
macro_rules! example {
    ($verb:literal, $comment:literal $(, $more:literal)?) => {
        concat!(
            "Example:\n  mdep machine ",
            $verb,
            " contoso-pc-01 --tenant Contoso --comment \"",
            $comment,
            "\""
            $(, $more)?
        )
    };
}

#[derive(Debug, Subcommand)]
pub enum MachineCommand {
    /// Isolate devices from the network.
    #[command(
        after_help = "Examples:\n  mdep machine isolate contoso-pc-01 --tenant Contoso --comment \"incident 42\" --wait\n  mdep machine isolate 1e5bc9d7e413ddd7902c2932e418702b84d0cc07 --tenant Contoso --comment \"incident 42\" --selective"
    )]
    Isolate {
        #[command(flatten)]
        a: ActionArgs,
        /// Selective isolation (Outlook, Teams and Skype keep working).
        #[arg(long)]
        selective: bool,
    },
    /// Release devices from isolation.
    #[command(after_help = example!("unisolate", "cleared", " --wait"))]
    Unisolate(ActionArgs),
    /// Run an antivirus scan.
    #[command(after_help = example!("scan", "sweep", " --full"))]
    Scan {
        #[command(flatten)]
        a: ActionArgs,
        /// A full scan instead of a quick one.
        #[arg(long)]
        full: bool,
    },
    /// Allow only Microsoft-signed code to run.
    #[command(after_help = example!("restrict", "incident 42"))]
    Restrict(ActionArgs),
    /// Lift the code execution restriction.
    #[command(after_help = example!("unrestrict", "cleared"))]
    Unrestrict(ActionArgs),
    /// Collect the investigation package.
    #[command(after_help = example!("collect", "forensics", " --wait"))]
    Collect(ActionArgs),
    /// Offboard devices from Defender for Endpoint (Windows only).
    #[command(after_help = example!("offboard", "decommissioned"))]
    Offboard(ActionArgs),
}

#[derive(Debug, Subcommand)]
pub enum ActionsCommand {
    /// List machine actions, across tenants.
    #[command(
        after_help = "Examples:\n  mdep actions list --tenant Contoso --filter \"status eq 'Pending'\"\n  mdep actions list --all-tenants --top 20"
    )]
    List(ListArgs),
    /// Show one machine action.
    #[command(
        after_help = "Example:\n  mdep actions get 5382f7ea-7557-4ab7-9782-d50480024a4e --tenant Contoso"
    )]
    Get {
        /// Machine action id (GUID).
        id: String,
        /// Tenant name, id or domain.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// The short-lived link (SAS URL) to the investigation package a succeeded
    /// CollectInvestigationPackage action collected, or with `--out` the package itself
    /// (`GET /api/machineactions/{id}/getPackageUri`; 2 calls a minute, 120 an hour).
    #[command(
        after_help = "Examples:\n  mdep actions package-uri 5382f7ea-7557-4ab7-9782-d50480024a4e --tenant Contoso\n  mdep actions package-uri 5382f7ea-7557-4ab7-9782-d50480024a4e --tenant Contoso --out package.zip"
    )]
    PackageUri(PackageUriArgs),
}

/// `mdep actions`.
pub async fn run(cmd: ActionsCommand, api: &Api, out: Output) -> Result<()> {
    match cmd {
        ActionsCommand::List(l) => {
            let path = "/api/machineactions";
            list_args::<MachineAction>(api, &l, path, out, ACTION_COLS).await
        }
        ActionsCommand::Get { id, tenant } => {
            let get = async |t: &_| api.client.machine_action(t, &id).await;
            show(api, &tenant, out, ACTION_COLS, get).await
        }
        ActionsCommand::PackageUri(a) => package_uri(a, api, out).await,
    }
}

/// A device's response action: how it came about and the action, or the error.
type Outcome = Result<(String, MachineAction), ApiError>;

/// The command's arguments and the response action it asks for.
fn action_of(cmd: MachineCommand) -> (ActionArgs, ResponseAction) {
    match cmd {
        MachineCommand::Isolate { a, selective } => (
            a,
            ResponseAction::Isolate {
                isolation_type: if selective { "Selective" } else { "Full" }.into(),
            },
        ),
        MachineCommand::Unisolate(a) => (a, ResponseAction::Unisolate),
        MachineCommand::Scan { a, full } => (
            a,
            ResponseAction::Scan {
                scan_type: if full { "Full" } else { "Quick" }.into(),
            },
        ),
        MachineCommand::Restrict(a) => (a, ResponseAction::Restrict),
        MachineCommand::Unrestrict(a) => (a, ResponseAction::Unrestrict),
        MachineCommand::Collect(a) => (a, ResponseAction::Collect),
        MachineCommand::Offboard(a) => (a, ResponseAction::Offboard),
    }
}

/// `mdep machine`: the action on each device, in turn; with `--wait`, followed until
/// it ends.
pub async fn respond(cmd: MachineCommand, api: &Api, out: Output) -> Result<()> {
    let (a, action) = action_of(cmd);
    let destructive = matches!(
        action,
        ResponseAction::Isolate { .. } | ResponseAction::Offboard | ResponseAction::Restrict
    );
    let t = api.one(&a.tenant)?;
    if destructive && a.ids.len() > 1 {
        confirm(
            &format!("{} {} devices in {}", action.kind(), a.ids.len(), t.name),
            a.yes,
        )?;
    }
    let mut rows: Vec<(String, Outcome)> = Vec::new();
    for id in &a.ids {
        let r = api
            .client
            .respond(&t, id, &action, &a.comment)
            .await
            .map(|o| (o.describe().to_owned(), o.action().clone()));
        if let Ok((how, act)) = &r {
            eprintln!("{id}: {} {} ({how})", act.kind, act.id);
        }
        rows.push((id.clone(), r));
    }
    if a.wait {
        wait_all(api, &t, &a, &mut rows).await;
    }
    let mut sink = Sink::new(
        out,
        cols(&[
            ("DEVICE", "device"),
            ("ACTION", "id"),
            ("TYPE", "type"),
            ("STATUS", "status"),
            ("OUTCOME", "outcome"),
        ]),
    );
    let mut failed = 0;
    for (id, r) in &rows {
        match r {
            Ok((how, act)) => {
                let mut v = serde_json::to_value(act)?;
                if let Some(o) = v.as_object_mut() {
                    o.insert("device".into(), Value::String(id.clone()));
                    o.insert("outcome".into(), Value::String(how.clone()));
                }
                sink.push(&t.name, v)?;
                if a.wait && act.status != "Succeeded" {
                    failed += 1;
                }
            }
            Err(e) => {
                failed += 1;
                report_failure(id, e);
            }
        }
    }
    sink.finish()?;
    some_failed(failed, rows.len(), "devices failed")
}

/// Follows every action taken until it succeeds, fails or `--timeout` passes, with a
/// spinner on a terminal and a line a change otherwise.
async fn wait_all(api: &Api, t: &mdep_api::Tenant, a: &ActionArgs, rows: &mut [(String, Outcome)]) {
    let every = Duration::from_secs_f64(a.poll.max(0.05));
    let timeout = Duration::from_secs(a.timeout);
    let tty = std::io::stderr().is_terminal();
    for (id, r) in rows.iter_mut() {
        let Ok((how, act)) = r else { continue };
        let bar = if tty {
            spinner(
                ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
                "{spinner} {prefix}: {msg}  {elapsed}",
                id,
                Duration::from_millis(120),
            )
        } else {
            ProgressBar::hidden()
        };
        let waited = api
            .client
            .wait_action(t, &act.id, every, timeout, |x| {
                if tty {
                    bar.set_message(format!("{} {}", x.kind, x.status));
                } else {
                    eprintln!("{id}: {} {}", x.kind, x.status);
                }
            })
            .await;
        bar.finish_and_clear();
        match waited {
            Ok(done) => *r = Ok((how.clone(), done)),
            Err(e) => *r = Err(e),
        }
    }
}

const ACTION_COLS: &[(&str, &str)] = &[
    ("ACTION", "id"),
    ("TYPE", "type"),
    ("STATUS", "status"),
    ("DEVICE", "computerDnsName"),
    ("CREATED", "creationDateTimeUtc"),
    ("REQUESTOR", "requestor"),
];

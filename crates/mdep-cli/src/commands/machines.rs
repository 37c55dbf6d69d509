//! `mdep machines`: list, get, find by tag.

use crate::context::Output;
use crate::run::fanout::{call, each, fixed, list_args, show};
use crate::run::query::ListArgs;
use crate::run::select::{Api, Selection, Targets};
use anyhow::Result;
use clap::Subcommand;
use mdep_api::entity::Machine;

#[derive(Debug, Subcommand)]
pub enum MachinesCommand {
    /// List devices, across tenants, every page.
    #[command(
        after_help = "Examples:\n  mdep machines list --all-tenants --filter \"healthStatus eq 'Active'\"\n  mdep machines list --tenant Contoso -o json"
    )]
    List(ListArgs),
    /// Show one device (id or computer name).
    #[command(after_help = "Example:\n  mdep machines get contoso-pc-01 --tenant Contoso")]
    Get {
        /// Device id or computer name.
        id: String,
        /// Tenant name, id or domain.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Devices with a tag.
    #[command(after_help = "Example:\n  mdep machines find --tag finance --all-tenants")]
    Find {
        /// The tag.
        #[arg(long)]
        tag: String,
        /// Match tags that start with it.
        #[arg(long)]
        starts_with: bool,
        /// Tenant name, id or domain (repeatable).
        #[arg(long = "tenant")]
        tenants: Vec<String>,
        /// Tenants with this tenant tag (repeatable; `--tag` is the device tag here).
        #[arg(long = "tenant-tag")]
        tenant_tags: Vec<String>,
        /// Every configured tenant.
        #[arg(long, conflicts_with_all = ["tenants", "tenant_tags"])]
        all_tenants: bool,
    },
}

pub async fn run(cmd: MachinesCommand, api: &Api, out: Output) -> Result<()> {
    match cmd {
        MachinesCommand::List(l) => {
            list_args::<Machine>(api, &l, "/api/machines", out, MACHINE_COLS).await
        }
        MachinesCommand::Get { id, tenant } => {
            let get = async |t: &_| api.client.machine(t, &id).await;
            show(api, &tenant, out, MACHINE_COLS, get).await
        }
        MachinesCommand::Find {
            tag,
            starts_with,
            tenants,
            tenant_tags,
            all_tenants,
        } => {
            let targets = Targets {
                chosen: Selection {
                    tenants,
                    tags: tenant_tags,
                },
                all_tenants,
            };
            let by_tag = |t| {
                let (c, tag) = (api.client.clone(), tag.clone());
                async move { c.machines_by_tag(&t, &tag, starts_with).await }
            };
            let what = |v: &Vec<Machine>| format!("{} devices", v.len());
            call(
                api,
                &targets,
                by_tag,
                out,
                fixed(MACHINE_COLS),
                |v| each(v),
                what,
            )
            .await
        }
    }
}

const MACHINE_COLS: &[(&str, &str)] = &[
    ("MACHINE", "id"),
    ("NAME", "computerDnsName"),
    ("OS", "osPlatform"),
    ("HEALTH", "healthStatus"),
    ("RISK", "riskScore"),
    ("LAST SEEN", "lastSeen"),
    ("TAGS", "machineTags"),
];

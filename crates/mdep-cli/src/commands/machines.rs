//! `mdep machines`: list, get, find by tag, find by IP address, start an investigation.

use crate::commands::response::{InvestigateArgs, investigate};
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
    /// Devices seen with an internal IP address within 15 minutes of a time in the last
    /// 30 days (`GET /api/machines/findbyip`).
    #[command(
        after_help = "Examples:\n  mdep machines find-by-ip --ip 10.166.93.61 --all-tenants\n  mdep machines find-by-ip --ip 10.166.93.61 --at 2026-12-01T08:00:00Z --tenant Contoso"
    )]
    FindByIp {
        /// The internal IP address (IPv4 or IPv6).
        #[arg(long)]
        ip: std::net::IpAddr,
        /// When the device had it (RFC 3339) [default: now].
        #[arg(long, value_parser = rfc3339)]
        at: Option<time::OffsetDateTime>,
        #[command(flatten)]
        targets: Targets,
    },
    /// Start an automated investigation on a device (`POST
    /// /api/machines/{id}/startInvestigation`, Alert.ReadWrite.All; 50 calls an hour).
    #[command(
        after_help = "Examples:\n  mdep machines investigate contoso-pc-01 --tenant Contoso --comment \"suspicious logons\"\n  mdep machines investigate 1e5bc9d7e413ddd7902c2932e418702b84d0cc07 --tenant Contoso --comment \"incident 42\" -o json"
    )]
    Investigate(InvestigateArgs),
}

fn rfc3339(s: &str) -> Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("'{s}' is not an RFC 3339 time such as 2026-12-01T08:00:00Z ({e})"))
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
        MachinesCommand::Investigate(a) => investigate(a, api, out).await,
        MachinesCommand::FindByIp { ip, at, targets } => {
            let at = at.unwrap_or_else(time::OffsetDateTime::now_utc);
            let by_ip = |t| {
                let c = api.client.clone();
                async move { c.machines_by_ip(&t, ip, at).await }
            };
            let what = |v: &Vec<Machine>| format!("{} devices", v.len());
            call(
                api,
                &targets,
                by_ip,
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

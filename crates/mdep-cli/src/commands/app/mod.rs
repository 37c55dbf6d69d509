//! `mdep app`: the partner app's lifecycle through Microsoft Graph, signed in to the
//! partner's home tenant with the bootstrap credential (`[bootstrap]`, or
//! `--bootstrap-token -`): register it ([`create`]), show it, rotate its secret and
//! change its permissions ([`manage`]).

mod create;
mod manage;
mod session;

use crate::context::Global;
use anyhow::Result;
use clap::Subcommand;
use create::CreateArgs;
use session::{Bootstrap, Session};

/// `mdep app …`.
#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Register the partner app through Microsoft Graph (or bring it in line): multi-tenant,
    /// WindowsDefenderATP (and Graph) application permissions, a secret or a certificate,
    /// consent in the home tenant; writes it into the config and prints every customer's
    /// consent link. Run it again to add what is missing; nothing is duplicated.
    #[command(
        after_help = "Examples:\n  mdep app create --name \"Fabrikam MDR\" --permission Alert.Read.All --permission Machine.Read.All\n  mdep app create --name \"Fabrikam MDR\" --graph-permission ThreatHunting.Read.All --certificate partner.pem\n  az account get-access-token --resource https://graph.microsoft.com --query accessToken -o tsv | mdep app create --name \"Fabrikam MDR\" --bootstrap-token -"
    )]
    Create(CreateArgs),
    /// Show the configured partner app as Microsoft Graph has it.
    Show(Bootstrap),
    /// The app's client secret.
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Add or remove one application permission (WindowsDefenderATP or Microsoft Graph).
    #[command(subcommand)]
    Permission(PermissionCommand),
}

/// `mdep app secret …`.
#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Add a new secret, write it where the config reads it, and remove the old ones.
    #[command(
        after_help = "Examples:\n  mdep app secret rotate\n  mdep app secret rotate --keep-old 7"
    )]
    Rotate {
        /// Keep the old secrets, for this many days of overlap (remove them with a later rotate).
        #[arg(long, value_name = "DAYS")]
        keep_old: Option<u32>,
        /// Years the new secret is valid.
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=100))]
        secret_years: u32,
        #[command(flatten)]
        bootstrap: Bootstrap,
    },
}

/// `mdep app permission …`.
#[derive(Debug, Subcommand)]
pub enum PermissionCommand {
    /// Require one more application permission and grant it in the home tenant.
    Add {
        /// The role value, e.g. `Machine.Isolate` or `ThreatHunting.Read.All`.
        role: String,
        #[command(flatten)]
        bootstrap: Bootstrap,
    },
    /// Stop requiring an application permission (customers keep it until they consent again).
    Remove {
        /// The role value.
        role: String,
        #[command(flatten)]
        bootstrap: Bootstrap,
    },
}

pub async fn run(cmd: AppCommand, g: &Global) -> Result<()> {
    match cmd {
        AppCommand::Create(args) => create::run(args, g).await,
        AppCommand::Show(b) => manage::show(&Session::open(g, &b)?, g).await,
        AppCommand::Secret(SecretCommand::Rotate {
            keep_old,
            secret_years,
            bootstrap,
        }) => manage::rotate(&Session::open(g, &bootstrap)?, g, keep_old, secret_years).await,
        AppCommand::Permission(PermissionCommand::Add { role, bootstrap }) => {
            manage::permission(&Session::open(g, &bootstrap)?, g, &role, true).await
        }
        AppCommand::Permission(PermissionCommand::Remove { role, bootstrap }) => {
            manage::permission(&Session::open(g, &bootstrap)?, g, &role, false).await
        }
    }
}

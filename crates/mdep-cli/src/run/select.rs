//! Which tenants a command reaches, and the API clients it reaches them with.

use crate::context::{Global, Partner};
use anyhow::{Result, bail};
use clap::Args;
use mdep_api::{Client, ClientOptions, GraphClient, Tenant};
use mdep_auth::config::TenantEntry;
use std::io::IsTerminal;

/// Which tenants: `--tenant` and `--tag`. `ALL` says that `--all-tenants` stands
/// beside them (see [`Targets`]); without it, neither means every tenant.
#[derive(Debug, Args, Clone)]
pub struct Selection<const ALL: bool> {
    #[arg(long = "tenant", help = if ALL {
        "Tenant name, id or domain (repeatable)"
    } else {
        "Tenant name, id or domain (repeatable); all configured tenants when absent"
    })]
    pub tenants: Vec<String>,
    /// Tenants with this tag (repeatable).
    #[arg(long = "tag")]
    pub tags: Vec<String>,
}

/// Which tenants a command reaches.
#[derive(Debug, Args, Clone)]
pub struct Targets {
    #[command(flatten)]
    pub chosen: Selection<true>,
    /// Every configured tenant.
    #[arg(long, conflicts_with_all = ["tenants", "tags"])]
    pub all_tenants: bool,
}

impl Targets {
    /// The tenants chosen by `--tenant`/`--tag`/`--all-tenants`; the only one when one
    /// is configured and none is named.
    pub fn choose(&self, partner: &Partner) -> Result<Vec<TenantEntry>> {
        let Selection { tenants, tags } = &self.chosen;
        if tenants.is_empty() && tags.is_empty() && !self.all_tenants {
            let all = partner.select(&[], &[])?;
            if all.len() > 1 {
                bail!(
                    "{} tenants are configured: choose with --tenant NAME, --tag TAG or --all-tenants",
                    all.len()
                );
            }
            return Ok(all);
        }
        partner.select(tenants, tags)
    }
}

/// Which API a command calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ApiChoice {
    /// Microsoft Graph's security API (graph.microsoft.com).
    Graph,
    /// The Defender for Endpoint API (api.securitycenter.microsoft.com).
    Mde,
}

/// The API clients with the configuration they came from.
pub struct Api {
    pub partner: Partner,
    pub client: Client,
    pub graph: GraphClient,
    /// Tenants called at once.
    pub concurrency: usize,
}

impl Api {
    pub fn open(g: &Global) -> Result<Self> {
        let partner = Partner::open(g)?;
        let opts = ClientOptions::from_config(partner.config());
        let concurrency = partner
            .config()
            .api
            .concurrency
            .unwrap_or(mdep_api::fanout::DEFAULT_CONCURRENCY)
            .max(1);
        let client = Client::new(partner.http.clone(), partner.broker.clone(), opts);
        let graph = GraphClient::new(
            partner.http.clone(),
            partner.broker.clone(),
            ClientOptions::graph_from_config(partner.config()),
        );
        Ok(Self {
            partner,
            client,
            graph,
            concurrency,
        })
    }

    /// Tenants chosen by `--tenant`/`--tag`/`--all-tenants` (see [`Targets::choose`]).
    pub fn tenants(&self, t: &Targets) -> Result<Vec<Tenant>> {
        Ok(t.choose(&self.partner)?.iter().map(Tenant::from).collect())
    }

    /// The tenant of a command on one item: the one named, or the only one configured.
    pub fn one(&self, tenant: &Option<String>) -> Result<Tenant> {
        if tenant.is_none() {
            let n = self.partner.config().tenants.len();
            if n > 1 {
                bail!("{n} tenants are configured: say which with --tenant NAME");
            }
        }
        let t = Targets {
            chosen: Selection {
                tenants: tenant.iter().cloned().collect(),
                tags: vec![],
            },
            all_tenants: false,
        };
        Ok(self.tenants(&t)?.remove(0))
    }
}

/// Asks on the terminal before a destructive action on several targets.
pub fn confirm(what: &str, yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        bail!("{what}: pass --yes to confirm (standard input is not a terminal)");
    }
    eprint!("{what}. Continue? [y/N] ");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    if !matches!(line.trim(), "y" | "Y" | "yes") {
        bail!("cancelled");
    }
    Ok(())
}

//! What alerts and incidents share on both APIs: the triage filters of their lists and
//! the verdict fields of their updates, described in each one's vocabulary.

use crate::run::query::{ListOptions, graph_enum};
use anyhow::{Result, bail};
use clap::Args;
use mdep_api::Query;
use mdep_api::query::{cmp_str, cmp_time, parse_since};
use mdep_model::odata::CompareOp;

/// The help of a triaged kind's options.
pub struct Words {
    /// `--since`.
    pub since: &'static str,
    /// `--severity`: the values it takes.
    pub severity: &'static str,
    /// `--status`: the values it takes.
    pub status: &'static str,
    /// The id argument.
    pub id: &'static str,
    /// `--classification`: the values it takes.
    pub classification: &'static str,
    /// `--determination`: examples.
    pub determination: &'static str,
}

/// [`Triage`] and [`Verdict`] of alerts (MDE's spelling, accepted by Graph too).
pub const ALERTS: usize = 0;
/// [`Triage`] and [`Verdict`] of incidents (Graph's spelling).
pub const INCIDENTS: usize = 1;

/// The vocabulary of each triaged kind, by [`ALERTS`] and [`INCIDENTS`].
pub const WORDS: [Words; 2] = [
    Words {
        since: "Alerts created within this long (30m, 24h, 7d)",
        severity: "UnSpecified, Informational, Low, Medium or High",
        status: "New, InProgress or Resolved",
        id: "Alert id",
        classification: "TruePositive, InformationalExpectedActivity or FalsePositive",
        determination: "Determination (e.g. Malware, Clean, SecurityTesting)",
    },
    Words {
        since: "Incidents created within this long (30m, 24h, 7d)",
        severity: "unknown, informational, low, medium or high",
        status: "active, inProgress, resolved, redirected or awaitingAction",
        id: "Incident id",
        classification: "unknown, falsePositive, truePositive or informationalExpectedActivity",
        determination: "Determination (e.g. malware, notMalicious, securityTesting)",
    },
];

/// The triage filters of a list.
#[derive(Debug, Args, Clone)]
pub struct Triage<const W: usize> {
    #[arg(long, help = WORDS[W].since)]
    pub since: Option<String>,
    #[arg(long, help = WORDS[W].severity)]
    pub severity: Option<String>,
    #[arg(long, help = WORDS[W].status)]
    pub status: Option<String>,
}

impl<const W: usize> Triage<W> {
    /// The query of a list: `--filter`/`--top`, then `--since` on `created` (the list's
    /// creation-time property) and `--severity`/`--status`, each value spelled by
    /// `spell` (as given for MDE, [`graph_enum`] for Graph).
    pub fn query(
        &self,
        list: &ListOptions,
        created: &str,
        spell: fn(&str) -> String,
    ) -> Result<Query> {
        let mut q = list.query()?;
        if let Some(s) = &self.since {
            let d = parse_since(s).map_err(|e| anyhow::anyhow!("--since {e}"))?;
            q = q.filter(cmp_time(
                created,
                CompareOp::Ge,
                time::OffsetDateTime::now_utc() - d,
            ));
        }
        for (property, value) in [("severity", &self.severity), ("status", &self.status)] {
            if let Some(v) = value {
                q = q.filter(cmp_str(property, CompareOp::Eq, &spell(v)));
            }
        }
        Ok(q)
    }

    /// [`Triage::query`] for Graph's alerts and incidents (`createdDateTime`, Graph's
    /// enums).
    pub fn graph_query(&self, list: &ListOptions) -> Result<Query> {
        self.query(list, "createdDateTime", graph_enum)
    }
}

impl<const W: usize> Verdict<W> {
    /// Refuses an update that changes nothing (`any` false); `also` names the update's
    /// other options after these four.
    pub fn any(any: bool, also: &str) -> Result<()> {
        if !any {
            bail!(
                "nothing to update: give --status, --assigned-to, --classification, --determination{also}"
            );
        }
        Ok(())
    }
}

/// The item an update is for and the verdict fields it sets.
#[derive(Debug, Args, Clone)]
pub struct Verdict<const W: usize> {
    #[arg(help = WORDS[W].id)]
    pub id: String,
    /// Tenant name, id or domain.
    #[arg(long)]
    pub tenant: Option<String>,
    #[arg(long, help = WORDS[W].status)]
    pub status: Option<String>,
    /// Owner.
    #[arg(long)]
    pub assigned_to: Option<String>,
    #[arg(long, help = WORDS[W].classification)]
    pub classification: Option<String>,
    #[arg(long, help = WORDS[W].determination)]
    pub determination: Option<String>,
}

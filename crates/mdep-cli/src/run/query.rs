//! The OData options of list commands, checked before they are sent.

use crate::run::select::Targets;
use anyhow::Result;
use clap::Args;
use mdep_api::Query;
use mdep_api::query::{cmp_str, cmp_time, parse_since};
use mdep_model::odata::CompareOp;
use std::marker::PhantomData;

/// The OData options of list commands.
#[derive(Debug, Args, Clone)]
pub struct ListOptions {
    /// An OData `$filter`, checked before it is sent (e.g. "status ne 'Resolved'").
    #[arg(long)]
    pub filter: Option<String>,
    /// At most this many items per tenant.
    #[arg(long)]
    pub top: Option<u64>,
}

impl ListOptions {
    /// `$filter` and `$top`.
    pub fn query(&self) -> Result<Query> {
        let mut q = Query::new();
        if let Some(f) = &self.filter {
            q = q
                .filter_str(f)
                .map_err(|e| anyhow::anyhow!("--filter \"{f}\": {e}"))?;
        }
        if let Some(n) = self.top {
            q = q.top(n);
        }
        Ok(q)
    }
}

/// What every list command takes: the tenants and the OData options.
#[derive(Debug, Args, Clone)]
pub struct ListArgs {
    #[command(flatten)]
    pub targets: Targets,
    #[command(flatten)]
    pub list: ListOptions,
}

/// How a list's `--since`, `--severity` and `--status` are described in its help.
pub trait Vocabulary: std::fmt::Debug + Clone + Send + Sync + 'static {
    /// `--since`.
    const SINCE: &'static str;
    /// `--severity`: the values it takes.
    const SEVERITY: &'static str;
    /// `--status`: the values it takes.
    const STATUS: &'static str;
}

/// The triage filters of alert and incident lists.
#[derive(Debug, Args, Clone)]
pub struct Triage<V: Vocabulary> {
    #[arg(long, help = V::SINCE)]
    pub since: Option<String>,
    #[arg(long, help = V::SEVERITY)]
    pub severity: Option<String>,
    #[arg(long, help = V::STATUS)]
    pub status: Option<String>,
    #[arg(skip)]
    words: PhantomData<V>,
}

impl<V: Vocabulary> Triage<V> {
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

/// Graph's enum spelling of a value given in MDE's (`High` → `high`, `InProgress` →
/// `inProgress`), so either is accepted on the command line.
pub fn graph_enum(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_enums_start_lower_case() {
        assert_eq!(graph_enum("InProgress"), "inProgress");
        assert_eq!(graph_enum("high"), "high");
        assert_eq!(graph_enum(""), "");
    }
}

//! The OData options of list commands, checked before they are sent.

use crate::run::select::Targets;
use anyhow::Result;
use clap::Args;
use mdep_api::Query;

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

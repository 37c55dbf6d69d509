//! `mdep hunt`: a hunting query in one tenant or many, through Microsoft Graph's
//! runHuntingQuery or the retired MDE endpoint.

use crate::context::Global;
use crate::run::fanout::call;
use crate::run::output::Columns;
use crate::run::select::{Api, ApiChoice, Targets};
use anyhow::{Context as _, Result, bail};
use clap::Args;
use mdep_api::TenantResult;
use serde_json::{Map, Value};

/// `mdep hunt`.
#[derive(Debug, Args)]
pub struct HuntArgs {
    /// The KQL query.
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    pub query: Option<String>,
    /// Read the query from a file.
    #[arg(long)]
    pub file: Option<std::path::PathBuf>,
    /// graph (Microsoft Graph runHuntingQuery, ThreatHunting.Read.All) or mde (the
    /// retired /api/advancedqueries/run, AdvancedQuery.Read.All).
    #[arg(long, value_enum, default_value = "graph")]
    pub api: ApiChoice,
    /// Graph only: the ISO 8601 time span to search (P7D, P30D,
    /// 2026-01-01T00:00:00Z/2026-01-08T00:00:00Z); Graph's default is 30 days.
    #[arg(long)]
    pub timespan: Option<String>,
    #[command(flatten)]
    pub targets: Targets,
}

/// The day the MDE advanced hunting API stops returning data (`graph-security.md` §1:
/// MC1220762 and the Graph overview's migration section).
pub const LEGACY_HUNTING_END: time::OffsetDateTime = time::macros::datetime!(2027-02-01 00:00 UTC);

/// The warning for `mdep hunt --api mde` at `now`: none before the retirement date.
pub fn legacy_hunting_warning(now: time::OffsetDateTime) -> Option<String> {
    (now >= LEGACY_HUNTING_END).then(|| {
        "warning: the MDE advanced hunting API (/api/advancedqueries/run) was retired on 2027-02-01 and no longer returns data from Microsoft; drop --api mde to use Microsoft Graph's runHuntingQuery (needs ThreatHunting.Read.All)".to_owned()
    })
}

/// The time now: `MDEP_NOW` (RFC 3339) when set, so date-dependent behaviour can be
/// tested; else the system clock.
pub fn now() -> time::OffsetDateTime {
    std::env::var("MDEP_NOW")
        .ok()
        .and_then(|s| {
            time::OffsetDateTime::parse(&s, &time::format_description::well_known::Rfc3339).ok()
        })
        .unwrap_or_else(time::OffsetDateTime::now_utc)
}

/// The schema's column names and the rows of one tenant's answer.
type Rows = (Vec<String>, Vec<Map<String, Value>>);

/// A tenant's answer: the schema's column names and the rows, or why the tenant was
/// skipped (its licence has no advanced hunting: reported, not a failure).
enum Answer {
    Rows(Vec<String>, Vec<Map<String, Value>>),
    Unlicensed(String),
}

impl Answer {
    fn of(r: Result<Rows, mdep_api::ApiError>) -> Result<Self, mdep_api::ApiError> {
        match r {
            Ok((schema, rows)) => Ok(Answer::Rows(schema, rows)),
            Err(e) if e.is_unlicensed() => Ok(Answer::Unlicensed(e.to_string())),
            Err(e) => Err(e),
        }
    }

    fn rows(&self) -> &[Map<String, Value>] {
        match self {
            Answer::Rows(_, rows) => rows,
            Answer::Unlicensed(_) => &[],
        }
    }

    fn summary(&self) -> String {
        match self {
            Answer::Rows(_, rows) => format!("{} rows", rows.len()),
            Answer::Unlicensed(why) => format!(
                "skipped: advanced hunting is not included in this tenant's licence (Defender for Business and Plan 1 have none) [{why}]"
            ),
        }
    }
}

/// The columns of the first tenant that answered.
fn schema_columns(results: &[TenantResult<Answer>]) -> Columns {
    results
        .iter()
        .find_map(|r| match r.result.as_ref() {
            Ok(Answer::Rows(schema, _)) => Some(schema),
            _ => None,
        })
        .map(|schema| schema.iter().map(|c| (c.clone(), c.clone())).collect())
        .unwrap_or_default()
}

pub async fn run(args: HuntArgs, g: &Global) -> Result<()> {
    let query = match (&args.query, &args.file) {
        (Some(q), _) => q.clone(),
        (None, Some(f)) => {
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?
        }
        (None, None) => bail!("give a query or --file"),
    };
    if args.api == ApiChoice::Mde {
        if args.timespan.is_some() {
            bail!("--timespan is a Microsoft Graph parameter: drop --api mde or --timespan");
        }
        if let Some(w) = legacy_hunting_warning(now()) {
            eprintln!("{w}");
        }
    }
    let api = Api::open(g)?;
    let hunt = |t| {
        let (c, gc, q) = (api.client.clone(), api.graph.clone(), query.clone());
        let (which, ts) = (args.api, args.timespan.clone());
        async move {
            Answer::of(match which {
                ApiChoice::Mde => c.hunt(&t, &q).await.map(|h| {
                    let names = h.schema.into_iter().map(|c| c.name);
                    (names.collect::<Vec<_>>(), h.results)
                }),
                ApiChoice::Graph => gc.hunt(&t, &q, ts.as_deref()).await.map(|h| {
                    let names = h.schema.into_iter().map(|c| c.name);
                    (names.collect::<Vec<_>>(), h.results)
                }),
            })
        }
    };
    let rows = |a: &Answer| Ok(a.rows().iter().cloned().map(Value::Object).collect());
    let what = Answer::summary;
    call(
        &api,
        &args.targets,
        hunt,
        g.output,
        schema_columns,
        rows,
        what,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_legacy_hunting_warning_starts_on_the_retirement_date() {
        use time::macros::datetime;
        assert_eq!(
            legacy_hunting_warning(datetime!(2027-01-31 23:59:59 UTC)),
            None
        );
        let w = legacy_hunting_warning(datetime!(2027-02-01 00:00 UTC)).expect("warning");
        assert!(
            w.contains("retired on 2027-02-01") && w.contains("--api mde"),
            "{w}"
        );
        assert!(legacy_hunting_warning(datetime!(2030-01-01 00:00 UTC)).is_some());
    }
}

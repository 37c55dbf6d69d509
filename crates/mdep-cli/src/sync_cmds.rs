//! `mdep sync` (MDE into the local database) and `mdep db` (reading it back).

use crate::context::{Global, Output, Partner, table};
use crate::run::exit::some_failed;
use crate::run::progress::spinner;
use crate::run::select::Targets;
use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use mdep_api::query::parse_since;
use mdep_api::{Client, ClientOptions, Tenant};
use mdep_sync::entity::parse_list;
use mdep_sync::view::{
    AlertFilter, Conditions, MachineFilter, RowFormat, alerts_sql, cell_text, csv_field,
    machines_sql, shown_columns, write_rows,
};
use mdep_sync::{Entity, Location, Progress, Rows, Store, SyncOptions, TenantReport};
use serde_json::Value;
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where the database is.
#[derive(Debug, Args, Clone)]
pub struct DbArg {
    /// The database: sqlite:PATH or postgres://USER@HOST/DB [default: `[sync] db` in the
    /// config, else the platform data path, e.g. ~/.local/share/mdep/mdep.db].
    #[arg(long, env = "MDEP_DB", value_name = "URL")]
    pub db: Option<String>,
}

impl DbArg {
    /// The flag, else `MDEP_DB`, else `[sync] db` in the configuration, else the default.
    pub fn location(&self, g: &Global, config: Option<&mdep_auth::Config>) -> Result<Location> {
        if let Some(d) = &self.db {
            return Ok(Location::parse(d)?);
        }
        let from_config = match config {
            Some(c) => c.sync.db.clone(),
            // `mdep db` works without a configuration; it reads one if there is one.
            None => mdep_auth::Config::load(&g.config_path())
                .ok()
                .and_then(|l| l.config.sync.db),
        };
        match from_config {
            Some(d) => Ok(Location::parse(&d)?),
            None => Ok(Location::default_sqlite()),
        }
    }
}

/// `mdep sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub targets: Targets,
    /// What to sync, comma-separated: alerts, machines, machineactions, indicators.
    #[arg(long, default_value = "alerts,machines,machineactions,indicators")]
    pub entities: String,
    #[command(flatten)]
    pub db: DbArg,
    /// A complete pass instead of an incremental one (rows gone from MDE are deleted).
    #[arg(long)]
    pub full: bool,
    /// Start incremental passes this long before the last watermark (30s, 5m, 1h).
    #[arg(long, default_value = "5m")]
    pub overlap: String,
    /// Rows per request and per committed transaction (1 to 10000).
    #[arg(long, default_value = "1000", value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub page_size: u64,
    /// Tenants synced at once [default: `[api] concurrency`, else 8].
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Keep running: sync again every --interval.
    #[arg(long)]
    pub follow: bool,
    /// Time between passes with --follow (30s, 5m, 1h).
    #[arg(long, default_value = "5m", requires = "follow")]
    pub interval: String,
}

/// `mdep db`.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Alerts in the local database.
    #[command(
        after_help = "Examples:\n  mdep db alerts --open --severity High\n  mdep db alerts --tenant Contoso --status New -o csv\n  mdep db alerts --db postgres://mdep@db.internal/mdep --open -o json"
    )]
    Alerts {
        /// Tenant name or id (repeatable).
        #[arg(long = "tenant")]
        tenants: Vec<String>,
        /// Only alerts not resolved.
        #[arg(long)]
        open: bool,
        /// UnSpecified, Informational, Low, Medium or High (repeatable).
        #[arg(long)]
        severity: Vec<String>,
        /// New, InProgress or Resolved (repeatable).
        #[arg(long)]
        status: Vec<String>,
        /// At most this many rows (newest first).
        #[arg(long)]
        limit: Option<u64>,
        #[command(flatten)]
        db: DbArg,
    },
    /// Devices in the local database.
    #[command(
        after_help = "Examples:\n  mdep db machines --tenant Contoso\n  mdep db machines --not-seen 7d -o csv"
    )]
    Machines {
        /// Tenant name or id (repeatable).
        #[arg(long = "tenant")]
        tenants: Vec<String>,
        /// Only devices not seen for this long (24h, 7d).
        #[arg(long, value_name = "DURATION")]
        not_seen: Option<String>,
        /// Active, Inactive, ImpairedCommunication, NoSensorData, … (repeatable).
        #[arg(long)]
        health: Vec<String>,
        /// At most this many rows.
        #[arg(long)]
        limit: Option<u64>,
        #[command(flatten)]
        db: DbArg,
    },
    /// Run one read-only SQL statement (tables and views in docs/store.md).
    #[command(
        after_help = "Examples:\n  mdep db sql \"SELECT * FROM open_alerts_by_tenant_severity\"\n  mdep db sql \"SELECT tenant_name, computer_dns_name, last_seen FROM devices_not_seen_7_days\" -o csv\n  mdep db sql \"SELECT tenant, entity, cursor_time, last_complete FROM sync_state\""
    )]
    Sql {
        /// The statement (SELECT, WITH …); anything that writes is refused.
        statement: String,
        #[command(flatten)]
        db: DbArg,
    },
}

/// A bar per tenant while it runs, and one for all tenants; drawn only on a terminal.
struct Bars {
    multi: MultiProgress,
    total: ProgressBar,
    bars: Mutex<HashMap<String, (ProgressBar, u64)>>,
}

impl Bars {
    fn new(tenants: usize) -> Self {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let multi = MultiProgress::with_draw_target(target);
        let total = multi.add(ProgressBar::new(tenants as u64));
        total.set_style(
            ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} tenants {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        Self {
            multi,
            total,
            bars: Mutex::new(HashMap::new()),
        }
    }
}

impl Progress for Bars {
    fn started(&self, t: &Tenant) {
        let b = spinner(
            self.multi.add(ProgressBar::new_spinner()),
            "  {spinner} {prefix:20!} {msg}",
            &t.name,
            Duration::from_millis(200),
        );
        b.set_message("starting");
        if let Ok(mut m) = self.bars.lock() {
            m.insert(t.id.clone(), (b, 0));
        }
    }

    fn page(&self, t: &Tenant, e: Entity, rows: u64) {
        if let Ok(mut m) = self.bars.lock()
            && let Some((b, n)) = m.get_mut(&t.id)
        {
            *n += rows;
            b.set_message(format!("{e}: {n} rows"));
        }
    }

    fn finished(&self, r: &TenantReport) {
        if let Ok(mut m) = self.bars.lock()
            && let Some((b, _)) = m.remove(&r.tenant.id)
        {
            b.finish_and_clear();
            self.multi.remove(&b);
        }
        self.total.inc(1);
        if r.failed() {
            let _ = self.multi.println(format!(
                "{}: {}",
                r.tenant.name,
                r.errors.first().map_or("", String::as_str)
            ));
        }
    }
}

fn report_rows(reports: &[TenantReport]) -> Vec<Vec<String>> {
    reports
        .iter()
        .map(|r| {
            vec![
                r.tenant.name.clone(),
                r.counts.new.to_string(),
                r.counts.updated.to_string(),
                r.counts.unchanged.to_string(),
                r.errors.len().to_string(),
                format!("{:.1}s", r.duration.as_secs_f64()),
                if let Some(s) = &r.skipped {
                    format!("skipped: {s}")
                } else if r.failed() {
                    r.errors.join("; ")
                } else if r.counts.deleted > 0 {
                    format!("{} deleted", r.counts.deleted)
                } else {
                    String::new()
                },
            ]
        })
        .collect()
}

fn print_reports(reports: &[TenantReport], format: Output) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        Output::Table => {
            let headers = [
                "TENANT",
                "NEW",
                "UPDATED",
                "UNCHANGED",
                "ERRORS",
                "DURATION",
                "NOTE",
            ];
            write!(out, "{}", table(&headers, &report_rows(reports)))?;
        }
        _ => {
            let rows: Vec<Value> = reports
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "tenant": r.tenant.name,
                        "tenantId": r.tenant.id,
                        "new": r.counts.new,
                        "updated": r.counts.updated,
                        "unchanged": r.counts.unchanged,
                        "deleted": r.counts.deleted,
                        "errors": r.errors,
                        "skipped": r.skipped,
                        "durationSeconds": r.duration.as_secs_f64(),
                    })
                })
                .collect();
            match format {
                Output::Jsonl => {
                    for r in rows {
                        writeln!(out, "{r}")?;
                    }
                }
                Output::Csv => {
                    writeln!(out, "tenant,new,updated,unchanged,errors,duration_seconds")?;
                    for r in reports {
                        writeln!(
                            out,
                            "{},{},{},{},{},{:.3}",
                            csv_field(&r.tenant.name),
                            r.counts.new,
                            r.counts.updated,
                            r.counts.unchanged,
                            r.errors.len(),
                            r.duration.as_secs_f64()
                        )?;
                    }
                }
                _ => writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?,
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// `mdep sync`.
pub async fn sync(args: SyncArgs, g: &Global) -> Result<()> {
    let entities = parse_list(&args.entities).map_err(anyhow::Error::msg)?;
    let overlap = parse_since(&args.overlap).map_err(|e| anyhow::anyhow!("--overlap {e}"))?;
    let interval = parse_since(&args.interval).map_err(|e| anyhow::anyhow!("--interval {e}"))?;
    if args.follow && interval.is_zero() {
        bail!("--interval must be more than 0");
    }
    let partner = Partner::open(g)?;
    let chosen = args.targets.choose(&partner)?;
    let tenants: Vec<Tenant> = chosen.iter().map(Tenant::from).collect();
    let tags = chosen
        .iter()
        .map(|e| (mdep_sync::tenant_key(&Tenant::from(e)), e.tags.clone()))
        .collect();
    let loc = args.db.location(g, Some(partner.config()))?;
    let store = Arc::new(
        Store::open(&loc)
            .await
            .with_context(|| format!("opening the database {}", loc.display()))?,
    );
    let opts = SyncOptions {
        entities,
        full: args.full,
        overlap,
        page: args.page_size,
        concurrency: args
            .concurrency
            .or(partner.config().api.concurrency)
            .unwrap_or(8)
            .max(1),
        tags,
        ..SyncOptions::default()
    };
    let client = Client::new(
        partner.http.clone(),
        partner.broker.clone(),
        ClientOptions::from_config(partner.config()),
    );
    let mut first = true;
    loop {
        let bars = Arc::new(Bars::new(tenants.len()));
        let mut pass = opts.clone();
        // --full applies to the first pass; --follow continues incrementally.
        pass.full = opts.full && first;
        let reports =
            mdep_sync::sync_all(&client, store.clone(), &tenants, &pass, bars.clone()).await;
        bars.total.finish_and_clear();
        print_reports(&reports, g.output)?;
        let failed = reports.iter().filter(|r| r.failed()).count();
        if !args.follow {
            return some_failed(failed, reports.len(), "tenants failed");
        }
        first = false;
        eprintln!(
            "next pass in {}s ({} of {} tenants failed); Ctrl-C to stop",
            interval.as_secs(),
            failed,
            reports.len()
        );
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

/// Prints query rows: a table here, the other formats through [`write_rows`]
/// (`raw_column` becomes each row's object for JSON).
fn print_rows(rows: &Rows, format: Output, raw_column: Option<&str>) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let format = match format {
        Output::Table => {
            let shown = shown_columns(rows, raw_column);
            let headers: Vec<String> = shown
                .iter()
                .map(|i| rows.columns[*i].to_ascii_uppercase())
                .collect();
            let hs: Vec<&str> = headers.iter().map(String::as_str).collect();
            let body: Vec<Vec<String>> = rows
                .rows
                .iter()
                .map(|r| shown.iter().map(|i| cell_text(&r[*i])).collect())
                .collect();
            write!(out, "{}", table(&hs, &body))?;
            out.flush()?;
            return Ok(());
        }
        Output::Csv => RowFormat::Csv,
        Output::Json => RowFormat::Json,
        Output::Jsonl => RowFormat::Jsonl,
    };
    write_rows(&mut out, rows, format, raw_column)?;
    out.flush()?;
    Ok(())
}

async fn open_db(db: &DbArg, g: &Global) -> Result<Store> {
    let loc = db.location(g, None)?;
    Store::open_read_only(&loc)
        .await
        .with_context(|| format!("opening the database {}", loc.display()))
}

/// Runs the query `build` makes (with conditions in the database's dialect) and prints
/// its rows, each row's raw JSON as the object for JSON.
async fn stored(
    db: &DbArg,
    g: &Global,
    build: impl FnOnce(&mut Conditions) -> String,
) -> Result<()> {
    let store = open_db(db, g).await?;
    let mut c = Conditions::new(store.is_postgres());
    let sql = build(&mut c);
    let rows = store.query(&sql, c.params()).await?;
    print_rows(&rows, g.output, Some("raw"))
}

/// `mdep db`.
pub async fn db(cmd: DbCommand, g: &Global) -> Result<()> {
    match cmd {
        DbCommand::Alerts {
            tenants,
            open,
            severity,
            status,
            limit,
            db,
        } => {
            let f = AlertFilter {
                tenants,
                open,
                severity,
                status,
                limit,
            };
            stored(&db, g, |c| alerts_sql(c, &f)).await
        }
        DbCommand::Machines {
            tenants,
            not_seen,
            health,
            limit,
            db,
        } => {
            let not_seen_since = match not_seen {
                Some(d) => {
                    let d = parse_since(&d).map_err(|e| anyhow::anyhow!("--not-seen {e}"))?;
                    Some(
                        time::OffsetDateTime::now_utc()
                            - time::Duration::try_from(d).unwrap_or(time::Duration::ZERO),
                    )
                }
                None => None,
            };
            let f = MachineFilter {
                tenants,
                health,
                not_seen_since,
                limit,
            };
            stored(&db, g, |c| machines_sql(c, &f)).await
        }
        DbCommand::Sql { statement, db } => {
            if statement.trim().is_empty() {
                bail!(
                    "give a statement, e.g. mdep db sql \"SELECT * FROM open_alerts_by_tenant_severity\""
                );
            }
            let store = open_db(&db, g).await?;
            let rows = store.query(&statement, &[]).await?;
            print_rows(&rows, g.output, None)
        }
    }
}

//! MDE API and Microsoft Graph security commands: `mdep alerts`, `incidents`,
//! `machines`, `machine`, `actions`, `indicators`, `hunt` and `api`, for one tenant or
//! many at once. Rows go to stdout tagged with their
//! tenant; a per-tenant summary and progress go to stderr; a tenant that fails never
//! stops the others and makes the exit code 3.

use crate::context::{Global, Output, Partner, table};
use crate::partner::NotReady;
use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use futures_util::Stream;
use futures_util::TryStreamExt;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use mdep_api::entity::{AlertUpdate, MachineAction};
use mdep_api::query::{cmp_str, cmp_time, parse_since};
use mdep_api::{
    ApiError, Client, ClientOptions, GraphClient, Query, ResponseAction, Tenant, fan_out,
};
use mdep_model::odata::CompareOp;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::time::Duration;

/// Which tenants a command reaches.
#[derive(Debug, Args, Clone)]
pub struct Targets {
    /// Tenant name, id or domain (repeatable).
    #[arg(long = "tenant")]
    pub tenants: Vec<String>,
    /// Tenants with this tag (repeatable).
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// Every configured tenant.
    #[arg(long, conflicts_with_all = ["tenants", "tags"])]
    pub all_tenants: bool,
}

/// Which API a command calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ApiChoice {
    /// Microsoft Graph's security API (graph.microsoft.com).
    Graph,
    /// The Defender for Endpoint API (api.securitycenter.microsoft.com).
    Mde,
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

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// List alerts, across tenants, every page.
    #[command(
        after_help = "Examples:\n  mdep alerts list --all-tenants --since 24h --severity High\n  mdep alerts list --api graph --all-tenants --status new -o jsonl\n  mdep alerts list --tenant Contoso --status New -o csv > alerts.csv\n  mdep alerts list --tag eu --filter \"category eq 'Malware'\" -o jsonl"
    )]
    List {
        #[command(flatten)]
        targets: Targets,
        #[command(flatten)]
        list: ListOptions,
        /// Alerts created within this long (30m, 24h, 7d).
        #[arg(long)]
        since: Option<String>,
        /// UnSpecified, Informational, Low, Medium or High.
        #[arg(long)]
        severity: Option<String>,
        /// New, InProgress or Resolved.
        #[arg(long)]
        status: Option<String>,
        /// Include each alert's evidence (`$expand=evidence`; Graph alerts always carry it).
        #[arg(long)]
        evidence: bool,
        /// mde (`/api/alerts`) or graph (`/security/alerts_v2`, every Defender product).
        #[arg(long, value_enum, default_value = "mde")]
        api: ApiChoice,
    },
    /// Show one alert.
    #[command(
        after_help = "Example:\n  mdep alerts get da637472900382838869_1364969609 --tenant Contoso -o json"
    )]
    Get {
        /// Alert id.
        id: String,
        /// Tenant name, id or domain.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Update an alert: status, owner, classification, determination, comment.
    #[command(
        after_help = "Example:\n  mdep alerts update da637472900382838869_1364969609 --tenant Contoso --status Resolved --classification FalsePositive --determination Clean --comment \"lab test\""
    )]
    Update {
        /// Alert id.
        id: String,
        /// Tenant name, id or domain.
        #[arg(long)]
        tenant: Option<String>,
        /// New, InProgress or Resolved.
        #[arg(long)]
        status: Option<String>,
        /// Owner.
        #[arg(long)]
        assigned_to: Option<String>,
        /// TruePositive, InformationalExpectedActivity or FalsePositive.
        #[arg(long)]
        classification: Option<String>,
        /// Determination (e.g. Malware, Clean, SecurityTesting).
        #[arg(long)]
        determination: Option<String>,
        /// A comment to add.
        #[arg(long)]
        comment: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum MachinesCommand {
    /// List devices, across tenants, every page.
    #[command(
        after_help = "Examples:\n  mdep machines list --all-tenants --filter \"healthStatus eq 'Active'\"\n  mdep machines list --tenant Contoso -o json"
    )]
    List {
        #[command(flatten)]
        targets: Targets,
        #[command(flatten)]
        list: ListOptions,
    },
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
    #[command(
        after_help = "Example:\n  mdep machine unisolate contoso-pc-01 --tenant Contoso --comment \"cleared\" --wait"
    )]
    Unisolate(ActionArgs),
    /// Run an antivirus scan.
    #[command(
        after_help = "Example:\n  mdep machine scan contoso-pc-01 --tenant Contoso --comment \"sweep\" --full"
    )]
    Scan {
        #[command(flatten)]
        a: ActionArgs,
        /// A full scan instead of a quick one.
        #[arg(long)]
        full: bool,
    },
    /// Allow only Microsoft-signed code to run.
    #[command(
        after_help = "Example:\n  mdep machine restrict contoso-pc-01 --tenant Contoso --comment \"incident 42\""
    )]
    Restrict(ActionArgs),
    /// Lift the code execution restriction.
    #[command(
        after_help = "Example:\n  mdep machine unrestrict contoso-pc-01 --tenant Contoso --comment \"cleared\""
    )]
    Unrestrict(ActionArgs),
    /// Collect the investigation package.
    #[command(
        after_help = "Example:\n  mdep machine collect contoso-pc-01 --tenant Contoso --comment \"forensics\" --wait"
    )]
    Collect(ActionArgs),
    /// Offboard devices from Defender for Endpoint (Windows only).
    #[command(
        after_help = "Example:\n  mdep machine offboard contoso-pc-01 --tenant Contoso --comment \"decommissioned\""
    )]
    Offboard(ActionArgs),
}

#[derive(Debug, Subcommand)]
pub enum ActionsCommand {
    /// List machine actions, across tenants.
    #[command(
        after_help = "Examples:\n  mdep actions list --tenant Contoso --filter \"status eq 'Pending'\"\n  mdep actions list --all-tenants --top 20"
    )]
    List {
        #[command(flatten)]
        targets: Targets,
        #[command(flatten)]
        list: ListOptions,
    },
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
}

#[derive(Debug, Subcommand)]
pub enum IndicatorsCommand {
    /// List custom indicators, across tenants.
    #[command(
        after_help = "Example:\n  mdep indicators list --all-tenants --filter \"indicatorType eq 'IpAddress'\""
    )]
    List {
        #[command(flatten)]
        targets: Targets,
        #[command(flatten)]
        list: ListOptions,
    },
    /// Submit (or update) an indicator, in every tenant chosen.
    #[command(
        after_help = "Example:\n  mdep indicators add --all-tenants --type IpAddress --value 203.0.113.7 --action Block --title \"C2\" --description \"seen in incident 42\""
    )]
    Add {
        #[command(flatten)]
        targets: Targets,
        /// FileSha1, FileSha256, FileMd5, CertificateThumbprint, IpAddress, DomainName or Url.
        #[arg(long = "type")]
        kind: String,
        /// The hash, IP, domain or URL.
        #[arg(long)]
        value: String,
        /// Allowed, Audit, Warn, Block or BlockAndRemediate.
        #[arg(long)]
        action: String,
        /// Title.
        #[arg(long)]
        title: String,
        /// Description.
        #[arg(long)]
        description: String,
        /// Informational, Low, Medium or High.
        #[arg(long)]
        severity: Option<String>,
        /// Expiry (RFC 3339).
        #[arg(long)]
        expiration: Option<String>,
        /// Raise an alert on a match (required for Audit).
        #[arg(long)]
        generate_alert: bool,
    },
    /// Delete indicators by id.
    #[command(after_help = "Example:\n  mdep indicators delete 995 996 --tenant Contoso --yes")]
    Delete {
        /// Indicator ids.
        #[arg(required = true)]
        ids: Vec<String>,
        /// Tenant name, id or domain.
        #[arg(long)]
        tenant: Option<String>,
        /// Do not ask before deleting more than one.
        #[arg(long)]
        yes: bool,
    },
    /// Import indicators from a JSON file (a list, or `{"Indicators": [...]}`), 500 a call.
    #[command(after_help = "Example:\n  mdep indicators import iocs.json --all-tenants")]
    Import {
        /// The file.
        file: std::path::PathBuf,
        #[command(flatten)]
        targets: Targets,
    },
}

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

#[derive(Debug, Subcommand)]
pub enum IncidentsCommand {
    /// List incidents (Microsoft Graph), across tenants, every page.
    #[command(
        after_help = "Examples:\n  mdep incidents list --all-tenants --status active --severity high\n  mdep incidents list --tenant Contoso --alerts -o json\n  mdep incidents list --tag eu --since 7d -o csv"
    )]
    List {
        #[command(flatten)]
        targets: Targets,
        #[command(flatten)]
        list: ListOptions,
        /// Incidents created within this long (30m, 24h, 7d).
        #[arg(long)]
        since: Option<String>,
        /// unknown, informational, low, medium or high.
        #[arg(long)]
        severity: Option<String>,
        /// active, inProgress, resolved, redirected or awaitingAction.
        #[arg(long)]
        status: Option<String>,
        /// Include each incident's alerts (`$expand=alerts`).
        #[arg(long)]
        alerts: bool,
    },
    /// Show one incident.
    #[command(after_help = "Example:\n  mdep incidents get 29 --tenant Contoso --alerts -o json")]
    Get {
        /// Incident id.
        id: String,
        /// Tenant name, id or domain.
        #[arg(long)]
        tenant: Option<String>,
        /// Include its alerts.
        #[arg(long)]
        alerts: bool,
    },
    /// Update an incident: status, owner, classification, determination, tags.
    #[command(
        after_help = "Example:\n  mdep incidents update 29 --tenant Contoso --status resolved --classification falsePositive --determination notMalicious --resolving-comment \"lab test\""
    )]
    Update {
        /// Incident id.
        id: String,
        /// Tenant name, id or domain.
        #[arg(long)]
        tenant: Option<String>,
        /// active, inProgress, resolved, redirected or awaitingAction.
        #[arg(long)]
        status: Option<String>,
        /// Owner.
        #[arg(long)]
        assigned_to: Option<String>,
        /// unknown, falsePositive, truePositive or informationalExpectedActivity.
        #[arg(long)]
        classification: Option<String>,
        /// Determination (e.g. malware, notMalicious, securityTesting).
        #[arg(long)]
        determination: Option<String>,
        /// A custom tag; repeat for several (replaces the incident's custom tags).
        #[arg(long = "custom-tag")]
        custom_tags: Vec<String>,
        /// Why it was resolved.
        #[arg(long)]
        resolving_comment: Option<String>,
    },
}

/// `mdep api`.
#[derive(Debug, Args)]
pub struct RawArgs {
    /// GET, POST, PATCH or DELETE.
    #[arg(value_parser = ["GET", "POST", "PATCH", "DELETE", "get", "post", "patch", "delete"])]
    pub method: String,
    /// Path under the API host, with any query (e.g. /api/alerts?$top=5).
    pub path: String,
    /// JSON request body file (`-` for standard input).
    #[arg(long)]
    pub body: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub targets: Targets,
}

/// The API clients with the configuration they came from.
struct Api {
    partner: Partner,
    client: Client,
    graph: GraphClient,
    concurrency: usize,
}

impl Api {
    fn open(g: &Global) -> Result<Self> {
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

    /// Tenants chosen by `--tenant`/`--tag`/`--all-tenants`; the only one when one is
    /// configured.
    fn tenants(&self, t: &Targets) -> Result<Vec<Tenant>> {
        if t.tenants.is_empty() && t.tags.is_empty() && !t.all_tenants {
            let all = self.partner.select(&[], &[])?;
            if all.len() > 1 {
                bail!(
                    "{} tenants are configured: choose with --tenant NAME, --tag TAG or --all-tenants",
                    all.len()
                );
            }
            return Ok(all.iter().map(Tenant::from).collect());
        }
        Ok(self
            .partner
            .select(&t.tenants, &t.tags)?
            .iter()
            .map(Tenant::from)
            .collect())
    }

    fn one(&self, tenant: &Option<String>) -> Result<Tenant> {
        if tenant.is_none() {
            let n = self.partner.config().tenants.len();
            if n > 1 {
                bail!("{n} tenants are configured: say which with --tenant NAME");
            }
        }
        let t = Targets {
            tenants: tenant.iter().cloned().collect(),
            tags: vec![],
            all_tenants: false,
        };
        Ok(self.tenants(&t)?.remove(0))
    }
}

/// A device's response action: how it came about and the action, or the error.
type Outcome = Result<(String, MachineAction), ApiError>;

/// Columns of a table or CSV: header and JSON key.
type Columns = Vec<(String, String)>;

fn cols(spec: &[(&str, &str)]) -> Columns {
    spec.iter()
        .map(|(h, k)| ((*h).to_owned(), (*k).to_owned()))
        .collect()
}

const ALERT_COLS: &[(&str, &str)] = &[
    ("ALERT", "id"),
    ("SEVERITY", "severity"),
    ("STATUS", "status"),
    ("CREATED", "alertCreationTime"),
    ("DEVICE", "computerDnsName"),
    ("TITLE", "title"),
];
const GRAPH_ALERT_COLS: &[(&str, &str)] = &[
    ("ALERT", "id"),
    ("SEVERITY", "severity"),
    ("STATUS", "status"),
    ("INCIDENT", "incidentId"),
    ("CREATED", "createdDateTime"),
    ("SOURCE", "serviceSource"),
    ("TITLE", "title"),
];
const INCIDENT_COLS: &[(&str, &str)] = &[
    ("INCIDENT", "id"),
    ("SEVERITY", "severity"),
    ("STATUS", "status"),
    ("ASSIGNED", "assignedTo"),
    ("CREATED", "createdDateTime"),
    ("NAME", "displayName"),
];
const MACHINE_COLS: &[(&str, &str)] = &[
    ("MACHINE", "id"),
    ("NAME", "computerDnsName"),
    ("OS", "osPlatform"),
    ("HEALTH", "healthStatus"),
    ("RISK", "riskScore"),
    ("LAST SEEN", "lastSeen"),
    ("TAGS", "machineTags"),
];
const ACTION_COLS: &[(&str, &str)] = &[
    ("ACTION", "id"),
    ("TYPE", "type"),
    ("STATUS", "status"),
    ("DEVICE", "computerDnsName"),
    ("CREATED", "creationDateTimeUtc"),
    ("REQUESTOR", "requestor"),
];
const INDICATOR_COLS: &[(&str, &str)] = &[
    ("ID", "id"),
    ("TYPE", "indicatorType"),
    ("VALUE", "indicatorValue"),
    ("ACTION", "action"),
    ("SEVERITY", "severity"),
    ("TITLE", "title"),
];

fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| cell(Some(x)))
            .collect::<Vec<_>>()
            .join(","),
        Some(other) => other.to_string(),
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// Writes rows as they come: JSON array, JSON lines and CSV stream; a table is
/// aligned once every row is in.
pub struct Sink {
    format: Output,
    columns: Columns,
    table: Vec<Vec<String>>,
    count: u64,
    out: Box<dyn Write + Send>,
}

impl Sink {
    fn new(format: Output, columns: Columns) -> Self {
        Self {
            format,
            columns,
            table: Vec::new(),
            count: 0,
            out: Box::new(std::io::BufWriter::new(std::io::stdout())),
        }
    }

    /// The row object: `tenant` first, then the item's fields.
    fn tagged(tenant: &str, item: Value) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("tenant".into(), Value::String(tenant.to_owned()));
        match item {
            Value::Object(o) => m.extend(o),
            other => {
                m.insert("value".into(), other);
            }
        }
        m
    }

    fn push(&mut self, tenant: &str, item: Value) -> Result<()> {
        let row = Self::tagged(tenant, item);
        match self.format {
            Output::Json => {
                let sep = if self.count == 0 { "[\n" } else { ",\n" };
                write!(self.out, "{sep}{}", serde_json::to_string_pretty(&row)?)?;
            }
            Output::Jsonl => writeln!(self.out, "{}", serde_json::to_string(&row)?)?,
            Output::Csv => {
                if self.count == 0 {
                    let mut h = vec!["tenant".to_owned()];
                    h.extend(self.columns.iter().map(|(_, k)| k.clone()));
                    writeln!(
                        self.out,
                        "{}",
                        h.iter().map(|x| csv_field(x)).collect::<Vec<_>>().join(",")
                    )?;
                }
                let mut cells = vec![csv_field(tenant)];
                cells.extend(
                    self.columns
                        .iter()
                        .map(|(_, k)| csv_field(&cell(row.get(k)))),
                );
                writeln!(self.out, "{}", cells.join(","))?;
            }
            Output::Table => {
                let mut cells = vec![tenant.to_owned()];
                cells.extend(self.columns.iter().map(|(_, k)| cell(row.get(k))));
                self.table.push(cells);
            }
        }
        self.count += 1;
        Ok(())
    }

    fn finish(mut self) -> Result<()> {
        match self.format {
            Output::Json => {
                if self.count == 0 {
                    writeln!(self.out, "[]")?;
                } else {
                    writeln!(self.out, "\n]")?;
                }
            }
            Output::Table if self.count > 0 => {
                let mut headers = vec!["TENANT"];
                headers.extend(self.columns.iter().map(|(h, _)| h.as_str()));
                let text = table(&headers, &self.table);
                let colour = std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
                let key = self
                    .columns
                    .iter()
                    .position(|(_, k)| k == "severity" || k == "status")
                    .map(|i| i + 1);
                match key.filter(|_| colour) {
                    Some(i) => write!(self.out, "{}", colourize(&text, &self.table, i))?,
                    None => write!(self.out, "{text}")?,
                }
            }
            _ => {}
        }
        self.out.flush()?;
        Ok(())
    }
}

/// Colours each row of an aligned table by the value of one column (severity or
/// status); the header stays plain.
fn colourize(text: &str, rows: &[Vec<String>], column: usize) -> String {
    let mut out = String::with_capacity(text.len() + rows.len() * 9);
    for (i, line) in text.lines().enumerate() {
        let code = i
            .checked_sub(1)
            .and_then(|r| rows.get(r))
            .and_then(|r| r.get(column))
            .and_then(|v| match v.as_str() {
                "High" | "high" | "Failed" | "TimeOut" => Some("31"),
                "Medium" | "medium" | "Pending" | "InProgress" | "inProgress" => Some("33"),
                "Succeeded" | "Resolved" | "resolved" => Some("32"),
                _ => None,
            });
        match code {
            Some(c) => out.push_str(&format!("\x1b[{c}m{line}\x1b[0m\n")),
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// Progress bars on stderr, drawn only when it is a terminal: one line for the
/// tenants done and rows so far, and one bar per tenant being read (at most as many as
/// the fan-out runs at once), each counting its rows.
struct Progress {
    multi: Option<MultiProgress>,
    overall: ProgressBar,
    tenants: HashMap<String, ProgressBar>,
    rows: u64,
}

impl Progress {
    fn new(total: usize) -> Self {
        Self::with_target(total, std::io::stderr().is_terminal())
    }

    fn with_target(total: usize, on: bool) -> Self {
        let multi = on.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        let overall = match &multi {
            Some(m) if total > 1 => {
                let b = m.add(ProgressBar::new(total as u64));
                b.set_style(
                    ProgressStyle::with_template(
                        "{bar:30} {pos}/{len} tenants, {msg} rows  {elapsed}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                b.set_message("0");
                b.enable_steady_tick(Duration::from_millis(200));
                b
            }
            _ => ProgressBar::hidden(),
        };
        Self {
            multi,
            overall,
            tenants: HashMap::new(),
            rows: 0,
        }
    }

    fn tenant(&mut self, name: &str) -> &ProgressBar {
        let multi = &self.multi;
        self.tenants.entry(name.to_owned()).or_insert_with(|| {
            let Some(m) = multi else {
                return ProgressBar::hidden();
            };
            let b = m.add(ProgressBar::new_spinner());
            b.set_style(
                ProgressStyle::with_template("{spinner} {prefix}: {pos} rows  {per_sec}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b.set_prefix(name.to_owned());
            b.enable_steady_tick(Duration::from_millis(120));
            b
        })
    }

    fn row(&mut self, name: &str) {
        self.rows += 1;
        self.tenant(name).inc(1);
        if self.rows.is_multiple_of(100) {
            self.overall.set_message(self.rows.to_string());
        }
    }

    fn done(&mut self, name: &str) {
        if let Some(b) = self.tenants.remove(name) {
            b.finish_and_clear();
        }
        self.overall.inc(1);
        self.overall.set_message(self.rows.to_string());
    }

    /// Runs `f` (which writes to stdout) with the bars lifted, so they never mix.
    fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.multi {
            Some(m) => m.suspend(f),
            None => f(),
        }
    }

    fn clear(&mut self) {
        for (_, b) in self.tenants.drain() {
            b.finish_and_clear();
        }
        self.overall.finish_and_clear();
        if let Some(m) = &self.multi {
            let _ = m.clear();
        }
    }
}

enum Event {
    Row(String, Value),
    Done(String),
}

/// Ends a fan-out: a summary on stderr when more than one tenant was asked or one
/// failed, and exit code 3 when any failed.
fn summarize<T>(results: &[mdep_api::TenantResult<T>], what: impl Fn(&T) -> String) -> Result<()> {
    let failed = results.iter().filter(|r| r.result.is_err()).count();
    if results.len() > 1 || failed > 0 {
        for r in results {
            match &r.result {
                Ok(v) => eprintln!("{}: {}", r.tenant.name, what(v)),
                Err(e) => {
                    eprintln!("{}: failed: {e}", r.tenant.name);
                    if let Some(h) = e.hint() {
                        eprintln!("  hint: {h}");
                    }
                }
            }
        }
    }
    if failed > 0 {
        return Err(NotReady(format!("{failed} of {} tenants failed", results.len())).into());
    }
    Ok(())
}

/// Streams every item of a list from every tenant into the output.
async fn list_across<T: Serialize + DeserializeOwned + Send + 'static>(
    api: &Api,
    tenants: Vec<Tenant>,
    path: &str,
    q: Query,
    format: Output,
    columns: Columns,
) -> Result<()> {
    let client = api.client.clone();
    stream_across(
        api,
        tenants,
        move |t| client.list::<T>(t, path, &q),
        format,
        columns,
    )
    .await
}

/// Streams every item `list` yields for each tenant into the output.
async fn stream_across<T, S, F>(
    api: &Api,
    tenants: Vec<Tenant>,
    list: F,
    format: Output,
    columns: Columns,
) -> Result<()>
where
    T: Serialize + Send + 'static,
    S: Stream<Item = Result<T, ApiError>> + Send + 'static,
    F: Fn(&Tenant) -> S,
{
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Event>(1024);
    let mut sink = Sink::new(format, columns);
    let mut progress = Progress::new(tenants.len());
    let printer = async {
        while let Some(ev) = rx.recv().await {
            match ev {
                Event::Row(t, v) => {
                    progress.suspend(|| sink.push(&t, v))?;
                    progress.row(&t);
                }
                Event::Done(t) => progress.done(&t),
            }
        }
        progress.clear();
        anyhow::Ok(())
    };
    let work = async {
        let r = fan_out(&tenants, api.concurrency, |t| {
            let tx = tx.clone();
            let stream = list(&t);
            let name = t.name.clone();
            async move {
                let mut n = 0u64;
                let mut s = std::pin::pin!(stream);
                let res = async {
                    while let Some(item) = s.try_next().await? {
                        let v = serde_json::to_value(item)
                            .map_err(|e| ApiError::Invalid(e.to_string()))?;
                        if tx.send(Event::Row(name.clone(), v)).await.is_err() {
                            break;
                        }
                        n += 1;
                    }
                    Ok::<_, ApiError>(n)
                }
                .await;
                let _ = tx.send(Event::Done(name)).await;
                res
            }
        })
        .await;
        drop(tx);
        r
    };
    let (results, printed) = tokio::join!(work, printer);
    printed?;
    sink.finish()?;
    summarize(&results, |n| format!("{n} rows"))
}

fn build_query(list: &ListOptions) -> Result<Query> {
    let mut q = Query::new();
    if let Some(f) = &list.filter {
        q = q
            .filter_str(f)
            .map_err(|e| anyhow::anyhow!("--filter \"{f}\": {e}"))?;
    }
    if let Some(n) = list.top {
        q = q.top(n);
    }
    Ok(q)
}

/// The query of a list command: `--filter`/`--top`, then `--since` on
/// `created` (the list's creation-time property) and `--severity`/`--status`,
/// each value spelled by `spell` (as given for MDE, [`graph_enum`] for Graph).
fn list_query(
    list: &ListOptions,
    created: &str,
    since: Option<String>,
    severity: Option<String>,
    status: Option<String>,
    spell: fn(&str) -> String,
) -> Result<Query> {
    let mut q = build_query(list)?;
    if let Some(s) = since {
        let d = parse_since(&s).map_err(|e| anyhow::anyhow!("--since {e}"))?;
        q = q.filter(cmp_time(
            created,
            CompareOp::Ge,
            time::OffsetDateTime::now_utc() - d,
        ));
    }
    if let Some(s) = severity {
        q = q.filter(cmp_str("severity", CompareOp::Eq, &spell(&s)));
    }
    if let Some(s) = status {
        q = q.filter(cmp_str("status", CompareOp::Eq, &spell(&s)));
    }
    Ok(q)
}

/// [`list_query`] for Graph's alerts and incidents (`createdDateTime`, Graph's enums).
fn graph_list_query(
    list: &ListOptions,
    since: Option<String>,
    severity: Option<String>,
    status: Option<String>,
) -> Result<Query> {
    list_query(list, "createdDateTime", since, severity, status, graph_enum)
}

fn print_one<T: Serialize>(format: Output, tenant: &str, item: &T, columns: Columns) -> Result<()> {
    let v = serde_json::to_value(item)?;
    match format {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&Sink::tagged(tenant, v))?
        ),
        _ => {
            let mut s = Sink::new(format, columns);
            s.push(tenant, v)?;
            s.finish()?;
        }
    }
    Ok(())
}

/// Asks on the terminal before a destructive action on several targets.
fn confirm(what: &str, yes: bool) -> Result<()> {
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

pub async fn alerts(cmd: AlertsCommand, g: &Global) -> Result<()> {
    let api = Api::open(g)?;
    match cmd {
        AlertsCommand::List {
            targets,
            list,
            since,
            severity,
            status,
            evidence,
            api: ApiChoice::Graph,
        } => {
            let _ = evidence;
            let q = graph_list_query(&list, since, severity, status)?;
            let tenants = api.tenants(&targets)?;
            let graph = api.graph.clone();
            stream_across(
                &api,
                tenants,
                move |t| graph.alerts(t, &q),
                g.output,
                cols(GRAPH_ALERT_COLS),
            )
            .await
        }
        AlertsCommand::List {
            targets,
            list,
            since,
            severity,
            status,
            evidence,
            api: ApiChoice::Mde,
        } => {
            let mut q = list_query(
                &list,
                "alertCreationTime",
                since,
                severity,
                status,
                str::to_owned,
            )?;
            if evidence {
                q = q.expand("evidence");
            }
            let tenants = api.tenants(&targets)?;
            list_across::<mdep_api::entity::Alert>(
                &api,
                tenants,
                "/api/alerts",
                q,
                g.output,
                cols(ALERT_COLS),
            )
            .await
        }
        AlertsCommand::Get { id, tenant } => {
            let t = api.one(&tenant)?;
            let a = api.client.alert(&t, &id).await?;
            print_one(g.output, &t.name, &a, cols(ALERT_COLS))
        }
        AlertsCommand::Update {
            id,
            tenant,
            status,
            assigned_to,
            classification,
            determination,
            comment,
        } => {
            let t = api.one(&tenant)?;
            let u = AlertUpdate {
                status,
                assigned_to,
                classification,
                determination,
                comment,
                ..Default::default()
            };
            if serde_json::to_value(&u)?
                .as_object()
                .is_none_or(|o| o.is_empty())
            {
                bail!(
                    "nothing to update: give --status, --assigned-to, --classification, --determination or --comment"
                );
            }
            let a = api.client.update_alert(&t, &id, &u).await?;
            print_one(g.output, &t.name, &a, cols(ALERT_COLS))
        }
    }
}

pub async fn machines(cmd: MachinesCommand, g: &Global) -> Result<()> {
    let api = Api::open(g)?;
    match cmd {
        MachinesCommand::List { targets, list } => {
            let tenants = api.tenants(&targets)?;
            list_across::<mdep_api::entity::Machine>(
                &api,
                tenants,
                "/api/machines",
                build_query(&list)?,
                g.output,
                cols(MACHINE_COLS),
            )
            .await
        }
        MachinesCommand::Get { id, tenant } => {
            let t = api.one(&tenant)?;
            let m = api.client.machine(&t, &id).await?;
            print_one(g.output, &t.name, &m, cols(MACHINE_COLS))
        }
        MachinesCommand::Find {
            tag,
            starts_with,
            tenants,
            tenant_tags,
            all_tenants,
        } => {
            let tenants = api.tenants(&Targets {
                tenants,
                tags: tenant_tags,
                all_tenants,
            })?;
            let results = fan_out(&tenants, api.concurrency, |t| {
                let (c, tag) = (api.client.clone(), tag.clone());
                async move { c.machines_by_tag(&t, &tag, starts_with).await }
            })
            .await;
            let mut sink = Sink::new(g.output, cols(MACHINE_COLS));
            for r in &results {
                for m in r.result.iter().flatten() {
                    sink.push(&r.tenant.name, serde_json::to_value(m)?)?;
                }
            }
            sink.finish()?;
            summarize(&results, |v| format!("{} devices", v.len()))
        }
    }
}

pub async fn machine(cmd: MachineCommand, g: &Global) -> Result<()> {
    let (a, action) = match cmd {
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
    };
    let destructive = matches!(
        action,
        ResponseAction::Isolate { .. } | ResponseAction::Offboard | ResponseAction::Restrict
    );
    let api = Api::open(g)?;
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
        let every = Duration::from_secs_f64(a.poll.max(0.05));
        let timeout = Duration::from_secs(a.timeout);
        let tty = std::io::stderr().is_terminal();
        for (id, r) in rows.iter_mut() {
            let Ok((how, act)) = r else { continue };
            let spinner = if tty {
                let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                b.set_style(
                    ProgressStyle::with_template("{spinner} {prefix}: {msg}  {elapsed}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                b.set_prefix(id.clone());
                b.enable_steady_tick(Duration::from_millis(120));
                b
            } else {
                ProgressBar::hidden()
            };
            let waited = api
                .client
                .wait_action(&t, &act.id, every, timeout, |x| {
                    if tty {
                        spinner.set_message(format!("{} {}", x.kind, x.status));
                    } else {
                        eprintln!("{id}: {} {}", x.kind, x.status);
                    }
                })
                .await;
            spinner.finish_and_clear();
            match waited {
                Ok(done) => *r = Ok((how.clone(), done)),
                Err(e) => *r = Err(e),
            }
        }
    }
    let mut sink = Sink::new(
        g.output,
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
                eprintln!("{id}: failed: {e}");
                if let Some(h) = e.hint() {
                    eprintln!("  hint: {h}");
                }
            }
        }
    }
    sink.finish()?;
    if failed > 0 {
        return Err(NotReady(format!("{failed} of {} devices failed", rows.len())).into());
    }
    Ok(())
}

pub async fn actions(cmd: ActionsCommand, g: &Global) -> Result<()> {
    let api = Api::open(g)?;
    match cmd {
        ActionsCommand::List { targets, list } => {
            let tenants = api.tenants(&targets)?;
            list_across::<MachineAction>(
                &api,
                tenants,
                "/api/machineactions",
                build_query(&list)?,
                g.output,
                cols(ACTION_COLS),
            )
            .await
        }
        ActionsCommand::Get { id, tenant } => {
            let t = api.one(&tenant)?;
            let a = api.client.machine_action(&t, &id).await?;
            print_one(g.output, &t.name, &a, cols(ACTION_COLS))
        }
    }
}

pub async fn indicators(cmd: IndicatorsCommand, g: &Global) -> Result<()> {
    let api = Api::open(g)?;
    match cmd {
        IndicatorsCommand::List { targets, list } => {
            let tenants = api.tenants(&targets)?;
            list_across::<mdep_api::entity::Indicator>(
                &api,
                tenants,
                "/api/indicators",
                build_query(&list)?,
                g.output,
                cols(INDICATOR_COLS),
            )
            .await
        }
        IndicatorsCommand::Add {
            targets,
            kind,
            value,
            action,
            title,
            description,
            severity,
            expiration,
            generate_alert,
        } => {
            let mut body = serde_json::json!({
                "indicatorValue": value, "indicatorType": kind, "action": action,
                "title": title, "description": description,
            });
            if let Some(o) = body.as_object_mut() {
                if let Some(s) = severity {
                    o.insert("severity".into(), Value::String(s));
                }
                if let Some(e) = expiration {
                    o.insert("expirationTime".into(), Value::String(e));
                }
                if generate_alert {
                    o.insert("generateAlert".into(), Value::Bool(true));
                }
            }
            let tenants = api.tenants(&targets)?;
            let results = fan_out(&tenants, api.concurrency, |t| {
                let (c, body) = (api.client.clone(), body.clone());
                async move { c.submit_indicator(&t, &body).await }
            })
            .await;
            let mut sink = Sink::new(g.output, cols(INDICATOR_COLS));
            for r in &results {
                if let Ok(i) = &r.result {
                    sink.push(&r.tenant.name, serde_json::to_value(i)?)?;
                }
            }
            sink.finish()?;
            summarize(&results, |i| {
                format!("indicator {}", i.id.clone().unwrap_or_default())
            })
        }
        IndicatorsCommand::Delete { ids, tenant, yes } => {
            let t = api.one(&tenant)?;
            if ids.len() > 1 {
                confirm(
                    &format!("delete {} indicators in {}", ids.len(), t.name),
                    yes,
                )?;
            }
            let mut failed = 0;
            for id in &ids {
                match api.client.delete_indicator(&t, id).await {
                    Ok(()) => eprintln!("{}: deleted indicator {id}", t.name),
                    Err(e) => {
                        failed += 1;
                        eprintln!("{}: indicator {id}: {e}", t.name);
                    }
                }
            }
            if failed > 0 {
                return Err(NotReady(format!(
                    "{failed} of {} indicators were not deleted",
                    ids.len()
                ))
                .into());
            }
            Ok(())
        }
        IndicatorsCommand::Import { file, targets } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let v: Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", file.display()))?;
            let list = match v {
                Value::Array(a) => a,
                Value::Object(mut o) => match o.remove("Indicators") {
                    Some(Value::Array(a)) => a,
                    _ => bail!(
                        "{}: expected a list of indicators or {{\"Indicators\": [...]}}",
                        file.display()
                    ),
                },
                _ => bail!("{}: expected a list of indicators", file.display()),
            };
            let tenants = api.tenants(&targets)?;
            let list = std::sync::Arc::new(list);
            let results = fan_out(&tenants, api.concurrency, |t| {
                let (c, list) = (api.client.clone(), list.clone());
                async move { c.import_indicators(&t, &list).await }
            })
            .await;
            let mut sink = Sink::new(
                g.output,
                cols(&[
                    ("ID", "id"),
                    ("INDICATOR", "indicator"),
                    ("FAILED", "isFailed"),
                    ("REASON", "failureReason"),
                ]),
            );
            for r in &results {
                for line in r.result.iter().flatten() {
                    sink.push(&r.tenant.name, serde_json::to_value(line)?)?;
                }
            }
            sink.finish()?;
            summarize(&results, |v| {
                let bad = v.iter().filter(|x| x.is_failed).count();
                format!("{} imported, {bad} failed", v.len() - bad)
            })
        }
    }
}

/// Graph's enum spelling of a value given in MDE's (`High` → `high`, `InProgress` →
/// `inProgress`), so either is accepted on the command line.
fn graph_enum(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

pub async fn incidents(cmd: IncidentsCommand, g: &Global) -> Result<()> {
    let api = Api::open(g)?;
    match cmd {
        IncidentsCommand::List {
            targets,
            list,
            since,
            severity,
            status,
            alerts,
        } => {
            let q = graph_list_query(&list, since, severity, status)?;
            let tenants = api.tenants(&targets)?;
            let graph = api.graph.clone();
            stream_across(
                &api,
                tenants,
                move |t| graph.incidents(t, &q, alerts),
                g.output,
                cols(INCIDENT_COLS),
            )
            .await
        }
        IncidentsCommand::Get { id, tenant, alerts } => {
            let t = api.one(&tenant)?;
            let i = api.graph.incident(&t, &id, alerts).await?;
            print_one(g.output, &t.name, &i, cols(INCIDENT_COLS))
        }
        IncidentsCommand::Update {
            id,
            tenant,
            status,
            assigned_to,
            classification,
            determination,
            custom_tags,
            resolving_comment,
        } => {
            let t = api.one(&tenant)?;
            let mut body = Map::new();
            for (k, v) in [
                ("status", status),
                ("assignedTo", assigned_to),
                ("classification", classification),
                ("determination", determination),
                ("resolvingComment", resolving_comment),
            ] {
                if let Some(v) = v {
                    let v = if k == "assignedTo" || k == "resolvingComment" {
                        v
                    } else {
                        graph_enum(&v)
                    };
                    body.insert(k.into(), Value::String(v));
                }
            }
            if !custom_tags.is_empty() {
                body.insert("customTags".into(), serde_json::json!(custom_tags));
            }
            if body.is_empty() {
                bail!(
                    "nothing to update: give --status, --assigned-to, --classification, --determination, --custom-tag or --resolving-comment"
                );
            }
            let i = api
                .graph
                .update_incident(&t, &id, &Value::Object(body))
                .await?;
            print_one(g.output, &t.name, &i, cols(INCIDENT_COLS))
        }
    }
}

pub async fn hunt(args: HuntArgs, g: &Global) -> Result<()> {
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
    let tenants = api.tenants(&args.targets)?;
    let results = fan_out(&tenants, api.concurrency, |t| {
        let (c, gc, q) = (api.client.clone(), api.graph.clone(), query.clone());
        let (which, ts) = (args.api, args.timespan.clone());
        async move {
            match which {
                ApiChoice::Mde => c.hunt(&t, &q).await.map(|h| {
                    (
                        h.schema.into_iter().map(|c| c.name).collect::<Vec<_>>(),
                        h.results,
                    )
                }),
                ApiChoice::Graph => gc.hunt(&t, &q, ts.as_deref()).await.map(|h| {
                    (
                        h.schema.into_iter().map(|c| c.name).collect::<Vec<_>>(),
                        h.results,
                    )
                }),
            }
        }
    })
    .await;
    let columns: Columns = results
        .iter()
        .find_map(|r| r.result.as_ref().ok())
        .map(|(schema, _)| schema.iter().map(|c| (c.clone(), c.clone())).collect())
        .unwrap_or_default();
    let mut sink = Sink::new(g.output, columns);
    for r in &results {
        for row in r.result.iter().flat_map(|(_, rows)| rows.iter()) {
            sink.push(&r.tenant.name, Value::Object(row.clone()))?;
        }
    }
    sink.finish()?;
    summarize(&results, |(_, rows)| format!("{} rows", rows.len()))
}

pub async fn raw(args: RawArgs, g: &Global) -> Result<()> {
    let method = reqwest::Method::from_bytes(args.method.to_ascii_uppercase().as_bytes())?;
    let body: Option<Value> = match &args.body {
        None => None,
        Some(p) => {
            let text = if p.as_os_str() == "-" {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
                s
            } else {
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?
            };
            Some(serde_json::from_str(&text).context("--body is not JSON")?)
        }
    };
    if !args.path.starts_with('/') {
        bail!("PATH starts with / (e.g. /api/alerts); the host comes from the configuration");
    }
    let api = Api::open(g)?;
    let tenants = api.tenants(&args.targets)?;
    let format = if g.output == Output::Table {
        Output::Json
    } else {
        g.output
    };
    let results = fan_out(&tenants, api.concurrency, |t| {
        let (c, method, body, path) = (
            api.client.clone(),
            method.clone(),
            body.clone(),
            args.path.clone(),
        );
        async move { raw_one(&c, &t, method, &path, body.as_ref()).await }
    })
    .await;
    let mut sink = Sink::new(format, Vec::new());
    for r in &results {
        for item in r.result.iter().flatten() {
            sink.push(&r.tenant.name, item.clone())?;
        }
    }
    sink.finish()?;
    summarize(&results, |v| format!("{} items", v.len()))
}

/// One raw call; a collection is followed through its nextLinks and flattened.
async fn raw_one(
    c: &Client,
    t: &Tenant,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Vec<Value>, ApiError> {
    let is_get = method == reqwest::Method::GET;
    let bytes = c.raw(t, method, path, body).await?;
    if bytes.is_empty() {
        return Ok(vec![]);
    }
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| ApiError::Decode {
        tenant: t.name.clone(),
        url: path.to_owned(),
        message: e.to_string(),
    })?;
    let (Value::Array(first), true) = (v["value"].clone(), is_get) else {
        return Ok(vec![v]);
    };
    let mut items = first;
    let mut next = v["@odata.nextLink"].as_str().map(str::to_owned);
    let mut seen = std::collections::HashSet::new();
    while let Some(link) = next.take() {
        if !c.trusted(&link) || !seen.insert(link.clone()) {
            return Err(ApiError::Paging {
                tenant: t.name.clone(),
                message: format!("not following {link} (off the API host, or already read)"),
            });
        }
        let page: Value = c.get(t, &link).await?;
        if let Value::Array(more) = page["value"].clone() {
            items.extend(more);
        }
        next = page["@odata.nextLink"].as_str().map(str::to_owned);
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_counts_rows_per_tenant_and_drops_a_tenant_when_it_is_done() {
        // Drawn to stderr, which is not a terminal under test: nothing shows, the
        // counting is the same.
        let mut p = Progress::with_target(3, true);
        for _ in 0..250 {
            p.row("A");
        }
        p.row("B");
        assert_eq!(p.tenant("A").position(), 250);
        assert_eq!(p.rows, 251);
        p.done("A");
        assert!(!p.tenants.contains_key("A"));
        assert_eq!(p.overall.position(), 1);
        assert_eq!(p.overall.message(), "251");
        p.done("B");
        p.done("C");
        assert_eq!(p.overall.position(), 3);
        p.clear();
        assert!(p.tenants.is_empty());
    }

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
        assert_eq!(graph_enum("InProgress"), "inProgress");
        assert_eq!(graph_enum("high"), "high");
    }

    #[test]
    fn rows_are_coloured_by_severity_and_the_header_is_not() {
        let rows = vec![
            vec!["Contoso".to_owned(), "a1".to_owned(), "High".to_owned()],
            vec!["Contoso".to_owned(), "a2".to_owned(), "Low".to_owned()],
        ];
        let text = table(&["TENANT", "ALERT", "SEVERITY"], &rows);
        let c = colourize(&text, &rows, 2);
        let lines: Vec<&str> = c.lines().collect();
        assert!(lines[0].starts_with("TENANT"));
        assert_eq!(lines[1], "\x1b[31mContoso  a1     High\x1b[0m");
        assert_eq!(lines[2], "Contoso  a2     Low");
    }

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}

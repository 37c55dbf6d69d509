//! What the pages read from the store: each a parameterised statement in the store's
//! dialect (values never enter the SQL text), the rows turned into plain structs.

use crate::{Ui, UiError};
use mdep_sync::Rows;
use mdep_sync::view::Conditions;
use serde_json::Value;
use std::collections::HashMap;

/// Severities, most severe first (MDE's `severity` values).
pub const SEVERITIES: [&str; 5] = ["High", "Medium", "Low", "Informational", "UnSpecified"];
/// Alert statuses (MDE's `status` values).
pub const STATUSES: [&str; 4] = ["New", "InProgress", "Resolved", "Unknown"];
/// Device health states (MDE's `healthStatus` values).
pub const HEALTH: [&str; 6] = [
    "Active",
    "Inactive",
    "ImpairedCommunication",
    "NoSensorData",
    "NoSensorDataImpairedCommunication",
    "Unknown",
];
/// Device risk scores (MDE's `riskScore` values).
pub const RISK: [&str; 5] = ["None", "Informational", "Low", "Medium", "High"];

/// A value as text (`None` for null).
pub fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// A value as a count (0 for null or anything else).
pub fn int(v: &Value) -> u64 {
    match v {
        Value::Number(n) => n.as_u64().unwrap_or(0),
        Value::String(s) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

fn float(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// A JSON array held as text (tags, missing roles).
fn list(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => serde_json::from_str(s).unwrap_or_default(),
        Value::Array(a) => a.iter().filter_map(text).collect(),
        _ => vec![],
    }
}

/// The index of a severity in [`SEVERITIES`]; anything else counts as UnSpecified.
pub fn severity_index(s: Option<&str>) -> usize {
    s.and_then(|s| SEVERITIES.iter().position(|x| x.eq_ignore_ascii_case(s)))
        .unwrap_or(SEVERITIES.len() - 1)
}

/// A column holding a time, exactly (microseconds), as text: keyset positions.
fn exact_time(pg: bool, expr: &str) -> String {
    if pg {
        format!("to_char({expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
    } else {
        expr.to_owned()
    }
}

/// A parameter compared with a time column.
fn time_param(c: &mut Conditions, v: String) -> String {
    let p = c.param(v);
    if c.is_postgres() {
        format!("{p}::timestamptz")
    } else {
        p
    }
}

/// `%text%` for `LIKE … ESCAPE '\'`, with `%`, `_` and `\` taken literally.
fn like(v: &str) -> String {
    let mut s = String::from("%");
    for ch in v.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            s.push('\\');
        }
        s.push(ch);
    }
    s.push('%');
    s
}

/// `alias.col` contains `v` (any case), for each column: one OR'ed condition. SQLite's
/// `LIKE` ignores ASCII case by itself (no `lower()` per row); PostgreSQL's `ILIKE` does.
pub fn contains(c: &mut Conditions, cols: &[&str], v: &str) {
    let p = c.param(like(v));
    let op = if c.is_postgres() { "ILIKE" } else { "LIKE" };
    let any: Vec<String> = cols
        .iter()
        .map(|col| format!("{col} {op} {p} ESCAPE '\\'"))
        .collect();
    c.push(format!("({})", any.join(" OR ")));
}

/// Rows of the tenants `given` (names or keys, any case) in `alias.tenant`, matched
/// against `known` `(key, name)` here so the store compares keys (indexed); a filter
/// that names no known tenant matches nothing.
pub fn of_tenants(c: &mut Conditions, alias: &str, given: &[String], known: &[(String, String)]) {
    if given.is_empty() {
        return;
    }
    let keys: Vec<String> = known
        .iter()
        .filter(|(k, n)| {
            given
                .iter()
                .any(|g| g.eq_ignore_ascii_case(k) || g.eq_ignore_ascii_case(n))
        })
        .map(|(k, _)| k.clone())
        .collect();
    if keys.is_empty() {
        c.push("1 = 0".into());
    } else {
        c.one_of(&format!("{alias}.tenant"), &keys);
    }
}

/// The tenants (`t`, the joined `tenants` table) tagged `tag`, any case.
pub fn tagged(c: &mut Conditions, tag: &str) {
    let quoted = serde_json::to_string(&tag.to_lowercase()).unwrap_or_default();
    let p = c.param(like(&quoted));
    c.push(format!("lower(t.tags) LIKE {p} ESCAPE '\\'"));
}

/// The last `tenants check` of a tenant.
#[derive(Debug, Clone)]
pub struct Check {
    pub checked_at: Option<String>,
    pub ready: bool,
    pub status: String,
    pub missing: Vec<String>,
    pub graph_missing: Vec<String>,
    pub token_expires: Option<String>,
    pub aadsts: Option<u64>,
    pub hint: Option<String>,
}

/// The last sync run of a tenant (`sync_log`).
#[derive(Debug, Clone)]
pub struct Run {
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub errors: u64,
    pub message: Option<String>,
    pub new_rows: u64,
    pub updated_rows: u64,
}

/// One customer on the tenants page.
#[derive(Debug, Clone, Default)]
pub struct TenantRow {
    pub key: String,
    pub name: String,
    pub tags: Vec<String>,
    pub check: Option<Check>,
    pub run: Option<Run>,
    /// Open (not resolved) alerts by [`SEVERITIES`] index.
    pub open: [u64; 5],
    pub devices: u64,
    pub high_risk: u64,
    pub exposure: Option<f64>,
    pub configuration: Option<f64>,
    pub score_message: Option<String>,
}

impl TenantRow {
    /// Open alerts of every severity.
    pub fn open_total(&self) -> u64 {
        self.open.iter().sum()
    }
}

impl Ui {
    async fn rows(&self, sql: &str, c: &Conditions) -> Result<Rows, UiError> {
        Ok(self.store.query(sql, c.params()).await?)
    }

    /// Every tenant the store knows (synced or checked), with its figures.
    pub async fn tenants(&self) -> Result<Vec<TenantRow>, UiError> {
        let c = Conditions::new(self.pg());
        let mut by: HashMap<String, TenantRow> = HashMap::new();
        let entry = |by: &mut HashMap<String, TenantRow>, k: &Value| -> Option<String> {
            let k = text(k)?;
            by.entry(k.clone()).or_insert_with(|| TenantRow {
                key: k.clone(),
                name: k.clone(),
                ..TenantRow::default()
            });
            Some(k)
        };
        for r in self
            .rows("SELECT tenant, name, tags FROM tenants", &c)
            .await?
            .rows
        {
            if let Some(k) = entry(&mut by, &r[0]) {
                let t = by.get_mut(&k).expect("inserted");
                t.name = text(&r[1]).unwrap_or(k);
                t.tags = list(&r[2]);
            }
        }
        let checks = format!(
            "SELECT tenant, name, {}, ready, status, missing_roles, graph_missing_roles, token_expires, aadsts, hint FROM tenant_checks k",
            c.utc_text("k", "checked_at")
        );
        for r in self.rows(&checks, &c).await?.rows {
            if let Some(k) = entry(&mut by, &r[0]) {
                let t = by.get_mut(&k).expect("inserted");
                if t.name == k
                    && let Some(n) = text(&r[1])
                {
                    t.name = n;
                }
                t.check = Some(Check {
                    checked_at: text(&r[2]),
                    ready: int(&r[3]) != 0 || r[3] == Value::Bool(true),
                    status: text(&r[4]).unwrap_or_default(),
                    missing: list(&r[5]),
                    graph_missing: list(&r[6]),
                    token_expires: text(&r[7]),
                    aadsts: text(&r[8]).and_then(|s| s.parse().ok()),
                    hint: text(&r[9]),
                });
            }
        }
        let runs = format!(
            "SELECT l.tenant, {}, {}, l.errors, l.message, l.new_rows, l.updated_rows
             FROM sync_log l JOIN (SELECT tenant, MAX(id) AS id FROM sync_log GROUP BY tenant) m ON m.id = l.id",
            c.utc_text("l", "started_at"),
            c.utc_text("l", "finished_at")
        );
        for r in self.rows(&runs, &c).await?.rows {
            if let Some(k) = entry(&mut by, &r[0]) {
                by.get_mut(&k).expect("inserted").run = Some(Run {
                    started_at: text(&r[1]),
                    finished_at: text(&r[2]),
                    errors: int(&r[3]),
                    message: text(&r[4]),
                    new_rows: int(&r[5]),
                    updated_rows: int(&r[6]),
                });
            }
        }
        let open = "SELECT tenant, severity, COUNT(*) FROM alerts
                    WHERE status IS NULL OR status <> 'Resolved' GROUP BY tenant, severity";
        for r in self.rows(open, &c).await?.rows {
            if let Some(k) = entry(&mut by, &r[0]) {
                let i = severity_index(text(&r[1]).as_deref());
                by.get_mut(&k).expect("inserted").open[i] += int(&r[2]);
            }
        }
        let devices =
            "SELECT tenant, COUNT(*), SUM(CASE WHEN risk_score = 'High' THEN 1 ELSE 0 END)
                       FROM machines GROUP BY tenant";
        for r in self.rows(devices, &c).await?.rows {
            if let Some(k) = entry(&mut by, &r[0]) {
                let t = by.get_mut(&k).expect("inserted");
                t.devices = int(&r[1]);
                t.high_risk = int(&r[2]);
            }
        }
        let scores =
            "SELECT tenant, exposure_score, configuration_score, message FROM tenant_scores";
        for r in self.rows(scores, &c).await?.rows {
            if let Some(k) = entry(&mut by, &r[0]) {
                let t = by.get_mut(&k).expect("inserted");
                t.exposure = float(&r[1]);
                t.configuration = float(&r[2]);
                t.score_message = text(&r[3]);
            }
        }
        let mut out: Vec<TenantRow> = by.into_values().collect();
        out.sort_by_key(|t| t.name.to_lowercase());
        Ok(out)
    }
}

impl Ui {
    /// `(key, name)` of every tenant synced or checked, by name: the tenant filter.
    pub async fn tenant_names(&self) -> Result<Vec<(String, String)>, UiError> {
        let c = Conditions::new(self.pg());
        let rows = self
            .rows(
                "SELECT tenant, name FROM tenants UNION SELECT tenant, name FROM tenant_checks k
                 WHERE NOT EXISTS (SELECT 1 FROM tenants t WHERE t.tenant = k.tenant)",
                &c,
            )
            .await?;
        let mut out: Vec<(String, String)> = rows
            .rows
            .iter()
            .filter_map(|r| Some((text(&r[0])?, text(&r[1]).unwrap_or_default())))
            .collect();
        out.sort_by_key(|t| t.1.to_lowercase());
        Ok(out)
    }
}

impl Ui {
    /// The tenant's name and the raw JSON of the row `(tenant, id)` of `table`, as
    /// `mdep sync` stored it; `None` when there is none.
    pub async fn stored(
        &self,
        table: &str,
        tenant: &str,
        id: &str,
    ) -> Result<Option<(String, Value)>, UiError> {
        let mut c = Conditions::new(self.pg());
        let (pt, pi) = (c.param(tenant.to_owned()), c.param(id.to_owned()));
        c.push(format!("x.tenant = {pt} AND x.id = {pi}"));
        let sql = format!(
            "SELECT COALESCE(t.name, x.tenant), {} FROM {table} x LEFT JOIN tenants t ON t.tenant = x.tenant{}",
            c.raw_text("x"),
            c.sql()
        );
        let rows = self.rows(&sql, &c).await?;
        Ok(rows.rows.first().map(|r| {
            let raw = match &r[1] {
                Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
                v => v.clone(),
            };
            (text(&r[0]).unwrap_or_default(), raw)
        }))
    }
}

/// A table page: its rows, how many match in all, and the keyset positions around it.
#[derive(Debug, Default)]
pub struct Page {
    pub rows: Rows,
    pub total: u64,
    /// The position after the last row, when there are more.
    pub next: Option<Vec<String>>,
    /// The position before the first row, when this is not the first page.
    pub prev: Option<Vec<String>>,
}

/// Where a page starts.
#[derive(Debug, Clone)]
pub enum Seek {
    First,
    After(Vec<String>),
    Before(Vec<String>),
}

/// One keyset-paged listing: `select` (columns, the last `keys.len()` of them the
/// key's text form) from `from` (the joined tables) ordered by `keys` (expressions,
/// descending when `desc`), filtered by `c`.
pub struct Listing<'a> {
    pub select: String,
    pub from: &'a str,
    pub keys: &'a [&'a str],
    /// Which keys are times (compared as times on PostgreSQL).
    pub time_keys: &'a [bool],
    pub desc: bool,
}

impl Ui {
    /// Reads one page of `l`.
    pub async fn page(
        &self,
        l: &Listing<'_>,
        mut c: Conditions,
        seek: &Seek,
        size: u64,
    ) -> Result<Page, UiError> {
        // The count needs no cursor condition: taken before it is added.
        let count = (
            format!("SELECT COUNT(*) FROM {}{}", l.from, c.sql()),
            c.clone(),
        );
        let backwards = matches!(seek, Seek::Before(_));
        if let Seek::After(k) | Seek::Before(k) = seek {
            let ps: Vec<String> = k
                .iter()
                .zip(l.time_keys)
                .map(|(v, t)| {
                    if *t {
                        time_param(&mut c, v.clone())
                    } else {
                        c.param(v.clone())
                    }
                })
                .collect();
            // Later in the order: smaller when descending.
            let op = if l.desc != backwards { "<" } else { ">" };
            c.push(format!("({}) {op} ({})", l.keys.join(", "), ps.join(", ")));
        }
        let dir = if l.desc != backwards { "DESC" } else { "ASC" };
        let order: Vec<String> = l.keys.iter().map(|k| format!("{k} {dir}")).collect();
        let sql = format!(
            "SELECT {}, {} FROM {}{} ORDER BY {} LIMIT {}",
            l.select,
            l.keys
                .iter()
                .zip(l.time_keys)
                .enumerate()
                .map(|(i, (k, t))| {
                    let e = if *t {
                        exact_time(self.pg(), k)
                    } else {
                        (*k).to_owned()
                    };
                    format!("{e} AS k{i}")
                })
                .collect::<Vec<_>>()
                .join(", "),
            l.from,
            c.sql(),
            order.join(", "),
            size + 1
        );
        let mut rows = self.rows(&sql, &c).await?;
        let more = rows.rows.len() as u64 > size;
        // A first page that holds every match is its own count: one scan, not two.
        let total = if matches!(seek, Seek::First) && !more {
            rows.rows.len() as u64
        } else {
            self.rows(&count.0, &count.1)
                .await?
                .rows
                .first()
                .and_then(|r| r.first())
                .map_or(0, int)
        };
        rows.rows.truncate(size as usize);
        if backwards {
            rows.rows.reverse();
        }
        let nk = l.keys.len();
        let key_of = |r: &Vec<Value>| -> Vec<String> {
            r[r.len() - nk..]
                .iter()
                .map(|v| text(v).unwrap_or_default())
                .collect()
        };
        let (first, last) = (rows.rows.first().map(key_of), rows.rows.last().map(key_of));
        let (next, prev) = match seek {
            Seek::First => (last.filter(|_| more), None),
            Seek::After(_) => (last.filter(|_| more), first),
            Seek::Before(_) => (last, first.filter(|_| more)),
        };
        rows.columns.truncate(rows.columns.len() - nk);
        for r in &mut rows.rows {
            r.truncate(r.len() - nk);
        }
        Ok(Page {
            rows,
            total,
            next,
            prev,
        })
    }

    /// Runs a statement built on `c` (details, charts, exports).
    pub async fn select(&self, sql: &str, c: &Conditions) -> Result<Rows, UiError> {
        self.rows(sql, c).await
    }
}

//! Reading the store back the way `mdep db` does, for any front end: a `WHERE` builder
//! with numbered parameters in either dialect, the queries of `mdep db alerts` and
//! `mdep db machines` (their columns and order), and the CSV / JSON / JSON-lines
//! writing of query rows.

use crate::store::Rows;
use serde_json::{Map, Value};
use std::io::Write;

/// Builds `WHERE` conditions with numbered parameters in either dialect.
#[derive(Debug, Clone)]
pub struct Conditions {
    pg: bool,
    parts: Vec<String>,
    params: Vec<String>,
}

impl Conditions {
    /// No conditions yet; `pg` picks PostgreSQL's dialect (`$1::text`), else SQLite's (`?1`).
    pub fn new(pg: bool) -> Self {
        Self {
            pg,
            parts: vec![],
            params: vec![],
        }
    }

    /// Whether this builds PostgreSQL's dialect.
    pub fn is_postgres(&self) -> bool {
        self.pg
    }

    /// A timestamp column `alias.col` as RFC 3339 text in UTC, named `col`.
    pub fn utc_text(&self, alias: &str, col: &str) -> String {
        if self.pg {
            format!(
                "to_char({alias}.{col} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS {col}"
            )
        } else {
            format!("substr({alias}.{col}, 1, 19) || 'Z' AS {col}")
        }
    }

    /// The raw JSON column of `alias` as text.
    pub fn raw_text(&self, alias: &str) -> String {
        if self.pg {
            format!("{alias}.raw::text AS raw")
        } else {
            format!("{alias}.raw")
        }
    }

    /// ` LIMIT n` when a limit is given.
    pub fn limit(n: Option<u64>) -> String {
        n.map(|n| format!(" LIMIT {n}")).unwrap_or_default()
    }

    /// Adds a parameter; returns its placeholder (text on PostgreSQL).
    pub fn param(&mut self, v: String) -> String {
        self.params.push(v);
        if self.pg {
            format!("${}::text", self.params.len())
        } else {
            format!("?{}", self.params.len())
        }
    }

    /// Rows of any of these tenants, by configured name (case-insensitive, through the
    /// `tenants` table joined as `t`) or by key; nothing when `names` is empty.
    pub fn tenants(&mut self, alias: &str, names: &[String]) {
        if names.is_empty() {
            return;
        }
        let mut any = Vec::new();
        for n in names {
            let p = self.param(n.to_ascii_lowercase());
            any.push(format!("(lower(t.name) = {p} OR {alias}.tenant = {p})"));
        }
        self.parts.push(format!("({})", any.join(" OR ")));
    }

    /// `lower(column)` is one of `values` (case-insensitive); nothing when empty.
    pub fn any_of(&mut self, column: &str, values: &[String]) {
        if values.is_empty() {
            return;
        }
        let ps: Vec<String> = values
            .iter()
            .map(|v| self.param(v.to_ascii_lowercase()))
            .collect();
        self.parts
            .push(format!("lower({column}) IN ({})", ps.join(", ")));
    }

    /// `column` is exactly one of `values` (an index can serve it, unlike
    /// [`Conditions::any_of`]); nothing when empty.
    pub fn one_of(&mut self, column: &str, values: &[String]) {
        if values.is_empty() {
            return;
        }
        let ps: Vec<String> = values.iter().map(|v| self.param(v.clone())).collect();
        self.parts.push(format!("{column} IN ({})", ps.join(", ")));
    }

    /// Adds a condition as it is (its parameters through [`Conditions::param`]).
    pub fn push(&mut self, condition: String) {
        self.parts.push(condition);
    }

    /// ` WHERE a AND b …`, or nothing.
    pub fn sql(&self) -> String {
        if self.parts.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.parts.join(" AND "))
        }
    }

    /// The parameters, in placeholder order.
    pub fn params(&self) -> &[String] {
        &self.params
    }
}

/// Which alerts `mdep db alerts` shows.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    /// Tenant names or keys (any of them); all when empty.
    pub tenants: Vec<String>,
    /// Only alerts not resolved.
    pub open: bool,
    /// Severities (any of them, case-insensitive).
    pub severity: Vec<String>,
    /// Statuses (any of them, case-insensitive).
    pub status: Vec<String>,
    /// At most this many rows.
    pub limit: Option<u64>,
}

/// The alerts query: tenant name, id, severity, status, creation and update times,
/// device, title and the raw JSON, newest first. Its parameters are `c.params()`.
pub fn alerts_sql(c: &mut Conditions, f: &AlertFilter) -> String {
    c.tenants("a", &f.tenants);
    if f.open {
        c.push("(a.status IS NULL OR a.status <> 'Resolved')".into());
    }
    c.any_of("a.severity", &f.severity);
    c.any_of("a.status", &f.status);
    format!(
        "SELECT COALESCE(t.name, a.tenant) AS tenant, a.id, a.severity, a.status, {}, {}, a.computer_dns_name AS device, a.title, {}
                 FROM alerts a LEFT JOIN tenants t ON t.tenant = a.tenant{} ORDER BY a.alert_creation_time DESC, a.id{}",
        c.utc_text("a", "alert_creation_time"),
        c.utc_text("a", "last_update_time"),
        c.raw_text("a"),
        c.sql(),
        Conditions::limit(f.limit)
    )
}

/// Which devices `mdep db machines` shows.
#[derive(Debug, Clone, Default)]
pub struct MachineFilter {
    /// Tenant names or keys (any of them); all when empty.
    pub tenants: Vec<String>,
    /// Health states (any of them, case-insensitive).
    pub health: Vec<String>,
    /// Only devices last seen before this (or never).
    pub not_seen_since: Option<time::OffsetDateTime>,
    /// At most this many rows.
    pub limit: Option<u64>,
}

/// The devices query: tenant name, id, name, OS, health, risk, last seen and the raw
/// JSON, by tenant then name. Its parameters are `c.params()`.
pub fn machines_sql(c: &mut Conditions, f: &MachineFilter) -> String {
    c.tenants("m", &f.tenants);
    c.any_of("m.health_status", &f.health);
    if let Some(before) = f.not_seen_since {
        let p = c.param(crate::entity::norm_time(before));
        let cmp = if c.pg { format!("{p}::timestamptz") } else { p };
        c.push(format!("(m.last_seen IS NULL OR m.last_seen < {cmp})"));
    }
    format!(
        "SELECT COALESCE(t.name, m.tenant) AS tenant, m.id, m.computer_dns_name AS name, m.os_platform AS os,
                        m.health_status AS health, m.risk_score AS risk, {}, {}
                 FROM machines m LEFT JOIN tenants t ON t.tenant = m.tenant{} ORDER BY 1, m.computer_dns_name{}",
        c.utc_text("m", "last_seen"),
        c.raw_text("m"),
        c.sql(),
        Conditions::limit(f.limit)
    )
}

/// How [`write_rows`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowFormat {
    /// A header line, then a line per row.
    Csv,
    /// One pretty-printed JSON array of objects.
    Json,
    /// One JSON object per line.
    Jsonl,
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// A value as a table or CSV cell: strings bare, null empty, anything else as JSON.
pub fn cell_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The columns shown in a table or CSV: all but `raw_column`.
pub fn shown_columns(rows: &Rows, raw_column: Option<&str>) -> Vec<usize> {
    let raw_ix = raw_column.and_then(|c| rows.columns.iter().position(|x| x == c));
    (0..rows.columns.len())
        .filter(|i| Some(*i) != raw_ix)
        .collect()
}

/// Writes query rows as CSV, JSON or JSON lines. `raw_column` (JSON text) becomes the
/// object of each row for JSON, with `tenant` first, as `mdep alerts list -o json`
/// prints it; CSV leaves it out.
pub fn write_rows(
    w: &mut impl Write,
    rows: &Rows,
    format: RowFormat,
    raw_column: Option<&str>,
) -> std::io::Result<()> {
    let raw_ix = raw_column.and_then(|c| rows.columns.iter().position(|x| x == c));
    let object = |r: &Vec<Value>| -> Value {
        let mut m = Map::new();
        if let Some(ri) = raw_ix {
            let tenant = rows.columns.iter().position(|c| c == "tenant");
            if let Some(ti) = tenant {
                m.insert("tenant".into(), r[ti].clone());
            }
            let raw = match &r[ri] {
                Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
                other => other.clone(),
            };
            if let Value::Object(o) = raw {
                m.extend(o);
            }
        } else {
            for (c, v) in rows.columns.iter().zip(r) {
                m.insert(c.clone(), v.clone());
            }
        }
        Value::Object(m)
    };
    match format {
        RowFormat::Csv => {
            let shown = shown_columns(rows, raw_column);
            let h: Vec<String> = shown.iter().map(|i| csv_field(&rows.columns[*i])).collect();
            writeln!(w, "{}", h.join(","))?;
            for r in &rows.rows {
                let line: Vec<String> = shown
                    .iter()
                    .map(|i| csv_field(&cell_text(&r[*i])))
                    .collect();
                writeln!(w, "{}", line.join(","))?;
            }
        }
        RowFormat::Jsonl => {
            for r in &rows.rows {
                writeln!(w, "{}", object(r))?;
            }
        }
        RowFormat::Json => {
            let all: Vec<Value> = rows.rows.iter().map(object).collect();
            writeln!(w, "{}", serde_json::to_string_pretty(&all)?)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn conditions_number_their_parameters_in_each_dialect() {
        let f = AlertFilter {
            tenants: vec!["Contoso".into()],
            open: true,
            severity: vec!["High".into(), "Medium".into()],
            status: vec![],
            limit: Some(5),
        };
        let mut lite = Conditions::new(false);
        let sql = alerts_sql(&mut lite, &f);
        assert!(
            sql.contains(" WHERE ((lower(t.name) = ?1 OR a.tenant = ?1)) AND (a.status IS NULL OR a.status <> 'Resolved') AND lower(a.severity) IN (?2, ?3) ORDER BY a.alert_creation_time DESC, a.id LIMIT 5"),
            "{sql}"
        );
        assert_eq!(lite.params(), ["contoso", "high", "medium"]);
        let mut pg = Conditions::new(true);
        let sql = alerts_sql(&mut pg, &f);
        assert!(
            sql.contains("lower(a.severity) IN ($2::text, $3::text)"),
            "{sql}"
        );
        assert!(sql.contains("a.raw::text AS raw"), "{sql}");
        let m = MachineFilter {
            not_seen_since: crate::entity::parse_time("2026-11-01T00:00:00Z"),
            ..MachineFilter::default()
        };
        let mut pg = Conditions::new(true);
        let sql = machines_sql(&mut pg, &m);
        assert!(
            sql.contains(" WHERE (m.last_seen IS NULL OR m.last_seen < $1::text::timestamptz)"),
            "{sql}"
        );
        assert_eq!(pg.params(), ["2026-11-01T00:00:00.000000Z"]);
    }

    #[test]
    fn rows_are_written_as_csv_json_and_json_lines() {
        let rows = Rows {
            columns: vec!["tenant".into(), "id".into(), "title".into(), "raw".into()],
            rows: vec![vec![
                json!("Contoso"),
                json!("a1"),
                json!("one, two"),
                json!(r#"{"id":"a1","title":"one, two","n":1}"#),
            ]],
        };
        let text = |f: RowFormat, raw: Option<&str>| {
            let mut out = Vec::new();
            write_rows(&mut out, &rows, f, raw).expect("write");
            String::from_utf8(out).expect("utf8")
        };
        assert_eq!(
            text(RowFormat::Csv, Some("raw")),
            "tenant,id,title\nContoso,a1,\"one, two\"\n"
        );
        assert_eq!(
            text(RowFormat::Jsonl, Some("raw")),
            "{\"tenant\":\"Contoso\",\"id\":\"a1\",\"title\":\"one, two\",\"n\":1}\n"
        );
        let all: Value = serde_json::from_str(&text(RowFormat::Json, None)).expect("json");
        assert_eq!(all[0]["title"], "one, two");
        assert_eq!(
            all[0]["raw"].as_str().map(|s| s.contains("\"n\":1")),
            Some(true)
        );
    }
}

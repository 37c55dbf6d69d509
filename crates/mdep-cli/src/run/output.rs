//! Rows on stdout: a table, JSON, JSON lines or CSV, each row tagged with its tenant.

use crate::context::{Output, table};
use anyhow::Result;
use serde::Serialize;
use serde_json::{Map, Value};
use std::io::{IsTerminal, Write};

/// Columns of a table or CSV: header and JSON key.
pub type Columns = Vec<(String, String)>;

/// Columns from a table of (header, JSON key).
pub fn cols(spec: &[(&str, &str)]) -> Columns {
    spec.iter()
        .map(|(h, k)| ((*h).to_owned(), (*k).to_owned()))
        .collect()
}

/// A value as a table or CSV cell: strings bare, lists comma-joined, null empty.
pub fn cell(v: Option<&Value>) -> String {
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

/// CSV quoting, one rule for every command (the store's rows use it too).
pub use mdep_sync::view::csv_field;

/// Pretty JSON on stdout.
pub fn print_json(v: &Value) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
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
    pub fn new(format: Output, columns: Columns) -> Self {
        Self {
            format,
            columns,
            table: Vec::new(),
            count: 0,
            out: Box::new(std::io::BufWriter::new(std::io::stdout())),
        }
    }

    /// The row object: `tenant` first, then the item's fields.
    pub fn tagged(tenant: &str, item: Value) -> Map<String, Value> {
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

    pub fn push(&mut self, tenant: &str, item: Value) -> Result<()> {
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

    pub fn finish(mut self) -> Result<()> {
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

/// One item of one tenant: the tagged object for JSON, else a one-row list.
pub fn print_one<T: Serialize>(
    format: Output,
    tenant: &str,
    item: &T,
    columns: &[(&str, &str)],
) -> Result<()> {
    let v = serde_json::to_value(item)?;
    match format {
        Output::Json => print_json(&Value::Object(Sink::tagged(tenant, v))),
        _ => {
            let mut s = Sink::new(format, cols(columns));
            s.push(tenant, v)?;
            s.finish()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}

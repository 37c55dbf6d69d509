//! The engine's values: cells, column types, tables, and how cells compare, print and
//! go out as JSON.

use crate::defender::generate::ts7;
use crate::request::error::{MdeError, truncate};
use serde_json::{Value, json};
use std::cmp::Ordering;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Most rows a query returns (`mde-api.md` §4.7).
pub const MAX_ROWS: usize = 100_000;

/// A cell.
#[derive(Debug, Clone, PartialEq)]
pub enum V {
    /// Null.
    Null,
    /// String.
    Str(String),
    /// Integer.
    Int(i64),
    /// Real.
    Real(f64),
    /// Boolean.
    Bool(bool),
    /// Instant, nanoseconds since the epoch.
    Time(i128),
    /// Duration in nanoseconds.
    Span(i128),
}

/// A column type, named as the API's `Schema` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// `String`
    Str,
    /// `DateTime`
    Time,
    /// `Int64`
    Int,
    /// `Double`
    Real,
    /// `Boolean`
    Bool,
    /// `TimeSpan`
    Span,
}

impl Ty {
    /// The type name both hunting APIs write in their schema.
    pub fn name(self) -> &'static str {
        match self {
            Self::Str => "String",
            Self::Time => "DateTime",
            Self::Int => "Int64",
            Self::Real => "Double",
            Self::Bool => "Boolean",
            Self::Span => "TimeSpan",
        }
    }
}

/// A table: columns and rows.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Column names and types.
    pub cols: Vec<(String, Ty)>,
    /// Rows, aligned with `cols`.
    pub rows: Vec<Vec<V>>,
}

/// 400 `BadRequest` for a query the engine refuses.
pub fn bad(message: impl Into<String>) -> MdeError {
    MdeError::bad_request(message)
}

pub fn time_of(s: &str) -> Option<i128> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .or_else(|| OffsetDateTime::parse(&format!("{s}T00:00:00Z"), &Rfc3339).ok())
        .map(OffsetDateTime::unix_timestamp_nanos)
}

pub fn unresolved(name: &str) -> MdeError {
    bad(format!(
        "Failed to resolve scalar expression named '{}'.",
        truncate(name)
    ))
}

pub fn text(v: &V) -> Option<String> {
    Some(match v {
        V::Null => return None,
        V::Str(s) => s.clone(),
        V::Int(n) => n.to_string(),
        V::Real(x) => x.to_string(),
        V::Bool(b) => b.to_string(),
        V::Time(t) => time_text(*t),
        V::Span(n) => format!("{}s", n / 1_000_000_000),
    })
}

pub fn time_text(nanos: i128) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(nanos).map_or_else(|_| String::new(), ts7)
}

pub fn cmp(a: &V, b: &V) -> Option<Ordering> {
    match (a, b) {
        (V::Null, _) | (_, V::Null) => None,
        (V::Int(x), V::Int(y)) => Some(x.cmp(y)),
        (V::Int(x), V::Real(y)) => (*x as f64).partial_cmp(y),
        (V::Real(x), V::Int(y)) => x.partial_cmp(&(*y as f64)),
        (V::Real(x), V::Real(y)) => x.partial_cmp(y),
        (V::Time(x), V::Time(y)) | (V::Span(x), V::Span(y)) => Some(x.cmp(y)),
        (V::Time(x), V::Str(s)) => time_of(s).map(|y| x.cmp(&y)),
        (V::Str(s), V::Time(y)) => time_of(s).map(|x| x.cmp(y)),
        (V::Bool(x), V::Bool(y)) => Some(x.cmp(y)),
        (V::Str(x), V::Str(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

pub fn sort_cmp(a: &V, b: &V) -> Ordering {
    match (a, b) {
        (V::Null, V::Null) => Ordering::Equal,
        (V::Null, _) => Ordering::Less,
        (_, V::Null) => Ordering::Greater,
        _ => cmp(a, b).unwrap_or(Ordering::Equal),
    }
}

/// A cell as JSON, as both hunting APIs write it.
pub fn cell(v: &V) -> Value {
    match v {
        V::Null => Value::Null,
        V::Str(s) => json!(s),
        V::Int(n) => json!(n),
        V::Real(x) => serde_json::Number::from_f64(*x).map_or(Value::Null, Value::Number),
        V::Bool(b) => json!(b),
        V::Time(t) => json!(time_text(*t)),
        V::Span(n) => {
            let secs = n / 1_000_000_000;
            json!(format!(
                "{}{:02}:{:02}:{:02}",
                if secs >= 86_400 {
                    format!("{}.", secs / 86_400)
                } else {
                    String::new()
                },
                (secs % 86_400) / 3600,
                (secs % 3600) / 60,
                secs % 60
            ))
        }
    }
}

//! Advanced hunting: `POST /api/advancedqueries/run` with the KQL subset of [`kql`] over
//! four tables made from the tenant's data: `DeviceInfo` (one row per device),
//! `AlertInfo` (per alert), `AlertEvidence` (per evidence, plus the device) and a minimal
//! `DeviceProcessEvents` (the processes in alert evidence). The answer has `Stats`,
//! `Schema` and `Results` (`mde-api.md` §4.7); a query outside the subset is 400 naming
//! what is not supported. Its own quota: 45 calls a minute per tenant by default.

pub mod kql;

use super::data::{TenantData, read};
use super::generate::ts7;
use crate::AppState;
use crate::request::auth::{Caller, caller_data};
use crate::request::error::{MdeError, truncate};
use crate::request::mde::{ApiResult, body_object, json, str_param};
use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use kql::{Agg, BinOp, Expr, Lit, Op};
use serde_json::{Value, json};
use std::cmp::Ordering;
use std::collections::HashMap;
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

fn time_of(s: &str) -> Option<i128> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .or_else(|| OffsetDateTime::parse(&format!("{s}T00:00:00Z"), &Rfc3339).ok())
        .map(OffsetDateTime::unix_timestamp_nanos)
}

fn s(v: &Value) -> V {
    v.as_str().map_or(V::Null, |x| V::Str(x.to_owned()))
}

fn t(v: &Value) -> V {
    v.as_str().and_then(time_of).map_or(V::Null, V::Time)
}

fn i(v: &Value) -> V {
    v.as_i64().map_or(V::Null, V::Int)
}

const STR: Ty = Ty::Str;

fn table(name: &str, d: &TenantData) -> Option<Table> {
    let cols = |names: &[(&str, Ty)]| names.iter().map(|(n, t)| ((*n).to_owned(), *t)).collect();
    Some(match name {
        "DeviceInfo" => Table {
            cols: cols(&[
                ("Timestamp", Ty::Time),
                ("DeviceId", STR),
                ("DeviceName", STR),
                ("ClientVersion", STR),
                ("PublicIP", STR),
                ("OSArchitecture", STR),
                ("OSPlatform", STR),
                ("OSBuild", Ty::Int),
                ("OSVersion", STR),
                ("IsAzureADJoined", Ty::Bool),
                ("AadDeviceId", STR),
                ("MachineGroup", STR),
                ("OnboardingStatus", STR),
                ("ExposureLevel", STR),
            ]),
            rows: d
                .machines
                .iter()
                .map(|m| {
                    vec![
                        t(&m["lastSeen"]),
                        s(&m["id"]),
                        s(&m["computerDnsName"]),
                        s(&m["agentVersion"]),
                        s(&m["lastExternalIpAddress"]),
                        s(&m["osArchitecture"]),
                        s(&m["osPlatform"]),
                        i(&m["osBuild"]),
                        s(&m["osVersion"]),
                        m["isAadJoined"].as_bool().map_or(V::Null, V::Bool),
                        s(&m["aadDeviceId"]),
                        s(&m["rbacGroupName"]),
                        s(&m["onboardingStatus"]),
                        s(&m["exposureLevel"]),
                    ]
                })
                .collect(),
        },
        "AlertInfo" => Table {
            cols: cols(&[
                ("Timestamp", Ty::Time),
                ("AlertId", STR),
                ("Title", STR),
                ("Category", STR),
                ("Severity", STR),
                ("ServiceSource", STR),
                ("DetectionSource", STR),
                ("AttackTechniques", STR),
            ]),
            rows: d
                .alerts
                .iter()
                .map(|a| {
                    vec![
                        t(&a["alertCreationTime"]),
                        s(&a["id"]),
                        s(&a["title"]),
                        s(&a["category"]),
                        s(&a["severity"]),
                        V::Str("Microsoft Defender for Endpoint".into()),
                        V::Str(
                            detection_source(a["detectionSource"].as_str().unwrap_or_default())
                                .into(),
                        ),
                        V::Str(a["mitreTechniques"].to_string()),
                    ]
                })
                .collect(),
        },
        "AlertEvidence" => {
            let mut rows = Vec::new();
            for (a, ev) in d.alerts.iter().zip(&d.evidence) {
                let common = |entity: &str, role: &str| {
                    vec![
                        t(&a["alertCreationTime"]),
                        s(&a["id"]),
                        s(&a["title"]),
                        V::Str(json!([a["category"]]).to_string()),
                        V::Str(a["mitreTechniques"].to_string()),
                        V::Str("Microsoft Defender for Endpoint".into()),
                        V::Str(
                            detection_source(a["detectionSource"].as_str().unwrap_or_default())
                                .into(),
                        ),
                        V::Str(entity.into()),
                        V::Str(role.into()),
                        s(&a["machineId"]),
                        s(&a["computerDnsName"]),
                    ]
                };
                let mut machine = common("Machine", "Impacted");
                machine.extend(std::iter::repeat_n(V::Null, 12));
                rows.push(machine);
                for e in ev.as_array().map_or(&[][..], Vec::as_slice) {
                    let kind = e["entityType"].as_str().unwrap_or_default();
                    let mut row = common(
                        kind,
                        if kind == "User" {
                            "Impacted"
                        } else {
                            "Related"
                        },
                    );
                    row.extend([
                        s(&e["fileName"]),
                        s(&e["filePath"]),
                        s(&e["sha1"]),
                        s(&e["sha256"]),
                        s(&e["processCommandLine"]),
                        s(&e["ipAddress"]),
                        s(&e["url"]),
                        s(&e["accountName"]),
                        s(&e["domainName"]),
                        s(&e["userSid"]),
                        s(&e["aadUserId"]),
                        s(&e["userPrincipalName"]),
                    ]);
                    rows.push(row);
                }
            }
            Table {
                cols: cols(&[
                    ("Timestamp", Ty::Time),
                    ("AlertId", STR),
                    ("Title", STR),
                    ("Categories", STR),
                    ("AttackTechniques", STR),
                    ("ServiceSource", STR),
                    ("DetectionSource", STR),
                    ("EntityType", STR),
                    ("EvidenceRole", STR),
                    ("DeviceId", STR),
                    ("DeviceName", STR),
                    ("FileName", STR),
                    ("FolderPath", STR),
                    ("SHA1", STR),
                    ("SHA256", STR),
                    ("ProcessCommandLine", STR),
                    ("RemoteIP", STR),
                    ("RemoteUrl", STR),
                    ("AccountName", STR),
                    ("AccountDomain", STR),
                    ("AccountSid", STR),
                    ("AccountObjectId", STR),
                    ("AccountUpn", STR),
                ]),
                rows,
            }
        }
        "DeviceProcessEvents" => {
            let mut rows = Vec::new();
            for (n, (a, ev)) in d.alerts.iter().zip(&d.evidence).enumerate() {
                for e in ev.as_array().map_or(&[][..], Vec::as_slice) {
                    if e["entityType"] != "Process" {
                        continue;
                    }
                    rows.push(vec![
                        t(&e["processCreationTime"]),
                        s(&a["machineId"]),
                        s(&a["computerDnsName"]),
                        V::Str("ProcessCreated".into()),
                        s(&e["fileName"]),
                        s(&e["filePath"]),
                        s(&e["sha1"]),
                        s(&e["sha256"]),
                        i(&e["processId"]),
                        s(&e["processCommandLine"]),
                        s(&a["relatedUser"]["domainName"]),
                        s(&a["relatedUser"]["userName"]),
                        s(&e["parentProcessFileName"]),
                        s(&e["parentProcessFilePath"]),
                        i(&e["parentProcessId"]),
                        V::Int(n as i64 + 1),
                    ]);
                }
            }
            Table {
                cols: cols(&[
                    ("Timestamp", Ty::Time),
                    ("DeviceId", STR),
                    ("DeviceName", STR),
                    ("ActionType", STR),
                    ("FileName", STR),
                    ("FolderPath", STR),
                    ("SHA1", STR),
                    ("SHA256", STR),
                    ("ProcessId", Ty::Int),
                    ("ProcessCommandLine", STR),
                    ("AccountDomain", STR),
                    ("AccountName", STR),
                    ("InitiatingProcessFileName", STR),
                    ("InitiatingProcessFolderPath", STR),
                    ("InitiatingProcessId", Ty::Int),
                    ("ReportId", Ty::Int),
                ]),
                rows,
            }
        }
        _ => return None,
    })
}

fn detection_source(api: &str) -> &'static str {
    match api {
        "WindowsDefenderAv" => "Antivirus",
        "WindowsDefenderAtp" => "EDR",
        "CustomerTI" => "Custom TI",
        "CustomDetection" => "Custom detection",
        "WindowsDefenderSmartScreen" => "SmartScreen",
        "AutomatedInvestigation" => "Automated investigation",
        _ => "EDR",
    }
}

/// Static type of an expression over `cols`.
fn type_of(e: &Expr, cols: &[(String, Ty)]) -> Result<Ty, MdeError> {
    Ok(match e {
        Expr::Col(c) => cols
            .iter()
            .find(|(n, _)| n == c)
            .map(|(_, t)| *t)
            .ok_or_else(|| unresolved(c))?,
        Expr::Lit(l) => match l {
            Lit::Null | Lit::Str(_) => Ty::Str,
            Lit::Int(_) => Ty::Int,
            Lit::Real(_) => Ty::Real,
            Lit::Bool(_) => Ty::Bool,
            Lit::Span(_) => Ty::Span,
            Lit::Time(s) => {
                if time_of(s).is_none() {
                    return Err(bad(format!(
                        "'{}' is not a valid datetime literal.",
                        truncate(s)
                    )));
                }
                Ty::Time
            }
        },
        Expr::Bin(a, _, b) => {
            type_of(a, cols)?;
            type_of(b, cols)?;
            Ty::Bool
        }
        Expr::In { expr, list, .. } => {
            type_of(expr, cols)?;
            for x in list {
                type_of(x, cols)?;
            }
            Ty::Bool
        }
        Expr::Call(name, args) => {
            let arity = |n: usize| -> Result<(), MdeError> {
                if args.len() == n {
                    Ok(())
                } else {
                    Err(bad(format!(
                        "Function '{name}' expects {n} argument(s), got {}.",
                        args.len()
                    )))
                }
            };
            let mut tys = Vec::new();
            for a in args {
                tys.push(type_of(a, cols)?);
            }
            match name.as_str() {
                "ago" => {
                    arity(1)?;
                    Ty::Time
                }
                "now" => {
                    arity(0)?;
                    Ty::Time
                }
                "tolower" | "toupper" | "tostring" => {
                    arity(1)?;
                    Ty::Str
                }
                "strlen" | "tolong" | "toint" => {
                    arity(1)?;
                    Ty::Int
                }
                "isempty" | "isnotempty" | "isnull" | "isnotnull" | "not" => {
                    arity(1)?;
                    Ty::Bool
                }
                "bin" => {
                    arity(2)?;
                    tys[0]
                }
                other => {
                    return Err(bad(format!(
                        "Failed to resolve scalar function named '{}': the emulator's KQL subset has ago, now, tolower, toupper, tostring, strlen, tolong, isempty, isnotempty, isnull, isnotnull, not, bin.",
                        truncate(other)
                    )));
                }
            }
        }
    })
}

fn unresolved(name: &str) -> MdeError {
    bad(format!(
        "Failed to resolve scalar expression named '{}'.",
        truncate(name)
    ))
}

fn text(v: &V) -> Option<String> {
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

fn time_text(nanos: i128) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(nanos).map_or_else(|_| String::new(), ts7)
}

fn cmp(a: &V, b: &V) -> Option<Ordering> {
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

fn sort_cmp(a: &V, b: &V) -> Ordering {
    match (a, b) {
        (V::Null, V::Null) => Ordering::Equal,
        (V::Null, _) => Ordering::Less,
        (_, V::Null) => Ordering::Greater,
        _ => cmp(a, b).unwrap_or(Ordering::Equal),
    }
}

fn has_term(hay: &str, needle: &str) -> bool {
    let hay = hay.to_lowercase();
    let needle = needle.to_lowercase();
    if needle.chars().any(|c| !c.is_alphanumeric()) {
        return hay.contains(&needle);
    }
    hay.split(|c: char| !c.is_alphanumeric())
        .any(|w| w == needle)
}

struct Ctx<'a> {
    cols: &'a [(String, Ty)],
    now: i128,
}

impl Ctx<'_> {
    fn col(&self, name: &str) -> Result<usize, MdeError> {
        self.cols
            .iter()
            .position(|(n, _)| n == name)
            .ok_or_else(|| unresolved(name))
    }

    fn eval(&self, e: &Expr, row: &[V]) -> Result<V, MdeError> {
        Ok(match e {
            Expr::Col(c) => row.get(self.col(c)?).cloned().unwrap_or(V::Null),
            Expr::Lit(l) => match l {
                Lit::Null => V::Null,
                Lit::Str(s) => V::Str(s.clone()),
                Lit::Int(n) => V::Int(*n),
                Lit::Real(x) => V::Real(*x),
                Lit::Bool(b) => V::Bool(*b),
                Lit::Span(n) => V::Span(*n),
                Lit::Time(s) => time_of(s).map_or(V::Null, V::Time),
            },
            Expr::Bin(a, BinOp::And, b) => V::Bool(self.truthy(a, row)? && self.truthy(b, row)?),
            Expr::Bin(a, BinOp::Or, b) => V::Bool(self.truthy(a, row)? || self.truthy(b, row)?),
            Expr::Bin(a, op, b) => {
                let (x, y) = (self.eval(a, row)?, self.eval(b, row)?);
                let (tx, ty) = (text(&x), text(&y));
                let lower = |s: &Option<String>| s.as_deref().map(str::to_lowercase);
                V::Bool(match op {
                    BinOp::Eq => cmp(&x, &y) == Some(Ordering::Equal),
                    BinOp::Ne => cmp(&x, &y) != Some(Ordering::Equal),
                    BinOp::Lt => cmp(&x, &y) == Some(Ordering::Less),
                    BinOp::Le => matches!(cmp(&x, &y), Some(Ordering::Less | Ordering::Equal)),
                    BinOp::Gt => cmp(&x, &y) == Some(Ordering::Greater),
                    BinOp::Ge => matches!(cmp(&x, &y), Some(Ordering::Greater | Ordering::Equal)),
                    BinOp::EqCi => tx.is_some() && lower(&tx) == lower(&ty),
                    BinOp::NeCi => lower(&tx) != lower(&ty),
                    BinOp::Contains => {
                        matches!((lower(&tx), lower(&ty)), (Some(h), Some(n)) if h.contains(&n))
                    }
                    BinOp::NotContains => {
                        !matches!((lower(&tx), lower(&ty)), (Some(h), Some(n)) if h.contains(&n))
                    }
                    BinOp::ContainsCs => {
                        matches!((&tx, &ty), (Some(h), Some(n)) if h.contains(n.as_str()))
                    }
                    BinOp::StartsWith => {
                        matches!((lower(&tx), lower(&ty)), (Some(h), Some(n)) if h.starts_with(&n))
                    }
                    BinOp::EndsWith => {
                        matches!((lower(&tx), lower(&ty)), (Some(h), Some(n)) if h.ends_with(&n))
                    }
                    BinOp::Has => matches!((&tx, &ty), (Some(h), Some(n)) if has_term(h, n)),
                    BinOp::NotHas => !matches!((&tx, &ty), (Some(h), Some(n)) if has_term(h, n)),
                    BinOp::And | BinOp::Or => false,
                })
            }
            Expr::In {
                expr,
                list,
                negated,
                case_insensitive,
            } => {
                let x = self.eval(expr, row)?;
                let mut found = false;
                for item in list {
                    let y = self.eval(item, row)?;
                    let eq = if *case_insensitive {
                        text(&x).map(|s| s.to_lowercase()) == text(&y).map(|s| s.to_lowercase())
                    } else {
                        cmp(&x, &y) == Some(Ordering::Equal)
                    };
                    if eq {
                        found = true;
                        break;
                    }
                }
                V::Bool(found != *negated)
            }
            Expr::Call(name, args) => {
                let arg = |n: usize| -> Result<V, MdeError> {
                    args.get(n).map_or(Ok(V::Null), |a| self.eval(a, row))
                };
                match name.as_str() {
                    "ago" => match arg(0)? {
                        V::Span(n) => V::Time(self.now - n),
                        _ => return Err(bad("ago() takes a timespan, such as ago(7d).")),
                    },
                    "now" => V::Time(self.now),
                    "tolower" => text(&arg(0)?).map_or(V::Null, |s| V::Str(s.to_lowercase())),
                    "toupper" => text(&arg(0)?).map_or(V::Null, |s| V::Str(s.to_uppercase())),
                    "tostring" => V::Str(text(&arg(0)?).unwrap_or_default()),
                    "strlen" => V::Int(text(&arg(0)?).map_or(0, |s| s.chars().count() as i64)),
                    "tolong" | "toint" => match arg(0)? {
                        V::Int(n) => V::Int(n),
                        V::Real(x) => V::Int(x as i64),
                        V::Str(s) => s.trim().parse().map_or(V::Null, V::Int),
                        _ => V::Null,
                    },
                    "isempty" => V::Bool(text(&arg(0)?).is_none_or(|s| s.is_empty())),
                    "isnotempty" => V::Bool(text(&arg(0)?).is_some_and(|s| !s.is_empty())),
                    "isnull" => V::Bool(arg(0)? == V::Null),
                    "isnotnull" => V::Bool(arg(0)? != V::Null),
                    "not" => V::Bool(
                        !self.truthy(args.first().unwrap_or(&Expr::Lit(Lit::Bool(false))), row)?,
                    ),
                    "bin" => match (arg(0)?, arg(1)?) {
                        (V::Time(t), V::Span(n)) if n > 0 => V::Time(t.div_euclid(n) * n),
                        (V::Int(x), V::Int(n)) if n > 0 => V::Int(x.div_euclid(n) * n),
                        (V::Real(x), V::Real(n)) if n > 0.0 => V::Real((x / n).floor() * n),
                        (V::Null, _) => V::Null,
                        _ => {
                            return Err(bad(
                                "bin() takes a value and a positive bin size of the same kind, such as bin(Timestamp, 1d).",
                            ));
                        }
                    },
                    other => return Err(bad(format!("Unknown function '{}'.", truncate(other)))),
                }
            }
        })
    }

    fn truthy(&self, e: &Expr, row: &[V]) -> Result<bool, MdeError> {
        Ok(matches!(self.eval(e, row)?, V::Bool(true)))
    }
}

fn column_name(name: &Option<String>, e: &Expr, n: usize) -> String {
    match (name, e) {
        (Some(n), _) => n.clone(),
        (None, Expr::Col(c)) => c.clone(),
        (None, Expr::Call(f, args)) if f == "bin" => match args.first() {
            Some(Expr::Col(c)) => c.clone(),
            _ => format!("Column{n}"),
        },
        _ => format!("Column{n}"),
    }
}

fn agg_name(name: &Option<String>, a: &Agg) -> String {
    if let Some(n) = name {
        return n.clone();
    }
    let col = |e: &Expr| match e {
        Expr::Col(c) => c.clone(),
        _ => "expr".into(),
    };
    match a {
        Agg::Count => "count_".into(),
        Agg::DCount(e) => format!("dcount_{}", col(e)),
        Agg::Min(e) => format!("min_{}", col(e)),
        Agg::Max(e) => format!("max_{}", col(e)),
        Agg::Sum(e) => format!("sum_{}", col(e)),
        Agg::CountIf(_) => "countif_".into(),
    }
}

/// Runs a parsed query over a tenant's data.
pub fn run(q: &kql::Query, d: &TenantData, now: i128) -> Result<Table, MdeError> {
    run_in(q, d, now, None)
}

/// [`run`] over the rows whose `Timestamp` lies in `window` (`[from, to]`, Unix
/// nanoseconds), when given: Microsoft Graph's `Timespan`.
pub fn run_in(
    q: &kql::Query,
    d: &TenantData,
    now: i128,
    window: Option<(i128, i128)>,
) -> Result<Table, MdeError> {
    let mut t = table(&q.table, d).ok_or_else(|| {
        bad(format!(
            "Failed to resolve table or column expression named '{}'. The emulator has DeviceInfo, AlertInfo, AlertEvidence and DeviceProcessEvents.",
            truncate(&q.table)
        ))
    })?;
    if let Some((from, to)) = window
        && let Some(p) = t.cols.iter().position(|(c, _)| c == "Timestamp")
    {
        t.rows
            .retain(|r| matches!(r.get(p), Some(V::Time(x)) if *x >= from && *x <= to));
    }
    for op in &q.ops {
        t = apply(op, t, now)?;
    }
    t.rows.truncate(MAX_ROWS);
    Ok(t)
}

fn apply(op: &Op, t: Table, now: i128) -> Result<Table, MdeError> {
    let ctx = Ctx { cols: &t.cols, now };
    Ok(match op {
        Op::Where(e) => {
            type_of(e, &t.cols)?;
            let mut rows = Vec::new();
            for r in &t.rows {
                if ctx.truthy(e, r)? {
                    rows.push(r.clone());
                }
            }
            Table {
                cols: t.cols.clone(),
                rows,
            }
        }
        Op::Project(items) | Op::Extend(items) => {
            let extend = matches!(op, Op::Extend(_));
            let mut cols = if extend { t.cols.clone() } else { Vec::new() };
            let mut names = Vec::new();
            for (n, (name, e)) in items.iter().enumerate() {
                let ty = type_of(e, &t.cols)?;
                let cname = column_name(name, e, n + 1);
                match cols.iter().position(|(c, _)| *c == cname) {
                    Some(p) if extend => cols[p].1 = ty,
                    Some(_) => return Err(bad(format!("Column '{cname}' is projected twice."))),
                    None => cols.push((cname.clone(), ty)),
                }
                names.push(cname);
            }
            let mut rows = Vec::with_capacity(t.rows.len());
            for r in &t.rows {
                let mut out = if extend { r.clone() } else { Vec::new() };
                out.resize(cols.len(), V::Null);
                for ((_, e), cname) in items.iter().zip(&names) {
                    let v = ctx.eval(e, r)?;
                    if let Some(p) = cols.iter().position(|(c, _)| c == cname) {
                        out[p] = v;
                    }
                }
                rows.push(out);
            }
            Table { cols, rows }
        }
        Op::Summarize { aggs, by } => {
            let mut cols = Vec::new();
            for (n, (name, e)) in by.iter().enumerate() {
                cols.push((column_name(name, e, n + 1), type_of(e, &t.cols)?));
            }
            for (name, a) in aggs {
                let ty = match a {
                    Agg::Count | Agg::DCount(_) | Agg::CountIf(_) => Ty::Int,
                    Agg::Min(e) | Agg::Max(e) => type_of(e, &t.cols)?,
                    Agg::Sum(e) => match type_of(e, &t.cols)? {
                        Ty::Real => Ty::Real,
                        Ty::Int => Ty::Int,
                        other => {
                            return Err(bad(format!("sum() takes numbers, not {}.", other.name())));
                        }
                    },
                };
                if let Agg::CountIf(p) = a {
                    type_of(p, &t.cols)?;
                }
                cols.push((agg_name(name, a), ty));
            }
            let mut order: Vec<String> = Vec::new();
            let mut groups: HashMap<String, (Vec<V>, Vec<Vec<V>>)> = HashMap::new();
            for r in &t.rows {
                let key: Vec<V> = by
                    .iter()
                    .map(|(_, e)| ctx.eval(e, r))
                    .collect::<Result<_, _>>()?;
                let k = format!("{key:?}");
                let g = groups.entry(k.clone()).or_insert_with(|| {
                    order.push(k);
                    (key, Vec::new())
                });
                g.1.push(r.clone());
            }
            if by.is_empty() && groups.is_empty() {
                order.push(String::new());
                groups.insert(String::new(), (Vec::new(), Vec::new()));
            }
            let mut rows = Vec::new();
            for k in order {
                let Some((key, members)) = groups.remove(&k) else {
                    continue;
                };
                let mut out = key;
                for (_, a) in aggs {
                    out.push(aggregate(&ctx, a, &members)?);
                }
                rows.push(out);
            }
            Table { cols, rows }
        }
        Op::Order(keys) => {
            for (e, _) in keys {
                type_of(e, &t.cols)?;
            }
            let mut keyed: Vec<(Vec<V>, Vec<V>)> = Vec::with_capacity(t.rows.len());
            for r in t.rows {
                let k = keys
                    .iter()
                    .map(|(e, _)| ctx.eval(e, &r))
                    .collect::<Result<_, _>>()?;
                keyed.push((k, r));
            }
            keyed.sort_by(|(a, _), (b, _)| {
                for ((x, y), (_, desc)) in a.iter().zip(b).zip(keys) {
                    let o = sort_cmp(x, y);
                    let o = if *desc { o.reverse() } else { o };
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                Ordering::Equal
            });
            Table {
                cols: t.cols.clone(),
                rows: keyed.into_iter().map(|(_, r)| r).collect(),
            }
        }
        Op::Take(n) => {
            let mut rows = t.rows;
            rows.truncate(usize::try_from(*n).unwrap_or(usize::MAX));
            Table { cols: t.cols, rows }
        }
        Op::Top(n, e, desc) => {
            let sorted = apply(&Op::Order(vec![(e.clone(), *desc)]), t, now)?;
            apply(&Op::Take(*n), sorted, now)?
        }
        Op::Count => Table {
            cols: vec![("Count".into(), Ty::Int)],
            rows: vec![vec![V::Int(t.rows.len() as i64)]],
        },
        Op::Distinct(names) => {
            let idx: Vec<usize> = names.iter().map(|n| ctx.col(n)).collect::<Result<_, _>>()?;
            let cols: Vec<(String, Ty)> = idx.iter().map(|i| t.cols[*i].clone()).collect();
            let mut seen = std::collections::HashSet::new();
            let mut rows = Vec::new();
            for r in &t.rows {
                let v: Vec<V> = idx
                    .iter()
                    .map(|i| r.get(*i).cloned().unwrap_or(V::Null))
                    .collect();
                if seen.insert(format!("{v:?}")) {
                    rows.push(v);
                }
            }
            Table { cols, rows }
        }
    })
}

fn aggregate(ctx: &Ctx<'_>, a: &Agg, rows: &[Vec<V>]) -> Result<V, MdeError> {
    Ok(match a {
        Agg::Count => V::Int(rows.len() as i64),
        Agg::CountIf(p) => {
            let mut n = 0;
            for r in rows {
                if ctx.truthy(p, r)? {
                    n += 1;
                }
            }
            V::Int(n)
        }
        Agg::DCount(e) => {
            let mut seen = std::collections::HashSet::new();
            for r in rows {
                let v = ctx.eval(e, r)?;
                if v != V::Null {
                    seen.insert(format!("{v:?}"));
                }
            }
            V::Int(seen.len() as i64)
        }
        Agg::Min(e) | Agg::Max(e) => {
            let mut best: Option<V> = None;
            for r in rows {
                let v = ctx.eval(e, r)?;
                if v == V::Null {
                    continue;
                }
                let better = best.as_ref().is_none_or(|b| {
                    let o = sort_cmp(&v, b);
                    if matches!(a, Agg::Min(_)) {
                        o == Ordering::Less
                    } else {
                        o == Ordering::Greater
                    }
                });
                if better {
                    best = Some(v);
                }
            }
            best.unwrap_or(V::Null)
        }
        Agg::Sum(e) => {
            let (mut int, mut real, mut is_real) = (0i64, 0f64, false);
            for r in rows {
                match ctx.eval(e, r)? {
                    V::Int(n) => {
                        int = int.saturating_add(n);
                        real += n as f64;
                    }
                    V::Real(x) => {
                        is_real = true;
                        real += x;
                    }
                    _ => {}
                }
            }
            if is_real { V::Real(real) } else { V::Int(int) }
        }
    })
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

/// `POST /api/advancedqueries/run` with `{"Query": "…"}`.
pub async fn run_query(
    State(state): State<AppState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> ApiResult {
    c.require(&["AdvancedQuery.Read.All"])?;
    let settings = state.emu.defender().settings();
    state
        .emu
        .defender()
        .hunting_throttle()
        .admit(c.tenant, uuid::Uuid::nil(), settings.hunting_limits)
        .map_err(|mut e| {
            e.message = e.message.replace(
                "for this application in this tenant",
                "for advanced hunting in this tenant",
            );
            e
        })?;
    let body = body_object(&body)?;
    let query = str_param(&body, "Query")?.ok_or_else(|| MdeError::missing("Query"))?;
    let started = std::time::Instant::now();
    let parsed = kql::parse(query).map_err(|e| bad(e.to_string()))?;
    let data = caller_data(&state, &c)?;
    let now = OffsetDateTime::now_utc().unix_timestamp_nanos();
    let t = run(&parsed, &read(&data), now)?;
    let schema: Vec<Value> = t
        .cols
        .iter()
        .map(|(n, ty)| json!({"Name": n, "Type": ty.name()}))
        .collect();
    let results: Vec<Value> = t
        .rows
        .iter()
        .map(|r| {
            let mut m = serde_json::Map::new();
            for ((n, _), v) in t.cols.iter().zip(r) {
                m.insert(n.clone(), cell(v));
            }
            Value::Object(m)
        })
        .collect();
    let size = serde_json::to_string(&results).map_or(0, |s| s.len());
    let elapsed = started.elapsed();
    let cpu = format!(
        "00:00:{:02}.{:07}",
        elapsed.as_secs().min(59),
        elapsed.subsec_nanos() / 100
    );
    Ok(json(
        StatusCode::OK,
        &json!({
            "Stats": {
                "ExecutionTime": elapsed.as_secs_f64(),
                "resource_usage": {
                    "cache": {
                        "memory": {"hits": 0, "misses": 0, "total": 0},
                        "disk": {"hits": 0, "misses": 0, "total": 0}
                    },
                    "cpu": {"user": cpu, "kernel": "00:00:00", "total cpu": cpu},
                    "memory": {"peak_per_node": 0}
                },
                "dataset_statistics": [{"table_row_count": results.len(), "table_size": size}]
            },
            "Schema": schema,
            "Results": results,
        }),
    ))
}

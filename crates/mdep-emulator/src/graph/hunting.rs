//! `POST /security/runHuntingQuery` (also `/security/microsoft.graph.security.runHuntingQuery`,
//! the path Graph's generated SDKs call): the KQL subset engine of `/api/advancedqueries/run`
//! over the same tenant data, answered in Graph's `huntingQueryResults` shape —
//! `@odata.context`, `schema` (`name`, `type`) and `results`, no `Stats`
//! (`graph-security.md` §2.2–2.3). `GET /security/getRunHuntingQuery(query='…',timespan='…')`
//! takes the same parameters in the URL and answers the same way (§2.4,
//! `samples-graph/getRunHuntingQuery_beta_response.json`).

use crate::AppState;
use crate::defender::data::read;
use crate::defender::hunting::{self, kql};
use crate::request::auth::Caller;
use crate::request::auth::caller_data;
use crate::request::envelope::Req;
use crate::request::graph::{GraphResult, body_object, json, require};
use crate::request::graph_error::GraphError;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The role that runs hunting queries.
pub const ROLES: &[&str] = &["ThreatHunting.Read.All"];

/// A body parameter, its name matched case-insensitively (`Query` and `query` are both
/// seen in Microsoft's examples, `graph-security.md` §2.2).
fn param<'a>(body: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, GraphError> {
    match body.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
        None | Some((_, Value::Null)) => Ok(None),
        Some((_, Value::String(s))) => Ok(Some(s)),
        Some((k, _)) => Err(GraphError::bad_request(format!("{k} must be a string."))),
    }
}

/// An ISO 8601 duration (`P30D`, `PT12H`, `P1DT6H30M`, `P2W`) in nanoseconds.
fn duration(s: &str) -> Option<i128> {
    let rest = s.strip_prefix('P').or_else(|| s.strip_prefix('p'))?;
    let (date, time) = match rest.split_once(['T', 't']) {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut total: i128 = 0;
    let mut any = false;
    let mut take = |part: &str, units: &[(char, i128)]| -> Option<()> {
        let mut num = String::new();
        for ch in part.chars() {
            if ch.is_ascii_digit() || ch == '.' {
                num.push(ch);
                continue;
            }
            let unit = units.iter().find(|(u, _)| u.eq_ignore_ascii_case(&ch))?.1;
            let n: f64 = num.parse().ok()?;
            total += (n * unit as f64) as i128;
            num.clear();
            any = true;
        }
        num.is_empty().then_some(())
    };
    const S: i128 = 1_000_000_000;
    take(
        date,
        &[
            ('Y', 365 * 86_400 * S),
            ('W', 7 * 86_400 * S),
            ('D', 86_400 * S),
        ],
    )?;
    if let Some(t) = time {
        take(t, &[('H', 3600 * S), ('M', 60 * S), ('S', S)])?;
    }
    any.then_some(total)
}

fn instant(s: &str) -> Option<i128> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(OffsetDateTime::unix_timestamp_nanos)
}

/// `Timespan` as a window `[from, to]` (the five forms of `graph-security.md` §2.2).
pub fn timespan(s: &str, now: i128) -> Result<(i128, i128), GraphError> {
    let bad = || {
        GraphError::bad_request(format!(
            "Timespan '{}' is not an ISO 8601 interval: use e.g. P30D, 2024-02-01T08:00:00Z/2024-02-15T08:00:00Z, P30D/2024-02-15T08:00:00Z, 2024-02-01T08:00:00Z/P30D or 2024-02-01T08:00:00Z.",
            crate::request::error::truncate(s)
        ))
    };
    let s = s.trim();
    let w = match s.split_once('/') {
        Some((a, b)) => match (duration(a), instant(a), duration(b), instant(b)) {
            (_, Some(from), _, Some(to)) => (from, to),
            (Some(d), _, _, Some(to)) => (to - d, to),
            (_, Some(from), Some(d), _) => (from, from + d),
            _ => return Err(bad()),
        },
        None => match (duration(s), instant(s)) {
            (Some(d), _) => (now - d, now),
            (_, Some(from)) => (from, now),
            _ => return Err(bad()),
        },
    };
    if w.0 > w.1 {
        return Err(bad());
    }
    Ok(w)
}

/// The role check, then the licence.
fn admit(state: &AppState, c: &Caller) -> Result<(), GraphError> {
    require(c, ROLES)?;
    if let Some((_, message)) = hunting::unlicensed(state, c.tenant) {
        // Graph documents 403 as "… might not have a required license" (graph-security.md §2.7).
        return Err(GraphError::new(StatusCode::FORBIDDEN, "Forbidden", message));
    }
    Ok(())
}

/// Runs `query` (optionally within `Timespan`) and writes Graph's answer.
pub async fn run(
    State(state): State<AppState>,
    Extension(c): Extension<Caller>,
    req: Req,
    body: Bytes,
) -> GraphResult {
    admit(&state, &c)?;
    let body = body_object(&body)?;
    answer(
        &state,
        &c,
        &req,
        param(&body, "Query")?,
        param(&body, "Timespan")?,
        param(&body, "workspaceId")?,
    )
}

/// The parameters of `getRunHuntingQuery(query='…',timespan='…',workspaceId=…)`: OData
/// string literals (`''` is a quote) or bare values, names without regard to case.
fn function_params(segment: &str) -> Result<Vec<(String, String)>, GraphError> {
    let bad = |m: &str| GraphError::bad_request(format!("getRunHuntingQuery: {m}"));
    let inner = segment
        .strip_prefix("getRunHuntingQuery(")
        .or_else(|| segment.strip_prefix("microsoft.graph.security.getRunHuntingQuery("))
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| bad("expected getRunHuntingQuery(query='…',timespan='…')."))?;
    let mut out = Vec::new();
    let mut chars = inner.chars().peekable();
    loop {
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        let name = name.trim().to_owned();
        if name.is_empty() {
            return Err(bad("a parameter without a name."));
        }
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err(bad("a string that is not closed with '.")),
                    Some('\'') if chars.peek() == Some(&'\'') => {
                        chars.next();
                        value.push('\'');
                    }
                    Some('\'') => break,
                    Some(c) => value.push(c),
                }
            }
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            match chars.next() {
                None => {
                    out.push((name, value));
                    return Ok(out);
                }
                Some(',') => {}
                Some(_) => return Err(bad("expected ',' between parameters.")),
            }
        } else {
            value = chars.by_ref().take_while(|c| *c != ',').collect();
            let last = chars.peek().is_none();
            out.push((name, value.trim().to_owned()));
            if last {
                return Ok(out);
            }
            continue;
        }
        out.push((name, value));
    }
}

/// `GET /security/getRunHuntingQuery(query='…',timespan='…',workspaceId=…)`.
pub async fn get_run(
    State(state): State<AppState>,
    Extension(c): Extension<Caller>,
    req: Req,
    Path(segment): Path<String>,
) -> GraphResult {
    if !segment.starts_with("getRunHuntingQuery(")
        && !segment.starts_with("microsoft.graph.security.getRunHuntingQuery(")
    {
        // What Graph answers for any segment it does not serve.
        return Err(<crate::request::graph::Graph as crate::request::api::Api>::unknown(&segment));
    }
    admit(&state, &c)?;
    let params = function_params(&segment)?;
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str())
    };
    answer(
        &state,
        &c,
        &req,
        get("query"),
        get("timespan"),
        get("workspaceId"),
    )
}

/// Runs `query` within `timespan` (else the last 30 days) for the caller, in Graph's
/// answer.
fn answer(
    state: &AppState,
    c: &Caller,
    req: &Req,
    query: Option<&str>,
    span: Option<&str>,
    workspace: Option<&str>,
) -> GraphResult {
    let query = query
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(|| GraphError::bad_request("The Query parameter is required: give the hunting query in Kusto Query Language (KQL)."))?;
    let now = OffsetDateTime::now_utc().unix_timestamp_nanos();
    let window = span
        .map(|t| timespan(t, now))
        .transpose()?
        .unwrap_or_else(|| hunting::last_30_days(now));
    if let Some(w) = workspace
        && uuid::Uuid::try_parse(w).is_err()
    {
        return Err(GraphError::bad_request(format!(
            "workspaceId '{}' is not a GUID.",
            crate::request::error::truncate(w)
        )));
    }
    let data = caller_data(state, c)?;
    // The same execution-time budget as MDE's advanced hunting (`hunting::metered`).
    let t = hunting::metered(state, c.tenant, || {
        let parsed = kql::parse(query).map_err(|e| hunting::bad(e.to_string()))?;
        hunting::run_in(&parsed, &read(&data), now, Some(window))
    })?;
    let schema: Vec<Value> = t
        .cols
        .iter()
        .map(|(n, ty)| json!({"name": n, "type": ty.name()}))
        .collect();
    let results: Vec<Value> = t
        .rows
        .iter()
        .map(|r| {
            let mut m = Map::new();
            for ((n, _), v) in t.cols.iter().zip(r) {
                m.insert(n.clone(), hunting::cell(v));
            }
            Value::Object(m)
        })
        .collect();
    Ok(json(
        StatusCode::OK,
        &json!({
            "@odata.context": req.context("microsoft.graph.security.huntingQueryResults"),
            "schema": schema,
            "results": results,
        }),
    ))
}

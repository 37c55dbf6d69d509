//! `GET/PATCH /security/incidents`: the tenant's alerts grouped by their Defender
//! incident id (alerts without one form an incident per device, id `device-<id>`), in
//! Graph's `incident` schema (keys as in the documented list response, fixture
//! `incidents_list_response.json`). `$expand=alerts` embeds the alerts; `$top` above 50
//! is refused as Graph does (`graph-security.md` §4.1).
//!
//! An update of status, assignment, classification or determination is applied to the
//! incident's alerts (so `/api/alerts` sees it); tags, description, display name,
//! severity, summary and the resolving comment are kept with the incident.

use super::alerts::{self, SEVERITIES};
use crate::AppState;
use crate::defender::data::TenantData;
use crate::defender::data::{read, write};
use crate::defender::query::{EntitySet, Field, Kind, Page, Query};
use crate::request::auth::Caller;
use crate::request::auth::caller_data;
use crate::request::envelope::{Req, collection, entity};
use crate::request::graph::{GraphResult, body_object, json, require};
use crate::request::graph_error::GraphError;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};
use std::borrow::Cow;

/// Roles that read incidents.
pub const READ: &[&str] = &[
    "SecurityIncident.Read.All",
    "SecurityIncident.ReadWrite.All",
];
/// Roles that update incidents.
pub const WRITE: &[&str] = &["SecurityIncident.ReadWrite.All"];

/// `incidentStatus`.
pub const STATUSES: &[&str] = &[
    "active",
    "resolved",
    "inProgress",
    "redirected",
    "unknownFutureValue",
    "awaitingAction",
];

/// Largest `$top` on incidents (the captured 400, `graph-security.md` §4.1).
pub const MAX_TOP: usize = 50;

/// The incident entity set for `$filter` (the properties the list page documents).
pub static INCIDENTS: EntitySet = EntitySet {
    name: "microsoft.graph.security.incident",
    filterable: &[
        Field {
            key: "assignedTo",
            kind: Kind::Str,
        },
        Field {
            key: "classification",
            kind: Kind::Enum(alerts::CLASSIFICATIONS),
        },
        Field {
            key: "createdDateTime",
            kind: Kind::Time,
        },
        Field {
            key: "determination",
            kind: Kind::Enum(alerts::DETERMINATIONS),
        },
        Field {
            key: "lastUpdateDateTime",
            kind: Kind::Time,
        },
        Field {
            key: "severity",
            kind: Kind::Enum(SEVERITIES),
        },
        Field {
            key: "status",
            kind: Kind::Enum(STATUSES),
        },
    ],
    properties: &[],
    expands_evidence: false,
    max_top: MAX_TOP,
};

/// The incident id of alert `a`.
fn incident_of(a: &Value) -> String {
    match &a["incidentId"] {
        Value::Number(n) => n.to_string(),
        Value::String(s) if !s.is_empty() => s.clone(),
        _ => format!("device-{}", a["machineId"].as_str().unwrap_or("unknown")),
    }
}

/// Every incident: id and the positions of its alerts, newest incident first.
fn groups(d: &TenantData) -> Vec<(String, Vec<usize>)> {
    let mut out: Vec<(String, Vec<usize>)> = Vec::new();
    let mut at: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (i, a) in d.alerts.iter().enumerate() {
        let id = incident_of(a);
        match at.get(&id) {
            Some(&g) => out[g].1.push(i),
            None => {
                at.insert(id.clone(), out.len());
                out.push((id, vec![i]));
            }
        }
    }
    let created = |idx: &[usize]| {
        idx.iter()
            .filter_map(|&i| d.alerts[i]["alertCreationTime"].as_str())
            .min()
            .map(str::to_owned)
    };
    out.sort_by_cached_key(|(_, idx)| std::cmp::Reverse(created(idx)));
    out
}

fn same<'a>(vals: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let mut first = None;
    for v in vals {
        match first {
            None => first = Some(v),
            Some(f) if f != v => return None,
            _ => {}
        }
    }
    first
}

/// Incident `id` made of alerts `idx`, in Graph's schema.
fn build(d: &TenantData, id: &str, idx: &[usize]) -> Value {
    let tenant = d.tenant;
    let graph: Vec<Value> = idx.iter().map(|&i| alerts::to_graph(d, i)).collect();
    let extra = d.incidents.get(id).cloned().unwrap_or(Value::Null);
    let str_of = |k: &'static str| graph.iter().filter_map(move |a| a[k].as_str());
    let status = match extra["status"].as_str() {
        Some(s) if s != "active" && s != "resolved" => s.to_owned(),
        _ if str_of("status").all(|s| s == "resolved") => "resolved".into(),
        _ => "active".into(),
    };
    let severity = extra["severity"].as_str().map_or_else(
        || {
            str_of("severity")
                .max_by_key(|s| SEVERITIES.iter().position(|x| x == s))
                .unwrap_or("unknown")
                .to_owned()
        },
        str::to_owned,
    );
    let created = str_of("createdDateTime").min().map(str::to_owned);
    let updated = str_of("lastUpdateDateTime")
        .chain(extra["lastUpdateDateTime"].as_str())
        .max()
        .map(str::to_owned);
    let mut categories: Vec<&str> = Vec::new();
    for c in str_of("category") {
        if !categories.contains(&c) {
            categories.push(c);
        }
    }
    let devices = {
        let mut ds: Vec<&str> = idx
            .iter()
            .filter_map(|&i| d.alerts[i]["machineId"].as_str())
            .collect();
        ds.sort_unstable();
        ds.dedup();
        ds.len()
    };
    let where_ = if devices > 1 {
        "on multiple endpoints"
    } else {
        "on one endpoint"
    };
    let display = extra["displayName"].as_str().map_or_else(
        || {
            if categories.len() > 1 {
                format!(
                    "Multi-stage incident involving {} {where_}",
                    categories.join(" & ")
                )
            } else {
                format!(
                    "{} {where_}",
                    graph[0]["title"].as_str().unwrap_or("Incident")
                )
            }
        },
        str::to_owned,
    );
    let rank = SEVERITIES.iter().position(|s| *s == severity).unwrap_or(0);
    let priority = (rank * 20 + graph.len().min(20)).min(100);
    json!({
        "id": id,
        "tenantId": tenant.to_string(),
        "status": status,
        "incidentWebUrl": format!("https://security.microsoft.com/incident2/{id}/overview?tid={tenant}"),
        "redirectIncidentId": null,
        "displayName": display,
        "createdDateTime": created,
        "lastUpdateDateTime": updated,
        "assignedTo": graph.iter().find_map(|a| a["assignedTo"].as_str()),
        "classification": same(str_of("classification")).unwrap_or("unknown"),
        "determination": same(str_of("determination")).unwrap_or("unknown"),
        "severity": severity,
        "customTags": extra.get("customTags").cloned().unwrap_or_else(|| json!([])),
        "systemTags": [],
        "description": extra["description"],
        "lastModifiedBy": extra["lastModifiedBy"],
        "resolvingComment": extra["resolvingComment"],
        "summary": extra["summary"],
        "priorityScore": priority,
        "comments": [],
    })
}

/// Splits `$expand` off the query string: the rest, and whether `alerts` is expanded.
fn split_expand(raw: Option<&str>) -> Result<(Option<String>, bool), GraphError> {
    let Some(raw) = raw else {
        return Ok((None, false));
    };
    let mut rest = form_urlencoded::Serializer::new(String::new());
    let mut expand = false;
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        if k.eq_ignore_ascii_case("$expand") {
            for name in v.split(',').map(str::trim) {
                if name.eq_ignore_ascii_case("alerts") {
                    expand = true;
                } else {
                    return Err(GraphError::bad_request(format!(
                        "Could not find a property named '{}' on type 'microsoft.graph.security.incident'.",
                        crate::request::error::truncate(name)
                    )));
                }
            }
        } else {
            rest.append_pair(&k, &v);
        }
    }
    Ok((Some(rest.finish()), expand))
}

fn with_alerts(d: &TenantData, mut inc: Value, idx: &[usize]) -> Value {
    inc["alerts"] = Value::Array(idx.iter().map(|&i| alerts::to_graph(d, i)).collect());
    inc
}

/// `GET /security/incidents`.
pub async fn list(
    State(state): State<AppState>,
    Extension(c): Extension<Caller>,
    req: Req,
) -> GraphResult {
    require(&c, READ)?;
    let (rest, expand) = split_expand(req.query.as_deref())?;
    let q = Query::parse(rest.as_deref(), &INCIDENTS)?;
    let data = caller_data(&state, &c)?;
    let d = read(&data);
    let gs = groups(&d);
    let items = gs.iter().map(|(id, idx)| Cow::Owned(build(&d, id, idx)));
    let mut page = q.run(items, alerts::page_size(&state, &INCIDENTS));
    if expand {
        let items = std::mem::take(&mut page.items);
        page.items = items
            .into_iter()
            .map(|inc| {
                let idx = inc["id"]
                    .as_str()
                    .and_then(|id| gs.iter().find(|(g, _)| g == id))
                    .map(|(_, idx)| idx.as_slice())
                    .unwrap_or_default();
                with_alerts(&d, inc, idx)
            })
            .collect();
        page.next = page.next.map(|n| format!("{n}&%24expand=alerts"));
    }
    Ok(json(
        StatusCode::OK,
        &collection(&req, "security/incidents", page),
    ))
}

fn find(d: &TenantData, id: &str) -> Result<Vec<usize>, GraphError> {
    let idx: Vec<usize> = d
        .alerts
        .iter()
        .enumerate()
        .filter(|(_, a)| incident_of(a) == id)
        .map(|(i, _)| i)
        .collect();
    if idx.is_empty() {
        Err(GraphError::not_found("Incident", id))
    } else {
        Ok(idx)
    }
}

/// `GET /security/incidents/{id}` (with `$expand=alerts`).
pub async fn get_one(
    State(state): State<AppState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    req: Req,
) -> GraphResult {
    require(&c, READ)?;
    let (_, expand) = split_expand(req.query.as_deref())?;
    let data = caller_data(&state, &c)?;
    let d = read(&data);
    let idx = find(&d, &id)?;
    let mut inc = build(&d, &id, &idx);
    if expand {
        inc = with_alerts(&d, inc, &idx);
    }
    Ok(json(
        StatusCode::OK,
        &entity(&req, "security/incidents/$entity", inc),
    ))
}

/// `GET /security/incidents/{id}/alerts`.
pub async fn alerts(
    State(state): State<AppState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    req: Req,
) -> GraphResult {
    require(&c, READ)?;
    let data = caller_data(&state, &c)?;
    let d = read(&data);
    let idx = find(&d, &id)?;
    let items = idx.iter().map(|&i| alerts::to_graph(&d, i)).collect();
    Ok(json(
        StatusCode::OK,
        &collection(
            &req,
            &format!("security/incidents('{id}')/alerts"),
            Page {
                items,
                count: None,
                next: None,
            },
        ),
    ))
}

const KEPT: &[&str] = &[
    "customTags",
    "description",
    "displayName",
    "severity",
    "resolvingComment",
    "summary",
];

/// `PATCH /security/incidents/{id}`: answers the updated incident.
pub async fn update(
    State(state): State<AppState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    req: Req,
    body: Bytes,
) -> GraphResult {
    require(&c, WRITE)?;
    let body = body_object(&body)?;
    let mut alert_body = Map::new();
    for k in ["assignedTo", "classification", "determination"] {
        if let Some(v) = body.get(k) {
            alert_body.insert(k.to_owned(), v.clone());
        }
    }
    let body: Map<String, Value> = body
        .into_iter()
        .filter(|(k, _)| !k.starts_with('@'))
        .collect();
    if let Some(k) = body.keys().find(|k| {
        !KEPT.contains(&k.as_str())
            && !["status", "assignedTo", "classification", "determination"].contains(&k.as_str())
    }) {
        return Err(GraphError::bad_request(format!(
            "Property '{}' cannot be updated; updatable properties are status, assignedTo, classification, determination, {}.",
            crate::request::error::truncate(k),
            KEPT.join(", ")
        )));
    }
    let change = alerts::Change::parse(&alert_body, &[])?;
    let status = match body.get("status") {
        None => None,
        Some(Value::String(s)) => Some(
            STATUSES
                .iter()
                .copied()
                .find(|x| x.eq_ignore_ascii_case(s) && *x != "unknownFutureValue")
                .ok_or_else(|| {
                    GraphError::bad_request(format!(
                        "Invalid value '{}' for status: expected one of active, resolved, inProgress, redirected, awaitingAction.",
                        crate::request::error::truncate(s)
                    ))
                })?,
        ),
        Some(_) => return Err(GraphError::bad_request("status must be a string.")),
    };
    if let Some(Value::String(s)) = body.get("severity")
        && !SEVERITIES.contains(&s.as_str())
    {
        return Err(GraphError::bad_request(format!(
            "Invalid value '{}' for severity: expected one of {}.",
            crate::request::error::truncate(s),
            SEVERITIES.join(", ")
        )));
    }
    if let Some(tags) = body.get("customTags")
        && !tags
            .as_array()
            .is_some_and(|xs| xs.iter().all(Value::is_string))
    {
        return Err(GraphError::bad_request(
            "customTags must be an array of strings.",
        ));
    }
    for k in ["description", "displayName", "resolvingComment", "summary"] {
        if body.get(k).is_some_and(|v| !v.is_string() && !v.is_null()) {
            return Err(GraphError::bad_request(format!("{k} must be a string.")));
        }
    }
    if body.is_empty() {
        return Err(GraphError::bad_request(format!(
            "Give at least one of status, assignedTo, classification, determination, {}.",
            KEPT.join(", ")
        )));
    }
    let data = caller_data(&state, &c)?;
    let mut d = write(&data);
    let idx = find(&d, &id)?;
    let now = crate::defender::generate::ts7(time::OffsetDateTime::now_utc());
    for &i in &idx {
        let mut touched = !change.is_empty();
        if touched {
            change.apply(&mut d.alerts[i], &now);
        }
        match status {
            Some("resolved") if d.alerts[i]["status"] != "Resolved" => {
                d.alerts[i]["status"] = json!("Resolved");
                d.alerts[i]["resolvedTime"] = json!(now);
                touched = true;
            }
            Some("active") if d.alerts[i]["status"] == "Resolved" => {
                d.alerts[i]["status"] = json!("New");
                d.alerts[i]["resolvedTime"] = Value::Null;
                touched = true;
            }
            _ => {}
        }
        if touched {
            d.alerts[i]["lastUpdateTime"] = json!(now);
            d.persist_alert(&state.emu, i)?;
        }
    }
    let mut extra = d
        .incidents
        .get(&id)
        .cloned()
        .unwrap_or_else(|| json!({"id": id}));
    for k in KEPT {
        if let Some(v) = body.get(*k) {
            extra[*k] = v.clone();
        }
    }
    match status {
        Some(s) if s != "active" && s != "resolved" => extra["status"] = json!(s),
        Some(_) => {
            if let Some(m) = extra.as_object_mut() {
                m.remove("status");
            }
        }
        None => {}
    }
    extra["lastModifiedBy"] = json!(format!("API-App:{}", c.app));
    extra["lastUpdateDateTime"] = json!(now);
    d.put_incident(&state.emu, &id, extra)?;
    let inc = build(&d, &id, &idx);
    Ok(json(
        StatusCode::OK,
        &entity(&req, "security/incidents/$entity", inc),
    ))
}

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
use crate::collection::body::Fields;
use crate::collection::set::{Get, Patch};
use crate::defender::data::{TenantData, read};
use crate::defender::query::{EntitySet, Field, Kind, Query};
use crate::request::api::Api;
use crate::request::call::Call;
use crate::request::graph::{Graph, GraphResult};
use crate::request::graph_error::GraphError;
use axum::extract::Path;
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
    // `$select`: the incident's properties (incidents_list_response.json).
    properties: &[
        "id",
        "tenantId",
        "status",
        "incidentWebUrl",
        "redirectIncidentId",
        "displayName",
        "createdDateTime",
        "lastUpdateDateTime",
        "assignedTo",
        "classification",
        "determination",
        "severity",
        "customTags",
        "systemTags",
        "description",
        "lastModifiedBy",
        "resolvingComment",
        "summary",
        "priorityScore",
        "comments",
    ],
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

/// Whether the query string expands `alerts` (checked by [`split_expand`] before).
fn expands(raw: Option<&str>) -> bool {
    split_expand(raw).is_ok_and(|(_, expand)| expand)
}

crate::entity_set! {
/// Graph's `incidents`: the tenant's alerts grouped by incident.
Incidents: Graph = &INCIDENTS, "security/incidents", "Incident", READ;
fn items(_, d) {
    groups(d)
        .iter()
        .map(|(id, idx)| Cow::Owned(build(d, id, idx)))
        .collect()
}

fn query(raw: Option<&str>) -> Result<Query, GraphError> {
    let (rest, _) = split_expand(raw)?;
    Ok(Query::parse(rest.as_deref(), &INCIDENTS)?)
}

/// With `$expand=alerts`, each incident of the page embeds its alerts, and the next
/// link keeps the option.
fn list(call: &Call<Graph>, d: &TenantData, q: &Query) -> String {
    let gs = groups(d);
    let items = gs.iter().map(|(id, idx)| Cow::Owned(build(d, id, idx)));
    let mut page = q.run(items, call.page_size(&INCIDENTS));
    let expand = expands(call.req.query.as_deref());
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
                with_alerts(d, inc, idx)
            })
            .collect();
        page.next = page.next.map(|n| format!("{n}&%24expand=alerts"));
    }
    // `$select`, keeping the expanded alerts.
    page.items = std::mem::take(&mut page.items)
        .into_iter()
        .map(|mut inc| {
            let alerts = inc.as_object_mut().and_then(|o| o.remove("alerts"));
            let mut v = q.project(inc);
            if let (Some(a), Some(o)) = (alerts, v.as_object_mut()) {
                o.insert("alerts".into(), a);
            }
            v
        })
        .collect();
    call.req.page(Self::CONTEXT, &page)
}
}

impl Get for Incidents {
    fn find(call: &Call<Graph>, d: &TenantData, id: &str) -> Option<Value> {
        let idx = find(d, id).ok()?;
        let inc = build(d, id, &idx);
        Some(if expands(call.req.query.as_deref()) {
            with_alerts(d, inc, &idx)
        } else {
            inc
        })
    }

    fn check(call: &Call<Graph>, _: &str) -> Result<(), GraphError> {
        split_expand(call.req.query.as_deref()).map(|_| ())
    }
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

/// `GET /security/incidents/{id}/alerts`.
pub async fn alerts(call: Call<Graph>, Path(id): Path<String>) -> GraphResult {
    call.require(READ)?;
    let data = call.data()?;
    let d = read(&data);
    let idx = find(&d, &id)?;
    let items = idx.iter().map(|&i| alerts::to_graph(&d, i)).collect();
    Ok(call.all(&format!("security/incidents('{id}')/alerts"), items))
}

const KEPT: &[&str] = &[
    "customTags",
    "description",
    "displayName",
    "severity",
    "resolvingComment",
    "summary",
];

/// `incidentStatus` values an update may set.
const SETTABLE_STATUSES: &[&str] = &[
    "active",
    "resolved",
    "inProgress",
    "redirected",
    "awaitingAction",
];

/// An incident update: what goes to its alerts, and what is kept with the incident.
#[derive(Debug)]
pub struct IncidentChange {
    body: Map<String, Value>,
    alerts: alerts::Change,
    status: Option<&'static str>,
}

impl Patch for Incidents {
    const WRITE: &'static [&'static str] = WRITE;
    type Change = IncidentChange;

    fn change(body: &Map<String, Value>) -> Result<IncidentChange, GraphError> {
        let mut alert_body = Map::new();
        for k in ["assignedTo", "classification", "determination"] {
            if let Some(v) = body.get(k) {
                alert_body.insert(k.to_owned(), v.clone());
            }
        }
        let body: Map<String, Value> = body
            .iter()
            .filter(|(k, _)| !k.starts_with('@'))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let f = Fields::<Graph>::new(&body, &[alerts::UPDATABLE, KEPT].concat(), &[])?;
        let change = alerts::Change::parse(&alert_body)?;
        let status = f.one_of("status", SETTABLE_STATUSES)?;
        if let Some(Value::String(s)) = body.get("severity")
            && !SEVERITIES.contains(&s.as_str())
        {
            return Err(Graph::invalid_value("severity", s, SEVERITIES));
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
                return Err(Graph::not_a_string(k));
            }
        }
        if body.is_empty() {
            return Err(GraphError::bad_request(format!(
                "Give at least one of status, assignedTo, classification, determination, {}.",
                KEPT.join(", ")
            )));
        }
        Ok(IncidentChange {
            body,
            alerts: change,
            status,
        })
    }

    fn apply(
        call: &Call<Graph>,
        d: &mut TenantData,
        id: &str,
        c: IncidentChange,
    ) -> Result<Value, GraphError> {
        let IncidentChange {
            body,
            alerts: change,
            status,
        } = c;
        let emu = &call.state.emu;
        let idx = find(d, id)?;
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
                d.persist_alert(emu, i)?;
            }
        }
        let mut extra = d
            .incidents
            .get(id)
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
        extra["lastModifiedBy"] = json!(format!("API-App:{}", call.caller.app));
        extra["lastUpdateDateTime"] = json!(now);
        d.put_incident(emu, id, extra)?;
        Ok(build(d, id, &idx))
    }
}

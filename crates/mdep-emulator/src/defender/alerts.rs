//! `/api/alerts`: list, get, update, and the related machine, files, IPs, domains and user
//! (`mde-api.md` §4.3).

use super::data::{TenantData, read, write};
use crate::collection::set::Get;
use crate::request::call::Call;
use crate::request::mde::Mde;

use super::query::{EntitySet, Field, Kind, Query};
use crate::request::auth::caller_data;
use crate::request::envelope::{Req, collection};
use crate::request::error::MdeError;
use crate::request::mde::{ApiResult, body_object, json};
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};
use std::borrow::Cow;

/// Roles that read alerts.
pub const READ: &[&str] = &["Alert.Read.All", "Alert.ReadWrite.All"];
/// Roles that update alerts.
pub const WRITE: &[&str] = &["Alert.ReadWrite.All"];

/// Alert statuses, in enum order.
pub const STATUSES: &[&str] = &["Unknown", "New", "InProgress", "Resolved"];
/// Alert severities, in enum order.
pub const SEVERITIES: &[&str] = &["UnSpecified", "Informational", "Low", "Medium", "High"];

/// The alert entity set: filterable properties per `get-alerts.md`.
pub static ALERTS: EntitySet = EntitySet {
    name: "Alert",
    filterable: &[
        Field {
            key: "alertCreationTime",
            kind: Kind::Time,
        },
        Field {
            key: "lastUpdateTime",
            kind: Kind::Time,
        },
        Field {
            key: "incidentId",
            kind: Kind::Num,
        },
        Field {
            key: "investigationId",
            kind: Kind::Num,
        },
        Field {
            key: "id",
            kind: Kind::Str,
        },
        Field {
            key: "assignedTo",
            kind: Kind::Str,
        },
        Field {
            key: "detectionSource",
            kind: Kind::Str,
        },
        Field {
            key: "lastEventTime",
            kind: Kind::Time,
        },
        Field {
            key: "status",
            kind: Kind::Enum(STATUSES),
        },
        Field {
            key: "severity",
            kind: Kind::Enum(SEVERITIES),
        },
        Field {
            key: "category",
            kind: Kind::Str,
        },
    ],
    properties: &[
        "id",
        "incidentId",
        "investigationId",
        "assignedTo",
        "severity",
        "status",
        "classification",
        "determination",
        "investigationState",
        "detectionSource",
        "detectorId",
        "category",
        "threatFamilyName",
        "title",
        "description",
        "alertCreationTime",
        "firstEventTime",
        "lastEventTime",
        "lastUpdateTime",
        "resolvedTime",
        "machineId",
        "computerDnsName",
        "rbacGroupName",
        "aadTenantId",
        "threatName",
        "mitreTechniques",
        "relatedUser",
        "loggedOnUsers",
        "comments",
        "evidence",
    ],
    expands_evidence: true,
    max_top: super::query::MAX_TOP,
};

/// Lists alerts matching `q` from `d`, restricted by `keep`, as the response body.
pub fn list_from(
    req: &Req,
    d: &super::data::TenantData,
    q: &Query,
    page_size: usize,
    keep: impl Fn(&Value) -> bool,
) -> String {
    list_from_indexed(req, d, q, page_size, |i| keep(&d.alerts[i]))
}

/// [`list_from`] with the restriction on alert positions.
pub fn list_from_indexed(
    req: &Req,
    d: &super::data::TenantData,
    q: &Query,
    page_size: usize,
    keep: impl Fn(usize) -> bool,
) -> String {
    let candidates = d
        .alerts
        .iter()
        .enumerate()
        .filter(|(i, _)| keep(*i))
        .map(|(i, a)| (i, Cow::Borrowed(a)));
    let sel = q.select(candidates, page_size);
    if q.whole_items() {
        return req.collection(
            "Alerts",
            sel.items.iter().map(|(i, _)| d.alert_text[*i].as_str()),
            sel.count,
            sel.next.as_deref(),
        );
    }
    let items = sel
        .items
        .into_iter()
        .map(|(i, a)| {
            let mut a = a.into_owned();
            if q.expand_evidence {
                a["evidence"] = d.evidence[i].clone();
            }
            q.project(a)
        })
        .collect();
    let page = super::query::Page {
        items,
        count: sel.count,
        next: sel.next,
    };
    collection(req, "Alerts", page).to_string()
}

crate::entity_set! {
/// `GET /api/alerts` (with `$expand=evidence`) and `GET /api/alerts/{id}` (with its
/// evidence).
Alerts: Mde = &ALERTS, "Alerts", "Alert", READ;
fn items(_, d) {
    d.alerts.iter().map(Cow::Borrowed).collect()
}

/// Whole alerts are written from their stored text, without a parse.
fn list(call: &Call<Mde>, d: &TenantData, q: &Query) -> String {
    list_from(&call.req, d, q, call.page_size(&ALERTS), |_| true)
}
}

impl Get for Alerts {
    fn find(_: &Call<Mde>, d: &TenantData, id: &str) -> Option<Value> {
        d.alert_index(id).map(|i| d.alert_full(i))
    }
}

fn find(d: &super::data::TenantData, id: &str) -> Result<usize, MdeError> {
    d.alert_index(id)
        .ok_or_else(|| MdeError::not_found("Alert", id))
}

/// Sets MDE alert `a`'s status; `resolvedTime` is `now` when resolved, else null.
pub fn set_status(a: &mut Value, status: &str, now: &str) {
    a["status"] = json!(status);
    a["resolvedTime"] = if status == "Resolved" {
        json!(now)
    } else {
        Value::Null
    };
}

const CLASSIFICATIONS: &[(&str, &[&str])] = &[
    (
        "TruePositive",
        &[
            "MultiStagedAttack",
            "MaliciousUserActivity",
            "CompromisedUser",
            "Malware",
            "Phishing",
            "UnwantedSoftware",
            "Other",
        ],
    ),
    (
        "InformationalExpectedActivity",
        &[
            "SecurityTesting",
            "LineOfBusinessApplication",
            "ConfirmedUserActivity",
            "Other",
        ],
    ),
    ("FalsePositive", &["Clean", "InsufficientData", "Other"]),
];

fn one_of(name: &str, v: &str, allowed: &[&str]) -> Result<(), MdeError> {
    if allowed.contains(&v) {
        Ok(())
    } else {
        Err(MdeError::bad(
            "InvalidInput",
            format!(
                "Invalid input {name} '{}': expected one of {}.",
                crate::request::error::truncate(v),
                allowed.join(", ")
            ),
        ))
    }
}

/// An update to alerts, checked against the enums (`update-alert.md`, `alerts.md`).
struct Change<'a> {
    status: Option<&'a str>,
    assigned: Option<&'a str>,
    unassign: bool,
    classification: Option<&'a str>,
    determination: Option<&'a str>,
    comment: Option<&'a str>,
}

const UPDATABLE: &[&str] = &[
    "status",
    "assignedTo",
    "classification",
    "determination",
    "comment",
];

impl<'a> Change<'a> {
    fn parse(body: &'a Map<String, Value>, also: &[&str]) -> Result<Self, MdeError> {
        if let Some(k) = body
            .keys()
            .find(|k| !UPDATABLE.contains(&k.as_str()) && !also.contains(&k.as_str()))
        {
            return Err(MdeError::invalid_body(format!(
                "Request body is incorrect: '{}' cannot be updated; updatable properties are {}.",
                crate::request::error::truncate(k),
                UPDATABLE.join(", ")
            )));
        }
        if !body.keys().any(|k| UPDATABLE.contains(&k.as_str())) {
            return Err(MdeError::invalid_body(
                "Request body is incorrect: give at least one of status, assignedTo, classification, determination, comment.",
            ));
        }
        let c = Change {
            status: crate::request::mde::str_param(body, "status")?,
            assigned: crate::request::mde::str_param(body, "assignedTo")?,
            unassign: body.get("assignedTo").is_some_and(Value::is_null),
            classification: crate::request::mde::str_param(body, "classification")?,
            determination: crate::request::mde::str_param(body, "determination")?,
            comment: crate::request::mde::str_param(body, "comment")?,
        };
        if let Some(s) = c.status {
            one_of("status", s, &["New", "InProgress", "Resolved"])?;
        }
        let class_names: Vec<&str> = CLASSIFICATIONS.iter().map(|(c, _)| *c).collect();
        if let Some(cl) = c.classification {
            one_of("classification", cl, &class_names)?;
        }
        Ok(c)
    }

    /// Checks the determination against the classification the alert will have.
    fn check(&self, alert: &Value) -> Result<(), MdeError> {
        let Some(det) = self.determination else {
            return Ok(());
        };
        let class = self
            .classification
            .or_else(|| alert["classification"].as_str());
        let Some(class) = class else {
            return Err(MdeError::bad(
                "InvalidInput",
                "Invalid input determination: set a classification with it (TruePositive, InformationalExpectedActivity or FalsePositive).",
            ));
        };
        let allowed = CLASSIFICATIONS
            .iter()
            .find(|(c, _)| *c == class)
            .map(|(_, d)| *d)
            .unwrap_or_default();
        one_of("determination", det, allowed)
    }

    fn apply(&self, a: &mut Value, who: &str, now: &str) {
        if let Some(s) = self.status {
            set_status(a, s, now);
        }
        if let Some(x) = self.assigned {
            a["assignedTo"] = json!(x);
        }
        if self.unassign {
            a["assignedTo"] = Value::Null;
        }
        if let Some(cl) = self.classification {
            if a["classification"].as_str() != Some(cl) && self.determination.is_none() {
                a["determination"] = Value::Null;
            }
            a["classification"] = json!(cl);
        }
        if let Some(det) = self.determination {
            a["determination"] = json!(det);
        }
        if let Some(text) = self.comment
            && let Some(list) = a["comments"].as_array_mut()
        {
            list.push(json!({"comment": text, "createdBy": who, "createdTime": now}));
        }
        a["lastUpdateTime"] = json!(now);
    }
}

/// `PATCH /api/alerts/{id}`: status, assignedTo, classification, determination, comment.
pub async fn update(call: Call<Mde>, Path(id): Path<String>, body: Bytes) -> ApiResult {
    call.require(WRITE)?;
    let body = body_object(&body)?;
    let change = Change::parse(&body, &[])?;
    let data = call.data()?;
    let mut d = write(&data);
    let i = find(&d, &id)?;
    change.check(&d.alerts[i])?;
    let now = super::generate::ts7(time::OffsetDateTime::now_utc());
    change.apply(&mut d.alerts[i], &call.caller.app.to_string(), &now);
    d.persist_alert(&call.state.emu, i)?;
    Ok(call.ok("Alerts/$entity", d.alert_full(i)))
}

/// Most alerts one `batchUpdate` takes.
pub const MAX_BATCH: usize = 500;

/// `POST /api/alerts/batchUpdate`: `alertIds` and the fields of an update; all or none.
pub async fn batch_update(call: Call<Mde>, body: Bytes) -> ApiResult {
    call.require(WRITE)?;
    call.admit_method("alerts/batchUpdate", 10, 500)?;
    let body = body_object(&body)?;
    let ids = super::params::batch_ids(&body, "alertIds", MAX_BATCH, false)?;
    let change = Change::parse(&body, &["alertIds"])?;
    let data = call.data()?;
    let mut d = write(&data);
    let mut idx = Vec::with_capacity(ids.len());
    for id in &ids {
        let i = find(&d, id)?;
        change.check(&d.alerts[i])?;
        idx.push(i);
    }
    let now = super::generate::ts7(time::OffsetDateTime::now_utc());
    let who = call.caller.app.to_string();
    for i in idx {
        change.apply(&mut d.alerts[i], &who, &now);
        d.persist_alert(&call.state.emu, i)?;
    }
    Ok(StatusCode::OK.into_response())
}

macro_rules! related {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        pub async fn $name(call: Call<Mde>, Path(id): Path<String>) -> ApiResult {
            related(call, $kind, id)
        }
    };
}

related!(
    /// `GET /api/files/{sha1}/alerts`.
    file_alerts, "files"
);
related!(
    /// `GET /api/ips/{ip}/alerts`.
    ip_alerts, "ips"
);
related!(
    /// `GET /api/domains/{domain}/alerts`.
    domain_alerts, "domains"
);
related!(
    /// `GET /api/users/{name}/alerts`.
    user_alerts, "users"
);

/// Alerts whose evidence names the file, IP, domain or user.
fn related(call: Call<Mde>, kind: &str, id: String) -> ApiResult {
    let Call {
        state,
        caller: c,
        req,
        ..
    } = call;
    let wanted = id.to_ascii_lowercase();
    let matches: Box<dyn Fn(&Value) -> bool> = match kind {
        "files" => {
            c.require(READ)?;
            Box::new(move |e: &Value| {
                e["sha1"]
                    .as_str()
                    .is_some_and(|h| h.eq_ignore_ascii_case(&wanted))
                    || e["sha256"]
                        .as_str()
                        .is_some_and(|h| h.eq_ignore_ascii_case(&wanted))
            })
        }
        "ips" => {
            c.require(READ)?;
            super::params::ip(&id)?;
            Box::new(move |e: &Value| e["ipAddress"].as_str() == Some(wanted.as_str()))
        }
        "domains" => {
            // The domain-alerts page lists only Alert.ReadWrite.All (mde-api.md §4.10).
            c.require(WRITE)?;
            Box::new(move |e: &Value| {
                e["url"]
                    .as_str()
                    .is_some_and(|u| super::params::on_domain(u, &wanted))
            })
        }
        "users" => {
            c.require(READ)?;
            // The user name, not the UPN (`user1` for user1@contoso.com).
            Box::new(move |e: &Value| {
                e["entityType"] == "User"
                    && e["accountName"]
                        .as_str()
                        .is_some_and(|n| n.eq_ignore_ascii_case(&wanted))
            })
        }
        _ => return Err(MdeError::not_found("Resource", kind)),
    };
    let q = Query::parse(req.query.as_deref(), &ALERTS)?;
    let data = caller_data(&state, &c)?;
    let page_size = state.emu.defender().settings().page_size;
    let d = read(&data);
    let hit: Vec<bool> = d
        .evidence
        .iter()
        .map(|ev| ev.as_array().is_some_and(|xs| xs.iter().any(&matches)))
        .collect();
    let body = list_from_indexed(&req, &d, &q, page_size, |i| {
        hit.get(i).copied().unwrap_or(false)
    });
    Ok(crate::request::mde::json_text(StatusCode::OK, body))
}

fn evidence_of(d: &super::data::TenantData, i: usize) -> &[Value] {
    d.evidence[i].as_array().map_or(&[], Vec::as_slice)
}

/// `GET /api/alerts/{id}/files`: the files and processes in the alert's evidence.
pub async fn files(call: Call<Mde>, Path(id): Path<String>) -> ApiResult {
    call.require(&["File.Read.All"])?;
    let data = call.data()?;
    let d = read(&data);
    let i = find(&d, &id)?;
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for e in evidence_of(&d, i) {
        if let (Some(sha1), Some(_)) = (e["sha1"].as_str(), e["sha256"].as_str())
            && !seen.contains(&sha1)
        {
            seen.push(sha1);
            out.push(super::generate::file_profile(e));
        }
    }
    Ok(json(StatusCode::OK, &list_value(&call.req, "Files", out)))
}

fn list_value(req: &Req, fragment: &str, items: Vec<Value>) -> Value {
    collection(
        req,
        fragment,
        super::query::Page {
            items,
            count: None,
            next: None,
        },
    )
}

/// `GET /api/alerts/{id}/ips`.
pub async fn ips(call: Call<Mde>, Path(id): Path<String>) -> ApiResult {
    call.require(&["Ip.Read.All"])?;
    let data = call.data()?;
    let d = read(&data);
    let i = find(&d, &id)?;
    let out: Vec<Value> = evidence_of(&d, i)
        .iter()
        .filter_map(|e| e["ipAddress"].as_str())
        .map(|ip| json!({"id": ip}))
        .collect();
    Ok(json(StatusCode::OK, &list_value(&call.req, "Ips", out)))
}

/// `GET /api/alerts/{id}/domains`.
pub async fn domains(call: Call<Mde>, Path(id): Path<String>) -> ApiResult {
    call.require(&["Url.Read.All"])?;
    let data = call.data()?;
    let d = read(&data);
    let i = find(&d, &id)?;
    let out: Vec<Value> = evidence_of(&d, i)
        .iter()
        .filter_map(|e| e["url"].as_str())
        .map(|u| {
            let host = super::params::url_host(u);
            json!({"host": host})
        })
        .collect();
    Ok(json(StatusCode::OK, &list_value(&call.req, "Domains", out)))
}

/// `GET /api/alerts/{id}/user`.
pub async fn user(call: Call<Mde>, Path(id): Path<String>) -> ApiResult {
    call.require(&["User.Read.All"])?;
    let data = call.data()?;
    let d = read(&data);
    let i = find(&d, &id)?;
    let related = &d.alerts[i]["relatedUser"];
    let (Some(name), Some(domain)) = (related["userName"].as_str(), related["domainName"].as_str())
    else {
        return Err(MdeError::not_found("User of alert", &id));
    };
    let key = format!("{domain}\\{name}").to_ascii_lowercase();
    let u = d
        .users
        .get(&key)
        .cloned()
        .ok_or_else(|| MdeError::not_found("User", &key))?;
    Ok(call.ok("Users/$entity", u))
}

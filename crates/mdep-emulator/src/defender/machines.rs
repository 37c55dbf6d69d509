//! `/api/machines`: list, get (by id or computer name), logon users, alerts, tags and
//! find by tag (`mde-api.md` §4.4).

use super::data::{TenantData, read, write};
use crate::collection::set::Get;
use crate::request::call::Call;
use crate::request::mde::Mde;

use super::query::{EntitySet, Field, Kind, Query};
use crate::request::envelope::{Req, collection};
use crate::request::error::MdeError;
use crate::request::mde::{ApiResult, body_object, json};
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use serde_json::{Map, Value, json};
use std::borrow::Cow;
use time::OffsetDateTime;

/// Roles that read machines.
pub const READ: &[&str] = &["Machine.Read.All", "Machine.ReadWrite.All"];
/// Roles that change machines.
pub const WRITE: &[&str] = &["Machine.ReadWrite.All"];

/// The machine entity set: filterable properties per `get-machines.md`.
pub static MACHINES: EntitySet = EntitySet {
    name: "Machine",
    filterable: &[
        Field {
            key: "computerDnsName",
            kind: Kind::Str,
        },
        Field {
            key: "id",
            kind: Kind::Str,
        },
        Field {
            key: "version",
            kind: Kind::Str,
        },
        Field {
            key: "deviceValue",
            kind: Kind::Enum(&["Low", "Normal", "High"]),
        },
        Field {
            key: "aadDeviceId",
            kind: Kind::Guid,
        },
        Field {
            key: "machineTags",
            kind: Kind::StrList,
        },
        Field {
            key: "lastSeen",
            kind: Kind::Time,
        },
        Field {
            key: "exposureLevel",
            kind: Kind::Enum(&["None", "Low", "Medium", "High"]),
        },
        Field {
            key: "onboardingStatus",
            kind: Kind::Str,
        },
        Field {
            key: "lastIpAddress",
            kind: Kind::Str,
        },
        Field {
            key: "healthStatus",
            kind: Kind::Str,
        },
        Field {
            key: "osPlatform",
            kind: Kind::Str,
        },
        Field {
            key: "riskScore",
            kind: Kind::Enum(&["None", "Informational", "Low", "Medium", "High"]),
        },
        Field {
            key: "rbacGroupId",
            kind: Kind::Num,
        },
    ],
    properties: &[
        "id",
        "computerDnsName",
        "firstSeen",
        "lastSeen",
        "osPlatform",
        "version",
        "osProcessor",
        "lastIpAddress",
        "lastExternalIpAddress",
        "osBuild",
        "healthStatus",
        "deviceValue",
        "rbacGroupId",
        "rbacGroupName",
        "riskScore",
        "exposureLevel",
        "isAadJoined",
        "aadDeviceId",
        "machineTags",
        "ipAddresses",
        "onboardingStatus",
        "osArchitecture",
        "osVersion",
        "agentVersion",
        "defenderAvStatus",
        "managedBy",
        "managedByStatus",
        "isPotentialDuplication",
        "mergedIntoMachineId",
        "isExcluded",
        "exclusionReason",
        "vmMetadata",
    ],
    expands_evidence: false,
    max_top: super::query::MAX_TOP,
};

crate::entity_set! {
/// `GET /api/machines` and `GET /api/machines/{id}` (the device id or its computer name).
Machines: Mde = &MACHINES, "Machines", "Machine", READ;
fn items(_, d) {
    d.machines.iter().map(Cow::Borrowed).collect()
}
}

impl Get for Machines {
    fn find(_: &Call<Mde>, d: &TenantData, id: &str) -> Option<Value> {
        d.machine_index(id).map(|i| d.machines[i].clone())
    }
}

/// Finds a machine of the caller's tenant, or MDE's 404.
pub fn find(d: &super::data::TenantData, id: &str) -> Result<usize, MdeError> {
    d.machine_index(id)
        .ok_or_else(|| MdeError::not_found("Machine", id))
}

/// `GET /api/machines/{id}/logonusers`.
pub async fn logon_users(call: Call<Mde>, Path(id): Path<String>) -> ApiResult {
    call.require(&["User.Read.All"])?;
    let data = call.data()?;
    let d = read(&data);
    let i = find(&d, &id)?;
    let mid = d.machines[i]["id"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let users = d
        .logons
        .get(&mid)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    Ok(json(
        StatusCode::OK,
        &collection(
            &call.req,
            "Users",
            super::query::Page {
                items: users,
                count: None,
                next: None,
            },
        ),
    ))
}

/// `GET /api/machines/{id}/alerts`.
pub async fn alerts(call: Call<Mde>, Path(id): Path<String>) -> ApiResult {
    call.require(super::alerts::READ)?;
    let q = Query::parse(call.req.query.as_deref(), &super::alerts::ALERTS)?;
    let data = call.data()?;
    let page_size = call.state.emu.defender().settings().page_size;
    let d = read(&data);
    let i = find(&d, &id)?;
    let mid = d.machines[i]["id"].clone();
    let body = super::alerts::list_from(&call.req, &d, &q, page_size, |a| a["machineId"] == mid);
    Ok(crate::request::mde::json_text(StatusCode::OK, body))
}

/// A tag change: `{"Value": "…", "Action": "Add"|"Remove"}`.
fn tag_change(body: &Map<String, Value>) -> Result<(&str, bool), MdeError> {
    let value =
        crate::request::mde::str_param(body, "Value")?.ok_or_else(|| MdeError::missing("Value"))?;
    let action = crate::request::mde::str_param(body, "Action")?
        .ok_or_else(|| MdeError::missing("Action"))?;
    if value.trim().is_empty() || value.len() > 200 {
        return Err(MdeError::bad(
            "InvalidInput",
            "Invalid input Value: a tag is 1 to 200 characters.",
        ));
    }
    let add = match action {
        "Add" => true,
        "Remove" => false,
        other => {
            return Err(MdeError::bad(
                "InvalidInput",
                format!(
                    "Invalid input Action '{}': expected Add or Remove.",
                    crate::request::error::truncate(other)
                ),
            ));
        }
    };
    Ok((value, add))
}

fn set_tag(m: &mut Value, value: &str, add: bool) {
    if let Some(tags) = m["machineTags"].as_array_mut() {
        if add {
            if !tags.iter().any(|t| t == value) {
                tags.push(json!(value));
            }
        } else {
            tags.retain(|t| t != value);
        }
    }
}

/// `POST /api/machines/{id}/tags` with `{"Value": "…", "Action": "Add"|"Remove"}`.
pub async fn tags(call: Call<Mde>, Path(id): Path<String>, body: Bytes) -> ApiResult {
    call.require(WRITE)?;
    let body = body_object(&body)?;
    let (value, add) = tag_change(&body)?;
    let data = call.data()?;
    let mut d = write(&data);
    let i = find(&d, &id)?;
    set_tag(&mut d.machines[i], value, add);
    d.persist_machine(&call.state.emu, i)?;
    Ok(call.ok("Machines/$entity", d.machines[i].clone()))
}

/// Most machines one `AddOrRemoveTagForMultipleMachines` takes.
pub const MAX_MACHINES: usize = 500;

/// `POST /api/machines/AddOrRemoveTagForMultipleMachines` with `Value`, `Action` and
/// `MachineIds` (1 to 500); all or nothing; 200 with the machines.
pub async fn tags_for_many(call: Call<Mde>, body: Bytes) -> ApiResult {
    call.require(WRITE)?;
    let body = body_object(&body)?;
    let (value, add) = tag_change(&body)?;
    let ids = super::params::batch_ids(&body, "MachineIds", MAX_MACHINES, false)?;
    let data = call.data()?;
    let mut d = write(&data);
    let idx: Vec<usize> = ids
        .iter()
        .map(|id| find(&d, id))
        .collect::<Result<_, _>>()?;
    let mut items = Vec::with_capacity(idx.len());
    for i in idx {
        set_tag(&mut d.machines[i], value, add);
        d.persist_machine(&call.state.emu, i)?;
        items.push(d.machines[i].clone());
    }
    Ok(call.all("Machines", items))
}

const DEVICE_VALUES: &[&str] = &["Normal", "Low", "High"];

fn device_value(v: &str) -> Result<&'static str, MdeError> {
    DEVICE_VALUES
        .iter()
        .find(|x| x.eq_ignore_ascii_case(v))
        .copied()
        .ok_or_else(|| {
            MdeError::bad(
                "InvalidInput",
                format!(
                    "Invalid input DeviceValue '{}': expected Normal, Low or High.",
                    crate::request::error::truncate(v)
                ),
            )
        })
}

/// `PATCH /api/machines/{id}`: `machineTags` (replaces the list) and `deviceValue`.
pub async fn update(call: Call<Mde>, Path(id): Path<String>, body: Bytes) -> ApiResult {
    call.require(WRITE)?;
    let body = body_object(&body)?;
    if let Some(k) = body
        .keys()
        .find(|k| !matches!(k.as_str(), "machineTags" | "deviceValue"))
    {
        return Err(MdeError::invalid_body(format!(
            "Request body is incorrect: '{}' cannot be updated; updatable properties are machineTags, deviceValue.",
            crate::request::error::truncate(k)
        )));
    }
    let tags: Option<Vec<Value>> = match body.get("machineTags") {
        None => None,
        Some(Value::Array(xs))
            if xs.iter().all(|x| {
                x.as_str()
                    .is_some_and(|t| !t.trim().is_empty() && t.len() <= 200)
            }) =>
        {
            let mut out: Vec<Value> = Vec::new();
            for x in xs {
                if !out.contains(x) {
                    out.push(x.clone());
                }
            }
            Some(out)
        }
        Some(_) => {
            return Err(MdeError::invalid_body(
                "Request body is incorrect: 'machineTags' must be an array of tags of 1 to 200 characters.",
            ));
        }
    };
    let value = crate::request::mde::str_param(&body, "deviceValue")?
        .map(device_value)
        .transpose()?;
    if tags.is_none() && value.is_none() {
        return Err(MdeError::invalid_body(
            "Request body is incorrect: give machineTags or deviceValue.",
        ));
    }
    let data = call.data()?;
    let mut d = write(&data);
    let i = find(&d, &id)?;
    if let Some(t) = tags {
        d.machines[i]["machineTags"] = Value::Array(t);
    }
    if let Some(v) = value {
        d.machines[i]["deviceValue"] = json!(v);
    }
    d.persist_machine(&call.state.emu, i)?;
    Ok(call.ok("Machines/$entity", d.machines[i].clone()))
}

/// `POST /api/machines/{id}/setDeviceValue` with `{"DeviceValue": "Normal"|"Low"|"High"}`.
pub async fn set_device_value(call: Call<Mde>, Path(id): Path<String>, body: Bytes) -> ApiResult {
    call.require(WRITE)?;
    let body = body_object(&body)?;
    let v = crate::request::mde::str_param(&body, "DeviceValue")?
        .ok_or_else(|| MdeError::missing("DeviceValue"))?;
    let v = device_value(v)?;
    let data = call.data()?;
    let mut d = write(&data);
    let i = find(&d, &id)?;
    d.machines[i]["deviceValue"] = json!(v);
    d.persist_machine(&call.state.emu, i)?;
    Ok(call.ok("Machines/$entity", d.machines[i].clone()))
}

/// `GET /api/machines/findbytag?tag=…&useStartsWithFilter=true|false`.
pub async fn find_by_tag(call: Call<Mde>) -> ApiResult {
    call.require(READ)?;
    let mut tag = None;
    let mut starts = false;
    for (k, v) in form_urlencoded::parse(call.req.query.as_deref().unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "tag" => tag = Some(v.into_owned()),
            "useStartsWithFilter" => {
                starts = match v.to_ascii_lowercase().as_str() {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(MdeError::bad(
                            "InvalidInput",
                            "Invalid input useStartsWithFilter: expected true or false.",
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    let tag = tag
        .filter(|t| !t.is_empty())
        .ok_or_else(|| MdeError::missing("tag"))?;
    let data = call.data()?;
    let d = read(&data);
    let items: Vec<Value> = d
        .machines
        .iter()
        .filter(|m| {
            m["machineTags"].as_array().is_some_and(|ts| {
                ts.iter().filter_map(Value::as_str).any(|t| {
                    if starts {
                        t.starts_with(tag.as_str())
                    } else {
                        t == tag
                    }
                })
            })
        })
        .cloned()
        .collect();
    Ok(call.all("Machines", items))
}

fn machines_page(req: &Req, d: &super::data::TenantData, ids: &[String], limit: usize) -> Value {
    let items: Vec<Value> = d
        .machines
        .iter()
        .filter(|m| {
            m["id"]
                .as_str()
                .is_some_and(|id| ids.iter().any(|x| x == id))
        })
        .take(limit)
        .cloned()
        .collect();
    collection(
        req,
        "Machines",
        super::query::Page {
            items,
            count: None,
            next: None,
        },
    )
}

/// Machine ids of alerts whose evidence passes `hit`.
fn machines_of(d: &super::data::TenantData, hit: impl Fn(&Value) -> bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (a, ev) in d.alerts.iter().zip(&d.evidence) {
        if ev.as_array().is_some_and(|xs| xs.iter().any(&hit))
            && let Some(m) = a["machineId"].as_str()
            && !out.iter().any(|x| x == m)
        {
            out.push(m.to_owned());
        }
    }
    out
}

/// `GET /api/files/{sha1}/machines`: devices whose alerts name the file (SHA-1 only).
pub async fn file_machines(call: Call<Mde>, Path(sha1): Path<String>) -> ApiResult {
    call.require(READ)?;
    super::params::hash(&sha1, &[40], "this method takes a SHA-1.")?;
    let data = call.data()?;
    let d = read(&data);
    let ids = machines_of(&d, |e| {
        e["sha1"]
            .as_str()
            .is_some_and(|h| h.eq_ignore_ascii_case(&sha1))
    });
    Ok(json(
        StatusCode::OK,
        &machines_page(&call.req, &d, &ids, usize::MAX),
    ))
}

/// `GET /api/domains/{domain}/machines`: devices whose alerts name the domain (at most
/// 500).
pub async fn domain_machines(call: Call<Mde>, Path(host): Path<String>) -> ApiResult {
    call.require(READ)?;
    let lower = super::params::domain(&host)?;
    let data = call.data()?;
    let d = read(&data);
    let ids = machines_of(&d, |e| {
        e["url"]
            .as_str()
            .is_some_and(|u| super::params::on_domain(u, &lower))
    });
    Ok(json(
        StatusCode::OK,
        &machines_page(&call.req, &d, &ids, 500),
    ))
}

/// `GET /api/users/{name}/machines`: devices the user logged on to (`name` is the user
/// name, not the UPN).
pub async fn user_machines(call: Call<Mde>, Path(name): Path<String>) -> ApiResult {
    // The page lists only Machine.ReadWrite.All (mde-api.md §4.10).
    call.require(WRITE)?;
    let data = call.data()?;
    let d = read(&data);
    let ids: Vec<String> = d
        .machines
        .iter()
        .filter_map(|m| m["id"].as_str())
        .filter(|id| {
            d.logons
                .get(&id.to_ascii_lowercase())
                .and_then(Value::as_array)
                .is_some_and(|us| {
                    us.iter().any(|u| {
                        u["accountName"]
                            .as_str()
                            .is_some_and(|n| n.eq_ignore_ascii_case(&name))
                    })
                })
        })
        .map(str::to_owned)
        .collect();
    Ok(json(
        StatusCode::OK,
        &machines_page(&call.req, &d, &ids, usize::MAX),
    ))
}

/// `GET /api/alerts/{id}/machine`: the machine an alert is on.
pub async fn of_alert(call: Call<Mde>, Path(id): Path<String>) -> ApiResult {
    call.require(READ)?;
    let data = call.data()?;
    let d = read(&data);
    let i = d
        .alert_index(&id)
        .ok_or_else(|| MdeError::not_found("Alert", &id))?;
    let mid = d.alerts[i]["machineId"].as_str().unwrap_or_default();
    let m = d
        .machine_index(mid)
        .ok_or_else(|| MdeError::not_found("Machine", mid))?;
    Ok(call.ok("Machines/$entity", d.machines[m].clone()))
}

/// `GET /api/machines/{id}`, where the segment `findbyip(ip='…',timestamp=…)` is
/// [`find_by_ip`] (one path segment, as MDE writes it).
pub async fn get_or_find(call: Call<Mde>, Path(id): Path<String>) -> ApiResult {
    match id
        .strip_prefix("findbyip(")
        .or_else(|| id.strip_prefix("FindByIp("))
    {
        Some(args) => find_by_ip(call, args),
        None => crate::collection::serve::get_one::<Machines>(call, Path(id)).await,
    }
}

/// How far around the timestamp a device counts as seen with the address (`mde-api.md`
/// §4.4: ±15 minutes).
const FIND_WINDOW: time::Duration = time::Duration::minutes(15);

/// `findbyip(ip='10.1.2.3',timestamp=2019-09-22T08:44:05Z)`: the devices of the tenant
/// that held internal address `ip` within 15 minutes of `timestamp`, which must lie in the
/// past 30 days (`mde-api.md` §4.4). A generated device holds its addresses from its
/// `firstSeen` to its `lastSeen`.
fn find_by_ip(call: Call<Mde>, args: &str) -> ApiResult {
    use time::format_description::well_known::Rfc3339;
    call.require(READ)?;
    let args = args.strip_suffix(')').ok_or_else(|| {
        MdeError::bad(
            "InvalidInput",
            "Invalid input: findbyip(ip='…',timestamp=…).",
        )
    })?;
    let (mut ip, mut ts) = (None, None);
    for part in args.split(',') {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let v = v.trim().trim_matches('\'');
        match k.trim().to_ascii_lowercase().as_str() {
            "ip" => ip = Some(v.to_owned()),
            "timestamp" => ts = Some(v.to_owned()),
            _ => {}
        }
    }
    let ip = ip
        .filter(|s| !s.is_empty())
        .ok_or_else(|| MdeError::missing("ip"))?;
    let ts = ts
        .filter(|s| !s.is_empty())
        .ok_or_else(|| MdeError::missing("timestamp"))?;
    super::params::ip(&ip)?;
    let at = OffsetDateTime::parse(&ts, &Rfc3339).map_err(|_| {
        MdeError::bad(
            "InvalidInput",
            format!(
                "Invalid input timestamp {}: an ISO 8601 time such as 2019-09-22T08:44:05Z.",
                crate::request::error::truncate(&ts)
            ),
        )
    })?;
    if at < OffsetDateTime::now_utc() - time::Duration::days(30) {
        return Err(MdeError::bad(
            "InvalidInput",
            format!("Invalid input timestamp {ts}: it must lie within the past 30 days."),
        ));
    }
    let data = call.data()?;
    let d = read(&data);
    let time_of = |m: &Value, k: &str| {
        m[k].as_str()
            .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
    };
    let items: Vec<Value> = d
        .machines
        .iter()
        .filter(|m| {
            let holds = m["lastIpAddress"] == ip.as_str()
                || m["ipAddresses"]
                    .as_array()
                    .is_some_and(|xs| xs.iter().any(|x| x["ipAddress"] == ip.as_str()));
            let (Some(first), Some(last)) = (time_of(m, "firstSeen"), time_of(m, "lastSeen"))
            else {
                return false;
            };
            holds && first - FIND_WINDOW <= at && at <= last + FIND_WINDOW
        })
        .cloned()
        .collect();
    Ok(call.all("Machines", items))
}

//! `/api/investigations`: the automated investigations of a tenant (`mde-api.md` §4.9):
//! those its alerts started, derived from each alert's `investigationId` and
//! `investigationState`, and those `POST /api/machines/{id}/startInvestigation` started
//! (`mde-api.md` §4.5), which run for
//! [`crate::state::defender::DefenderSettings::action_seconds`] and then end `Benign`
//! (nothing found: the emulator has nothing to remediate).

use super::data::{TenantData, write};
use super::generate::ts0;
use super::query::{EntitySet, Field, Kind, MAX_TOP};
use crate::collection::set::Get;
use crate::request::call::Call;
use crate::request::error::MdeError;
use crate::request::mde::{ApiResult, Mde, body_object, str_param};
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::borrow::Cow;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The investigation entity set (`get-investigation-collection.md`).
pub static INVESTIGATIONS: EntitySet = EntitySet {
    name: "Investigation",
    filterable: &[
        Field {
            key: "startTime",
            kind: Kind::Time,
        },
        Field {
            key: "id",
            kind: Kind::Str,
        },
        Field {
            key: "state",
            kind: Kind::Str,
        },
        Field {
            key: "machineId",
            kind: Kind::Str,
        },
        Field {
            key: "triggeringAlertId",
            kind: Kind::Str,
        },
    ],
    properties: &[
        "id",
        "startTime",
        "endTime",
        "state",
        "cancelledBy",
        "statusDetails",
        "machineId",
        "computerDnsName",
        "triggeringAlertId",
    ],
    expands_evidence: false,
    max_top: MAX_TOP,
};

/// States in which an investigation is still going.
const OPEN: &[&str] = &["Running", "Queued", "PendingApproval", "PendingResource"];

/// An investigation started through the API as of `now`: Running for `seconds`, then
/// Benign.
fn started_view(v: &Value, now: OffsetDateTime, seconds: u32) -> Value {
    let mut v = v.clone();
    let start = v["startTime"]
        .as_str()
        .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok());
    if let Some(start) = start {
        let end = start + time::Duration::seconds(i64::from(seconds));
        if now >= end {
            v["state"] = json!("Benign");
            v["endTime"] = json!(ts0(end));
        }
    }
    v
}

fn investigations(call: &Call<Mde>, d: &TenantData) -> Vec<Value> {
    let seconds = call.defender().settings().action_seconds;
    let now = OffsetDateTime::now_utc();
    let started = d
        .investigations
        .iter()
        .rev()
        .map(|v| started_view(v, now, seconds));
    let from_alerts = d.alerts.iter().filter_map(|a| {
        let id = a["investigationId"].as_i64()?;
        let created = a["alertCreationTime"]
            .as_str()
            .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())?;
        let start = created + time::Duration::seconds(40 + id % 60);
        let state = a["investigationState"].as_str().unwrap_or("Running");
        let end =
            (!OPEN.contains(&state)).then(|| ts0(start + time::Duration::minutes(5 + id % 50)));
        Some(json!({
            "id": id.to_string(),
            "startTime": ts0(start),
            "endTime": end,
            "state": state,
            "cancelledBy": null,
            "statusDetails": null,
            "machineId": a["machineId"],
            "computerDnsName": a["computerDnsName"],
            "triggeringAlertId": a["id"],
        }))
    });
    started.chain(from_alerts).collect()
}

/// The next investigation id: one more than any the tenant has.
pub(super) fn next_id(d: &TenantData) -> i64 {
    let from_alerts = d
        .alerts
        .iter()
        .filter_map(|a| a["investigationId"].as_i64());
    let started = d
        .investigations
        .iter()
        .filter_map(|i| i["id"].as_str().and_then(|s| s.parse::<i64>().ok()));
    from_alerts.chain(started).max().map_or(1, |m| m + 1)
}

/// `POST /api/machines/{id}/startInvestigation` with `{"Comment"}`: 201 with the new
/// Investigation (`initiate-autoir-investigation.md`; Alert.ReadWrite.All, 50 calls an
/// hour).
pub async fn start(call: Call<Mde>, Path(id): Path<String>, body: Bytes) -> ApiResult {
    call.require(super::alerts::WRITE)?;
    call.admit_method("startInvestigation", 50, 50)?;
    let body = body_object(&body)?;
    match str_param(&body, "Comment")? {
        Some(c) if !c.trim().is_empty() => {}
        _ => return Err(MdeError::missing("Comment")),
    }
    let data = call.data()?;
    let mut d = write(&data);
    let m = &d.machines[super::machines::find(&d, &id)?];
    let v = json!({
        "id": next_id(&d).to_string(),
        "startTime": ts0(OffsetDateTime::now_utc()),
        "endTime": null,
        "state": "Running",
        "cancelledBy": null,
        "statusDetails": null,
        "machineId": m["id"],
        "computerDnsName": m["computerDnsName"],
        "triggeringAlertId": null,
    });
    d.add_investigation(&call.state.emu, v.clone())?;
    Ok(call.entity(StatusCode::CREATED, "Investigations/$entity", v))
}

crate::entity_set! {
/// `GET /api/investigations` and `GET /api/investigations/{id}` (the investigation id
/// or its triggering alert's id).
Investigations: Mde = &INVESTIGATIONS, "Investigations", "Investigation", super::alerts::READ;
fn items(call, d) {
    investigations(call, d).into_iter().map(Cow::Owned).collect()
}
}

impl Get for Investigations {
    fn find(call: &Call<Mde>, d: &TenantData, id: &str) -> Option<Value> {
        investigations(call, d)
            .into_iter()
            .find(|i| i["id"] == id || i["triggeringAlertId"] == id)
    }
}

//! `POST /api/alerts/CreateAlertByReference` (`mde-api.md` §4.3,
//! `create-alert-by-reference.md`): an alert raised from an event found with advanced
//! hunting, named by its `reportId`, `eventTime` and `machineId`.
//!
//! In the emulator an *event* is a `DeviceProcessEvents` row (the only event table it
//! has): a process in some alert's evidence, whose `ReportId` is one more than that
//! alert's position, `Timestamp` the process's `processCreationTime` and `DeviceId` the
//! alert's machine. A reference that matches no row is 404, as MDE answers "if event
//! with the specified properties (reportId, eventTime and machineId) was not found".
//! The new alert holds that process as evidence and, as MDE does, starts an automated
//! investigation; an open alert with the same title on the same device takes the event
//! instead of a new alert being made.

use super::alerts::WRITE;
use super::data::write;
use super::generate::{ticks, ts7};
use crate::request::call::Call;
use crate::request::error::{MdeError, truncate};
use crate::request::mde::{ApiResult, Mde, body_object};
use axum::body::Bytes;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The severities the call takes.
pub const SEVERITIES: &[&str] = &["Low", "Medium", "High"];

/// The categories the call takes (`create-alert-by-reference.md`).
pub const CATEGORIES: &[&str] = &[
    "General",
    "CommandAndControl",
    "Collection",
    "CredentialAccess",
    "DefenseEvasion",
    "Discovery",
    "Exfiltration",
    "Exploit",
    "Execution",
    "InitialAccess",
    "LateralMovement",
    "Malware",
    "Persistence",
    "PrivilegeEscalation",
    "Ransomware",
    "SuspiciousActivity",
];

/// The body's properties, all required.
const FIELDS: &[&str] = &[
    "eventTime",
    "reportId",
    "machineId",
    "severity",
    "title",
    "description",
    "recommendedAction",
    "category",
];

fn field<'a>(body: &'a Map<String, Value>, name: &str) -> Result<&'a str, MdeError> {
    match body.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        Some(Value::String(_)) | Some(Value::Null) | None => Err(MdeError::missing(name)),
        Some(_) => Err(MdeError::invalid_body(format!(
            "Request body is incorrect: '{name}' must be a string."
        ))),
    }
}

fn one_of(name: &str, v: &str, allowed: &[&'static str]) -> Result<&'static str, MdeError> {
    allowed
        .iter()
        .find(|a| a.eq_ignore_ascii_case(v))
        .copied()
        .ok_or_else(|| {
            MdeError::bad(
                "InvalidInput",
                format!(
                    "Invalid input {name} '{}': expected one of {}.",
                    truncate(v),
                    allowed.join(", ")
                ),
            )
        })
}

/// `POST /api/alerts/CreateAlertByReference`: 200 with the alert (new, or the open one
/// the event was merged into). Alert.ReadWrite.All; 15 calls a minute.
pub async fn create(call: Call<Mde>, body: Bytes) -> ApiResult {
    call.require(WRITE)?;
    call.admit_method("CreateAlertByReference", 15, 900)?;
    let body = body_object(&body)?;
    if let Some(extra) = body.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(MdeError::invalid_body(format!(
            "Request body is incorrect: unknown property '{}'. Body parameters are case-sensitive.",
            truncate(extra)
        )));
    }
    // reportId: a string in the page's example; a number is taken too.
    let report = match body.get("reportId") {
        Some(Value::Number(n)) => n.to_string(),
        _ => field(&body, "reportId")?.to_owned(),
    };
    let event_time = field(&body, "eventTime")?;
    let machine = field(&body, "machineId")?;
    let severity = field(&body, "severity")?;
    let title = field(&body, "title")?;
    let description = field(&body, "description")?;
    // Required, but the alert entity has no property to keep it in.
    field(&body, "recommendedAction")?;
    let category = field(&body, "category")?;
    let severity = one_of("severity", severity, SEVERITIES)?;
    let category = one_of("category", category, CATEGORIES)?;
    let at = OffsetDateTime::parse(event_time, &Rfc3339).map_err(|_| {
        MdeError::bad(
            "InvalidInput",
            format!(
                "Invalid input eventTime '{}': an ISO 8601 date-time as advanced hunting returns it.",
                truncate(event_time)
            ),
        )
    })?;
    let report_id = report.trim().parse::<i64>().map_err(|_| {
        MdeError::bad(
            "InvalidInput",
            format!(
                "Invalid input reportId '{}': the ReportId of an advanced hunting event.",
                truncate(&report)
            ),
        )
    })?;

    let data = call.data()?;
    let mut d = write(&data);
    let mi = super::machines::find(&d, machine)?;
    let m = d.machines[mi].clone();
    let machine_id = m["id"].as_str().unwrap_or_default().to_owned();
    let not_found = || {
        MdeError::not_found(
            "Event",
            &format!("(reportId {report_id}, eventTime {event_time}, machineId {machine_id})"),
        )
    };
    let (source, process) =
        super::hunting::process_event(&d, report_id, &machine_id, at.unix_timestamp_nanos())
            .ok_or_else(not_found)?;
    let related = d.alerts[source]["relatedUser"].clone();
    let now = OffsetDateTime::now_utc();
    let stamp = ts7(now);
    let mut evidence = process.clone();
    evidence["evidenceCreationTime"] = json!(stamp);
    let event = ts7(at);

    let open = d.alerts.iter().position(|a| {
        a["machineId"] == machine_id.as_str() && a["title"] == title && a["status"] != "Resolved"
    });
    let i = match open {
        Some(i) => {
            let a = &mut d.alerts[i];
            if a["lastEventTime"].as_str().is_none_or(|l| *l < *event) {
                a["lastEventTime"] = json!(event);
            }
            if a["firstEventTime"].as_str().is_none_or(|f| *f > *event) {
                a["firstEventTime"] = json!(event);
            }
            a["lastUpdateTime"] = json!(stamp);
            if let Some(ev) = d.evidence[i].as_array_mut()
                && !ev.iter().any(|e| {
                    e["entityType"] == "Process" && e["processId"] == evidence["processId"]
                })
            {
                ev.push(evidence);
            }
            d.persist_alert(&call.state.emu, i)?;
            i
        }
        None => {
            let incident = d
                .alerts
                .iter()
                .filter_map(|a| a["incidentId"].as_i64())
                .max()
                .map_or(1, |x| x + 1);
            let investigation = super::investigations::next_id(&d);
            let a = json!({
                "id": format!("da{}_{}", ticks(now), uuid::Uuid::new_v4().as_u128() as i32),
                "incidentId": incident,
                "investigationId": investigation,
                "assignedTo": null,
                "severity": severity,
                "status": "New",
                "classification": null,
                "determination": null,
                "investigationState": "Running",
                "detectionSource": "CustomDetection",
                "detectorId": null,
                "category": category,
                "threatFamilyName": null,
                "title": title,
                "description": description,
                "alertCreationTime": stamp,
                "firstEventTime": event,
                "lastEventTime": event,
                "lastUpdateTime": stamp,
                "resolvedTime": null,
                "machineId": machine_id,
                "computerDnsName": m["computerDnsName"],
                "rbacGroupName": m["rbacGroupName"],
                "aadTenantId": d.tenant,
                "threatName": null,
                "mitreTechniques": [],
                "relatedUser": related,
                "loggedOnUsers": [],
                "comments": [],
            });
            d.add_alert(&call.state.emu, a, json!([evidence]))?
        }
    };
    Ok(call.ok("Alerts/$entity", d.alert_full(i)))
}

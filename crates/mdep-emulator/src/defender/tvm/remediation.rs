//! Remediation tasks (activities) (`mde-api.md` §4.8, `get-remediation-methods-properties.md`,
//! `remediationtasks_list.json`): a stable share of the tenant's recommendations has a
//! task someone created in the portal, over the devices the recommendation applies to.

use super::catalog::{CATALOG, exposure, machine_ref, machines_with, seed};
use crate::collection::set::Get;
use crate::defender::data::{TenantData, read};
use crate::defender::generate::{Rng, ts0, ts7};
use crate::defender::query::{EntitySet, Field, Kind, MAX_TOP};
use crate::request::call::Call;
use crate::request::error::MdeError;
use crate::request::mde::{ApiResult, Mde};
use axum::extract::Path;
use serde_json::{Value, json};
use std::borrow::Cow;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Roles that read remediation tasks.
pub const READ: &[&str] = &["RemediationTasks.Read.All"];

/// `$filter` on `createdOn` and `status` (`get-remediation-all-activities.md`).
pub static REMEDIATION_TASKS: EntitySet = EntitySet {
    name: "RemediationTask",
    filterable: &[
        Field {
            key: "createdOn",
            kind: Kind::Time,
        },
        Field {
            key: "status",
            kind: Kind::Str,
        },
    ],
    properties: &[
        "id",
        "title",
        "createdOn",
        "requesterId",
        "requesterEmail",
        "status",
        "statusLastModifiedOn",
        "description",
        "relatedComponent",
        "targetDevices",
        "rbacGroupNames",
        "fixedDevices",
        "requesterNotes",
        "dueOn",
        "category",
        "productivityImpactRemediationType",
        "priority",
        "completionMethod",
        "completerId",
        "completerEmail",
        "scid",
        "type",
        "productId",
        "vendorId",
        "nameId",
        "recommendedVersion",
        "recommendedVendor",
        "recommendedProgram",
    ],
    expands_evidence: false,
    max_top: MAX_TOP,
};

/// The newest `lastSeen` of the tenant's devices: tasks are dated before it.
fn anchor(d: &TenantData) -> OffsetDateTime {
    d.machines
        .iter()
        .filter_map(|m| m["lastSeen"].as_str())
        .filter_map(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
        .max()
        .unwrap_or(crate::defender::generate::ANCHOR)
}

/// The tenant's remediation tasks, with their catalog index.
fn tasks(d: &TenantData) -> Vec<(usize, Value)> {
    let counts = exposure(d);
    let now = anchor(d);
    let mut rng = Rng::new(seed(d) ^ 0x7265_6d65_6469_6174);
    let mut out = Vec::new();
    for (k, s) in CATALOG.iter().enumerate() {
        let n = counts[k];
        // Draw for every entry so one product's task does not depend on another's.
        let (has, id, requester, completed, fixed, priority, age) = (
            rng.chance(60),
            rng.guid(),
            rng.guid(),
            rng.chance(25),
            rng.below(n as u64 + 1),
            *rng.pick(&["High", "Medium", "Low"]),
            3 + rng.below(20) as i64,
        );
        if !has || n == 0 || s.cves.is_empty() {
            continue;
        }
        let created = now - time::Duration::days(age) - time::Duration::minutes(age * 37);
        let due = (created + time::Duration::days(14)).replace_time(time::Time::MIDNIGHT);
        let modified = if completed {
            created + time::Duration::days(age / 2 + 1)
        } else {
            created
        };
        let mut groups: Vec<&str> = machines_with(d, k)
            .filter_map(|m| m["rbacGroupName"].as_str())
            .collect();
        groups.sort_unstable();
        groups.dedup();
        let component = super::recommendations::component(s);
        out.push((
            k,
            json!({
                "id": id.to_string(),
                "title": format!("Update {component}"),
                "createdOn": ts7(created),
                "requesterId": requester.to_string(),
                "requesterEmail": format!("secops@tenant-{}.example", &d.tenant.to_string()[..8]),
                "status": if completed { "Completed" } else { "Active" },
                "statusLastModifiedOn": ts7(modified),
                "description": format!("Update {component} to a later version to mitigate {} known vulnerabilities affecting your devices.", s.cves.len()),
                "relatedComponent": component,
                "targetDevices": n,
                "rbacGroupNames": groups,
                "fixedDevices": if completed { n as u64 } else { fixed.min(n as u64 - 1) },
                "requesterNotes": null,
                "dueOn": ts0(due),
                "category": "Software",
                "productivityImpactRemediationType": null,
                "priority": priority,
                "completionMethod": if completed { json!("Automatic") } else { Value::Null },
                "completerId": null,
                "completerEmail": null,
                "scid": null,
                "type": "Update",
                "productId": s.id(),
                "vendorId": s.vendor,
                "nameId": s.name,
                "recommendedVersion": s.fixed,
                "recommendedVendor": null,
                "recommendedProgram": null,
            }),
        ));
    }
    out
}

crate::entity_set! {
/// `GET /api/remediationTasks` and `GET /api/remediationTasks/{id}`.
RemediationTasks: Mde = &REMEDIATION_TASKS, "RemediationTasks", "RemediationTask", READ;
fn items(_, d) {
    tasks(d).into_iter().map(|(_, v)| Cow::Owned(v)).collect()
}
}

impl Get for RemediationTasks {
    fn find(_: &Call<Mde>, d: &TenantData, id: &str) -> Option<Value> {
        tasks(d)
            .into_iter()
            .find(|(_, v)| v["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id)))
            .map(|(_, v)| v)
    }
}

/// `GET /api/remediationTasks/{id}/machineReferences`: the devices the task targets.
pub async fn machine_references(call: Call<Mde>, Path(id): Path<String>) -> ApiResult {
    call.require(READ)?;
    let data = call.data()?;
    let d = read(&data);
    let (k, _) = tasks(&d)
        .into_iter()
        .find(|(_, v)| {
            v["id"]
                .as_str()
                .is_some_and(|x| x.eq_ignore_ascii_case(&id))
        })
        .ok_or_else(|| MdeError::not_found("RemediationTask", &id))?;
    let items = machines_with(&d, k).map(machine_ref).collect();
    Ok(call.all("MachineReferences", items))
}

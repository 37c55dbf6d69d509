//! Machine actions: MDE's shape, and a tenant's past actions.

use super::machines::Machine;
use super::model::Recipe;
use super::rng::{Rng, ts7};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

/// The fields of a machine action.
pub struct ActionFields<'a> {
    /// GUID.
    pub id: Uuid,
    /// `type`.
    pub kind: &'a str,
    /// `scope` (isolation type or scan type).
    pub scope: Option<&'a str>,
    /// `requestor`.
    pub requestor: &'a str,
    /// `requestorComment`.
    pub comment: &'a str,
    /// Status as stored.
    pub status: &'a str,
    /// Machine id.
    pub machine_id: &'a str,
    /// Machine DNS name.
    pub dns: &'a str,
    /// Creation.
    pub created: OffsetDateTime,
    /// Last update.
    pub updated: OffsetDateTime,
    /// `relatedFileInfo`.
    pub file: Option<Value>,
}

/// A machine action in MDE's shape (`machineaction.md`, `samples/machineaction_entity_isolate.json`).
pub fn action_json(a: ActionFields<'_>) -> Value {
    json!({
        "id": a.id,
        "type": a.kind,
        "title": null,
        "requestor": a.requestor,
        "requestorComment": a.comment,
        "status": a.status,
        "machineId": a.machine_id,
        "computerDnsName": a.dns,
        "creationDateTimeUtc": ts7(a.created),
        "lastUpdateDateTimeUtc": ts7(a.updated),
        "cancellationRequestor": null,
        "cancellationComment": null,
        "cancellationDateTimeUtc": null,
        "errorHResult": 0,
        "scope": a.scope,
        "externalID": null,
        "requestSource": "PublicApi",
        "relatedFileInfo": a.file,
        "commands": [],
    })
}

/// Past actions on some of `machines`, newest first.
pub fn past_actions(rng: &mut Rng, recipe: &Recipe, machines: &[Machine]) -> Vec<Value> {
    const KINDS: &[(&str, Option<&str>)] = &[
        ("RunAntiVirusScan", Some("Quick")),
        ("RunAntiVirusScan", Some("Full")),
        ("Isolate", Some("Full")),
        ("Unisolate", None),
        ("CollectInvestigationPackage", None),
        ("RestrictCodeExecution", None),
        ("UnrestrictCodeExecution", None),
        ("StopAndQuarantineFile", None),
    ];
    let devices = machines.len();
    let mut out = Vec::new();
    for _ in 0..(devices / 4).min(500) {
        let m = &machines[rng.below(devices as u64) as usize].json;
        let (kind, scope) = *rng.pick(KINDS);
        let created = rng.before(recipe.anchor, 86_400, 86_400 * 60);
        let updated = created + time::Duration::seconds(20 + rng.below(300) as i64);
        let file = (kind == "StopAndQuarantineFile")
            .then(|| json!({"fileIdentifier": rng.hex(40), "fileIdentifierType": "Sha1"}));
        out.push(action_json(ActionFields {
            id: rng.guid(),
            kind,
            scope,
            requestor: &format!("analyst@{}", recipe.domain),
            comment: "Response to alert triage",
            status: if rng.chance(90) {
                "Succeeded"
            } else {
                "Failed"
            },
            machine_id: m["id"].as_str().unwrap_or_default(),
            dns: m["computerDnsName"].as_str().unwrap_or_default(),
            created,
            updated,
            file,
        }));
    }
    out.sort_by(|a, b| {
        b["creationDateTimeUtc"]
            .as_str()
            .cmp(&a["creationDateTimeUtc"].as_str())
    });
    out
}

//! `/api/investigations`: the automated investigations the tenant's alerts started
//! (`mde-api.md` §4.9), derived from each alert's `investigationId` and
//! `investigationState`.

use super::data::TenantData;
use super::generate::ts0;
use super::query::{EntitySet, Field, Kind, MAX_TOP};
use crate::collection::set::Get;
use crate::request::call::Call;
use crate::request::mde::Mde;
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

fn investigations(d: &TenantData) -> Vec<Value> {
    d.alerts
        .iter()
        .filter_map(|a| {
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
        })
        .collect()
}

crate::entity_set! {
/// `GET /api/investigations` and `GET /api/investigations/{id}` (the investigation id
/// or its triggering alert's id).
Investigations: Mde = &INVESTIGATIONS, "Investigations", "Investigation", super::alerts::READ;
fn items(_, d) {
    investigations(d).into_iter().map(Cow::Owned).collect()
}
}

impl Get for Investigations {
    fn find(_: &Call<Mde>, d: &TenantData, id: &str) -> Option<Value> {
        investigations(d)
            .into_iter()
            .find(|i| i["id"] == id || i["triggeringAlertId"] == id)
    }
}

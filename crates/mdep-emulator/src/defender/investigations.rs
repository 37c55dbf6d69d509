//! `/api/investigations`: the automated investigations the tenant's alerts started
//! (`mde-api.md` §4.9), derived from each alert's `investigationId` and
//! `investigationState`.

use super::data::TenantData;
use super::data::read;
use super::generate::ts0;
use super::query::{EntitySet, Field, Kind, MAX_TOP, Query};
use crate::AppState;
use crate::request::auth::Caller;
use crate::request::auth::caller_data;
use crate::request::envelope::{Req, collection, entity};
use crate::request::error::MdeError;
use crate::request::mde::{ApiResult, json};
use axum::Extension;
use axum::extract::{Path, State};
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

/// `GET /api/investigations`.
pub async fn list(
    State(state): State<AppState>,
    Extension(c): Extension<Caller>,
    req: Req,
) -> ApiResult {
    c.require(super::alerts::READ)?;
    let q = Query::parse(req.query.as_deref(), &INVESTIGATIONS)?;
    let data = caller_data(&state, &c)?;
    let page_size = state.emu.defender().settings().page_size;
    let all = investigations(&read(&data));
    let mut page = q.run(all.iter().map(Cow::Borrowed), page_size);
    page.items = page.items.drain(..).map(|v| q.project(v)).collect();
    Ok(json(
        StatusCode::OK,
        &collection(&req, "Investigations", page),
    ))
}

/// `GET /api/investigations/{id}`: the investigation id or its triggering alert's id.
pub async fn get_one(
    State(state): State<AppState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    req: Req,
) -> ApiResult {
    c.require(super::alerts::READ)?;
    let data = caller_data(&state, &c)?;
    let found = investigations(&read(&data))
        .into_iter()
        .find(|i| i["id"] == id.as_str() || i["triggeringAlertId"] == id.as_str())
        .ok_or_else(|| MdeError::not_found("Investigation", &id))?;
    Ok(json(
        StatusCode::OK,
        &entity(&req, "Investigations/$entity", found),
    ))
}

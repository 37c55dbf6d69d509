//! `/api/indicators`: list, submit (or update), delete and import (`mde-api.md` §4.6).
//! With `Ti.ReadWrite.All` an app sees every indicator of the tenant; with `Ti.ReadWrite`
//! only those it created.

use super::data::write;
use crate::request::mde::Mde;

use super::generate::{self, IndicatorFields};
use super::query::{EntitySet, Field, Kind};
use crate::AppState;
use crate::request::auth::Caller;
use crate::request::call::Call;
use crate::request::error::{MdeError, truncate};
use crate::request::mde::{ApiResult, body_object, json};
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};
use std::borrow::Cow;
use time::OffsetDateTime;

/// Roles that manage indicators.
pub const ROLES: &[&str] = &["Ti.ReadWrite", "Ti.ReadWrite.All"];

/// Largest import batch.
pub const MAX_IMPORT: usize = 500;

/// Most active indicators per tenant.
pub const MAX_INDICATORS: usize = 15_000;

const TYPES: &[&str] = &[
    "FileSha1",
    "FileSha256",
    "FileMd5",
    "CertificateThumbprint",
    "IpAddress",
    "DomainName",
    "Url",
];
const ACTIONS: &[&str] = &[
    "Warn",
    "Block",
    "Audit",
    "Alert",
    "AlertAndBlock",
    "BlockAndRemediate",
    "Allowed",
];
const SEVERITIES: &[&str] = &["Informational", "Low", "Medium", "High"];

/// The indicator entity set: filterable properties per `get-ti-indicators-collection.md`.
pub static INDICATORS: EntitySet = EntitySet {
    name: "Indicator",
    filterable: &[
        Field {
            key: "application",
            kind: Kind::Str,
        },
        Field {
            key: "createdByDisplayName",
            kind: Kind::Str,
        },
        Field {
            key: "expirationTime",
            kind: Kind::Time,
        },
        Field {
            key: "generateAlert",
            kind: Kind::Bool,
        },
        Field {
            key: "title",
            kind: Kind::Str,
        },
        Field {
            key: "rbacGroupNames",
            kind: Kind::StrList,
        },
        Field {
            key: "rbacGroupIds",
            kind: Kind::NumList,
        },
        Field {
            key: "indicatorValue",
            kind: Kind::Str,
        },
        Field {
            key: "indicatorType",
            kind: Kind::Str,
        },
        Field {
            key: "creationTimeDateTimeUtc",
            kind: Kind::Time,
        },
        Field {
            key: "createdBy",
            kind: Kind::Str,
        },
        Field {
            key: "action",
            kind: Kind::Str,
        },
        Field {
            key: "severity",
            kind: Kind::Enum(SEVERITIES),
        },
    ],
    properties: &[
        "id",
        "indicatorValue",
        "indicatorType",
        "action",
        "application",
        "source",
        "sourceType",
        "title",
        "creationTimeDateTimeUtc",
        "createdBy",
        "expirationTime",
        "lastUpdateTime",
        "lastUpdatedBy",
        "severity",
        "description",
        "recommendedActions",
        "rbacGroupNames",
        "rbacGroupIds",
        "generateAlert",
        "createdByDisplayName",
        "createdBySource",
    ],
    expands_evidence: false,
    max_top: super::query::MAX_TOP,
};

fn visible(c: &Caller, ind: &Value) -> bool {
    c.has("Ti.ReadWrite.All") || ind["createdBy"] == c.app.to_string().as_str()
}

crate::entity_set! {
/// `GET /api/indicators`: every indicator with Ti.ReadWrite.All, else the app's own.
Indicators: Mde = &INDICATORS, "Indicators", "Indicator", ROLES;
fn items(call, d) {
    d.indicators
        .iter()
        .filter(|i| visible(&call.caller, i))
        .map(Cow::Borrowed)
        .collect()
}
}

fn is_hex(s: &str, n: usize) -> bool {
    s.len() == n && s.chars().all(|c| c.is_ascii_hexdigit())
}

fn check_value(kind: &str, value: &str) -> Result<(), MdeError> {
    let ok = match kind {
        "FileSha1" | "CertificateThumbprint" => is_hex(value, 40),
        "FileSha256" => is_hex(value, 64),
        "FileMd5" => is_hex(value, 32),
        "IpAddress" => {
            if value.contains('/') {
                return Err(MdeError::bad(
                    "InvalidIpAddress",
                    format!(
                        "IP address {} is invalid: CIDR ranges are not supported.",
                        truncate(value)
                    ),
                ));
            }
            value.parse::<std::net::IpAddr>().is_ok()
        }
        "DomainName" => crate::directory::valid_domain(&value.to_ascii_lowercase()),
        "Url" => !value.is_empty() && !value.chars().any(char::is_whitespace),
        _ => false,
    };
    if ok {
        return Ok(());
    }
    Err(match kind {
        "IpAddress" => MdeError::bad(
            "InvalidIpAddress",
            format!("IP address {} is invalid.", truncate(value)),
        ),
        "DomainName" => MdeError::bad(
            "InvalidDomainName",
            format!("Domain name {} is invalid.", truncate(value)),
        ),
        "Url" => MdeError::bad("InvalidUrl", format!("URL {} is invalid.", truncate(value))),
        _ => MdeError::bad(
            "InvalidHashValue",
            format!("Hash value {} is invalid for {kind}.", truncate(value)),
        ),
    })
}

fn enum_param<'a>(
    body: &'a Map<String, Value>,
    name: &str,
    allowed: &[&str],
) -> Result<Option<&'a str>, MdeError> {
    match crate::request::mde::str_param(body, name)? {
        None => Ok(None),
        Some(v) if allowed.contains(&v) => Ok(Some(v)),
        Some(v) => Err(MdeError::bad(
            "InvalidInput",
            format!(
                "Invalid input {name} '{}': expected one of {}.",
                truncate(v),
                allowed.join(", ")
            ),
        )),
    }
}

/// Validates one submitted indicator and stores it (a new one, or an update of the
/// caller's indicator with the same type and value).
fn upsert(
    state: &AppState,
    c: &Caller,
    d: &mut super::data::TenantData,
    body: &Map<String, Value>,
) -> Result<Value, MdeError> {
    let required = |name: &str| -> Result<&str, MdeError> {
        match crate::request::mde::str_param(body, name)? {
            Some(v) if !v.trim().is_empty() => Ok(v),
            _ => Err(MdeError::missing(name)),
        }
    };
    let value = required("indicatorValue")?;
    let kind = required("indicatorType")?;
    required("action")?;
    let title = required("title")?;
    let description = required("description")?;
    let kind = enum_param(body, "indicatorType", TYPES)?.unwrap_or(kind);
    let action = enum_param(body, "action", ACTIONS)?.unwrap_or_default();
    let severity = enum_param(body, "severity", SEVERITIES)?.unwrap_or("Informational");
    check_value(kind, value)?;
    let generate_alert = match body.get("generateAlert") {
        None | Some(Value::Null) => action == "Audit" || action == "Alert",
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(MdeError::invalid_body(
                "Request body is incorrect: 'generateAlert' must be true or false.",
            ));
        }
    };
    if action == "Audit" && !generate_alert {
        return Err(MdeError::bad(
            "InvalidInput",
            "Invalid input generateAlert: it must be true for action Audit.",
        ));
    }
    let expiration = match crate::request::mde::str_param(body, "expirationTime")? {
        Some(e) => Some(
            OffsetDateTime::parse(e, &time::format_description::well_known::Rfc3339)
                .map_err(|_| {
                    MdeError::bad(
                        "InvalidInput",
                        format!(
                            "Invalid input expirationTime '{}': expected an ISO-8601 time such as 2027-12-12T00:00:00Z.",
                            truncate(e)
                        ),
                    )
                })
                .map(|_| e.to_owned())?,
        ),
        None => None,
    };
    let groups: Vec<String> = match body.get("rbacGroupNames") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(xs)) => xs
            .iter()
            .map(|x| x.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| {
                MdeError::invalid_body(
                    "Request body is incorrect: 'rbacGroupNames' must be strings.",
                )
            })?,
        Some(_) => {
            return Err(MdeError::invalid_body(
                "Request body is incorrect: 'rbacGroupNames' must be an array.",
            ));
        }
    };
    let app = c.app.to_string();
    let existing = d.indicators.iter().position(|i| {
        i["indicatorType"] == kind
            && i["indicatorValue"]
                .as_str()
                .is_some_and(|v| v.eq_ignore_ascii_case(value))
            && visible(c, i)
    });
    if existing.is_none() && d.indicators.len() >= MAX_INDICATORS {
        return Err(MdeError::bad(
            "DisallowedOperation",
            format!(
                "The tenant has {MAX_INDICATORS} active indicators, the most allowed. Delete some first."
            ),
        ));
    }
    let now = OffsetDateTime::now_utc();
    let (id, created, application) = match existing {
        Some(p) => {
            let old = &d.indicators[p];
            (
                old["id"].as_str().and_then(|s| s.parse().ok()).unwrap_or(0),
                old["creationTimeDateTimeUtc"].as_str().map(str::to_owned),
                old["application"].as_str().map(str::to_owned),
            )
        }
        None => {
            let id = d.next_indicator;
            d.next_indicator += 1;
            (
                id,
                None,
                crate::request::mde::str_param(body, "application")?.map(str::to_owned),
            )
        }
    };
    let source = c.app_name.clone().unwrap_or_else(|| app.clone());
    let mut ind = generate::indicator_json(IndicatorFields {
        id,
        value,
        kind,
        action,
        application: application.as_deref(),
        source: &source,
        source_type: "AadApp",
        created_by: &app,
        title,
        description,
        recommended_actions: crate::request::mde::str_param(body, "recommendedActions")?,
        severity,
        created: now,
        expiration,
        rbac_group_names: groups,
        generate_alert,
    });
    if let Some(t) = created {
        ind["creationTimeDateTimeUtc"] = json!(t);
    }
    d.put_indicator(&state.emu, ind.clone())?;
    Ok(ind)
}

/// `POST /api/indicators`.
pub async fn submit(call: Call<Mde>, body: Bytes) -> ApiResult {
    call.require(ROLES)?;
    let body = body_object(&body)?;
    let data = call.data()?;
    let mut d = write(&data);
    let ind = upsert(&call.state, &call.caller, &mut d, &body)?;
    Ok(call.ok("Indicators/$entity", ind))
}

/// `POST /api/indicators/import` with `{"Indicators": [...]}` (at most 500; 30 calls a
/// minute).
pub async fn import(call: Call<Mde>, body: Bytes) -> ApiResult {
    call.require(ROLES)?;
    call.admit_method("indicators/import", 30, 1500)?;
    let body = body_object(&body)?;
    let list = crate::request::mde::batch(&body, "Indicators", MAX_IMPORT, "objects", Some)?;
    let data = call.data()?;
    let mut d = write(&data);
    let mut out = Vec::with_capacity(list.len());
    for item in list {
        let shown = item["indicatorValue"].clone();
        let result = match item {
            Value::Object(m) => upsert(&call.state, &call.caller, &mut d, m),
            _ => Err(MdeError::invalid_body("each indicator must be an object")),
        };
        out.push(match result {
            Ok(ind) => json!({"id": ind["id"], "indicator": ind["indicatorValue"], "isFailed": false, "failureReason": null}),
            Err(e) if e.code == "InternalServerError" => return Err(e),
            Err(e) => json!({"id": null, "indicator": shown, "isFailed": true, "failureReason": e.message}),
        });
    }
    Ok(json(StatusCode::OK, &json!({ "value": out })))
}

/// `DELETE /api/indicators/{id}`: 204, or 404.
pub async fn delete(call: Call<Mde>, Path(id): Path<String>) -> ApiResult {
    call.require(ROLES)?;
    let data = call.data()?;
    let mut d = write(&data);
    let found = d
        .indicators
        .iter()
        .any(|i| i["id"] == id.as_str() && visible(&call.caller, i));
    if !found {
        return Err(MdeError::not_found("Indicator", &id));
    }
    d.delete_indicator(&call.state.emu, &id)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/indicators/BatchDelete` with `{"IndicatorIds": ["1", …]}` (1 to 500): 204;
/// 404 when one is not found (nothing is deleted then).
pub async fn batch_delete(call: Call<Mde>, body: Bytes) -> ApiResult {
    call.require(ROLES)?;
    call.admit_method("indicators/BatchDelete", 30, 1500)?;
    let body = body_object(&body)?;
    let ids = super::params::batch_ids(&body, "IndicatorIds", MAX_IMPORT, true)?;
    let data = call.data()?;
    let mut d = write(&data);
    for id in &ids {
        if !d
            .indicators
            .iter()
            .any(|i| i["id"] == id.as_str() && visible(&call.caller, i))
        {
            return Err(MdeError::not_found("Indicator", id));
        }
    }
    for id in &ids {
        d.delete_indicator(&call.state.emu, id)?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

//! Live response (`mde-api.md` §4.5): `POST /api/machines/{id}/runliveresponse` runs
//! `PutFile`, `RunScript` and `GetFile` commands as one machine action (one session per
//! machine, 10 calls a minute), and
//! `GET /api/machineactions/{id}/GetLiveResponseResultDownloadLink(index=N)` hands out a
//! signed link, valid 30 minutes, to a command's result served by the emulator.
//! `RunScript` runs only scripts, and `PutFile` puts only files, of the tenant's live response library
//! ([`super::library`]).

use super::actions::{NewAction, start};
use super::data::{action_view, read};
use crate::AppState;
use crate::request::call::Call;
use crate::request::error::{MdeError, truncate};
use crate::request::mde::Mde;
use crate::request::mde::{ApiResult, body_object};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use time::OffsetDateTime;
use uuid::Uuid;

/// How long a result link stays valid, in seconds.
pub const LINK_SECONDS: i64 = 30 * 60;

const COMMANDS: &[(&str, &str)] = &[
    ("PutFile", "FileName"),
    ("RunScript", "ScriptName"),
    ("GetFile", "Path"),
];

/// `POST /api/machines/{id}/runliveresponse`.
pub async fn run(call: Call<Mde>, Path(id): Path<String>, body: Bytes) -> ApiResult {
    call.require(&["Machine.LiveResponse"])?;
    call.admit_method("runliveresponse", 10, 1500)?;
    let body = body_object(&body)?;
    let comment = match crate::request::mde::str_param(&body, "Comment")? {
        Some(t) if !t.trim().is_empty() => t.to_owned(),
        _ => return Err(MdeError::missing("Comment")),
    };
    let list = match body.get("Commands") {
        Some(Value::Array(xs)) if !xs.is_empty() => xs,
        Some(Value::Array(_)) | None => return Err(MdeError::missing("Commands")),
        Some(_) => {
            return Err(MdeError::invalid_body(
                "Request body is incorrect: 'Commands' must be an array.",
            ));
        }
    };
    let mut commands = Vec::with_capacity(list.len());
    for (index, cmd) in list.iter().enumerate() {
        let kind = cmd["type"].as_str().unwrap_or_default();
        let Some((kind, required)) = COMMANDS.iter().find(|(k, _)| *k == kind) else {
            return Err(MdeError::bad(
                "InvalidInput",
                format!(
                    "Invalid input command type '{}': expected PutFile, RunScript or GetFile.",
                    truncate(kind)
                ),
            ));
        };
        let params = cmd["params"].as_array().cloned().unwrap_or_default();
        let ok = params
            .iter()
            .all(|p| p["key"].is_string() && p["value"].is_string());
        if !ok {
            return Err(MdeError::invalid_body(
                "Request body is incorrect: each param is {\"key\": \"…\", \"value\": \"…\"}.",
            ));
        }
        if !params.iter().any(|p| p["key"] == *required) {
            return Err(MdeError::missing(&format!("{kind} {required}")));
        }
        commands.push(json!({
            "index": index,
            "startTime": null,
            "endTime": null,
            "commandStatus": "Created",
            "errors": [],
            "command": {"type": kind, "params": params},
        }));
    }
    // RunScript runs scripts of the live response library only, and PutFile puts files
    // of that library on the device (run-live-response: "PutFile … from the library").
    {
        let data = call.data()?;
        let d = read(&data);
        for cmd in &commands {
            let c = &cmd["command"];
            let (key, what) = match c["type"].as_str() {
                Some("RunScript") => ("ScriptName", "script"),
                Some("PutFile") => ("FileName", "file"),
                _ => continue,
            };
            let name = c["params"]
                .as_array()
                .and_then(|ps| ps.iter().find(|p| p["key"] == key))
                .and_then(|p| p["value"].as_str())
                .unwrap_or_default();
            if !super::library::has(&d, name) {
                return Err(MdeError::bad(
                    "InvalidInput",
                    format!(
                        "Invalid input {key} '{}': the {what} is not in the live response library; upload it with POST /api/libraryfiles first.",
                        truncate(name)
                    ),
                ));
            }
        }
    }
    let new = NewAction {
        kind: "LiveResponse",
        scope: None,
        comment: &comment,
        file: None,
        commands: Some(commands),
    };
    start(&call, &id, new, |_, machine_id| {
        Ok(format!(
            "A live response session is already running on machine {machine_id}: one session per machine."
        ))
    })
}

/// The signature of a download link to `resource` (a path under the emulator) valid
/// until `expiry` (Unix seconds): an HMAC under the emulator's key, as a storage SAS
/// link's `sig`.
pub fn sign(state: &AppState, resource: &str, expiry: i64) -> String {
    let sig = state.emu.hasher().hash(&format!("{resource}/{expiry}"));
    crate::crypto::b64url(sig.as_bytes())
}

/// A signed link, valid [`LINK_SECONDS`], to `path` (no leading slash) on the emulator,
/// as a storage SAS link: whoever holds it may download, without a bearer token.
pub(super) fn signed_link(call: &Call<Mde>, path: &str) -> String {
    let expiry = OffsetDateTime::now_utc().unix_timestamp() + LINK_SECONDS;
    let sig = sign(&call.state, path, expiry);
    format!("{}/{path}?se={expiry}&sig={sig}", call.req.origin)
}

/// Checks a download link's `se` (expiry) and `sig` for `resource`; on refusal, why
/// (for [`denied`]).
pub fn check_link(
    state: &AppState,
    resource: &str,
    q: &HashMap<String, String>,
) -> Result<(), &'static str> {
    let Some(expiry) = q.get("se").and_then(|s| s.parse::<i64>().ok()) else {
        return Err("the link is not valid");
    };
    let want = sign(state, resource, expiry);
    let given = q.get("sig").map(String::as_str).unwrap_or("");
    if aws_lc_rs::constant_time::verify_slices_are_equal(want.as_bytes(), given.as_bytes()).is_err()
    {
        return Err("the link's signature does not match");
    }
    if OffsetDateTime::now_utc().unix_timestamp() > expiry {
        return Err("the link has expired; ask for a new one");
    }
    Ok(())
}

/// What a signed link to one of `tenant`'s machine actions opens: the tenant's data and
/// the action's index there, once the link (to `resource`, from the tenant's id) is
/// checked; else why it is refused (for [`denied`]), never saying which part was wrong
/// but for the signature and expiry.
pub(super) fn linked_action(
    state: &AppState,
    tenant: &str,
    action: &str,
    q: &HashMap<String, String>,
    resource: impl FnOnce(Uuid) -> String,
) -> Result<
    (
        std::sync::Arc<std::sync::RwLock<super::data::TenantData>>,
        usize,
    ),
    &'static str,
> {
    const INVALID: &str = "the link is not valid";
    let tenant = Uuid::try_parse(tenant).map_err(|_| INVALID)?;
    check_link(state, &resource(tenant), q)?;
    let data = state
        .emu
        .defender()
        .data(&state.emu, tenant)
        .map_err(|_| INVALID)?;
    let i = read(&data)
        .actions
        .iter()
        .position(|a| a["id"] == action)
        .ok_or(INVALID)?;
    Ok((data, i))
}

/// A download link's refusal: 403 in plain text, as a storage account answers.
pub fn denied(msg: &str) -> Response {
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        msg.to_owned(),
    )
        .into_response()
}

/// `GET /api/machineactions/{id}/GetLiveResponseResultDownloadLink(index=N)`.
pub async fn result_link(call: Call<Mde>, Path((id, op)): Path<(String, String)>) -> ApiResult {
    call.require(super::machines::READ)?;
    let index = op
        .strip_prefix("GetLiveResponseResultDownloadLink(index=")
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| MdeError::not_found("Resource", &op))?
        .trim()
        .parse::<usize>()
        .map_err(|_| MdeError::bad("InvalidInput", "Invalid input index: a command index."))?;
    let data = call.data()?;
    let settings = call.state.emu.defender().settings();
    let d = read(&data);
    let a = &d.actions[super::actions::find(&d, &id)?];
    let a = action_view(a, OffsetDateTime::now_utc(), settings.action_seconds);
    if a["type"] != "LiveResponse" {
        return Err(MdeError::bad(
            "InvalidInput",
            format!("Machine action {id} is not a live response."),
        ));
    }
    if a["status"] != "Succeeded" {
        return Err(MdeError::not_found("Live response result of", &id));
    }
    let cmd = a["commands"].get(index).ok_or_else(|| {
        MdeError::bad(
            "InvalidInput",
            format!("Invalid input index {index}: the action has no such command."),
        )
    })?;
    if cmd["command"]["type"] == "PutFile" {
        return Err(MdeError::bad(
            "InvalidInput",
            format!("Invalid input index {index}: PutFile commands have no result to download."),
        ));
    }
    let action_id = a["id"].as_str().unwrap_or_default();
    let url = signed_link(
        &call,
        &format!("live-response/{}/{action_id}/{index}", call.caller.tenant),
    );
    Ok(call.ok("Edm.String", json!({ "value": url })))
}

/// `GET /live-response/{tenant}/{action}/{index}?se=…&sig=…`: a command's result, for
/// whoever holds a valid link (no bearer token, as with a storage SAS link).
pub async fn download(
    State(state): State<AppState>,
    Path((tenant, action, index)): Path<(String, String, usize)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (data, i) = match linked_action(&state, &tenant, &action, &q, |t| {
        format!("live-response/{t}/{action}/{index}")
    }) {
        Ok(found) => found,
        Err(why) => return denied(why),
    };
    let d = read(&data);
    let a = &d.actions[i];
    let cmd = &a["commands"][index]["command"];
    let param = |k: &str| {
        cmd["params"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["key"] == k))
            .and_then(|p| p["value"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let dns = a["computerDnsName"].as_str().unwrap_or_default();
    if cmd["type"] == "RunScript" {
        let name = param("ScriptName");
        let body = json!({
            "script_name": name,
            "exit_code": 0,
            "script_output": format!("Ran {name} {} on {dns}.\n", param("Args")),
            "script_errors": "",
        });
        let mut r = (StatusCode::OK, body.to_string()).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        return r;
    }
    let path = param("Path");
    let mut r = (
        StatusCode::OK,
        format!("Emulated content of {path} collected from {dns}.\n"),
    )
        .into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    r
}

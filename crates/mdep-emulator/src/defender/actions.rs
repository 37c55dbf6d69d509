//! Response actions on machines and `/api/machineactions` (`mde-api.md` §4.5). Each
//! action creates a machine action that moves Pending → InProgress → Succeeded over
//! [`crate::state::defender::DefenderSettings::action_seconds`]; a second one of the same type on the same
//! machine while the first is not done gets 400 `ActiveRequestAlreadyExists`.

use super::data::action_view;
use super::data::{TenantData, write};
use crate::collection::set::Get;
use crate::request::call::Call;
use crate::request::mde::Mde;

use super::generate::{self, ActionFields};
use super::query::{EntitySet, Field, Kind};
use crate::AppState;
use crate::request::envelope::entity;
use crate::request::error::MdeError;
use crate::request::mde::{ApiResult, body_object, json};
use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

/// The machine action entity set: filterable properties per
/// `get-machineactions-collection.md`.
pub static MACHINE_ACTIONS: EntitySet = EntitySet {
    name: "MachineAction",
    filterable: &[
        Field {
            key: "id",
            kind: Kind::Guid,
        },
        Field {
            key: "status",
            kind: Kind::Str,
        },
        Field {
            key: "machineId",
            kind: Kind::Str,
        },
        Field {
            key: "type",
            kind: Kind::Str,
        },
        Field {
            key: "requestor",
            kind: Kind::Str,
        },
        Field {
            key: "creationDateTimeUtc",
            kind: Kind::Time,
        },
    ],
    properties: &[
        "id",
        "type",
        "title",
        "requestor",
        "requestorComment",
        "status",
        "machineId",
        "computerDnsName",
        "creationDateTimeUtc",
        "lastUpdateDateTimeUtc",
        "cancellationRequestor",
        "cancellationComment",
        "cancellationDateTimeUtc",
        "errorHResult",
        "scope",
        "externalID",
        "requestSource",
        "relatedFileInfo",
        "commands",
    ],
    expands_evidence: false,
    max_top: super::query::MAX_TOP,
};

crate::entity_set! {
/// `GET /api/machineactions` and `GET /api/machineactions/{id}` (the id must be a GUID).
MachineActions: Mde = &MACHINE_ACTIONS, "MachineActions", "MachineAction", super::machines::READ;
fn items(call, d) {
    let seconds = call.defender().settings().action_seconds;
    let now = OffsetDateTime::now_utc();
    d.actions
        .iter()
        .map(|a| action_view(a, now, seconds))
        .collect()
}
}

impl Get for MachineActions {
    fn check(_: &Call<Mde>, id: &str) -> Result<(), MdeError> {
        Uuid::try_parse(id).map(|_| ()).map_err(|_| {
            MdeError::bad_request(format!(
                "The key value '{}' should be format of type 'Edm.Guid'.",
                crate::request::error::truncate(id)
            ))
        })
    }

    fn find(call: &Call<Mde>, d: &TenantData, id: &str) -> Option<Value> {
        let a = &d.actions[find(d, &Uuid::try_parse(id).ok()?.to_string()).ok()?];
        let seconds = call.defender().settings().action_seconds;
        Some(action_view(a, OffsetDateTime::now_utc(), seconds).into_owned())
    }
}

/// What one response action needs.
struct Spec {
    kind: &'static str,
    roles: &'static [&'static str],
}

fn comment(body: &Map<String, Value>) -> Result<String, MdeError> {
    match crate::request::mde::str_param(body, "Comment")? {
        Some(c) if !c.trim().is_empty() => Ok(c.to_owned()),
        _ => Err(MdeError::missing("Comment")),
    }
}

fn scope_param(
    body: &Map<String, Value>,
    name: &str,
    allowed: &[&'static str],
    default: Option<&'static str>,
) -> Result<Option<&'static str>, MdeError> {
    match crate::request::mde::str_param(body, name)? {
        None => match default {
            Some(d) => Ok(Some(d)),
            None => Err(MdeError::missing(name)),
        },
        Some(v) => allowed
            .iter()
            .find(|a| a.eq_ignore_ascii_case(v))
            .map(|a| Some(*a))
            .ok_or_else(|| {
                MdeError::bad(
                    "InvalidInput",
                    format!(
                        "Invalid input {name} '{}': expected {}.",
                        crate::request::error::truncate(v),
                        allowed.join(" or ")
                    ),
                )
            }),
    }
}

async fn act(call: Call<Mde>, id: String, body: Bytes, spec: Spec) -> ApiResult {
    call.require(spec.roles)?;
    let body = body_object(&body)?;
    let comment = comment(&body)?;
    let (scope, file) = match spec.kind {
        "Isolate" => (
            scope_param(
                &body,
                "IsolationType",
                &["Full", "Selective", "UnManagedDevice"],
                Some("Full"),
            )?,
            None,
        ),
        "RunAntiVirusScan" => (
            scope_param(&body, "ScanType", &["Quick", "Full"], None)?,
            None,
        ),
        "StopAndQuarantineFile" => {
            let sha1 = crate::request::mde::str_param(&body, "Sha1")?
                .ok_or_else(|| MdeError::missing("Sha1"))?;
            super::params::hash(sha1, &[40], "Sha1 must be 40 hexadecimal characters.")?;
            (
                None,
                Some(
                    json!({"fileIdentifier": sha1.to_ascii_lowercase(), "fileIdentifierType": "Sha1"}),
                ),
            )
        }
        _ => (None, None),
    };
    let kind = spec.kind;
    let new = NewAction {
        kind,
        scope,
        comment: &comment,
        file,
        commands: None,
    };
    start(&call, &id, new, |machine, machine_id| {
        let os = machine["osPlatform"].as_str().unwrap_or_default();
        if kind == "Offboard" && !os.starts_with("Windows") {
            return Err(MdeError::bad(
                "OsPlatformNotSupported",
                format!("OS Platform {os} isn't supported for this action."),
            ));
        }
        Ok(format!(
            "Action is already in progress: a {kind} action on machine {machine_id} has not completed yet. Wait for it (GET /api/machineactions/{{id}}) before sending another."
        ))
    })
}

/// What a new machine action holds besides its machine.
pub(super) struct NewAction<'a> {
    /// `type`.
    pub kind: &'a str,
    /// `scope` (isolation or scan type).
    pub scope: Option<&'a str>,
    /// `requestorComment`.
    pub comment: &'a str,
    /// `relatedFileInfo` (StopAndQuarantineFile).
    pub file: Option<Value>,
    /// Live response `commands`.
    pub commands: Option<Vec<Value>>,
}

/// Creates a Pending machine action on machine `id` and answers 201 with its entity.
/// `check` sees the machine and its id before anything is stored: it refuses the action
/// or gives the message for a second one of the same type still running.
pub(super) fn start(
    call: &Call<Mde>,
    id: &str,
    new: NewAction<'_>,
    check: impl FnOnce(&Value, &str) -> Result<String, MdeError>,
) -> ApiResult {
    let data = call.data()?;
    let settings = call.state.emu.defender().settings();
    let now = OffsetDateTime::now_utc();
    let mut d = write(&data);
    let i = super::machines::find(&d, id)?;
    let machine = &d.machines[i];
    let machine_id = machine["id"].as_str().unwrap_or_default().to_owned();
    let dns = machine["computerDnsName"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let busy = check(machine, &machine_id)?;
    super::data::refuse_if_running(
        &d.actions,
        &machine_id,
        new.kind,
        (now, settings.action_seconds),
        || busy,
    )?;
    let requestor = call.caller.app.to_string();
    let mut a = generate::action_json(ActionFields {
        id: Uuid::new_v4(),
        kind: new.kind,
        scope: new.scope,
        requestor: &requestor,
        comment: new.comment,
        status: "Pending",
        machine_id: &machine_id,
        dns: &dns,
        created: now,
        updated: now,
        file: new.file,
    });
    if let Some(commands) = new.commands {
        a["commands"] = Value::Array(commands);
    }
    d.add_action(&call.state.emu, a.clone())?;
    let v = action_view(&a, now, settings.action_seconds).into_owned();
    Ok(json(
        StatusCode::CREATED,
        &entity(&call.req, "MachineActions/$entity", v),
    ))
}

/// Finds a machine action of the caller's tenant by its id (any case), or MDE's 404.
pub fn find(d: &TenantData, id: &str) -> Result<usize, MdeError> {
    d.actions
        .iter()
        .position(|a| a["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id)))
        .ok_or_else(|| MdeError::not_found("MachineAction", id))
}

/// The response actions, each `POST /api/machines/{id}/<path>` with a `Comment`
/// (`mde-api.md` §4.5): the path, the action's `type` and the roles that may send it.
/// Isolate also takes `IsolationType`, RunAntiVirusScan `ScanType` and
/// StopAndQuarantineFile `Sha1`.
pub const RESPONSE_ACTIONS: [(&str, &str, &[&str]); 8] = [
    ("isolate", "Isolate", &["Machine.Isolate"]),
    ("unisolate", "Unisolate", &["Machine.Isolate"]),
    (
        "restrictCodeExecution",
        "RestrictCodeExecution",
        &["Machine.RestrictExecution"],
    ),
    (
        "unrestrictCodeExecution",
        "UnrestrictCodeExecution",
        &["Machine.RestrictExecution"],
    ),
    ("runAntiVirusScan", "RunAntiVirusScan", &["Machine.Scan"]),
    (
        "collectInvestigationPackage",
        "CollectInvestigationPackage",
        &["Machine.CollectForensics"],
    ),
    ("offboard", "Offboard", &["Machine.Offboard"]),
    (
        "StopAndQuarantineFile",
        "StopAndQuarantineFile",
        &["Machine.StopAndQuarantine"],
    ),
];

/// The routes of [`RESPONSE_ACTIONS`].
pub fn routes() -> Router<AppState> {
    RESPONSE_ACTIONS
        .iter()
        .fold(Router::new(), |router, &(path, kind, roles)| {
            let handler = move |call: Call<Mde>, Path(id): Path<String>, body: Bytes| {
                act(call, id, body, Spec { kind, roles })
            };
            router.route(&format!("/machines/{{id}}/{path}"), post(handler))
        })
}

/// Roles that may cancel a machine action: any response action role.
pub const CANCEL_ROLES: &[&str] = &[
    "Machine.Isolate",
    "Machine.RestrictExecution",
    "Machine.Scan",
    "Machine.CollectForensics",
    "Machine.LiveResponse",
    "Machine.Offboard",
    "Machine.StopAndQuarantine",
];

/// `POST /api/machineactions/{id}/cancel` with `{"Comment"}`: only a Pending or
/// InProgress action can be cancelled.
pub async fn cancel(call: Call<Mde>, Path(id): Path<String>, body: Bytes) -> ApiResult {
    call.require(CANCEL_ROLES)?;
    let body = body_object(&body)?;
    let comment = comment(&body)?;
    let Ok(guid) = Uuid::try_parse(&id) else {
        return Err(MdeError::bad_request(format!(
            "The key value '{}' should be format of type 'Edm.Guid'.",
            crate::request::error::truncate(&id)
        )));
    };
    let data = call.data()?;
    let settings = call.state.emu.defender().settings();
    let now = OffsetDateTime::now_utc();
    let mut d = write(&data);
    let i = find(&d, &guid.to_string())?;
    let current = action_view(&d.actions[i], now, settings.action_seconds).into_owned();
    if !matches!(current["status"].as_str(), Some("Pending" | "InProgress")) {
        return Err(MdeError::bad(
            "BadRequest",
            format!(
                "Machine action {id} is {} and can no longer be cancelled.",
                current["status"].as_str().unwrap_or("done")
            ),
        ));
    }
    let mut a = current;
    let stamp = generate::ts7(now);
    a["status"] = json!("Cancelled");
    a["cancellationRequestor"] = json!(call.caller.app.to_string());
    a["cancellationComment"] = json!(comment);
    a["cancellationDateTimeUtc"] = json!(stamp);
    a["lastUpdateDateTimeUtc"] = json!(stamp);
    d.replace_action(&call.state.emu, i, a.clone())?;
    Ok(call.ok("MachineActions/$entity", a))
}

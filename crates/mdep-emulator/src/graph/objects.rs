//! What Graph's directory endpoints (applications, service principals) share: their
//! errors (`Request_BadRequest`, `Request_ResourceNotFound`, `Authorization_RequestDenied`),
//! the roles they accept, `$filter=<property> eq '<value>'` and `$select` on lists, and
//! Graph's date-time form.

use crate::directory::DirectoryError;
use crate::request::call::Call;
use crate::request::error::{roles_message, truncate};
use crate::request::graph::Graph;
use crate::request::graph_error::GraphError;
use crate::state::StateError;
use axum::http::StatusCode;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Roles that read applications and service principals.
pub const READ: &[&str] = &["Application.Read.All", "Application.ReadWrite.All"];
/// Roles that create and change them (`graph-security.md` §5: the emulator keeps no
/// owners, so `Application.ReadWrite.OwnedBy` and `AppRegistration.Create` are not
/// served).
pub const WRITE: &[&str] = &["Application.ReadWrite.All"];
/// Roles that grant app role assignments (`graph-security.md` §5:
/// `AppRoleAssignment.ReadWrite.All` plus a read of the directory's applications).
pub const ASSIGN: &[&str] = &["AppRoleAssignment.ReadWrite.All"];

/// 400 `Request_BadRequest`.
pub fn bad_request(message: impl Into<String>) -> GraphError {
    GraphError::new(StatusCode::BAD_REQUEST, "Request_BadRequest", message)
}

/// 404 `Request_ResourceNotFound`, in Graph's words.
pub fn not_found(id: &str) -> GraphError {
    GraphError::new(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        format!(
            "Resource '{}' does not exist or one of its queried reference-property objects are not present.",
            truncate(id)
        ),
    )
}

/// Passes when the call holds one of `accepted`; else 403 `Authorization_RequestDenied`
/// naming the roles that would do.
pub fn require(call: &Call<Graph>, accepted: &[&str]) -> Result<(), GraphError> {
    if call.caller.holds_any(accepted) {
        return Ok(());
    }
    Err(GraphError::new(
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
        format!(
            "Insufficient privileges to complete the operation. {}",
            roles_message(
                accepted,
                &call.caller.roles,
                "Add the Microsoft Graph application permission to the app, grant admin consent in this tenant, then take a new token.",
            )
        ),
    ))
}

/// A refused directory change in Graph's words.
pub fn from_state(e: StateError) -> GraphError {
    match e {
        StateError::Directory(DirectoryError::NotFound { id, .. }) => not_found(&id),
        StateError::Directory(DirectoryError::Conflict(m)) => GraphError::new(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            format!("Another object with the same value already exists: {m}."),
        ),
        StateError::Directory(DirectoryError::Invalid(m)) => bad_request(m),
        other => GraphError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UnknownError",
            format!("The emulator could not store the change: {other}."),
        ),
    }
}

/// A date-time as Graph writes it: UTC, seven fractional digits
/// (`samples-graph/application_create_response.json`: `2019-09-17T19:10:35.2742618Z`).
pub fn datetime(t: OffsetDateTime) -> Value {
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:7]Z"
    );
    Value::String(
        t.to_offset(time::UtcOffset::UTC)
            .format(fmt)
            .unwrap_or_default(),
    )
}

/// Parses a date-time property, or 400.
pub fn parse_datetime(name: &str, v: &Value) -> Result<Option<OffsetDateTime>, GraphError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => OffsetDateTime::parse(s, &Rfc3339).map(Some).map_err(|_| {
            bad_request(format!(
                "Invalid value specified for property '{name}': '{}' is not an ISO 8601 date-time.",
                truncate(s)
            ))
        }),
        _ => Err(bad_request(format!(
            "Property '{name}' must be a date-time string."
        ))),
    }
}

/// A list request's options: `$filter=<property> eq '<value>'` (the one form the
/// directory serves without advanced queries), `$select` and `$top`.
#[derive(Debug, Default)]
pub struct ListQuery {
    /// `(property, value)` of the filter.
    pub filter: Option<(String, String)>,
    /// Properties to keep (`id` always).
    pub select: Option<Vec<String>>,
    /// Most items.
    pub top: Option<usize>,
}

impl ListQuery {
    /// Parses the raw query string; `filterable` lists the properties `$filter` takes.
    pub fn parse(raw: Option<&str>, filterable: &[&str]) -> Result<Self, GraphError> {
        let mut q = Self::default();
        for (k, v) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            match k.trim_start_matches('$').to_ascii_lowercase().as_str() {
                "filter" => q.filter = Some(parse_filter(&v, filterable)?),
                "select" => {
                    q.select = Some(v.split(',').map(|s| s.trim().to_owned()).collect());
                }
                "top" => {
                    q.top = Some(v.parse().ok().filter(|n| *n > 0 && *n <= 999).ok_or_else(
                        || bad_request(format!("Invalid page size specified: '{}'. Must be between 1 and 999 inclusive.", truncate(&v))),
                    )?);
                }
                _ if !k.starts_with('$') => {}
                other => {
                    return Err(bad_request(format!(
                        "The query option '${}' is not supported by the emulator on this collection: use $filter, $select or $top.",
                        truncate(other)
                    )));
                }
            }
        }
        Ok(q)
    }

    /// Whether an object whose `property` reads `value` passes the filter.
    pub fn admits(&self, value_of: impl Fn(&str) -> Option<String>) -> bool {
        match &self.filter {
            None => true,
            Some((p, v)) => value_of(p).is_some_and(|got| got.eq_ignore_ascii_case(v)),
        }
    }

    /// The objects as a list: `$top`, then `$select`.
    pub fn shape(&self, items: Vec<Value>) -> Vec<Value> {
        let n = self.top.unwrap_or(usize::MAX);
        items
            .into_iter()
            .take(n)
            .map(|v| select(v, self.select.as_deref()))
            .collect()
    }
}

/// Keeps `id` and the properties of `select`, when given.
pub fn select(v: Value, select: Option<&[String]>) -> Value {
    let (Some(keep), Value::Object(o)) = (select, &v) else {
        return v;
    };
    let m: Map<String, Value> = o
        .iter()
        .filter(|(k, _)| *k == "id" || keep.iter().any(|s| s.eq_ignore_ascii_case(k)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Object(m)
}

fn parse_filter(f: &str, filterable: &[&str]) -> Result<(String, String), GraphError> {
    let unsupported = || {
        bad_request(format!(
            "Unsupported or invalid query filter clause specified: '{}'. The emulator serves \"<property> eq '<value>'\" on {}.",
            truncate(f),
            filterable.join(", ")
        ))
    };
    let f = f.trim();
    let (prop, rest) = f.split_once(char::is_whitespace).ok_or_else(unsupported)?;
    let rest = rest.trim_start();
    let lit = rest
        .strip_prefix("eq ")
        .map(str::trim)
        .ok_or_else(unsupported)?;
    let inner = lit
        .strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .ok_or_else(unsupported)?;
    if inner.replace("''", "").contains('\'') {
        return Err(unsupported());
    }
    let Some(prop) = filterable.iter().find(|p| p.eq_ignore_ascii_case(prop)) else {
        return Err(unsupported());
    };
    Ok(((*prop).to_owned(), inner.replace("''", "'")))
}

/// A required string property, or 400 in Graph's words.
pub fn string_prop(
    body: &Map<String, Value>,
    name: &str,
    entity: &str,
) -> Result<String, GraphError> {
    match body.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        _ => Err(bad_request(format!(
            "Invalid value specified for property '{name}' of resource '{entity}'."
        ))),
    }
}

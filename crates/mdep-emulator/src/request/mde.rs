//! The Defender for Endpoint API's conventions (`mde-api.md` §4–§6): tokens for
//! `https://api.securitycenter.microsoft.com`, MDE's error body ([`MdeError`]), its JSON
//! content type, and one quota per (tenant, app).

use super::api::Api;
use super::auth::Caller;
use super::envelope::odata_response;
use super::error::{MdeError, truncate};
use crate::defender::query::EntitySet;
use crate::state::defender::{DefenderSettings, DefenderState};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value};

/// The Defender for Endpoint API.
#[derive(Debug, Clone, Copy)]
pub struct Mde;

/// Result type of the endpoints.
pub type ApiResult = Result<Response, MdeError>;

/// MDE's content type for JSON.
pub const JSON: &str =
    "application/json; odata.metadata=minimal; odata.streaming=true; charset=utf-8";

impl Api for Mde {
    type Error = MdeError;
    const AUDIENCE: mdep_model::permissions::Api = mdep_model::permissions::Api::Mde;
    const JSON: &'static str = JSON;

    fn forbidden(accepted: &[&str], granted: &[String]) -> MdeError {
        MdeError::missing_roles(accepted, granted)
    }

    fn not_found(kind: &str, id: &str) -> MdeError {
        MdeError::not_found(kind, id)
    }

    fn not_an_object(cause: Option<serde_json::Error>) -> MdeError {
        MdeError::invalid_body(match cause {
            None => "Request body is incorrect: expected a JSON object.".to_owned(),
            Some(e) => format!("Request body is incorrect: {e}."),
        })
    }

    const ANNOTATIONS: bool = false;
    const NULL_IS_ABSENT: bool = true;
    const ENUMS_IGNORE_CASE: bool = false;

    fn not_updatable(key: &str, updatable: &str) -> MdeError {
        MdeError::invalid_body(format!(
            "Request body is incorrect: '{}' cannot be updated; updatable properties are {updatable}.",
            truncate(key)
        ))
    }

    fn not_a_string(name: &str) -> MdeError {
        MdeError::invalid_body(format!(
            "Request body is incorrect: '{name}' must be a string."
        ))
    }

    fn invalid_value(name: &str, value: &str, allowed: &[&str]) -> MdeError {
        MdeError::bad(
            "InvalidInput",
            format!(
                "Invalid input {name} '{}': expected one of {}.",
                truncate(value),
                allowed.join(", ")
            ),
        )
    }

    fn unknown(path: &str) -> MdeError {
        MdeError::not_found("Resource", path)
    }

    /// `BadRequest`, MDE's general 400 (`mde-api.md` §6.3).
    fn malformed_path(segment: &str) -> MdeError {
        MdeError::bad_request(format!(
            "The request URL is invalid: path segment '{}' is not percent-encoded UTF-8.",
            truncate(segment)
        ))
    }

    /// MDE documents no code for an oversized body; its body errors are
    /// `InvalidRequestBody` (`mde-api.md` §6.3, `samples/errors_invalid_request_body.json`),
    /// with HTTP's 413.
    fn too_large(limit: usize) -> MdeError {
        MdeError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            ..MdeError::invalid_body(format!(
                "Request body is incorrect: it is larger than {limit} bytes, the most the API reads."
            ))
        }
    }

    fn rejected(status: StatusCode, message: &str) -> MdeError {
        MdeError {
            status,
            ..MdeError::bad_request(format!("Bad request: {}.", truncate(message)))
        }
    }

    fn admit(defender: &DefenderState, caller: &Caller, _path: &str) -> Result<(), MdeError> {
        defender
            .throttle()
            .admit(caller.tenant, caller.app, defender.settings().limits)
    }

    fn page_size(settings: &DefenderSettings, _set: &EntitySet) -> usize {
        settings.page_size
    }
}

/// A JSON response with MDE's OData headers.
pub fn json(status: StatusCode, body: &Value) -> Response {
    json_text(status, body.to_string())
}

/// A JSON response from text already serialised.
pub fn json_text(status: StatusCode, body: String) -> Response {
    odata_response(status, body, JSON)
}

/// Parses a JSON object body, or MDE's 400.
pub fn body_object(body: &[u8]) -> Result<Map<String, Value>, MdeError> {
    Mde::body_object(body)
}

/// A string body parameter (case-sensitive name, as MDE reads them).
pub fn str_param<'a>(
    body: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, MdeError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Mde::not_a_string(name)),
    }
}

/// A required batch of `name` in `body`: an array of 1 to `max` items, each read by
/// `item` (`what` says what they must be when one is not); MDE's 400s otherwise.
pub fn batch<'a, T>(
    body: &'a Map<String, Value>,
    name: &str,
    max: usize,
    what: &str,
    item: impl Fn(&'a Value) -> Option<T>,
) -> Result<Vec<T>, MdeError> {
    let list: Vec<T> = match body.get(name) {
        Some(Value::Array(xs)) => xs.iter().map(item).collect::<Option<_>>().ok_or_else(|| {
            MdeError::invalid_body(format!(
                "Request body is incorrect: '{name}' must be {what}."
            ))
        })?,
        Some(_) => {
            return Err(MdeError::invalid_body(format!(
                "Request body is incorrect: '{name}' must be an array."
            )));
        }
        None => return Err(MdeError::missing(name)),
    };
    if list.is_empty() || list.len() > max {
        return Err(MdeError::bad(
            "MaximumBatchSizeExceeded",
            format!(
                "Maximum batch size exceeded. Received: {}, allowed: {max}.",
                list.len()
            ),
        ));
    }
    Ok(list)
}

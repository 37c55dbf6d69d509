//! Microsoft Graph's conventions (`graph-security.md` §2.7, §4): tokens for
//! `https://graph.microsoft.com`, Graph's error envelope ([`GraphError`]) with the
//! `request-id` and `client-request-id` every response carries, its JSON content type,
//! and its quotas: 150 calls a minute per app and tenant on alerts and incidents, 45
//! hunting calls a minute per tenant.

use super::api::Api;
use super::auth::Caller;
use super::envelope::odata_response;
use super::error::truncate;
use super::graph_error::GraphError;
use crate::defender::query::EntitySet;
use crate::state::defender::{DefenderSettings, DefenderState};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value};
use uuid::Uuid;

/// Microsoft Graph's security API.
#[derive(Debug, Clone, Copy)]
pub struct Graph;

/// Result type of the endpoints.
pub type GraphResult = Result<Response, GraphError>;

impl Api for Graph {
    type Error = GraphError;
    const AUDIENCE: mdep_model::permissions::Api = mdep_model::permissions::Api::Graph;
    const JSON: &'static str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

    fn forbidden(accepted: &[&str], granted: &[String]) -> GraphError {
        GraphError::missing_roles(accepted, granted)
    }

    fn not_found(kind: &str, id: &str) -> GraphError {
        GraphError::not_found(kind, id)
    }

    fn not_an_object(cause: Option<serde_json::Error>) -> GraphError {
        GraphError::bad_request(match cause {
            None => "The request body must be a JSON object.".to_owned(),
            Some(e) => format!("The request body is not valid JSON: {e}."),
        })
    }

    const ANNOTATIONS: bool = true;
    const NULL_IS_ABSENT: bool = false;
    const ENUMS_IGNORE_CASE: bool = true;

    fn not_updatable(key: &str, updatable: &str) -> GraphError {
        GraphError::bad_request(format!(
            "Property '{}' cannot be updated; updatable properties are {updatable}.",
            truncate(key)
        ))
    }

    fn not_a_string(name: &str) -> GraphError {
        GraphError::bad_request(format!("{name} must be a string."))
    }

    fn invalid_value(name: &str, value: &str, allowed: &[&str]) -> GraphError {
        GraphError::bad_request(format!(
            "Invalid value '{}' for {name}: expected one of {}.",
            truncate(value),
            allowed.join(", ")
        ))
    }

    fn unknown(path: &str) -> GraphError {
        GraphError::bad_request(format!(
            "Resource not found for the segment '{}'. The emulator serves security/runHuntingQuery, security/getRunHuntingQuery(…), security/alerts_v2, security/incidents, applications and servicePrincipals.",
            truncate(path.rsplit('/').next().unwrap_or(""))
        ))
    }

    fn malformed_path(segment: &str) -> GraphError {
        GraphError::bad_request(format!(
            "Bad Request - Invalid URL: the segment '{}' is not percent-encoded UTF-8.",
            truncate(segment)
        ))
    }

    /// Graph lists 413 among its statuses (`graph-security.md` §2.7) without a code for
    /// it; the code is the status's name, as Graph's other codes here are
    /// (`BadRequest`, `NotFound`, `TooManyRequests`).
    fn too_large(limit: usize) -> GraphError {
        GraphError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            format!("The request body is larger than {limit} bytes, the most the API reads."),
        )
    }

    fn rejected(status: StatusCode, message: &str) -> GraphError {
        GraphError::new(status, "BadRequest", format!("{}.", truncate(message)))
    }

    /// Hunting counts per tenant; everything else per tenant and app.
    fn admit(defender: &DefenderState, caller: &Caller, path: &str) -> Result<(), GraphError> {
        let settings = defender.settings();
        let lower = path.to_ascii_lowercase();
        let hunting = lower.ends_with("runhuntingquery") || lower.contains("getrunhuntingquery");
        let admitted = if hunting {
            defender
                .graph_hunting_throttle()
                .admit(caller.tenant, Uuid::nil(), settings.graph_hunting_limits)
                .map_err(|mut e| {
                    e.message = e.message.replace(
                        "for this application in this tenant",
                        "for hunting queries in this tenant",
                    );
                    e
                })
        } else {
            defender
                .graph_throttle()
                .admit(caller.tenant, caller.app, settings.graph_limits)
        };
        admitted.map_err(GraphError::from)
    }

    fn page_size(settings: &DefenderSettings, set: &EntitySet) -> usize {
        settings.page_size.min(set.max_top)
    }
}

/// A JSON response with Graph's OData headers (`graph-security.md` §2.7).
pub fn json(status: StatusCode, body: &Value) -> Response {
    odata_response(status, body.to_string(), <Graph as Api>::JSON)
}

/// Parses a JSON object body, or Graph's 400.
pub fn body_object(body: &[u8]) -> Result<Map<String, Value>, GraphError> {
    Graph::body_object(body)
}

/// Passes when the caller holds one of `accepted`; else Graph's 403.
pub fn require(c: &Caller, accepted: &[&str]) -> Result<(), GraphError> {
    if c.holds_any(accepted) {
        Ok(())
    } else {
        Err(GraphError::missing_roles(accepted, &c.roles))
    }
}

/// The lowerCamelCase form Graph's enums use (`TruePositive` → `truePositive`).
pub fn lower_camel(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

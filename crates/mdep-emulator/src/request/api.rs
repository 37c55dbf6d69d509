//! What sets one API the emulator serves apart from the other: the audience its tokens
//! must name, its error body and codes, its JSON content type and its quotas. The Defender for Endpoint API ([`super::mde::Mde`])
//! and Microsoft Graph's security API ([`super::graph::Graph`]) implement [`Api`]; the
//! request machinery ([`super::guard`], [`super::call`]) and the entity collections
//! ([`crate::collection`]) are written once over it.

use super::auth::Caller;
use super::error::MdeError;
use super::token::AuthError;
use crate::defender::query::EntitySet;
use crate::state::defender::{DefenderSettings, DefenderState};
use axum::response::IntoResponse;
use serde_json::{Map, Value};

/// One API's conventions.
pub trait Api: Send + Sync + 'static {
    /// Its error, rendered in its error body.
    type Error: IntoResponse + From<MdeError> + From<AuthError> + Send + 'static;
    /// The audience its tokens must name.
    const AUDIENCE: mdep_model::permissions::Api;
    /// The `Content-Type` of its JSON answers.
    const JSON: &'static str;

    /// 403 for a caller that holds none of `accepted`.
    fn forbidden(accepted: &[&str], granted: &[String]) -> Self::Error;

    /// 404 for an entity `kind` with this `id`.
    fn not_found(kind: &str, id: &str) -> Self::Error;

    /// 400 for a body that is not a JSON object (`None`) or not JSON at all.
    fn not_an_object(cause: Option<serde_json::Error>) -> Self::Error;

    /// Whether body keys starting with `@` (OData annotations) are ignored.
    const ANNOTATIONS: bool;
    /// Whether a `null` body property reads as an absent one (else it is of the wrong
    /// type where a string is expected).
    const NULL_IS_ABSENT: bool;
    /// Whether enum values in bodies match whatever their case.
    const ENUMS_IGNORE_CASE: bool;

    /// 400 for a body property that cannot be updated (`updatable` lists those that can).
    fn not_updatable(key: &str, updatable: &str) -> Self::Error;

    /// 400 for a body property that must be a string.
    fn not_a_string(name: &str) -> Self::Error;

    /// 400 for an enum property with a value outside `allowed`.
    fn invalid_value(name: &str, value: &str, allowed: &[&str]) -> Self::Error;

    /// 404 or 400 for a path under the API that no route serves.
    fn unknown(path: &str) -> Self::Error;

    /// 400 for a path with a segment that is not percent-encoded UTF-8 (`%ZZ`, `%FF`).
    fn malformed_path(segment: &str) -> Self::Error;

    /// 413 for a body larger than `limit` bytes.
    fn too_large(limit: usize) -> Self::Error;

    /// Another refusal of the request as sent, before a handler looked at it (an
    /// extractor's rejection: `status` and what it said).
    fn rejected(status: axum::http::StatusCode, message: &str) -> Self::Error;

    /// Counts the call against the quota that applies to it, or refuses it (429).
    fn admit(defender: &DefenderState, caller: &Caller, path: &str) -> Result<(), Self::Error>;

    /// Most items on one page of `set`.
    fn page_size(settings: &DefenderSettings, set: &EntitySet) -> usize;

    /// Parses a JSON object body, or this API's 400.
    fn body_object(body: &[u8]) -> Result<Map<String, Value>, Self::Error> {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(Self::not_an_object(None)),
            Err(e) => Err(Self::not_an_object(Some(e))),
        }
    }
}

//! Answers read: a 2xx body into its type, and an error answer into [`ApiError`] in
//! the words of the API that sent it — MDE's `{"error":{"code","message","target"}}`
//! (`mde-api.md` §6.3) or Graph's envelope with `innerError.request-id`
//! (`graph-security.md` §2.7) — falling back to the status when the body is neither.

use super::options::Dialect;
use crate::entity::ErrorBody;
use crate::error::ApiError;
use crate::tenant::Tenant;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// A 2xx body as `T`; [`ApiError::Decode`] names the URL when it is not one.
pub(crate) fn decode<T: DeserializeOwned>(
    t: &Tenant,
    url: &str,
    bytes: &[u8],
) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::Decode {
        tenant: t.name.clone(),
        url: url.to_owned(),
        message: e.to_string(),
    })
}

/// An error answer in `dialect`'s words.
pub(crate) fn error(dialect: Dialect, t: &Tenant, status: u16, body: &[u8]) -> ApiError {
    match dialect {
        Dialect::Mde => mde_error(t, status, body),
        Dialect::Graph => graph_error(t, status, body),
    }
}

/// What an error answer says when its body is not the API's: the status's reason as the
/// code (`ServiceUnavailable`), the start of the body as the message.
fn from_status(status: u16, body: &[u8]) -> (String, String) {
    let code = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error")
        .replace(' ', "");
    let message = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
    (code, message)
}

/// An error answer as [`ApiError::Mde`], from MDE's body or, failing that, the status.
pub(crate) fn mde_error(t: &Tenant, status: u16, body: &[u8]) -> ApiError {
    let (code, message, target) = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(b) => (b.error.code, b.error.message, b.error.target),
        Err(_) => {
            let (code, message) = from_status(status, body);
            (code, message, None)
        }
    };
    ApiError::Mde {
        tenant: t.name.clone(),
        status,
        code,
        message,
        target,
    }
}

/// Graph's error envelope, `innerError` or `innererror` (both spellings are documented).
#[derive(Debug, Deserialize)]
struct Envelope {
    error: EnvelopeError,
}

#[derive(Debug, Deserialize)]
struct EnvelopeError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default, rename = "innerError", alias = "innererror")]
    inner: Option<Map<String, Value>>,
}

/// An error answer as [`ApiError::Graph`], from Graph's envelope or, failing that, the
/// status.
pub fn graph_error(t: &Tenant, status: u16, body: &[u8]) -> ApiError {
    let (code, message, request_id) = match serde_json::from_slice::<Envelope>(body) {
        Ok(e) => {
            let request_id = e
                .error
                .inner
                .as_ref()
                .and_then(|i| i.get("request-id"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            (e.error.code, e.error.message, request_id)
        }
        Err(_) => {
            let (code, message) = from_status(status, body);
            (code, message, None)
        }
    };
    ApiError::Graph {
        tenant: t.name.clone(),
        status,
        code,
        message,
        request_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Tenant {
        Tenant {
            name: "Contoso".into(),
            id: "contoso.onmicrosoft.com".into(),
        }
    }

    #[test]
    fn mde_bodies_keep_their_code_and_tracking_id() {
        let e = mde_error(
            &t(),
            400,
            br#"{"error":{"code":"InvalidRequestBody","message":"Invalid request body","target":"43f4cb08-8fac-4b65-9db1-745c2ae65f3a"}}"#,
        );
        assert_eq!(e.code(), Some("InvalidRequestBody"));
        assert!(
            e.to_string()
                .contains("(tracking id 43f4cb08-8fac-4b65-9db1-745c2ae65f3a)"),
            "{e}"
        );
        let e = mde_error(&t(), 502, b"<html>bad gateway</html>");
        assert_eq!(e.code(), Some("BadGateway"));
        assert!(e.to_string().contains("<html>bad gateway</html>"), "{e}");
    }

    #[test]
    fn the_envelope_becomes_a_typed_error_with_a_hint() {
        let e = graph_error(
            &t(),
            401,
            br#"{"error":{"code":"InvalidAuthenticationToken","message":"Access token validation failure. Invalid audience.","innerError":{"date":"2026-01-01T00:00:00","request-id":"r-1","client-request-id":"c-1"}}}"#,
        );
        assert_eq!(e.code(), Some("InvalidAuthenticationToken"));
        assert_eq!(e.status(), Some(401));
        assert!(e.to_string().contains("(request-id r-1)"), "{e}");
        assert!(e.hint().is_some_and(|h| h.contains("graph_resource")));
        let e = graph_error(
            &t(),
            400,
            br#"{"error":{"code":"","message":"The limit of '50' for Top query has been exceeded. The value from the incoming request is '100'.","innererror":{"request-id":"r-2"}}}"#,
        );
        assert_eq!(e.code(), Some(""));
        assert!(e.to_string().contains("(no code)"), "{e}");
        assert!(e.hint().is_some_and(|h| h.contains("50")));
        let e = graph_error(&t(), 503, b"<html>down</html>");
        assert_eq!(e.code(), Some("ServiceUnavailable"));
    }
}

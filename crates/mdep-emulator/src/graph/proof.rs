//! The `proof` of `addKey` (`graph-security.md` §5, `application-addkey.md`): a JWT signed
//! with one of the app's existing certificates, `aud` `00000002-0000-0000-c000-000000000000`,
//! `iss` the application's object id, and at most ten minutes between `nbf` and `exp`.
//! An app with no certificate yet cannot sign one: its first certificate goes in with
//! `PATCH /applications/{id}` and `keyCredentials`.

use super::objects::bad_request;
use crate::crypto;
use crate::directory::App;
use crate::request::graph_error::GraphError;
use aws_lc_rs::signature::{self, UnparsedPublicKey};
use serde_json::Value;
use time::OffsetDateTime;

/// The audience a proof names (Azure AD Graph's app id).
pub const PROOF_AUDIENCE: &str = "00000002-0000-0000-c000-000000000000";

/// Clock skew allowed on `nbf` and `exp`.
const SKEW: i64 = 300;

fn part(p: &str) -> Option<Value> {
    serde_json::from_slice(&crypto::b64_any_decode(p)?).ok()
}

/// Checks `proof` for `app`.
pub fn verify(app: &App, proof: &str) -> Result<(), GraphError> {
    let bad = |why: &str| bad_request(format!("Key credential proof is not valid: {why}"));
    if app.certificates.is_empty() {
        return Err(bad_request(
            "The application has no certificate to sign the proof with: add its first certificate with PATCH /applications/{id} and keyCredentials.",
        ));
    }
    let mut parts = proof.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("it must be a signed JWT (header.payload.signature)."));
    };
    let header = part(h)
        .filter(Value::is_object)
        .ok_or_else(|| bad("the header is not base64url JSON."))?;
    let claims = part(p)
        .filter(Value::is_object)
        .ok_or_else(|| bad("the payload is not base64url JSON."))?;
    let sig = crypto::b64_any_decode(s)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("the signature is missing."))?;
    let alg: &'static dyn signature::VerificationAlgorithm =
        match header.get("alg").and_then(Value::as_str) {
            Some("RS256") => &signature::RSA_PKCS1_2048_8192_SHA256,
            Some("PS256") => &signature::RSA_PSS_2048_8192_SHA256,
            _ => return Err(bad("sign it with RS256 or PS256.")),
        };
    let signed = &proof[..h.len() + 1 + p.len()];
    let now = OffsetDateTime::now_utc();
    let signer = app
        .certificates
        .iter()
        .filter(|c| c.not_after > now)
        .find(|c| {
            let key = crypto::b64_decode(&c.public_key).unwrap_or_default();
            UnparsedPublicKey::new(alg, &key)
                .verify(signed.as_bytes(), &sig)
                .is_ok()
        });
    if signer.is_none() {
        return Err(bad(
            "it is not signed by a valid certificate of the application.",
        ));
    }
    if claims.get("aud").and_then(Value::as_str) != Some(PROOF_AUDIENCE) {
        return Err(bad(&format!("'aud' must be {PROOF_AUDIENCE}.")));
    }
    let object_id = app.object_id().to_string();
    if !claims
        .get("iss")
        .and_then(Value::as_str)
        .is_some_and(|i| i.eq_ignore_ascii_case(&object_id))
    {
        return Err(bad(&format!(
            "'iss' must be the application's object id {object_id}."
        )));
    }
    let num = |k: &str| claims.get(k).and_then(Value::as_f64).map(|f| f as i64);
    let (Some(nbf), Some(exp)) = (num("nbf"), num("exp")) else {
        return Err(bad("it needs 'nbf' and 'exp'."));
    };
    let t = now.unix_timestamp();
    if exp - nbf > 600 {
        return Err(bad("'exp' must be at most 10 minutes after 'nbf'."));
    }
    if t > exp + SKEW || t + SKEW < nbf {
        return Err(bad("it has expired or is not valid yet."));
    }
    Ok(())
}

//! Client assertions (certificate credentials): a JWT signed with the app's certificate,
//! RS256 with `x5t` (SHA-1) or PS256 with `x5t#S256`, thumbprints in any base64 spelling,
//! `aud` = the token endpoint, `iss` = `sub` = client id, time range checked with skew,
//! and each `jti` accepted once (`entra-oauth.md` §3).

use super::error::EntraError;
use super::request::truncate;
use crate::AppState;
use crate::crypto;
use crate::directory::App;
use aws_lc_rs::signature::{self, UnparsedPublicKey};
use mdep_model::aadsts;
use serde_json::Value;
use time::OffsetDateTime;
use time::macros::format_description;
use uuid::Uuid;

/// The only `client_assertion_type` Entra accepts for certificates.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Clock skew allowed on `exp`/`nbf`.
pub const SKEW_SECONDS: f64 = 300.0;

/// Longest assertion accepted.
pub const MAX_ASSERTION: usize = 16 * 1024;

/// What an assertion is checked against.
pub struct AssertionCheck<'a> {
    /// The app named by `client_id`.
    pub app: &'a App,
    /// The compact JWS.
    pub assertion: &'a str,
    /// The caller's origin.
    pub origin: &'a str,
    /// The `{tenant}` path segment as sent.
    pub tenant_segment: &'a str,
    /// The resolved tenant.
    pub tid: Uuid,
    /// The tenant's domain.
    pub domain: Option<String>,
}

fn malformed(why: &str) -> EntraError {
    EntraError::new(
        aadsts::INVALID_ASSERTION,
        format!("Invalid JWT token. {why}"),
    )
}

fn b64json(part: &str) -> Option<Value> {
    serde_json::from_slice(&crypto::b64_any_decode(part)?).ok()
}

fn numeric(v: Option<&Value>) -> Option<f64> {
    v.and_then(Value::as_f64)
}

fn fmt_time(t: f64) -> String {
    OffsetDateTime::from_unix_timestamp(t as i64)
        .ok()
        .and_then(|d| {
            d.format(format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].0000000Z"
            ))
            .ok()
        })
        .unwrap_or_else(|| "1970-01-01T00:00:00.0000000Z".into())
}

/// Verifies a client assertion for `check.app`.
pub fn verify(state: &AppState, check: &AssertionCheck<'_>) -> Result<(), EntraError> {
    if check.assertion.len() > MAX_ASSERTION {
        return Err(malformed("The client assertion is too large."));
    }
    let mut parts = check.assertion.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed(
            "The client assertion must be a JWS in compact form (header.payload.signature).",
        ));
    };
    let header = b64json(h)
        .filter(Value::is_object)
        .ok_or_else(|| malformed("The header is not base64url-encoded JSON."))?;
    let claims = b64json(p)
        .filter(Value::is_object)
        .ok_or_else(|| malformed("The payload is not base64url-encoded JSON."))?;
    let sig = crypto::b64_any_decode(s)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| malformed("The signature is missing or not base64url."))?;
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    let verify_alg: &'static dyn signature::VerificationAlgorithm = match alg {
        "RS256" => &signature::RSA_PKCS1_2048_8192_SHA256,
        "PS256" => &signature::RSA_PSS_2048_8192_SHA256,
        other => {
            return Err(malformed(&format!(
                "The signing algorithm '{}' is not supported: use RS256 or PS256.",
                truncate(other)
            )));
        }
    };
    let (thumb_hex, by_sha256) = if let Some(t) = header.get("x5t#S256").and_then(Value::as_str) {
        (
            crypto::b64_any_decode(t)
                .filter(|b| b.len() == 32)
                .map(|b| crypto::hex_upper(&b)),
            true,
        )
    } else if let Some(t) = header.get("x5t").and_then(Value::as_str) {
        (
            crypto::b64_any_decode(t)
                .filter(|b| b.len() == 20)
                .map(|b| crypto::hex_upper(&b)),
            false,
        )
    } else {
        return Err(malformed(
            "No certificate thumbprint specified in token header.",
        ));
    };
    let thumb_hex = thumb_hex.ok_or_else(|| malformed("The certificate thumbprint in the header is not a SHA-1 (x5t) or SHA-256 (x5t#S256) digest."))?;
    let app = check.app;
    let cert = app.certificates.iter().find(|c| {
        if by_sha256 {
            c.thumbprint_sha256 == thumb_hex
        } else {
            c.thumbprint_sha1 == thumb_hex
        }
    });
    let Some(cert) = cert else {
        return Err(EntraError::new(
            aadsts::ASSERTION_KEY_INVALID,
            format!(
                "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{thumb_hex}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{}'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments if you're not using a global cloud.]",
                app.client_id
            ),
        ));
    };
    let public_key = crypto::b64_decode(&cert.public_key).unwrap_or_default();
    let signed = &check.assertion[..h.len() + 1 + p.len()];
    if UnparsedPublicKey::new(verify_alg, &public_key)
        .verify(signed.as_bytes(), &sig)
        .is_err()
    {
        return Err(EntraError::new(
            aadsts::ASSERTION_KEY_INVALID,
            format!(
                "Client assertion contains an invalid signature. [Reason - Key was found, but use of the key to verify the signature failed., Thumbprint of key used by client: '{}', Found key 'Start=01/01/0001 00:00:00, End={}']",
                if by_sha256 {
                    &cert.thumbprint_sha256
                } else {
                    &cert.thumbprint_sha1
                },
                cert.not_after.date()
            ),
        ));
    }
    let now_dt = OffsetDateTime::now_utc();
    if cert.not_after < now_dt {
        return Err(EntraError::new(
            aadsts::ASSERTION_KEY_INVALID,
            format!(
                "The certificate with thumbprint '{}' used to sign the client assertion has expired ({}).",
                cert.thumbprint_sha1,
                cert.not_after.date()
            ),
        ));
    }
    let iss = claims.get("iss").and_then(Value::as_str);
    let sub = claims.get("sub").and_then(Value::as_str);
    if iss.is_none() || iss != sub {
        return Err(EntraError::new(
            aadsts::ASSERTION_SUBJECT_MISMATCH,
            "Subject mismatches Issuer claim in the client assertion.",
        ));
    }
    let client_id = app.client_id.to_string();
    if !iss.is_some_and(|i| i.eq_ignore_ascii_case(&client_id)) {
        return Err(EntraError::new(
            aadsts::ASSERTION_CLIENT_MISMATCH,
            "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .",
        ));
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => audience_ok(a, check),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .any(|a| audience_ok(a, check)),
        _ => false,
    };
    if !aud_ok {
        return Err(EntraError::new(
            aadsts::ASSERTION_AUDIENCE,
            "Client assertion audience claim does not match Realm issuer. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .",
        ));
    }
    let now = now_dt.unix_timestamp() as f64;
    let exp = numeric(claims.get("exp"));
    let nbf = numeric(claims.get("nbf"));
    let out_of_range = match exp {
        None => true,
        Some(e) => now > e + SKEW_SECONDS || nbf.is_some_and(|n| now + SKEW_SECONDS < n),
    };
    if out_of_range {
        return Err(EntraError::new(
            aadsts::ASSERTION_TIME_RANGE,
            format!(
                "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
                fmt_time(now),
                fmt_time(nbf.unwrap_or(0.0)),
                fmt_time(exp.unwrap_or(0.0))
            ),
        ));
    }
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or_else(|| {
            malformed("The client assertion has no 'jti' claim (a unique id per assertion).")
        })?;
    let keep_until = exp.unwrap_or(now) as i64 + SKEW_SECONDS as i64;
    let fresh = state
        .emu
        .store()
        .record_jti(app.client_id, jti, keep_until, now as i64)
        .map_err(|_| malformed("The assertion could not be recorded."))?;
    if !fresh {
        return Err(EntraError::new(
            aadsts::ASSERTION_REPLAYED,
            format!(
                "Assertion is invalid: the client assertion with jti '{}' was already used. Build a new assertion for each request.",
                truncate(jti)
            ),
        ));
    }
    Ok(())
}

fn audience_ok(aud: &str, check: &AssertionCheck<'_>) -> bool {
    let Some(rest) = aud.strip_prefix(check.origin) else {
        return false;
    };
    let Some(rest) = rest.strip_prefix('/') else {
        return false;
    };
    let Some((tenant, path)) = rest.split_once('/') else {
        return false;
    };
    let tenant_ok = tenant.eq_ignore_ascii_case(check.tenant_segment)
        || Uuid::try_parse(tenant).is_ok_and(|t| t == check.tid)
        || check
            .domain
            .as_deref()
            .is_some_and(|d| tenant.eq_ignore_ascii_case(d));
    tenant_ok && (path == "oauth2/token" || path == "oauth2/v2.0/token")
}

//! The MDE API as a resource server: every request's `Authorization: Bearer` token is
//! checked the way a strict API must (`mde-api.md` §7, issue "Defender for Endpoint API
//! emulator" item 1): RS256 only, a published `kid`, the signature, `exp`/`nbf` with five
//! minutes of skew, an MDE audience, the v1 issuer of an existing tenant matching `tid`,
//! and the app's service principal still present in that tenant.
//!
//! A token's signature and static claims are verified once and cached by the token's
//! text; the key's publication, the times, the tenant and the service principal are
//! checked again on every request.

use super::error::MdeError;
use crate::state::Emulator;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mdep_model::permissions::Api;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;
use uuid::Uuid;

/// Clock skew allowed on `exp` and `nbf`, in seconds.
pub const CLOCK_SKEW_SECS: i64 = 300;

/// Most tokens remembered before the cache starts over.
const CACHE_CAPACITY: usize = 4096;

/// Why a token was refused. Each becomes a 401 with MDE's body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header.
    #[error(
        "Unauthorized: the request has no Authorization header. Send 'Authorization: Bearer <token>' with a token for https://api.securitycenter.microsoft.com."
    )]
    Missing,
    /// Not `Bearer <jwt>`.
    #[error("Unauthorized: the Authorization header is not 'Bearer <token>'.")]
    NotBearer,
    /// Not three base64url parts with JSON header and payload.
    #[error("Unauthorized: the bearer token is not a well-formed JWT ({0}).")]
    Malformed(&'static str),
    /// `alg` other than RS256.
    #[error(
        "Unauthorized: the token's algorithm '{0}' is not accepted; tokens must be signed with RS256 by Entra ID."
    )]
    Algorithm(String),
    /// No `kid`, or one that is not (or no longer) published.
    #[error(
        "Unauthorized: the token's signing key '{0}' is not published by the identity provider (unknown, or rotated out). Take a new token."
    )]
    UnknownKey(String),
    /// The signature does not verify.
    #[error("Unauthorized: the token's signature does not verify.")]
    Signature,
    /// Expired past the skew.
    #[error("Unauthorized: the token expired at {0} (UTC epoch seconds). Take a new token.")]
    Expired(i64),
    /// Not valid yet past the skew.
    #[error(
        "Unauthorized: the token is not valid before {0} (UTC epoch seconds). Check the clock."
    )]
    NotYetValid(i64),
    /// `aud` is not the MDE API.
    #[error(
        "Unauthorized: the token's audience '{0}' is not the Defender for Endpoint API. Request the token for https://api.securitycenter.microsoft.com (scope https://api.securitycenter.microsoft.com/.default)."
    )]
    Audience(String),
    /// `iss` is not `https://sts.windows.net/{tid}/` of an existing tenant.
    #[error(
        "Unauthorized: the token's issuer '{0}' is not the Entra ID v1 issuer of its tenant (https://sts.windows.net/{{tid}}/)."
    )]
    Issuer(String),
    /// A claim is missing or of the wrong type.
    #[error("Unauthorized: the token lacks a valid '{0}' claim.")]
    Claim(&'static str),
    /// The app's service principal is gone from the tenant.
    #[error(
        "Unauthorized: application {app} is not consented in tenant {tenant} (its service principal was removed). Have the tenant's administrator consent again."
    )]
    Revoked {
        /// Tenant.
        tenant: Uuid,
        /// App.
        app: Uuid,
    },
}

impl From<AuthError> for MdeError {
    fn from(e: AuthError) -> Self {
        MdeError::unauthorized(e.to_string())
    }
}

/// Who is calling, from a token that passed every check.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's tenant (`tid`): the only tenant whose data this call sees.
    pub tenant: Uuid,
    /// The client app (`appid`).
    pub app: Uuid,
    /// The app's display name (`app_displayname`), when the token carries one.
    pub app_name: Option<String>,
    /// Application roles (`roles`).
    pub roles: Vec<String>,
}

impl Caller {
    /// Passes when the caller holds one of `accepted`; else MDE's 403.
    pub fn require(&self, accepted: &[&str]) -> Result<(), MdeError> {
        if accepted.iter().any(|r| self.roles.iter().any(|g| g == r)) {
            Ok(())
        } else {
            Err(MdeError::missing_roles(accepted, &self.roles))
        }
    }

    /// True when the caller holds `role`.
    pub fn has(&self, role: &str) -> bool {
        self.roles.iter().any(|g| g == role)
    }
}

#[derive(Deserialize)]
struct Header {
    alg: Option<String>,
    kid: Option<String>,
}

#[derive(Deserialize)]
struct Claims {
    aud: Option<serde_json::Value>,
    iss: Option<String>,
    tid: Option<String>,
    appid: Option<String>,
    oid: Option<String>,
    app_displayname: Option<String>,
    #[serde(default)]
    roles: Option<Vec<String>>,
    exp: Option<serde_json::Value>,
    nbf: Option<serde_json::Value>,
}

/// What the once-per-token verification established.
#[derive(Debug, Clone)]
struct Verified {
    kid: String,
    api: Api,
    aud: String,
    tenant: Uuid,
    app: Uuid,
    oid: Uuid,
    app_name: Option<String>,
    roles: Vec<String>,
    exp: i64,
    nbf: Option<i64>,
}

/// Cache of verified tokens.
#[derive(Debug, Default)]
pub struct TokenCache {
    map: Mutex<HashMap<String, Arc<Verified>>>,
}

impl TokenCache {
    fn get(&self, token: &str) -> Option<Arc<Verified>> {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(token)
            .cloned()
    }

    fn put(&self, token: &str, v: Arc<Verified>) {
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() >= CACHE_CAPACITY {
            m.clear();
        }
        m.insert(token.to_owned(), v);
    }
}

fn b64(part: &str) -> Result<Vec<u8>, AuthError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| AuthError::Malformed("a part is not base64url"))
}

fn epoch(v: Option<&serde_json::Value>, name: &'static str) -> Result<Option<i64>, AuthError> {
    match v {
        None => Ok(None),
        Some(serde_json::Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .map(Some)
            .ok_or(AuthError::Claim(name)),
        Some(_) => Err(AuthError::Claim(name)),
    }
}

/// Checks the `Authorization` header value for the MDE API; returns the caller.
pub fn authenticate(
    emu: &Emulator,
    cache: &TokenCache,
    authorization: Option<&str>,
) -> Result<Caller, AuthError> {
    authenticate_for(emu, cache, authorization, Api::Mde)
}

/// Checks the `Authorization` header value for `api` (the token's audience must name it);
/// returns the caller. Both APIs share the cache: a token's audience is checked on every
/// request.
pub fn authenticate_for(
    emu: &Emulator,
    cache: &TokenCache,
    authorization: Option<&str>,
    api: Api,
) -> Result<Caller, AuthError> {
    let value = authorization.ok_or(AuthError::Missing)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(AuthError::NotBearer)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::NotBearer);
    }
    let token = token.trim();
    let now = OffsetDateTime::now_utc();
    let v = match cache.get(token) {
        Some(v) => v,
        None => {
            let v = Arc::new(verify(emu, token, now)?);
            cache.put(token, v.clone());
            v
        }
    };
    if v.api != api {
        return Err(AuthError::Audience(v.aud.clone()));
    }
    // Checked on every request, cached or not.
    let grace = emu.settings().key_grace;
    if emu.keys().find_published(&v.kid, now, grace).is_none() {
        return Err(AuthError::UnknownKey(v.kid.clone()));
    }
    let t = now.unix_timestamp();
    if t > v.exp + CLOCK_SKEW_SECS {
        return Err(AuthError::Expired(v.exp));
    }
    if let Some(nbf) = v.nbf
        && t + CLOCK_SKEW_SECS < nbf
    {
        return Err(AuthError::NotYetValid(nbf));
    }
    {
        let dir = emu.directory();
        if !dir.tenants.contains_key(&v.tenant) {
            return Err(AuthError::Issuer(format!(
                "https://sts.windows.net/{}/",
                v.tenant
            )));
        }
        match dir.service_principals.get(&(v.tenant, v.app)) {
            Some(sp) if sp.object_id == v.oid => {}
            _ => {
                return Err(AuthError::Revoked {
                    tenant: v.tenant,
                    app: v.app,
                });
            }
        }
    }
    Ok(Caller {
        tenant: v.tenant,
        app: v.app,
        app_name: v.app_name.clone(),
        roles: v.roles.clone(),
    })
}

fn verify(emu: &Emulator, token: &str, now: OffsetDateTime) -> Result<Verified, AuthError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::Malformed("it does not have three parts"));
    };
    let header: Header = serde_json::from_slice(&b64(h)?)
        .map_err(|_| AuthError::Malformed("the header is not a JSON object"))?;
    let alg = header.alg.unwrap_or_default();
    if alg != "RS256" {
        return Err(AuthError::Algorithm(alg));
    }
    let kid = header.kid.ok_or(AuthError::UnknownKey(String::new()))?;
    let sig = b64(s)?;
    let signed = &token[..h.len() + 1 + p.len()];
    {
        let keys = emu.keys();
        let key = keys
            .find_published(&kid, now, emu.settings().key_grace)
            .ok_or_else(|| AuthError::UnknownKey(kid.clone()))?;
        if !key.verify_rs256(signed.as_bytes(), &sig) {
            return Err(AuthError::Signature);
        }
    }
    let claims: Claims = serde_json::from_slice(&b64(p)?)
        .map_err(|_| AuthError::Malformed("the payload is not a JSON object of claims"))?;
    let aud = match &claims.aud {
        Some(serde_json::Value::String(a)) => a.clone(),
        Some(other) => return Err(AuthError::Audience(other.to_string())),
        None => return Err(AuthError::Claim("aud")),
    };
    let Some(api) = Api::of_resource(&aud) else {
        return Err(AuthError::Audience(aud));
    };
    let tid = claims
        .tid
        .as_deref()
        .and_then(|t| Uuid::try_parse(t).ok())
        .ok_or(AuthError::Claim("tid"))?;
    let iss = claims.iss.ok_or(AuthError::Claim("iss"))?;
    if iss != format!("https://sts.windows.net/{tid}/") {
        return Err(AuthError::Issuer(iss));
    }
    let app = claims
        .appid
        .as_deref()
        .and_then(|t| Uuid::try_parse(t).ok())
        .ok_or(AuthError::Claim("appid"))?;
    let oid = claims
        .oid
        .as_deref()
        .and_then(|t| Uuid::try_parse(t).ok())
        .ok_or(AuthError::Claim("oid"))?;
    let exp = epoch(claims.exp.as_ref(), "exp")?.ok_or(AuthError::Claim("exp"))?;
    let nbf = epoch(claims.nbf.as_ref(), "nbf")?;
    Ok(Verified {
        kid,
        api,
        aud,
        tenant: tid,
        app,
        oid,
        app_name: claims.app_displayname,
        roles: claims.roles.unwrap_or_default(),
        exp,
        nbf,
    })
}

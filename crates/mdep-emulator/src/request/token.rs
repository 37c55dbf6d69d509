//! Bearer tokens as a resource server checks them once (`mde-api.md` §7): RS256 only, a
//! published `kid`, the signature, and the static claims (an audience of an API the
//! emulator serves, the v1 issuer of the token's `tid`, `appid`, `oid`, `exp`). What
//! passes is cached by the token's text; [`crate::request::auth`] checks the rest again
//! on every request.

use super::error::MdeError;
use crate::keys::KeySet;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mdep_model::permissions::Api;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// Clock skew allowed on `exp` and `nbf`, in seconds.
pub const CLOCK_SKEW_SECS: i64 = 300;

/// Most tokens remembered before the cache starts over.
const CACHE_CAPACITY: usize = 4096;

/// Why a token was refused. Each becomes a 401 in the API's error body.
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
pub struct Verified {
    /// The signing key's id.
    pub kid: String,
    /// The API the audience names.
    pub api: Api,
    /// The audience as sent.
    pub aud: String,
    /// `tid`.
    pub tenant: Uuid,
    /// `appid`.
    pub app: Uuid,
    /// `oid`: the app's service principal in the tenant.
    pub oid: Uuid,
    /// `app_displayname`.
    pub app_name: Option<String>,
    /// `roles`.
    pub roles: Vec<String>,
    /// `exp`, epoch seconds.
    pub exp: i64,
    /// `nbf`, epoch seconds.
    pub nbf: Option<i64>,
}

/// Cache of verified tokens.
#[derive(Debug, Default)]
pub struct TokenCache {
    map: Mutex<HashMap<String, Arc<Verified>>>,
}

impl TokenCache {
    /// The token's verified claims: from the cache, else verified with `keys` (a key
    /// retired up to `grace` ago still verifies) and cached.
    pub fn verified(
        &self,
        token: &str,
        keys: &KeySet,
        grace: Duration,
        now: OffsetDateTime,
    ) -> Result<Arc<Verified>, AuthError> {
        if let Some(v) = self.get(token) {
            return Ok(v);
        }
        let v = Arc::new(verify(keys, grace, token, now)?);
        self.put(token, v.clone());
        Ok(v)
    }

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

fn guid(v: Option<&str>, name: &'static str) -> Result<Uuid, AuthError> {
    v.and_then(|t| Uuid::try_parse(t).ok())
        .ok_or(AuthError::Claim(name))
}

fn verify(
    keys: &KeySet,
    grace: Duration,
    token: &str,
    now: OffsetDateTime,
) -> Result<Verified, AuthError> {
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
    let key = keys
        .find_published(&kid, now, grace)
        .ok_or_else(|| AuthError::UnknownKey(kid.clone()))?;
    if !key.verify_rs256(signed.as_bytes(), &sig) {
        return Err(AuthError::Signature);
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
    let tid = guid(claims.tid.as_deref(), "tid")?;
    let iss = claims.iss.ok_or(AuthError::Claim("iss"))?;
    if iss != format!("https://sts.windows.net/{tid}/") {
        return Err(AuthError::Issuer(iss));
    }
    let app = guid(claims.appid.as_deref(), "appid")?;
    let oid = guid(claims.oid.as_deref(), "oid")?;
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

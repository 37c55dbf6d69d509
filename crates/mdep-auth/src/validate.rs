//! Validating an access token as a resource server does: the tenant's discovery
//! document → `jwks_uri` → the key by `kid` (refetched on an unknown `kid`, at most every
//! `min_refetch`), the algorithm pinned to RS256, `iss`, `aud`, `exp`/`nbf` with skew,
//! `tid`, and the roles required. The error names the check that failed.

use crate::inspect;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The checks, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The token is a JWT.
    Format,
    /// `alg` is RS256.
    Algorithm,
    /// The discovery document or key set could be fetched.
    Discovery,
    /// The `kid` is published.
    Key,
    /// The signature verifies.
    Signature,
    /// `iss` is the tenant's issuer.
    Issuer,
    /// `aud` is an accepted audience.
    Audience,
    /// Not expired.
    Expiry,
    /// Not before `nbf`.
    NotBefore,
    /// `tid` is the expected tenant and matches `iss`.
    Tenant,
    /// The required roles are granted.
    Roles,
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Check::Format => "format",
            Check::Algorithm => "algorithm",
            Check::Discovery => "discovery",
            Check::Key => "signing key",
            Check::Signature => "signature",
            Check::Issuer => "issuer",
            Check::Audience => "audience",
            Check::Expiry => "expiry",
            Check::NotBefore => "not-before",
            Check::Tenant => "tenant",
            Check::Roles => "roles",
        })
    }
}

/// A failed check.
#[derive(Debug, thiserror::Error)]
#[error("{check} check failed: {detail}")]
pub struct ValidationError {
    /// Which check.
    pub check: Check,
    /// Why.
    pub detail: String,
}

fn fail(check: Check, detail: impl Into<String>) -> ValidationError {
    ValidationError {
        check,
        detail: detail.into(),
    }
}

/// What a token must satisfy.
#[derive(Debug, Clone)]
pub struct Expectations {
    /// The tenant (id or domain) it must belong to; its own `tid` when absent.
    pub tenant: Option<String>,
    /// Accepted audiences.
    pub audiences: Vec<String>,
    /// Roles that must be present.
    pub required_roles: Vec<String>,
    /// Clock skew allowed on `exp`/`nbf`.
    pub skew: Duration,
}

/// A token that passed every check.
#[derive(Debug, Clone)]
pub struct Validated {
    /// Its claims.
    pub claims: Value,
    /// The issuer it was checked against.
    pub issuer: String,
}

#[derive(Debug)]
struct KeySetEntry {
    keys: Vec<Value>,
    fetched: Instant,
}

/// Validates tokens, caching discovery documents and key sets.
#[derive(Debug)]
pub struct Validator {
    http: reqwest::Client,
    authority: String,
    min_refetch: Duration,
    discovery: Mutex<HashMap<String, (String, String)>>,
    key_sets: Mutex<HashMap<String, KeySetEntry>>,
    fetches: std::sync::atomic::AtomicU64,
}

impl Validator {
    /// A validator for tokens of `authority` (the sign-in host).
    pub fn new(http: reqwest::Client, authority: impl Into<String>) -> Self {
        Self {
            http,
            authority: authority.into().trim_end_matches('/').to_owned(),
            min_refetch: Duration::from_secs(300),
            discovery: Mutex::new(HashMap::new()),
            key_sets: Mutex::new(HashMap::new()),
            fetches: Default::default(),
        }
    }

    /// Sets the shortest interval between two key-set fetches (default 5 minutes).
    pub fn min_refetch(mut self, d: Duration) -> Self {
        self.min_refetch = d;
        self
    }

    /// Key-set fetches so far.
    pub fn key_set_fetches(&self) -> u64 {
        self.fetches.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn get_json(&self, url: &str) -> Result<Value, ValidationError> {
        let r = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| fail(Check::Discovery, format!("{url}: {e}")))?;
        let status = r.status();
        let body = r
            .text()
            .await
            .map_err(|e| fail(Check::Discovery, format!("{url}: {e}")))?;
        if !status.is_success() {
            let why = serde_json::from_str::<Value>(&body)
                .ok()
                .and_then(|v| {
                    v.get("error_description")
                        .and_then(Value::as_str)
                        .map(|s| s.split(" Trace ID:").next().unwrap_or(s).to_owned())
                })
                .unwrap_or_else(|| format!("HTTP {status}"));
            return Err(fail(Check::Discovery, format!("{url}: {why}")));
        }
        serde_json::from_str(&body)
            .map_err(|e| fail(Check::Discovery, format!("{url}: not JSON: {e}")))
    }

    /// (issuer, jwks_uri) of a tenant, from its v1 discovery document.
    async fn discover(&self, tenant: &str) -> Result<(String, String), ValidationError> {
        if let Some(hit) = self
            .discovery
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(tenant)
        {
            return Ok(hit.clone());
        }
        let url = format!(
            "{}/{tenant}/.well-known/openid-configuration",
            self.authority
        );
        let doc = self.get_json(&url).await?;
        let issuer = doc
            .get("issuer")
            .and_then(Value::as_str)
            .ok_or_else(|| fail(Check::Discovery, format!("{url} has no issuer")))?
            .to_owned();
        let jwks = doc
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| fail(Check::Discovery, format!("{url} has no jwks_uri")))?
            .to_owned();
        self.discovery
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(tenant.to_owned(), (issuer.clone(), jwks.clone()));
        Ok((issuer, jwks))
    }

    async fn key(&self, jwks_uri: &str, kid: &str) -> Result<Value, ValidationError> {
        let find = |keys: &[Value]| {
            keys.iter()
                .find(|k| k.get("kid").and_then(Value::as_str) == Some(kid))
                .cloned()
        };
        let refetch = {
            let sets = self.key_sets.lock().unwrap_or_else(|p| p.into_inner());
            match sets.get(jwks_uri) {
                Some(e) => match find(&e.keys) {
                    Some(k) => return Ok(k),
                    None => e.fetched.elapsed() >= self.min_refetch,
                },
                None => true,
            }
        };
        if !refetch {
            return Err(fail(
                Check::Key,
                format!(
                    "kid '{kid}' is not in the key set (refetched less than {:?} ago)",
                    self.min_refetch
                ),
            ));
        }
        let doc = self.get_json(jwks_uri).await?;
        self.fetches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let keys = doc
            .get("keys")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let found = find(&keys);
        self.key_sets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                jwks_uri.to_owned(),
                KeySetEntry {
                    keys,
                    fetched: Instant::now(),
                },
            );
        found.ok_or_else(|| {
            fail(
                Check::Key,
                format!("kid '{kid}' is not published at {jwks_uri}"),
            )
        })
    }

    /// Runs every check on `token`.
    pub async fn validate(
        &self,
        token: &str,
        want: &Expectations,
    ) -> Result<Validated, ValidationError> {
        let token = token.trim();
        let decoded = inspect::decode(token).map_err(|e| fail(Check::Format, e.to_string()))?;
        let alg = decoded
            .header
            .get("alg")
            .and_then(Value::as_str)
            .unwrap_or("");
        if alg != "RS256" {
            return Err(fail(
                Check::Algorithm,
                format!("alg is '{alg}'; Entra access tokens are RS256"),
            ));
        }
        let kid = decoded
            .header
            .get("kid")
            .and_then(Value::as_str)
            .ok_or_else(|| fail(Check::Key, "the header has no kid"))?
            .to_owned();
        let tid = decoded.tid().map(str::to_owned);
        let tenant = want.tenant.clone().or_else(|| tid.clone()).ok_or_else(|| {
            fail(
                Check::Tenant,
                "the token has no tid and no tenant was given",
            )
        })?;
        let (issuer, jwks_uri) = self.discover(&tenant).await?;
        let jwk = self.key(&jwks_uri, &kid).await?;
        let (Some(n), Some(e)) = (
            jwk.get("n").and_then(Value::as_str),
            jwk.get("e").and_then(Value::as_str),
        ) else {
            return Err(fail(
                Check::Key,
                format!("key '{kid}' has no RSA modulus/exponent"),
            ));
        };
        let key = jsonwebtoken::DecodingKey::from_rsa_components(n, e)
            .map_err(|err| fail(Check::Key, err.to_string()))?;
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        v.leeway = want.skew.as_secs();
        v.validate_nbf = true;
        v.set_issuer(&[issuer.as_str()]);
        v.set_audience(&want.audiences);
        v.set_required_spec_claims(&["exp", "iss", "aud"]);
        let data = jsonwebtoken::decode::<Value>(token, &key, &v).map_err(|err| {
            use jsonwebtoken::errors::ErrorKind as K;
            let claims = &decoded.claims;
            match err.kind() {
                K::InvalidSignature => fail(
                    Check::Signature,
                    "the signature does not verify with the published key",
                ),
                K::ExpiredSignature => fail(
                    Check::Expiry,
                    format!(
                        "expired at {}",
                        claims.get("exp").cloned().unwrap_or_default()
                    ),
                ),
                K::ImmatureSignature => fail(
                    Check::NotBefore,
                    format!(
                        "not valid before {}",
                        claims.get("nbf").cloned().unwrap_or_default()
                    ),
                ),
                K::InvalidIssuer => fail(
                    Check::Issuer,
                    format!(
                        "iss {} is not {issuer}",
                        claims.get("iss").cloned().unwrap_or_default()
                    ),
                ),
                K::InvalidAudience => fail(
                    Check::Audience,
                    format!(
                        "aud {} is not one of {:?}",
                        claims.get("aud").cloned().unwrap_or_default(),
                        want.audiences
                    ),
                ),
                K::InvalidAlgorithm => fail(Check::Algorithm, err.to_string()),
                K::MissingRequiredClaim(c) => fail(Check::Format, format!("missing claim {c}")),
                _ => fail(Check::Signature, err.to_string()),
            }
        })?;
        let tid = tid.ok_or_else(|| fail(Check::Tenant, "the token has no tid"))?;
        if uuid::Uuid::try_parse(&tid).is_err() {
            return Err(fail(Check::Tenant, format!("tid '{tid}' is not a GUID")));
        }
        if !issuer.contains(&tid) {
            return Err(fail(
                Check::Tenant,
                format!("tid {tid} does not match the issuer {issuer}"),
            ));
        }
        if let Some(t) = &want.tenant
            && uuid::Uuid::try_parse(t).is_ok() && !t.eq_ignore_ascii_case(&tid) {
                return Err(fail(
                    Check::Tenant,
                    format!("tid {tid} is not the expected tenant {t}"),
                ));
            }
        let roles = decoded.roles();
        let missing: Vec<&String> = want
            .required_roles
            .iter()
            .filter(|r| !roles.contains(r))
            .collect();
        if !missing.is_empty() {
            return Err(fail(
                Check::Roles,
                format!("missing {missing:?}; granted {roles:?} (the tenant must consent again)"),
            ));
        }
        Ok(Validated {
            claims: data.claims,
            issuer,
        })
    }
}

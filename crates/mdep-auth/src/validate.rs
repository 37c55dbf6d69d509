//! Validating an access token as a resource server does: the tenant's discovery
//! document → `jwks_uri` → the key by `kid` (refetched on an unknown `kid`, at most every
//! `min_refetch`), the algorithm pinned to RS256, `iss`, `aud`, `exp`/`nbf` with skew,
//! `tid`, and the roles required. The error names the check that failed.

use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
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
    payload: Vec<u8>,
    /// The issuer it was checked against.
    pub issuer: String,
}

impl Validated {
    /// Its claims (parsed on demand: the checks read only the ones they need).
    pub fn claims(&self) -> Value {
        serde_json::from_slice(&self.payload).unwrap_or(Value::Null)
    }

    /// The `roles` claim (empty when none were granted).
    pub fn roles(&self) -> Vec<String> {
        serde_json::from_slice::<CheckedClaims<'_>>(&self.payload)
            .map(|c| c.roles.into_iter().map(|r| r.into_owned()).collect())
            .unwrap_or_default()
    }

    /// The `tid` claim.
    pub fn tid(&self) -> Option<String> {
        serde_json::from_slice::<CheckedClaims<'_>>(&self.payload)
            .ok()
            .and_then(|c| c.tid.map(|t| t.into_owned()))
    }
}

/// The claims the checks read, borrowed from the decoded payload (no per-claim
/// allocation on the hot path; other claims are skipped).
#[derive(serde::Deserialize)]
struct CheckedClaims<'a> {
    #[serde(borrow)]
    iss: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    aud: Option<Audience<'a>>,
    exp: Option<f64>,
    nbf: Option<f64>,
    #[serde(borrow)]
    tid: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    roles: Vec<std::borrow::Cow<'a, str>>,
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Audience<'a> {
    #[serde(borrow)]
    One(std::borrow::Cow<'a, str>),
    #[serde(borrow)]
    Many(Vec<std::borrow::Cow<'a, str>>),
}

/// An RSA key from a key set, parsed once for fast verification.
struct VerifyKey {
    key: aws_lc_rs::signature::ParsedPublicKey,
}

impl std::fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VerifyKey")
    }
}

#[derive(Debug)]
struct KeySetEntry {
    keys: HashMap<String, Arc<VerifyKey>>,
    fetched: Instant,
}

fn parse_jwk(jwk: &Value) -> Option<(String, VerifyKey)> {
    use aws_lc_rs::encoding::AsDer;
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    if jwk.get("kty").and_then(Value::as_str) != Some("RSA") {
        return None;
    }
    let kid = jwk.get("kid")?.as_str()?.to_owned();
    let n = b64
        .decode(jwk.get("n")?.as_str()?.trim_end_matches('='))
        .ok()?;
    let e = b64
        .decode(jwk.get("e")?.as_str()?.trim_end_matches('='))
        .ok()?;
    let spki = aws_lc_rs::rsa::PublicKeyComponents {
        n: n.as_slice(),
        e: e.as_slice(),
    }
    .as_der()
    .ok()?;
    let key = aws_lc_rs::signature::ParsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
        spki.as_ref(),
    )
    .ok()?;
    Some((kid, VerifyKey { key }))
}

/// Validates tokens, caching discovery documents and key sets.
#[derive(Debug)]
pub struct Validator {
    http: reqwest::Client,
    authority: String,
    min_refetch: Duration,
    discovery: Mutex<HashMap<String, Arc<(String, String)>>>,
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
    async fn discover(&self, tenant: &str) -> Result<Arc<(String, String)>, ValidationError> {
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
        let found = Arc::new((issuer, jwks));
        self.discovery
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(tenant.to_owned(), found.clone());
        Ok(found)
    }

    async fn key(&self, jwks_uri: &str, kid: &str) -> Result<Arc<VerifyKey>, ValidationError> {
        let refetch = {
            let sets = self.key_sets.lock().unwrap_or_else(|p| p.into_inner());
            match sets.get(jwks_uri) {
                Some(e) => match e.keys.get(kid) {
                    Some(k) => return Ok(k.clone()),
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
        let keys: HashMap<String, Arc<VerifyKey>> = doc
            .get("keys")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(parse_jwk)
                    .map(|(k, v)| (k, Arc::new(v)))
                    .collect()
            })
            .unwrap_or_default();
        let found = keys.get(kid).cloned();
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
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let token = token.trim();
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(sig), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(fail(
                Check::Format,
                "not a JWT: expected three dot-separated parts",
            ));
        };
        #[derive(serde::Deserialize)]
        struct Header {
            alg: Option<String>,
            kid: Option<String>,
        }
        let header: Header = b64
            .decode(h)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| fail(Check::Format, "the header is not base64url JSON"))?;
        let payload = b64
            .decode(p)
            .map_err(|_| fail(Check::Format, "the payload is not base64url"))?;
        let claims: CheckedClaims<'_> = serde_json::from_slice(&payload).map_err(|e| {
            fail(
                Check::Format,
                format!("the payload is not a JSON object of JWT claims: {e}"),
            )
        })?;
        let signature = b64
            .decode(sig)
            .map_err(|_| fail(Check::Format, "the signature is not base64url"))?;
        let alg = header.alg.as_deref().unwrap_or("");
        if alg != "RS256" {
            return Err(fail(
                Check::Algorithm,
                format!("alg is '{alg}'; Entra access tokens are RS256"),
            ));
        }
        let kid = header
            .kid
            .ok_or_else(|| fail(Check::Key, "the header has no kid"))?;
        let tid = claims.tid.as_deref();
        let tenant = want.tenant.as_deref().or(tid).ok_or_else(|| {
            fail(
                Check::Tenant,
                "the token has no tid and no tenant was given",
            )
        })?;
        let disc = self.discover(tenant).await?;
        let (issuer, jwks_uri) = (&disc.0, &disc.1);
        let key = self.key(jwks_uri, &kid).await?;
        let signed = &token[..h.len() + 1 + p.len()];
        if key.key.verify_sig(signed.as_bytes(), &signature).is_err() {
            return Err(fail(
                Check::Signature,
                "the signature does not verify with the published key",
            ));
        }
        let iss = claims.iss.as_deref().unwrap_or("");
        if iss != issuer {
            return Err(fail(Check::Issuer, format!("iss '{iss}' is not {issuer}")));
        }
        let aud_ok = match &claims.aud {
            Some(Audience::One(a)) => want.audiences.iter().any(|w| w == a),
            Some(Audience::Many(list)) => {
                list.iter().any(|a| want.audiences.iter().any(|w| w == a))
            }
            None => false,
        };
        if !aud_ok {
            let shown = match &claims.aud {
                Some(Audience::One(a)) => a.to_string(),
                Some(Audience::Many(l)) => format!("{l:?}"),
                None => "(none)".into(),
            };
            return Err(fail(
                Check::Audience,
                format!("aud {shown} is not one of {:?}", want.audiences),
            ));
        }
        let now = time::OffsetDateTime::now_utc().unix_timestamp() as f64;
        let skew = want.skew.as_secs_f64();
        let exp = claims
            .exp
            .ok_or_else(|| fail(Check::Format, "missing claim exp"))?;
        if now > exp + skew {
            return Err(fail(Check::Expiry, format!("expired at {exp}")));
        }
        if let Some(nbf) = claims.nbf.filter(|nbf| now + skew < *nbf) {
            return Err(fail(Check::NotBefore, format!("not valid before {nbf}")));
        }
        let tid = tid.ok_or_else(|| fail(Check::Tenant, "the token has no tid"))?;
        if uuid::Uuid::try_parse(tid).is_err() {
            return Err(fail(Check::Tenant, format!("tid '{tid}' is not a GUID")));
        }
        if !issuer.contains(tid) {
            return Err(fail(
                Check::Tenant,
                format!("tid {tid} does not match the issuer {issuer}"),
            ));
        }
        if let Some(t) = want
            .tenant
            .as_deref()
            .filter(|t| uuid::Uuid::try_parse(t).is_ok() && !t.eq_ignore_ascii_case(tid))
        {
            return Err(fail(
                Check::Tenant,
                format!("tid {tid} is not the expected tenant {t}"),
            ));
        }
        let missing: Vec<&String> = want
            .required_roles
            .iter()
            .filter(|r| !claims.roles.iter().any(|g| g == r.as_str()))
            .collect();
        if !missing.is_empty() {
            return Err(fail(
                Check::Roles,
                format!(
                    "missing {missing:?}; granted {:?} (the tenant must consent again)",
                    claims.roles
                ),
            ));
        }
        Ok(Validated {
            payload,
            issuer: issuer.clone(),
        })
    }
}

//! The token broker: a client-credentials token per customer tenant, by secret or
//! certificate, over v1 or v2, cached and refreshed ahead of expiry.
//!
//! The cache is single-flight: however many callers ask for one tenant at once, one
//! token request goes out. A token is refreshed in the background once it is within
//! `refresh_before` of expiry or past half its lifetime; callers holding a valid token
//! never wait for that. Keys are (cloud, authority, tenant, client, resource): one broker
//! serves one partner app and cloud, its in-memory map is by (resource, tenant) — the
//! default resource of [`BrokerOptions::resource`] through [`TokenBroker::token`], any
//! other (Microsoft Graph beside the MDE API) through [`TokenBroker::token_for`] — and
//! the optional persistent cache file carries the whole key.

use crate::config::TokenVersion;
use crate::credential::ClientCredential;
use crate::error::{AuthError, EntraFailure};
use crate::secret::Secret;
use mdep_model::Cloud;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use time::OffsetDateTime;

/// A cached access token.
#[derive(Debug, Clone)]
pub struct AccessToken {
    /// The JWT (never printed).
    pub token: Secret,
    /// When it expires.
    pub expires_on: OffsetDateTime,
    /// When it was received.
    pub received: OffsetDateTime,
}

impl AccessToken {
    fn usable(&self, now: OffsetDateTime) -> bool {
        self.expires_on - now > time::Duration::seconds(60)
    }

    fn wants_refresh(&self, now: OffsetDateTime, refresh_before: Duration) -> bool {
        let left = self.expires_on - now;
        let lifetime = self.expires_on - self.received;
        left < refresh_before || (now - self.received) > lifetime / 2
    }
}

/// What the broker needs.
#[derive(Debug, Clone)]
pub struct BrokerOptions {
    /// Cloud (part of the cache key).
    pub cloud: Cloud,
    /// Sign-in host, e.g. `https://login.microsoftonline.com`.
    pub authority: String,
    /// Partner app client id.
    pub client_id: String,
    /// The credential.
    pub credential: Arc<ClientCredential>,
    /// The default resource, e.g. `https://api.securitycenter.microsoft.com`.
    pub resource: String,
    /// Token endpoint version.
    pub version: TokenVersion,
    /// Refresh this long before expiry (default 5 minutes).
    pub refresh_before: Duration,
    /// Attempts on 429/5xx/network errors (default 4).
    pub max_attempts: u32,
    /// Longest wait between attempts, `Retry-After` included (default 30 s).
    pub max_retry_wait: Duration,
    /// Persistent cache file (mode 0600), so back-to-back runs reuse tokens.
    pub cache_file: Option<PathBuf>,
}

impl BrokerOptions {
    /// Options with the defaults above.
    pub fn new(
        cloud: Cloud,
        authority: impl Into<String>,
        client_id: impl Into<String>,
        credential: ClientCredential,
        resource: impl Into<String>,
        version: TokenVersion,
    ) -> Self {
        Self {
            cloud,
            authority: authority.into().trim_end_matches('/').to_owned(),
            client_id: client_id.into(),
            credential: Arc::new(credential),
            resource: resource.into(),
            version,
            refresh_before: Duration::from_secs(300),
            max_attempts: 4,
            max_retry_wait: Duration::from_secs(30),
            cache_file: None,
        }
    }
}

#[derive(Debug, Default)]
struct Slot {
    current: RwLock<Option<Arc<AccessToken>>>,
    fetch: tokio::sync::Mutex<()>,
    refreshing: AtomicBool,
}

impl Slot {
    fn get(&self) -> Option<Arc<AccessToken>> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
    fn set(&self, t: Arc<AccessToken>) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(t);
    }
    /// Drops `t` if it is still the current token; true when it was.
    fn clear_if(&self, t: &Arc<AccessToken>) -> bool {
        let mut cur = self.current.write().unwrap_or_else(|p| p.into_inner());
        if cur.as_ref().is_some_and(|c| Arc::ptr_eq(c, t)) {
            *cur = None;
            true
        } else {
            false
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    tokens: HashMap<String, CachedEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct CachedEntry {
    /// The token sealed with AES-256-GCM under a key derived from the credential:
    /// base64(nonce || ciphertext). Only the holder of the credential can read it back,
    /// and the credential can fetch tokens anyway.
    sealed: String,
    expires_on: i64,
    received: i64,
}

/// Version of the cache file format.
const CACHE_VERSION: u32 = 2;

/// The key that seals cached tokens: HKDF-SHA256 over the credential, bound to the
/// cache key (cloud, authority, tenant, client, resource).
fn sealing_key(
    credential: &ClientCredential,
    file_key: &str,
) -> Option<aws_lc_rs::aead::LessSafeKey> {
    use aws_lc_rs::{aead, hkdf};
    let secret = credential.cache_secret();
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"mdep token cache v2").extract(&secret);
    let mut key = [0u8; 32];
    prk.expand(&[file_key.as_bytes()], hkdf::HKDF_SHA256)
        .ok()?
        .fill(&mut key)
        .ok()?;
    Some(aead::LessSafeKey::new(
        aead::UnboundKey::new(&aead::AES_256_GCM, &key).ok()?,
    ))
}

fn seal(credential: &ClientCredential, file_key: &str, token: &str) -> Option<String> {
    use aws_lc_rs::aead;
    use aws_lc_rs::rand::SecureRandom;
    use base64::Engine;
    let key = sealing_key(credential, file_key)?;
    let mut nonce = [0u8; 12];
    aws_lc_rs::rand::SystemRandom::new().fill(&mut nonce).ok()?;
    let mut data = token.as_bytes().to_vec();
    key.seal_in_place_append_tag(
        aead::Nonce::assume_unique_for_key(nonce),
        aead::Aad::from(file_key.as_bytes()),
        &mut data,
    )
    .ok()?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&data);
    Some(base64::engine::general_purpose::STANDARD.encode(out))
}

fn open_sealed(credential: &ClientCredential, file_key: &str, sealed: &str) -> Option<String> {
    use aws_lc_rs::aead;
    use base64::Engine;
    let key = sealing_key(credential, file_key)?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(sealed)
        .ok()?;
    if raw.len() < 12 + 16 {
        return None;
    }
    let (nonce, rest) = raw.split_at(12);
    let mut data = rest.to_vec();
    let nonce = aead::Nonce::try_assume_unique_for_key(nonce).ok()?;
    let plain = key
        .open_in_place(nonce, aead::Aad::from(file_key.as_bytes()), &mut data)
        .ok()?;
    String::from_utf8(plain.to_vec()).ok()
}

/// The broker. Cheap to share (`Arc`).
#[derive(Debug)]
pub struct TokenBroker {
    opts: BrokerOptions,
    http: reqwest::Client,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
    requests: AtomicU64,
    file_lock: Mutex<()>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<NumberOrString>,
    #[serde(default)]
    expires_on: Option<NumberOrString>,
}

/// v1 sends numbers as strings, v2 as integers (`entra-oauth.md` §1).
#[derive(Deserialize)]
#[serde(untagged)]
enum NumberOrString {
    N(i64),
    S(String),
}

impl NumberOrString {
    fn value(&self) -> Option<i64> {
        match self {
            NumberOrString::N(n) => Some(*n),
            NumberOrString::S(s) => s.trim().parse().ok(),
        }
    }
}

fn canonical(tenant: &str) -> std::borrow::Cow<'_, str> {
    if tenant.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(tenant.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(tenant)
    }
}

impl TokenBroker {
    /// A broker over `http` (which carries any extra CA and timeouts).
    pub fn new(opts: BrokerOptions, http: reqwest::Client) -> Arc<Self> {
        let broker = Arc::new(Self {
            opts,
            http,
            slots: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
            file_lock: Mutex::new(()),
        });
        broker.load_file();
        broker
    }

    /// Token requests sent so far (retries included).
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The token endpoint for a tenant.
    pub fn token_endpoint(&self, tenant: &str) -> String {
        match self.opts.version {
            TokenVersion::V1 => format!("{}/{tenant}/oauth2/token", self.opts.authority),
            TokenVersion::V2 => format!("{}/{tenant}/oauth2/v2.0/token", self.opts.authority),
        }
    }

    /// The broker's default resource.
    pub fn resource(&self) -> &str {
        &self.opts.resource
    }

    fn file_key(&self, tenant: &str, resource: &str) -> String {
        format!(
            "{}|{}|{}|{}|{}",
            self.opts.cloud, self.opts.authority, tenant, self.opts.client_id, resource
        )
    }

    fn slot_key(resource: &str, tenant: &str) -> String {
        format!("{}\n{tenant}", resource.trim_end_matches('/'))
    }

    fn slot(&self, resource: &str, tenant: &str) -> Arc<Slot> {
        let key = Self::slot_key(resource, tenant);
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = slots.get(&key) {
            return s.clone();
        }
        slots.entry(key).or_default().clone()
    }

    /// A cached token for the default resource if one is usable now, without any I/O.
    pub fn cached(&self, tenant: &str) -> Option<Arc<AccessToken>> {
        self.cached_for(tenant, &self.opts.resource)
    }

    /// A cached token for `resource` if one is usable now, without any I/O.
    pub fn cached_for(&self, tenant: &str, resource: &str) -> Option<Arc<AccessToken>> {
        let key = Self::slot_key(resource, &canonical(tenant));
        let slot = self
            .slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)?
            .clone();
        slot.get().filter(|t| t.usable(OffsetDateTime::now_utc()))
    }

    /// A token for `tenant` (id or domain) and the default resource; `label` names the
    /// tenant in errors.
    pub async fn token(
        self: &Arc<Self>,
        tenant: &str,
        label: &str,
    ) -> Result<Arc<AccessToken>, AuthError> {
        let resource = self.opts.resource.clone();
        self.token_for(tenant, &resource, label).await
    }

    /// A token for `tenant` and `resource` (e.g. `https://graph.microsoft.com`), from the
    /// same credential, cache and refresh machinery as [`TokenBroker::token`].
    pub async fn token_for(
        self: &Arc<Self>,
        tenant: &str,
        resource: &str,
        label: &str,
    ) -> Result<Arc<AccessToken>, AuthError> {
        let tenant = canonical(tenant).into_owned();
        let resource = resource.to_owned();
        let slot = self.slot(&resource, &tenant);
        let now = OffsetDateTime::now_utc();
        if let Some(t) = slot.get().filter(|t| t.usable(now)) {
            if t.wants_refresh(now, self.opts.refresh_before)
                && !slot.refreshing.swap(true, Ordering::AcqRel)
            {
                let me = self.clone();
                let (slot2, tenant2, label2) = (slot.clone(), tenant.clone(), label.to_owned());
                let resource2 = resource.clone();
                tokio::spawn(async move {
                    let _g = slot2.fetch.lock().await;
                    match me.fetch(&tenant2, &resource2, &label2).await {
                        Ok(fresh) => slot2.set(Arc::new(fresh)),
                        Err(e) => {
                            tracing::warn!(tenant = %label2, error = %e, "background token refresh failed; the current token stays in use")
                        }
                    }
                    slot2.refreshing.store(false, Ordering::Release);
                });
            }
            return Ok(t);
        }
        let _g = slot.fetch.lock().await;
        if let Some(t) = slot.get().filter(|t| t.usable(OffsetDateTime::now_utc())) {
            return Ok(t);
        }
        let fresh = Arc::new(self.fetch(&tenant, &resource, label).await?);
        slot.set(fresh.clone());
        Ok(fresh)
    }

    async fn fetch(
        &self,
        tenant: &str,
        resource: &str,
        label: &str,
    ) -> Result<AccessToken, AuthError> {
        let url = self.token_endpoint(tenant);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let mut form: Vec<(&str, String)> = vec![
                ("grant_type", "client_credentials".into()),
                ("client_id", self.opts.client_id.clone()),
            ];
            match self.opts.version {
                TokenVersion::V1 => form.push(("resource", resource.to_owned())),
                TokenVersion::V2 => form.push((
                    "scope",
                    format!("{}/.default", resource.trim_end_matches('/')),
                )),
            }
            match self.opts.credential.as_ref() {
                ClientCredential::Secret(s) => form.push(("client_secret", s.expose().to_owned())),
                ClientCredential::Certificate(c) => {
                    form.push((
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
                    ));
                    form.push(("client_assertion", c.assertion(&self.opts.client_id, &url)?));
                }
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            let sent = OffsetDateTime::now_utc();
            let result = self
                .http
                .post(&url)
                .header("client-request-id", uuid::Uuid::new_v4().to_string())
                .form(&form)
                .send()
                .await;
            let resp = match result {
                Ok(r) => r,
                Err(e) => {
                    if attempt < self.opts.max_attempts {
                        tokio::time::sleep(self.backoff(attempt, None)).await;
                        continue;
                    }
                    return Err(AuthError::Network {
                        tenant: label.to_owned(),
                        url,
                        message: e.to_string(),
                    });
                }
            };
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let body = resp.text().await.unwrap_or_default();
            if status == 429 || status >= 500 {
                if attempt < self.opts.max_attempts {
                    tokio::time::sleep(self.backoff(attempt, retry_after)).await;
                    continue;
                }
                if let Some(f) = EntraFailure::parse(status, &body) {
                    return Err(AuthError::Entra {
                        tenant: label.to_owned(),
                        failure: f,
                    });
                }
                return Err(AuthError::Unavailable {
                    tenant: label.to_owned(),
                    status,
                    attempts: attempt,
                });
            }
            if status != 200 {
                return Err(match EntraFailure::parse(status, &body) {
                    Some(f) => AuthError::Entra {
                        tenant: label.to_owned(),
                        failure: f,
                    },
                    None => AuthError::Protocol {
                        tenant: label.to_owned(),
                        url,
                        status,
                        detail: "not an Entra error body".into(),
                    },
                });
            }
            let answer: TokenAnswer =
                serde_json::from_str(&body).map_err(|e| AuthError::Protocol {
                    tenant: label.to_owned(),
                    url: url.clone(),
                    status,
                    detail: format!("token response: {e}"),
                })?;
            let expires_on = match (
                answer.expires_on.as_ref().and_then(NumberOrString::value),
                answer.expires_in.as_ref().and_then(NumberOrString::value),
            ) {
                (Some(on), _) => OffsetDateTime::from_unix_timestamp(on).ok(),
                (None, Some(secs)) => Some(sent + time::Duration::seconds(secs)),
                (None, None) => None,
            }
            .ok_or_else(|| AuthError::Protocol {
                tenant: label.to_owned(),
                url: url.clone(),
                status,
                detail: "no expires_in".into(),
            })?;
            let token = AccessToken {
                token: Secret::new(answer.access_token),
                expires_on,
                received: sent,
            };
            self.save_file(tenant, resource, &token);
            return Ok(token);
        }
    }

    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let wait = retry_after.unwrap_or_else(|| {
            let base = Duration::from_millis(250) * 2u32.saturating_pow(attempt.saturating_sub(1));
            let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0]);
            base + Duration::from_millis(jitter)
        });
        wait.min(self.opts.max_retry_wait)
    }

    fn load_file(&self) {
        let Some(path) = &self.opts.cache_file else {
            return;
        };
        let Ok(text) = std::fs::read_to_string(path) else {
            return;
        };
        let Ok(file) = serde_json::from_str::<CacheFile>(&text) else {
            tracing::warn!(path = %path.display(), "token cache file is unreadable; starting empty");
            return;
        };
        if file.version != CACHE_VERSION {
            return;
        }
        let prefix = format!("{}|{}|", self.opts.cloud, self.opts.authority);
        let now = OffsetDateTime::now_utc();
        for (key, e) in file.tokens {
            // `tenant|client|resource` after the prefix; none of the three holds a `|`.
            let Some(rest) = key.strip_prefix(&prefix) else {
                continue;
            };
            let mut parts = rest.splitn(3, '|');
            let (Some(tenant), Some(client), Some(resource)) =
                (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            if client != self.opts.client_id {
                continue;
            }
            let (Ok(expires_on), Ok(received)) = (
                OffsetDateTime::from_unix_timestamp(e.expires_on),
                OffsetDateTime::from_unix_timestamp(e.received),
            ) else {
                continue;
            };
            // A token sealed under another credential (rotated secret) does not open: skip it.
            let Some(plain) = open_sealed(&self.opts.credential, &key, &e.sealed) else {
                continue;
            };
            let t = AccessToken {
                token: Secret::new(plain),
                expires_on,
                received,
            };
            if t.usable(now) {
                self.slot(resource, tenant).set(Arc::new(t));
            }
        }
    }

    /// Forgets `token` for `tenant` and the default resource (memory and cache file)
    /// after the API refused it (401: revoked consent, a signing key rolled over, a token
    /// cut short). The next [`TokenBroker::token`] call fetches a fresh one. A token
    /// already replaced by a newer one is left alone, so concurrent callers do not throw
    /// away each other's.
    pub fn invalidate(&self, tenant: &str, token: &Arc<AccessToken>) {
        self.invalidate_for(tenant, &self.opts.resource, token);
    }

    /// [`TokenBroker::invalidate`] for the token of `resource`.
    pub fn invalidate_for(&self, tenant: &str, resource: &str, token: &Arc<AccessToken>) {
        let tenant = canonical(tenant);
        let slot = self
            .slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&Self::slot_key(resource, &tenant))
            .cloned();
        if slot.is_some_and(|s| s.clear_if(token)) {
            self.forget_file(&tenant, resource);
        }
    }

    fn forget_file(&self, tenant: &str, resource: &str) {
        let Some(path) = &self.opts.cache_file else {
            return;
        };
        let _g = self.file_lock.lock().unwrap_or_else(|p| p.into_inner());
        let Some(mut file) = std::fs::read_to_string(path)
            .ok()
            .and_then(|t| serde_json::from_str::<CacheFile>(&t).ok())
        else {
            return;
        };
        if file
            .tokens
            .remove(&self.file_key(tenant, resource))
            .is_none()
        {
            return;
        }
        if let Ok(text) = serde_json::to_string(&file)
            && let Err(e) = crate::config::write_private(path, &text)
        {
            tracing::warn!(error = %e, "cannot write the token cache file");
        }
    }

    fn save_file(&self, tenant: &str, resource: &str, token: &AccessToken) {
        let Some(path) = &self.opts.cache_file else {
            return;
        };
        let _g = self.file_lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut file: CacheFile = std::fs::read_to_string(path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        if file.version != CACHE_VERSION {
            file = CacheFile::default();
        }
        file.version = CACHE_VERSION;
        let now = OffsetDateTime::now_utc().unix_timestamp();
        file.tokens.retain(|_, e| e.expires_on > now);
        let key = self.file_key(tenant, resource);
        let Some(sealed) = seal(&self.opts.credential, &key, token.token.expose()) else {
            return;
        };
        file.tokens.insert(
            key,
            CachedEntry {
                sealed,
                expires_on: token.expires_on.unix_timestamp(),
                received: token.received.unix_timestamp(),
            },
        );
        let text = match serde_json::to_string(&file) {
            Ok(t) => t,
            Err(_) => return,
        };
        if let Err(e) = crate::config::write_private(path, &text) {
            tracing::warn!(error = %e, "cannot write the token cache file");
        }
    }
}

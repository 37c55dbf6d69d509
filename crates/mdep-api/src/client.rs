//! The MDE client: one call for one tenant, with its token, the client-side limit,
//! and the retry policy (429 honours `Retry-After`; 5xx, timeouts and dropped
//! connections back off exponentially with jitter; a POST is never resent blindly).

use crate::entity::ErrorBody;
use crate::error::ApiError;
use crate::limit::{Bucket, Limiter, Limits};
use mdep_auth::TokenBroker;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A customer tenant as the client addresses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// The name rows and errors carry.
    pub name: String,
    /// Tenant id or domain, as the token endpoint takes it.
    pub id: String,
}

impl From<&mdep_auth::config::TenantEntry> for Tenant {
    fn from(t: &mdep_auth::config::TenantEntry) -> Self {
        Self {
            name: t.name.clone(),
            id: t.tenant.clone(),
        }
    }
}

/// How failed calls are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all for 5xx, timeouts and dropped connections (1 = no retry).
    pub max_attempts: u32,
    /// First backoff; it doubles each attempt, with jitter.
    pub base_delay: Duration,
    /// Longest backoff.
    pub max_delay: Duration,
    /// Longest `Retry-After` a 429 may ask for before the call fails.
    pub max_retry_wait: Duration,
    /// 429s in a row before the call fails.
    pub max_throttled: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_wait: Duration::from_secs(600),
            max_throttled: 20,
        }
    }
}

impl RetryPolicy {
    /// The backoff before retry number `attempt` (1-based): exponential, with the
    /// upper half jittered so tenants retrying together spread out.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(20)));
        let d = exp.min(self.max_delay);
        d / 2 + d.mul_f64(fastrand::f64() / 2.0)
    }
}

/// `MdePartner-{Company}-{Product}/{Version}`, the form MDE asks partners to send.
pub fn user_agent(company: &str, product: &str, version: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_'))
            .collect()
    };
    format!(
        "MdePartner-{}-{}/{}",
        clean(company),
        clean(product),
        clean(version)
    )
}

/// Which API a [`Client`] speaks: whose error bodies it reads and whose token it asks
/// for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// The MDE API (`{"error":{"code","message","target"}}`).
    #[default]
    Mde,
    /// Microsoft Graph (`{"error":{"code","message","innerError":{…}}}`).
    Graph,
}

/// How a [`Client`] behaves.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// API base, e.g. `https://api.securitycenter.microsoft.com`.
    pub base_url: String,
    /// The token resource; `None` is the broker's default resource.
    pub resource: Option<String>,
    /// Whose API this is.
    pub dialect: Dialect,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// Client-side limits per tenant; `None` turns the limiter off.
    pub limits: Option<Limits>,
    /// Retries.
    pub retry: RetryPolicy,
    /// Items asked for per request when paging (`$top`, at most 10,000).
    pub page_size: u64,
}

impl ClientOptions {
    /// Defaults for `base_url`: MDE's quotas, 10,000-item pages.
    pub fn new(base_url: &str) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            resource: None,
            dialect: Dialect::Mde,
            user_agent: user_agent("mdep", "mdep", env!("CARGO_PKG_VERSION")),
            limits: Some(Limits::default()),
            retry: RetryPolicy::default(),
            page_size: 10_000,
        }
    }

    /// Options from the configuration file's `api_base` and `[api]` table.
    pub fn from_config(c: &mdep_auth::Config) -> Self {
        let mut o = Self::new(&c.api_base());
        let a = &c.api;
        o.user_agent = user_agent(
            a.company.as_deref().unwrap_or("mdep"),
            a.product.as_deref().unwrap_or("mdep"),
            a.product_version
                .as_deref()
                .unwrap_or(env!("CARGO_PKG_VERSION")),
        );
        let d = Limits::default();
        o.limits = Some(Limits {
            per_minute: a.calls_per_minute.unwrap_or(d.per_minute),
            per_hour: a.calls_per_hour.unwrap_or(d.per_hour),
            hunting_per_minute: a.hunting_calls_per_minute.unwrap_or(d.hunting_per_minute),
            hunting_per_hour: a.hunting_calls_per_hour.unwrap_or(d.hunting_per_hour),
        });
        if let Some(s) = a.max_retry_wait_seconds {
            o.retry.max_retry_wait = Duration::from_secs(s);
        }
        if let Some(n) = a.max_attempts {
            o.retry.max_attempts = n.max(1);
        }
        if let Some(n) = a.page_size {
            o.page_size = n.clamp(1, 10_000);
        }
        o
    }
}

/// What the client did, for summaries and tests.
#[derive(Debug, Default)]
pub struct Counters {
    /// Requests sent.
    pub requests: AtomicU64,
    /// 429s received.
    pub throttled: AtomicU64,
    /// Retries made.
    pub retries: AtomicU64,
}

struct Inner {
    http: reqwest::Client,
    broker: Arc<TokenBroker>,
    opts: ClientOptions,
    limiter: Option<Limiter>,
    counters: Counters,
}

/// The MDE API for any number of tenants. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

/// One request.
pub(crate) struct Call<'a> {
    pub method: Method,
    pub url: String,
    pub body: Option<&'a Value>,
    pub bucket: Bucket,
}

fn is_idempotent(m: &Method) -> bool {
    matches!(
        *m,
        Method::GET | Method::HEAD | Method::DELETE | Method::PUT
    )
}

/// Percent-encodes a query value; OData's punctuation stays readable.
fn encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~'(),:$".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn retry_after(h: &reqwest::header::HeaderMap) -> Option<Duration> {
    h.get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

fn origin(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let end = rest.find('/').unwrap_or(rest.len());
    Some(&url[..url.len() - rest.len() + end])
}

impl Client {
    /// A client over an HTTP client (`mdep_auth::http_client`) and a token broker.
    pub fn new(http: reqwest::Client, broker: Arc<TokenBroker>, opts: ClientOptions) -> Self {
        let limiter = opts.limits.map(Limiter::new);
        Self {
            inner: Arc::new(Inner {
                http,
                broker,
                opts,
                limiter,
                counters: Counters::default(),
            }),
        }
    }

    /// The options in force.
    pub fn options(&self) -> &ClientOptions {
        &self.inner.opts
    }

    /// What the client did so far.
    pub fn counters(&self) -> &Counters {
        &self.inner.counters
    }

    /// `base + path`, with query pairs encoded.
    pub fn url(&self, path: &str, pairs: &[(String, String)]) -> String {
        let mut u = if path.starts_with("https://") || path.starts_with("http://") {
            path.to_owned()
        } else {
            format!(
                "{}/{}",
                self.inner.opts.base_url,
                path.trim_start_matches('/')
            )
        };
        for (i, (k, v)) in pairs.iter().enumerate() {
            let sep = if i == 0 && !u.contains('?') { '?' } else { '&' };
            u.push(sep);
            u.push_str(&encode(k));
            u.push('=');
            u.push_str(&encode(v));
        }
        u
    }

    /// Whether a link the service returned may be called with a tenant's token: only
    /// on the configured API host.
    pub fn trusted(&self, link: &str) -> bool {
        origin(link).is_some_and(|o| {
            origin(&self.inner.opts.base_url).is_some_and(|b| b.eq_ignore_ascii_case(o))
        })
    }

    /// GET and decode.
    pub async fn get<T: DeserializeOwned>(&self, t: &Tenant, path: &str) -> Result<T, ApiError> {
        let url = self.url(path, &[]);
        let bytes = self
            .call(
                t,
                Call {
                    method: Method::GET,
                    url: url.clone(),
                    body: None,
                    bucket: Bucket::General,
                },
            )
            .await?;
        decode(t, &url, &bytes)
    }

    /// Any call; the body of a 2xx answer (empty for 204).
    pub async fn raw(
        &self,
        t: &Tenant,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Vec<u8>, ApiError> {
        let lower = path.to_ascii_lowercase();
        let bucket = if lower.contains("advancedqueries/run") || lower.contains("runhuntingquery") {
            Bucket::Hunting
        } else {
            Bucket::General
        };
        self.call(
            t,
            Call {
                method,
                url: self.url(path, &[]),
                body,
                bucket,
            },
        )
        .await
    }

    /// POST/PATCH a JSON body and decode the answer.
    pub async fn send_json<T: DeserializeOwned>(
        &self,
        t: &Tenant,
        method: Method,
        path: &str,
        body: &Value,
    ) -> Result<T, ApiError> {
        let url = self.url(path, &[]);
        let bytes = self.raw(t, method, path, Some(body)).await?;
        decode(t, &url, &bytes)
    }

    /// One call with the limiter and the retry policy.
    pub(crate) async fn call(&self, t: &Tenant, c: Call<'_>) -> Result<Vec<u8>, ApiError> {
        let inner = &self.inner;
        let policy = inner.opts.retry;
        // A hunting query is a POST that only reads: safe to send again.
        let idempotent = is_idempotent(&c.method) || c.bucket == Bucket::Hunting;
        let (mut failures, mut throttled) = (0u32, 0u32);
        let mut refreshed = false;
        loop {
            if let Some(l) = &inner.limiter {
                l.acquire(&t.id, c.bucket).await;
            }
            let token = match &inner.opts.resource {
                Some(r) => inner.broker.token_for(&t.id, r, &t.name).await?,
                None => inner.broker.token(&t.id, &t.name).await?,
            };
            let mut req = inner
                .http
                .request(c.method.clone(), &c.url)
                .bearer_auth(token.token.expose())
                .header(reqwest::header::USER_AGENT, &inner.opts.user_agent);
            if let Some(b) = c.body {
                req = req.json(b);
            }
            inner.counters.requests.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(tenant = %t.name, method = %c.method, url = %c.url, api = ?inner.opts.dialect, "API call");
            let outcome = match req.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let after = retry_after(resp.headers());
                    match resp.bytes().await {
                        Ok(b) => Ok((status, after, b.to_vec())),
                        Err(e) => {
                            Err((format!("connection dropped reading the answer: {e}"), false))
                        }
                    }
                }
                // A request that never reached the server can be sent again, even a POST.
                Err(e) => Err((describe(&e), e.is_connect())),
            };
            let retry_in = match outcome {
                Ok((status, _, body)) if (200..300).contains(&status) => return Ok(body),
                Ok((429, after, body)) => {
                    inner.counters.throttled.fetch_add(1, Ordering::Relaxed);
                    throttled += 1;
                    let wait = after.unwrap_or_else(|| policy.backoff(throttled));
                    if wait > policy.max_retry_wait {
                        return Err(ApiError::Throttled {
                            tenant: t.name.clone(),
                            retry_after: wait,
                            max: policy.max_retry_wait,
                        });
                    }
                    if throttled >= policy.max_throttled {
                        return Err(self.error(t, 429, &body));
                    }
                    tracing::info!(tenant = %t.name, wait_s = wait.as_secs_f64(), "429 TooManyRequests; waiting as Retry-After asks");
                    if let Some(l) = &inner.limiter {
                        l.pause(&t.id, wait);
                    }
                    // A 429 was refused before it was carried out: safe for any method.
                    wait
                }
                // A token the API no longer accepts (consent revoked and granted again, a
                // signing key rolled over, a token cut short): refused before anything was
                // carried out, so any method may go again, once, with a fresh token.
                Ok((401, _, body)) if !refreshed => {
                    refreshed = true;
                    match &inner.opts.resource {
                        Some(r) => inner.broker.invalidate_for(&t.id, r, &token),
                        None => inner.broker.invalidate(&t.id, &token),
                    }
                    tracing::info!(tenant = %t.name, error = %self.error(t, 401, &body), "401 Unauthorized; retrying once with a fresh token");
                    Duration::ZERO
                }
                Ok((status @ (500 | 502 | 503 | 504), after, body)) => {
                    let err = self.error(t, status, &body);
                    if !idempotent {
                        return Err(ApiError::Uncertain {
                            tenant: t.name.clone(),
                            message: err.to_string(),
                        });
                    }
                    failures += 1;
                    if failures >= policy.max_attempts {
                        return Err(ApiError::Unavailable {
                            tenant: t.name.clone(),
                            message: err.to_string(),
                            attempts: failures,
                        });
                    }
                    policy
                        .backoff(failures)
                        .max(after.unwrap_or_default().min(policy.max_retry_wait))
                }
                Ok((status, _, body)) => return Err(self.error(t, status, &body)),
                Err((message, unsent)) => {
                    if !idempotent && !unsent {
                        return Err(ApiError::Uncertain {
                            tenant: t.name.clone(),
                            message,
                        });
                    }
                    failures += 1;
                    if failures >= policy.max_attempts {
                        return Err(ApiError::Unavailable {
                            tenant: t.name.clone(),
                            message,
                            attempts: failures,
                        });
                    }
                    policy.backoff(failures)
                }
            };
            inner.counters.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(retry_in).await;
        }
    }
}

impl Client {
    /// An error answer in this client's dialect.
    pub(crate) fn error(&self, t: &Tenant, status: u16, body: &[u8]) -> ApiError {
        match self.inner.opts.dialect {
            Dialect::Mde => mde_error(t, status, body),
            Dialect::Graph => crate::graph::graph_error(t, status, body),
        }
    }
}

fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut s = format!("{kind}: {e}");
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(&format!(": {inner}"));
        src = inner.source();
    }
    s
}

/// An error answer as [`ApiError::Mde`], from MDE's body or, failing that, the status.
pub(crate) fn mde_error(t: &Tenant, status: u16, body: &[u8]) -> ApiError {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(b) => ApiError::Mde {
            tenant: t.name.clone(),
            status,
            code: b.error.code,
            message: b.error.message,
            target: b.error.target,
        },
        Err(_) => ApiError::Mde {
            tenant: t.name.clone(),
            status,
            code: reqwest::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("Error")
                .replace(' ', ""),
            message: String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned(),
            target: None,
        },
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agent_has_the_partner_form() {
        assert_eq!(
            user_agent("Fabrikam", "SOC Connector", "2.1.0"),
            "MdePartner-Fabrikam-SOCConnector/2.1.0"
        );
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let p = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            ..RetryPolicy::default()
        };
        for _ in 0..100 {
            let d1 = p.backoff(1);
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
            let d3 = p.backoff(3);
            assert!(d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(400));
            let d10 = p.backoff(10);
            assert!(d10 >= Duration::from_millis(500) && d10 <= Duration::from_secs(1));
        }
        let spread: std::collections::HashSet<_> = (0..20).map(|_| p.backoff(4)).collect();
        assert!(spread.len() > 1, "jittered");
    }

    #[test]
    fn query_values_are_encoded_readably() {
        assert_eq!(
            encode("severity eq 'High' and x/any(t: t eq 'a&b')"),
            "severity%20eq%20'High'%20and%20x%2Fany(t:%20t%20eq%20'a%26b')"
        );
    }

    #[test]
    fn links_elsewhere_are_not_trusted() {
        assert_eq!(origin("https://h:1/api/x?y=1"), Some("https://h:1"));
        assert_eq!(origin("https://h"), Some("https://h"));
        assert_eq!(origin("nope"), None);
    }
}

//! One call for one tenant, in either dialect: the tenant's token for the client's
//! resource, the client-side limit, and the retry policy (429 honours `Retry-After`;
//! 5xx, timeouts and dropped connections back off exponentially with jitter; a 401 is
//! retried once with a fresh token; a POST or PATCH is never resent blindly once it may
//! have been carried out, unless its caller says sending it again is harmless).

use super::decode::{decode, error};
use super::form::{Body, Multipart};
use super::limit::{Bucket, Limiter};
use super::options::ClientOptions;
use super::url::{join, same_origin};
use crate::error::ApiError;
use crate::tenant::Tenant;
use mdep_auth::{AccessToken, TokenBroker};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

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

/// The MDE API (or, with Graph options, Microsoft Graph) for any number of tenants.
/// Cheap to clone.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

/// One request.
struct Call<'a> {
    method: Method,
    url: String,
    body: Option<Body<'a>>,
    bucket: Bucket,
    /// Sending it again after it may have been carried out changes nothing more (an
    /// upsert): it is resent like a GET.
    repeatable: bool,
    /// A link that carries its own signature (a SAS URL): sent without the tenant's
    /// token, outside the API's quota.
    signed: bool,
}

/// What one attempt came to.
enum Answer {
    /// The service answered: status, `Retry-After`, body.
    Status(u16, Option<Duration>, bytes::Bytes),
    /// A 2xx answer whose body the caller reads as it arrives.
    Open(reqwest::Response),
    /// No answer; `unsent` when the request never reached the server.
    Lost { message: String, unsent: bool },
}

/// What a call came to: a 2xx body, or a 2xx answer with its body unread.
enum Reply {
    Body(bytes::Bytes),
    Open(reqwest::Response),
}

fn is_idempotent(m: &Method) -> bool {
    matches!(
        *m,
        Method::GET | Method::HEAD | Method::DELETE | Method::PUT
    )
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

/// A link without its query (where a SAS link carries its signature).
fn unsigned(link: &str) -> &str {
    link.split_once('?').map_or(link, |(path, _)| path)
}

pub(crate) fn describe(e: &reqwest::Error) -> String {
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
        join(&self.inner.opts.base_url, path, pairs)
    }

    /// Whether a link the service returned may be called with a tenant's token: only
    /// on the configured API host.
    pub fn trusted(&self, link: &str) -> bool {
        same_origin(link, &self.inner.opts.base_url)
    }

    /// GET and decode.
    pub async fn get<T: DeserializeOwned>(&self, t: &Tenant, path: &str) -> Result<T, ApiError> {
        let url = self.url(path, &[]);
        let bytes = self.fetch(t, &url).await?;
        decode(t, &url, &bytes)
    }

    /// GET a full URL against the general quota; the body of the answer.
    pub(crate) async fn fetch(&self, t: &Tenant, url: &str) -> Result<Vec<u8>, ApiError> {
        self.call(t, Self::get_call(url)).await
    }

    /// GET on the API with the tenant's token, like [`Client::fetch`], but a 2xx
    /// answer comes back before its body: the caller reads it as it arrives (a page of
    /// a list). Retries cover everything up to the status; a body cut short is the
    /// caller's to fetch again.
    pub(crate) async fn fetch_open(
        &self,
        t: &Tenant,
        url: &str,
    ) -> Result<reqwest::Response, ApiError> {
        match self.call_with(t, Self::get_call(url), true).await? {
            Reply::Open(resp) => Ok(resp),
            // Not reached: an open call answers 2xx with the response.
            Reply::Body(_) => Err(ApiError::Invalid(format!("{url}: no answer to read"))),
        }
    }

    /// The retry policy this client runs with.
    pub(crate) fn retry_policy(&self) -> super::options::RetryPolicy {
        self.inner.opts.retry
    }

    /// Counts a retry made outside [`Client::call`] (a page read again).
    pub(crate) fn count_retry(&self) {
        self.inner.counters.retries.fetch_add(1, Ordering::Relaxed);
    }

    fn get_call(url: &str) -> Call<'static> {
        Call {
            method: Method::GET,
            url: url.to_owned(),
            body: None,
            bucket: Bucket::General,
            repeatable: true,
            signed: false,
        }
    }

    /// GET a link that carries its own signature (an investigation package, a live
    /// response result, an export file): the tenant's token is never sent with it, and
    /// it is retried like any GET. Only `https` links are followed (or links on the
    /// configured API host, which an emulator may serve over plain HTTP).
    pub async fn fetch_signed(&self, t: &Tenant, link: &str) -> Result<Vec<u8>, ApiError> {
        if !link.starts_with("https://") && !self.trusted(link) {
            return Err(ApiError::Invalid(format!(
                "not following the link {}: a signed link must be https",
                unsigned(link)
            )));
        }
        self.call(
            t,
            Call {
                method: Method::GET,
                url: link.to_owned(),
                body: None,
                bucket: Bucket::General,
                repeatable: true,
                signed: true,
            },
        )
        .await
    }

    /// Any call; the body of a 2xx answer (empty for 204). A hunting path counts against
    /// the hunting quota too.
    pub async fn raw(
        &self,
        t: &Tenant,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Vec<u8>, ApiError> {
        self.body_call(t, method, path, body.map(Body::Json), false)
            .await
    }

    /// POST a `multipart/form-data` form (a file upload) and decode the answer. Every
    /// attempt sends the same bytes; like any POST it is not sent again once it may have
    /// been carried out ([`ApiError::Uncertain`]).
    pub async fn send_form<T: DeserializeOwned>(
        &self,
        t: &Tenant,
        path: &str,
        form: &Multipart,
    ) -> Result<T, ApiError> {
        let bytes = self
            .body_call(t, Method::POST, path, Some(Body::Form(form)), false)
            .await?;
        decode(t, &self.url(path, &[]), &bytes)
    }

    async fn body_call(
        &self,
        t: &Tenant,
        method: Method,
        path: &str,
        body: Option<Body<'_>>,
        repeatable: bool,
    ) -> Result<Vec<u8>, ApiError> {
        self.call(
            t,
            Call {
                method,
                url: self.url(path, &[]),
                body,
                bucket: Bucket::of_path(path),
                repeatable,
                signed: false,
            },
        )
        .await
    }

    /// POST/PATCH a JSON body whose second arrival changes nothing the first did not
    /// (an upsert such as `POST /api/indicators`), and decode the answer: after a 5xx,
    /// a timeout or a lost answer it is sent again like a GET, where [`Client::send_json`]
    /// stops with [`ApiError::Uncertain`].
    pub async fn send_json_repeatable<T: DeserializeOwned>(
        &self,
        t: &Tenant,
        method: Method,
        path: &str,
        body: &Value,
    ) -> Result<T, ApiError> {
        let bytes = self
            .body_call(t, method, path, Some(Body::Json(body)), true)
            .await?;
        decode(t, &self.url(path, &[]), &bytes)
    }

    /// POST/PATCH a JSON body and decode the answer.
    pub async fn send_json<T: DeserializeOwned>(
        &self,
        t: &Tenant,
        method: Method,
        path: &str,
        body: &Value,
    ) -> Result<T, ApiError> {
        let bytes = self
            .body_call(t, method, path, Some(Body::Json(body)), false)
            .await?;
        decode(t, &self.url(path, &[]), &bytes)
    }

    /// An error answer in this client's dialect.
    fn error(&self, t: &Tenant, status: u16, body: &[u8]) -> ApiError {
        error(self.inner.opts.dialect, t, status, body)
    }

    /// The token resource: the client's, else the broker's default.
    fn resource(&self) -> &str {
        let inner = &self.inner;
        inner
            .opts
            .resource
            .as_deref()
            .unwrap_or_else(|| inner.broker.resource())
    }

    /// One call with the limiter and the retry policy; the body of its 2xx answer.
    async fn call(&self, t: &Tenant, c: Call<'_>) -> Result<Vec<u8>, ApiError> {
        match self.call_with(t, c, false).await? {
            Reply::Body(b) => Ok(Vec::from(b)),
            // Not reached: only an open call answers with the response.
            Reply::Open(resp) => Ok(resp.bytes().await.map(Vec::from).unwrap_or_default()),
        }
    }

    /// One call with the limiter and the retry policy: the 2xx answer's body, or with
    /// `open` the answer itself, its body unread.
    async fn call_with(&self, t: &Tenant, c: Call<'_>, open: bool) -> Result<Reply, ApiError> {
        let inner = &self.inner;
        let policy = inner.opts.retry;
        // A hunting query is a POST that only reads: safe to send again.
        let idempotent = is_idempotent(&c.method) || c.bucket == Bucket::Hunting || c.repeatable;
        let (mut failures, mut throttled) = (0u32, 0u32);
        let mut refreshed = false;
        loop {
            if let Some(l) = inner.limiter.as_ref().filter(|_| !c.signed) {
                l.acquire(&t.id, c.bucket).await;
            }
            let token = match &inner.opts.bearer {
                _ if c.signed => None,
                Some(b) => Some(Arc::new(AccessToken {
                    token: b.clone(),
                    expires_on: time::OffsetDateTime::now_utc(),
                    received: time::OffsetDateTime::now_utc(),
                })),
                None => Some(
                    inner
                        .broker
                        .token_for(&t.id, self.resource(), &t.name)
                        .await?,
                ),
            };
            let retry_in = match self.attempt(t, &c, token.as_deref(), open).await {
                Answer::Open(resp) => return Ok(Reply::Open(resp)),
                Answer::Status(status, _, body) if (200..300).contains(&status) => {
                    return Ok(Reply::Body(body));
                }
                Answer::Status(429, after, body) => {
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
                    if let Some(l) = inner.limiter.as_ref().filter(|_| !c.signed) {
                        l.pause(&t.id, wait);
                    }
                    // A 429 was refused before it was carried out: safe for any method.
                    wait
                }
                // A token the API no longer accepts (consent revoked and granted again, a
                // signing key rolled over, a token cut short): refused before anything was
                // carried out, so any method may go again, once, with a fresh token.
                Answer::Status(401, _, body) if !refreshed && inner.opts.bearer.is_none() => {
                    let Some(token) = &token else {
                        return Err(self.error(t, 401, &body));
                    };
                    refreshed = true;
                    inner.broker.invalidate_for(&t.id, self.resource(), token);
                    tracing::info!(tenant = %t.name, error = %self.error(t, 401, &body), "401 Unauthorized; retrying once with a fresh token");
                    Duration::ZERO
                }
                Answer::Status(status @ (500 | 502 | 503 | 504), after, body) => {
                    let message = self.error(t, status, &body).to_string();
                    self.failed(t, message, idempotent, after, &mut failures)?
                }
                Answer::Status(status, _, body) => return Err(self.error(t, status, &body)),
                // A request that never reached the server can be sent again, even a POST.
                Answer::Lost { message, unsent } => {
                    self.failed(t, message, idempotent || unsent, None, &mut failures)?
                }
            };
            inner.counters.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(retry_in).await;
        }
    }

    /// Sends the request once; with `open`, a 2xx answer comes back unread.
    async fn attempt(
        &self,
        t: &Tenant,
        c: &Call<'_>,
        token: Option<&AccessToken>,
        open: bool,
    ) -> Answer {
        let inner = &self.inner;
        let mut req = inner
            .http
            .request(c.method.clone(), &c.url)
            .header(reqwest::header::USER_AGENT, &inner.opts.user_agent);
        if let Some(token) = token {
            req = req.bearer_auth(token.token.expose());
        }
        match c.body {
            Some(Body::Json(b)) => req = req.json(b),
            Some(Body::Form(f)) => {
                req = req
                    .header(reqwest::header::CONTENT_TYPE, f.content_type())
                    .body(f.to_bytes());
            }
            None => {}
        }
        inner.counters.requests.fetch_add(1, Ordering::Relaxed);
        // A signed link's query is its credential: never logged nor put in an error.
        let url = if c.signed { unsigned(&c.url) } else { &c.url };
        tracing::debug!(tenant = %t.name, method = %c.method, %url, api = ?inner.opts.dialect, "API call");
        let scrub = |e: reqwest::Error| if c.signed { e.without_url() } else { e };
        match req.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                if open && (200..300).contains(&status) {
                    return Answer::Open(resp);
                }
                let after = retry_after(resp.headers());
                match resp.bytes().await {
                    Ok(b) => Answer::Status(status, after, b),
                    Err(e) => Answer::Lost {
                        message: format!("connection dropped reading the answer: {}", scrub(e)),
                        unsent: false,
                    },
                }
            }
            Err(e) => Answer::Lost {
                unsent: e.is_connect(),
                message: describe(&scrub(e)),
            },
        }
    }

    /// After a 5xx or no answer: how long to wait before the next attempt, or why the
    /// call ends here — it may have been carried out (`resendable` is false), or the
    /// attempts allowed are spent.
    fn failed(
        &self,
        t: &Tenant,
        message: String,
        resendable: bool,
        after: Option<Duration>,
        failures: &mut u32,
    ) -> Result<Duration, ApiError> {
        let policy = self.inner.opts.retry;
        if !resendable {
            return Err(ApiError::Uncertain {
                tenant: t.name.clone(),
                message,
            });
        }
        *failures += 1;
        if *failures >= policy.max_attempts {
            return Err(ApiError::Unavailable {
                tenant: t.name.clone(),
                message,
                attempts: *failures,
            });
        }
        Ok(policy
            .backoff(*failures)
            .max(after.unwrap_or_default().min(policy.max_retry_wait)))
    }
}

//! How a client behaves: the API base and token resource, whose dialect it speaks, the
//! User-Agent, the client-side limits, the retry policy and the page size.

use super::limit::Limits;
use std::time::Duration;

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

/// Which API a client speaks: whose error bodies it reads and whose token it asks
/// for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// The MDE API (`{"error":{"code","message","target"}}`).
    #[default]
    Mde,
    /// Microsoft Graph (`{"error":{"code","message","innerError":{…}}}`).
    Graph,
}

/// How a client behaves.
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
    /// A bearer token given outright (e.g. `--bootstrap-token -`): sent instead of one
    /// from the broker, and never refreshed.
    pub bearer: Option<mdep_auth::Secret>,
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
            bearer: None,
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
}

//! A client-side limiter per tenant that keeps within MDE's quotas (§6.1: 100 calls a
//! minute and 1,500 an hour; advanced hunting 45 a minute on top), so a fan-out over
//! many tenants never earns its own 429s. Windows slide, like the service's.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// A call counts a little longer here than at the service, which sees it only when it
/// arrives: without the slack, the call that fills a window freed by the clock could
/// reach the service a few milliseconds too early.
const SLACK: Duration = Duration::from_secs(2);
const MINUTE: Duration = Duration::from_secs(60 + SLACK.as_secs());
const HOUR: Duration = Duration::from_secs(3600 + SLACK.as_secs());

/// Calls allowed per tenant; `0` means no limit for that window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Calls a minute.
    pub per_minute: u32,
    /// Calls an hour.
    pub per_hour: u32,
    /// Advanced hunting calls a minute (counted in the general limits too).
    pub hunting_per_minute: u32,
    /// Advanced hunting calls an hour.
    pub hunting_per_hour: u32,
}

impl Default for Limits {
    /// MDE's documented quotas.
    fn default() -> Self {
        Self {
            per_minute: 100,
            per_hour: 1500,
            hunting_per_minute: 45,
            hunting_per_hour: 1500,
        }
    }
}

/// Which quota a call counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// Every call.
    General,
    /// Advanced hunting (MDE's `/api/advancedqueries/run`, Graph's `runHuntingQuery`):
    /// the general quota and the hunting one.
    Hunting,
}

/// The paths of advanced hunting, in lower case: MDE's and Microsoft Graph's.
const HUNTING_PATHS: &[&str] = &["advancedqueries/run", "runhuntingquery"];

impl Bucket {
    /// The quota a call to `path` counts against.
    pub fn of_path(path: &str) -> Self {
        let lower = path.to_ascii_lowercase();
        if HUNTING_PATHS.iter().any(|p| lower.contains(p)) {
            Self::Hunting
        } else {
            Self::General
        }
    }
}

#[derive(Default)]
struct Window {
    /// Start times of the calls of the last hour, oldest first.
    calls: VecDeque<Instant>,
    /// No call before this: the service said so with a 429's `Retry-After`.
    paused_until: Option<Instant>,
}

impl Window {
    fn purge(&mut self, now: Instant) {
        while self
            .calls
            .front()
            .is_some_and(|t| now.duration_since(*t) >= HOUR)
        {
            self.calls.pop_front();
        }
    }

    /// How long until one more call fits, or zero.
    fn wait(&self, now: Instant, per_minute: u32, per_hour: u32) -> Duration {
        let mut wait = Duration::ZERO;
        if per_hour > 0 && self.calls.len() >= per_hour as usize {
            let oldest = self.calls[self.calls.len() - per_hour as usize];
            wait = wait.max(HOUR.saturating_sub(now.duration_since(oldest)));
        }
        if per_minute > 0 {
            let in_minute = self
                .calls
                .iter()
                .rev()
                .take_while(|t| now.duration_since(**t) < MINUTE)
                .count();
            if in_minute >= per_minute as usize {
                let oldest = self.calls[self.calls.len() - per_minute as usize];
                wait = wait.max(MINUTE.saturating_sub(now.duration_since(oldest)));
            }
        }
        wait
    }
}

/// Sliding-window call limits per tenant.
pub struct Limiter {
    limits: Limits,
    windows: Mutex<HashMap<(String, Bucket), Window>>,
}

impl Limiter {
    /// A limiter with these limits.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Waits until a call for `tenant` fits in its windows, then counts it.
    /// Returns how long it waited.
    pub async fn acquire(&self, tenant: &str, bucket: Bucket) -> Duration {
        let start = Instant::now();
        loop {
            let wait = self.try_acquire(tenant, bucket, Instant::now());
            if wait.is_zero() {
                return start.elapsed();
            }
            tracing::debug!(
                tenant,
                ?bucket,
                wait_ms = wait.as_millis() as u64,
                "client-side limit reached; waiting"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// Holds every call for `tenant` for `wait`: after a 429, the tenant's other calls
    /// in flight wait too instead of each earning its own.
    pub fn pause(&self, tenant: &str, wait: Duration) {
        let until = Instant::now() + wait;
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let w = windows
            .entry((tenant.to_ascii_lowercase(), Bucket::General))
            .or_default();
        w.paused_until = Some(w.paused_until.map_or(until, |u| u.max(until)));
    }

    /// Counts a call if it fits now, else says how long to wait.
    fn try_acquire(&self, tenant: &str, bucket: Bucket, now: Instant) -> Duration {
        let key = tenant.to_ascii_lowercase();
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let l = self.limits;
        let general = windows.entry((key.clone(), Bucket::General)).or_default();
        general.purge(now);
        let mut wait = general.wait(now, l.per_minute, l.per_hour);
        if let Some(until) = general.paused_until {
            wait = wait.max(until.saturating_duration_since(now));
        }
        if bucket == Bucket::Hunting {
            let hunting = windows.entry((key.clone(), Bucket::Hunting)).or_default();
            hunting.purge(now);
            wait = wait.max(hunting.wait(now, l.hunting_per_minute, l.hunting_per_hour));
        }
        if !wait.is_zero() {
            // Wake a little after the slot frees, never in a busy loop.
            return wait.max(Duration::from_millis(5));
        }
        let buckets: &[Bucket] = match bucket {
            Bucket::General => &[Bucket::General],
            Bucket::Hunting => &[Bucket::General, Bucket::Hunting],
        };
        for b in buckets {
            if let Some(w) = windows.get_mut(&(key.clone(), *b)) {
                w.calls.push_back(now);
            }
        }
        Duration::ZERO
    }
}

#[cfg(test)]
mod tests;

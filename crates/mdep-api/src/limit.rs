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
    /// `/api/advancedqueries/run`: the general quota and the hunting one.
    Hunting,
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
mod tests {
    use super::*;

    fn limits(per_minute: u32, per_hour: u32) -> Limits {
        Limits {
            per_minute,
            per_hour,
            hunting_per_minute: 2,
            hunting_per_hour: 100,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn calls_beyond_the_minute_wait_for_the_window_to_slide() {
        let l = Limiter::new(limits(3, 100));
        for _ in 0..3 {
            assert_eq!(l.acquire("t", Bucket::General).await, Duration::ZERO);
        }
        let waited = l.acquire("t", Bucket::General).await;
        assert!(
            waited >= Duration::from_secs(60) && waited <= MINUTE,
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn tenants_have_their_own_windows() {
        let l = Limiter::new(limits(1, 100));
        assert_eq!(l.acquire("a", Bucket::General).await, Duration::ZERO);
        assert_eq!(l.acquire("B", Bucket::General).await, Duration::ZERO);
        assert!(l.acquire("A", Bucket::General).await >= Duration::from_secs(59));
    }

    #[tokio::test(start_paused = true)]
    async fn the_hour_limit_holds_across_minutes() {
        let l = Limiter::new(limits(0, 5));
        for _ in 0..5 {
            l.acquire("t", Bucket::General).await;
            tokio::time::advance(Duration::from_secs(61)).await;
        }
        let waited = l.acquire("t", Bucket::General).await;
        // The first call was 5 × 61 s ago; it leaves the hour window after 3600 s.
        assert!(
            waited >= Duration::from_secs(3600 - 305) && waited <= HOUR - Duration::from_secs(305),
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_every_call_of_the_tenant() {
        let l = Limiter::new(limits(100, 1000));
        l.pause("T", Duration::from_secs(30));
        let waited = l.acquire("t", Bucket::General).await;
        assert!(
            waited >= Duration::from_secs(30) && waited < Duration::from_secs(31),
            "{waited:?}"
        );
        assert_eq!(l.acquire("other", Bucket::General).await, Duration::ZERO);
        assert_eq!(
            l.acquire("t", Bucket::General).await,
            Duration::ZERO,
            "the pause is over"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn hunting_counts_against_both_quotas() {
        let l = Limiter::new(limits(3, 100));
        assert_eq!(l.acquire("t", Bucket::Hunting).await, Duration::ZERO);
        assert_eq!(l.acquire("t", Bucket::Hunting).await, Duration::ZERO);
        // The hunting minute is full; general calls still pass.
        assert_eq!(l.acquire("t", Bucket::General).await, Duration::ZERO);
        assert!(l.acquire("t", Bucket::Hunting).await >= Duration::from_secs(59));
        // The general minute is full now (3 calls plus the delayed hunt after it slid).
        let w = l.windows.lock().expect("lock");
        assert!(w[&("t".to_owned(), Bucket::General)].calls.len() == 4);
    }
}

//! MDE's call quotas per (tenant, app): by default 100 calls a minute and 1,500 an hour
//! (`mde-api.md` §6.1), counted over sliding windows. Refused calls do not count.
//!
//! Calls are kept as one entry per second that had any (its first and last instant and
//! how many), so memory stays bounded by the window, 3,600 entries per (tenant, app) at
//! most, however high the quotas are raised and however fast the calls come. A second's
//! calls leave a window when its last one does, so a wait is never shorter than exact.

use super::error::MdeError;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Quota limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Calls per 60 seconds.
    pub per_minute: u32,
    /// Calls per 3,600 seconds.
    pub per_hour: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            per_minute: 100,
            per_hour: 1500,
        }
    }
}

/// Whose calls are counted: tenant, app, and the method with its own quota ("" for all).
type Key = (Uuid, Uuid, &'static str);

/// The calls that began within one second.
#[derive(Debug, Clone, Copy)]
struct Second {
    first: Instant,
    last: Instant,
    count: u32,
}

/// One key's calls in the last hour, oldest first, and their total.
#[derive(Debug, Default)]
struct Log {
    seconds: VecDeque<Second>,
    total: usize,
}

impl Log {
    fn forget_before(&mut self, now: Instant, window: Duration) {
        while let Some(s) = self.seconds.front()
            && now.saturating_duration_since(s.last) >= window
        {
            self.total -= s.count as usize;
            self.seconds.pop_front();
        }
    }

    /// Index of the oldest second still in `window`, and the calls from there on.
    fn within(&self, now: Instant, window: Duration) -> (usize, usize) {
        let from = self
            .seconds
            .partition_point(|s| now.saturating_duration_since(s.last) >= window);
        let n = self.seconds.range(from..).map(|s| s.count as usize).sum();
        (from, n)
    }

    /// When the window frees a call, given that `excess` of the oldest calls in it,
    /// starting at second `from`, must leave first.
    fn free_after(&self, from: usize, mut excess: usize, window: Duration, now: Instant) -> u64 {
        for s in self.seconds.range(from..) {
            if excess < s.count as usize {
                return wait_secs(s.last, window, now);
            }
            excess -= s.count as usize;
        }
        window.as_secs()
    }

    fn push(&mut self, now: Instant) {
        match self.seconds.back_mut() {
            Some(s) if now.saturating_duration_since(s.first) < Duration::from_secs(1) => {
                s.last = s.last.max(now);
                s.count += 1;
            }
            _ => self.seconds.push_back(Second {
                first: now,
                last: now,
                count: 1,
            }),
        }
        self.total += 1;
    }
}

/// Call history per (tenant, app).
#[derive(Debug, Default)]
pub struct Throttle {
    calls: Mutex<HashMap<Key, Log>>,
}

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

fn wait_secs(oldest_in_window: Instant, window: Duration, now: Instant) -> u64 {
    let free_at = oldest_in_window + window;
    let d = free_at.saturating_duration_since(now);
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

impl Throttle {
    /// Records a call, or refuses it with 429 and the seconds until one is allowed.
    pub fn admit(&self, tenant: Uuid, app: Uuid, limits: Limits) -> Result<(), MdeError> {
        self.admit_at(tenant, app, limits, Instant::now())
    }

    /// [`Throttle::admit`] for one method with its own, lower limits (`scope` names it in
    /// the message), counted apart from the general quota.
    pub fn admit_method(
        &self,
        tenant: Uuid,
        app: Uuid,
        scope: &'static str,
        limits: Limits,
    ) -> Result<(), MdeError> {
        self.admit_scoped(tenant, app, scope, limits, Instant::now())
    }

    /// [`Throttle::admit`] at a given instant (tests).
    pub fn admit_at(
        &self,
        tenant: Uuid,
        app: Uuid,
        limits: Limits,
        now: Instant,
    ) -> Result<(), MdeError> {
        self.admit_scoped(tenant, app, "", limits, now)
    }

    fn admit_scoped(
        &self,
        tenant: Uuid,
        app: Uuid,
        scope: &'static str,
        limits: Limits,
        now: Instant,
    ) -> Result<(), MdeError> {
        let what = if scope.is_empty() {
            String::new()
        } else {
            format!(" of {scope}")
        };
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        let log = calls.entry((tenant, app, scope)).or_default();
        log.forget_before(now, HOUR);
        let (in_minute_from, in_minute) = log.within(now, MINUTE);
        if in_minute >= limits.per_minute as usize {
            let excess = in_minute - limits.per_minute as usize;
            let secs = log.free_after(in_minute_from, excess, MINUTE, now).max(1);
            return Err(MdeError::too_many(
                secs,
                format!(
                    "API calls quota exceeded: {} calls{what} per minute for this application in this tenant. Retry after {secs} seconds.",
                    limits.per_minute
                ),
            ));
        }
        if log.total >= limits.per_hour as usize {
            let excess = log.total - limits.per_hour as usize;
            let secs = log.free_after(0, excess, HOUR, now).max(1);
            return Err(MdeError::too_many(
                secs,
                format!(
                    "API calls quota exceeded: {} calls{what} per hour for this application in this tenant. Retry after {secs} seconds.",
                    limits.per_hour
                ),
            ));
        }
        log.push(now);
        Ok(())
    }

    /// Forgets every call (admin reset).
    pub fn reset(&self) {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minute_and_hour_windows_slide() {
        let t = Throttle::default();
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let limits = Limits {
            per_minute: 3,
            per_hour: 5,
        };
        let start = Instant::now();
        for i in 0..3 {
            t.admit_at(a, b, limits, start + Duration::from_secs(i))
                .expect("within quota");
        }
        let e = t
            .admit_at(a, b, limits, start + Duration::from_secs(10))
            .expect_err("fourth call in a minute");
        assert_eq!(e.status, 429);
        assert_eq!(
            e.retry_after,
            Some(50),
            "first call leaves the window at 60 s"
        );
        // Another app in the same tenant has its own quota.
        t.admit_at(
            a,
            Uuid::from_u128(3),
            limits,
            start + Duration::from_secs(10),
        )
        .expect("own quota");
        t.admit_at(a, b, limits, start + Duration::from_secs(61))
            .expect("window slid");
        t.admit_at(a, b, limits, start + Duration::from_secs(122))
            .expect("fifth call this hour");
        let e = t
            .admit_at(a, b, limits, start + Duration::from_secs(200))
            .expect_err("sixth call in an hour");
        assert_eq!(e.retry_after, Some(3400));
        assert!(e.message.contains("per hour"), "{}", e.message);
    }

    #[test]
    fn memory_is_bounded_by_seconds_not_calls_and_bursts_count_whole() {
        let t = Throttle::default();
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let limits = Limits {
            per_minute: 1_000_000,
            per_hour: 100_000_000,
        };
        let start = Instant::now();
        // 100 calls in each of 120 seconds: 120 entries, not 12,000.
        for sec in 0..120u64 {
            for i in 0..100u64 {
                let at = start + Duration::from_secs(sec) + Duration::from_millis(i * 5);
                t.admit_at(a, b, limits, at).expect("within quota");
            }
        }
        let calls = t.calls.lock().expect("lock");
        let log = &calls[&(a, b, "")];
        assert_eq!(log.seconds.len(), 120);
        assert_eq!(log.total, 12_000);
        drop(calls);

        // A burst of 5 in one second against 3 a minute: the fourth waits for the
        // burst's last call to leave the window.
        let limits = Limits {
            per_minute: 3,
            per_hour: 100,
        };
        let c = Uuid::from_u128(9);
        t.admit_at(c, b, limits, start).expect("1");
        t.admit_at(c, b, limits, start + Duration::from_millis(400))
            .expect("2");
        t.admit_at(c, b, limits, start + Duration::from_millis(900))
            .expect("3");
        let e = t
            .admit_at(c, b, limits, start + Duration::from_secs(30))
            .expect_err("fourth");
        assert_eq!(
            e.retry_after,
            Some(31),
            "60.9 s after the start, rounded up"
        );
        t.admit_at(c, b, limits, start + Duration::from_secs(61))
            .expect("the whole second has left the minute");
    }
}

//! MDE's call quotas per (tenant, app): by default 100 calls a minute and 1,500 an hour
//! (`mde-api.md` §6.1), counted over sliding windows. Refused calls do not count.

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

/// Call history per (tenant, app).
#[derive(Debug, Default)]
pub struct Throttle {
    calls: Mutex<HashMap<Key, VecDeque<Instant>>>,
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
        while log
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= HOUR)
        {
            log.pop_front();
        }
        let in_minute_from = log.partition_point(|t| now.saturating_duration_since(*t) >= MINUTE);
        let in_minute = log.len() - in_minute_from;
        if in_minute >= limits.per_minute as usize {
            let idx = in_minute_from + in_minute - limits.per_minute as usize;
            let secs = log
                .get(idx)
                .map_or(60, |t| wait_secs(*t, MINUTE, now))
                .max(1);
            return Err(MdeError::too_many(
                secs,
                format!(
                    "API calls quota exceeded: {} calls{what} per minute for this application in this tenant. Retry after {secs} seconds.",
                    limits.per_minute
                ),
            ));
        }
        if log.len() >= limits.per_hour as usize {
            let idx = log.len() - limits.per_hour as usize;
            let secs = log
                .get(idx)
                .map_or(3600, |t| wait_secs(*t, HOUR, now))
                .max(1);
            return Err(MdeError::too_many(
                secs,
                format!(
                    "API calls quota exceeded: {} calls{what} per hour for this application in this tenant. Retry after {secs} seconds.",
                    limits.per_hour
                ),
            ));
        }
        log.push_back(now);
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
}

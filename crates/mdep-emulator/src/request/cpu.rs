//! Advanced hunting's execution-time quota (`mde-api.md` §4.7, run-advanced-query
//! limits): per tenant, "10 minutes per hour and 3 hours per day" of execution time, and
//! at most 200 seconds for one request. The emulator measures each query's execution
//! and counts it against the tenant over sliding windows.

use super::error::MdeError;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The execution-time limits, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuLimits {
    /// Execution time a tenant may use in any hour.
    pub per_hour_ms: u64,
    /// Execution time a tenant may use in any day.
    pub per_day_ms: u64,
    /// Execution time one request may take.
    pub per_request_ms: u64,
}

impl Default for CpuLimits {
    /// MDE's documented limits: 10 minutes an hour, 3 hours a day, 200 s a request.
    fn default() -> Self {
        Self {
            per_hour_ms: 10 * 60 * 1000,
            per_day_ms: 3 * 3600 * 1000,
            per_request_ms: 200 * 1000,
        }
    }
}

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);

/// Each tenant's measured executions of the last day.
#[derive(Debug, Default)]
pub struct CpuMeter {
    used: Mutex<HashMap<Uuid, VecDeque<(Instant, Duration)>>>,
}

fn total(runs: &VecDeque<(Instant, Duration)>, now: Instant, window: Duration) -> Duration {
    runs.iter()
        .filter(|(at, _)| now.duration_since(*at) < window)
        .map(|(_, d)| *d)
        .sum()
}

/// Seconds until enough of the window's oldest runs leave it to bring its use under
/// `limit` (at least 1).
fn retry_after(
    runs: &VecDeque<(Instant, Duration)>,
    now: Instant,
    window: Duration,
    limit: Duration,
) -> u64 {
    let mut used = total(runs, now, window);
    for (at, d) in runs
        .iter()
        .filter(|(at, _)| now.duration_since(*at) < window)
    {
        used = used.saturating_sub(*d);
        if used < limit {
            let free_at = *at + window;
            return free_at.saturating_duration_since(now).as_secs().max(1);
        }
    }
    1
}

impl CpuMeter {
    /// Refuses a query while the tenant has used its hour's or day's execution time: 429
    /// `TooManyRequests` naming the limit reached, with `Retry-After`.
    pub fn admit(&self, tenant: Uuid, limits: CpuLimits) -> Result<(), MdeError> {
        self.admit_at(tenant, limits, Instant::now())
    }

    /// [`CpuMeter::admit`] at a given instant.
    pub fn admit_at(&self, tenant: Uuid, limits: CpuLimits, now: Instant) -> Result<(), MdeError> {
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        let Some(runs) = used.get_mut(&tenant) else {
            return Ok(());
        };
        while runs
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) >= DAY)
        {
            runs.pop_front();
        }
        for (window, limit, what) in [
            (HOUR, limits.per_hour_ms, "hour"),
            (DAY, limits.per_day_ms, "day"),
        ] {
            let limit = Duration::from_millis(limit);
            let spent = total(runs, now, window);
            if spent >= limit {
                return Err(MdeError::too_many(
                    retry_after(runs, now, window, limit),
                    format!(
                        "Advanced hunting CPU quota reached: this tenant's queries used {:.3} s of execution time in the last {what}, and the limit is {:.3} s per {what}. Wait for Retry-After seconds, or make queries cheaper (filter on Timestamp first, project fewer columns).",
                        spent.as_secs_f64(),
                        limit.as_secs_f64()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Counts one query's execution time against the tenant.
    pub fn record(&self, tenant: Uuid, took: Duration) {
        self.record_at(tenant, took, Instant::now());
    }

    /// [`CpuMeter::record`] at a given instant.
    pub fn record_at(&self, tenant: Uuid, took: Duration, at: Instant) {
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        used.entry(tenant).or_default().push_back((at, took));
    }

    /// Forgets every tenant's use.
    pub fn reset(&self) {
        self.used.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hour_and_the_day_are_counted_apart_and_free_up() {
        let m = CpuMeter::default();
        let t = Uuid::new_v4();
        let limits = CpuLimits {
            per_hour_ms: 1000,
            per_day_ms: 1500,
            per_request_ms: 200_000,
        };
        let t0 = Instant::now();
        assert!(m.admit_at(t, limits, t0).is_ok());
        m.record_at(t, Duration::from_millis(1000), t0);
        let e = m.admit_at(t, limits, t0).expect_err("hour used");
        assert!(e.message.contains("per hour"), "{}", e.message);
        assert_eq!(e.retry_after, Some(3600));
        // Another tenant is not affected.
        assert!(m.admit_at(Uuid::new_v4(), limits, t0).is_ok());
        // An hour later the hour is free, but the day is not once it holds 1.5 s.
        let t1 = t0 + HOUR;
        assert!(m.admit_at(t, limits, t1).is_ok());
        m.record_at(t, Duration::from_millis(600), t1);
        let e = m.admit_at(t, limits, t1).expect_err("day used");
        assert!(e.message.contains("per day"), "{}", e.message);
        assert!(
            m.admit_at(t, limits, t0 + DAY + Duration::from_secs(1))
                .is_ok()
        );
    }
}

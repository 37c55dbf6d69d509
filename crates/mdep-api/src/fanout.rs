//! One job per tenant, a bounded number at a time. A tenant that fails is recorded in
//! its result and never stops the others.

use crate::client::Tenant;
use crate::error::ApiError;
use futures_util::{StreamExt, stream};
use std::future::Future;
use std::time::{Duration, Instant};

/// Tenants called at once when the configuration does not say (`[api] concurrency`).
///
/// A fan-out spends most of its time waiting on the service (each call is a round trip
/// of tens to hundreds of milliseconds), and each tenant has its own quota, so the wall
/// time of a fan-out falls with the number of tenants in flight. 32 keeps that gain while
/// bounding what is held at once (one page per tenant in flight) and the connections
/// opened to the service.
pub const DEFAULT_CONCURRENCY: usize = 32;

/// How one tenant's job ended.
#[derive(Debug)]
pub struct TenantResult<T> {
    /// The tenant.
    pub tenant: Tenant,
    /// Its outcome.
    pub result: Result<T, ApiError>,
    /// How long it took.
    pub elapsed: Duration,
}

/// Runs `job` for every tenant, at most `concurrency` at once; results come back in
/// the order of `tenants`.
///
/// Each job runs as its own task on the Tokio runtime (which must be running), so
/// the jobs' own work, such as decoding pages, is spread over the runtime's threads
/// instead of sharing the caller's. A job that panics panics the caller; when the
/// returned future is dropped, the jobs still running are aborted.
pub async fn fan_out<T, F, Fut>(
    tenants: &[Tenant],
    concurrency: usize,
    job: F,
) -> Vec<TenantResult<T>>
where
    F: Fn(Tenant) -> Fut,
    Fut: Future<Output = Result<T, ApiError>> + Send + 'static,
    T: Send + 'static,
{
    let mut out: Vec<(usize, TenantResult<T>)> = stream::iter(tenants.iter().cloned().enumerate())
        .map(|(i, t)| {
            // Called when `buffer_unordered` has room, so at most `concurrency` run.
            let fut = job(t.clone());
            let task = AbortOnDrop(tokio::spawn(async move {
                let start = Instant::now();
                let result = fut.await;
                (result, start.elapsed())
            }));
            async move {
                let (result, elapsed) = match task.join().await {
                    Ok(done) => done,
                    Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                    Err(e) => (
                        Err(ApiError::Invalid(format!(
                            "the job for tenant {} did not finish: {e}",
                            t.name
                        ))),
                        Duration::ZERO,
                    ),
                };
                (
                    i,
                    TenantResult {
                        tenant: t,
                        result,
                        elapsed,
                    },
                )
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

/// A spawned task that is aborted if its handle is dropped before it finished.
struct AbortOnDrop<R>(tokio::task::JoinHandle<R>);

impl<R> AbortOnDrop<R> {
    async fn join(mut self) -> Result<R, tokio::task::JoinError> {
        (&mut self.0).await
    }
}

impl<R> Drop for AbortOnDrop<R> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn tenants(n: usize) -> Vec<Tenant> {
        (0..n)
            .map(|i| Tenant {
                name: format!("T{i}"),
                id: format!("t{i}"),
            })
            .collect()
    }

    #[tokio::test]
    async fn a_failing_tenant_does_not_stop_the_others_and_concurrency_is_bounded() {
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let results = fan_out(&tenants(10), 3, |t| {
            let (running, peak) = (running.clone(), peak.clone());
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                if t.name == "T4" {
                    Err(ApiError::Invalid("boom".into()))
                } else {
                    Ok(t.name.len())
                }
            }
        })
        .await;
        assert_eq!(results.len(), 10);
        assert_eq!(
            results
                .iter()
                .map(|r| r.tenant.name.as_str())
                .collect::<Vec<_>>(),
            (0..10).map(|i| format!("T{i}")).collect::<Vec<_>>(),
            "in the given order"
        );
        assert_eq!(results.iter().filter(|r| r.result.is_err()).count(), 1);
        assert!(results[4].result.is_err());
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }

    /// Jobs that block their thread until both have started can only finish when
    /// they run on different threads at once, which is what spawning them gives.
    #[test]
    fn jobs_run_on_the_runtime_threads_at_once() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let started = Arc::new(AtomicUsize::new(0));
        let results = rt.block_on(fan_out(&tenants(2), 2, |_| {
            let started = started.clone();
            async move {
                started.fetch_add(1, Ordering::SeqCst);
                let deadline = Instant::now() + Duration::from_secs(10);
                // Blocks this thread on purpose: the other job must run elsewhere.
                while started.load(Ordering::SeqCst) < 2 {
                    if Instant::now() > deadline {
                        return Err(ApiError::Invalid("the other job never started".into()));
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                Ok(())
            }
        }));
        for r in results {
            assert!(r.result.is_ok(), "{}: {:?}", r.tenant.name, r.result);
        }
    }

    #[tokio::test]
    async fn a_panicking_job_panics_the_caller() {
        let caught = tokio::spawn(async {
            fan_out(&tenants(3), 3, |t| async move {
                if t.name == "T1" {
                    panic!("job failed");
                }
                Ok(())
            })
            .await
        })
        .await;
        assert!(caught.expect_err("panicked").is_panic());
    }

    #[tokio::test]
    async fn dropping_the_fan_out_aborts_the_jobs_still_running() {
        let finished = Arc::new(AtomicUsize::new(0));
        let f = finished.clone();
        let ts = tenants(2);
        let fan = fan_out(&ts, 2, move |_| {
            let f = f.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                f.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        });
        // Started, then dropped long before the jobs end.
        assert!(
            tokio::time::timeout(Duration::from_millis(20), fan)
                .await
                .is_err()
        );
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(finished.load(Ordering::SeqCst), 0, "no job ran on");
    }
}

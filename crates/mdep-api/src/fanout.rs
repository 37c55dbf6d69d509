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
pub async fn fan_out<T, F, Fut>(
    tenants: &[Tenant],
    concurrency: usize,
    job: F,
) -> Vec<TenantResult<T>>
where
    F: Fn(Tenant) -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    let mut out: Vec<(usize, TenantResult<T>)> = stream::iter(tenants.iter().cloned().enumerate())
        .map(|(i, t)| {
            let fut = job(t.clone());
            async move {
                let start = Instant::now();
                let result = fut.await;
                (
                    i,
                    TenantResult {
                        tenant: t,
                        result,
                        elapsed: start.elapsed(),
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
}

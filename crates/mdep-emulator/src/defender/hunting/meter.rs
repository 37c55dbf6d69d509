//! One hunting query under its tenant's execution-time quota (`request::cpu`), whichever
//! API runs it: MDE's `/api/advancedqueries/run` and Graph's `runHuntingQuery` draw on the
//! same per-tenant budget, as both run in the tenant's one advanced hunting service
//! (`mde-api.md` §4.7: "10 minutes per hour and 3 hours per day" of execution time per
//! tenant, at most 200 seconds for one request).

use crate::AppState;
use crate::request::error::MdeError;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Admits the query while the tenant has execution time left, runs it, counts the time
/// it took (whether it succeeded or not) and refuses an answer that took longer than one
/// request may run: 429 `TooManyRequests` naming the limit, with `Retry-After`.
pub fn metered<T>(
    state: &AppState,
    tenant: Uuid,
    run: impl FnOnce() -> Result<T, MdeError>,
) -> Result<T, MdeError> {
    let limits = state.emu.defender().settings().hunting_cpu;
    let cpu = state.emu.defender().hunting_cpu();
    cpu.admit(tenant, limits)?;
    let started = Instant::now();
    let ran = run();
    let took = started.elapsed();
    cpu.record(tenant, took);
    let answer = ran?;
    let per_request = Duration::from_millis(limits.per_request_ms);
    if took > per_request {
        // "a single request max 200 seconds" (run-advanced-query limits); MDE documents
        // no body for it, so the answer is the quota's 429 naming the limit.
        return Err(MdeError::too_many(
            1,
            format!(
                "Advanced hunting CPU quota reached: the query ran {:.3} s, and one request may run at most {:.3} s. Make the query cheaper (filter on Timestamp first, project fewer columns).",
                took.as_secs_f64(),
                per_request.as_secs_f64()
            ),
        ));
    }
    Ok(answer)
}

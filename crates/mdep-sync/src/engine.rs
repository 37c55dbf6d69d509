//! The sync itself: for each tenant (claimed, so two workers never sync it at once) and
//! each entity, read pages from MDE and commit each page with its checkpoint.
//!
//! Alerts and machines are read in keyset order: `$filter=F ge T&$orderby=F asc` with
//! `$skip` counting only the rows already read at second `T` (ties), where `F` is
//! `lastUpdateTime` or `lastSeen`. A row updated while a pass runs moves past the
//! cursor and is read again later in the same pass, instead of shifting a `$skip`
//! window and hiding another row. An incremental pass starts `overlap` before the last
//! cursor, against clocks and late writes; a resumed pass does the same from where the
//! interrupted one committed. Machine actions and indicators are small and read whole
//! each run. A full pass (`--full`, or the first) deletes at its end the rows it did not
//! see. `mde-api.md` §4.2 notes `$orderby` is used by clients but not documented by
//! Microsoft; the emulator implements it.

use crate::entity::{Entity, Item, norm_time, parse_time};
use crate::error::SyncError;
use crate::store::{Checkpoint, Counts, LogEntry, Store, TenantScores};
use futures_util::{StreamExt, TryStreamExt, stream};
use mdep_api::query::cmp_time;
use mdep_api::{Client, Query, Tenant};
use mdep_model::odata::CompareOp;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// How a sync runs.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Entities to sync, in order.
    pub entities: Vec<Entity>,
    /// A complete pass instead of an incremental one.
    pub full: bool,
    /// How far before the last watermark an incremental pass starts.
    pub overlap: Duration,
    /// Rows per request and per transaction (at most 10,000).
    pub page: u64,
    /// Tenants synced at once.
    pub concurrency: usize,
    /// This worker's name in `sync_log`.
    pub worker: String,
    /// Read each tenant's exposure and configuration scores after its entities
    /// (`tenant_scores`); a refusal is stored as a message, never a sync error.
    pub scores: bool,
    /// Each tenant's configured tags, by [`tenant_key`], written to `tenants.tags`
    /// (`[]` for a tenant not in the map).
    pub tags: HashMap<String, Vec<String>>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            entities: Entity::ALL.to_vec(),
            full: false,
            overlap: Duration::from_secs(300),
            page: 1000,
            concurrency: 8,
            worker: default_worker(),
            scores: true,
            tags: HashMap::new(),
        }
    }
}

/// `host:pid`.
pub fn default_worker() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into());
    format!("{host}:{}", std::process::id())
}

/// What happened to one tenant.
#[derive(Debug, Clone)]
pub struct TenantReport {
    /// The tenant.
    pub tenant: Tenant,
    /// Rows new, updated, unchanged and deleted.
    pub counts: Counts,
    /// One message per entity that failed.
    pub errors: Vec<String>,
    /// How long it took.
    pub duration: Duration,
    /// Why the tenant was not synced (another worker holds it).
    pub skipped: Option<String>,
}

impl TenantReport {
    /// Whether the tenant failed.
    pub fn failed(&self) -> bool {
        !self.errors.is_empty()
    }
}

/// Where progress goes (a progress bar per tenant in the CLI).
pub trait Progress: Send + Sync {
    /// A tenant starts.
    fn started(&self, _tenant: &Tenant) {}
    /// A page of `rows` rows of `entity` was committed.
    fn page(&self, _tenant: &Tenant, _entity: Entity, _rows: u64) {}
    /// A tenant ended.
    fn finished(&self, _report: &TenantReport) {}
}

/// Progress nobody watches.
pub struct NoProgress;
impl Progress for NoProgress {}

/// The key rows carry for a tenant: its id as configured, lower case.
pub fn tenant_key(t: &Tenant) -> String {
    t.id.to_ascii_lowercase()
}

/// Syncs every tenant, `opts.concurrency` at once; reports come back in tenant order.
/// One failing tenant never stops the others.
pub async fn sync_all(
    client: &Client,
    store: Arc<Store>,
    tenants: &[Tenant],
    opts: &SyncOptions,
    progress: Arc<dyn Progress>,
) -> Vec<TenantReport> {
    let mut out: Vec<(usize, TenantReport)> = stream::iter(tenants.iter().cloned().enumerate())
        .map(|(i, t)| {
            let (client, store, progress) = (client.clone(), store.clone(), progress.clone());
            async move {
                let r = sync_tenant(&client, &store, &t, opts, progress.as_ref()).await;
                progress.finished(&r);
                (i, r)
            }
        })
        .buffer_unordered(opts.concurrency.max(1))
        .collect()
        .await;
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

/// Syncs one tenant: claim, every entity, release.
pub async fn sync_tenant(
    client: &Client,
    store: &Store,
    t: &Tenant,
    opts: &SyncOptions,
    progress: &dyn Progress,
) -> TenantReport {
    let start = Instant::now();
    let key = tenant_key(t);
    let mut report = TenantReport {
        tenant: t.clone(),
        counts: Counts::default(),
        errors: Vec::new(),
        duration: Duration::ZERO,
        skipped: None,
    };
    match store.claim(&key).await {
        Ok(true) => {}
        Ok(false) => {
            report.skipped = Some("another worker is syncing this tenant".into());
            return report;
        }
        Err(e) => {
            report.errors.push(e.to_string());
            return report;
        }
    }
    progress.started(t);
    let log = match store.log_start(&key, &opts.worker).await {
        Ok(id) => Some(id),
        Err(e) => {
            report.errors.push(e.to_string());
            None
        }
    };
    if report.errors.is_empty() {
        let tags = opts.tags.get(&key).map_or(&[][..], Vec::as_slice);
        if let Err(e) = store.set_tenant(&key, &t.name, tags).await {
            report.errors.push(e.to_string());
        }
        for &e in &opts.entities {
            match sync_entity(client, store, t, &key, e, opts, progress).await {
                Ok(c) => report.counts += c,
                Err((c, err)) => {
                    report.counts += c;
                    report.errors.push(format!("{e}: {err}"));
                }
            }
        }
        if opts.scores {
            let scores = read_scores(client, t).await;
            if let Err(e) = store.set_scores(&key, &scores).await {
                report.errors.push(e.to_string());
            }
        }
    }
    report.duration = start.elapsed();
    if let Some(id) = log {
        let entry = LogEntry {
            counts: report.counts,
            errors: report.errors.len() as u64,
            message: report.errors.first().cloned(),
        };
        if let Err(e) = store.log_finish(id, &entry).await {
            report.errors.push(e.to_string());
        }
    }
    if let Err(e) = store.release(&key).await {
        report.errors.push(e.to_string());
    }
    report
}

/// The tenant's exposure and configuration scores. A score MDE refuses (403 without
/// `Score.Read.All`, or any error after the client's retries) is `None`, and why goes in
/// the message: scores are extra, so they never fail the tenant's sync.
pub async fn read_scores(client: &Client, t: &Tenant) -> TenantScores {
    let (exposure, configuration) =
        tokio::join!(client.exposure_score(t), client.configuration_score(t));
    let mut why = Vec::new();
    let mut take = |path: &str, r: Result<mdep_api::entity::Score, mdep_api::ApiError>| match r {
        Ok(s) => s.score,
        Err(e) => {
            why.push(format!("{path}: {e}"));
            None
        }
    };
    let exposure = take("exposureScore", exposure);
    let configuration = take("configurationScore", configuration);
    TenantScores {
        exposure,
        configuration,
        message: (!why.is_empty()).then(|| why.join("; ")),
    }
}

fn floor_second(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}

fn new_pass() -> Option<String> {
    Some(uuid::Uuid::new_v4().to_string())
}

/// Where a pass over a watermarked entity starts, from the stored checkpoint.
pub fn plan(cp: &Checkpoint, full: bool, overlap: Duration) -> Checkpoint {
    let back = |c: &Option<String>| {
        c.as_deref().and_then(parse_time).map(|t| {
            norm_time(floor_second(
                t - time::Duration::try_from(overlap).unwrap_or(time::Duration::ZERO),
            ))
        })
    };
    let fresh_full = || Checkpoint {
        cursor: None,
        skip: 0,
        pass_id: new_pass(),
        pass_full: true,
        last_complete: cp.last_complete.clone(),
    };
    let resuming = cp.pass_id.is_some();
    if full && !(resuming && cp.pass_full) {
        return fresh_full();
    }
    if resuming {
        // Resume where the interrupted pass committed, less the overlap.
        return Checkpoint {
            cursor: back(&cp.cursor),
            skip: 0,
            ..cp.clone()
        };
    }
    if cp.cursor.is_none() {
        return fresh_full();
    }
    Checkpoint {
        cursor: back(&cp.cursor),
        skip: 0,
        pass_id: new_pass(),
        pass_full: false,
        last_complete: cp.last_complete.clone(),
    }
}

/// Advances the keyset position over a page read in ascending order.
pub fn advance(cp: &mut Checkpoint, e: Entity, items: &[Item]) {
    for it in items {
        match it.watermark(e).map(floor_second) {
            Some(sec) => {
                let cur = cp.cursor.as_deref().and_then(parse_time);
                match cur {
                    Some(c) if c == sec => cp.skip += 1,
                    Some(c) if c > sec => cp.skip += 1, // out of order: count, never go back
                    _ => {
                        cp.cursor = Some(norm_time(sec));
                        cp.skip = 1;
                    }
                }
            }
            None => cp.skip += 1,
        }
    }
}

type Partial = (Counts, SyncError);

async fn sync_entity(
    client: &Client,
    store: &Store,
    t: &Tenant,
    key: &str,
    e: Entity,
    opts: &SyncOptions,
    progress: &dyn Progress,
) -> Result<Counts, Partial> {
    let mut counts = Counts::default();
    let stored = store
        .checkpoint(key, e)
        .await
        .map_err(|err| (counts, err))?;
    let page = opts.page.clamp(1, 10_000);
    let now = || Some(norm_time(OffsetDateTime::now_utc()));
    let Some(field) = e.watermark() else {
        // A whole pass: pages as they come, each committed; unseen rows go at the end.
        let mut cp = Checkpoint {
            cursor: None,
            skip: 0,
            pass_id: new_pass(),
            pass_full: true,
            last_complete: stored.last_complete.clone(),
        };
        let mut pages = client
            .list::<Value>(t, e.path(), &Query::new())
            .try_chunks(page as usize);
        while let Some(chunk) = pages.next().await {
            let values = chunk.map_err(|err| (counts, SyncError::Api(err.1)))?;
            let items: Vec<Item> = values
                .iter()
                .filter_map(|v| Item::from_json(e, v))
                .collect();
            cp.skip += values.len() as i64;
            let n = items.len() as u64;
            counts += store
                .apply_page(key, e, items, &cp)
                .await
                .map_err(|err| (counts, err))?;
            progress.page(t, e, n);
        }
        let pass = cp.pass_id.take();
        cp.skip = 0;
        cp.last_complete = now();
        counts.deleted += store
            .finish_pass(key, e, &cp, pass.as_deref())
            .await
            .map_err(|err| (counts, err))?;
        return Ok(counts);
    };
    let mut cp = plan(&stored, opts.full, opts.overlap);
    loop {
        let mut q = Query::new().orderby(&format!("{field} asc")).top(page);
        if e == Entity::Alerts {
            // The evidence of each alert (files, processes, IPs…) is kept with it in
            // the raw JSON, as `$expand=evidence` gives it (alerts only, mde-api.md §3).
            q = q.expand("evidence");
        }
        if let Some(c) = cp.cursor.as_deref().and_then(parse_time) {
            q = q.filter(cmp_time(field, CompareOp::Ge, c));
        }
        if cp.skip > 0 {
            q = q.skip(cp.skip as u64);
        }
        let values: Vec<Value> = client
            .list::<Value>(t, e.path(), &q)
            .try_collect()
            .await
            .map_err(|err| (counts, SyncError::Api(err)))?;
        let got = values.len() as u64;
        let items: Vec<Item> = values
            .iter()
            .filter_map(|v| Item::from_json(e, v))
            .collect();
        drop(values);
        advance(&mut cp, e, &items);
        let n = items.len() as u64;
        if n > 0 {
            counts += store
                .apply_page(key, e, items, &cp)
                .await
                .map_err(|err| (counts, err))?;
            progress.page(t, e, n);
        }
        if got < page {
            break;
        }
    }
    let pass = cp.pass_id.take();
    let was_full = cp.pass_full;
    let delete = if was_full { pass } else { None };
    cp.pass_full = false;
    cp.skip = 0;
    cp.last_complete = now();
    counts.deleted += store
        .finish_pass(key, e, &cp, delete.as_deref())
        .await
        .map_err(|err| (counts, err))?;
    if e == Entity::Machines && !was_full {
        counts += sweep_tags(client, store, t, key, &cp)
            .await
            .map_err(|err| (counts, err))?;
    }
    Ok(counts)
}

/// After an incremental pass over machines. A tag added or removed does not move a
/// device's `lastSeen`, so the keyset pass cannot see it: read every device's id and
/// tags (`$select=id,machineTags`, 10,000 a page), then read again in full, and store,
/// the devices whose tags differ from the stored ones.
async fn sweep_tags(
    client: &Client,
    store: &Store,
    t: &Tenant,
    key: &str,
    cp: &Checkpoint,
) -> Result<Counts, SyncError> {
    let e = Entity::Machines;
    let stored = store
        .query(
            "SELECT id, machine_tags FROM machines WHERE tenant = $1",
            &[key.to_owned()],
        )
        .await?;
    let tags_of = |v: &Value| match v {
        // SQLite gives the JSON column as text, PostgreSQL as JSON.
        Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
        other => other.clone(),
    };
    let stored: std::collections::HashMap<String, Value> = stored
        .rows
        .iter()
        .filter_map(|r| Some((r.first()?.as_str()?.to_owned(), tags_of(r.get(1)?))))
        .collect();
    let q = Query::new().select(&["id", "machineTags"]).top(10_000);
    let changed: Vec<String> = client
        .list::<Value>(t, e.path(), &q)
        .try_filter_map(|m| {
            let id = m["id"].as_str().map(str::to_owned);
            let tags = match &m["machineTags"] {
                Value::Null => Value::Array(Vec::new()),
                v => v.clone(),
            };
            let differs = id.as_ref().is_some_and(|id| match stored.get(id) {
                Some(Value::Null) | None => tags != Value::Array(Vec::new()),
                Some(old) => *old != tags,
            });
            async move { Ok(id.filter(|_| differs)) }
        })
        .try_collect()
        .await
        .map_err(SyncError::Api)?;
    let mut counts = Counts::default();
    for id in &changed {
        // Through the list, so the row has the list's shape (no `@odata.context`).
        let q = Query::new().filter(mdep_api::query::cmp_str("id", CompareOp::Eq, id));
        let values: Vec<Value> = client
            .list::<Value>(t, e.path(), &q)
            .try_collect()
            .await
            .map_err(SyncError::Api)?;
        let items: Vec<Item> = values
            .iter()
            .filter_map(|v| Item::from_json(e, v))
            .collect();
        counts += store.apply_page(key, e, items, cp).await?;
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(id: &str, at: &str) -> Item {
        Item::from_json(Entity::Alerts, &json!({"id": id, "lastUpdateTime": at})).expect("item")
    }

    #[test]
    fn the_cursor_counts_ties_within_a_second() {
        let mut cp = Checkpoint::default();
        advance(
            &mut cp,
            Entity::Alerts,
            &[
                item("a", "2026-10-01T12:00:00.1Z"),
                item("b", "2026-10-01T12:00:01.2Z"),
                item("c", "2026-10-01T12:00:01.9Z"),
            ],
        );
        assert_eq!(cp.cursor.as_deref(), Some("2026-10-01T12:00:01.000000Z"));
        assert_eq!(cp.skip, 2);
        advance(
            &mut cp,
            Entity::Alerts,
            &[item("d", "2026-10-01T12:00:01.95Z")],
        );
        assert_eq!(cp.skip, 3);
        advance(
            &mut cp,
            Entity::Alerts,
            &[item("e", "2026-10-01T12:00:05Z")],
        );
        assert_eq!(cp.cursor.as_deref(), Some("2026-10-01T12:00:05.000000Z"));
        assert_eq!(cp.skip, 1);
    }

    #[test]
    fn passes_are_planned_from_the_checkpoint() {
        let overlap = Duration::from_secs(300);
        let first = plan(&Checkpoint::default(), false, overlap);
        assert!(first.pass_full && first.cursor.is_none() && first.pass_id.is_some());

        let done = Checkpoint {
            cursor: Some("2026-10-01T12:00:00.000000Z".into()),
            skip: 4,
            pass_id: None,
            pass_full: false,
            last_complete: Some("x".into()),
        };
        let inc = plan(&done, false, overlap);
        assert!(!inc.pass_full);
        assert_eq!(inc.cursor.as_deref(), Some("2026-10-01T11:55:00.000000Z"));
        assert_eq!(inc.skip, 0);
        let full = plan(&done, true, overlap);
        assert!(full.pass_full && full.cursor.is_none());

        let interrupted = Checkpoint {
            pass_id: Some("p".into()),
            pass_full: true,
            ..done.clone()
        };
        let resumed = plan(&interrupted, true, overlap);
        assert_eq!(resumed.pass_id.as_deref(), Some("p"), "a full pass resumes");
        assert!(resumed.pass_full);
        assert_eq!(
            resumed.cursor.as_deref(),
            Some("2026-10-01T11:55:00.000000Z")
        );
    }
}

//! A call across the chosen tenants: rows to stdout tagged with their tenant, a
//! per-tenant summary and progress on stderr; a tenant that fails never stops the
//! others and makes the exit code 3.

use crate::context::Output;
use crate::run::exit::{report_failure, some_failed};
use crate::run::output::{Columns, Sink, cols, print_one};
use crate::run::progress::Progress;
use crate::run::query::ListArgs;
use crate::run::select::{Api, Targets};
use anyhow::Result;
use futures_util::{Stream, TryStreamExt};
use mdep_api::{ApiError, Query, Tenant, TenantResult, fan_out};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::future::Future;

enum Event {
    Row(String, Value),
    Done(String),
}

/// Ends a fan-out: a summary on stderr when more than one tenant was asked or one
/// failed, and exit code 3 when any failed.
pub fn summarize<T>(results: &[TenantResult<T>], what: impl Fn(&T) -> String) -> Result<()> {
    let failed = results.iter().filter(|r| r.result.is_err()).count();
    let lines: Vec<Option<String>> = results
        .iter()
        .map(|r| r.result.as_ref().ok().map(&what))
        .collect();
    // A tenant skipped (`skipped: …`, e.g. no advanced hunting in its licence) is said
    // even when it is the only one.
    let skipped = lines.iter().flatten().any(|l| l.starts_with("skipped:"));
    if results.len() > 1 || failed > 0 || skipped {
        for (r, line) in results.iter().zip(lines) {
            match (&r.result, line) {
                (Err(e), _) => report_failure(&r.tenant.name, e),
                (Ok(_), Some(line)) => eprintln!("{}: {line}", r.tenant.name),
                (Ok(_), None) => {}
            }
        }
    }
    some_failed(failed, results.len(), "tenants failed")
}

/// Runs `call` for every tenant chosen by `targets`, at most `api.concurrency` at once,
/// writes the rows `rows` takes from each answer, then [`summarize`]s with `what`.
/// `columns` come from the answers (a hunting query's schema) or are fixed.
pub async fn call<T, F, Fut>(
    api: &Api,
    targets: &Targets,
    call: F,
    format: Output,
    columns: impl FnOnce(&[TenantResult<T>]) -> Columns,
    rows: impl Fn(&T) -> serde_json::Result<Vec<Value>>,
    what: impl Fn(&T) -> String,
) -> Result<()>
where
    F: Fn(Tenant) -> Fut,
    Fut: Future<Output = Result<T, ApiError>> + Send + 'static,
    T: Send + 'static,
{
    let tenants = api.tenants(targets)?;
    let results = fan_out(&tenants, api.concurrency, call).await;
    let mut sink = Sink::new(format, columns(&results));
    for r in &results {
        if let Ok(v) = &r.result {
            for row in rows(v)? {
                sink.push(&r.tenant.name, row)?;
            }
        }
    }
    sink.finish()?;
    summarize(&results, what)
}

/// The rows of a list of items.
pub fn each<I: Serialize>(items: &[I]) -> serde_json::Result<Vec<Value>> {
    items.iter().map(serde_json::to_value).collect()
}

/// Fixed columns, for [`call`].
pub fn fixed<T>(spec: &[(&str, &str)]) -> impl FnOnce(&[TenantResult<T>]) -> Columns {
    let c = cols(spec);
    move |_| c
}

/// Streams every item of an MDE list (`path` with `q`) from every tenant chosen by
/// `targets` into the output.
pub async fn list<T: Serialize + DeserializeOwned + Send + 'static>(
    api: &Api,
    targets: &Targets,
    path: &'static str,
    q: Query,
    format: Output,
    columns: &[(&str, &str)],
) -> Result<()> {
    let client = api.client.clone();
    stream(
        api,
        targets,
        move |t| client.list::<T>(t, path, &q),
        format,
        columns,
    )
    .await
}

/// Prints the item `get` fetches from the tenant of a one-item command (`--tenant`, or
/// the only one configured).
pub async fn show<T: Serialize>(
    api: &Api,
    tenant: &Option<String>,
    format: Output,
    columns: &[(&str, &str)],
    get: impl AsyncFnOnce(&Tenant) -> Result<T, ApiError>,
) -> Result<()> {
    let t = api.one(tenant)?;
    let item = get(&t).await?;
    print_one(format, &t.name, &item, columns)
}

/// [`list`] with the tenants and `--filter`/`--top` of a list command.
pub async fn list_args<T: Serialize + DeserializeOwned + Send + 'static>(
    api: &Api,
    args: &ListArgs,
    path: &'static str,
    format: Output,
    columns: &[(&str, &str)],
) -> Result<()> {
    list::<T>(
        api,
        &args.targets,
        path,
        args.list.query()?,
        format,
        columns,
    )
    .await
}

/// Streams every item `list` yields for each tenant chosen by `targets` into the output.
pub async fn stream<T, S, F>(
    api: &Api,
    targets: &Targets,
    list: F,
    format: Output,
    columns: &[(&str, &str)],
) -> Result<()>
where
    T: Serialize + Send + 'static,
    S: Stream<Item = Result<T, ApiError>> + Send + 'static,
    F: Fn(&Tenant) -> S,
{
    let tenants = api.tenants(targets)?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Event>(1024);
    let mut sink = Sink::new(format, cols(columns));
    let mut progress = Progress::new(tenants.len());
    let printer = async {
        while let Some(ev) = rx.recv().await {
            match ev {
                Event::Row(t, v) => {
                    progress.suspend(|| sink.push(&t, v))?;
                    progress.row(&t);
                }
                Event::Done(t) => progress.done(&t),
            }
        }
        progress.clear();
        anyhow::Ok(())
    };
    let work = async {
        let r = fan_out(&tenants, api.concurrency, |t| {
            let tx = tx.clone();
            let stream = list(&t);
            let name = t.name.clone();
            async move {
                let mut n = 0u64;
                let mut s = std::pin::pin!(stream);
                let res = async {
                    while let Some(item) = s.try_next().await? {
                        let v = serde_json::to_value(item)
                            .map_err(|e| ApiError::Invalid(e.to_string()))?;
                        if tx.send(Event::Row(name.clone(), v)).await.is_err() {
                            break;
                        }
                        n += 1;
                    }
                    Ok::<_, ApiError>(n)
                }
                .await;
                let _ = tx.send(Event::Done(name)).await;
                res
            }
        })
        .await;
        drop(tx);
        r
    };
    let (results, printed) = tokio::join!(work, printer);
    printed?;
    sink.finish()?;
    summarize(&results, |n| format!("{n} rows"))
}

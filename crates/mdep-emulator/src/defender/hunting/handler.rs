//! `POST /api/advancedqueries/run`: the quota, the query, and the answer's `Stats`,
//! `Schema` and `Results`.

use super::kql;
use super::ops::run;
use super::value::{bad, cell};
use crate::defender::data::read;
use crate::request::call::Call;
use crate::request::error::MdeError;
use crate::request::mde::Mde;
use crate::request::mde::{ApiResult, body_object, json};
use axum::body::Bytes;
use axum::http::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;

/// `POST /api/advancedqueries/run` with `{"Query": "…"}`.
pub async fn run_query(call: Call<Mde>, body: Bytes) -> ApiResult {
    call.require(&["AdvancedQuery.Read.All"])?;
    if let Some((_, message)) = super::licence::unlicensed(&call.state, call.caller.tenant) {
        return Err(MdeError::disabled_feature(message));
    }
    let settings = call.state.emu.defender().settings();
    call.state
        .emu
        .defender()
        .hunting_throttle()
        .admit(
            call.caller.tenant,
            uuid::Uuid::nil(),
            settings.hunting_limits,
        )
        .map_err(|mut e| {
            e.message = e.message.replace(
                "for this application in this tenant",
                "for advanced hunting in this tenant",
            );
            e
        })?;
    let started = std::time::Instant::now();
    let t = super::meter::metered(&call.state, call.caller.tenant, || {
        let body = body_object(&body)?;
        let query = crate::request::mde::str_param(&body, "Query")?
            .ok_or_else(|| MdeError::missing("Query"))?;
        let parsed = kql::parse(query).map_err(|e| bad(e.to_string()))?;
        let data = call.data()?;
        let now = OffsetDateTime::now_utc().unix_timestamp_nanos();
        run(&parsed, &read(&data), now)
    })?;
    let schema: Vec<Value> = t
        .cols
        .iter()
        .map(|(n, ty)| json!({"Name": n, "Type": ty.name()}))
        .collect();
    let results: Vec<Value> = t
        .rows
        .iter()
        .map(|r| {
            let mut m = serde_json::Map::new();
            for ((n, _), v) in t.cols.iter().zip(r) {
                m.insert(n.clone(), cell(v));
            }
            Value::Object(m)
        })
        .collect();
    let size = serde_json::to_string(&results).map_or(0, |s| s.len());
    let elapsed = started.elapsed();
    let cpu = format!(
        "00:00:{:02}.{:07}",
        elapsed.as_secs().min(59),
        elapsed.subsec_nanos() / 100
    );
    Ok(json(
        StatusCode::OK,
        &json!({
            "Stats": {
                "ExecutionTime": elapsed.as_secs_f64(),
                "resource_usage": {
                    "cache": {
                        "memory": {"hits": 0, "misses": 0, "total": 0},
                        "disk": {"hits": 0, "misses": 0, "total": 0}
                    },
                    "cpu": {"user": cpu, "kernel": "00:00:00", "total cpu": cpu},
                    "memory": {"peak_per_node": 0}
                },
                "dataset_statistics": [{"table_row_count": results.len(), "table_size": size}]
            },
            "Schema": schema,
            "Results": results,
        }),
    ))
}

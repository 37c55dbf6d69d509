//! File, IP and domain profiles and statistics and the exposure and configuration
//! scores (`mde-api.md` §4.8, §4.10), all derived from the tenant's generated data so
//! they agree with its alerts and devices. The TVM lists are in [`super::tvm`].

use super::data::TenantData;
use super::data::read;
use super::generate::{self, ts0, ts7};
use crate::request::call::Call;
use crate::request::envelope::{Req, entity};
use crate::request::error::{MdeError, truncate};
use crate::request::mde::Mde;
use crate::request::mde::{ApiResult, json};
use axum::extract::Path;
use axum::http::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;

/// Every piece of evidence of the tenant, with its alert's index.
fn evidence(d: &TenantData) -> impl Iterator<Item = (usize, &Value)> {
    d.evidence.iter().enumerate().flat_map(|(i, ev)| {
        ev.as_array()
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .map(move |e| (i, e))
    })
}

/// `GET /api/files/{id}`: `id` is a SHA-1 or SHA-256 seen in the tenant's evidence.
pub async fn file(call: Call<Mde>, Path(id): Path<String>) -> ApiResult {
    call.require(&["File.Read.All"])?;
    super::params::hash(&id, &[40, 64], "give a SHA-1 or SHA-256.")?;
    let data = call.data()?;
    let d = read(&data);
    let key = if id.len() == 40 { "sha1" } else { "sha256" };
    let e = evidence(&d)
        .map(|(_, e)| e)
        .find(|e| e[key].as_str().is_some_and(|h| h.eq_ignore_ascii_case(&id)))
        .ok_or_else(|| MdeError::not_found("File", &id))?;
    let profile = generate::file_profile(e);
    Ok(call.ok("Files/$entity", profile))
}

fn look_back(req: &Req) -> Result<u32, MdeError> {
    let mut hours = 720;
    for (k, v) in form_urlencoded::parse(req.query.as_deref().unwrap_or("").as_bytes()) {
        if k.eq_ignore_ascii_case("lookBackHours") {
            hours = v
                .parse::<u32>()
                .ok()
                .filter(|h| (1..=720).contains(h))
                .ok_or_else(|| {
                    MdeError::bad(
                        "InvalidInput",
                        format!("Invalid input lookBackHours '{}': 1 to 720.", truncate(&v)),
                    )
                })?;
        }
    }
    Ok(hours)
}

/// First and last time among `times` (evidence creation times), as MDE's org stats show
/// them (whole seconds).
fn span_of<'a>(times: impl Iterator<Item = &'a str>) -> (Value, Value) {
    let mut all: Vec<&str> = times.collect();
    all.sort_unstable();
    let fmt = |s: Option<&&str>| {
        s.and_then(|s| {
            OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
        })
        .map_or(Value::Null, |t| json!(ts0(t)))
    };
    (fmt(all.first()), fmt(all.last()))
}

/// `GET /api/files/{sha1}/stats`.
pub async fn file_stats(call: Call<Mde>, Path(id): Path<String>) -> ApiResult {
    call.require(&["File.Read.All"])?;
    look_back(&call.req)?;
    super::params::hash(&id, &[40, 64], "give a SHA-1 or SHA-256.")?;
    let data = call.data()?;
    let d = read(&data);
    let key = if id.len() == 40 { "sha1" } else { "sha256" };
    let hits: Vec<(usize, &Value)> = evidence(&d)
        .filter(|(_, e)| e[key].as_str().is_some_and(|h| h.eq_ignore_ascii_case(&id)))
        .collect();
    let mut machines: Vec<&Value> = hits
        .iter()
        .map(|(i, _)| &d.alerts[*i]["machineId"])
        .collect();
    machines.dedup();
    let (first, last) = span_of(
        hits.iter()
            .filter_map(|(_, e)| e["evidenceCreationTime"].as_str()),
    );
    let mut names: Vec<&str> = hits
        .iter()
        .filter_map(|(_, e)| e["fileName"].as_str())
        .collect();
    names.dedup();
    let sha1 = hits
        .first()
        .and_then(|(_, e)| e["sha1"].as_str())
        .unwrap_or(&id)
        .to_ascii_lowercase();
    let global = hits.first().map(|(_, e)| generate::file_profile(e));
    let g = |k: &str| global.as_ref().map_or(Value::Null, |p| p[k].clone());
    Ok(json(
        StatusCode::OK,
        &entity(
            &call.req,
            "microsoft.windowsDefenderATP.api.InOrgFileStats",
            json!({
                "sha1": sha1,
                "organizationPrevalence": machines.len(),
                "orgFirstSeen": first,
                "orgLastSeen": last,
                "globallyPrevalence": g("globalPrevalence"),
                "globalFirstObserved": g("globalFirstObserved"),
                "globalLastObserved": g("globalLastObserved"),
                "topFileNames": names,
            }),
        ),
    ))
}

/// `GET /api/ips/{ip}/stats`: unknown but valid addresses have prevalence 0.
pub async fn ip_stats(call: Call<Mde>, Path(ip): Path<String>) -> ApiResult {
    call.require(&["Ip.Read.All"])?;
    look_back(&call.req)?;
    super::params::ip(&ip)?;
    let data = call.data()?;
    let d = read(&data);
    let hits: Vec<(usize, &Value)> = evidence(&d)
        .filter(|(_, e)| e["ipAddress"].as_str() == Some(ip.as_str()))
        .collect();
    let mut machines: Vec<&Value> = hits
        .iter()
        .map(|(i, _)| &d.alerts[*i]["machineId"])
        .collect();
    machines.extend(
        d.machines
            .iter()
            .filter(|m| m["lastIpAddress"] == ip.as_str())
            .map(|m| &m["id"]),
    );
    machines.sort_by_key(|v| v.as_str());
    machines.dedup();
    let (first, last) = span_of(
        hits.iter()
            .filter_map(|(_, e)| e["evidenceCreationTime"].as_str()),
    );
    Ok(json(
        StatusCode::OK,
        &entity(
            &call.req,
            "microsoft.windowsDefenderATP.api.InOrgIPStats",
            json!({
                "ipAddress": ip,
                "organizationPrevalence": machines.len(),
                "orgFirstSeen": first,
                "orgLastSeen": last,
            }),
        ),
    ))
}

/// `GET /api/domains/{domain}/stats`: unknown domains have prevalence 0.
pub async fn domain_stats(call: Call<Mde>, Path(host): Path<String>) -> ApiResult {
    call.require(&["Url.Read.All"])?;
    look_back(&call.req)?;
    let lower = super::params::domain(&host)?;
    let data = call.data()?;
    let d = read(&data);
    let hits: Vec<(usize, &Value)> = evidence(&d)
        .filter(|(_, e)| {
            e["url"]
                .as_str()
                .is_some_and(|u| super::params::on_domain(u, &lower))
        })
        .collect();
    let mut machines: Vec<&Value> = hits
        .iter()
        .map(|(i, _)| &d.alerts[*i]["machineId"])
        .collect();
    machines.sort_by_key(|v| v.as_str());
    machines.dedup();
    let (first, last) = span_of(
        hits.iter()
            .filter_map(|(_, e)| e["evidenceCreationTime"].as_str()),
    );
    Ok(json(
        StatusCode::OK,
        &entity(
            &call.req,
            "microsoft.windowsDefenderATP.api.InOrgDomainStats",
            json!({
                "host": lower,
                "organizationPrevalence": machines.len(),
                "orgFirstSeen": first,
                "orgLastSeen": last,
            }),
        ),
    ))
}

fn exposure_points(level: &str) -> f64 {
    match level {
        "Low" => 20.0,
        "Medium" => 50.0,
        "High" => 85.0,
        _ => 5.0,
    }
}

/// The mean of the devices' exposure levels (0–100); 0 devices count as one.
fn mean_exposure<'a>(machines: impl Iterator<Item = &'a Value>) -> f64 {
    let (mut sum, mut n) = (0.0, 0usize);
    for m in machines {
        sum += exposure_points(m["exposureLevel"].as_str().unwrap_or_default());
        n += 1;
    }
    sum / n.max(1) as f64
}

/// `GET /api/exposureScore`: the mean of the devices' exposure levels (0–100).
pub async fn exposure_score(call: Call<Mde>) -> ApiResult {
    call.require(&["Score.Read.All"])?;
    let data = call.data()?;
    let score = mean_exposure(read(&data).machines.iter());
    Ok(json(
        StatusCode::OK,
        &entity(
            &call.req,
            "ExposureScore/$entity",
            json!({"time": ts7(OffsetDateTime::now_utc()), "score": score}),
        ),
    ))
}

/// `GET /api/exposureScore/ByMachineGroups`: the same score per device group
/// (`rbacGroupName`), in the order groups first appear, as
/// `samples/score_exposurescore_bymachinegroups.json` shows: `{time, score,
/// rbacGroupName}` in a `value` list under the `ExposureScore` context, no paging.
pub async fn exposure_score_by_groups(call: Call<Mde>) -> ApiResult {
    call.require(&["Score.Read.All"])?;
    let data = call.data()?;
    let d = read(&data);
    let mut groups: Vec<&str> = Vec::new();
    for m in &d.machines {
        let g = m["rbacGroupName"].as_str().unwrap_or_default();
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    let now = ts7(OffsetDateTime::now_utc());
    let value: Vec<Value> = groups
        .iter()
        .map(|g| {
            let members = d
                .machines
                .iter()
                .filter(|m| m["rbacGroupName"].as_str().unwrap_or_default() == *g);
            json!({"time": now, "score": mean_exposure(members), "rbacGroupName": g})
        })
        .collect();
    Ok(json(
        StatusCode::OK,
        &entity(&call.req, "ExposureScore", json!({ "value": value })),
    ))
}

/// `GET /api/configurationScore`: the share of devices in a healthy state, scaled to
/// MDE's 0–1000 (an emulator formula).
pub async fn configuration_score(call: Call<Mde>) -> ApiResult {
    call.require(&["Score.Read.All"])?;
    let data = call.data()?;
    let d = read(&data);
    let n = d.machines.len().max(1) as f64;
    let good = d
        .machines
        .iter()
        .filter(|m| m["healthStatus"] == "Active" && m["defenderAvStatus"] == "Updated")
        .count() as f64;
    let score = (good / n * 1000.0).round() as i64;
    Ok(json(
        StatusCode::OK,
        &entity(
            &call.req,
            "ConfigurationScore/$entity",
            json!({"time": ts7(OffsetDateTime::now_utc()), "score": score}),
        ),
    ))
}

//! `GET /tenants`: one row per customer: consent and token state with the missing roles
//! (the last `mdep tenants check`), the last sync and its outcome, open alerts by
//! severity, devices at high risk, exposure score. Sorted and filtered here (a partner
//! has hundreds of tenants, not millions); exported as CSV/JSON.

use crate::controls::tag_select;
use crate::layout::{count, exports, fragment, frame, qv, severity, sort_header, when};
use crate::params::Params;
use crate::queries::{SEVERITIES, TenantRow};
use crate::{Ui, UiError};
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};
use mdep_sync::Rows;
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::sync::Arc;

const KEYS: &[&str] = &["tag", "q", "sort", "dir", "format"];
const SORTS: &[&str] = &[
    "name", "ready", "synced", "open", "high", "risk", "exposure",
];
const LIVE: &str = "tenants-live";

/// `GET /tenants`: the page, its live fragment, or its export.
pub async fn page(
    State(ui): State<Arc<Ui>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    let p = Params::parse(query.as_deref(), KEYS)?;
    let sort = p.choice("sort", SORTS)?.unwrap_or_else(|| "name".into());
    let desc = p.choice("dir", &["asc", "desc"])?.as_deref() == Some("desc");
    let all = ui.tenants().await?;
    let tags: BTreeSet<String> = all.iter().flat_map(|t| t.tags.iter().cloned()).collect();
    let tag = p.one("tag").map(str::to_lowercase);
    let q = p.one("q").map(str::to_lowercase);
    let mut shown: Vec<TenantRow> = all
        .into_iter()
        .filter(|t| {
            tag.as_ref()
                .is_none_or(|g| t.tags.iter().any(|x| x.to_lowercase() == *g))
        })
        .filter(|t| {
            q.as_ref().is_none_or(|q| {
                t.name.to_lowercase().contains(q) || t.key.to_lowercase().contains(q)
            })
        })
        .collect();
    shown.sort_by(|a, b| {
        let o = order(a, b, &sort);
        if desc { o.reverse() } else { o }
    });
    if let Some(f) = p.format()? {
        return Ok(super::export(&table_rows(&shown), f, None, "tenants"));
    }
    let table = live_table(&p, &shown, &sort, desc);
    if fragment(&headers) == Some(LIVE) {
        return Ok(Html(table.into_string()).into_response());
    }
    let body = html! {
        h1 { "Tenants" }
        form class="filters" method="get" action="/tenants" {
            (tag_select(&tags, tag.as_deref()))
            label { "Name contains" input type="search" name="q" value=[p.one("q")]; }
            @if p.one("sort").is_some() { input type="hidden" name="sort" value=(sort); }
            @if desc { input type="hidden" name="dir" value="desc"; }
            button type="submit" { "Filter" }
        }
        (exports(&p, "/tenants"))
        div id=(LIVE) data-live="3000" { (table) }
    };
    Ok(frame("Tenants", "/tenants", body).into_response())
}

fn order(a: &TenantRow, b: &TenantRow, key: &str) -> Ordering {
    let by_name = || a.name.to_lowercase().cmp(&b.name.to_lowercase());
    let f = |x: Option<f64>| x.unwrap_or(f64::NEG_INFINITY);
    let o = match key {
        "ready" => a
            .check
            .as_ref()
            .map(|c| c.ready)
            .cmp(&b.check.as_ref().map(|c| c.ready)),
        "synced" => {
            let t = |r: &TenantRow| r.run.as_ref().and_then(|x| x.started_at.clone());
            t(a).cmp(&t(b))
        }
        "open" => a.open_total().cmp(&b.open_total()),
        "high" => a.open[0].cmp(&b.open[0]),
        "risk" => a.high_risk.cmp(&b.high_risk),
        "exposure" => f(a.exposure).total_cmp(&f(b.exposure)),
        _ => Ordering::Equal,
    };
    o.then_with(by_name)
}

fn consent(t: &TenantRow) -> Markup {
    html! {
        @match &t.check {
            None => span class="muted" { "not checked" },
            Some(c) => {
                @if c.ready { span class="ok" { "✓ ready" } } @else { span class="bad" { "✗ " (c.status) } }
                @if let Some(code) = c.aadsts { " " span class="muted" { "AADSTS" (code) } }
                @if !c.missing.is_empty() || !c.graph_missing.is_empty() {
                    div class="missing" {
                        "missing: "
                        @for r in c.missing.iter().chain(&c.graph_missing) { span class="tag" { (r) } }
                    }
                }
                @if let Some(h) = &c.hint { div class="muted" { (h) } }
                div class="muted" { "checked " (when(c.checked_at.as_deref())) }
            }
        }
    }
}

fn last_sync(t: &TenantRow) -> Markup {
    html! {
        @match &t.run {
            None => span class="muted" { "never synced" },
            Some(r) => {
                @match &r.finished_at {
                    None => span class="warn" { "running since " (when(r.started_at.as_deref())) },
                    Some(f) => {
                        (when(Some(f)))
                        @if r.errors > 0 {
                            div class="bad" { (r.errors) " errors: " (r.message.as_deref().unwrap_or("")) }
                        } @else {
                            div class="ok" { "ok" span class="muted" { " · " (r.new_rows) " new, " (r.updated_rows) " updated" } }
                        }
                    }
                }
            }
        }
    }
}

fn live_table(p: &Params, rows: &[TenantRow], sort: &str, desc: bool) -> Markup {
    let open: u64 = rows.iter().map(TenantRow::open_total).sum();
    let not_ready = rows
        .iter()
        .filter(|t| t.check.as_ref().is_some_and(|c| !c.ready))
        .count();
    html! {
        p id="summary" {
            (count(rows.len() as u64)) " tenants · "
            span class=[(not_ready > 0).then_some("bad")] { (not_ready) " not ready" }
            " · " (count(open)) " open alerts"
        }
        table id="tenants" {
            thead { tr {
                (sort_header(p, "name", "Tenant", sort, desc, false))
                (sort_header(p, "ready", "Consent and token", sort, desc, false))
                (sort_header(p, "synced", "Last sync", sort, desc, false))
                (sort_header(p, "open", "Open alerts", sort, desc, true))
                @for s in SEVERITIES {
                    @if s == "High" { (sort_header(p, "high", "High", sort, desc, true)) }
                    @else { th class="num" { (s) } }
                }
                th class="num" { "Devices" }
                (sort_header(p, "risk", "High-risk devices", sort, desc, true))
                (sort_header(p, "exposure", "Exposure score", sort, desc, true))
            } }
            tbody {
                @for t in rows {
                    tr data-tenant=(t.key) {
                        td {
                            a href={ "/alerts?tenant=" (qv(&t.key)) } { (t.name) }
                            div { @for g in &t.tags { span class="tag" { (g) } } }
                        }
                        td { (consent(t)) }
                        td { (last_sync(t)) }
                        td class="num" data-col="open" { (t.open_total()) }
                        @for (i, s) in SEVERITIES.iter().enumerate() {
                            td class="num" {
                                @if t.open[i] > 0 {
                                    a href={ "/alerts?tenant=" (qv(&t.key)) "&severity=" (s) "&open=1" } { (t.open[i]) }
                                } @else { "0" }
                            }
                        }
                        td class="num" { (t.devices) }
                        td class="num" { @if t.high_risk > 0 { (severity("High")) " " } (t.high_risk) }
                        td class="num" {
                            @match t.exposure {
                                Some(x) => (format!("{x:.1}")),
                                None => span class="muted" title=[t.score_message.as_deref()] { "n/a" },
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The tenants as export rows.
fn table_rows(rows: &[TenantRow]) -> Rows {
    let mut columns: Vec<String> = [
        "tenant",
        "tenant_id",
        "tags",
        "ready",
        "status",
        "missing_roles",
        "checked_at",
        "last_sync_started",
        "last_sync_finished",
        "last_sync_errors",
        "last_sync_message",
    ]
    .map(String::from)
    .to_vec();
    columns.extend(SEVERITIES.map(|s| format!("open_{}", s.to_lowercase())));
    columns.extend(
        [
            "open_total",
            "devices",
            "high_risk_devices",
            "exposure_score",
            "configuration_score",
        ]
        .map(String::from),
    );
    let s = |v: Option<&String>| v.map_or(Value::Null, |x| Value::String(x.clone()));
    let out = rows
        .iter()
        .map(|t| {
            let c = t.check.as_ref();
            let r = t.run.as_ref();
            let mut v = vec![
                Value::String(t.name.clone()),
                Value::String(t.key.clone()),
                Value::String(t.tags.join(" ")),
                c.map_or(Value::Null, |c| Value::Bool(c.ready)),
                s(c.map(|c| &c.status)),
                Value::String(
                    c.map(|c| {
                        [c.missing.clone(), c.graph_missing.clone()]
                            .concat()
                            .join(" ")
                    })
                    .unwrap_or_default(),
                ),
                s(c.and_then(|c| c.checked_at.as_ref())),
                s(r.and_then(|r| r.started_at.as_ref())),
                s(r.and_then(|r| r.finished_at.as_ref())),
                r.map_or(Value::Null, |r| r.errors.into()),
                s(r.and_then(|r| r.message.as_ref())),
            ];
            v.extend(t.open.iter().map(|n| Value::from(*n)));
            v.push(t.open_total().into());
            v.push(t.devices.into());
            v.push(t.high_risk.into());
            v.push(t.exposure.map_or(Value::Null, Value::from));
            v.push(t.configuration.map_or(Value::Null, Value::from));
            v
        })
        .collect();
    Rows { columns, rows: out }
}

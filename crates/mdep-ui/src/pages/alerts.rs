//! `GET /alerts`: every tenant's alerts in one table, newest first, filtered by tenant,
//! severity, status, time and text, paged by keyset (a page of 100 out of 100,000 reads
//! 101 rows, never the rest); `GET /alerts/{tenant}/{id}`: one alert with its evidence
//! and raw JSON.

use super::listing::TablePage;
use crate::controls::{Paging, multi_select, pager, summary, tenant_select};
use crate::layout::{frame, qv, segment as seg, severity, when};
use crate::params::Params;
use crate::queries::{Listing, SEVERITIES, STATUSES, contains, of_tenants, tagged, text};
use crate::{Ui, UiError};
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use mdep_sync::view::Conditions;
use std::sync::Arc;

const KEYS: &[&str] = &[
    "tenant", "tag", "severity", "status", "open", "from", "to", "q", "after", "before", "pos",
    "size", "format",
];
const LIVE: &str = "alerts-live";
const KEY_COLS: &[&str] = &["a.alert_creation_time", "a.tenant", "a.id"];
const FROM: &str = "alerts a LEFT JOIN tenants t ON t.tenant = a.tenant";

/// The filters of the alert table, applied to `c`.
fn filters(c: &mut Conditions, p: &Params, known: &[(String, String)]) -> Result<(), UiError> {
    of_tenants(c, "a", &p.all("tenant"), known);
    if let Some(g) = p.one("tag") {
        tagged(c, g);
    }
    c.one_of("a.severity", &p.choices("severity", &SEVERITIES)?);
    c.one_of("a.status", &p.choices("status", &STATUSES)?);
    if p.choice("open", &["1", "true", "yes"])?.is_some() {
        c.push("(a.status IS NULL OR a.status <> 'Resolved')".into());
    }
    for (key, op, end) in [("from", ">=", false), ("to", "<=", true)] {
        if let Some(t) = p.time(key, end)? {
            let p = c.param(t);
            let v = if c.is_postgres() {
                format!("{p}::timestamptz")
            } else {
                p
            };
            c.push(format!("a.alert_creation_time {op} {v}"));
        }
    }
    if let Some(q) = p.one("q") {
        contains(
            c,
            &["a.title", "a.computer_dns_name", "a.id", "a.category"],
            q,
        );
    }
    Ok(())
}

/// The alert table.
const PAGE: TablePage = TablePage {
    title: "Alerts",
    path: "/alerts",
    name: "alerts",
    live: LIVE,
    keys: KEYS,
    filters,
    export_sql: |c| mdep_sync::view::alerts_sql(c, &mdep_sync::view::AlertFilter::default()),
    listing,
    table,
    form,
};

/// `GET /alerts`.
pub async fn list(
    State(ui): State<Arc<Ui>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    PAGE.answer(&ui, query.as_deref(), &headers).await
}

fn listing(c: &Conditions) -> Listing<'static> {
    Listing {
        select: format!(
            "a.tenant AS tenant_key, COALESCE(t.name, a.tenant) AS tenant, a.id, a.severity, a.status, a.title,
             a.computer_dns_name, a.machine_id, a.category, {}, {}",
            c.utc_text("a", "alert_creation_time"),
            c.utc_text("a", "last_update_time")
        ),
        from: FROM,
        keys: KEY_COLS,
        time_keys: &[true, false, false],
        desc: true,
    }
}

fn form(p: &Params, tenants: &[(String, String)]) -> Markup {
    html! {
        (tenant_select(tenants, &p.all("tenant")))
        (multi_select(p, "Severity", "severity", &SEVERITIES))
        (multi_select(p, "Status", "status", &STATUSES))
        label { "Open only" input type="checkbox" name="open" value="1" checked[p.one("open").is_some()]; }
        label { "Created from" input type="date" name="from" value=[p.one("from")]; }
        label { "to" input type="date" name="to" value=[p.one("to")]; }
        label { "Text" input type="search" name="q" value=[p.one("q")] placeholder="title, device, id"; }
    }
}

fn table(p: &Params, pg: &crate::queries::Page, at: &Paging) -> Markup {
    html! {
        (summary("Alerts", pg, at))
        table id="alerts" {
            thead { tr {
                th { "Created" } th { "Tenant" } th { "Severity" } th { "Status" } th { "Title" }
                th { "Device" } th { "Category" } th { "Updated" }
            } }
            tbody {
                @for r in &pg.rows.rows {
                    @let (tk, id) = (text(&r[0]).unwrap_or_default(), text(&r[2]).unwrap_or_default());
                    tr data-id=(id) {
                        td { (when(text(&r[9]).as_deref())) }
                        td { (text(&r[1]).unwrap_or_default()) }
                        td { (severity(&text(&r[3]).unwrap_or_default())) }
                        td { (text(&r[4]).unwrap_or_default()) }
                        td { a class="detail" href=(format!("/alerts/{}/{}", seg(&tk), seg(&id))) { (text(&r[5]).unwrap_or_else(|| id.clone())) } }
                        td {
                            @if let Some(m) = text(&r[7]) {
                                a href=(format!("/devices/{}/{}", seg(&tk), seg(&m))) { (text(&r[6]).unwrap_or(m.clone())) }
                            }
                        }
                        td { (text(&r[8]).unwrap_or_default()) }
                        td { (when(text(&r[10]).as_deref())) }
                    }
                }
            }
        }
        (pager(p, pg, at, "/alerts"))
    }
}

/// `GET /alerts/{tenant}/{id}`.
pub async fn detail(
    State(ui): State<Arc<Ui>>,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let Some((name, raw)) = ui.stored("alerts", &tenant, &id).await? else {
        return Err(UiError::NotFound(format!(
            "no alert {id} in tenant {tenant}"
        )));
    };
    let field = |k: &str| text(&raw[k]);
    let title = field("title").unwrap_or_else(|| id.clone());
    let keys = [
        "id",
        "incidentId",
        "severity",
        "status",
        "classification",
        "determination",
        "category",
        "detectionSource",
        "threatFamilyName",
        "assignedTo",
        "alertCreationTime",
        "firstEventTime",
        "lastEventTime",
        "lastUpdateTime",
        "resolvedTime",
    ];
    let evidence = raw["evidence"].as_array().cloned().unwrap_or_default();
    let body = html! {
        p { a href={ "/alerts?tenant=" (qv(&tenant)) } { "← " (name) "'s alerts" } }
        h1 { (title) }
        dl class="fields" id="alert-fields" {
            dt { "Tenant" } dd { (name) }
            @for k in keys {
                @if let Some(v) = field(k) { dt { (k) } dd data-field=(k) { (v) } }
            }
            @if let Some(m) = field("machineId") {
                dt { "Device" }
                dd { a href=(format!("/devices/{}/{}", seg(&tenant), seg(&m))) { (field("computerDnsName").unwrap_or(m.clone())) } }
            }
        }
        @if let Some(d) = field("description") { h2 { "Description" } p { (d) } }
        h2 { "Evidence (" (evidence.len()) ")" }
        @if evidence.is_empty() {
            p class="muted" { "No evidence in the stored alert (it is read with $expand=evidence)." }
        } @else {
            table id="evidence" {
                thead { tr { th { "Entity" } th { "Details" } } }
                tbody {
                    @for e in &evidence {
                        tr {
                            td { (text(&e["entityType"]).unwrap_or_default()) }
                            td {
                                @if let Some(o) = e.as_object() {
                                    @for (k, v) in o {
                                        @if k != "entityType" && !v.is_null() {
                                            span class="tag" { (k) ": " (text(v).unwrap_or_default()) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Raw JSON" }
        pre class="raw" id="raw-json" { (serde_json::to_string_pretty(&raw).unwrap_or_default()) }
    };
    Ok(frame(&title, "/alerts", body).into_response())
}

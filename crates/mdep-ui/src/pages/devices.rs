//! `GET /devices`: every tenant's devices, by name, filtered by tenant, health, risk,
//! platform and text, paged by keyset, each with its open alerts; `GET
//! /devices/{tenant}/{id}`: one device, its alerts and its raw JSON.

use super::listing::TablePage;
use crate::controls::{Paging, multi_select, pager, summary, tenant_select};
use crate::layout::{frame, qv, segment as seg, severity, when};
use crate::params::Params;
use crate::queries::{HEALTH, Listing, RISK, contains, of_tenants, tagged, text};
use crate::{Ui, UiError};
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use mdep_sync::view::Conditions;
use std::sync::Arc;

const KEYS: &[&str] = &[
    "tenant", "tag", "health", "risk", "os", "q", "after", "before", "pos", "size", "format",
];
const LIVE: &str = "devices-live";
const KEY_COLS: &[&str] = &["COALESCE(m.computer_dns_name, '')", "m.tenant", "m.id"];
const FROM: &str = "machines m LEFT JOIN tenants t ON t.tenant = m.tenant";
const OPEN: &str =
    "(SELECT COUNT(*) FROM alerts x WHERE x.tenant = m.tenant AND x.machine_id = m.id
     AND (x.status IS NULL OR x.status <> 'Resolved'))";

fn filters(c: &mut Conditions, p: &Params, known: &[(String, String)]) -> Result<(), UiError> {
    of_tenants(c, "m", &p.all("tenant"), known);
    if let Some(g) = p.one("tag") {
        tagged(c, g);
    }
    c.one_of("m.health_status", &p.choices("health", &HEALTH)?);
    c.one_of("m.risk_score", &p.choices("risk", &RISK)?);
    c.any_of("m.os_platform", &p.all("os"));
    if let Some(q) = p.one("q") {
        contains(
            c,
            &[
                "m.computer_dns_name",
                "m.id",
                "m.last_ip_address",
                "m.machine_tags",
            ],
            q,
        );
    }
    Ok(())
}

/// The device table.
const PAGE: TablePage = TablePage {
    title: "Devices",
    path: "/devices",
    name: "devices",
    live: LIVE,
    keys: KEYS,
    filters,
    export_sql: |c| mdep_sync::view::machines_sql(c, &mdep_sync::view::MachineFilter::default()),
    listing,
    table,
    form,
};

/// `GET /devices`.
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
            "m.tenant AS tenant_key, COALESCE(t.name, m.tenant) AS tenant, m.id, m.computer_dns_name, m.os_platform,
             m.health_status, m.risk_score, m.exposure_level, m.last_ip_address, {}, {OPEN} AS open_alerts",
            c.utc_text("m", "last_seen")
        ),
        from: FROM,
        keys: KEY_COLS,
        time_keys: &[false, false, false],
        desc: false,
    }
}

fn form(p: &Params, tenants: &[(String, String)]) -> Markup {
    html! {
        (tenant_select(tenants, &p.all("tenant")))
        (multi_select(p, "Health", "health", &HEALTH))
        (multi_select(p, "Risk", "risk", &RISK))
        label { "Platform" input type="text" name="os" value=[p.one("os")] placeholder="Windows10"; }
        label { "Text" input type="search" name="q" value=[p.one("q")] placeholder="name, id, IP, tag"; }
    }
}

fn table(p: &Params, pg: &crate::queries::Page, at: &Paging) -> Markup {
    html! {
        (summary("Devices", pg, at))
        table id="devices" {
            thead { tr {
                th { "Name" } th { "Tenant" } th { "Platform" } th { "Health" } th { "Risk" }
                th { "Exposure" } th { "Last IP" } th { "Last seen" } th class="num" { "Open alerts" }
            } }
            tbody {
                @for r in &pg.rows.rows {
                    @let (tk, id) = (text(&r[0]).unwrap_or_default(), text(&r[2]).unwrap_or_default());
                    tr data-id=(id) {
                        td { a class="detail" href=(format!("/devices/{}/{}", seg(&tk), seg(&id))) { (text(&r[3]).unwrap_or_else(|| id.clone())) } }
                        td { (text(&r[1]).unwrap_or_default()) }
                        td { (text(&r[4]).unwrap_or_default()) }
                        td { (text(&r[5]).unwrap_or_default()) }
                        td { (severity(&text(&r[6]).unwrap_or_default())) }
                        td { (text(&r[7]).unwrap_or_default()) }
                        td { (text(&r[8]).unwrap_or_default()) }
                        td { (when(text(&r[9]).as_deref())) }
                        td class="num" { (text(&r[10]).unwrap_or_default()) }
                    }
                }
            }
        }
        (pager(p, pg, at, "/devices"))
    }
}

/// `GET /devices/{tenant}/{id}`.
pub async fn detail(
    State(ui): State<Arc<Ui>>,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let Some((name, raw)) = ui.stored("machines", &tenant, &id).await? else {
        return Err(UiError::NotFound(format!(
            "no device {id} in tenant {tenant}"
        )));
    };
    let mut a = Conditions::new(ui.pg());
    let (pt, pi) = (a.param(tenant.clone()), a.param(id.clone()));
    a.push(format!("a.tenant = {pt} AND a.machine_id = {pi}"));
    let alerts_sql = format!(
        "SELECT a.id, a.severity, a.status, a.title, {} FROM alerts a{} ORDER BY a.alert_creation_time DESC LIMIT 500",
        a.utc_text("a", "alert_creation_time"),
        a.sql()
    );
    let alerts = ui.select(&alerts_sql, &a).await?;
    let title = text(&raw["computerDnsName"]).unwrap_or_else(|| id.clone());
    let keys = [
        "id",
        "osPlatform",
        "version",
        "healthStatus",
        "onboardingStatus",
        "riskScore",
        "exposureLevel",
        "lastIpAddress",
        "lastExternalIpAddress",
        "rbacGroupName",
        "aadDeviceId",
        "firstSeen",
        "lastSeen",
    ];
    let body = html! {
        p { a href={ "/devices?tenant=" (qv(&tenant)) } { "← " (name) "'s devices" } }
        h1 { (title) }
        dl class="fields" id="device-fields" {
            dt { "Tenant" } dd { (name) }
            @for k in keys {
                @if let Some(v) = text(&raw[k]) { dt { (k) } dd data-field=(k) { (v) } }
            }
            dt { "Tags" }
            dd { @for t in raw["machineTags"].as_array().into_iter().flatten() { span class="tag" { (text(t).unwrap_or_default()) } } }
        }
        h2 { "Alerts (" (alerts.rows.len()) ")" }
        table id="device-alerts" {
            thead { tr { th { "Created" } th { "Severity" } th { "Status" } th { "Title" } } }
            tbody {
                @for r in &alerts.rows {
                    @let aid = text(&r[0]).unwrap_or_default();
                    tr {
                        td { (when(text(&r[4]).as_deref())) }
                        td { (severity(&text(&r[1]).unwrap_or_default())) }
                        td { (text(&r[2]).unwrap_or_default()) }
                        td { a href=(format!("/alerts/{}/{}", seg(&tenant), seg(&aid))) { (text(&r[3]).unwrap_or(aid.clone())) } }
                    }
                }
            }
        }
        h2 { "Raw JSON" }
        pre class="raw" id="raw-json" { (serde_json::to_string_pretty(&raw).unwrap_or_default()) }
    };
    Ok(frame(&title, "/devices", body).into_response())
}

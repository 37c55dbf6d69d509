//! `GET /charts`: open alerts by severity per tenant, new alerts per day over 30 days,
//! devices by health and by risk; all tenants or those with one tag.

use crate::charts::{bars, daily, patterns, stacked};
use crate::controls::tag_select;
use crate::layout::{fragment, frame};
use crate::params::Params;
use crate::queries::{int, tagged, text};
use crate::{Ui, UiError};
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};
use mdep_sync::view::Conditions;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

const KEYS: &[&str] = &["tag"];
const LIVE: &str = "charts-live";
/// Tenants drawn in the stacked bars (the most open alerts first).
const TOP: usize = 30;
const DAYS: i64 = 30;

/// `GET /charts`.
pub async fn page(
    State(ui): State<Arc<Ui>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    let p = Params::parse(query.as_deref(), KEYS)?;
    let tag = p.one("tag").map(str::to_lowercase);
    let tenants = ui.tenants().await?;
    let tags: BTreeSet<String> = tenants
        .iter()
        .flat_map(|t| t.tags.iter().cloned())
        .collect();
    let charts = draw(&ui, tenants, tag.as_deref()).await?;
    if fragment(&headers) == Some(LIVE) {
        return Ok(Html(charts.into_string()).into_response());
    }
    let body = html! {
        h1 { "Charts" }
        form class="filters" method="get" action="/charts" {
            (tag_select(&tags, tag.as_deref()))
            button type="submit" { "Show" }
        }
        (patterns())
        div id=(LIVE) data-live="5000" { (charts) }
    };
    Ok(frame("Charts", "/charts", body).into_response())
}

async fn draw(
    ui: &Ui,
    tenants: Vec<crate::queries::TenantRow>,
    tag: Option<&str>,
) -> Result<Markup, UiError> {
    let mut shown: Vec<_> = tenants
        .into_iter()
        .filter(|t| tag.is_none_or(|g| t.tags.iter().any(|x| x.to_lowercase() == g)))
        .collect();
    let n = shown.len();
    shown.sort_by(|a, b| {
        b.open_total()
            .cmp(&a.open_total())
            .then_with(|| a.name.cmp(&b.name))
    });
    let top: Vec<(String, [u64; 5])> = shown
        .iter()
        .take(TOP)
        .map(|t| (t.name.clone(), t.open))
        .collect();

    let today = time::OffsetDateTime::now_utc().date();
    let first = today - time::Duration::days(DAYS - 1);
    let mut c = Conditions::new(ui.pg());
    if let Some(g) = tag {
        tagged(&mut c, g);
    }
    let start = mdep_sync::entity::norm_time(first.midnight().assume_utc());
    let p = c.param(start);
    let cmp = if c.is_postgres() {
        format!("{p}::timestamptz")
    } else {
        p
    };
    c.push(format!("a.alert_creation_time >= {cmp}"));
    let day = if ui.pg() {
        "to_char(a.alert_creation_time AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    } else {
        "substr(a.alert_creation_time, 1, 10)"
    };
    let sql = format!(
        "SELECT {day} AS day, COUNT(*) FROM alerts a LEFT JOIN tenants t ON t.tenant = a.tenant{} GROUP BY 1",
        c.sql()
    );
    let counts: HashMap<String, u64> = ui
        .select(&sql, &c)
        .await?
        .rows
        .iter()
        .filter_map(|r| Some((text(&r[0])?, int(&r[1]))))
        .collect();
    let days: Vec<(String, u64)> = (0..DAYS)
        .map(|i| {
            let d = (first + time::Duration::days(i)).to_string();
            let n = counts.get(&d).copied().unwrap_or(0);
            (d, n)
        })
        .collect();

    let health = device_counts(ui, tag, "health_status").await?;
    let risk = device_counts(ui, tag, "risk_score").await?;
    let caption = if n > TOP {
        format!("Open alerts by severity: the {TOP} tenants with the most, of {n}")
    } else {
        format!("Open alerts by severity, {n} tenants")
    };
    Ok(html! {
        (stacked("chart-open-by-severity", &caption, &top))
        (daily("chart-new-per-day", &format!("New alerts per day, {first} to {today} (UTC)"), &days))
        (bars("chart-devices-health", "Devices by health status", &health))
        (bars("chart-devices-risk", "Devices by risk score", &risk))
    })
}

/// Devices by the value of `col` (`(none)` for none), most first.
async fn device_counts(
    ui: &Ui,
    tag: Option<&str>,
    col: &'static str,
) -> Result<Vec<(String, u64)>, UiError> {
    let mut c = Conditions::new(ui.pg());
    if let Some(g) = tag {
        tagged(&mut c, g);
    }
    let sql = format!(
        "SELECT COALESCE(m.{col}, '(none)'), COUNT(*) FROM machines m LEFT JOIN tenants t ON t.tenant = m.tenant{} GROUP BY 1 ORDER BY 2 DESC",
        c.sql()
    );
    Ok(ui
        .select(&sql, &c)
        .await?
        .rows
        .iter()
        .map(|r| (text(&r[0]).unwrap_or_default(), int(&r[1])))
        .collect())
}

//! The server side of `mdep ui`'s page loads: each page's whole answer (queries and
//! rendering), through `app().oneshot`, no socket or browser. The store is written through
//! mdep-sync's own API: `BENCH_TENANTS` tenants (200) × `BENCH_ALERTS` alerts (500) with
//! evidence, 25 devices each, a check, scores and a sync log per tenant, in SQLite.
//!
//! Run: `cargo bench -p mdep-ui --bench pages` (`BENCH_LOADS` answers per page, 50).
//! It prints `ui_server_<page>_ms_median=…` and `…_p95=…`. The browser's own figures
//! (first byte to rendered table in Chromium) come from `interop/bench_ui.py`.

#![allow(missing_docs)]

use axum::body::Body;
use axum::http::{Request, header};
use http_body_util::BodyExt;
use mdep_sync::entity::Item;
use mdep_sync::store::{Checkpoint, LogEntry, TenantCheck, TenantScores};
use mdep_sync::{Entity, Location, Store};
use mdep_ui::{AccessToken, Ui, app};
use serde_json::json;
use std::time::Instant;
use tower::ServiceExt;

const TOKEN: &str = "bench-token-0123456789abcdef";

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn build(loc: &Location, tenants: usize, alerts: usize) {
    let w = Store::open(loc).await.expect("open");
    let sev = ["High", "Medium", "Low", "Informational"];
    let now = time::OffsetDateTime::now_utc();
    for t in 0..tenants {
        let key = format!("00000000-0000-4000-8000-{t:012}");
        let tags = vec![if t % 2 == 0 {
            "eu".to_owned()
        } else {
            "us".to_owned()
        }];
        w.set_tenant(&key, &format!("Customer{t:03}"), &tags)
            .await
            .expect("tenant");
        let items: Vec<Item> = (0..alerts)
            .map(|i| {
                let created = now - time::Duration::minutes((i * 83 + t * 7) as i64);
                let v = json!({
                    "id": format!("da{t:03}{i:06}"),
                    "severity": sev[(i + t) % 4],
                    "status": (["New", "InProgress", "Resolved"][i % 3]),
                    "title": format!("Suspicious activity {i} on pc{}", i % 25),
                    "category": "Malware",
                    "machineId": format!("m{t:03}{:02}", i % 25),
                    "computerDnsName": format!("pc{}.customer{t}.example", i % 25),
                    "alertCreationTime": created.format(&time::format_description::well_known::Rfc3339).expect("time"),
                    "lastUpdateTime": created.format(&time::format_description::well_known::Rfc3339).expect("time"),
                    "evidence": [{"entityType": "File", "fileName": "x.exe", "sha1": "ab"}],
                });
                Item::from_json(Entity::Alerts, &v).expect("alert")
            })
            .collect();
        w.apply_page(&key, Entity::Alerts, items, &Checkpoint::default())
            .await
            .expect("alerts");
        let devices: Vec<Item> = (0..25)
            .map(|i| {
                let v = json!({
                    "id": format!("m{t:03}{i:02}"),
                    "computerDnsName": format!("pc{i}.customer{t}.example"),
                    "osPlatform": "Windows11",
                    "healthStatus": (["Active", "Inactive"][i % 2]),
                    "riskScore": (["High", "Medium", "Low", "None"][i % 4]),
                    "lastSeen": "2026-11-30T12:00:00Z",
                });
                Item::from_json(Entity::Machines, &v).expect("device")
            })
            .collect();
        w.apply_page(&key, Entity::Machines, devices, &Checkpoint::default())
            .await
            .expect("devices");
        let id = w.log_start(&key, "bench").await.expect("log");
        w.log_finish(id, &LogEntry::default()).await.expect("log");
        w.set_scores(
            &key,
            &TenantScores {
                exposure: Some(30.0 + (t % 40) as f64),
                configuration: Some(500.0),
                message: None,
            },
        )
        .await
        .expect("scores");
        w.record_check(&TenantCheck {
            tenant: key.clone(),
            name: format!("Customer{t:03}"),
            ready: t % 50 != 0,
            status: if t % 50 != 0 {
                "ready"
            } else {
                "missing roles"
            }
            .into(),
            missing_roles: if t % 50 != 0 {
                vec![]
            } else {
                vec!["Score.Read.All".into()]
            },
            graph_missing_roles: vec![],
            token_expires: None,
            aadsts: None,
            hint: None,
        })
        .await
        .expect("check");
    }
}

async fn get(ui: &std::sync::Arc<Ui>, cookie: &str, uri: &str) -> (f64, String) {
    let t = Instant::now();
    let res = app(ui.clone())
        .oneshot(
            Request::builder()
                .uri(uri)
                .header(header::COOKIE, cookie)
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("answer");
    assert_eq!(res.status(), 200, "{uri}");
    let body = res.into_body().collect().await.expect("body").to_bytes();
    (
        t.elapsed().as_secs_f64() * 1000.0,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

fn main() {
    let tenants = env_num("BENCH_TENANTS", 200);
    let alerts = env_num("BENCH_ALERTS", 500);
    let loads = env_num("BENCH_LOADS", 50);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tmp");
        let loc = Location::Sqlite(dir.path().join("ui.db"));
        let t = Instant::now();
        build(&loc, tenants, alerts).await;
        println!(
            "store: {tenants} tenants × {alerts} alerts written in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        let token = AccessToken::from_text(TOKEN).expect("token");
        let cookie = format!("{}={TOKEN}", token.cookie_name());
        let ui = Ui::open(&loc, token).await.expect("ui");
        // The 50th page of all alerts, reached by following `after`.
        let mut deep = "/alerts".to_owned();
        for _ in 0..49 {
            let (_, body) = get(&ui, &cookie, &deep).await;
            let next = body
                .split("id=\"page-next\" href=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .expect("a next page");
            deep = next.replace("&amp;", "&");
        }
        let pages = [
            ("tenants", "/tenants".to_owned()),
            ("tenants_sorted", "/tenants?sort=open&dir=desc".to_owned()),
            ("alerts", "/alerts".to_owned()),
            (
                "alerts_filtered",
                "/alerts?severity=High&status=New&tenant=Customer042".to_owned(),
            ),
            (
                "alerts_text",
                "/alerts?q=activity%2042&severity=Medium".to_owned(),
            ),
            ("alerts_page_50", deep),
            (
                "alert_detail",
                "/alerts/00000000-0000-4000-8000-000000000042/da042000042".to_owned(),
            ),
            ("devices", "/devices?risk=High".to_owned()),
            ("charts", "/charts".to_owned()),
            (
                "export_csv_one_tenant",
                "/alerts?format=csv&tenant=Customer042".to_owned(),
            ),
        ];
        for (name, uri) in pages {
            let _ = get(&ui, &cookie, &uri).await;
            let mut ms: Vec<f64> = Vec::with_capacity(loads);
            for _ in 0..loads {
                ms.push(get(&ui, &cookie, &uri).await.0);
            }
            ms.sort_by(f64::total_cmp);
            let p95 = ms[((ms.len() - 1) as f64 * 0.95).round() as usize];
            println!("ui_server_{name}_ms_median={:.1}", ms[ms.len() / 2]);
            println!("ui_server_{name}_ms_p95={p95:.1}");
        }
    });
}

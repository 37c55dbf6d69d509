//! The app without a socket: a store written through `mdep-sync`'s own API, requests by
//! `oneshot`. Browser behaviour (rendering, live refresh, charts) is tested in Chromium
//! by interop/tests/test_ui_browser.py.

use super::*;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use mdep_sync::entity::Item;
use mdep_sync::store::{Checkpoint, LogEntry, TenantCheck, TenantScores};
use mdep_sync::{Entity, Location};
use serde_json::{Value, json};
use tower::ServiceExt;

const TOKEN: &str = "test-token-0123456789abcdef";
const HOSTILE: &str = "<img src=x onerror=alert(1)>";

/// Three tenants: Contoso (12 alerts, one titled with markup, evidence on each),
/// Fabrikam (23 alerts, checked and missing a role), `<b>Evil</b>` (no alerts).
async fn fixture() -> (tempfile::TempDir, Arc<Ui>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let loc = Location::Sqlite(dir.path().join("ui.db"));
    let w = Store::open(&loc).await.expect("open");
    let tenants = [
        ("contoso.example", "Contoso", 12),
        ("fabrikam.example", "Fabrikam", 23),
    ];
    for (key, name, n) in tenants {
        w.set_tenant(key, name, &[String::from("eu")])
            .await
            .expect("tenant");
        let alerts: Vec<Item> = (0..n)
            .map(|i| {
                let sev = ["High", "Medium", "Low", "Informational"][i % 4];
                let title = if key == "contoso.example" && i == 0 {
                    HOSTILE.to_owned()
                } else {
                    format!("{name} alert {i}")
                };
                let v = json!({
                    "id": format!("da{key}-{i:03}"),
                    "severity": sev,
                    "status": if i % 5 == 0 { "Resolved" } else { "New" },
                    "title": title,
                    "category": "Malware",
                    "machineId": format!("m-{key}-{}", i % 3),
                    "computerDnsName": format!("pc{}.{key}", i % 3),
                    "alertCreationTime": format!("2026-11-{:02}T10:{:02}:00Z", 1 + i % 28, i % 60),
                    "lastUpdateTime": "2026-11-30T12:00:00Z",
                    "evidence": [{"entityType": "File", "fileName": "evil.exe", "sha1": "abc"}],
                });
                Item::from_json(Entity::Alerts, &v).expect("alert")
            })
            .collect();
        w.apply_page(key, Entity::Alerts, alerts, &Checkpoint::default())
            .await
            .expect("alerts");
        let devices: Vec<Item> = (0..3)
            .map(|i| {
                let v = json!({
                    "id": format!("m-{key}-{i}"),
                    "computerDnsName": format!("pc{i}.{key}"),
                    "osPlatform": "Windows11",
                    "healthStatus": "Active",
                    "riskScore": if i == 0 { "High" } else { "Low" },
                    "lastSeen": "2026-11-30T12:00:00Z",
                    "machineTags": ["vip"],
                });
                Item::from_json(Entity::Machines, &v).expect("device")
            })
            .collect();
        w.apply_page(key, Entity::Machines, devices, &Checkpoint::default())
            .await
            .expect("devices");
        let id = w.log_start(key, "test").await.expect("log");
        w.log_finish(id, &LogEntry::default()).await.expect("log");
        w.set_scores(
            key,
            &TenantScores {
                exposure: Some(31.5),
                configuration: Some(420.0),
                message: None,
            },
        )
        .await
        .expect("scores");
    }
    w.set_tenant("evil.example", "<b>Evil</b>", &[])
        .await
        .expect("tenant");
    w.record_check(&TenantCheck {
        tenant: "fabrikam.example".into(),
        name: "Fabrikam".into(),
        ready: false,
        status: "missing roles".into(),
        missing_roles: vec!["Machine.Read.All".into()],
        graph_missing_roles: vec![],
        token_expires: None,
        aadsts: None,
        hint: Some("ask the admin to consent again".into()),
    })
    .await
    .expect("check");
    drop(w);
    let r = Store::open_read_only(&loc).await.expect("read-only");
    let ui = Ui::new(r, AccessToken::from_text(TOKEN).expect("token"));
    (dir, ui)
}

fn cookie() -> String {
    let t = AccessToken::from_text(TOKEN).expect("token");
    format!("{}={TOKEN}", t.cookie_name())
}

async fn get(
    ui: &Arc<Ui>,
    uri: &str,
    cookie: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let mut req = Request::builder().uri(uri);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let res = app(ui.clone())
        .oneshot(req.body(Body::empty()).expect("request"))
        .await
        .expect("answer");
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

async fn ok(ui: &Arc<Ui>, uri: &str) -> String {
    let (s, _, body) = get(ui, uri, Some(&cookie())).await;
    assert_eq!(s, StatusCode::OK, "{uri}: {body}");
    body
}

/// The ids in the `data-id` attributes of a page, in order.
fn ids(body: &str) -> Vec<String> {
    body.split("data-id=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn every_page_needs_the_token() {
    let (_d, ui) = fixture().await;
    for uri in [
        "/",
        "/tenants",
        "/charts",
        "/alerts",
        "/alerts?format=csv",
        "/devices",
        "/alerts/contoso.example/dacontoso.example-001",
        "/nowhere",
    ] {
        let (s, _, body) = get(&ui, uri, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{uri}");
        assert!(!body.contains("Contoso"), "{uri} leaked data");
        let (s, _, _) = get(&ui, uri, Some("mdep_ui_00000000=wrong-token-0123456789")).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{uri} with a wrong cookie");
    }
    let (s, _, _) = get(&ui, "/tenants?token=not-the-token-0123456789", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // The stylesheet carries no data and styles the 401 page.
    let (s, h, _) = get(&ui, "/assets/ui.css", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h[header::CONTENT_TYPE], "text/css; charset=utf-8");
}

#[tokio::test]
async fn the_token_link_sets_a_strict_cookie_and_leaves_the_address() {
    let (_d, ui) = fixture().await;
    let (s, h, _) = get(&ui, &format!("/alerts?severity=High&token={TOKEN}"), None).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(h[header::LOCATION], "/alerts?severity=High");
    let c = h[header::SET_COOKIE].to_str().expect("text");
    assert!(c.starts_with(&cookie()), "{c}");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(c.contains(attr), "{attr} missing from {c}");
    }
    let (s, h, _) = get(&ui, "/tenants", Some(&format!("other=1; {}", cookie()))).await;
    assert_eq!(s, StatusCode::OK);
    let csp = h[header::CONTENT_SECURITY_POLICY].to_str().expect("text");
    assert!(csp.contains("script-src 'self'") && csp.contains("default-src 'none'"));
    assert_eq!(h[header::REFERRER_POLICY], "no-referrer");
    // Pages hold customer data and are never cached; the assets are, by version.
    assert_eq!(h[header::CACHE_CONTROL], "no-store");
    let (_, h, _) = get(&ui, "/assets/live.js?v=1", None).await;
    assert!(
        h[header::CACHE_CONTROL]
            .to_str()
            .expect("t")
            .contains("immutable")
    );
    assert!(format!("{:?}", AccessToken::from_text(TOKEN).expect("t")).contains("redacted"));
    assert!(AccessToken::from_text("short").is_err());
    let a = AccessToken::generate().expect("random");
    let b = AccessToken::generate().expect("random");
    assert_ne!(a.expose(), b.expose());
    assert!(a.expose().len() >= 43);
}

#[tokio::test]
async fn oversized_and_unknown_parameters_are_refused() {
    let (_d, ui) = fixture().await;
    let c = cookie();
    let long = "x".repeat(params::MAX_QUERY + 1);
    let (s, _, _) = get(&ui, &format!("/alerts?q={long}"), Some(&c)).await;
    assert_eq!(s, StatusCode::URI_TOO_LONG);
    // Even without a token: the size is checked first.
    let (s, _, _) = get(&ui, &format!("/alerts?q={long}"), None).await;
    assert_eq!(s, StatusCode::URI_TOO_LONG);
    let (s, _, body) = get(&ui, &format!("/alerts?q={}", "y".repeat(300)), Some(&c)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("longer than 256"), "{body}");
    let (s, _, body) = get(&ui, "/alerts?sevrity=High", Some(&c)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("unknown parameter"));
    let (s, _, body) = get(
        &ui,
        "/alerts?severity=%3Cscript%3Ex%3C%2Fscript%3E",
        Some(&c),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(!body.contains("<script>x"), "reflected: {body}");
    assert!(body.contains("&lt;script&gt;x"));
    for bad in [
        "from=yesterday",
        "size=5",
        "after=garbage",
        "pos=-1",
        "format=xml",
    ] {
        let (s, _, _) = get(&ui, &format!("/alerts?{bad}"), Some(&c)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn hostile_filters_are_values_and_hostile_data_is_text() {
    let (_d, ui) = fixture().await;
    for q in [
        "' OR 1=1 --",
        "%' OR '1'='1",
        "\") OR 1=1; DROP TABLE alerts; --",
        "<script>alert(1)</script>",
        "%",
        "_",
    ] {
        let uri = format!("/alerts?q={}", layout::qv(q));
        let body = ok(&ui, &uri).await;
        assert_eq!(ids(&body).len(), 0, "{q} matched rows");
        assert!(!body.contains("<script>alert(1)"), "{q} reflected");
    }
    // The tenant filter is a value too.
    let body = ok(
        &ui,
        &format!("/alerts?tenant={}", layout::qv("x' OR 'a'='a")),
    )
    .await;
    assert_eq!(ids(&body).len(), 0);
    // A title with markup is shown as text, on the list and in the detail.
    let body = ok(&ui, &format!("/alerts?q={}", layout::qv("onerror"))).await;
    assert_eq!(ids(&body), ["dacontoso.example-000"]);
    assert!(!body.contains(HOSTILE));
    assert!(body.contains("&lt;img src=x onerror=alert(1)&gt;"));
    let body = ok(&ui, "/alerts/contoso.example/dacontoso.example-000").await;
    assert!(!body.contains(HOSTILE));
    let body = ok(&ui, "/tenants").await;
    assert!(!body.contains("<b>Evil</b>") && body.contains("&lt;b&gt;Evil&lt;/b&gt;"));
    // The table still stands after the DROP TABLE attempt.
    assert_eq!(ids(&ok(&ui, "/alerts?size=100").await).len(), 35);
}

#[tokio::test]
async fn filters_select_exactly_the_matching_alerts() {
    let (_d, ui) = fixture().await;
    let body = ok(&ui, "/alerts?severity=High&tenant=Fabrikam").await;
    let got = ids(&body);
    // Fabrikam's alerts 0, 4, 8, … 20 are High.
    assert_eq!(got.len(), 6, "{got:?}");
    assert!(got.iter().all(|i| i.starts_with("dafabrikam")));
    let body = ok(&ui, "/alerts?open=1&severity=high&severity=MEDIUM").await;
    let n = ids(&body).len();
    let all = ok(&ui, "/alerts?severity=High&severity=Medium&size=100").await;
    let resolved = ok(&ui, "/alerts?severity=High&severity=Medium&status=Resolved").await;
    assert_eq!(n, ids(&all).len() - ids(&resolved).len());
    let body = ok(&ui, "/alerts?from=2026-11-03&to=2026-11-03").await;
    // Day 3: index 2 of each tenant (Fabrikam's 23 alerts wrap at 28 days, so once).
    assert_eq!(ids(&body).len(), 2, "{:?}", ids(&body));
}

#[tokio::test]
async fn keyset_pages_cover_every_alert_once_in_order() {
    let (_d, ui) = fixture().await;
    let mut seen = Vec::new();
    let mut uri = "/alerts?size=10".to_owned();
    let mut pages = 0;
    loop {
        let body = ok(&ui, &uri).await;
        assert!(body.contains("of <span id=\"total\">35</span>"), "{body}");
        seen.extend(ids(&body));
        pages += 1;
        let Some(next) = body.split("id=\"page-next\" href=\"").nth(1) else {
            break;
        };
        uri = next.split('"').next().expect("href").replace("&amp;", "&");
    }
    assert_eq!(pages, 4);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (35, 35));
    // Newest first; ties in time by tenant, then id, both descending.
    let mut want: Vec<(usize, usize, &str, String)> = Vec::new();
    for (key, n) in [("contoso.example", 12), ("fabrikam.example", 23)] {
        for i in 0..n {
            want.push((1 + i % 28, i % 60, key, format!("da{key}-{i:03}")));
        }
    }
    want.sort();
    want.reverse();
    let want: Vec<String> = want.into_iter().map(|w| w.3).collect();
    assert_eq!(seen, want);
    // Back from the second page gives the first.
    let first = ids(&ok(&ui, "/alerts?size=10").await);
    let body = ok(&ui, "/alerts?size=10").await;
    let next = body.split("id=\"page-next\" href=\"").nth(1).expect("next");
    let second = ok(
        &ui,
        &next.split('"').next().expect("h").replace("&amp;", "&"),
    )
    .await;
    let prev = second
        .split("id=\"page-prev\" href=\"")
        .nth(1)
        .expect("prev");
    let back = ok(
        &ui,
        &prev.split('"').next().expect("h").replace("&amp;", "&"),
    )
    .await;
    assert_eq!(ids(&back), first);
}

#[tokio::test]
async fn exports_have_the_formats_of_mdep_db() {
    let (_d, ui) = fixture().await;
    let csv = ok(&ui, "/alerts?format=csv&tenant=Contoso").await;
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("tenant,id,severity,status,alert_creation_time,last_update_time,device,title")
    );
    assert_eq!(lines.count(), 12);
    let json: Value =
        serde_json::from_str(&ok(&ui, "/alerts?format=json&severity=Low").await).expect("json");
    let rows = json.as_array().expect("array");
    assert_eq!(rows.len(), 9);
    // The raw MDE object with the tenant first, as `mdep db alerts -o json`.
    let first = rows[0].as_object().expect("object");
    assert_eq!(first.keys().next().map(String::as_str), Some("tenant"));
    assert_eq!(first["severity"], "Low");
    assert!(first.contains_key("evidence"));
    let jsonl = ok(&ui, "/devices?format=jsonl&risk=High").await;
    assert_eq!(jsonl.lines().count(), 2);
    let tenants = ok(&ui, "/tenants?format=csv").await;
    assert!(tenants.starts_with("tenant,tenant_id,tags,ready,"));
    assert_eq!(tenants.lines().count(), 4);
}

#[tokio::test]
async fn tenants_show_consent_sync_alerts_risk_and_score() {
    let (_d, ui) = fixture().await;
    let body = ok(&ui, "/tenants?sort=open&dir=desc").await;
    let order: Vec<&str> = body
        .split("data-tenant=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .collect();
    assert_eq!(
        order,
        ["fabrikam.example", "contoso.example", "evil.example"]
    );
    assert!(body.contains("Machine.Read.All"));
    assert!(body.contains("31.5"));
    let tagged = ok(&ui, "/tenants?tag=EU").await;
    assert!(!tagged.contains("data-tenant=\"evil.example\""));
    let json: Value =
        serde_json::from_str(&ok(&ui, "/tenants?format=json&q=fabri").await).expect("json");
    assert_eq!(json[0]["tenant"], "Fabrikam");
    assert_eq!(json[0]["ready"], false);
    assert_eq!(json[0]["missing_roles"], "Machine.Read.All");
    // Open: 23 minus the 5 resolved (0, 5, 10, 15, 20).
    assert_eq!(json[0]["open_total"], 18);
    assert_eq!(json[0]["high_risk_devices"], 1);
}

#[tokio::test]
async fn details_fragments_and_charts() {
    let (_d, ui) = fixture().await;
    let body = ok(&ui, "/alerts/fabrikam.example/dafabrikam.example-004").await;
    assert!(body.contains("evil.exe") && body.contains("id=\"raw-json\""));
    let (s, _, _) = get(&ui, "/alerts/fabrikam.example/nope", Some(&cookie())).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let body = ok(&ui, "/devices/contoso.example/m-contoso.example-0").await;
    // Contoso alerts 0, 3, 6, 9 are on device 0.
    assert_eq!(body.matches("/alerts/contoso.example/").count(), 4);
    let res = app(ui.clone())
        .oneshot(
            Request::builder()
                .uri("/alerts")
                .header(header::COOKIE, cookie())
                .header("mdep-fragment", "alerts-live")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("answer");
    let frag = String::from_utf8_lossy(&res.into_body().collect().await.expect("b").to_bytes())
        .into_owned();
    assert!(frag.starts_with("<p id=\"summary\">") && !frag.contains("<html"));
    let charts = ok(&ui, "/charts").await;
    for id in [
        "chart-open-by-severity",
        "chart-new-per-day",
        "chart-devices-health",
        "chart-devices-risk",
    ] {
        assert!(charts.contains(&format!("id=\"{id}\"")), "{id}");
    }
    // Fabrikam's open High alerts: 4, 8, 12, 16 (0 and 20 are resolved).
    assert!(
        charts.contains("<title>Fabrikam: 4 High</title>"),
        "{charts}"
    );
}

#[tokio::test]
async fn an_older_database_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v1.db");
    let c = rusqlite::Connection::open(&path).expect("open");
    c.execute_batch(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL);
         INSERT INTO schema_migrations VALUES (1, 'v1', '2026-11-01T00:00:00Z');",
    )
    .expect("v1");
    drop(c);
    let token = AccessToken::from_text(TOKEN).expect("token");
    let err = Ui::open(&Location::Sqlite(path), token)
        .await
        .err()
        .expect("refused");
    let msg = err.to_string();
    assert!(
        msg.contains("schema version 1") && msg.contains("run `mdep sync`"),
        "{msg}"
    );
}

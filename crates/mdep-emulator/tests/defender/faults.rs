//! Fault injection from the admin API and the scenario: statuses with `Retry-After`,
//! latency, dropped connections (before and after the request is handled), stalled
//! bodies, targeted by path and tenant, counted.

use super::*;
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;

#[tokio::test]
async fn injected_errors_by_path_share_and_tenant() {
    let e = demu();
    let t = e.token(CONTOSO).await;
    let w = e.token(WOODGROVE).await;
    let r = e
        .admin(
            "POST",
            "/_emulator/faults",
            Some(json!({"path": "/api/alerts*", "status": 503, "retry_after": 7, "share": 0.5})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let r = e.api("GET", "/api/alerts", Some(&t), None).await;
        if r.status == 503 {
            assert_eq!(r.headers["retry-after"], "7");
            r.mde_error(503, "ServiceUnavailable");
        }
        statuses.push(r.status.as_u16());
    }
    assert_eq!(statuses, [200, 503, 200, 503]);
    assert_eq!(
        e.api("GET", "/api/machines", Some(&t), None).await.status,
        200,
        "other paths spared"
    );
    let listed = e.admin("GET", "/_emulator/faults", None).await.json();
    assert_eq!(listed["faults"][0]["injected"], 2);
    assert_eq!(listed["faults"][0]["matched"], 4);
    assert_eq!(
        e.admin("DELETE", "/_emulator/faults", None).await.status,
        204
    );
    assert_eq!(
        e.api("GET", "/api/alerts", Some(&t), None).await.status,
        200
    );

    let r = e
        .admin(
            "POST",
            "/_emulator/faults",
            Some(json!({"tenant": WOODGROVE, "status": 429, "count": 1})),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(
        e.api("GET", "/api/alerts", Some(&t), None).await.status,
        200
    );
    let r = e.api("GET", "/api/alerts", Some(&w), None).await;
    r.mde_error(429, "TooManyRequests");
    assert_eq!(r.headers["retry-after"], "1");
    assert_eq!(
        e.api("GET", "/api/alerts", Some(&w), None).await.status,
        200,
        "spent after one"
    );

    let c = e.admin("GET", "/_emulator/counters", None).await.json();
    assert!(
        c["counters"]
            .as_array()
            .expect("counters")
            .iter()
            .any(|x| x["status"] == 429 && x["tenant"] == WOODGROVE),
        "injected answers are counted: {c}"
    );
    for bad in [
        json!({"status": 404}),
        json!({"path": "/x"}),
        json!({"status": 500, "drop": true}),
        json!({"status": 500, "bogus": 1}),
    ] {
        assert_eq!(
            e.admin("POST", "/_emulator/faults", Some(bad)).await.status,
            400
        );
    }
    assert_eq!(
        e.admin("DELETE", "/_emulator/faults/99", None).await.status,
        404
    );
}

#[tokio::test]
async fn latency_drops_and_the_token_endpoint() {
    let e = demu();
    let t = e.token(CONTOSO).await;
    e.admin(
        "POST",
        "/_emulator/faults",
        Some(json!({"path": "/api/machines", "latency_ms": 300, "count": 1})),
    )
    .await;
    let start = std::time::Instant::now();
    assert_eq!(
        e.api("GET", "/api/machines", Some(&t), None).await.status,
        200
    );
    assert!(start.elapsed() >= std::time::Duration::from_millis(300));

    e.admin(
        "POST",
        "/_emulator/faults",
        Some(json!({"path": "/api/machineactions", "drop": true, "count": 1})),
    )
    .await;
    let req = Request::get("/api/machineactions")
        .header("authorization", format!("Bearer {t}"))
        .body(Body::empty())
        .expect("req");
    let resp = e.app.clone().oneshot(req).await.expect("response head");
    assert!(
        resp.into_body().collect().await.is_err(),
        "the body is cut off"
    );
    assert_eq!(
        e.api("GET", "/api/machineactions", Some(&t), None)
            .await
            .status,
        200
    );

    e.admin("POST", "/_emulator/faults", Some(json!({"path": "*/oauth2/v2.0/token", "tenant": CONTOSO, "status": 503, "retry_after": 3, "count": 1}))).await;
    let r = e
        .post_form(
            &format!("/{CONTOSO}/oauth2/v2.0/token"),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", APP),
                ("client_secret", SECRET),
                ("scope", &format!("{MDE}/.default")),
            ],
        )
        .await;
    assert_eq!(r.status, 503);
    assert_eq!(r.headers["retry-after"], "3");
    assert_eq!(r.json()["error"], "temporarily_unavailable");
    e.token(CONTOSO).await;
    // The admin API is never faulted.
    e.admin("POST", "/_emulator/faults", Some(json!({"status": 500})))
        .await;
    assert_eq!(e.admin("GET", "/_emulator/faults", None).await.status, 200);
}

#[tokio::test]
async fn faults_from_the_scenario() {
    let text = scenario("mde_calls_per_minute = 1000")
        + "\n[[faults]]\npath = \"/api/alerts\"\nstatus = 500\ncount = 1\n";
    let e = emu_from(&text);
    let t = e.token(CONTOSO).await;
    e.api("GET", "/api/alerts", Some(&t), None)
        .await
        .mde_error(500, "InternalServerError");
    assert_eq!(
        e.api("GET", "/api/alerts", Some(&t), None).await.status,
        200
    );
    let bad = scenario("") + "\n[[faults]]\nstatus = 418\n";
    let err = mdep_emulator::scenario::Scenario::parse(&bad, std::path::Path::new("f.toml"))
        .expect_err("418")
        .to_string();
    assert!(
        err.starts_with("f.toml:") && err.contains("status must be 429, 500 or 503"),
        "{err}"
    );
}

#[tokio::test]
async fn quotas_reset_through_the_admin_api() {
    let e = emu_from(&scenario("mde_calls_per_minute = 1"));
    let t = e.token(CONTOSO).await;
    assert_eq!(
        e.api("GET", "/api/alerts", Some(&t), None).await.status,
        200
    );
    e.api("GET", "/api/alerts", Some(&t), None)
        .await
        .mde_error(429, "TooManyRequests");
    assert_eq!(
        e.admin("DELETE", "/_emulator/quotas", None).await.status,
        204
    );
    assert_eq!(
        e.api("GET", "/api/alerts", Some(&t), None).await.status,
        200
    );
}

/// Answers the counters hold for `method route` with `status`.
async fn answered(e: &Emu, method: &str, route: &str, status: u16) -> u64 {
    let c = e.admin("GET", "/_emulator/counters", None).await.json();
    c["counters"]
        .as_array()
        .expect("counters")
        .iter()
        .filter(|x| x["method"] == method && x["route"] == route && x["status"] == status)
        .map(|x| x["count"].as_u64().expect("count"))
        .sum()
}

/// Sends a request and returns its status and whether its body arrived whole.
async fn head_and_body(e: &Emu, method: &str, path: &str, token: &str, body: Value) -> (u16, bool) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "api.securitycenter.localhost")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("req");
    let resp = e.app.clone().oneshot(req).await.expect("response head");
    let status = resp.status().as_u16();
    (status, resp.into_body().collect().await.is_ok())
}

#[tokio::test]
async fn drop_after_carries_the_request_out_and_loses_the_answer() {
    let e = demu();
    let t = e.token(CONTOSO).await;
    let machines = e.api("GET", "/api/machines", Some(&t), None).await.json();
    let m = first(&machines)["id"].as_str().expect("machine").to_owned();
    let alerts = e.api("GET", "/api/alerts", Some(&t), None).await.json();
    let a = first(&alerts)["id"].as_str().expect("alert").to_owned();
    for path in [
        "/api/machines/*/isolate",
        "/api/indicators",
        "/api/alerts/*",
    ] {
        let r = e
            .admin(
                "POST",
                "/_emulator/faults",
                Some(json!({"path": path, "drop_after": true, "count": 1})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json()["drop_after"], true);
    }
    assert_eq!(
        e.admin("DELETE", "/_emulator/counters", None).await.status,
        204
    );

    // Each answer's head comes with the handler's status, its body is cut off.
    let isolate = json!({"Comment": "lost", "IsolationType": "Full"});
    let path = format!("/api/machines/{m}/isolate");
    assert_eq!(
        head_and_body(&e, "POST", &path, &t, isolate).await,
        (201, false)
    );
    let indicator = json!({"indicatorValue": "203.0.113.9", "indicatorType": "IpAddress", "action": "Block", "title": "t", "description": "d"});
    assert_eq!(
        head_and_body(&e, "POST", "/api/indicators", &t, indicator).await,
        (200, false)
    );
    let update = json!({"status": "InProgress", "comment": "answer lost"});
    let path = format!("/api/alerts/{a}");
    assert_eq!(
        head_and_body(&e, "PATCH", &path, &t, update).await,
        (200, false)
    );

    // What they asked for happened, once.
    let q = format!("/api/machineactions?$filter=machineId eq '{m}' and type eq 'Isolate'");
    let actions = e.api("GET", &q, Some(&t), None).await.json();
    assert_eq!(
        actions["value"].as_array().map(Vec::len),
        Some(1),
        "{actions}"
    );
    let q = "/api/indicators?$filter=indicatorValue eq '203.0.113.9'";
    let found = e.api("GET", q, Some(&t), None).await.json();
    assert_eq!(found["value"].as_array().map(Vec::len), Some(1), "{found}");
    let alert = e
        .api("GET", &format!("/api/alerts/{a}"), Some(&t), None)
        .await
        .json();
    assert_eq!(alert["status"], "InProgress");
    let comments = alert["comments"].as_array().expect("comments");
    assert_eq!(
        comments
            .iter()
            .filter(|c| c["comment"] == "answer lost")
            .count(),
        1
    );
    // Counted once each, with the status the handler gave.
    assert_eq!(
        answered(&e, "POST", "/api/machines/{id}/isolate", 201).await,
        1
    );
    assert_eq!(answered(&e, "POST", "/api/indicators", 200).await, 1);
    assert_eq!(answered(&e, "PATCH", "/api/alerts/{id}", 200).await, 1);
    // Spent: the next answers arrive whole.
    let path = format!("/api/alerts/{a}");
    assert_eq!(
        head_and_body(&e, "PATCH", &path, &t, json!({"status": "Resolved"})).await,
        (200, true)
    );
}

#[tokio::test]
async fn slow_body_sends_the_head_then_stalls_mid_body() {
    let e = demu();
    let t = e.token(CONTOSO).await;
    let whole = e.api("GET", "/api/machines", Some(&t), None).await.json();
    e.admin(
        "POST",
        "/_emulator/faults",
        Some(json!({"path": "/api/machines", "slow_body_ms": 300, "count": 1})),
    )
    .await;
    let req = Request::get("/api/machines")
        .header("host", "api.securitycenter.localhost")
        .header("authorization", format!("Bearer {t}"))
        .body(Body::empty())
        .expect("req");
    let start = std::time::Instant::now();
    let resp = e.app.clone().oneshot(req).await.expect("response head");
    assert_eq!(resp.status(), 200);
    let stall = std::time::Duration::from_millis(300);
    let mut body = resp.into_body();
    let part = body
        .frame()
        .await
        .expect("a frame")
        .expect("data")
        .into_data()
        .expect("data");
    assert!(
        !part.is_empty() && start.elapsed() < stall,
        "half the body at once"
    );
    let rest = body.collect().await.expect("the rest").to_bytes();
    assert!(start.elapsed() >= stall, "then the stall");
    let mut all = part.to_vec();
    all.extend_from_slice(&rest);
    let v: Value = serde_json::from_slice(&all).expect("the whole answer");
    assert_eq!(v, whole);
    let start = std::time::Instant::now();
    assert_eq!(
        e.api("GET", "/api/machines", Some(&t), None).await.status,
        200
    );
    assert!(start.elapsed() < stall, "spent after one");

    // One fault kind at a time; a stall is 1 ms to 10 minutes.
    for bad in [
        json!({"drop_after": true, "status": 503}),
        json!({"drop_after": true, "drop": true}),
        json!({"slow_body_ms": 100, "drop_after": true}),
        json!({"slow_body_ms": 100, "status": 429}),
        json!({"slow_body_ms": 0}),
        json!({"slow_body_ms": 600_001}),
        json!({"drop_after": "yes"}),
    ] {
        let r = e
            .admin("POST", "/_emulator/faults", Some(bad.clone()))
            .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
    }
    let ok = json!({"slow_body_ms": 50, "latency_ms": 10, "path": "/api/alerts*"});
    assert_eq!(
        e.admin("POST", "/_emulator/faults", Some(ok)).await.status,
        201
    );
}

#[tokio::test]
async fn drop_after_and_slow_body_from_the_scenario() {
    let text = scenario("mde_calls_per_minute = 1000")
        + "\n[[faults]]\npath = \"/api/alerts/*\"\ndrop_after = true\ncount = 1\n\n[[faults]]\npath = \"/api/machines\"\nslow_body_ms = 20\n";
    let e = emu_from(&text);
    let t = e.token(CONTOSO).await;
    let listed = e.admin("GET", "/_emulator/faults", None).await.json();
    assert_eq!(listed["faults"][0]["drop_after"], true, "{listed}");
    assert_eq!(listed["faults"][1]["slow_body_ms"], 20, "{listed}");
    let alerts = e.api("GET", "/api/alerts", Some(&t), None).await.json();
    let a = first(&alerts)["id"].as_str().expect("alert").to_owned();
    let path = format!("/api/alerts/{a}");
    assert_eq!(
        head_and_body(&e, "PATCH", &path, &t, json!({"status": "Resolved"})).await,
        (200, false)
    );
    let alert = e.api("GET", &path, Some(&t), None).await.json();
    assert_eq!(alert["status"], "Resolved", "carried out");
    let bad = scenario("") + "\n[[faults]]\ndrop_after = true\ndrop = true\n";
    let err = mdep_emulator::scenario::Scenario::parse(&bad, std::path::Path::new("f.toml"))
        .expect_err("two kinds")
        .to_string();
    assert!(
        err.starts_with("f.toml:") && err.contains("give one of"),
        "{err}"
    );
}

/// `GET /api` without a token, sent to `host` (port and case as given).
async fn probe(e: &Emu, host: &str) -> (u16, std::time::Duration) {
    let req = Request::get("/api")
        .header("host", host)
        .body(Body::empty())
        .expect("req");
    let start = std::time::Instant::now();
    let resp = e.app.clone().oneshot(req).await.expect("response");
    let status = resp.status().as_u16();
    resp.into_body().collect().await.expect("body");
    (status, start.elapsed())
}

#[tokio::test]
async fn host_faults_apply_only_to_requests_for_that_host() {
    let text = scenario("mde_calls_per_minute = 1000")
        + "\n[[faults]]\nhost = \"eu.api.security.microsoft.com\"\nlatency_ms = 120\n";
    let e = emu_from(&text);
    let listed = e.admin("GET", "/_emulator/faults", None).await.json();
    assert_eq!(
        listed["faults"][0]["host"], "eu.api.security.microsoft.com",
        "{listed}"
    );
    // Any Host is served: the unauthenticated probe is refused as MDE refuses it.
    let (status, took) = probe(&e, "EU.api.security.microsoft.com:443").await;
    assert_eq!(status, 401);
    assert!(
        took >= std::time::Duration::from_millis(120),
        "latency applied: {took:?}"
    );
    for other in [
        "us.api.security.microsoft.com",
        "api.securitycenter.microsoft.com",
        "127.0.0.1:8443",
        "eu.api.security.microsoft.com.example",
    ] {
        assert_eq!(probe(&e, other).await.0, 401, "{other}");
    }
    let listed = e.admin("GET", "/_emulator/faults", None).await.json();
    assert_eq!(listed["faults"][0]["matched"], 1, "{listed}");
    assert_eq!(listed["faults"][0]["injected"], 1, "{listed}");

    // An authenticated call under a regional name is answered like any other.
    let t = e.token(CONTOSO).await;
    let req = Request::get("/api/machines")
        .header("host", "uk.api.security.microsoft.com")
        .header("authorization", format!("Bearer {t}"))
        .body(Body::empty())
        .expect("req");
    assert_eq!(
        e.app.clone().oneshot(req).await.expect("resp").status(),
        200
    );

    // Per-host faults from the admin API; the first that matches decides.
    e.admin("DELETE", "/_emulator/faults", None).await;
    for spec in [
        json!({"host": "uk.api.security.microsoft.com", "status": 503}),
        json!({"path": "/api", "status": 429}),
    ] {
        let r = e.admin("POST", "/_emulator/faults", Some(spec)).await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let req = Request::get("/api")
        .header("host", "uk.api.security.microsoft.com")
        .body(Body::empty())
        .expect("req");
    let r = e.send(req).await;
    r.mde_error(503, "ServiceUnavailable");
    assert_eq!(probe(&e, "au.api.security.microsoft.com").await.0, 429);
    // Graph's root under a faulted name answers in Graph's envelope.
    e.admin(
        "POST",
        "/_emulator/faults",
        Some(json!({"host": "graph.microsoft.com", "path": "/v1.0", "status": 503})),
    )
    .await;
    let req = Request::get("/v1.0")
        .header("host", "graph.microsoft.com")
        .body(Body::empty())
        .expect("req");
    let r = e.send(req).await;
    assert_eq!(r.status, 503);
    assert_eq!(
        r.json()["error"]["code"],
        "ServiceNotAvailable",
        "{}",
        r.text()
    );
    for bad in [
        json!({"host": "https://eu.api.security.microsoft.com", "latency_ms": 5}),
        json!({"host": "eu.api.security.microsoft.com:443", "latency_ms": 5}),
        json!({"host": "", "latency_ms": 5}),
    ] {
        let r = e
            .admin("POST", "/_emulator/faults", Some(bad.clone()))
            .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
    }
    let bad = scenario("") + "\n[[faults]]\nhost = \"eu/api\"\nlatency_ms = 5\n";
    let err = mdep_emulator::scenario::Scenario::parse(&bad, std::path::Path::new("f.toml"))
        .expect_err("bad host")
        .to_string();
    assert!(
        err.starts_with("f.toml:") && err.contains("host 'eu/api'"),
        "{err}"
    );
}

//! Fault injection from the admin API and the scenario: statuses with `Retry-After`,
//! latency, dropped connections, targeted by path and tenant, counted.

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

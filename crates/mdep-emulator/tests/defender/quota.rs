//! Quotas per (tenant, app), and the request counters that attribute calls to tenants.

use super::*;

#[tokio::test]
async fn over_quota_is_429_with_retry_after() {
    let e = emu_from(&scenario("mde_calls_per_minute = 5"));
    let t = e.token(CONTOSO).await;
    for _ in 0..5 {
        assert_eq!(
            e.api("GET", "/api/machines", Some(&t), None).await.status,
            200
        );
    }
    let r = e.api("GET", "/api/alerts", Some(&t), None).await;
    let msg = r.mde_error(429, "TooManyRequests");
    assert!(msg.contains("5 calls per minute"), "{msg}");
    let secs: u64 = r.headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&secs), "{secs}");
    // The quota is per (tenant, app): the same app in another tenant, and another app in
    // this tenant, are not throttled.
    let w = e.token(WOODGROVE).await;
    assert_eq!(
        e.api("GET", "/api/machines", Some(&w), None).await.status,
        200
    );
    let other = e.other_token(CONTOSO).await;
    e.api("GET", "/api/alerts", Some(&other), None)
        .await
        .mde_error(403, "Forbidden");
    // Rejected tokens are not counted against anyone, and come before the quota.
    e.api("GET", "/api/alerts", Some("x.y.z"), None)
        .await
        .mde_error(401, "Unauthorized");
}

#[tokio::test]
async fn hourly_quota_and_defaults() {
    let e = emu_from(&scenario(
        "mde_calls_per_minute = 100\nmde_calls_per_hour = 3",
    ));
    let t = e.token(CONTOSO).await;
    for _ in 0..3 {
        assert_eq!(
            e.api("GET", "/api/machines", Some(&t), None).await.status,
            200
        );
    }
    let r = e.api("GET", "/api/machines", Some(&t), None).await;
    assert!(r.mde_error(429, "TooManyRequests").contains("per hour"));
    let secs: u64 = r.headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(secs > 3500, "{secs}");
    let s = mdep_emulator::defender::DefenderSettings::default();
    assert_eq!(
        (s.limits.per_minute, s.limits.per_hour, s.page_size),
        (100, 1500, 10_000)
    );
}

#[tokio::test]
async fn counters_attribute_api_calls_to_the_tokens_tenant() {
    let e = demu();
    let t = e.token(CONTOSO).await;
    e.api("GET", "/api/alerts", Some(&t), None).await;
    e.api("GET", "/api/alerts", Some(&t), None).await;
    e.api("GET", "/api/alerts/nope", Some(&t), None).await;
    let c = e.admin("GET", "/_emulator/counters", None).await.json();
    let find = |route: &str, status: u16| {
        c["counters"]
            .as_array()
            .expect("counters")
            .iter()
            .find(|x| x["route"] == route && x["status"] == status && x["tenant"] == CONTOSO)
            .map(|x| x["count"].clone())
    };
    assert_eq!(find("/api/alerts", 200), Some(serde_json::json!(2)), "{c}");
    assert_eq!(
        find("/api/alerts/{id}", 404),
        Some(serde_json::json!(1)),
        "{c}"
    );
}

#[test]
fn scenario_keys_are_checked() {
    for (keys, needle) in [
        ("mde_calls_per_minute = 0", "mde_calls_per_minute must be 1"),
        ("mde_page_size = 10001", "mde_page_size must be 1 to 10000"),
        ("machine_action_seconds = 100000", "machine_action_seconds"),
        ("mde_calls_per_hour = -1", ""),
    ] {
        let e = mdep_emulator::scenario::Scenario::parse(
            &scenario(keys),
            std::path::Path::new("s.toml"),
        )
        .expect_err(keys)
        .to_string();
        assert!(
            e.contains(needle) && e.starts_with("s.toml:"),
            "{keys}: {e}"
        );
    }
    let s = mdep_emulator::scenario::Scenario::parse(
        &scenario("mde_calls_per_minute = 7\nmde_calls_per_hour = 70\nmde_page_size = 3\nmachine_action_seconds = 0"),
        std::path::Path::new("s.toml"),
    )
    .expect("valid");
    let d = s.defender();
    assert_eq!(
        (
            d.limits.per_minute,
            d.limits.per_hour,
            d.page_size,
            d.action_seconds
        ),
        (7, 70, 3, 0)
    );
}

#[tokio::test]
async fn methods_with_lower_limits_have_their_own_quota() {
    let e = demu();
    let t = e.token(CONTOSO).await;
    let list = e
        .api("GET", "/api/alerts?$top=1", Some(&t), None)
        .await
        .json();
    let id = first(&list)["id"].clone();
    for _ in 0..10 {
        let r = e
            .api(
                "POST",
                "/api/alerts/batchUpdate",
                Some(&t),
                Some(serde_json::json!({"alertIds": [id], "comment": "c"})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let r = e
        .api(
            "POST",
            "/api/alerts/batchUpdate",
            Some(&t),
            Some(serde_json::json!({"alertIds": [id], "comment": "c"})),
        )
        .await;
    let msg = r.mde_error(429, "TooManyRequests");
    assert!(
        msg.contains("10 calls of alerts/batchUpdate per minute"),
        "{msg}"
    );
    assert_eq!(
        e.api("GET", "/api/alerts?$top=1", Some(&t), None)
            .await
            .status,
        200,
        "the rest goes on"
    );
    let body = serde_json::json!({"Indicators": [{"indicatorValue": "198.51.100.9", "indicatorType": "IpAddress", "action": "Block", "title": "t", "description": "d"}]});
    for _ in 0..30 {
        assert_eq!(
            e.api(
                "POST",
                "/api/indicators/import",
                Some(&t),
                Some(body.clone())
            )
            .await
            .status,
            200
        );
    }
    e.api("POST", "/api/indicators/import", Some(&t), Some(body))
        .await
        .mde_error(429, "TooManyRequests");
}

#[tokio::test]
async fn the_admin_state_shows_the_defender_settings() {
    let e = emu_from(&scenario(
        "mde_page_size = 3\nmachine_action_seconds = 9\n\n[[faults]]\nstatus = 503\npath = \"/api/none\"",
    ));
    let v = e.admin("GET", "/_emulator/state", None).await.json();
    let d = &v["defender"];
    assert_eq!(
        (
            d["mde_page_size"].clone(),
            d["machine_action_seconds"].clone(),
            d["faults"].clone()
        ),
        (
            serde_json::json!(3),
            serde_json::json!(9),
            serde_json::json!(1)
        )
    );
    assert_eq!(d["mde_calls_per_minute"], 100);
    assert_eq!(d["hunting_calls_per_minute"], 45);
}

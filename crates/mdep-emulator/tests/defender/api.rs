//! The endpoints' behaviour: alerts and their updates, related entities, machines and
//! tags, indicators, and data that is deterministic and survives a restart.

use super::*;
use serde_json::json;

#[tokio::test]
async fn alert_get_update_and_related_entities() {
    let e = demu();
    let t = e.token(CONTOSO).await;
    let list = e.api("GET", "/api/alerts", Some(&t), None).await;
    assert_eq!(
        list.headers["content-type"],
        "application/json; odata.metadata=minimal; odata.streaming=true; charset=utf-8"
    );
    assert_eq!(list.headers["odata-version"], "4.0");
    let list = list.json();
    assert_eq!(
        list["@odata.context"],
        "https://api.securitycenter.localhost/api/$metadata#Alerts"
    );
    assert!(list.get("@odata.nextLink").is_none());
    let a = first(&list).clone();
    assert_eq!(
        a["evidence"],
        json!([]),
        "lists carry evidence only with $expand"
    );
    let id = a["id"].as_str().expect("id");
    let one = e
        .api("GET", &format!("/api/alerts/{id}"), Some(&t), None)
        .await
        .json();
    assert!(!one["evidence"].as_array().expect("evidence").is_empty());
    assert_eq!(
        one["@odata.context"],
        "https://api.securitycenter.localhost/api/$metadata#Alerts/$entity"
    );

    let r = e
        .api(
            "PATCH",
            &format!("/api/alerts/{id}"),
            Some(&t),
            Some(json!({"status": "Resolved", "assignedTo": "secop2@contoso.com", "classification": "FalsePositive", "determination": "Clean", "comment": "benign admin script"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let u = r.json();
    assert_eq!(u["status"], "Resolved");
    assert_eq!(u["assignedTo"], "secop2@contoso.com");
    assert_eq!(
        (u["classification"].clone(), u["determination"].clone()),
        (json!("FalsePositive"), json!("Clean"))
    );
    assert!(u["resolvedTime"].is_string());
    let last = u["comments"]
        .as_array()
        .and_then(|c| c.last())
        .expect("comment");
    assert_eq!(last["comment"], "benign admin script");
    assert_eq!(last["createdBy"], APP);
    let again = e
        .api("GET", &format!("/api/alerts/{id}"), Some(&t), None)
        .await
        .json();
    assert_eq!(again["status"], "Resolved", "the update is kept");

    for (body, code) in [
        (json!({"status": "Closed"}), "InvalidInput"),
        (json!({"classification": "Maybe"}), "InvalidInput"),
        (
            json!({"classification": "TruePositive", "determination": "Clean"}),
            "InvalidInput",
        ),
        (json!({"severity": "High"}), "InvalidRequestBody"),
        (json!({}), "InvalidRequestBody"),
        (json!(["status"]), "InvalidRequestBody"),
        (json!({"status": 3}), "InvalidRequestBody"),
    ] {
        let r = e
            .api(
                "PATCH",
                &format!("/api/alerts/{id}"),
                Some(&t),
                Some(body.clone()),
            )
            .await;
        r.mde_error(400, code);
    }
    e.api(
        "PATCH",
        "/api/alerts/da000_1",
        Some(&t),
        Some(json!({"status": "New"})),
    )
    .await
    .mde_error(404, "ResourceNotFound");
    e.api("GET", "/api/alerts/da000_1", Some(&t), None)
        .await
        .mde_error(404, "ResourceNotFound");

    let m = e
        .api("GET", &format!("/api/alerts/{id}/machine"), Some(&t), None)
        .await
        .json();
    assert_eq!(m["id"], a["machineId"]);
    let files = e
        .api("GET", &format!("/api/alerts/{id}/files"), Some(&t), None)
        .await
        .json();
    let sha1s: Vec<&Value> = one["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .filter(|ev| ev["sha1"].is_string())
        .map(|ev| &ev["sha1"])
        .collect();
    let got: Vec<&Value> = files["value"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| &f["sha1"])
        .collect();
    assert_eq!(got, sha1s, "one file per hashed evidence");
    let user = e
        .api("GET", &format!("/api/alerts/{id}/user"), Some(&t), None)
        .await
        .json();
    assert_eq!(user["accountName"], a["relatedUser"]["userName"]);
    let ips = e
        .api("GET", &format!("/api/alerts/{id}/ips"), Some(&t), None)
        .await
        .json();
    let domains = e
        .api("GET", &format!("/api/alerts/{id}/domains"), Some(&t), None)
        .await
        .json();
    assert!(ips["value"].is_array() && domains["value"].is_array());
}

#[tokio::test]
async fn machines_by_id_or_name_tags_logon_users_and_alerts() {
    let e = demu();
    let t = e.token(CONTOSO).await;
    let list = e.api("GET", "/api/machines", Some(&t), None).await.json();
    assert_eq!(list["value"].as_array().map(Vec::len), Some(12));
    let m = first(&list).clone();
    let id = m["id"].as_str().expect("id");
    let by_name = e
        .api(
            "GET",
            &format!(
                "/api/machines/{}",
                m["computerDnsName"].as_str().expect("dns")
            ),
            Some(&t),
            None,
        )
        .await
        .json();
    assert_eq!(by_name["id"], m["id"]);
    let upper = e
        .api(
            "GET",
            &format!("/api/machines/{}", id.to_ascii_uppercase()),
            Some(&t),
            None,
        )
        .await;
    assert_eq!(upper.status, 200);

    for action in ["Add", "Add"] {
        let r = e
            .api(
                "POST",
                &format!("/api/machines/{id}/tags"),
                Some(&t),
                Some(json!({"Value": "Quarantine zone", "Action": action})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let tags = r.json()["machineTags"].clone();
        assert_eq!(
            tags.as_array()
                .expect("tags")
                .iter()
                .filter(|x| *x == "Quarantine zone")
                .count(),
            1,
            "adding twice keeps one"
        );
    }
    let found = e
        .api(
            "GET",
            "/api/machines/findbytag?tag=Quarantine%20zone",
            Some(&t),
            None,
        )
        .await
        .json();
    assert_eq!(found["value"].as_array().map(Vec::len), Some(1));
    let found = e
        .api(
            "GET",
            "/api/machines/findbytag?tag=Quar&useStartsWithFilter=true",
            Some(&t),
            None,
        )
        .await
        .json();
    assert_eq!(found["value"].as_array().map(Vec::len), Some(1));
    let found = e
        .api("GET", "/api/machines/findbytag?tag=Quar", Some(&t), None)
        .await
        .json();
    assert_eq!(found["value"].as_array().map(Vec::len), Some(0));
    e.api("GET", "/api/machines/findbytag", Some(&t), None)
        .await
        .mde_error(400, "MissingRequiredParameter");
    let r = e
        .api(
            "POST",
            &format!("/api/machines/{id}/tags"),
            Some(&t),
            Some(json!({"Value": "Quarantine zone", "Action": "Remove"})),
        )
        .await;
    assert!(
        !r.json()["machineTags"]
            .as_array()
            .expect("tags")
            .iter()
            .any(|x| x == "Quarantine zone")
    );
    e.api(
        "POST",
        &format!("/api/machines/{id}/tags"),
        Some(&t),
        Some(json!({"value": "x", "action": "Add"})),
    )
    .await
    .mde_error(400, "MissingRequiredParameter");
    e.api(
        "POST",
        &format!("/api/machines/{id}/tags"),
        Some(&t),
        Some(json!({"Value": "x", "Action": "Toggle"})),
    )
    .await
    .mde_error(400, "InvalidInput");

    let users = e
        .api(
            "GET",
            &format!("/api/machines/{id}/logonusers"),
            Some(&t),
            None,
        )
        .await
        .json();
    assert!(!users["value"].as_array().expect("users").is_empty());
    let alerts = e
        .api("GET", &format!("/api/machines/{id}/alerts"), Some(&t), None)
        .await
        .json();
    for a in alerts["value"].as_array().expect("alerts") {
        assert_eq!(a["machineId"], m["id"]);
    }
    e.api(
        "GET",
        "/api/machines/0000000000000000000000000000000000000000",
        Some(&t),
        None,
    )
    .await
    .mde_error(404, "ResourceNotFound");
}

#[tokio::test]
async fn indicators_submit_update_import_delete() {
    let e = demu();
    let t = e.token(CONTOSO).await;
    let sample: Value = serde_json::from_str(include_str!(
        "../fixtures/samples/indicators_submit_request.json"
    ))
    .expect("sample");
    let r = e
        .api("POST", "/api/indicators", Some(&t), Some(sample.clone()))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let created = r.json();
    assert_eq!(created["indicatorValue"], sample["indicatorValue"]);
    assert_eq!(created["createdBy"], APP);
    assert_eq!(created["sourceType"], "AadApp");
    assert_eq!(created["rbacGroupNames"], json!(["group1", "group2"]));
    let mut changed = sample.clone();
    changed["title"] = json!("renamed");
    let updated = e
        .api("POST", "/api/indicators", Some(&t), Some(changed))
        .await
        .json();
    assert_eq!(
        updated["id"], created["id"],
        "same type and value: an update"
    );
    assert_eq!(updated["title"], "renamed");

    for (body, code) in [
        (
            json!({"indicatorType": "FileSha1", "action": "Block", "title": "t", "description": "d"}),
            "MissingRequiredParameter",
        ),
        (
            json!({"indicatorValue": "abc", "indicatorType": "FileSha1", "action": "Block", "title": "t", "description": "d"}),
            "InvalidHashValue",
        ),
        (
            json!({"indicatorValue": "10.0.0.0/8", "indicatorType": "IpAddress", "action": "Block", "title": "t", "description": "d"}),
            "InvalidIpAddress",
        ),
        (
            json!({"indicatorValue": "not a domain", "indicatorType": "DomainName", "action": "Block", "title": "t", "description": "d"}),
            "InvalidDomainName",
        ),
        (
            json!({"indicatorValue": "1.2.3.4", "indicatorType": "Ip", "action": "Block", "title": "t", "description": "d"}),
            "InvalidInput",
        ),
        (
            json!({"indicatorValue": "1.2.3.4", "indicatorType": "IpAddress", "action": "Audit", "generateAlert": false, "title": "t", "description": "d"}),
            "InvalidInput",
        ),
    ] {
        e.api("POST", "/api/indicators", Some(&t), Some(body))
            .await
            .mde_error(400, code);
    }

    let import: Value = serde_json::from_str(include_str!(
        "../fixtures/samples/indicators_import_request.json"
    ))
    .expect("sample");
    let r = e
        .api("POST", "/api/indicators/import", Some(&t), Some(import))
        .await
        .json();
    let results = r["value"].as_array().expect("results");
    assert_eq!(results.len(), 2);
    assert!(results.iter().all(|x| x["isFailed"] == false));
    let mixed = json!({"Indicators": [
        {"indicatorValue": "zz", "indicatorType": "FileSha256", "action": "Block", "title": "t", "description": "d"},
        {"indicatorValue": "203.0.113.9", "indicatorType": "IpAddress", "action": "Block", "title": "t", "description": "d"}
    ]});
    let r = e
        .api("POST", "/api/indicators/import", Some(&t), Some(mixed))
        .await
        .json();
    assert_eq!(r["value"][0]["isFailed"], true);
    assert!(
        r["value"][0]["failureReason"]
            .as_str()
            .is_some_and(|s| s.contains("zz"))
    );
    assert_eq!(r["value"][1]["isFailed"], false);
    let too_many: Vec<Value> = (0..501).map(|i| json!({"indicatorValue": format!("10.1.{}.{}", i / 250, i % 250), "indicatorType": "IpAddress", "action": "Block", "title": "t", "description": "d"})).collect();
    e.api(
        "POST",
        "/api/indicators/import",
        Some(&t),
        Some(json!({"Indicators": too_many})),
    )
    .await
    .mde_error(400, "MaximumBatchSizeExceeded");

    let id = created["id"].as_str().expect("id");
    let r = e
        .api("DELETE", &format!("/api/indicators/{id}"), Some(&t), None)
        .await;
    assert_eq!(r.status, 204);
    e.api("DELETE", &format!("/api/indicators/{id}"), Some(&t), None)
        .await
        .mde_error(404, "ResourceNotFound");

    // Ti.ReadWrite sees only its own indicators.
    let own = e.token_with(CONTOSO, &["Ti.ReadWrite"]).await;
    let listed = e
        .api("GET", "/api/indicators", Some(&own), None)
        .await
        .json();
    let values = listed["value"].as_array().expect("list");
    assert!(!values.is_empty());
    assert!(values.iter().all(|i| i["createdBy"] == APP), "{listed}");
    let all = e.token_with(CONTOSO, &["Ti.ReadWrite.All"]).await;
    let everything = e
        .api("GET", "/api/indicators", Some(&all), None)
        .await
        .json();
    assert!(everything["value"].as_array().expect("list").len() > values.len());
}

#[tokio::test]
async fn malformed_bodies_are_400_never_500() {
    let e = demu();
    let t = e.token(CONTOSO).await;
    let list = e.api("GET", "/api/machines", Some(&t), None).await.json();
    let mid = first(&list)["id"].as_str().expect("id").to_owned();
    let req = |path: String, body: &'static str| {
        Request::post(path)
            .header("authorization", format!("Bearer {t}"))
            .header("content-type", "application/json")
            .body(Body::from(body))
            .expect("req")
    };
    for body in ["", "{", "null", "[1]", "\"x\"", "{\"Comment\": {}}"] {
        let r = e
            .send(req(format!("/api/machines/{mid}/isolate"), body))
            .await;
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        let r = e.send(req("/api/indicators".into(), body)).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text());
    }
}

#[tokio::test]
async fn same_seed_same_data_and_it_survives_a_restart() {
    // The same seed and the same clock (data anchored to it, not to the tenants' creation).
    let at = |_| {
        emu_from(&scenario(
            "clock = \"2026-11-01T00:00:00Z\"\nmde_calls_per_minute = 100000\nmde_calls_per_hour = 1000000",
        ))
    };
    let (a, b) = (at(1), at(2));
    let ta = a.token(CONTOSO).await;
    let tb = b.token(CONTOSO).await;
    for path in [
        "/api/alerts?$expand=evidence",
        "/api/machines",
        "/api/machineactions",
        "/api/indicators",
    ] {
        let x = a.api("GET", path, Some(&ta), None).await.json();
        let y = b.api("GET", path, Some(&tb), None).await.json();
        assert_eq!(x["value"], y["value"], "{path}");
    }

    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("emulator.db");
    let open = || {
        let s =
            mdep_emulator::scenario::Scenario::parse(&scenario(""), std::path::Path::new("t.toml"))
                .expect("scenario");
        let state = mdep_emulator::Emulator::open(Some(&db), s.open_options()).expect("open");
        s.apply(&state).expect("apply");
        Emu {
            app: mdep_emulator::app(state.clone(), "https"),
            state,
        }
    };
    let first_run = open();
    let t = first_run.token(CONTOSO).await;
    let alerts = first_run
        .api("GET", "/api/alerts", Some(&t), None)
        .await
        .json();
    let id = first(&alerts)["id"].as_str().expect("id").to_owned();
    let r = first_run
        .api(
            "PATCH",
            &format!("/api/alerts/{id}"),
            Some(&t),
            Some(json!({"assignedTo": "night-shift@contoso.com"})),
        )
        .await;
    assert_eq!(r.status, 200);
    drop(first_run);
    let second = open();
    let t = second.token(CONTOSO).await;
    let again = second
        .api("GET", &format!("/api/alerts/{id}"), Some(&t), None)
        .await
        .json();
    assert_eq!(
        again["assignedTo"], "night-shift@contoso.com",
        "read back from the database"
    );
}

#[tokio::test]
async fn tenants_past_the_memory_limit_are_dropped_and_come_back_unchanged() {
    // One tenant in memory: each call to the other tenant drops this one's data.
    let e = emu_from(&scenario(
        "mde_calls_per_minute = 100000\nmde_calls_per_hour = 1000000\ntenants_in_memory = 1",
    ));
    let t = e.token(CONTOSO).await;
    let w = e.token(WOODGROVE).await;
    let alerts = e.api("GET", "/api/alerts", Some(&t), None).await.json();
    let id = first(&alerts)["id"].as_str().expect("id").to_owned();
    let r = e
        .api(
            "PATCH",
            &format!("/api/alerts/{id}"),
            Some(&t),
            Some(json!({"status": "Resolved", "assignedTo": "night-shift@contoso.com"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let sample: Value = serde_json::from_str(include_str!(
        "../fixtures/samples/indicators_submit_request.json"
    ))
    .expect("sample");
    let created = e
        .api("POST", "/api/indicators", Some(&t), Some(sample.clone()))
        .await
        .json();
    let paths = [
        "/api/alerts?$expand=evidence",
        "/api/machines",
        "/api/machineactions",
        "/api/indicators",
    ];
    let mut before = Vec::new();
    for path in paths {
        before.push(e.api("GET", path, Some(&t), None).await.json()["value"].clone());
    }
    assert_eq!(e.state.defender().tenants_loaded(), 1);

    // Woodgrove's call drops Contoso's data; Contoso's next calls load it again.
    let r = e.api("GET", "/api/alerts", Some(&w), None).await;
    assert_eq!(r.status, 200);
    assert_eq!(e.state.defender().tenants_loaded(), 1, "only Woodgrove now");
    for (path, was) in paths.iter().zip(&before) {
        let now = e.api("GET", path, Some(&t), None).await.json();
        assert_eq!(&now["value"], was, "{path} after the reload");
    }
    let again = e
        .api("GET", &format!("/api/alerts/{id}"), Some(&t), None)
        .await
        .json();
    assert_eq!(again["status"], "Resolved");
    assert_eq!(again["assignedTo"], "night-shift@contoso.com");

    // A new indicator after the reload gets a new id, not the dropped copy's next one.
    e.api("GET", "/api/alerts", Some(&w), None).await;
    let mut other = sample;
    other["indicatorValue"] = json!("ffffffffffffffffffffffffffffffffffffffff");
    let r = e
        .api("POST", "/api/indicators", Some(&t), Some(other))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_ne!(r.json()["id"], created["id"]);
    let list = e.api("GET", "/api/indicators", Some(&t), None).await.json();
    let ids: std::collections::HashSet<String> = list["value"]
        .as_array()
        .expect("value")
        .iter()
        .map(|i| i["id"].to_string())
        .collect();
    assert_eq!(ids.len(), list["value"].as_array().map_or(0, Vec::len));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_updates_survive_tenants_dropped_and_reloaded_meanwhile() {
    // One tenant in memory and two tenants called at once: each call may drop the other
    // tenant's data while its own requests are in flight. No update may be lost.
    let e = std::sync::Arc::new(emu_from(&scenario(
        "mde_calls_per_minute = 100000\nmde_calls_per_hour = 1000000\ntenants_in_memory = 1",
    )));
    let mut work = Vec::new();
    for tenant in [CONTOSO, WOODGROVE] {
        let t = e.token(tenant).await;
        let alerts = e.api("GET", "/api/alerts", Some(&t), None).await.json();
        for a in alerts["value"].as_array().expect("value").iter().take(8) {
            work.push((t.clone(), a["id"].as_str().expect("id").to_owned()));
        }
    }
    let calls = work.iter().map(|(t, id)| {
        let e = e.clone();
        let (t, id) = (t.clone(), id.clone());
        tokio::spawn(async move {
            let r = e
                .api(
                    "PATCH",
                    &format!("/api/alerts/{id}"),
                    Some(&t),
                    Some(json!({"assignedTo": format!("owner-of-{id}@contoso.com")})),
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.text());
            // A read in between makes the other tenant's next call reload.
            e.api("GET", "/api/machines?$top=1", Some(&t), None).await;
        })
    });
    for c in futures_util::future::join_all(calls).await {
        c.expect("task");
    }
    assert!(e.state.defender().tenants_loaded() <= 2);
    for (t, id) in &work {
        let a = e
            .api("GET", &format!("/api/alerts/{id}"), Some(t), None)
            .await
            .json();
        assert_eq!(
            a["assignedTo"],
            format!("owner-of-{id}@contoso.com"),
            "{id}"
        );
    }
}

#[tokio::test]
async fn batch_update_is_all_or_nothing() {
    let e = demu();
    let t = e.token(CONTOSO).await;
    let list = e
        .api(
            "GET",
            "/api/alerts?$filter=status ne 'Resolved'&$top=2",
            Some(&t),
            None,
        )
        .await
        .json();
    let ids: Vec<String> = list["value"]
        .as_array()
        .expect("list")
        .iter()
        .map(|a| a["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(ids.len(), 2);
    let r = e
        .api(
            "POST",
            "/api/alerts/batchUpdate",
            Some(&t),
            Some(json!({"alertIds": [ids[0], "da000_1"], "status": "Resolved"})),
        )
        .await;
    r.mde_error(404, "ResourceNotFound");
    let a = e
        .api("GET", &format!("/api/alerts/{}", ids[0]), Some(&t), None)
        .await
        .json();
    assert_ne!(a["status"], "Resolved", "nothing changed");
    let r = e
        .api("POST", "/api/alerts/batchUpdate", Some(&t), Some(json!({"alertIds": ids, "status": "Resolved", "classification": "TruePositive", "determination": "Malware", "comment": "cleaned"})))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.body.is_empty());
    for id in &ids {
        let a = e
            .api("GET", &format!("/api/alerts/{id}"), Some(&t), None)
            .await
            .json();
        assert_eq!(
            (a["status"].clone(), a["determination"].clone()),
            (json!("Resolved"), json!("Malware"))
        );
    }
    e.api(
        "POST",
        "/api/alerts/batchUpdate",
        Some(&t),
        Some(json!({"alertIds": [], "status": "New"})),
    )
    .await
    .mde_error(400, "MaximumBatchSizeExceeded");
    e.api(
        "POST",
        "/api/alerts/batchUpdate",
        Some(&t),
        Some(json!({"status": "New"})),
    )
    .await
    .mde_error(400, "MissingRequiredParameter");
    e.api(
        "POST",
        "/api/alerts/batchUpdate",
        Some(&t),
        Some(json!({"alertIds": [ids[0]], "severity": "Low"})),
    )
    .await
    .mde_error(400, "InvalidRequestBody");
}

#[tokio::test]
async fn indicators_batch_delete() {
    let e = demu();
    let t = e.token(CONTOSO).await;
    let mut ids = Vec::new();
    for ip in ["198.51.100.1", "198.51.100.2"] {
        let r = e
            .api("POST", "/api/indicators", Some(&t), Some(json!({"indicatorValue": ip, "indicatorType": "IpAddress", "action": "Block", "title": "t", "description": "d"})))
            .await
            .json();
        ids.push(r["id"].as_str().expect("id").to_owned());
    }
    e.api(
        "POST",
        "/api/indicators/BatchDelete",
        Some(&t),
        Some(json!({"IndicatorIds": [ids[0], "999999"]})),
    )
    .await
    .mde_error(404, "ResourceNotFound");
    let r = e
        .api(
            "POST",
            "/api/indicators/BatchDelete",
            Some(&t),
            Some(json!({"IndicatorIds": ids})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let left = e.api("GET", "/api/indicators", Some(&t), None).await.json();
    assert!(
        left["value"]
            .as_array()
            .expect("list")
            .iter()
            .all(|i| !ids.contains(&i["id"].as_str().unwrap_or_default().to_owned()))
    );
    e.api(
        "POST",
        "/api/indicators/BatchDelete",
        Some(&t),
        Some(json!({"IndicatorIds": []})),
    )
    .await
    .mde_error(400, "MaximumBatchSizeExceeded");
}

#[tokio::test]
async fn alerts_related_to_a_file_ip_domain_or_user() {
    let e = demu();
    let t = e.token(CONTOSO).await;
    let list = e
        .api("GET", "/api/alerts?$expand=evidence", Some(&t), None)
        .await
        .json();
    let alerts = list["value"].as_array().expect("list");
    let with_url = alerts
        .iter()
        .find(|a| {
            a["evidence"]
                .as_array()
                .is_some_and(|ev| ev.iter().any(|x| x["url"].is_string()))
        })
        .expect("an alert with a URL");
    let ev = with_url["evidence"].as_array().expect("evidence");
    let pick = |k: &str| ev.iter().find_map(|x| x[k].as_str()).expect(k).to_owned();
    let (sha1, ip, host) = (pick("sha1"), pick("ipAddress"), pick("url"));
    let user = with_url["relatedUser"]["userName"]
        .as_str()
        .expect("user")
        .to_owned();
    for path in [
        format!("/api/files/{sha1}/alerts"),
        format!("/api/ips/{ip}/alerts"),
        format!("/api/domains/{host}/alerts"),
        format!("/api/users/{user}/alerts"),
    ] {
        let r = e.api("GET", &path, Some(&t), None).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        let found = r.json();
        let ids: Vec<&Value> = found["value"]
            .as_array()
            .expect("list")
            .iter()
            .map(|a| &a["id"])
            .collect();
        assert!(ids.contains(&&with_url["id"]), "{path}");
    }
    let none = e
        .api(
            "GET",
            &format!("/api/files/{}/alerts", "a".repeat(40)),
            Some(&t),
            None,
        )
        .await
        .json();
    assert_eq!(
        none["value"],
        json!([]),
        "an unknown file has no alerts, not a 404"
    );
    e.api("GET", "/api/ips/nope/alerts", Some(&t), None)
        .await
        .mde_error(400, "InvalidIpAddress");
}

#[tokio::test]
async fn machine_updates_device_value_and_tags_for_many() {
    let e = demu();
    let t = e.token(CONTOSO).await;
    let list = e
        .api("GET", "/api/machines?$top=3", Some(&t), None)
        .await
        .json();
    let ids: Vec<String> = list["value"]
        .as_array()
        .expect("list")
        .iter()
        .map(|m| m["id"].as_str().expect("id").to_owned())
        .collect();
    let r = e
        .api(
            "POST",
            "/api/machines/AddOrRemoveTagForMultipleMachines",
            Some(&t),
            Some(json!({"Value": "Wave 1", "Action": "Add", "MachineIds": ids})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["value"].as_array().map(Vec::len), Some(3));
    let tagged = e
        .api(
            "GET",
            "/api/machines/findbytag?tag=Wave%201",
            Some(&t),
            None,
        )
        .await
        .json();
    assert_eq!(tagged["value"].as_array().map(Vec::len), Some(3));
    e.api(
        "POST",
        "/api/machines/AddOrRemoveTagForMultipleMachines",
        Some(&t),
        Some(json!({"Value": "Wave 2", "Action": "Add", "MachineIds": [ids[0], "nope"]})),
    )
    .await
    .mde_error(404, "ResourceNotFound");
    let none = e
        .api(
            "GET",
            "/api/machines/findbytag?tag=Wave%202",
            Some(&t),
            None,
        )
        .await
        .json();
    assert_eq!(none["value"], json!([]), "all or nothing");

    let id = &ids[0];
    let m = e
        .api(
            "PATCH",
            &format!("/api/machines/{id}"),
            Some(&t),
            Some(json!({"machineTags": ["a", "b", "a"], "deviceValue": "High"})),
        )
        .await;
    assert_eq!(m.status, 200, "{}", m.text());
    let m = m.json();
    assert_eq!(
        (m["machineTags"].clone(), m["deviceValue"].clone()),
        (json!(["a", "b"]), json!("High"))
    );
    let m = e
        .api(
            "POST",
            &format!("/api/machines/{id}/setDeviceValue"),
            Some(&t),
            Some(json!({"DeviceValue": "Low"})),
        )
        .await
        .json();
    assert_eq!(m["deviceValue"], "Low");
    for (method, path, body, code) in [
        (
            "PATCH",
            format!("/api/machines/{id}"),
            json!({"riskScore": "High"}),
            "InvalidRequestBody",
        ),
        (
            "PATCH",
            format!("/api/machines/{id}"),
            json!({"deviceValue": "Huge"}),
            "InvalidInput",
        ),
        (
            "PATCH",
            format!("/api/machines/{id}"),
            json!({"machineTags": [1]}),
            "InvalidRequestBody",
        ),
        (
            "POST",
            format!("/api/machines/{id}/setDeviceValue"),
            json!({"deviceValue": "Low"}),
            "MissingRequiredParameter",
        ),
    ] {
        e.api(method, &path, Some(&t), Some(body))
            .await
            .mde_error(400, code);
    }
}

#[tokio::test]
async fn investigations_follow_the_alerts() {
    let e = demu();
    let t = e.token(CONTOSO).await;
    let alerts = e
        .api(
            "GET",
            "/api/alerts?$filter=investigationId ne null",
            Some(&t),
            None,
        )
        .await
        .json();
    let alerts = alerts["value"].as_array().expect("alerts");
    let list = e
        .api("GET", "/api/investigations", Some(&t), None)
        .await
        .json();
    assert_eq!(list["value"].as_array().map(Vec::len), Some(alerts.len()));
    let a = &alerts[0];
    let by_alert = e
        .api(
            "GET",
            &format!("/api/investigations/{}", a["id"].as_str().expect("id")),
            Some(&t),
            None,
        )
        .await
        .json();
    assert_eq!(
        by_alert["id"],
        a["investigationId"].as_i64().expect("id").to_string()
    );
    assert_eq!(by_alert["state"], a["investigationState"]);
    let by_id = e
        .api(
            "GET",
            &format!(
                "/api/investigations/{}",
                by_alert["id"].as_str().expect("id")
            ),
            Some(&t),
            None,
        )
        .await
        .json();
    assert_eq!(by_id, by_alert);
    let running = e
        .api(
            "GET",
            "/api/investigations?$filter=state eq 'Running'",
            Some(&t),
            None,
        )
        .await
        .json();
    assert!(
        running["value"]
            .as_array()
            .expect("list")
            .iter()
            .all(|i| i["state"] == "Running" && i["endTime"].is_null())
    );
    e.api("GET", "/api/investigations/1", Some(&t), None)
        .await
        .mde_error(404, "ResourceNotFound");
}

#[tokio::test]
async fn unknown_api_paths_are_401_then_404_with_mde_body() {
    let e = demu();
    let t = e.token(CONTOSO).await;
    for path in [
        "/api/nope",
        "/api/v1.0/machines/x/y/z",
        "/api/librarydocuments",
    ] {
        e.api("GET", path, None, None)
            .await
            .mde_error(401, "Unauthorized");
        let msg = e
            .api("GET", path, Some(&t), None)
            .await
            .mde_error(404, "ResourceNotFound");
        assert!(msg.contains(path), "{msg}");
    }
}

#[tokio::test]
async fn machines_related_to_a_file_domain_or_user() {
    let e = demu();
    let t = e.token(CONTOSO).await;
    let list = e
        .api("GET", "/api/alerts?$expand=evidence", Some(&t), None)
        .await
        .json();
    let alerts = list["value"].as_array().expect("list");
    let a = alerts
        .iter()
        .find(|a| {
            a["evidence"]
                .as_array()
                .is_some_and(|ev| ev.iter().any(|x| x["url"].is_string()))
        })
        .expect("an alert with a URL");
    let ev = a["evidence"].as_array().expect("evidence");
    let sha1 = ev.iter().find_map(|x| x["sha1"].as_str()).expect("sha1");
    let host = ev.iter().find_map(|x| x["url"].as_str()).expect("url");
    let user = a["relatedUser"]["userName"].as_str().expect("user");
    for path in [
        format!("/api/files/{sha1}/machines"),
        format!("/api/domains/{host}/machines"),
        format!("/api/users/{user}/machines"),
    ] {
        let r = e.api("GET", &path, Some(&t), None).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        let ids: Vec<Value> = r.json()["value"]
            .as_array()
            .expect("list")
            .iter()
            .map(|m| m["id"].clone())
            .collect();
        assert!(ids.contains(&a["machineId"]), "{path}: {ids:?}");
    }
    let sha256 = ev
        .iter()
        .find_map(|x| x["sha256"].as_str())
        .expect("sha256");
    e.api(
        "GET",
        &format!("/api/files/{sha256}/machines"),
        Some(&t),
        None,
    )
    .await
    .mde_error(400, "InvalidHashValue");
}

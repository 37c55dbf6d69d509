//! Tenant isolation: a token sees only its own tenant; another tenant's objects, even by
//! their exact ids, are 404 for list, get, update and actions alike.

use super::*;
use serde_json::json;

#[tokio::test]
async fn another_tenants_objects_are_not_found() {
    let e = demu();
    let contoso = e.token(CONTOSO).await;
    let woodgrove = e.token(WOODGROVE).await;
    let c_alerts = e
        .api("GET", "/api/alerts", Some(&contoso), None)
        .await
        .json();
    let w_alerts = e
        .api("GET", "/api/alerts", Some(&woodgrove), None)
        .await
        .json();
    assert_eq!(c_alerts["value"].as_array().map(Vec::len), Some(30));
    assert_eq!(w_alerts["value"].as_array().map(Vec::len), Some(9));
    for a in w_alerts["value"].as_array().expect("list") {
        assert_eq!(a["aadTenantId"], WOODGROVE);
    }
    let aid = first(&c_alerts)["id"].as_str().expect("id").to_owned();
    let c_machines = e
        .api("GET", "/api/machines", Some(&contoso), None)
        .await
        .json();
    let machine = first(&c_machines).clone();
    let mid = machine["id"].as_str().expect("id").to_owned();
    let dns = machine["computerDnsName"].as_str().expect("dns").to_owned();
    let w_ids: Vec<Value> = e
        .api("GET", "/api/machines", Some(&woodgrove), None)
        .await
        .json()["value"]
        .as_array()
        .expect("list")
        .iter()
        .map(|m| m["id"].clone())
        .collect();
    assert!(
        !w_ids.contains(&machine["id"]),
        "same seed, other tenant: other ids"
    );

    let c_actions = e
        .api("GET", "/api/machineactions", Some(&contoso), None)
        .await
        .json();
    let acid = first(&c_actions)["id"].as_str().expect("id").to_owned();

    // Woodgrove's token against Contoso's ids.
    let probes: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", format!("/api/alerts/{aid}"), None),
        (
            "PATCH",
            format!("/api/alerts/{aid}"),
            Some(json!({"status": "Resolved"})),
        ),
        ("GET", format!("/api/alerts/{aid}/machine"), None),
        ("GET", format!("/api/alerts/{aid}/files"), None),
        ("GET", format!("/api/alerts/{aid}/user"), None),
        ("GET", format!("/api/machines/{mid}"), None),
        ("GET", format!("/api/machines/{dns}"), None),
        ("GET", format!("/api/machines/{mid}/alerts"), None),
        ("GET", format!("/api/machines/{mid}/logonusers"), None),
        (
            "POST",
            format!("/api/machines/{mid}/tags"),
            Some(json!({"Value": "x", "Action": "Add"})),
        ),
        (
            "POST",
            format!("/api/machines/{mid}/isolate"),
            Some(json!({"Comment": "x"})),
        ),
        (
            "POST",
            format!("/api/machines/{mid}/runAntiVirusScan"),
            Some(json!({"Comment": "x", "ScanType": "Full"})),
        ),
        (
            "POST",
            format!("/api/machines/{mid}/startInvestigation"),
            Some(json!({"Comment": "x"})),
        ),
        (
            "POST",
            "/api/alerts/CreateAlertByReference".into(),
            Some(
                json!({"machineId": mid, "severity": "Low", "title": "t", "description": "d", "recommendedAction": "r", "eventTime": "2020-01-01T00:00:00Z", "reportId": "1", "category": "Exploit"}),
            ),
        ),
        (
            "GET",
            format!("/api/machineactions/{acid}/getPackageUri"),
            None,
        ),
        ("GET", format!("/api/machineactions/{acid}"), None),
    ];
    for (method, path, body) in probes {
        let r = e.api(method, &path, Some(&woodgrove), body).await;
        let msg = r.mde_error(404, "ResourceNotFound");
        assert!(msg.contains("was not found"), "{method} {path}: {msg}");
    }
    // Nothing changed in Contoso.
    let a = e
        .api("GET", &format!("/api/alerts/{aid}"), Some(&contoso), None)
        .await
        .json();
    assert_eq!(a["status"], first(&c_alerts)["status"]);
    let after = e
        .api("GET", "/api/machineactions", Some(&contoso), None)
        .await
        .json();
    assert_eq!(after["value"], c_actions["value"]);

    // Indicators: Contoso's new indicator is not Woodgrove's to see or delete.
    let r = e
        .api(
            "POST",
            "/api/indicators",
            Some(&contoso),
            Some(json!({"indicatorValue": "evil.example.com", "indicatorType": "DomainName", "action": "Block", "title": "t", "description": "d"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let iid = r.json()["id"].as_str().expect("id").to_owned();
    let w_inds = e
        .api("GET", "/api/indicators", Some(&woodgrove), None)
        .await
        .json();
    assert!(
        w_inds["value"]
            .as_array()
            .expect("list")
            .iter()
            .all(|i| i["indicatorValue"] != "evil.example.com")
    );
    let w_has_same_id = w_inds["value"]
        .as_array()
        .expect("list")
        .iter()
        .any(|i| i["id"] == iid.as_str());
    if !w_has_same_id {
        e.api(
            "DELETE",
            &format!("/api/indicators/{iid}"),
            Some(&woodgrove),
            None,
        )
        .await
        .mde_error(404, "ResourceNotFound");
    }
    let c_inds = e
        .api("GET", "/api/indicators", Some(&contoso), None)
        .await
        .json();
    assert!(
        c_inds["value"]
            .as_array()
            .expect("list")
            .iter()
            .any(|i| i["id"] == iid.as_str())
    );
}

//! Response calls beyond machine actions (`mde-api.md` §4.3, §4.5, §4.9):
//! `startInvestigation`, `CreateAlertByReference` and `getPackageUri`.

use super::fidelity::{NONE, check};
use super::*;
use serde_json::json;

async fn a_machine(e: &Emu, t: &str) -> Value {
    let m = e.api("GET", "/api/machines", Some(t), None).await.json();
    first(&m).clone()
}

#[tokio::test]
async fn start_investigation_creates_one_that_lists_and_ends() {
    let e = demu();
    let mut s = e.state.defender().settings();
    s.action_seconds = 3600;
    e.state.defender().set_settings(s);
    let t = e.token(CONTOSO).await;
    let m = a_machine(&e, &t).await;
    let mid = m["id"].as_str().expect("id");
    let before = e
        .api("GET", "/api/investigations", Some(&t), None)
        .await
        .json();

    let r = e
        .api(
            "POST",
            &format!("/api/machines/{mid}/startInvestigation"),
            Some(&t),
            Some(json!({"Comment": "look at this device"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let mut inv = r.json();
    assert!(
        inv["@odata.context"]
            .as_str()
            .is_some_and(|c| c.ends_with("$metadata#Investigations/$entity")),
        "{inv}"
    );
    inv.as_object_mut().expect("obj").remove("@odata.context");
    // Key set and types: investigation_entity.json (get-investigation-object.md).
    check("investigation_entity", &inv, &NONE);
    assert_eq!(inv["state"], "Running");
    assert_eq!(inv["machineId"], m["id"]);
    assert_eq!(inv["computerDnsName"], m["computerDnsName"]);
    assert!(inv["triggeringAlertId"].is_null());
    let id = inv["id"].as_str().expect("id").to_owned();
    let known: Vec<&str> = before["value"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|i| i["id"].as_str())
        .collect();
    assert!(!known.contains(&id.as_str()), "a new id: {id}");

    let listed = e
        .api(
            "GET",
            &format!("/api/investigations?$filter=id eq '{id}'"),
            Some(&t),
            None,
        )
        .await
        .json();
    assert_eq!(
        listed["value"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
    assert_eq!(listed["value"][0]["machineId"], m["id"]);
    let one = e
        .api("GET", &format!("/api/investigations/{id}"), Some(&t), None)
        .await;
    assert_eq!(one.status, 200);
    assert_eq!(one.json()["state"], "Running");

    // Once the run is over, the investigation ends with nothing found.
    let mut s = e.state.defender().settings();
    s.action_seconds = 0;
    e.state.defender().set_settings(s);
    let done = e
        .api("GET", &format!("/api/investigations/{id}"), Some(&t), None)
        .await
        .json();
    assert_eq!(done["state"], "Benign", "{done}");
    assert!(done["endTime"].is_string(), "{done}");

    // Another tenant does not see it.
    let w = e.token(WOODGROVE).await;
    let r = e
        .api("GET", &format!("/api/investigations/{id}"), Some(&w), None)
        .await;
    r.mde_error(404, "ResourceNotFound");
}

#[tokio::test]
async fn start_investigation_checks_its_input_and_quota() {
    let e = demu();
    let t = e.token(CONTOSO).await;
    let m = a_machine(&e, &t).await;
    let path = format!(
        "/api/machines/{}/startInvestigation",
        m["id"].as_str().expect("id")
    );
    let r = e.api("POST", &path, Some(&t), Some(json!({}))).await;
    r.mde_error(400, "MissingRequiredParameter");
    let r = e
        .api(
            "POST",
            "/api/machines/0000000000000000000000000000000000000000/startInvestigation",
            Some(&t),
            Some(json!({"Comment": "c"})),
        )
        .await;
    r.mde_error(404, "ResourceNotFound");
    // 50 calls an hour (initiate-autoir-investigation.md); the two above count.
    for k in 2..50 {
        let r = e
            .api("POST", &path, Some(&t), Some(json!({"Comment": "c"})))
            .await;
        assert_eq!(r.status, 201, "call {k}: {}", r.text());
    }
    let r = e
        .api("POST", &path, Some(&t), Some(json!({"Comment": "c"})))
        .await;
    r.mde_error(429, "TooManyRequests");
    assert!(r.headers.contains_key("retry-after"));
}

/// A `DeviceProcessEvents` row of Contoso: (ReportId, Timestamp, DeviceId).
async fn an_event(e: &Emu, t: &str) -> (Value, String, String) {
    let r = e
        .api(
            "POST",
            "/api/advancedqueries/run",
            Some(t),
            Some(json!({"Query": "DeviceProcessEvents | project ReportId, Timestamp, DeviceId | take 1"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let row = r.json()["Results"][0].clone();
    (
        row["ReportId"].clone(),
        row["Timestamp"].as_str().expect("Timestamp").to_owned(),
        row["DeviceId"].as_str().expect("DeviceId").to_owned(),
    )
}

fn by_reference(report: &Value, at: &str, machine: &str, title: &str) -> Value {
    // The request of create-alert-by-reference.md, on an event of the tenant.
    json!({
        "machineId": machine,
        "severity": "Low",
        "title": title,
        "description": "test alert",
        "recommendedAction": "nothing",
        "eventTime": at,
        "reportId": report.to_string(),
        "category": "Exploit",
    })
}

const BY_REF: &str = "/api/alerts/CreateAlertByReference";

#[tokio::test]
async fn an_alert_by_reference_is_made_from_a_hunting_event_and_merges() {
    let e = demu();
    let t = e
        .token_with(
            CONTOSO,
            &[
                "AdvancedQuery.Read.All",
                "Alert.ReadWrite.All",
                "SecurityAlert.ReadWrite.All",
            ],
        )
        .await;
    let (report, at, machine) = an_event(&e, &t).await;
    let before = e.api("GET", "/api/alerts", Some(&t), None).await.json();
    let n = before["value"].as_array().map_or(0, Vec::len);

    let r = e
        .api(
            "POST",
            BY_REF,
            Some(&t),
            Some(by_reference(&report, &at, &machine, "test alert")),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let a = r.json();
    // Key set and types: alerts_get_by_id.json (get-alert-info-by-id.md).
    check(
        "alerts_get_by_id",
        &a,
        &super::fidelity::Rules {
            extra: &super::fidelity::with_context(super::fidelity::ALERT_EXTRA),
            renamed: &[],
        },
    );
    assert_eq!(a["title"], "test alert");
    assert_eq!(a["severity"], "Low");
    assert_eq!(a["category"], "Exploit");
    assert_eq!(a["status"], "New");
    assert_eq!(a["machineId"], machine.as_str());
    assert_eq!(a["investigationState"], "Running");
    assert!(
        a["investigationId"].is_i64(),
        "starts an investigation: {a}"
    );
    let ev = a["evidence"].as_array().expect("evidence");
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["entityType"], "Process");
    let id = a["id"].as_str().expect("id").to_owned();

    // It is an alert like the others: listed, by id, in Graph, with its investigation.
    let after = e.api("GET", "/api/alerts", Some(&t), None).await.json();
    assert_eq!(after["value"].as_array().map_or(0, Vec::len), n + 1);
    assert_eq!(
        e.api("GET", &format!("/api/alerts/{id}"), Some(&t), None)
            .await
            .json()["title"],
        "test alert"
    );
    let g = e.graph_token(CONTOSO).await;
    let ga = e
        .graph(
            "GET",
            &format!("/v1.0/security/alerts_v2/{id}"),
            Some(&g),
            None,
        )
        .await;
    assert_eq!(ga.status, 200, "{}", ga.text());
    assert_eq!(ga.json()["title"], "test alert");
    assert_eq!(ga.json()["detectionSource"], "customDetection");
    let inv = e
        .api("GET", &format!("/api/investigations/{id}"), Some(&t), None)
        .await;
    assert_eq!(inv.status, 200, "{}", inv.text());
    assert_eq!(inv.json()["triggeringAlertId"], id.as_str());

    // Same title, same device, still open: merged, no new alert.
    let again = e
        .api(
            "POST",
            BY_REF,
            Some(&t),
            Some(by_reference(&report, &at, &machine, "test alert")),
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.json()["id"], id.as_str());
    assert_eq!(again.json()["evidence"].as_array().map(Vec::len), Some(1));
    let after = e.api("GET", "/api/alerts", Some(&t), None).await.json();
    assert_eq!(after["value"].as_array().map_or(0, Vec::len), n + 1);
    // Once resolved, the same title makes a new alert.
    let p = e
        .api(
            "PATCH",
            &format!("/api/alerts/{id}"),
            Some(&t),
            Some(json!({"status": "Resolved"})),
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.text());
    let third = e
        .api(
            "POST",
            BY_REF,
            Some(&t),
            Some(by_reference(&report, &at, &machine, "test alert")),
        )
        .await
        .json();
    assert_ne!(third["id"], id.as_str());

    // Another tenant cannot raise an alert on Contoso's event.
    let w = e.token(WOODGROVE).await;
    e.api(
        "POST",
        BY_REF,
        Some(&w),
        Some(by_reference(&report, &at, &machine, "x")),
    )
    .await
    .mde_error(404, "ResourceNotFound");
}

#[tokio::test]
async fn an_alert_by_reference_checks_its_body_the_event_and_its_quota() {
    let e = demu();
    let t = e
        .token_with(
            CONTOSO,
            &[
                "AdvancedQuery.Read.All",
                "Alert.ReadWrite.All",
                "Machine.Read.All",
            ],
        )
        .await;
    let (report, at, machine) = an_event(&e, &t).await;
    let good = by_reference(&report, &at, &machine, "checks");
    let mut calls = 0;
    for k in [
        "eventTime",
        "reportId",
        "machineId",
        "severity",
        "title",
        "description",
        "recommendedAction",
        "category",
    ] {
        let mut b = good.clone();
        b.as_object_mut().expect("obj").remove(k);
        let msg = e
            .api("POST", BY_REF, Some(&t), Some(b))
            .await
            .mde_error(400, "MissingRequiredParameter");
        assert!(msg.contains(k), "{k}: {msg}");
        calls += 1;
    }
    for (k, v) in [
        ("severity", "Informational"),
        ("category", "Tampering"),
        ("eventTime", "yesterday"),
    ] {
        let mut b = good.clone();
        b[k] = json!(v);
        e.api("POST", BY_REF, Some(&t), Some(b))
            .await
            .mde_error(400, "InvalidInput");
        calls += 1;
    }
    // No such event: another report id, another time, another device.
    let other_machine = e.api("GET", "/api/machines", Some(&t), None).await.json()["value"]
        .as_array()
        .expect("machines")
        .iter()
        .filter_map(|m| m["id"].as_str())
        .find(|m| *m != machine)
        .expect("another machine")
        .to_owned();
    let wrong_report = json!(report.as_i64().expect("ReportId") + 100_000);
    for b in [
        by_reference(&wrong_report, &at, &machine, "checks"),
        by_reference(&report, "2020-01-01T00:00:00Z", &machine, "checks"),
        by_reference(&report, &at, &other_machine, "checks"),
        by_reference(
            &report,
            &at,
            "0000000000000000000000000000000000000000",
            "checks",
        ),
    ] {
        e.api("POST", BY_REF, Some(&t), Some(b))
            .await
            .mde_error(404, "ResourceNotFound");
        calls += 1;
    }
    // 15 calls a minute (create-alert-by-reference.md).
    for _ in calls..15 {
        let r = e.api("POST", BY_REF, Some(&t), Some(good.clone())).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let r = e.api("POST", BY_REF, Some(&t), Some(good)).await;
    r.mde_error(429, "TooManyRequests");
}

#[tokio::test]
async fn an_investigation_package_is_linked_once_collected_and_served() {
    let e = demu();
    let mut s = e.state.defender().settings();
    s.action_seconds = 3600;
    e.state.defender().set_settings(s);
    let t = e.token(CONTOSO).await;
    let m = a_machine(&e, &t).await;
    let mid = m["id"].as_str().expect("id");
    let r = e
        .api(
            "POST",
            &format!("/api/machines/{mid}/collectInvestigationPackage"),
            Some(&t),
            Some(json!({"Comment": "collect"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().expect("id").to_owned();
    let uri = format!("/api/machineactions/{id}/getPackageUri");
    // Not complete yet: 404 (get-package-sas-uri.md).
    e.api("GET", &uri, Some(&t), None)
        .await
        .mde_error(404, "ResourceNotFound");

    let mut s = e.state.defender().settings();
    s.action_seconds = 0;
    e.state.defender().set_settings(s);
    let r = e.api("GET", &uri, Some(&t), None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let url = v["value"].as_str().expect("value");
    let path = url
        .strip_prefix("https://api.securitycenter.localhost")
        .expect("served by the emulator")
        .to_owned();
    assert!(path.contains("sig=") && path.contains("se="), "{path}");
    // No bearer token: the link is the credential.
    let zip = e.api("GET", &path, None, None).await;
    assert_eq!(zip.status, 200, "{}", zip.text());
    assert_eq!(
        zip.headers
            .get("content-type")
            .and_then(|h| h.to_str().ok()),
        Some("application/zip")
    );
    let b = &zip.body;
    assert_eq!(&b[..4], b"PK\x03\x04", "a ZIP archive");
    let end = b.len() - 22;
    assert_eq!(&b[end..end + 4], b"PK\x05\x06", "with its end record");
    assert_eq!(
        u16::from_le_bytes([b[end + 10], b[end + 11]]),
        3,
        "three files"
    );
    let text = String::from_utf8_lossy(b);
    assert!(text.contains("Processes/Processes.csv"), "{text}");
    assert!(
        text.contains(m["computerDnsName"].as_str().expect("dns")),
        "made from the device"
    );
    let tampered = path.replace("sig=", "sig=x");
    assert_eq!(e.api("GET", &tampered, None, None).await.status, 403);
    let other = path.replace(&id, &uuid::Uuid::new_v4().to_string());
    assert_eq!(
        e.api("GET", &other, None, None).await.status,
        403,
        "the signature covers the action"
    );
    // 2 calls a minute.
    e.api("GET", &uri, Some(&t), None)
        .await
        .mde_error(429, "TooManyRequests");

    // Only investigation packages have one.
    let w = e.token(WOODGROVE).await;
    let wm = a_machine(&e, &w).await;
    let scan = e
        .api(
            "POST",
            &format!(
                "/api/machines/{}/runAntiVirusScan",
                wm["id"].as_str().expect("id")
            ),
            Some(&w),
            Some(json!({"Comment": "c", "ScanType": "Quick"})),
        )
        .await
        .json();
    let sid = scan["id"].as_str().expect("id");
    e.api(
        "GET",
        &format!("/api/machineactions/{sid}/getPackageUri"),
        Some(&w),
        None,
    )
    .await
    .mde_error(400, "InvalidInput");
    // And another tenant's action is not found.
    e.api("GET", &uri, Some(&w), None)
        .await
        .mde_error(404, "ResourceNotFound");
}

async fn library(e: &Emu, t: &str) -> Vec<Value> {
    e.api("GET", "/api/libraryfiles", Some(t), None)
        .await
        .json()["value"]
        .as_array()
        .expect("value")
        .clone()
}

#[tokio::test]
async fn the_live_response_library_lists_uploads_and_deletes() {
    let e = demu();
    let t = e.token_with(CONTOSO, &["Library.Manage"]).await;
    assert!(
        library(&e, &t).await.is_empty(),
        "a new tenant's library is empty"
    );
    let r = e
        .upload(
            &t,
            "Collect.ps1",
            "Get-Process",
            &[
                ("Description", "collects"),
                ("HasParameters", "true"),
                ("ParametersDescription", "-Name <process>"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let f = r.json();
    assert_eq!(f["fileName"], "Collect.ps1");
    assert_eq!(f["description"], "collects");
    assert_eq!(f["hasParameters"], true);
    assert_eq!(f["parametersDescription"], "-Name <process>");
    // SHA-256 of "Get-Process".
    assert_eq!(
        f["sha256"],
        "b22ffb0a3b141dda48297c9ae0400c863ec75128f519e0458695a3e4ec324f87"
    );
    let listed = library(&e, &t).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["fileName"], "Collect.ps1");

    // The same name again: refused unless OverrideIfExists.
    e.upload(&t, "collect.ps1", "Get-Service", &[])
        .await
        .mde_error(400, "BadRequest");
    let r = e
        .upload(
            &t,
            "Collect.ps1",
            "Get-Service",
            &[("OverrideIfExists", "true")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_ne!(r.json()["sha256"], f["sha256"], "replaced");
    assert_eq!(library(&e, &t).await.len(), 1);
    e.upload(&t, "x.ps1", "1", &[("HasParameters", "maybe")])
        .await
        .mde_error(400, "InvalidInput");

    // Another tenant has its own library.
    let w = e.token_with(WOODGROVE, &["Library.Manage"]).await;
    assert!(library(&e, &w).await.is_empty());
    e.api("DELETE", "/api/libraryfiles/Collect.ps1", Some(&w), None)
        .await
        .mde_error(404, "ResourceNotFound");

    let d = e
        .api("DELETE", "/api/libraryfiles/Collect.ps1", Some(&t), None)
        .await;
    assert_eq!(d.status, 204, "{}", d.text());
    assert!(library(&e, &t).await.is_empty());
    e.api("DELETE", "/api/libraryfiles/Collect.ps1", Some(&t), None)
        .await
        .mde_error(404, "ResourceNotFound");
}

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

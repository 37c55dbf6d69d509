//! What axum's extractors refuse before a handler runs — a body over the limit, a path
//! segment that is not percent-encoded UTF-8 — answered in each API's own error body:
//! MDE's `{"error":{"code","message","target"}}` on `/api`, Graph's envelope with the
//! request's ids on `/v1.0` and `/beta`, never plain text.

use super::*;
use mdep_emulator::MAX_REQUEST_BYTES;

const GRAPH: &str = "https://graph.microsoft.com";

impl Emu {
    /// A request with raw `body` bytes on `host`.
    async fn raw(&self, method: &str, uri: &str, host: &str, token: &str, body: Vec<u8>) -> Reply {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", host)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .header("client-request-id", "7d5c9b1e-0000-4000-8000-000000000001")
            .body(Body::from(body))
            .expect("request");
        self.send(req).await
    }

    /// A Microsoft Graph token for `tenant`.
    async fn graph_token_of(&self, tenant: &str) -> String {
        let r = self
            .post_form(
                &format!("/{tenant}/oauth2/v2.0/token"),
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", APP),
                    ("client_secret", SECRET),
                    ("scope", &format!("{GRAPH}/.default")),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["access_token"].as_str().expect("token").to_owned()
    }
}

/// Asserts Graph's envelope (`graph-security.md` §2.7) with this status and code, the
/// ids matching the headers; returns the message.
fn graph_envelope(r: &Reply, status: u16, code: &str) -> String {
    let v = r.json();
    assert_eq!(r.status.as_u16(), status, "status; body: {v}");
    assert_eq!(v["error"]["code"], code, "code; body: {v}");
    let inner = &v["error"]["innerError"];
    assert_eq!(
        inner["request-id"],
        r.headers["request-id"].to_str().expect("id"),
        "{v}"
    );
    assert_eq!(
        inner["client-request-id"], "7d5c9b1e-0000-4000-8000-000000000001",
        "{v}"
    );
    assert!(inner["date"].as_str().is_some_and(|d| d.len() == 19), "{v}");
    assert!(
        r.headers["content-type"]
            .to_str()
            .is_ok_and(|c| c.starts_with("application/json")),
        "{v}"
    );
    v["error"]["message"].as_str().expect("message").to_owned()
}

/// A JSON object just over the limit.
fn oversized() -> Vec<u8> {
    let mut b = br#"{"comment":""#.to_vec();
    b.resize(MAX_REQUEST_BYTES + 1, b'x');
    b.extend_from_slice(br#""}"#);
    b
}

#[tokio::test]
async fn mde_answers_oversized_bodies_and_malformed_paths_in_its_error_body() {
    let e = demu();
    let t = e.token(CONTOSO).await;
    let host = "api.securitycenter.localhost";
    let machines = e.api("GET", "/api/machines", Some(&t), None).await.json();
    let m = first(&machines)["id"].as_str().expect("machine").to_owned();
    let alerts = e.api("GET", "/api/alerts", Some(&t), None).await.json();
    let a = first(&alerts)["id"].as_str().expect("alert").to_owned();
    for (method, path) in [
        ("POST", "/api/indicators".to_owned()),
        ("POST", "/api/v1.0/indicators/import".to_owned()),
        ("PATCH", format!("/api/alerts/{a}")),
        ("POST", "/api/alerts/batchUpdate".to_owned()),
        ("POST", format!("/api/machines/{m}/isolate")),
        ("POST", "/api/advancedqueries/run".to_owned()),
    ] {
        let r = e.raw(method, &path, host, &t, oversized()).await;
        let msg = r.mde_error(413, "InvalidRequestBody");
        assert!(
            msg.contains(&MAX_REQUEST_BYTES.to_string()),
            "{path}: {msg}"
        );
    }
    // Nothing was carried out.
    let q = format!("/api/machineactions?$filter=machineId eq '{m}'");
    let actions = e.api("GET", &q, Some(&t), None).await.json();
    assert_eq!(
        actions["value"].as_array().map(Vec::len),
        Some(0),
        "{actions}"
    );

    for (method, path) in [
        ("GET", "/api/machines/%ZZ"),
        ("GET", "/api/machines/%FF"),
        ("GET", "/api/v1.0/alerts/da%E9/files"),
        ("GET", "/api/machines/abc%"),
        ("POST", "/api/machines/%ZZ/isolate"),
        ("PATCH", "/api/alerts/%C3%28"),
        ("DELETE", "/api/indicators/%G1"),
    ] {
        let r = e.raw(method, path, host, &t, b"{}".to_vec()).await;
        let msg = r.mde_error(400, "BadRequest");
        assert!(msg.contains("percent-encoded"), "{path}: {msg}");
    }
    // Well-formed escapes reach the handler, which answers for the id it decoded.
    let r = e
        .api("GET", "/api/machines/caf%C3%A9", Some(&t), None)
        .await;
    assert!(r.mde_error(404, "ResourceNotFound").contains("café"));
    // And the counters saw every one of these answers.
    let c = e.admin("GET", "/_emulator/counters", None).await.json();
    let seen = |status: u16| -> u64 {
        c["counters"]
            .as_array()
            .expect("counters")
            .iter()
            .filter(|x| x["status"] == status)
            .map(|x| x["count"].as_u64().expect("count"))
            .sum()
    };
    assert_eq!(seen(413), 6, "{c}");
    assert_eq!(seen(400), 7, "{c}");
}

#[tokio::test]
async fn graph_answers_oversized_bodies_and_malformed_paths_in_its_envelope() {
    let e = demu();
    let t = e.graph_token_of(CONTOSO).await;
    let host = "graph.localhost";
    let alerts = e
        .raw("GET", "/v1.0/security/alerts_v2", host, &t, Vec::new())
        .await
        .json();
    let a = first(&alerts)["id"].as_str().expect("alert").to_owned();
    let incidents = e
        .raw("GET", "/v1.0/security/incidents", host, &t, Vec::new())
        .await
        .json();
    let i = first(&incidents)["id"]
        .as_str()
        .expect("incident")
        .to_owned();
    for (method, path) in [
        ("PATCH", format!("/v1.0/security/alerts_v2/{a}")),
        ("PATCH", format!("/beta/security/incidents/{i}")),
        ("POST", "/v1.0/security/runHuntingQuery".to_owned()),
    ] {
        let r = e.raw(method, &path, host, &t, oversized()).await;
        let msg = graph_envelope(&r, 413, "RequestEntityTooLarge");
        assert!(
            msg.contains(&MAX_REQUEST_BYTES.to_string()),
            "{path}: {msg}"
        );
    }
    for (method, path) in [
        ("GET", "/v1.0/security/alerts_v2/%ZZ"),
        ("GET", "/beta/security/alerts_v2/%FF"),
        ("GET", "/v1.0/security/incidents/%E9/alerts"),
        ("PATCH", "/v1.0/security/incidents/1%"),
    ] {
        let r = e.raw(method, path, host, &t, b"{}".to_vec()).await;
        let msg = graph_envelope(&r, 400, "BadRequest");
        assert!(msg.contains("percent-encoded"), "{path}: {msg}");
    }
}

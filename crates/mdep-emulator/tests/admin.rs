//! The admin API: behind the key, JSON in and out, secrets shown once and stored hashed.

mod common;
use axum::body::Body;
use axum::http::Request;
use common::*;
use serde_json::json;

#[tokio::test]
async fn requires_the_admin_key() {
    let e = emu();
    for auth in [
        None,
        Some("Bearer wrong"),
        Some("Basic dGVzdA=="),
        Some(ADMIN_KEY),
    ] {
        let mut req = Request::get("/_emulator/state").header("host", HOST);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let r = e.send(req.body(Body::empty()).expect("req")).await;
        assert_eq!(r.status, 401, "{auth:?}");
        assert_eq!(r.json()["error"]["code"], "Unauthorized");
        assert!(!r.text().contains(ADMIN_KEY));
    }
    assert_eq!(e.admin("GET", "/_emulator/state", None).await.status, 200);
}

#[tokio::test]
async fn onboard_a_customer_end_to_end() {
    let e = emu();
    let t = e
        .admin("POST", "/_emulator/tenants", Some(json!({"name": "Northwind", "domain": "northwind.onmicrosoft.com", "admin": {"user": "admin@northwind.onmicrosoft.com", "password": "Northwind-1"}})))
        .await;
    assert_eq!(t.status, 201, "{}", t.text());
    let tid = t.json()["id"].as_str().expect("id").to_owned();
    assert!(
        !t.text().contains("Northwind-1"),
        "passwords are never returned"
    );
    let a = e
        .admin("POST", "/_emulator/apps", Some(json!({"name": "Tailspin MDR", "home_tenant": PARTNER, "redirect_uris": ["https://portal.azure.com"], "permissions": ["Alert.Read.All"]})))
        .await;
    assert_eq!(a.status, 201, "{}", a.text());
    let client = a.json()["client_id"].as_str().expect("id").to_owned();
    let s = e
        .admin(
            "POST",
            &format!("/_emulator/apps/{client}/secrets"),
            Some(json!({"expires": "2099-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(s.status, 201);
    let secret = s.json()["value"].as_str().expect("value").to_owned();
    let key_id = s.json()["key_id"].as_str().expect("key").to_owned();
    let state = e.admin("GET", "/_emulator/state", None).await.text();
    assert!(!state.contains(&secret), "the value is shown once only");
    assert!(state.contains(&key_id));
    let g = e
        .admin(
            "POST",
            "/_emulator/consents",
            Some(json!({"tenant": tid, "app": client})),
        )
        .await;
    assert_eq!(g.status, 201, "{}", g.text());
    let r = e
        .post_form(
            &format!("/{tid}/oauth2/token"),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client),
                ("client_secret", &secret),
                ("resource", MDE),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let (_, c) = decode(r.json()["access_token"].as_str().expect("token"));
    assert_eq!(c["roles"], json!(["Alert.Read.All"]));
    assert_eq!(
        e.admin(
            "DELETE",
            &format!("/_emulator/apps/{client}/secrets/{key_id}"),
            None
        )
        .await
        .status,
        204
    );
    let r = e
        .post_form(
            &format!("/{tid}/oauth2/token"),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client),
                ("client_secret", &secret),
                ("resource", MDE),
            ],
        )
        .await;
    r.entra_error(401, "invalid_client", 7000215);
}

#[tokio::test]
async fn errors_are_json_with_the_right_status() {
    let e = emu();
    let cases = [
        (
            "POST",
            "/_emulator/tenants".to_owned(),
            Some(json!({"name": "x"})),
            400,
        ),
        (
            "POST",
            "/_emulator/tenants".to_owned(),
            Some(
                json!({"id": CONTOSO, "name": "Again", "domain": "again.onmicrosoft.com", "admin": {"user": "a@again.onmicrosoft.com", "password": "p"}}),
            ),
            409,
        ),
        (
            "POST",
            "/_emulator/apps".to_owned(),
            Some(json!({"name": "x", "home_tenant": "99999999-9999-9999-9999-999999999999"})),
            404,
        ),
        (
            "POST",
            "/_emulator/apps".to_owned(),
            Some(json!({"name": "x", "home_tenant": PARTNER, "permissions": ["Alert.Read"]})),
            400,
        ),
        (
            "POST",
            "/_emulator/apps".to_owned(),
            Some(json!({"name": "x", "home_tenant": PARTNER, "colour": "blue"})),
            400,
        ),
        (
            "POST",
            format!("/_emulator/apps/{APP}/permissions"),
            Some(json!({"permission": "Nope.All"})),
            400,
        ),
        (
            "POST",
            "/_emulator/apps/not-a-guid/secrets".to_owned(),
            None,
            400,
        ),
        (
            "POST",
            "/_emulator/apps/66666666-6666-6666-6666-666666666666/secrets".to_owned(),
            None,
            404,
        ),
        (
            "POST",
            format!("/_emulator/apps/{APP}/certificates"),
            Some(json!({"pem": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"})),
            400,
        ),
        (
            "DELETE",
            format!("/_emulator/consents/{WOODGROVE}/{APP}"),
            None,
            404,
        ),
        (
            "POST",
            "/_emulator/consents".to_owned(),
            Some(json!({"tenant": WOODGROVE, "app": SINGLE_APP})),
            400,
        ),
    ];
    for (method, path, body, status) in cases {
        let r = e.admin(method, &path, body.clone()).await;
        assert_eq!(
            r.status.as_u16(),
            status,
            "{method} {path} {body:?}: {}",
            r.text()
        );
        assert!(
            r.json()["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    let garbage = Request::post("/_emulator/tenants")
        .header("host", HOST)
        .header("authorization", format!("Bearer {ADMIN_KEY}"))
        .body(Body::from("{not json"))
        .expect("req");
    assert_eq!(e.send(garbage).await.status, 400);
}

#[tokio::test]
async fn certificates_show_both_thumbprints_and_can_be_removed() {
    let e = emu();
    let c = cert();
    let r = e
        .admin(
            "POST",
            &format!("/_emulator/apps/{APP}/certificates"),
            Some(json!({"pem": c.pem})),
        )
        .await;
    assert_eq!(r.status, 201);
    let v = r.json();
    let sha1 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &c.der);
    let hex: String = sha1.as_ref().iter().map(|b| format!("{b:02X}")).collect();
    assert_eq!(v["thumbprint_sha1"], hex);
    assert_eq!(v["thumbprint_sha256"].as_str().map(str::len), Some(64));
    let dup = e
        .admin(
            "POST",
            &format!("/_emulator/apps/{APP}/certificates"),
            Some(json!({"pem": c.pem})),
        )
        .await;
    assert_eq!(dup.status, 409);
    let key = v["key_id"].as_str().expect("key");
    assert_eq!(
        e.admin(
            "DELETE",
            &format!("/_emulator/apps/{APP}/certificates/{key}"),
            None
        )
        .await
        .status,
        204
    );
    let private_key = e
        .admin(
            "POST",
            &format!("/_emulator/apps/{APP}/certificates"),
            Some(json!({"pem": c.key_pem})),
        )
        .await;
    assert_eq!(private_key.status, 400, "a private key is refused");
}

#[tokio::test]
async fn counters_record_token_requests_per_tenant_route_and_status() {
    let e = emu();
    e.token(CONTOSO).await;
    e.token(CONTOSO).await;
    e.token("contoso.onmicrosoft.com").await;
    e.post_form(
        &format!("/{WOODGROVE}/oauth2/v2.0/token"),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", APP),
            ("client_secret", SECRET),
            ("scope", "https://api.securitycenter.microsoft.com/.default"),
        ],
    )
    .await;
    let v = e.admin("GET", "/_emulator/counters", None).await.json();
    let count = |tenant: &str, status: u64| {
        v["counters"]
            .as_array()
            .expect("list")
            .iter()
            .filter(|c| {
                c["tenant"] == tenant
                    && c["route"] == "/{tenant}/oauth2/v2.0/token"
                    && c["status"] == status
                    && c["method"] == "POST"
            })
            .map(|c| c["count"].as_u64().expect("n"))
            .sum::<u64>()
    };
    assert_eq!(
        count(CONTOSO, 200),
        3,
        "a domain in the path counts under the tenant's GUID"
    );
    assert_eq!(count(WOODGROVE, 400), 1);
    assert!(
        v["counters"]
            .as_array()
            .expect("list")
            .iter()
            .all(|c| !c["route"].as_str().expect("r").starts_with("/_emulator"))
    );
    assert_eq!(
        e.admin("DELETE", "/_emulator/counters", None).await.status,
        204
    );
    assert_eq!(
        e.admin("GET", "/_emulator/counters", None).await.json()["counters"],
        json!([])
    );
}

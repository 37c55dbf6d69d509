//! Token rejection: each check of a resource server, and the classic forgeries. Each is
//! a 401 with MDE's error body.

use super::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

fn b64(v: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(v)
}

/// Claims as the emulator issues them for `APP` in `tenant`.
fn claims(e: &Emu, tenant: &str) -> Value {
    let sp = e.state.directory().service_principals
        [&(tenant.parse().expect("t"), APP.parse().expect("a"))]
        .object_id;
    json!({
        "aud": MDE,
        "iss": format!("https://sts.windows.net/{tenant}/"),
        "iat": now() - 300, "nbf": now() - 300, "exp": now() + 3600,
        "appid": APP, "appidacr": "1", "oid": sp, "sub": sp,
        "roles": ["Alert.Read.All"], "tid": tenant, "ver": "1.0",
    })
}

/// Signs `claims` with the emulator's active key (what only Entra can do).
fn sign(e: &Emu, header: Value, claims: &Value) -> String {
    let key = e.state.keys().active().cloned().expect("active key");
    let mut h = header;
    if h.get("kid").is_none() {
        h["kid"] = json!(key.stored.kid);
    }
    let input = format!(
        "{}.{}",
        b64(h.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let sig = key.sign_rs256(input.as_bytes());
    format!("{input}.{}", b64(&sig))
}

fn rs256() -> Value {
    json!({"typ": "JWT", "alg": "RS256"})
}

async fn rejected(e: &Emu, token: Option<&str>, why: &str) -> String {
    let r = e.api("GET", "/api/alerts", token, None).await;
    assert_eq!(r.headers["www-authenticate"], "Bearer", "{why}");
    let msg = r.mde_error(401, "Unauthorized");
    assert!(msg.starts_with("Unauthorized"), "{why}: {msg}");
    msg
}

#[tokio::test]
async fn a_token_from_the_token_endpoint_is_accepted_and_a_signed_copy_too() {
    let e = demu();
    let t = e.token(CONTOSO).await;
    assert_eq!(
        e.api("GET", "/api/alerts", Some(&t), None).await.status,
        200
    );
    let forged_by_entra = sign(&e, rs256(), &claims(&e, CONTOSO));
    let r = e
        .api("GET", "/api/alerts", Some(&forged_by_entra), None)
        .await;
    assert_eq!(r.status, 200, "the helper signs like Entra: {}", r.text());
}

#[tokio::test]
async fn missing_or_malformed_authorization() {
    let e = demu();
    let msg = rejected(&e, None, "no header").await;
    assert!(msg.contains("Authorization"), "{msg}");
    for bad in ["", "abc", "a.b", "a.b.c.d", "eyJhbGciOiJSUzI1NiJ9.e30.!!!"] {
        rejected(&e, Some(bad), bad).await;
    }
    let r = e
        .send(
            Request::get("/api/alerts")
                .header("authorization", format!("Basic {}", b64(b"a:b")))
                .body(Body::empty())
                .expect("req"),
        )
        .await;
    r.mde_error(401, "Unauthorized");
}

#[tokio::test]
async fn alg_none_and_hs256_with_the_public_key_are_refused() {
    let e = demu();
    let c = claims(&e, CONTOSO);
    let none = format!(
        "{}.{}.",
        b64(br#"{"typ":"JWT","alg":"none"}"#),
        b64(c.to_string().as_bytes())
    );
    let msg = rejected(&e, Some(&none), "alg none").await;
    assert!(msg.contains("'none'"), "{msg}");
    // The classic confusion: HMAC keyed with the RSA public key a verifier holds.
    let key = e.state.keys().active().cloned().expect("key");
    for secret in [
        base64::engine::general_purpose::STANDARD
            .decode(&key.stored.cert_der)
            .expect("der"),
        URL_SAFE_NO_PAD.decode(&key.n).expect("n"),
    ] {
        let input = format!(
            "{}.{}",
            b64(json!({"typ":"JWT","alg":"HS256","kid": key.stored.kid})
                .to_string()
                .as_bytes()),
            b64(c.to_string().as_bytes())
        );
        let mac = aws_lc_rs::hmac::sign(
            &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret),
            input.as_bytes(),
        );
        let t = format!("{input}.{}", b64(mac.as_ref()));
        let msg = rejected(&e, Some(&t), "HS256").await;
        assert!(msg.contains("'HS256'"), "{msg}");
    }
}

#[tokio::test]
async fn foreign_key_unknown_kid_and_tampering() {
    let e = demu();
    let c = claims(&e, CONTOSO);
    let kid = e.state.keys().active().expect("key").stored.kid.clone();
    let foreign = common::cert();
    let enc = jsonwebtoken::EncodingKey::from_rsa_pem(foreign.key_pem.as_bytes()).expect("pem");
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    h.kid = Some(kid);
    let t = jsonwebtoken::encode(&h, &c, &enc).expect("sign");
    let msg = rejected(&e, Some(&t), "foreign key, real kid").await;
    assert!(msg.contains("signature"), "{msg}");
    h.kid = Some("not-a-published-kid".into());
    let t = jsonwebtoken::encode(&h, &c, &enc).expect("sign");
    let msg = rejected(&e, Some(&t), "unknown kid").await;
    assert!(msg.contains("not-a-published-kid"), "{msg}");
    let no_kid = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &c,
        &enc,
    )
    .expect("sign");
    rejected(&e, Some(&no_kid), "no kid").await;

    // A real token with more roles written into its payload.
    let real = e.token(CONTOSO).await;
    let mut parts: Vec<String> = real.split('.').map(str::to_owned).collect();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).expect("b64")).expect("json");
    payload["roles"] = json!(["Alert.ReadWrite.All", "Machine.Offboard"]);
    parts[1] = b64(payload.to_string().as_bytes());
    let msg = rejected(&e, Some(&parts.join(".")), "tampered payload").await;
    assert!(msg.contains("signature"), "{msg}");
    // The real one still works: rejection is not cached against the key.
    assert_eq!(
        e.api("GET", "/api/alerts", Some(&real), None).await.status,
        200
    );
}

#[tokio::test]
async fn times_are_checked_with_five_minutes_of_skew() {
    let e = demu();
    let mut c = claims(&e, CONTOSO);
    c["exp"] = json!(now() - 200);
    let within = sign(&e, rs256(), &c);
    assert_eq!(
        e.api("GET", "/api/alerts", Some(&within), None)
            .await
            .status,
        200
    );
    c["exp"] = json!(now() - 301);
    let msg = rejected(&e, Some(&sign(&e, rs256(), &c)), "expired").await;
    assert!(msg.contains("expired"), "{msg}");
    c["exp"] = json!(now() + 3600);
    c["nbf"] = json!(now() + 200);
    assert_eq!(
        e.api("GET", "/api/alerts", Some(&sign(&e, rs256(), &c)), None)
            .await
            .status,
        200
    );
    c["nbf"] = json!(now() + 400);
    let msg = rejected(&e, Some(&sign(&e, rs256(), &c)), "not yet valid").await;
    assert!(msg.contains("not valid before"), "{msg}");
    c["nbf"] = json!(now() - 300);
    c.as_object_mut().expect("obj").remove("exp");
    rejected(&e, Some(&sign(&e, rs256(), &c)), "no exp").await;
}

#[tokio::test]
async fn expiry_is_checked_on_every_request_even_for_a_cached_token() {
    let e = demu();
    let mut c = claims(&e, CONTOSO);
    c["exp"] = json!(now() - 295);
    let t = sign(&e, rs256(), &c);
    assert_eq!(
        e.api("GET", "/api/alerts", Some(&t), None).await.status,
        200
    );
    tokio::time::sleep(std::time::Duration::from_millis(6100)).await;
    rejected(&e, Some(&t), "expired while cached").await;
}

#[tokio::test]
async fn audience_must_be_the_mde_api() {
    let e = demu();
    let mut c = claims(&e, CONTOSO);
    for ok in [
        "https://api.securitycenter.microsoft.com",
        "https://api.security.microsoft.com",
        "https://securitycenter.onmicrosoft.com/windowsatpservice",
        "fc780465-2017-40d4-a0c5-307022471b92",
    ] {
        c["aud"] = json!(ok);
        let r = e
            .api("GET", "/api/alerts", Some(&sign(&e, rs256(), &c)), None)
            .await;
        assert_eq!(r.status, 200, "{ok}: {}", r.text());
    }
    for bad in [
        json!("https://graph.microsoft.com"),
        json!(["https://api.securitycenter.microsoft.com"]),
        json!(null),
    ] {
        c["aud"] = bad.clone();
        rejected(&e, Some(&sign(&e, rs256(), &c)), &bad.to_string()).await;
    }
}

#[tokio::test]
async fn issuer_must_be_the_v1_issuer_of_an_existing_tenant_matching_tid() {
    let e = demu();
    let mut c = claims(&e, CONTOSO);
    c["iss"] = json!(format!("https://login.microsoftonline.com/{CONTOSO}/v2.0"));
    rejected(&e, Some(&sign(&e, rs256(), &c)), "v2 issuer").await;
    c["iss"] = json!(format!("https://sts.windows.net/{WOODGROVE}/"));
    rejected(&e, Some(&sign(&e, rs256(), &c)), "iss and tid differ").await;
    let ghost = "99999999-9999-9999-9999-999999999999";
    c["iss"] = json!(format!("https://sts.windows.net/{ghost}/"));
    c["tid"] = json!(ghost);
    rejected(&e, Some(&sign(&e, rs256(), &c)), "no such tenant").await;
    c["tid"] = json!("contoso.onmicrosoft.com");
    c["iss"] = json!("https://sts.windows.net/contoso.onmicrosoft.com/");
    rejected(&e, Some(&sign(&e, rs256(), &c)), "tid not a GUID").await;
}

#[tokio::test]
async fn revoked_consent_ends_access_for_tokens_already_issued() {
    let e = demu();
    let t = e.token(CONTOSO).await;
    assert_eq!(
        e.api("GET", "/api/alerts", Some(&t), None).await.status,
        200
    );
    let r = e
        .admin(
            "DELETE",
            &format!("/_emulator/consents/{CONTOSO}/{APP}"),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    let msg = rejected(&e, Some(&t), "revoked").await;
    assert!(msg.contains("consent"), "{msg}");
    // Consent again: a new service principal; the old token stays refused.
    e.state
        .grant_consent(CONTOSO.parse().expect("t"), APP.parse().expect("a"), None)
        .expect("consent");
    rejected(&e, Some(&t), "token of the old service principal").await;
    let fresh = e.token(CONTOSO).await;
    assert_eq!(
        e.api("GET", "/api/alerts", Some(&fresh), None).await.status,
        200
    );
}

#[tokio::test]
async fn rotated_keys_keep_working_during_grace_and_not_after() {
    // Default grace (24 h): a token of the previous key still works.
    let e = demu();
    let t = e.token(CONTOSO).await;
    assert_eq!(
        e.admin("POST", "/_emulator/keys/rotate", None).await.status,
        200
    );
    assert_eq!(
        e.api("GET", "/api/alerts", Some(&t), None).await.status,
        200
    );

    // No grace: the key leaves the published set at once, cached token or not.
    let e = emu_from(&scenario(
        "key_grace_minutes = 0\nmde_calls_per_minute = 100000\nmde_calls_per_hour = 1000000",
    ));
    let t = e.token(CONTOSO).await;
    assert_eq!(
        e.api("GET", "/api/alerts", Some(&t), None).await.status,
        200
    );
    assert_eq!(
        e.admin("POST", "/_emulator/keys/rotate", None).await.status,
        200
    );
    let msg = rejected(&e, Some(&t), "rotated out past grace").await;
    assert!(msg.contains("rotated out"), "{msg}");
    let fresh = e.token(CONTOSO).await;
    assert_eq!(
        e.api("GET", "/api/alerts", Some(&fresh), None).await.status,
        200
    );
}

#[tokio::test]
async fn both_api_prefixes_are_protected() {
    let e = demu();
    for path in [
        "/api/alerts",
        "/api/v1.0/alerts",
        "/api/machines/x",
        "/api/v1.0/indicators",
    ] {
        let r = e.api("GET", path, None, None).await;
        r.mde_error(401, "Unauthorized");
    }
}

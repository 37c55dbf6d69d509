//! Hostile input against the emulator: forged and broken tokens, hostile client
//! assertions, cross-tenant access, oversized and malformed requests. Every case asserts
//! its status and that the answer leaks nothing: no secret, no admin key, no other
//! tenant's identifiers, no panic text, no source paths.

mod common;
use axum::body::Body;
use axum::http::Request;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use serde_json::{Value, json};

const SCENARIO_WITH_DATA: &str = "devices = 8\nalerts = 12\nseed = 5\n";

fn hostile_emu(grace: Option<u32>) -> Emu {
    let mut text = SCENARIO
        .replace("admin = { user = \"admin@contoso.onmicrosoft.com\", password = \"Contoso-Pass-1\" }\n", &format!("admin = {{ user = \"admin@contoso.onmicrosoft.com\", password = \"Contoso-Pass-1\" }}\n{SCENARIO_WITH_DATA}"))
        .replace("admin = { user = \"admin@woodgrove.onmicrosoft.com\", password = \"Woodgrove-Pass-1\" }\n", &format!("admin = {{ user = \"admin@woodgrove.onmicrosoft.com\", password = \"Woodgrove-Pass-1\" }}\n{SCENARIO_WITH_DATA}"));
    text.push_str(&format!(
        "\n[[consents]]\ntenant = \"{WOODGROVE}\"\napp = \"{APP}\"\n"
    ));
    if let Some(g) = grace {
        text = text.replace(
            "[emulator]\n",
            &format!("[emulator]\nkey_grace_minutes = {g}\n"),
        );
    }
    let s = mdep_emulator::scenario::Scenario::parse(&text, std::path::Path::new("hostile.toml"))
        .expect("scenario");
    let state = mdep_emulator::Emulator::open(None, s.open_options()).expect("emulator");
    s.apply(&state).expect("apply");
    Emu {
        app: mdep_emulator::app(state.clone(), "https"),
        state,
    }
}

/// Asserts the answer leaks nothing; `foreign` lists identifiers of another tenant.
fn no_leak(r: &Reply, foreign: &[&str], case: &str) {
    let text = r.text();
    for bad in [
        SECRET,
        EXPIRED_SECRET,
        ADMIN_KEY,
        "panicked",
        "backtrace",
        "RUST_",
        "/src/",
        ".rs:",
        "thread '",
    ] {
        assert!(
            !text.contains(bad),
            "{case}: the answer contains {bad:?}: {text}"
        );
    }
    for f in foreign {
        assert!(
            !text.contains(f),
            "{case}: the answer names another tenant's {f}: {text}"
        );
    }
    assert_ne!(r.status.as_u16(), 500, "{case}: 500: {text}");
}

fn b64(v: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(v)
}

async fn api(e: &Emu, path: &str, token: Option<&str>) -> Reply {
    let mut req = Request::get(path).header("host", HOST);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    e.send(req.body(Body::empty()).expect("request")).await
}

/// Signs arbitrary claims with the emulator's real active key (what only Entra can do).
fn sign_real(e: &Emu, header: Value, claims: &Value) -> String {
    let key = e.state.keys().active().cloned().expect("key");
    let mut h = header;
    if h.get("kid").is_none() {
        h["kid"] = json!(key.stored.kid);
    }
    let input = format!("{}.{}", b64(h.to_string()), b64(claims.to_string()));
    format!("{input}.{}", b64(key.sign_rs256(input.as_bytes())))
}

/// Signs with a key Entra never published.
fn sign_foreign(header: Value, claims: &Value) -> String {
    let c = cert();
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(c.key_pem.as_bytes()).expect("key");
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    h.kid = header.get("kid").and_then(Value::as_str).map(str::to_owned);
    h.jku = header.get("jku").and_then(Value::as_str).map(str::to_owned);
    h.x5u = header.get("x5u").and_then(Value::as_str).map(str::to_owned);
    if header.get("x5c").is_some() {
        h.x5c = Some(vec![
            base64::engine::general_purpose::STANDARD.encode(&c.der),
        ]);
    }
    jsonwebtoken::encode(&h, claims, &key).expect("sign")
}

fn mde_claims(e: &Emu, tenant: &str) -> Value {
    let sp = e.state.directory().service_principals
        [&(tenant.parse().expect("t"), APP.parse().expect("a"))]
        .object_id;
    json!({
        "aud": MDE, "iss": format!("https://sts.windows.net/{tenant}/"), "iat": now() - 300, "nbf": now() - 300,
        "exp": now() + 3600, "appid": APP, "appidacr": "1", "oid": sp, "sub": sp,
        "roles": ["Alert.Read.All", "Machine.Read.All"], "tid": tenant, "ver": "1.0",
    })
}

#[tokio::test]
async fn forged_and_broken_tokens_are_refused_by_the_api() {
    let e = hostile_emu(None);
    let good = e.token(CONTOSO).await;
    assert_eq!(
        api(&e, "/api/alerts", Some(&good)).await.status,
        200,
        "the baseline token works"
    );
    let c = mde_claims(&e, CONTOSO);
    let parts: Vec<&str> = good.split('.').collect();
    let key = e.state.keys().active().cloned().expect("key");
    let public_n = URL_SAFE_NO_PAD.decode(&key.n).expect("n");
    let hs256_with_public_key = {
        let k = jsonwebtoken::EncodingKey::from_secret(&public_n);
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        h.kid = Some(key.stored.kid.clone());
        jsonwebtoken::encode(&h, &c, &k).expect("hs256")
    };
    let mut escalated = c.clone();
    escalated["roles"] = json!(["Machine.Isolate", "Alert.ReadWrite.All"]);
    let mut expired = c.clone();
    expired["exp"] = json!(now() - 3600);
    expired["iat"] = json!(now() - 7200);
    expired["nbf"] = json!(now() - 7200);
    let mut future = c.clone();
    future["nbf"] = json!(now() + 3600);
    future["exp"] = json!(now() + 7200);
    let mut wrong_aud = c.clone();
    wrong_aud["aud"] = json!("https://graph.microsoft.com");
    let mut wrong_iss = c.clone();
    wrong_iss["iss"] = json!(format!("https://sts.windows.net/{WOODGROVE}/"));
    let mut foreign_iss = c.clone();
    foreign_iss["iss"] = json!("https://evil.example/");
    let mut unknown_tenant = c.clone();
    unknown_tenant["iss"] = json!("https://sts.windows.net/99999999-9999-9999-9999-999999999999/");
    unknown_tenant["tid"] = json!("99999999-9999-9999-9999-999999999999");
    let cases: Vec<(&str, Option<String>)> = vec![
        ("no token", None),
        ("empty bearer", Some(String::new())),
        ("garbage", Some("not-a-token".into())),
        (
            "alg none",
            Some(format!(
                "{}.{}.",
                b64(r#"{"alg":"none","typ":"JWT"}"#),
                b64(c.to_string())
            )),
        ),
        (
            "alg None",
            Some(format!(
                "{}.{}.",
                b64(r#"{"alg":"None","typ":"JWT"}"#),
                b64(c.to_string())
            )),
        ),
        (
            "HS256 signed with the RSA public key",
            Some(hs256_with_public_key),
        ),
        (
            "unknown kid",
            Some(sign_foreign(json!({"kid": "not-a-published-kid"}), &c)),
        ),
        (
            "kid of the real key, foreign signature",
            Some(sign_foreign(json!({"kid": key.stored.kid}), &c)),
        ),
        (
            "kid path injection",
            Some(sign_foreign(json!({"kid": "../../../_emulator/state"}), &c)),
        ),
        (
            "jku injection",
            Some(sign_foreign(
                json!({"kid": key.stored.kid, "jku": "https://evil.example/keys"}),
                &c,
            )),
        ),
        (
            "x5u injection",
            Some(sign_foreign(
                json!({"kid": key.stored.kid, "x5u": "https://evil.example/cert"}),
                &c,
            )),
        ),
        (
            "x5c injection",
            Some(sign_foreign(
                json!({"kid": key.stored.kid, "x5c": true}),
                &c,
            )),
        ),
        (
            "stripped signature",
            Some(format!("{}.{}.", parts[0], parts[1])),
        ),
        (
            "truncated signature",
            Some(format!(
                "{}.{}.{}",
                parts[0],
                parts[1],
                &parts[2][..parts[2].len() / 2]
            )),
        ),
        (
            "tampered payload",
            Some(format!(
                "{}.{}.{}",
                parts[0],
                b64(escalated.to_string()),
                parts[2]
            )),
        ),
        (
            "expired",
            Some(sign_real(
                &e,
                json!({"typ": "JWT", "alg": "RS256"}),
                &expired,
            )),
        ),
        (
            "not yet valid",
            Some(sign_real(
                &e,
                json!({"typ": "JWT", "alg": "RS256"}),
                &future,
            )),
        ),
        (
            "wrong aud",
            Some(sign_real(
                &e,
                json!({"typ": "JWT", "alg": "RS256"}),
                &wrong_aud,
            )),
        ),
        (
            "iss of another tenant than tid",
            Some(sign_real(
                &e,
                json!({"typ": "JWT", "alg": "RS256"}),
                &wrong_iss,
            )),
        ),
        (
            "foreign iss",
            Some(sign_real(
                &e,
                json!({"typ": "JWT", "alg": "RS256"}),
                &foreign_iss,
            )),
        ),
        (
            "unknown tenant",
            Some(sign_real(
                &e,
                json!({"typ": "JWT", "alg": "RS256"}),
                &unknown_tenant,
            )),
        ),
        (
            "RS384 header",
            Some(sign_real(&e, json!({"typ": "JWT", "alg": "RS384"}), &c)),
        ),
    ];
    for (case, token) in &cases {
        let r = api(&e, "/api/alerts", token.as_deref()).await;
        assert_eq!(r.status, 401, "{case}: {}", r.text());
        assert!(
            r.json()["error"]["code"].is_string(),
            "{case}: MDE's error body"
        );
        // Where the forged token itself names Woodgrove, echoing it back is no leak.
        let foreign: &[&str] = if case.contains("another tenant") {
            &[]
        } else {
            &[WOODGROVE]
        };
        no_leak(&r, foreign, case);
    }
    // Revoked consent: the token was valid, the service principal is gone.
    assert_eq!(
        e.admin(
            "DELETE",
            &format!("/_emulator/consents/{CONTOSO}/{APP}"),
            None
        )
        .await
        .status,
        204
    );
    let r = api(&e, "/api/alerts", Some(&good)).await;
    assert_eq!(r.status, 401, "revoked consent");
    no_leak(&r, &[WOODGROVE], "revoked consent");
}

#[tokio::test]
async fn a_key_rotated_out_past_its_grace_is_refused() {
    let e = hostile_emu(Some(0));
    let old = e.token(CONTOSO).await;
    e.admin("POST", "/_emulator/keys/rotate", None).await;
    let r = api(&e, "/api/alerts", Some(&old)).await;
    assert_eq!(r.status, 401);
    no_leak(&r, &[WOODGROVE], "rotated key");
    assert_eq!(
        api(&e, "/api/alerts", Some(&e.token(CONTOSO).await))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn another_tenants_objects_are_404_even_by_exact_id() {
    let e = hostile_emu(None);
    let contoso = e.token(CONTOSO).await;
    let woodgrove = e.token(WOODGROVE).await;
    let theirs = api(&e, "/api/alerts?$top=3", Some(&woodgrove)).await.json();
    let alert = theirs["value"][0].clone();
    let alert_id = alert["id"].as_str().expect("alert id").to_owned();
    let machine_id = alert["machineId"].as_str().expect("machine id").to_owned();
    let title = alert["title"].as_str().unwrap_or("").to_owned();
    for path in [
        format!("/api/alerts/{alert_id}"),
        format!("/api/alerts/{alert_id}/machine"),
        format!("/api/machines/{machine_id}"),
        format!("/api/machines/{machine_id}/alerts"),
        format!("/api/v1.0/alerts/{alert_id}"),
    ] {
        let r = api(&e, &path, Some(&contoso)).await;
        assert_eq!(r.status, 404, "{path}: {}", r.text());
        // The id the caller sent may be echoed; nothing else of the other tenant may.
        no_leak(&r, &[WOODGROVE, "Woodgrove", &title], &path);
    }
    let mine = api(&e, "/api/alerts?$top=10000", Some(&contoso))
        .await
        .json();
    assert!(
        mine["value"]
            .as_array()
            .expect("list")
            .iter()
            .all(|a| a["id"] != alert_id.as_str()),
        "lists never show another tenant's alerts"
    );
}

#[tokio::test]
async fn hostile_ids_filters_and_queries_never_break_the_server() {
    let e = hostile_emu(None);
    let t = e.token(CONTOSO).await;
    let cases = [
        ("/api/alerts/..%2F..%2F_emulator%2Fstate", 404),
        ("/api/alerts/%00%01%02", 404),
        ("/api/machines/'%20OR%201=1%20--", 404),
        ("/api/alerts?$filter=status%20eq%20'New'%20or%201=1", 400),
        (
            "/api/alerts?$filter=status%20eq%20'x''%3B%20DROP%20TABLE%20alerts%3B%20--'",
            200,
        ),
        (
            "/api/alerts?$filter=severity%20eq%20'High')%20UNION%20SELECT%20*%20FROM%20meta%20--",
            400,
        ),
        (
            "/api/alerts?$filter=((((((((((((((((((((((((((((((((((((((((",
            400,
        ),
        ("/api/alerts?$top=-1", 400),
        ("/api/alerts?$top=99999999999999999999", 400),
        ("/api/alerts?$orderby=title;DROP", 400),
    ];
    for (path, status) in cases {
        let r = api(&e, path, Some(&t)).await;
        assert_eq!(r.status.as_u16(), status, "{path}: {}", r.text());
        no_leak(&r, &[WOODGROVE], path);
    }
    let long_query = format!("/api/alerts?$filter={}", "a".repeat(60_000));
    let r = api(&e, &long_query, Some(&t)).await;
    assert!(
        matches!(r.status.as_u16(), 400 | 414 | 431),
        "oversized query: {}",
        r.status
    );
    no_leak(&r, &[WOODGROVE], "oversized query");
}

async fn assertion_request(e: &Emu, assertion: &str) -> Reply {
    e.post_form(
        &format!("/{CONTOSO}/oauth2/v2.0/token"),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", APP),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
            ("scope", "https://api.securitycenter.microsoft.com/.default"),
        ],
    )
    .await
}

#[tokio::test]
async fn hostile_client_assertions_and_token_requests() {
    let e = hostile_emu(None);
    let registered = cert();
    assert_eq!(
        e.admin(
            "POST",
            &format!("/_emulator/apps/{APP}/certificates"),
            Some(json!({"pem": registered.pem}))
        )
        .await
        .status,
        201
    );
    let attacker = cert();
    let sha1 = |der: &[u8]| {
        URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
            der,
        ))
    };
    let good = assertion(&registered, Style::Rs256X5t, claims(CONTOSO));
    let (gh, rest) = good.split_once('.').expect("jwt");
    let (gp, gs) = rest.split_once('.').expect("jwt");
    let mut tampered_claims = claims(CONTOSO);
    tampered_claims["sub"] = json!(APP);
    tampered_claims["extra"] = json!("x");
    let attacker_with_registered_thumbprint = {
        let key =
            jsonwebtoken::EncodingKey::from_rsa_pem(attacker.key_pem.as_bytes()).expect("key");
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        h.x5t = Some(sha1(&registered.der));
        h.jku = Some("https://evil.example/keys".into());
        h.x5c = Some(vec![
            base64::engine::general_purpose::STANDARD.encode(&attacker.der),
        ]);
        jsonwebtoken::encode(&h, &claims(CONTOSO), &key).expect("sign")
    };
    let hs256 = {
        let k = jsonwebtoken::EncodingKey::from_secret(registered.pem.as_bytes());
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        h.x5t = Some(sha1(&registered.der));
        jsonwebtoken::encode(&h, &claims(CONTOSO), &k).expect("sign")
    };
    let cases: Vec<(&str, String, u16, u32)> = vec![
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(format!(
                    r#"{{"alg":"none","x5t":"{}"}}"#,
                    sha1(&registered.der)
                )),
                b64(claims(CONTOSO).to_string())
            ),
            401,
            50027,
        ),
        ("HS256 keyed with the certificate", hs256, 401, 50027),
        ("stripped signature", format!("{gh}.{gp}."), 401, 50027),
        (
            "truncated signature",
            format!("{gh}.{gp}.{}", &gs[..(gs.len() / 2) & !3]),
            401,
            700027,
        ),
        (
            "tampered payload",
            format!("{gh}.{}.{gs}", b64(tampered_claims.to_string())),
            401,
            700027,
        ),
        (
            "attacker key behind the registered thumbprint, jku and x5c",
            attacker_with_registered_thumbprint,
            401,
            700027,
        ),
        (
            "signed with another certificate",
            assertion(&attacker, Style::Ps256S256, claims(CONTOSO)),
            401,
            700027,
        ),
        (
            "wrong aud",
            assertion(&registered, Style::Rs256X5t, {
                let mut c = claims(CONTOSO);
                c["aud"] = json!(format!("{ORIGIN}/{WOODGROVE}/oauth2/v2.0/token"));
                c
            }),
            401,
            700023,
        ),
        (
            "expired",
            assertion(&registered, Style::Rs256X5t, {
                let mut c = claims(CONTOSO);
                c["exp"] = json!(now() - 900);
                c
            }),
            401,
            700024,
        ),
        ("four parts", format!("{good}.extra"), 401, 50027),
    ];
    for (case, a, status, code) in &cases {
        let r = assertion_request(&e, a).await;
        r.entra_error(*status, "invalid_client", *code);
        no_leak(&r, &[WOODGROVE], case);
    }
    let r = assertion_request(&e, &good).await;
    assert_eq!(r.status, 200, "the genuine assertion works");
    let replay = assertion_request(&e, &good).await;
    replay.entra_error(401, "invalid_client", 50013);
    no_leak(&replay, &[WOODGROVE], "replayed jti");
}

#[tokio::test]
async fn hostile_token_requests_get_entra_errors() {
    let e = hostile_emu(None);
    let base = |id: &'static str, secret: &'static str| {
        vec![
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
            ("scope", "https://api.securitycenter.microsoft.com/.default"),
        ]
    };
    for _ in 0..20 {
        let r = e
            .post_form(
                &format!("/{CONTOSO}/oauth2/v2.0/token"),
                &base(APP, "guess-guess-guess-guess"),
            )
            .await;
        r.entra_error(401, "invalid_client", 7000215);
        no_leak(&r, &[WOODGROVE], "repeated wrong secrets");
    }
    assert_eq!(
        e.post_form(&format!("/{CONTOSO}/oauth2/v2.0/token"), &base(APP, SECRET))
            .await
            .status,
        200,
        "the right secret still works"
    );
    let sqli = "' OR '1'='1' --";
    type Case<'a> = (String, Vec<(&'a str, &'a str)>, u16, u32);
    let cases: Vec<Case> = vec![
        (
            format!("/{CONTOSO}/oauth2/v2.0/token"),
            base("' OR 1=1 --", SECRET),
            400,
            700016,
        ),
        (
            format!("/{CONTOSO}/oauth2/v2.0/token"),
            base("44444444-4444-4444-4444-444444444444\u{0}", SECRET),
            400,
            700016,
        ),
        (
            format!("/{CONTOSO}/oauth2/v2.0/token"),
            base("fc780465-2017-40d4-a0c5-307022471b92", SECRET),
            400,
            700016,
        ),
        (
            format!("/{CONTOSO}/oauth2/v2.0/token"),
            base(APP, sqli),
            401,
            7000215,
        ),
        (
            "/..%2F..%2Fetc%2Fpasswd/oauth2/v2.0/token".into(),
            base(APP, SECRET),
            400,
            900023,
        ),
        (
            "/contoso.onmicrosoft.com'--/oauth2/v2.0/token".into(),
            base(APP, SECRET),
            400,
            900023,
        ),
        (
            format!("/{CONTOSO}/oauth2/v2.0/token"),
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", APP),
                ("client_secret", SECRET),
                (
                    "scope",
                    "https://api.securitycenter.microsoft.com/.default\r\nSet-Cookie: x=1",
                ),
            ],
            400,
            1002012,
        ),
    ];
    for (path, pairs, status, code) in &cases {
        let r = e.post_form(path, pairs).await;
        let error = r.json()["error"].as_str().expect("error").to_owned();
        r.entra_error(*status, &error, *code);
        assert!(
            r.headers.get("set-cookie").is_none(),
            "{path}: header injection"
        );
        no_leak(&r, &[WOODGROVE], path);
    }
    // A hostile client-request-id is not echoed.
    let r = e
        .post_form_with(
            &format!("/{CONTOSO}/oauth2/v2.0/token"),
            &base(APP, SECRET),
            &[("client-request-id", "<script>alert(1)</script>")],
        )
        .await;
    assert_eq!(r.status, 200);
    assert_ne!(r.headers["client-request-id"], "<script>alert(1)</script>");
    // Oversized header.
    let big = "x".repeat(128 * 1024);
    let req = Request::post(format!("/{CONTOSO}/oauth2/v2.0/token"))
        .header("host", HOST)
        .header("x-big", big)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("grant_type=client_credentials"))
        .expect("req");
    let r = e.send(req).await;
    assert_ne!(r.status, 500);
}

#[tokio::test]
async fn consent_pages_escape_input_and_refuse_forged_sessions() {
    let e = hostile_emu(None);
    let r = e.get(&format!("/common/oauth2/authorize?prompt=consent&client_id={APP}&response_type=code&state=%3Cscript%3Ealert(1)%3C%2Fscript%3E")).await;
    assert_eq!(r.status, 200);
    assert!(!r.text().contains("<script>alert(1)</script>"));
    let r = e.get("/common/oauth2/authorize?prompt=consent&client_id=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E&response_type=code").await;
    assert!(!r.text().contains("<img src=x"), "{}", r.text());
    for (path, form) in [
        (
            "/common/consent",
            vec![("session", "forged-session-id"), ("action", "accept")],
        ),
        (
            "/common/login",
            vec![
                ("session", "forged-session-id"),
                ("login", "admin@woodgrove.onmicrosoft.com"),
                ("passwd", "Woodgrove-Pass-1"),
            ],
        ),
    ] {
        let r = e.post_form(path, &form).await;
        assert!(r.location().is_none(), "{path}: no redirect");
        no_leak(&r, &[], path);
    }
    let sps = e.admin("GET", "/_emulator/state", None).await.json()["service_principals"]
        .as_array()
        .map(Vec::len);
    assert_eq!(sps, Some(4), "nothing was consented by the forged requests");
    let r = e
        .send(
            Request::get("/_emulator/state")
                .header("host", HOST)
                .header("authorization", "Bearer ' OR 1=1 --")
                .body(Body::empty())
                .expect("req"),
        )
        .await;
    assert_eq!(r.status, 401);
    no_leak(&r, &[], "admin with a hostile key");
}

//! The token endpoints over HTTP: every success shape and every Entra error row of
//! `entra-oauth.md` §2.2, checked with the status, `error` and code Entra returns.

mod common;
use common::*;
use serde_json::json;

fn v2(tenant: &str) -> String {
    format!("/{tenant}/oauth2/v2.0/token")
}
fn v1(tenant: &str) -> String {
    format!("/{tenant}/oauth2/token")
}
fn scope() -> String {
    format!("{MDE}/.default")
}

#[tokio::test]
async fn v2_secret_token_has_entra_shape_and_claims() {
    let e = emu();
    let r = e
        .post_form_with(
            &v2(CONTOSO),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", APP),
                ("client_secret", SECRET),
                ("scope", &scope()),
            ],
            &[("client-request-id", "0b7f3a9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.headers["client-request-id"],
        "0b7f3a9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
    );
    assert_eq!(r.headers["cache-control"], "no-store, no-cache");
    let v = r.json();
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], json!(3599));
    assert_eq!(v["ext_expires_in"], json!(3599));
    assert!(
        v.get("scope").is_none(),
        "v2 client-credentials responses carry no scope"
    );
    assert!(v.get("refresh_token").is_none());
    let (h, c) = decode(v["access_token"].as_str().expect("token"));
    assert_eq!(h["alg"], "RS256");
    assert_eq!(h["typ"], "JWT");
    assert_eq!(h["kid"], h["x5t"]);
    assert_eq!(c["aud"], MDE);
    assert_eq!(c["iss"], format!("https://sts.windows.net/{CONTOSO}/"));
    assert_eq!(c["idp"], c["iss"]);
    assert_eq!(c["tid"], CONTOSO);
    assert_eq!(c["appid"], APP);
    assert_eq!(c["appidacr"], "1");
    assert_eq!(c["ver"], "1.0");
    assert_eq!(c["oid"], c["sub"]);
    assert_eq!(c["roles"], json!(["Alert.Read.All", "Machine.Read.All"]));
    assert_eq!(c["iat"], c["nbf"]);
    let iat = c["iat"].as_i64().expect("iat");
    assert_eq!(c["exp"].as_i64().expect("exp") - iat, 3900);
    assert!((now() - 300 - iat).abs() <= 2, "iat is backdated 300 s");
    for claim in ["aio", "rh", "uti"] {
        assert!(c[claim].as_str().is_some_and(|s| !s.is_empty()), "{claim}");
    }
    let sp_oid = e.state.directory().service_principals
        [&(CONTOSO.parse().expect("uuid"), APP.parse().expect("uuid"))]
        .object_id
        .to_string();
    assert_eq!(
        c["oid"], sp_oid,
        "oid is the service principal in the customer tenant"
    );
}

#[tokio::test]
async fn v1_token_has_string_numbers_and_resource() {
    let e = emu();
    let r = e
        .post_form(
            &v1(CONTOSO),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", APP),
                ("client_secret", SECRET),
                ("resource", MDE),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["expires_in"], "3599");
    assert_eq!(v["ext_expires_in"], "3599");
    assert_eq!(v["resource"], MDE);
    let on: i64 = v["expires_on"]
        .as_str()
        .expect("string")
        .parse()
        .expect("number");
    let nb: i64 = v["not_before"]
        .as_str()
        .expect("string")
        .parse()
        .expect("number");
    assert_eq!(on - nb, 3900);
    let (_, c) = decode(v["access_token"].as_str().expect("token"));
    assert_eq!(c["exp"].as_i64(), Some(on));
}

#[tokio::test]
async fn every_mde_resource_spelling_is_accepted_and_becomes_the_audience() {
    let e = emu();
    for (resource, aud) in [
        (
            "https://api.securitycenter.microsoft.com",
            "https://api.securitycenter.microsoft.com",
        ),
        (
            "https://api.security.microsoft.com",
            "https://api.security.microsoft.com",
        ),
        (
            "https://securitycenter.onmicrosoft.com/windowsatpservice",
            "https://securitycenter.onmicrosoft.com/windowsatpservice",
        ),
        (
            "fc780465-2017-40d4-a0c5-307022471b92",
            "fc780465-2017-40d4-a0c5-307022471b92",
        ),
    ] {
        let r = e
            .post_form(
                &v2(CONTOSO),
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", APP),
                    ("client_secret", SECRET),
                    ("scope", &format!("{resource}/.default")),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{resource}: {}", r.text());
        let (_, c) = decode(r.json()["access_token"].as_str().expect("token"));
        assert_eq!(c["aud"], aud);
    }
}

#[tokio::test]
async fn basic_auth_domain_tenant_and_organizations_work() {
    use base64::Engine;
    let e = emu();
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{APP}:{}", SECRET.replace('~', "%7E")));
    let r = e
        .post_form_with(
            &v2("contoso.onmicrosoft.com"),
            &[("grant_type", "client_credentials"), ("scope", &scope())],
            &[("authorization", &format!("Basic {basic}"))],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let (_, c) = decode(r.json()["access_token"].as_str().expect("token"));
    assert_eq!(c["tid"], CONTOSO, "a domain resolves to the tenant GUID");
    // /organizations with client credentials lands in the app's home tenant.
    let r = e
        .post_form(
            &v2("organizations"),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", APP),
                ("client_secret", SECRET),
                ("scope", &scope()),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let (_, c) = decode(r.json()["access_token"].as_str().expect("token"));
    assert_eq!(c["tid"], PARTNER);
    assert!(
        c.get("roles").is_none(),
        "no roles granted in the home tenant: the claim is absent"
    );
}

#[tokio::test]
async fn secret_errors() {
    let e = emu();
    let base = |secret: &'static str| {
        vec![
            ("grant_type", "client_credentials"),
            ("client_id", APP),
            ("client_secret", secret),
            ("scope", "https://api.securitycenter.microsoft.com/.default"),
        ]
    };
    let r = e
        .post_form(&v2(CONTOSO), &base("wrong-secret-value-0123456789"))
        .await;
    let v = r.entra_error(401, "invalid_client", 7000215);
    assert!(
        v["error_description"]
            .as_str()
            .expect("d")
            .contains("not the client secret ID")
    );
    e.post_form(&v2(CONTOSO), &base(EXPIRED_SECRET))
        .await
        .entra_error(401, "invalid_client", 7000222);
    e.post_form(
        &v2(CONTOSO),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", APP),
            ("scope", &scope()),
        ],
    )
    .await
    .entra_error(401, "invalid_client", 7000218);
}

#[tokio::test]
async fn tenant_and_app_errors() {
    let e = emu();
    let ok = |_: &'static str| {
        vec![
            ("grant_type", "client_credentials"),
            ("client_id", APP),
            ("client_secret", SECRET),
            ("scope", "https://api.securitycenter.microsoft.com/.default"),
        ]
    };
    let v =
        e.post_form(&v2(WOODGROVE), &ok(""))
            .await
            .entra_error(400, "unauthorized_client", 700016);
    assert!(v["error_description"].as_str().expect("d").contains(APP));
    e.post_form(&v2("99999999-9999-9999-9999-999999999999"), &ok(""))
        .await
        .entra_error(400, "invalid_request", 90002);
    e.post_form(&v2("nobody.onmicrosoft.com"), &ok(""))
        .await
        .entra_error(400, "invalid_request", 90002);
    e.post_form(&v2("not_a_tenant!"), &ok(""))
        .await
        .entra_error(400, "invalid_request", 900023);
    e.post_form(&v2("common"), &ok(""))
        .await
        .entra_error(400, "invalid_request", 9001023);
    e.post_form(&v2("consumers"), &ok(""))
        .await
        .entra_error(400, "invalid_request", 9001023);
    e.post_form(
        &v2(CONTOSO),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "not-a-guid"),
            ("client_secret", SECRET),
            ("scope", &scope()),
        ],
    )
    .await
    .entra_error(400, "unauthorized_client", 700016);
    e.post_form(
        &v2(CONTOSO),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "66666666-6666-6666-6666-666666666666"),
            ("client_secret", SECRET),
            ("scope", &scope()),
        ],
    )
    .await
    .entra_error(400, "unauthorized_client", 700016);
}

#[tokio::test]
async fn parameter_and_scope_errors() {
    let e = emu();
    let s = scope();
    type Case<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str, u32);
    let cases: Vec<Case> = vec![
        (
            vec![("client_id", APP), ("client_secret", SECRET), ("scope", &s)],
            400,
            "invalid_request",
            900144,
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_secret", SECRET),
                ("scope", &s),
            ],
            400,
            "invalid_request",
            900144,
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", APP),
                ("client_secret", SECRET),
            ],
            400,
            "invalid_request",
            900144,
        ),
        (
            vec![
                ("grant_type", "password"),
                ("client_id", APP),
                ("client_secret", SECRET),
                ("scope", &s),
            ],
            400,
            "unsupported_grant_type",
            70003,
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", APP),
                ("client_secret", SECRET),
                (
                    "scope",
                    "https://api.securitycenter.microsoft.com/Alert.Read.All",
                ),
            ],
            400,
            "invalid_scope",
            1002012,
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", APP),
                ("client_secret", SECRET),
                (
                    "scope",
                    "https://api.securitycenter.microsoft.com/.default https://graph.microsoft.com/.default",
                ),
            ],
            400,
            "invalid_scope",
            70011,
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", APP),
                ("client_secret", SECRET),
                ("scope", &s),
                ("resource", MDE),
            ],
            400,
            "invalid_request",
            901002,
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", APP),
                ("client_secret", SECRET),
                // Azure AD Graph: not a resource of the emulator's tenants.
                ("scope", "https://graph.windows.net/.default"),
            ],
            400,
            "invalid_resource",
            500011,
        ),
    ];
    for (pairs, status, error, code) in cases {
        e.post_form(&v2(CONTOSO), &pairs)
            .await
            .entra_error(status, error, code);
    }
    // v1 needs resource=.
    e.post_form(
        &v1(CONTOSO),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", APP),
            ("client_secret", SECRET),
        ],
    )
    .await
    .entra_error(400, "invalid_request", 900144);
    let v = e
        .post_form(
            &v1(CONTOSO),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", APP),
                ("client_secret", SECRET),
                ("resource", "https://unknown.example.com"),
            ],
        )
        .await
        .entra_error(400, "invalid_resource", 500011);
    assert!(
        v["error_description"]
            .as_str()
            .expect("d")
            .contains("Contoso")
    );
}

#[tokio::test]
async fn bad_bodies_get_entra_errors_never_500() {
    use axum::body::Body;
    use axum::http::Request;
    let e = emu();
    let json_body = Request::post(v2(CONTOSO))
        .header("host", HOST)
        .header("content-type", "application/json")
        .body(Body::from(r#"{"grant_type":"client_credentials"}"#))
        .expect("req");
    e.send(json_body)
        .await
        .entra_error(400, "invalid_request", 900144);
    let garbage = Request::post(v2(CONTOSO))
        .header("host", HOST)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(vec![0xff, 0xfe, 0x00, 0x26, 0x3d, 0x3d, 0x25]))
        .expect("req");
    e.send(garbage)
        .await
        .entra_error(400, "invalid_request", 900144);
    let huge = Request::post(v2(CONTOSO))
        .header("host", HOST)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "grant_type=client_credentials&pad={}",
            "a".repeat(1 << 20)
        )))
        .expect("req");
    let r = e.send(huge).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["error"], "invalid_request");
    let get = e.get(&v2(CONTOSO)).await;
    get.entra_error(400, "invalid_request", 900561);
    let no_ct = Request::post(v1(CONTOSO))
        .header("host", HOST)
        .body(Body::from("grant_type=client_credentials"))
        .expect("req");
    e.send(no_ct)
        .await
        .entra_error(400, "invalid_request", 900144);
}

#[tokio::test]
async fn error_body_has_every_entra_field() {
    let e = emu();
    let r = e
        .post_form_with(
            &v2(WOODGROVE),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", APP),
                ("client_secret", SECRET),
                ("scope", &scope()),
            ],
            &[("client-request-id", "5e0d1c2b-3a49-4857-9a6b-7c8d9e0f1a2b")],
        )
        .await;
    let v = r.json();
    assert_eq!(v["correlation_id"], "5e0d1c2b-3a49-4857-9a6b-7c8d9e0f1a2b");
    assert_eq!(
        r.headers["client-request-id"],
        "5e0d1c2b-3a49-4857-9a6b-7c8d9e0f1a2b"
    );
    let ts = v["timestamp"].as_str().expect("timestamp");
    assert!(
        time::PrimitiveDateTime::parse(
            ts,
            time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z")
        )
        .is_ok(),
        "{ts}"
    );
    assert!(uuid::Uuid::parse_str(v["trace_id"].as_str().expect("trace")).is_ok());
    assert_eq!(v["error_uri"], format!("{ORIGIN}/error?code=700016"));
    let keys: Vec<&String> = v.as_object().expect("object").keys().collect();
    assert_eq!(
        keys,
        [
            "error",
            "error_description",
            "error_codes",
            "timestamp",
            "trace_id",
            "correlation_id",
            "error_uri"
        ]
    );
    assert!(
        r.headers["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("application/json")
    );
}

#[tokio::test]
async fn roles_follow_consent_not_registration() {
    let e = emu();
    let (_, c) = decode(&e.token(CONTOSO).await);
    assert_eq!(c["roles"], json!(["Alert.Read.All", "Machine.Read.All"]));
    let r = e
        .admin(
            "POST",
            &format!("/_emulator/apps/{APP}/permissions"),
            Some(json!({"permission": "Machine.Isolate"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let (_, c) = decode(&e.token(CONTOSO).await);
    assert_eq!(
        c["roles"],
        json!(["Alert.Read.All", "Machine.Read.All"]),
        "a new permission needs consent again"
    );
    let r = e
        .admin(
            "POST",
            "/_emulator/consents",
            Some(json!({"tenant": CONTOSO, "app": APP})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let (_, c) = decode(&e.token(CONTOSO).await);
    assert_eq!(
        c["roles"],
        json!(["Alert.Read.All", "Machine.Read.All", "Machine.Isolate"])
    );
    let r = e
        .admin(
            "DELETE",
            &format!("/_emulator/consents/{CONTOSO}/{APP}"),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    e.post_form(
        &v2(CONTOSO),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", APP),
            ("client_secret", SECRET),
            ("scope", &scope()),
        ],
    )
    .await
    .entra_error(400, "unauthorized_client", 700016);
}

async fn emu_with_cert() -> (Emu, Cert) {
    let e = emu();
    let c = cert();
    let r = e
        .admin(
            "POST",
            &format!("/_emulator/apps/{APP}/certificates"),
            Some(json!({"pem": c.pem})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    (e, c)
}

async fn with_assertion(e: &Emu, tenant: &str, version_path: &str, assertion: &str) -> Reply {
    e.post_form(
        &format!("/{tenant}/{version_path}"),
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
async fn certificate_assertions_rs256_and_ps256() {
    let (e, c) = emu_with_cert().await;
    for style in [Style::Rs256X5t, Style::Ps256S256] {
        let a = assertion(&c, style, claims(CONTOSO));
        let r = with_assertion(&e, CONTOSO, "oauth2/v2.0/token", &a).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let (_, t) = decode(r.json()["access_token"].as_str().expect("token"));
        assert_eq!(t["appidacr"], "2");
        assert_eq!(t["tid"], CONTOSO);
    }
    // MSAL Python sends float exp/iat and no nbf; the aud may name the domain or v1 path.
    let mut cl = claims(CONTOSO);
    cl["exp"] = json!(now() as f64 + 599.75);
    cl["iat"] = json!(now() as f64 + 0.5);
    cl.as_object_mut().expect("obj").remove("nbf");
    cl["aud"] = json!(format!("{ORIGIN}/contoso.onmicrosoft.com/oauth2/token"));
    let r = with_assertion(
        &e,
        CONTOSO,
        "oauth2/v2.0/token",
        &assertion(&c, Style::Ps256S256, cl),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

#[tokio::test]
async fn certificate_assertion_errors() {
    let (e, c) = emu_with_cert().await;
    // Replayed jti.
    let a = assertion(&c, Style::Rs256X5t, claims(CONTOSO));
    assert_eq!(
        with_assertion(&e, CONTOSO, "oauth2/v2.0/token", &a)
            .await
            .status,
        200
    );
    with_assertion(&e, CONTOSO, "oauth2/v2.0/token", &a)
        .await
        .entra_error(401, "invalid_client", 50013);
    // Signed by a certificate that is not registered.
    let other = cert();
    let v = with_assertion(
        &e,
        CONTOSO,
        "oauth2/v2.0/token",
        &assertion(&other, Style::Rs256X5t, claims(CONTOSO)),
    )
    .await
    .entra_error(401, "invalid_client", 700027);
    assert!(
        v["error_description"]
            .as_str()
            .expect("d")
            .contains("The key was not found")
    );
    // Registered thumbprint, but signed with another key.
    let forged = {
        let real = assertion(&c, Style::Rs256X5t, claims(CONTOSO));
        let fake = assertion(&other, Style::Rs256X5t, claims(CONTOSO));
        let (h, _) = real.split_once('.').expect("dot");
        let rest = fake.split_once('.').expect("dot").1;
        format!("{h}.{rest}")
    };
    let v = with_assertion(&e, CONTOSO, "oauth2/v2.0/token", &forged)
        .await
        .entra_error(401, "invalid_client", 700027);
    assert!(
        v["error_description"]
            .as_str()
            .expect("d")
            .contains("Key was found")
    );
    // Expired.
    let mut cl = claims(CONTOSO);
    cl["exp"] = json!(now() - 3600);
    cl["nbf"] = json!(now() - 4000);
    with_assertion(
        &e,
        CONTOSO,
        "oauth2/v2.0/token",
        &assertion(&c, Style::Rs256X5t, cl),
    )
    .await
    .entra_error(401, "invalid_client", 700024);
    // Not yet valid.
    let mut cl = claims(CONTOSO);
    cl["nbf"] = json!(now() + 3600);
    cl["exp"] = json!(now() + 4000);
    with_assertion(
        &e,
        CONTOSO,
        "oauth2/v2.0/token",
        &assertion(&c, Style::Rs256X5t, cl),
    )
    .await
    .entra_error(401, "invalid_client", 700024);
    // Wrong audience: another tenant's endpoint, another host.
    for aud in [
        format!("{ORIGIN}/{WOODGROVE}/oauth2/v2.0/token"),
        format!("https://login.microsoftonline.com/{CONTOSO}/oauth2/v2.0/token"),
    ] {
        let mut cl = claims(CONTOSO);
        cl["aud"] = json!(aud);
        with_assertion(
            &e,
            CONTOSO,
            "oauth2/v2.0/token",
            &assertion(&c, Style::Rs256X5t, cl),
        )
        .await
        .entra_error(401, "invalid_client", 700023);
    }
    // iss != sub.
    let mut cl = claims(CONTOSO);
    cl["sub"] = json!("someone-else");
    with_assertion(
        &e,
        CONTOSO,
        "oauth2/v2.0/token",
        &assertion(&c, Style::Rs256X5t, cl),
    )
    .await
    .entra_error(401, "invalid_client", 50048);
    // Malformed assertions.
    for bad in [
        "not-a-jwt",
        "a.b",
        "e30.e30.",
        "eyJhbGciOiJub25lIn0.e30.sig",
    ] {
        with_assertion(&e, CONTOSO, "oauth2/v2.0/token", bad)
            .await
            .entra_error(401, "invalid_client", 50027);
    }
    // alg=none with a stripped signature.
    let none = {
        use base64::Engine;
        let enc = |v: serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        format!(
            "{}.{}.",
            enc(json!({"alg": "none", "x5t": "abc"})),
            enc(claims(CONTOSO))
        )
    };
    with_assertion(&e, CONTOSO, "oauth2/v2.0/token", &none)
        .await
        .entra_error(401, "invalid_client", 50027);
    // Wrong assertion type.
    e.post_form(
        &format!("/{CONTOSO}/oauth2/v2.0/token"),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", APP),
            ("client_assertion_type", "urn:other"),
            ("client_assertion", &a),
            ("scope", &scope()),
        ],
    )
    .await
    .entra_error(401, "invalid_client", 50012);
}

//! The broker and validator against the emulator over real HTTPS on 127.0.0.1:0.

use mdep_auth::config::TokenVersion;
use mdep_auth::{
    AssertionStyle, BrokerOptions, CertificateCredential, Check, ClientCredential, Expectations,
    Secret, TokenBroker, Validator,
};
use mdep_emulator::server::{Running, ServeOptions, serve};
use mdep_model::Cloud;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const PARTNER: &str = "11111111-1111-1111-1111-111111111111";
const APP: &str = "44444444-4444-4444-4444-444444444444";
const SECRET: &str = "abc8Q~0123456789abcdefghijklmnopqrstuvw";
const MDE: &str = "https://api.securitycenter.microsoft.com";

fn tenant_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

/// A scenario with `n` consented customers (tenant ids from `tenant_id`).
fn scenario(n: usize, lifetime: u32) -> String {
    let mut s = format!(
        "[emulator]\nadmin_key = \"broker-test-admin-key-0123\"\ntoken_lifetime_minutes = {lifetime}\n\n\
         [[tenants]]\nid = \"{PARTNER}\"\nname = \"Fabrikam\"\ndomain = \"fabrikam.onmicrosoft.com\"\nadmin = {{ user = \"admin@fabrikam.onmicrosoft.com\", password = \"p\" }}\n\n\
         [[tenants]]\nid = \"99999999-0000-4000-8000-000000000000\"\nname = \"Unconsented\"\ndomain = \"unconsented.onmicrosoft.com\"\nadmin = {{ user = \"admin@unconsented.onmicrosoft.com\", password = \"p\" }}\n"
    );
    for i in 0..n {
        s.push_str(&format!(
            "\n[[tenants]]\nid = \"{}\"\nname = \"Customer {i}\"\ndomain = \"customer{i}.onmicrosoft.com\"\nadmin = {{ user = \"admin@customer{i}.onmicrosoft.com\", password = \"p\" }}\n",
            tenant_id(i)
        ));
    }
    s.push_str(&format!(
        "\n[[apps]]\nclient_id = \"{APP}\"\nname = \"Fabrikam SOC\"\nhome_tenant = \"{PARTNER}\"\nredirect_uris = [\"https://portal.azure.com\"]\npermissions = [\"Alert.Read.All\", \"Machine.Read.All\"]\ngraph_permissions = [\"ThreatHunting.Read.All\"]\nsecrets = [{{ value = \"{SECRET}\" }}]\n"
    ));
    for i in 0..n {
        s.push_str(&format!(
            "\n[[consents]]\ntenant = \"{}\"\napp = \"{APP}\"\n",
            tenant_id(i)
        ));
    }
    s
}

struct Emu {
    running: Option<Running>,
    base: String,
    ca: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Emu {
    async fn start(n: usize, lifetime: u32) -> Self {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("scenario.toml");
        std::fs::write(&path, scenario(n, lifetime)).expect("write");
        let running = serve(ServeOptions {
            listen: "127.0.0.1:0".parse().expect("addr"),
            scenario: Some(path),
            state_dir: dir.path().join("state"),
            ..Default::default()
        })
        .await
        .expect("serve");
        let base = running.base_url.clone();
        let ca = running.ca_file.clone().expect("ca");
        Self {
            running: Some(running),
            base,
            ca,
            _dir: dir,
        }
    }

    fn http(&self) -> reqwest::Client {
        mdep_auth::http_client(Some(&self.ca)).expect("client")
    }

    fn broker(&self, credential: ClientCredential, version: TokenVersion) -> Arc<TokenBroker> {
        TokenBroker::new(
            BrokerOptions::new(Cloud::Global, &self.base, APP, credential, MDE, version),
            self.http(),
        )
    }

    async fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http()
            .request(method, format!("{}{path}", self.base))
            .bearer_auth("broker-test-admin-key-0123");
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("admin");
        let status = r.status();
        let text = r.text().await.expect("text");
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Token requests the emulator answered, by status.
    async fn token_requests(&self) -> u64 {
        let v = self
            .admin(reqwest::Method::GET, "/_emulator/counters", None)
            .await;
        v["counters"]
            .as_array()
            .expect("list")
            .iter()
            .filter(|c| c["route"].as_str().is_some_and(|r| r.ends_with("/token")))
            .map(|c| c["count"].as_u64().expect("n"))
            .sum()
    }

    async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
    }
}

fn secret() -> ClientCredential {
    ClientCredential::Secret(Secret::new(SECRET))
}

fn claims(token: &str) -> Value {
    mdep_auth::inspect::decode(token).expect("jwt").claims
}

#[tokio::test]
async fn secret_and_certificate_over_v1_and_v2() {
    let emu = Emu::start(1, 60).await;
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("rsa");
    let cert = rcgen::CertificateParams::new(vec!["soc".to_owned()])
        .expect("p")
        .self_signed(&key)
        .expect("c");
    emu.admin(
        reqwest::Method::POST,
        &format!("/_emulator/apps/{APP}/certificates"),
        Some(json!({"pem": cert.pem()})),
    )
    .await;
    let pem = format!("{}{}", cert.pem(), key.serialize_pem());
    for version in [TokenVersion::V1, TokenVersion::V2] {
        let t = emu
            .broker(secret(), version)
            .token(&tenant_id(0), "Customer 0")
            .await
            .expect("secret token");
        let c = claims(t.token.expose());
        assert_eq!(
            (c["tid"].as_str(), c["appidacr"].as_str()),
            (Some(tenant_id(0).as_str()), Some("1"))
        );
        for style in [AssertionStyle::Ps256, AssertionStyle::Rs256] {
            let cred = ClientCredential::Certificate(
                CertificateCredential::from_pem(&pem, style).expect("cred"),
            );
            let t = emu
                .broker(cred, version)
                .token("customer0.onmicrosoft.com", "Customer 0")
                .await
                .expect("cert token");
            let c = claims(t.token.expose());
            assert_eq!(c["appidacr"], "2", "{version:?} {style:?}");
            assert_eq!(c["roles"], json!(["Alert.Read.All", "Machine.Read.All"]));
        }
    }
    emu.stop().await;
}

/// `pfx =` files made by `openssl pkcs12 -export` in both its forms (tests/fixtures/pfx,
/// README there): read through the config, the certificate registered on the app, a token
/// in both assertion styles.
#[tokio::test]
async fn pfx_files_from_openssl_aes_and_legacy_get_tokens() {
    let emu = Emu::start(1, 60).await;
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pfx");
    let crt = std::fs::read_to_string(fixtures.join("app.crt")).expect("crt");
    emu.admin(
        reqwest::Method::POST,
        &format!("/_emulator/apps/{APP}/certificates"),
        Some(json!({"pem": crt})),
    )
    .await;
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = dir.path().join("config.toml");
    std::fs::write(dir.path().join("pfx-password"), "fixture-pass\n").expect("password");
    for file in ["app-aes.pfx", "app-legacy.pfx"] {
        for style in ["ps256", "rs256"] {
            let text = mdep_auth::config::template(Some(APP)).replace(
                "secret_env = \"MDEP_CLIENT_SECRET\"",
                &format!(
                    "pfx = \"{}\"\npfx_password_file = \"pfx-password\"\ncertificate_style = \"{style}\"",
                    fixtures.join(file).display()
                ),
            );
            let loaded = mdep_auth::config::Config::parse(&text, &cfg).expect("config");
            let cred = loaded.config.credential(&cfg).expect(file);
            let ClientCredential::Certificate(c) = &cred else {
                panic!("{file}: a certificate credential expected");
            };
            // `openssl x509 -in app.crt -noout -fingerprint -sha1`
            assert_eq!(
                c.thumbprint_sha1, "51286DA2AF17A727BF6478224A81DDD8E6EE5C9A",
                "{file}"
            );
            let t = emu
                .broker(cred, TokenVersion::V2)
                .token(&tenant_id(0), "Customer 0")
                .await
                .unwrap_or_else(|e| panic!("{file} {style}: {e}"));
            let c = claims(t.token.expose());
            assert_eq!(c["appidacr"], "2", "{file} {style}");
            assert_eq!(c["tid"], tenant_id(0));
        }
    }
    // A wrong password and a file that is not PKCS#12 are refused with what to check; the
    // password is never repeated.
    let der = std::fs::read(fixtures.join("app-aes.pfx")).expect("pfx");
    let e = CertificateCredential::from_pkcs12(&der, "wrong-pass-0000", AssertionStyle::Ps256)
        .expect_err("wrong password");
    assert!(e.to_string().contains("password is wrong"), "{e}");
    assert!(!e.to_string().contains("wrong-pass-0000"), "{e}");
    let e = CertificateCredential::from_pkcs12(crt.as_bytes(), "", AssertionStyle::Ps256)
        .expect_err("a PEM is not a PFX");
    assert!(e.to_string().contains("PKCS#12"), "{e}");
    emu.stop().await;
}

#[tokio::test]
async fn a_thousand_concurrent_callers_for_a_hundred_tenants_make_a_hundred_requests() {
    let emu = Emu::start(100, 60).await;
    let broker = emu.broker(secret(), TokenVersion::V2);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..1000 {
        let b = broker.clone();
        tasks.spawn(async move {
            b.token(&tenant_id(i % 100), "customer")
                .await
                .map(|t| t.expires_on)
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.expect("join").expect("token");
    }
    assert_eq!(broker.requests_sent(), 100);
    assert_eq!(
        emu.token_requests().await,
        100,
        "the emulator saw exactly one request per tenant"
    );
    // Cached now: no I/O.
    assert!(broker.cached(&tenant_id(7)).is_some());
    broker
        .token(&tenant_id(7).to_uppercase(), "customer")
        .await
        .expect("cached");
    assert_eq!(emu.token_requests().await, 100);
    emu.stop().await;
}

#[tokio::test]
async fn refreshes_ahead_of_expiry_without_making_callers_wait() {
    let emu = Emu::start(1, 5).await;
    let mut opts = BrokerOptions::new(
        Cloud::Global,
        &emu.base,
        APP,
        secret(),
        MDE,
        TokenVersion::V2,
    );
    // A 5-minute token is inside a 10-minute refresh window from the start.
    opts.refresh_before = Duration::from_secs(600);
    let broker = TokenBroker::new(opts, emu.http());
    let first = broker.token(&tenant_id(0), "c").await.expect("first");
    let again = broker
        .token(&tenant_id(0), "c")
        .await
        .expect("served from cache");
    assert_eq!(
        again.token.expose(),
        first.token.expose(),
        "the caller got the valid token at once"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while broker.requests_sent() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "no background refresh"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let third = broker.token(&tenant_id(0), "c").await.expect("refreshed");
    assert_ne!(
        third.token.expose(),
        first.token.expose(),
        "the refreshed token replaced the old one"
    );
    emu.stop().await;
}

#[tokio::test]
async fn persistent_cache_is_private_and_reused() {
    let emu = Emu::start(1, 60).await;
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("tokens.json");
    let make = || {
        let mut o = BrokerOptions::new(
            Cloud::Global,
            &emu.base,
            APP,
            secret(),
            MDE,
            TokenVersion::V2,
        );
        o.cache_file = Some(file.clone());
        TokenBroker::new(o, emu.http())
    };
    let a = make();
    let t1 = a.token(&tenant_id(0), "c").await.expect("token");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).expect("meta").permissions().mode() & 0o777,
            0o600
        );
    }
    let text = std::fs::read_to_string(&file).expect("cache file");
    let signature = t1.token.expose().rsplit('.').next().expect("sig");
    assert!(
        !text.contains(signature) && !text.contains("eyJ"),
        "tokens are sealed in the file: {text}"
    );
    let b = make();
    let t2 = b.token(&tenant_id(0), "c").await.expect("token");
    assert_eq!(
        b.requests_sent(),
        0,
        "the second run reused the cached token"
    );
    assert_eq!(t1.token.expose(), t2.token.expose());
    // Another credential cannot open them: it fetches its own token.
    let mut o = BrokerOptions::new(
        Cloud::Global,
        &emu.base,
        APP,
        ClientCredential::Secret(Secret::new("another-secret-value-0000")),
        MDE,
        TokenVersion::V2,
    );
    o.cache_file = Some(file.clone());
    let c = TokenBroker::new(o, emu.http());
    assert!(
        c.cached(&tenant_id(0)).is_none(),
        "a different secret does not unseal the cache"
    );
    emu.stop().await;
}

#[tokio::test]
async fn entra_errors_become_typed_errors_with_hints() {
    let emu = Emu::start(1, 60).await;
    let e = emu
        .broker(secret(), TokenVersion::V2)
        .token("99999999-0000-4000-8000-000000000000", "Unconsented")
        .await
        .expect_err("no consent");
    assert_eq!(e.aadsts(), Some(700016));
    assert!(
        e.to_string()
            .contains("mdep consent-url --tenant Unconsented"),
        "{e}"
    );
    let wrong = emu.broker(
        ClientCredential::Secret(Secret::new("wrong-secret-value-000000")),
        TokenVersion::V1,
    );
    let e = wrong
        .token(&tenant_id(0), "Customer 0")
        .await
        .expect_err("wrong secret");
    assert_eq!(e.aadsts(), Some(7000215));
    assert!(e.to_string().contains("not its id"), "{e}");
    assert!(
        !e.to_string().contains("wrong-secret-value"),
        "errors never carry the secret"
    );
    let e = emu
        .broker(secret(), TokenVersion::V2)
        .token("nobody.onmicrosoft.com", "Nobody")
        .await
        .expect_err("no tenant");
    assert_eq!(e.aadsts(), Some(90002));
    emu.stop().await;
}

#[tokio::test]
async fn validation_checks_signature_audience_tenant_roles_and_follows_rotation() {
    let emu = Emu::start(2, 60).await;
    let broker = emu.broker(secret(), TokenVersion::V2);
    let validator = Validator::new(emu.http(), &emu.base).min_refetch(Duration::ZERO);
    let want = |tenant: Option<String>, roles: &[&str]| Expectations {
        tenant,
        audiences: vec![MDE.to_owned()],
        required_roles: roles.iter().map(|r| r.to_string()).collect(),
        skew: Duration::from_secs(300),
    };
    let old = broker.token(&tenant_id(0), "c0").await.expect("token");
    let ok = validator
        .validate(
            old.token.expose(),
            &want(Some(tenant_id(0)), &["Alert.Read.All"]),
        )
        .await
        .expect("valid");
    assert_eq!(ok.claims()["tid"], tenant_id(0));
    let e = validator
        .validate(old.token.expose(), &want(None, &["Machine.Isolate"]))
        .await
        .expect_err("role");
    assert_eq!(e.check, Check::Roles);
    let e = validator
        .validate(old.token.expose(), &want(Some(tenant_id(1)), &[]))
        .await
        .expect_err("other tenant");
    assert!(matches!(e.check, Check::Issuer | Check::Tenant), "{e}");
    let mut wrong_aud = want(None, &[]);
    wrong_aud.audiences = vec!["https://graph.microsoft.com".into()];
    assert_eq!(
        validator
            .validate(old.token.expose(), &wrong_aud)
            .await
            .expect_err("aud")
            .check,
        Check::Audience
    );
    let mut parts: Vec<String> = old.token.expose().split('.').map(str::to_owned).collect();
    let mut c = claims(old.token.expose());
    c["roles"] = json!(["Machine.Isolate"]);
    use base64::Engine;
    parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(c.to_string());
    assert_eq!(
        validator
            .validate(&parts.join("."), &want(None, &[]))
            .await
            .expect_err("tampered")
            .check,
        Check::Signature
    );
    assert_eq!(
        validator
            .validate("not.a.jwt", &want(None, &[]))
            .await
            .expect_err("format")
            .check,
        Check::Format
    );
    // Rotation: the first promotes the pre-published next key (already in the cached set);
    // after a second one the signing kid is new to the validator, which refetches.
    let fetches = validator.key_set_fetches();
    emu.admin(reqwest::Method::POST, "/_emulator/keys/rotate", None)
        .await;
    let after_one = emu
        .broker(secret(), TokenVersion::V2)
        .token(&tenant_id(0), "c0")
        .await
        .expect("token");
    validator
        .validate(after_one.token.expose(), &want(None, &[]))
        .await
        .expect("next key was published already");
    assert_eq!(validator.key_set_fetches(), fetches, "no refetch needed");
    emu.admin(reqwest::Method::POST, "/_emulator/keys/rotate", None)
        .await;
    let fresh_broker = emu.broker(secret(), TokenVersion::V2);
    let new = fresh_broker
        .token(&tenant_id(0), "c0")
        .await
        .expect("token");
    validator
        .validate(new.token.expose(), &want(None, &[]))
        .await
        .expect("new key found after a refetch");
    assert_eq!(validator.key_set_fetches(), fetches + 1);
    validator
        .validate(old.token.expose(), &want(None, &[]))
        .await
        .expect("old key still published");
    emu.stop().await;
}

#[tokio::test]
async fn retries_throttling_and_server_errors_then_gives_up_clearly() {
    use axum::routing::post;
    use std::sync::atomic::{AtomicU32, Ordering};
    // A token endpoint that throttles, fails, then answers: the broker must ride it out.
    let calls = Arc::new(AtomicU32::new(0));
    let c2 = calls.clone();
    let app = axum::Router::new().route(
        "/{tenant}/oauth2/v2.0/token",
        post(move || {
            let n = c2.fetch_add(1, Ordering::SeqCst);
            async move {
                use axum::response::IntoResponse;
                match n {
                    0 => (axum::http::StatusCode::TOO_MANY_REQUESTS, [("retry-after", "0")], "Too Many Requests").into_response(),
                    1 => (axum::http::StatusCode::SERVICE_UNAVAILABLE, "busy").into_response(),
                    2 => axum::Json(json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": "a.b.c"})).into_response(),
                    _ => (axum::http::StatusCode::SERVICE_UNAVAILABLE, "down").into_response(),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut opts = BrokerOptions::new(
        Cloud::Global,
        format!("http://{addr}"),
        APP,
        secret(),
        MDE,
        TokenVersion::V2,
    );
    opts.max_retry_wait = Duration::from_millis(50);
    let broker = TokenBroker::new(opts, mdep_auth::http_client(None).expect("client"));
    let t = broker
        .token("t1", "T1")
        .await
        .expect("third attempt succeeds");
    assert_eq!(t.token.expose(), "a.b.c");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    let e = broker.token("t2", "T2").await.expect_err("keeps failing");
    assert!(
        matches!(
            e,
            mdep_auth::AuthError::Unavailable {
                status: 503,
                attempts: 4,
                ..
            }
        ),
        "{e}"
    );
}

#[tokio::test]
async fn one_broker_serves_a_token_per_tenant_and_resource_and_caches_each() {
    const GRAPH: &str = "https://graph.microsoft.com";
    let emu = Emu::start(2, 60).await;
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("tokens.json");
    let make = || {
        let mut o = BrokerOptions::new(
            Cloud::Global,
            &emu.base,
            APP,
            secret(),
            MDE,
            TokenVersion::V2,
        );
        o.cache_file = Some(file.clone());
        TokenBroker::new(o, emu.http())
    };
    let a = make();
    let mde = a.token(&tenant_id(0), "c0").await.expect("mde");
    let graph = a
        .token_for(&tenant_id(0), GRAPH, "c0")
        .await
        .expect("graph");
    let graph1 = a
        .token_for(&tenant_id(1), GRAPH, "c1")
        .await
        .expect("graph");
    assert_eq!(claims(mde.token.expose())["aud"], MDE);
    assert_eq!(claims(graph.token.expose())["aud"], GRAPH);
    assert_eq!(
        claims(graph.token.expose())["roles"],
        json!(["ThreatHunting.Read.All"])
    );
    assert_eq!(claims(graph1.token.expose())["tid"], tenant_id(1));
    assert_eq!(a.requests_sent(), 3);
    // Cached per (tenant, resource), in memory and in the file.
    a.token_for(&tenant_id(0), "https://graph.microsoft.com/", "c0")
        .await
        .expect("graph again");
    assert_eq!(a.requests_sent(), 3);
    let b = make();
    assert_eq!(
        b.cached_for(&tenant_id(0), GRAPH)
            .map(|t| t.token.expose().to_owned()),
        Some(graph.token.expose().to_owned())
    );
    assert_eq!(
        b.cached(&tenant_id(0)).map(|t| t.token.expose().to_owned()),
        Some(mde.token.expose().to_owned())
    );
    b.token_for(&tenant_id(1), GRAPH, "c1")
        .await
        .expect("graph");
    assert_eq!(b.requests_sent(), 0);
    emu.stop().await;
}

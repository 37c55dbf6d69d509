//! Shared helpers: an emulator built from a scenario, driven through `app()` without
//! sockets, and a certificate credential signed by an independent JWT library.
#![allow(dead_code)]

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use mdep_emulator::Emulator;
use mdep_emulator::scenario::Scenario;
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use tower::ServiceExt;

pub const PARTNER: &str = "11111111-1111-1111-1111-111111111111";
pub const CONTOSO: &str = "22222222-2222-2222-2222-222222222222";
pub const WOODGROVE: &str = "33333333-3333-3333-3333-333333333333";
pub const APP: &str = "44444444-4444-4444-4444-444444444444";
pub const SECRET: &str = "abc8Q~0123456789abcdefghijklmnopqrstuvw";
pub const EXPIRED_SECRET: &str = "old8Q~0123456789abcdefghijklmnopqrstuvw";
pub const SINGLE_APP: &str = "55555555-5555-5555-5555-555555555555";
pub const ADMIN_KEY: &str = "test-admin-key-0123456789";
pub const HOST: &str = "localhost:8443";
pub const ORIGIN: &str = "https://localhost:8443";
pub const MDE: &str = "https://api.securitycenter.microsoft.com";

pub const SCENARIO: &str = r#"
[emulator]
admin_key = "test-admin-key-0123456789"

[[tenants]]
id = "11111111-1111-1111-1111-111111111111"
name = "Fabrikam"
domain = "fabrikam.onmicrosoft.com"
admin = { user = "admin@fabrikam.onmicrosoft.com", password = "Fabrikam-Pass-1" }

[[tenants]]
id = "22222222-2222-2222-2222-222222222222"
name = "Contoso"
domain = "contoso.onmicrosoft.com"
admin = { user = "admin@contoso.onmicrosoft.com", password = "Contoso-Pass-1" }

[[tenants]]
id = "33333333-3333-3333-3333-333333333333"
name = "Woodgrove"
domain = "woodgrove.onmicrosoft.com"
admin = { user = "admin@woodgrove.onmicrosoft.com", password = "Woodgrove-Pass-1" }

[[apps]]
client_id = "44444444-4444-4444-4444-444444444444"
name = "Fabrikam SOC Connector"
home_tenant = "11111111-1111-1111-1111-111111111111"
redirect_uris = ["https://portal.azure.com", "http://localhost:9999/landing"]
permissions = ["Alert.Read.All", "Machine.Read.All"]
secrets = [
  { value = "abc8Q~0123456789abcdefghijklmnopqrstuvw", expires = "2099-12-31T00:00:00Z" },
  { value = "old8Q~0123456789abcdefghijklmnopqrstuvw", expires = "2020-01-01T00:00:00Z" },
]

[[apps]]
client_id = "55555555-5555-5555-5555-555555555555"
name = "Fabrikam Internal Tool"
home_tenant = "11111111-1111-1111-1111-111111111111"
multi_tenant = false
redirect_uris = ["https://portal.azure.com"]
permissions = ["Alert.Read.All"]

[[consents]]
tenant = "22222222-2222-2222-2222-222222222222"
app = "44444444-4444-4444-4444-444444444444"
"#;

pub struct Emu {
    pub state: Arc<Emulator>,
    pub app: Router,
}

pub fn emu() -> Emu {
    emu_with(SCENARIO)
}

pub fn emu_with(scenario: &str) -> Emu {
    let s = Scenario::parse(scenario, Path::new("test.toml")).expect("scenario");
    // Every [emulator] setting the scenario gives is in force, as under `mdep emulator serve`.
    let state = Emulator::open(None, s.open_options()).expect("emulator");
    s.apply(&state).expect("apply");
    let app = mdep_emulator::app(state.clone(), "https");
    Emu { state, app }
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn location(&self) -> Option<String> {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
    /// Asserts an Entra error with this status and code; returns the body.
    pub fn entra_error(&self, status: u16, error: &str, code: u32) -> Value {
        let v = self.json();
        assert_eq!(self.status.as_u16(), status, "status; body: {v}");
        assert_eq!(v["error"], error, "error; body: {v}");
        assert_eq!(
            v["error_codes"],
            serde_json::json!([code]),
            "codes; body: {v}"
        );
        let desc = v["error_description"].as_str().expect("description");
        assert!(desc.starts_with(&format!("AADSTS{code}: ")), "{desc}");
        assert!(
            desc.contains("Trace ID: ") && desc.contains("Correlation ID: "),
            "{desc}"
        );
        v
    }
}

impl Emu {
    pub async fn send(&self, req: Request<Body>) -> Reply {
        let resp = self.app.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(
            Request::get(path)
                .header("host", HOST)
                .body(Body::empty())
                .expect("request"),
        )
        .await
    }

    pub async fn post_form(&self, path: &str, pairs: &[(&str, &str)]) -> Reply {
        self.post_form_with(path, pairs, &[]).await
    }

    pub async fn post_form_with(
        &self,
        path: &str,
        pairs: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            ser.append_pair(k, v);
        }
        let mut req = Request::post(path)
            .header("host", HOST)
            .header("content-type", "application/x-www-form-urlencoded");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req.body(Body::from(ser.finish())).expect("request"))
            .await
    }

    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", HOST)
            .header("authorization", format!("Bearer {ADMIN_KEY}"))
            .header("content-type", "application/json")
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .expect("request");
        self.send(req).await
    }

    /// A v2 client-credentials token by secret; panics unless 200.
    pub async fn token(&self, tenant: &str) -> String {
        let r = self
            .post_form(
                &format!("/{tenant}/oauth2/v2.0/token"),
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", APP),
                    ("client_secret", SECRET),
                    ("scope", &format!("{MDE}/.default")),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["access_token"].as_str().expect("token").to_owned()
    }
}

/// Decodes a JWT's header and payload without verifying (for assertions on claims).
pub fn decode(token: &str) -> (Value, Value) {
    use base64::Engine;
    let mut parts = token.split('.');
    let dec = |p: &str| -> Value {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(p)
            .expect("base64url");
        serde_json::from_slice(&bytes).expect("json")
    };
    let h = dec(parts.next().expect("header"));
    let p = dec(parts.next().expect("payload"));
    (h, p)
}

/// A certificate credential: an RSA key and its self-signed certificate.
pub struct Cert {
    pub pem: String,
    pub key_pem: String,
    pub der: Vec<u8>,
}

pub fn cert() -> Cert {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("rsa");
    let cert = rcgen::CertificateParams::new(vec!["soc.fabrikam.example".to_owned()])
        .expect("params")
        .self_signed(&key)
        .expect("cert");
    Cert {
        pem: cert.pem(),
        key_pem: key.serialize_pem(),
        der: cert.der().to_vec(),
    }
}

fn digest(alg: &'static aws_lc_rs::digest::Algorithm, data: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(alg, data).as_ref().to_vec()
}

/// Which assertion header style to build.
#[derive(Clone, Copy)]
pub enum Style {
    /// RS256 + `x5t` (SHA-1), as azure-identity and older MSAL send.
    Rs256X5t,
    /// PS256 + `x5t#S256`, as current MSAL Python sends.
    Ps256S256,
}

/// Builds a client assertion with the `jsonwebtoken` crate (not the emulator's code).
pub fn assertion(cert: &Cert, style: Style, claims: Value) -> String {
    use base64::Engine;
    let mut header = match style {
        Style::Rs256X5t => jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        Style::Ps256S256 => jsonwebtoken::Header::new(jsonwebtoken::Algorithm::PS256),
    };
    match style {
        Style::Rs256X5t => {
            header.x5t = Some(base64::engine::general_purpose::URL_SAFE.encode(digest(
                &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
                &cert.der,
            )))
        }
        Style::Ps256S256 => {
            header.x5t_s256 = Some(
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(digest(&aws_lc_rs::digest::SHA256, &cert.der)),
            )
        }
    }
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(cert.key_pem.as_bytes()).expect("key");
    jsonwebtoken::encode(&header, &claims, &key).expect("sign")
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Standard assertion claims for `APP` against `tenant`'s v2 endpoint.
pub fn claims(tenant: &str) -> Value {
    serde_json::json!({
        "aud": format!("{ORIGIN}/{tenant}/oauth2/v2.0/token"),
        "iss": APP,
        "sub": APP,
        "jti": uuid::Uuid::new_v4().to_string(),
        "nbf": now(),
        "iat": now(),
        "exp": now() + 600,
    })
}

// Admin consent through the web pages, as a browser drives them.

/// Pulls `name="session" value="…"` out of a page.
pub fn session_of(html: &str) -> String {
    let at = html
        .find(r#"name="session" value=""#)
        .expect("session field")
        + r#"name="session" value=""#.len();
    html[at..].split('"').next().expect("value").to_owned()
}

/// The query parameters of a redirect.
pub fn query(location: &str) -> std::collections::HashMap<String, String> {
    let q = location.split_once('?').map_or("", |(_, q)| q);
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

/// Opens a consent link and signs in as `user`; returns the consent page.
pub async fn sign_in(e: &Emu, link: &str, user: &str, password: &str) -> Reply {
    let page = e.get(link).await;
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    assert!(html.contains("idSIButton9"), "{html}");
    let tenant_seg = link
        .trim_start_matches('/')
        .split('/')
        .next()
        .expect("tenant");
    e.post_form(
        &format!("/{tenant_seg}/login"),
        &[
            ("session", &session_of(&html)),
            ("login", user),
            ("passwd", password),
        ],
    )
    .await
}

/// Accepts or cancels on a consent page.
pub async fn decide(e: &Emu, link: &str, consent_page: &Reply, action: &str) -> Reply {
    let tenant_seg = link
        .trim_start_matches('/')
        .split('/')
        .next()
        .expect("tenant");
    e.post_form(
        &format!("/{tenant_seg}/consent"),
        &[
            ("session", &session_of(&consent_page.text())),
            ("action", action),
        ],
    )
    .await
}

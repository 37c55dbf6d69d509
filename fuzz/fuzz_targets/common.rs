//! One emulator shared by the token-endpoint targets: a tenant, a consented app with a
//! secret and a registered certificate.

use mdep_emulator::AppState;
use std::sync::OnceLock;

pub const TENANT: &str = "22222222-2222-2222-2222-222222222222";

pub fn state() -> &'static AppState {
    static STATE: OnceLock<AppState> = OnceLock::new();
    STATE.get_or_init(|| {
        let text = r#"
[[tenants]]
id = "11111111-1111-1111-1111-111111111111"
name = "Fabrikam"
domain = "fabrikam.onmicrosoft.com"
admin = { user = "admin@fabrikam.onmicrosoft.com", password = "p" }
[[tenants]]
id = "22222222-2222-2222-2222-222222222222"
name = "Contoso"
domain = "contoso.onmicrosoft.com"
admin = { user = "admin@contoso.onmicrosoft.com", password = "p" }
[[apps]]
client_id = "44444444-4444-4444-4444-444444444444"
name = "Fuzz"
home_tenant = "11111111-1111-1111-1111-111111111111"
permissions = ["Alert.Read.All"]
secrets = [{ value = "abc8Q~0123456789abcdefghijklmnopqrstuvw" }]
[[consents]]
tenant = "22222222-2222-2222-2222-222222222222"
app = "44444444-4444-4444-4444-444444444444"
"#;
        let s = mdep_emulator::scenario::Scenario::parse(text, std::path::Path::new("fuzz.toml")).expect("scenario");
        let emu = mdep_emulator::Emulator::open(None, Default::default()).expect("emulator");
        s.apply(&emu).expect("apply");
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("rsa");
        let cert = rcgen::CertificateParams::new(vec!["fuzz".to_owned()]).expect("params").self_signed(&key).expect("cert");
        emu.add_certificate("44444444-4444-4444-4444-444444444444".parse().expect("uuid"), cert.pem().as_bytes()).expect("cert");
        AppState { emu, scheme: "https" }
    })
}

pub fn token(body: &[u8], v2: bool) {
    let mut headers = axum::http::HeaderMap::new();
    headers.insert("content-type", axum::http::HeaderValue::from_static("application/x-www-form-urlencoded"));
    let body = axum::body::Bytes::copy_from_slice(body);
    let req = mdep_emulator::entra::token::TokenRequest {
        tenant: TENANT,
        headers: &headers,
        body: &body,
        version: if v2 { mdep_emulator::entra::token::Version::V2 } else { mdep_emulator::entra::token::Version::V1 },
        origin: "https://localhost:8443",
    };
    let _ = mdep_emulator::entra::token::issue(state(), req);
}

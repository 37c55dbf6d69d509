//! What the mdep-auth benches share: the emulator they start and the broker they use.

use mdep_auth::config::TokenVersion;
use mdep_auth::{BrokerOptions, ClientCredential, Secret, TokenBroker};
use mdep_emulator::server::{Running, ServeOptions, TlsMode, serve};
use mdep_model::Cloud;
use std::path::Path;
use std::sync::Arc;

pub const SCENARIO: &str = r#"
[emulator]
admin_key = "bench-admin-key-0123456789"
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
name = "Bench"
home_tenant = "11111111-1111-1111-1111-111111111111"
permissions = ["Alert.Read.All"]
secrets = [{ value = "abc8Q~0123456789abcdefghijklmnopqrstuvw" }]
[[consents]]
tenant = "22222222-2222-2222-2222-222222222222"
app = "44444444-4444-4444-4444-444444444444"
"#;

/// The customer tenant the benches take tokens for.
pub const TENANT: &str = "22222222-2222-2222-2222-222222222222";

/// The emulator on 127.0.0.1 without TLS, its scenario and state under `dir`.
pub async fn emulator(dir: &Path) -> Running {
    let scenario = dir.join("scenario.toml");
    std::fs::write(&scenario, SCENARIO).expect("write");
    serve(ServeOptions {
        listen: "127.0.0.1:0".parse().expect("addr"),
        scenario: Some(scenario),
        tls: TlsMode::Off,
        state_dir: dir.join("state"),
        ..Default::default()
    })
    .await
    .expect("emulator")
}

/// The bench app's broker against `running`, v2 tokens for the MDE API.
pub fn broker(running: &Running, http: reqwest::Client) -> Arc<TokenBroker> {
    TokenBroker::new(
        BrokerOptions::new(
            Cloud::Global,
            &running.base_url,
            "44444444-4444-4444-4444-444444444444",
            ClientCredential::Secret(Secret::new("abc8Q~0123456789abcdefghijklmnopqrstuvw")),
            "https://api.securitycenter.microsoft.com",
            TokenVersion::V2,
        ),
        http,
    )
}

//! The Defender for Endpoint API over HTTP (`app().oneshot`): token checks, roles,
//! tenant isolation, endpoints, OData, quotas and fidelity to Microsoft's samples.

#[path = "../common/mod.rs"]
mod common;

mod actions;
mod api;
mod applications;
mod assessments;
mod auth;
mod bodies;
mod faults;
mod fidelity;
mod fuzz;
mod graph;
mod graph_hunting;
mod hunting;
mod intel;
mod isolation;
mod odata;
mod quota;
mod response;
mod roles;
mod tvm;

use axum::body::Body;
use axum::http::Request;
use common::*;
use serde_json::Value;

/// A second app, for callers with other roles.
pub const OTHER_APP: &str = "66666666-6666-6666-6666-666666666666";
/// Its secret.
pub const OTHER_SECRET: &str = "oth8Q~0123456789abcdefghijklmnopqrstuvw";

/// Every role the endpoints here accept.
pub const ALL_ROLES: &[&str] = &[
    "Alert.ReadWrite.All",
    "Machine.ReadWrite.All",
    "Machine.Isolate",
    "Machine.RestrictExecution",
    "Machine.Scan",
    "Machine.CollectForensics",
    "Machine.Offboard",
    "Machine.StopAndQuarantine",
    "Ti.ReadWrite.All",
    "File.Read.All",
    "Ip.Read.All",
    "Url.Read.All",
    "User.Read.All",
];

/// The Microsoft Graph roles the test app holds.
pub const GRAPH_ROLES: &[&str] = &[
    "ThreatHunting.Read.All",
    "SecurityAlert.ReadWrite.All",
    "SecurityIncident.ReadWrite.All",
];

/// The test scenario, with extra `[emulator]` keys.
pub fn scenario(emulator_keys: &str) -> String {
    let perms = ALL_ROLES
        .iter()
        .chain(["Alert.Read.All", "Machine.Read.All", "Ti.ReadWrite"].iter())
        .map(|r| format!("\"{r}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        r#"
[emulator]
admin_key = "{ADMIN_KEY}"
{emulator_keys}

[[tenants]]
id = "{PARTNER}"
name = "Fabrikam"
domain = "fabrikam.onmicrosoft.com"
admin = {{ user = "admin@fabrikam.onmicrosoft.com", password = "Fabrikam-Pass-1" }}

[[tenants]]
id = "{CONTOSO}"
name = "Contoso"
domain = "contoso.onmicrosoft.com"
admin = {{ user = "admin@contoso.onmicrosoft.com", password = "Contoso-Pass-1" }}
devices = 12
alerts = 30
seed = 42

[[tenants]]
id = "{WOODGROVE}"
name = "Woodgrove"
domain = "woodgrove.onmicrosoft.com"
admin = {{ user = "admin@woodgrove.onmicrosoft.com", password = "Woodgrove-Pass-1" }}
devices = 6
alerts = 9
seed = 42

[[apps]]
client_id = "{APP}"
name = "Fabrikam SOC Connector"
home_tenant = "{PARTNER}"
permissions = [{perms}]
graph_permissions = [{graph}]
secrets = [{{ value = "{SECRET}" }}]

[[apps]]
client_id = "{OTHER_APP}"
name = "Fabrikam Reporting"
home_tenant = "{PARTNER}"
permissions = ["Score.Read.All"]
secrets = [{{ value = "{OTHER_SECRET}" }}]

[[consents]]
tenant = "{CONTOSO}"
app = "{APP}"
roles = [{all}, {graph}]

[[consents]]
tenant = "{WOODGROVE}"
app = "{APP}"
roles = [{all}, {graph}]

[[consents]]
tenant = "{CONTOSO}"
app = "{OTHER_APP}"
"#,
        graph = GRAPH_ROLES
            .iter()
            .map(|r| format!("\"{r}\""))
            .collect::<Vec<_>>()
            .join(", "),
        all = ALL_ROLES
            .iter()
            .map(|r| format!("\"{r}\""))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// An emulator with Defender data and generous quotas.
pub fn demu() -> Emu {
    emu_from(&scenario(
        "mde_calls_per_minute = 100000\nmde_calls_per_hour = 1000000",
    ))
}

/// An emulator from scenario text, with every `[emulator]` setting it gives in force
/// (as `mdep emulator serve` does).
pub fn emu_from(text: &str) -> Emu {
    let s = mdep_emulator::scenario::Scenario::parse(text, std::path::Path::new("test.toml"))
        .expect("scenario");
    let state = mdep_emulator::Emulator::open(None, s.open_options()).expect("emulator");
    s.apply(&state).expect("apply");
    let app = mdep_emulator::app(state.clone(), "https");
    Emu { state, app }
}

impl Emu {
    /// Calls the MDE API with a bearer token (or none).
    pub async fn api(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        // Spaces and quotes as a client's URL encoder sends them.
        let uri = path.replace(' ', "%20").replace('\'', "%27");
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "api.securitycenter.localhost");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        self.send(req.body(body).expect("request")).await
    }

    /// `POST /api/libraryfiles` as `multipart/form-data`: a file `name` with `content`,
    /// and the text `fields`.
    pub async fn upload(
        &self,
        token: &str,
        name: &str,
        content: &str,
        fields: &[(&str, &str)],
    ) -> Reply {
        let b = "mdep-test-boundary-7f3a";
        let mut body = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n{content}\r\n"
        );
        for (k, v) in fields {
            body.push_str(&format!(
                "--{b}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
            ));
        }
        body.push_str(&format!("--{b}--\r\n"));
        let req = Request::builder()
            .method("POST")
            .uri("/api/libraryfiles")
            .header("host", "api.securitycenter.localhost")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", format!("multipart/form-data; boundary={b}"))
            .body(Body::from(body))
            .expect("request");
        self.send(req).await
    }

    /// A token of `OTHER_APP` in `tenant`.
    pub async fn other_token(&self, tenant: &str) -> String {
        let r = self
            .post_form(
                &format!("/{tenant}/oauth2/v2.0/token"),
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", OTHER_APP),
                    ("client_secret", OTHER_SECRET),
                    ("scope", &format!("{MDE}/.default")),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["access_token"].as_str().expect("token").to_owned()
    }

    /// Grants `APP` exactly `roles` in `tenant` and returns a fresh token.
    pub async fn token_with(&self, tenant: &str, roles: &[&str]) -> String {
        self.state
            .grant_consent(
                tenant.parse().expect("tenant"),
                APP.parse().expect("app"),
                Some(roles.iter().map(|r| (*r).to_owned()).collect()),
            )
            .expect("consent");
        self.token(tenant).await
    }
}

impl Reply {
    /// Asserts MDE's error body with this status and code; returns the message.
    pub fn mde_error(&self, status: u16, code: &str) -> String {
        let v = self.json();
        assert_eq!(self.status.as_u16(), status, "status; body: {v}");
        assert_eq!(v["error"]["code"], code, "code; body: {v}");
        assert_eq!(v["error"]["code"], code, "code; body: {v}");
        let target = v["error"]["target"].as_str().expect("target");
        assert!(
            uuid::Uuid::try_parse(target).is_ok(),
            "target is a tracking id: {v}"
        );
        assert_eq!(
            v["error"].as_object().map(|o| o.len()),
            Some(3),
            "code, message, target only: {v}"
        );
        v["error"]["message"].as_str().expect("message").to_owned()
    }
}

/// The first item of a list response.
pub fn first(v: &Value) -> &Value {
    &v["value"][0]
}

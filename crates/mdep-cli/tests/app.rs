//! `mdep app` as a user runs it against the emulator's Microsoft Graph: registering the
//! partner app with a bootstrap app, re-runs that duplicate nothing, permissions added,
//! secret rotation, a bootstrap credential without Application.ReadWrite.All, and a
//! bootstrap token on standard input.

mod common;
use common::*;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

const FABRIKAM: &str = "8f6a2c31-5d0e-4b7a-9c1e-2a4b6c8d0e1f";
const CONTOSO: &str = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9";
const BOOT: &str = "b0075742-0000-4000-8000-000000000001";
const BOOT_SECRET: &str = "Boot8Q~bootstrap-secret-0123456789abcdef";
const WEAK: &str = "b0075742-0000-4000-8000-000000000002";
const WEAK_SECRET: &str = "Weak8Q~weak-secret-value-0123456789abcdef";

fn scenario() -> String {
    format!(
        r#"
[[tenants]]
id = "{FABRIKAM}"
name = "Fabrikam"
domain = "fabrikam.onmicrosoft.com"
admin = {{ user = "admin@fabrikam.onmicrosoft.com", password = "Fabrikam-Pass-1" }}

[[tenants]]
id = "{CONTOSO}"
name = "Contoso"
domain = "contoso.onmicrosoft.com"
admin = {{ user = "admin@contoso.onmicrosoft.com", password = "Contoso-Pass-1" }}

[[apps]]
client_id = "{BOOT}"
name = "Fabrikam provisioning"
home_tenant = "{FABRIKAM}"
multi_tenant = false
graph_permissions = ["Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All"]
secrets = [{{ value = "{BOOT_SECRET}" }}]

[[apps]]
client_id = "{WEAK}"
name = "Fabrikam reader"
home_tenant = "{FABRIKAM}"
multi_tenant = false
graph_permissions = ["SecurityAlert.Read.All"]
secrets = [{{ value = "{WEAK_SECRET}" }}]

[[consents]]
tenant = "{FABRIKAM}"
app = "{BOOT}"

[[consents]]
tenant = "{FABRIKAM}"
app = "{WEAK}"
"#
    )
}

struct Env {
    tmp: tempfile::TempDir,
    config: PathBuf,
    server: Server,
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}\n{}", self.stdout, self.stderr))
    }
}

impl Env {
    fn new(bootstrap: (&str, &str)) -> Self {
        let tmp = tempfile::tempdir().expect("tmp");
        let scenario_file = tmp.path().join("scenario.toml");
        std::fs::write(&scenario_file, scenario()).expect("scenario");
        let state = tmp.path().join("state");
        let server = start(
            &state,
            &["--scenario", scenario_file.to_str().expect("utf8")],
        );
        let config = tmp.path().join("config.toml");
        let env = Self {
            tmp,
            config,
            server,
        };
        let o = env.run(&["config", "init"], None);
        assert_eq!(o.code, 0, "{}", o.stderr);
        let base = env.base();
        let text = std::fs::read_to_string(&env.config)
            .expect("config")
            .replace(
                "# authority_host = \"https://127.0.0.1:8443\"",
                &format!("authority_host = \"{base}\""),
            )
            .replace(
                "# api_base = \"https://127.0.0.1:8443\"",
                &format!("api_base = \"{base}\""),
            )
            .replace(
                "# graph_base = \"https://127.0.0.1:8443\"",
                &format!("graph_base = \"{base}\""),
            )
            .replace(
                "# ca_file = \"~/.local/state/mdep/emulator/ca.pem\"",
                &format!("ca_file = \"{}\"", state.join("ca.pem").display()),
            );
        let text = format!(
            "{text}\n[bootstrap]\nclient_id = \"{}\"\ntenant = \"fabrikam.onmicrosoft.com\"\nsecret_env = \"MDEP_BOOTSTRAP_SECRET\"\n",
            bootstrap.0
        );
        std::fs::write(&env.config, text).expect("write");
        std::fs::write(env.tmp.path().join("boot"), bootstrap.1).expect("boot");
        for (name, id) in [
            ("Contoso", "contoso.onmicrosoft.com"),
            ("Fabrikam", FABRIKAM),
        ] {
            let o = env.run(&["tenants", "add", name, "--tenant", id], None);
            assert_eq!(o.code, 0, "{}", o.stderr);
        }
        env
    }

    fn base(&self) -> String {
        self.server.ready["base_url"]
            .as_str()
            .expect("base")
            .to_owned()
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> Out {
        use std::io::Write;
        let boot = std::fs::read_to_string(self.tmp.path().join("boot")).unwrap_or_default();
        let home = self.tmp.path().join("home");
        let mut child = Command::new(BIN)
            .args(args)
            .env("MDEP_CONFIG", &self.config)
            .env("MDEP_BOOTSTRAP_SECRET", boot)
            .env_remove("MDEP_CLIENT_SECRET")
            .env("HOME", &home)
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env_remove("MDEP_DB")
            .env_remove("MDEP_LOG")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        if let Some(s) = stdin {
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(s.as_bytes())
                .expect("write");
        }
        drop(child.stdin.take());
        let out = child.wait_with_output().expect("wait");
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into(),
            stderr: String::from_utf8_lossy(&out.stderr).into(),
        }
    }

    fn ok(&self, args: &[&str]) -> Value {
        let o = self.run(args, None);
        assert_eq!(o.code, 0, "{args:?}: {}\n{}", o.stderr, o.stdout);
        o.json()
    }

    fn config_text(&self) -> String {
        std::fs::read_to_string(&self.config).expect("config")
    }

    /// The home tenant's row of `mdep tenants check`.
    fn home_row(&self) -> Value {
        // Fresh tokens: a cached one carries the roles of before.
        let o = self.run(
            &["tenants", "check", "--no-token-cache", "-o", "json"],
            None,
        );
        let rows = o.json();
        rows.as_array()
            .expect("rows")
            .iter()
            .find(|r| r["name"] == "Fabrikam")
            .cloned()
            .expect("Fabrikam row")
    }
}

fn secrets(show: &Value) -> Vec<String> {
    show["secrets"]
        .as_array()
        .expect("secrets")
        .iter()
        .map(|s| s["key_id"].as_str().expect("key id").to_owned())
        .collect()
}

#[test]
fn create_registers_consents_at_home_writes_the_config_and_reruns_change_only_what_differs() {
    let env = Env::new((BOOT, BOOT_SECRET));
    let v = env.ok(&[
        "app",
        "create",
        "--name",
        "Fabrikam MDR",
        "--permission",
        "Alert.Read.All",
        "--permission",
        "Machine.Read.All",
        "--redirect-uri",
        "https://mdr.fabrikam.example/landing",
        "-o",
        "json",
    ]);
    assert_eq!(v["created"], true, "{v}");
    let client = v["client_id"].as_str().expect("client id").to_owned();
    let links = v["consent_links"].as_array().expect("links");
    assert_eq!(links.len(), 2, "{v}");
    assert!(
        links[0]["url"]
            .as_str()
            .expect("url")
            .contains(&format!("client_id={client}"))
    );

    // The config names the app and a 0600 secret file, never the secret.
    let text = env.config_text();
    assert!(
        text.contains(&format!("client_id = \"{client}\"")),
        "{text}"
    );
    let file = env.tmp.path().join(format!("{client}.secret"));
    let secret = std::fs::read_to_string(&file).expect("secret file");
    assert!(!text.contains(secret.trim()), "no secret in the TOML");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Granted in the home tenant at once; Contoso has not consented yet.
    let home = env.home_row();
    assert_eq!(home["ready"], true, "{home}");
    assert_eq!(
        home["granted"],
        serde_json::json!(["Alert.Read.All", "Machine.Read.All"])
    );

    // A second run: the same app, no new secret, nothing changed.
    let again = env.ok(&[
        "app",
        "create",
        "--name",
        "Fabrikam MDR",
        "--permission",
        "Alert.Read.All",
        "--permission",
        "Machine.Read.All",
        "-o",
        "json",
    ]);
    assert_eq!(again["client_id"], client.as_str());
    assert_eq!(again["created"], false);
    let show = env.ok(&["app", "show", "-o", "json"]);
    assert_eq!(secrets(&show).len(), 1, "{show}");
    assert_eq!(std::fs::read_to_string(&file).expect("secret"), secret);

    // A permission more: added to the app and granted at home; no duplicate app.
    let more = env.ok(&[
        "app",
        "create",
        "--name",
        "Fabrikam MDR",
        "--permission",
        "Machine.Isolate",
        "-o",
        "json",
    ]);
    assert_eq!(more["client_id"], client.as_str());
    let changes = more["changes"].to_string();
    assert!(changes.contains("1 permission(s) added"), "{changes}");
    let show = env.ok(&["app", "show", "-o", "json"]);
    assert_eq!(
        show["permissions"],
        serde_json::json!(["Alert.Read.All", "Machine.Read.All", "Machine.Isolate"])
    );
    assert_eq!(secrets(&show).len(), 1);
    let home = env.home_row();
    assert!(
        home["granted"].to_string().contains("Machine.Isolate"),
        "{home}"
    );
    assert!(
        env.config_text().contains("Machine.Isolate"),
        "required_permissions follow the app"
    );

    // A Graph permission through `app permission add`.
    let p = env.ok(&[
        "app",
        "permission",
        "add",
        "ThreatHunting.Read.All",
        "-o",
        "json",
    ]);
    assert_eq!(p["changed"], true, "{p}");
    assert_eq!(p["granted_in_home_tenant"], true, "{p}");
    let home = env.home_row();
    assert_eq!(
        home["graph_granted"],
        serde_json::json!(["ThreatHunting.Read.All"]),
        "{home}"
    );
    let p = env.ok(&[
        "app",
        "permission",
        "remove",
        "Machine.Isolate",
        "-o",
        "json",
    ]);
    assert_eq!(p["changed"], true);
    let show = env.ok(&["app", "show", "-o", "json"]);
    assert!(
        !show["permissions"].to_string().contains("Machine.Isolate"),
        "{show}"
    );
}

#[test]
fn secret_rotate_replaces_the_secret_or_keeps_the_old_for_a_while() {
    let env = Env::new((BOOT, BOOT_SECRET));
    env.ok(&[
        "app",
        "create",
        "--name",
        "Rotating",
        "--permission",
        "Alert.Read.All",
        "-o",
        "json",
    ]);
    let before = secrets(&env.ok(&["app", "show", "-o", "json"]));
    let r = env.ok(&["app", "secret", "rotate", "-o", "json"]);
    assert_eq!(r["removed"], serde_json::json!(before), "{r}");
    let after = secrets(&env.ok(&["app", "show", "-o", "json"]));
    assert_eq!(after, [r["key_id"].as_str().expect("key id")]);
    assert_eq!(env.home_row()["ready"], true, "the new secret works");

    let k = env.ok(&["app", "secret", "rotate", "--keep-old", "7", "-o", "json"]);
    assert_eq!(k["kept"], serde_json::json!(after), "{k}");
    assert!(k["kept_until"].is_string());
    assert_eq!(secrets(&env.ok(&["app", "show", "-o", "json"])).len(), 2);
    let o = env.run(&["app", "secret", "rotate", "--keep-old", "7"], None);
    assert!(
        o.stdout.contains("kept 2 old secret(s) until"),
        "{}",
        o.stdout
    );
}

#[test]
fn a_bootstrap_without_application_readwrite_all_gets_a_403_naming_it() {
    let env = Env::new((WEAK, WEAK_SECRET));
    let o = env.run(
        &[
            "app",
            "create",
            "--name",
            "Nope",
            "--permission",
            "Alert.Read.All",
        ],
        None,
    );
    assert_eq!(o.code, 1, "{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stderr.contains("Application.ReadWrite.All"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains("403") || o.stderr.contains("Authorization_RequestDenied"),
        "{}",
        o.stderr
    );
    assert!(!env.config_text().contains("Nope"));
}

#[test]
fn a_bootstrap_token_on_stdin_does_the_same() {
    let env = Env::new((BOOT, BOOT_SECRET));
    let ca = std::fs::read(env.tmp.path().join("state/ca.pem")).expect("ca");
    let http = reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).expect("ca"))
        .build()
        .expect("client");
    let token: Value = http
        .post(format!("{}/{FABRIKAM}/oauth2/v2.0/token", env.base()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", BOOT),
            ("client_secret", BOOT_SECRET),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .expect("token")
        .json()
        .expect("json");
    let token = token["access_token"].as_str().expect("access_token");
    // No [bootstrap] secret in the environment: the token alone signs in.
    std::fs::write(env.tmp.path().join("boot"), "").expect("boot");
    let o = env.run(
        &[
            "app",
            "create",
            "--name",
            "From a token",
            "--permission",
            "Alert.Read.All",
            "--bootstrap-token",
            "-",
            "-o",
            "json",
        ],
        Some(token),
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.json()["created"], true);
    let o = env.run(
        &["app", "show", "--bootstrap-token", "-", "-o", "json"],
        Some(token),
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.json()["display_name"], "From a token");
    assert!(
        !o.stdout.contains(token) && !o.stderr.contains(token),
        "the token is never printed"
    );
}

#[test]
fn a_certificate_is_registered_and_becomes_the_configs_credential() {
    let env = Env::new((BOOT, BOOT_SECRET));
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("rsa");
    let cert = rcgen::CertificateParams::new(vec!["mdr.fabrikam.example".to_owned()])
        .expect("params")
        .self_signed(&key)
        .expect("cert");
    let pem = env.tmp.path().join("partner.pem");
    std::fs::write(&pem, format!("{}{}", cert.pem(), key.serialize_pem())).expect("pem");
    let args = [
        "app",
        "create",
        "--name",
        "Cert MDR",
        "--permission",
        "Alert.Read.All",
        "--certificate",
        pem.to_str().expect("utf8"),
        "-o",
        "json",
    ];
    let v = env.ok(&args);
    assert_eq!(v["created"], true, "{v}");
    let text = env.config_text();
    assert!(
        text.contains(&format!("certificate = \"{}\"", pem.display())),
        "{text}"
    );
    let partner = &text
        [text.find("[partner]").expect("partner")..text.find("[bootstrap]").expect("bootstrap")];
    assert!(
        !partner.contains("\nsecret_env"),
        "the certificate replaces the secret: {partner}"
    );
    let show = env.ok(&["app", "show", "-o", "json"]);
    assert_eq!(
        show["certificates"].as_array().map(Vec::len),
        Some(1),
        "{show}"
    );
    assert_eq!(
        secrets(&show).len(),
        0,
        "no secret when a certificate is given"
    );
    assert_eq!(env.home_row()["ready"], true, "tokens by certificate");
    // Again: the certificate is there already.
    let again = env.ok(&args);
    assert_eq!(again["changes"], serde_json::json!([]), "{again}");
    let show = env.ok(&["app", "show", "-o", "json"]);
    assert_eq!(show["certificates"].as_array().map(Vec::len), Some(1));
}

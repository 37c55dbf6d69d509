//! The partner commands as a user runs them, against the emulator: configuration, tenant
//! list, the permissions report, consent links, tokens; and nothing secret in any output.

mod common;
use common::*;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

const APP: &str = "d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f70";
const SECRET: &str = "Fab8Q~example-secret-value-0123456789abc";
const WOODGROVE: &str = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d";

struct Env {
    _tmp: tempfile::TempDir,
    config: PathBuf,
    home: PathBuf,
    server: Server,
    state: PathBuf,
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
    fn new() -> Self {
        let tmp = tempfile::tempdir().expect("tmp");
        let state = tmp.path().join("state");
        let server = start(
            &state,
            &["--scenario", example_scenario().to_str().expect("utf8")],
        );
        let home = tmp.path().join("home");
        std::fs::create_dir_all(&home).expect("home");
        let config = tmp.path().join("config.toml");
        let env = Self {
            config,
            home,
            server,
            state,
            _tmp: tmp,
        };
        let o = env.run(&["config", "init", "--client-id", APP]);
        assert_eq!(o.code, 0, "{}", o.stderr);
        let base = env.server.ready["base_url"]
            .as_str()
            .expect("base")
            .to_owned();
        let text = std::fs::read_to_string(&env.config)
            .expect("config")
            .replace(
                "# authority_host = \"https://127.0.0.1:8443\"",
                &format!("authority_host = \"{base}\""),
            )
            .replace(
                "# ca_file = \"~/.local/state/mdep/emulator/ca.pem\"",
                &format!("ca_file = \"{}\"", env.state.join("ca.pem").display()),
            );
        std::fs::write(&env.config, text).expect("write");
        env
    }

    fn run(&self, args: &[&str]) -> Out {
        self.run_in(args, None)
    }

    fn run_in(&self, args: &[&str], stdin: Option<&str>) -> Out {
        use std::io::Write;
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env("MDEP_CONFIG", &self.config)
            .env("MDEP_CLIENT_SECRET", SECRET)
            .env("HOME", &self.home)
            .env("XDG_CACHE_HOME", self.home.join("cache"))
            .env("XDG_DATA_HOME", self.home.join("data"))
            .env_remove("MDEP_LOG")
            .env_remove("MDEP_DB")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("spawn");
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

    fn add_tenants(&self) {
        for (name, id, tag) in [
            ("Contoso", "contoso.onmicrosoft.com", "eu"),
            ("Woodgrove", WOODGROVE, "us"),
            ("Fabrikam", "fabrikam.onmicrosoft.com", "home"),
        ] {
            let o = self.run(&["tenants", "add", name, "--tenant", id, "--tag", tag]);
            assert_eq!(o.code, 0, "{}", o.stderr);
        }
    }
}

#[test]
fn config_init_is_private_and_refuses_to_overwrite() {
    let env = Env::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&env.config)
                .expect("meta")
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }
    let o = env.run(&["config", "init"]);
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("--force"), "{}", o.stderr);
    let o = env.run(&["config", "show", "-o", "json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v = o.json();
    assert_eq!(v["client_id"], APP);
    assert_eq!(
        v["credential"],
        "client secret from environment variable MDEP_CLIENT_SECRET"
    );
    assert_eq!(v["resource"], "https://api.securitycenter.microsoft.com");
}

#[test]
fn tenants_add_list_remove() {
    let env = Env::new();
    env.add_tenants();
    let dup = env.run(&["tenants", "add", "contoso", "--tenant", "x.onmicrosoft.com"]);
    assert_ne!(dup.code, 0);
    assert!(dup.stderr.contains("exists already"));
    let bad = env.run(&["tenants", "add", "Bad", "--tenant", "not a tenant"]);
    assert_ne!(bad.code, 0);
    let list = env.run(&["tenants", "list", "-o", "json"]).json();
    assert_eq!(list.as_array().map(Vec::len), Some(3));
    assert_eq!(list[0]["tags"], serde_json::json!(["eu"]));
    assert_eq!(env.run(&["tenants", "remove", "woodgrove"]).code, 0);
    assert_eq!(
        env.run(&["tenants", "list", "-o", "json"])
            .json()
            .as_array()
            .map(Vec::len),
        Some(2)
    );
}

#[test]
fn permissions_report_names_who_must_consent() {
    let env = Env::new();
    env.add_tenants();
    let o = env.run(&["tenants", "check", "-o", "json"]);
    assert_eq!(o.code, 3, "not every tenant is ready: {}", o.stderr);
    let rows = o.json();
    let row = |name: &str| {
        rows.as_array()
            .expect("rows")
            .iter()
            .find(|r| r["name"] == name)
            .cloned()
            .expect("row")
    };
    let contoso = row("Contoso");
    assert_eq!(contoso["ready"], true);
    assert_eq!(
        contoso["granted"],
        serde_json::json!(["Alert.Read.All", "Machine.Read.All"])
    );
    assert_eq!(contoso["tid"], "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9");
    let woodgrove = row("Woodgrove");
    assert_eq!(woodgrove["aadsts"], 700016);
    assert!(
        woodgrove["hint"]
            .as_str()
            .expect("hint")
            .contains("mdep consent-url --tenant Woodgrove")
    );
    assert_eq!(row("Fabrikam")["status"], "missing roles");
    // Only the ready one: exit 0.
    let o = env.run(&["tenants", "check", "--tag", "eu"]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("Contoso") && o.stdout.contains("ready"));
    // A permission is added: who must consent again?
    let state = &env.state;
    let st = state.to_str().expect("utf8");
    let add = Command::new(BIN)
        .args([
            "emulator",
            "app",
            "permission",
            "add",
            "--app",
            APP,
            "--permission",
            "Machine.Isolate",
            "--state-dir",
            st,
        ])
        .output()
        .expect("run");
    assert!(add.status.success());
    let cfg = std::fs::read_to_string(&env.config).expect("cfg").replace(
        "required_permissions = [\"Alert.Read.All\", \"Machine.Read.All\"]",
        "required_permissions = [\"Alert.Read.All\", \"Machine.Read.All\", \"Machine.Isolate\"]",
    );
    std::fs::write(&env.config, cfg).expect("write");
    let o = env.run(&[
        "tenants",
        "check",
        "--tenant",
        "Contoso",
        "--no-token-cache",
        "-o",
        "json",
    ]);
    assert_eq!(o.code, 3);
    assert_eq!(
        o.json()[0]["missing"],
        serde_json::json!(["Machine.Isolate"])
    );
    // Microsoft Graph roles are reported beside MDE's, from a Graph token per tenant.
    let run = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .args(["--state-dir", st])
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "emulator",
        "app",
        "permission",
        "add",
        "--app",
        APP,
        "--permission",
        "ThreatHunting.Read.All",
    ]);
    let cfg = std::fs::read_to_string(&env.config).expect("cfg").replace(
        "required_permissions = [",
        "required_graph_permissions = [\"ThreatHunting.Read.All\"]\nrequired_permissions = [",
    );
    std::fs::write(&env.config, cfg).expect("write");
    let check = || {
        env.run(&[
            "tenants",
            "check",
            "--tenant",
            "Contoso",
            "--no-token-cache",
            "-o",
            "json",
        ])
    };
    let o = check();
    let r = &o.json()[0];
    assert_eq!(r["graph_granted"], serde_json::json!([]), "{r}");
    assert_eq!(
        r["graph_missing"],
        serde_json::json!(["ThreatHunting.Read.All"])
    );
    let tid = r["tid"].as_str().expect("tid").to_owned();
    run(&[
        "emulator", "consent", "grant", "--tenant", &tid, "--app", APP,
    ]);
    let o = check();
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    let r = &o.json()[0];
    assert_eq!(
        r["graph_granted"],
        serde_json::json!(["ThreatHunting.Read.All"])
    );
    assert_eq!(
        r["granted"],
        serde_json::json!(["Alert.Read.All", "Machine.Read.All", "Machine.Isolate"])
    );
    let table = env.run(&[
        "tenants",
        "check",
        "--tenant",
        "Contoso",
        "--no-token-cache",
    ]);
    assert!(
        table.stdout.contains("GRAPH GRANTED") && table.stdout.contains("ThreatHunting.Read.All"),
        "{}",
        table.stdout
    );
}

/// The rows of `tenant_checks`, by tenant name, through `mdep db sql`.
fn stored_checks(env: &Env, db: &str) -> Vec<Value> {
    let o = env.run(&[
        "db",
        "sql",
        "SELECT * FROM tenant_checks ORDER BY name",
        "--db",
        db,
        "-o",
        "json",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    o.json().as_array().expect("rows").clone()
}

#[test]
fn the_permissions_report_is_recorded_per_tenant_in_the_store() {
    let env = Env::new();
    env.add_tenants();
    let db = format!("sqlite:{}", env.home.join("checks.db").display());
    let o = env.run(&["tenants", "check", "-o", "json", "--db", &db]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert!(!o.stderr.contains("warning"), "{}", o.stderr);
    let report = o.json();
    let rows = stored_checks(&env, &db);
    let names: Vec<&str> = rows.iter().filter_map(|r| r["name"].as_str()).collect();
    assert_eq!(names, ["Contoso", "Fabrikam", "Woodgrove"]);
    let list = |v: &Value| -> Value {
        serde_json::from_str(v.as_str().expect("JSON text")).expect("JSON")
    };
    for r in &rows {
        let reported = report
            .as_array()
            .expect("report")
            .iter()
            .find(|x| x["name"] == r["name"])
            .expect("reported");
        // Keyed like every synced row: the configured tenant id or domain, lower case.
        assert_eq!(
            r["tenant"],
            reported["tenant"]
                .as_str()
                .expect("tenant")
                .to_ascii_lowercase()
        );
        assert_eq!(r["ready"], i64::from(reported["ready"] == true), "{r}");
        assert_eq!(r["status"], reported["status"]);
        assert_eq!(list(&r["missing_roles"]), reported["missing"]);
        assert_eq!(list(&r["graph_missing_roles"]), reported["graph_missing"]);
        assert_eq!(r["token_expires"], reported["expires"]);
        assert_eq!(r["aadsts"], reported["aadsts"]);
        assert_eq!(r["hint"], reported["hint"]);
        assert!(
            r["checked_at"]
                .as_str()
                .is_some_and(|t| t.starts_with("20")),
            "{r}"
        );
    }
    let woodgrove = &rows[2];
    assert_eq!(woodgrove["ready"], 0);
    assert_eq!(woodgrove["aadsts"], 700016);
    assert_eq!(woodgrove["status"], "AADSTS700016");
    assert_eq!(
        list(&woodgrove["missing_roles"]),
        serde_json::json!(["Alert.Read.All", "Machine.Read.All"])
    );
    assert!(woodgrove["token_expires"].is_null());
    let fabrikam = &rows[1];
    assert_eq!(fabrikam["ready"], 0);
    assert_eq!(fabrikam["status"], "missing roles");
    assert!(
        !list(&fabrikam["missing_roles"])
            .as_array()
            .expect("list")
            .is_empty(),
        "{fabrikam}"
    );
    assert_eq!(rows[0]["ready"], 1);
    assert_eq!(list(&rows[0]["missing_roles"]), serde_json::json!([]));
    assert!(rows[0]["aadsts"].is_null() && rows[0]["hint"].is_null());

    // A re-check replaces the tenant's row: one row each, the newest check.
    let first_checked = rows[0]["checked_at"].clone();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let o = env.run(&["tenants", "check", "--tenant", "Contoso", "--db", &db]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let again = stored_checks(&env, &db);
    assert_eq!(again.len(), 3);
    assert_ne!(again[0]["checked_at"], first_checked);
    assert_eq!(again[1], rows[1], "tenants not checked keep their row");

    // The default database comes from MDEP_DB, like `mdep sync`'s.
    let by_env = env.home.join("by-env.db");
    let mut cmd = Command::new(BIN);
    let out = cmd
        .args(["tenants", "check", "--tenant", "Contoso"])
        .env("MDEP_CONFIG", &env.config)
        .env("MDEP_CLIENT_SECRET", SECRET)
        .env("HOME", &env.home)
        .env("XDG_CACHE_HOME", env.home.join("cache"))
        .env("MDEP_DB", format!("sqlite:{}", by_env.display()))
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stored_checks(&env, &format!("sqlite:{}", by_env.display())).len(),
        1
    );

    // --no-store writes nothing, and the report is the same.
    let none = env.home.join("none.db");
    let skip = format!("sqlite:{}", none.display());
    let o = env.run(&[
        "tenants",
        "check",
        "-o",
        "json",
        "--db",
        &skip,
        "--no-store",
    ]);
    assert_eq!(o.code, 3);
    assert_eq!(o.json().as_array().map(Vec::len), Some(3));
    assert!(!none.exists(), "--no-store opened the database");
    let o = env.run(&["tenants", "check", "--tenant", "Contoso", "--no-store"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(!env.home.join("data/mdep/mdep.db").exists());

    // A store that cannot be written is a warning; report and exit code are unchanged.
    let blocker = env.home.join("a-file");
    std::fs::write(&blocker, "not a directory").expect("write");
    let bad = format!("sqlite:{}", blocker.join("x.db").display());
    let o = env.run(&["tenants", "check", "-o", "json", "--db", &bad]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert_eq!(o.json().as_array().map(Vec::len), Some(3));
    assert!(
        o.stderr
            .contains("warning: the permissions report was not recorded"),
        "{}",
        o.stderr
    );
    let o = env.run(&["tenants", "check", "--tenant", "Contoso", "--db", &bad]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("warning"), "{}", o.stderr);
}

#[test]
fn consent_links_for_the_configured_authority() {
    let env = Env::new();
    env.add_tenants();
    let base = env.server.ready["base_url"].as_str().expect("base");
    let o = env.run(&["consent-url"]);
    assert_eq!(
        o.stdout.trim(),
        format!(
            "{base}/common/oauth2/authorize?prompt=consent&client_id={APP}&response_type=code&sso_reload=true"
        )
    );
    let o = env.run(&[
        "consent-url",
        "--tenant",
        "Woodgrove",
        "--v2",
        "--redirect-uri",
        "https://portal.azure.com",
        "--state",
        "s1",
    ]);
    assert_eq!(
        o.stdout.trim(),
        format!(
            "{base}/{WOODGROVE}/v2.0/adminconsent?client_id={APP}&scope=https%3A%2F%2Fapi.securitycenter.microsoft.com%2F.default&redirect_uri=https%3A%2F%2Fportal.azure.com&state=s1"
        )
    );
    assert_ne!(env.run(&["consent-url", "--tenant", "Nobody"]).code, 0);
}

#[test]
fn tokens_get_inspect_validate() {
    let env = Env::new();
    env.add_tenants();
    let o = env.run(&["token", "get", "--tenant", "Contoso", "-o", "json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        o.json()["roles"],
        serde_json::json!(["Alert.Read.All", "Machine.Read.All"])
    );
    let graph = env.run(&[
        "token", "get", "--tenant", "Contoso", "--api", "graph", "-o", "json",
    ]);
    assert_eq!(graph.code, 0, "{}", graph.stderr);
    assert_eq!(graph.json()["aud"], "https://graph.microsoft.com");
    assert_eq!(
        graph.json()["roles"],
        serde_json::json!([]),
        "no Graph permission granted"
    );
    let raw = env
        .run(&["token", "get", "--tenant", "Contoso", "--raw"])
        .stdout
        .trim()
        .to_owned();
    assert_eq!(raw.split('.').count(), 3);
    let o = env.run_in(&["token", "inspect", "-o", "json"], Some(&raw));
    assert_eq!(
        o.json()["claims"]["tid"],
        "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
    );
    assert!(
        o.json()["times"]["exp"]
            .as_str()
            .expect("exp")
            .contains("UTC")
    );
    let o = env.run_in(
        &[
            "token",
            "validate",
            "--tenant",
            "Contoso",
            "--require",
            "Alert.Read.All",
        ],
        Some(&raw),
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.starts_with("valid"));
    let o = env.run_in(
        &[
            "token",
            "validate",
            "--require",
            "Machine.Isolate",
            "-o",
            "json",
        ],
        Some(&raw),
    );
    assert_eq!(o.code, 3);
    assert_eq!(o.json()["check"], "roles");
    let o = env.run_in(&["token", "validate", "--tenant", "Woodgrove"], Some(&raw));
    assert_eq!(o.code, 3);
    assert!(
        o.stderr.contains("issuer") || o.stderr.contains("tenant"),
        "{}",
        o.stderr
    );
    let o = env.run(&["token", "get", "--tenant", "Woodgrove"]);
    assert_eq!(o.code, 1);
    assert!(
        o.stderr.contains("AADSTS700016")
            && o.stderr.contains("mdep consent-url --tenant Woodgrove"),
        "{}",
        o.stderr
    );
}

#[test]
fn secrets_and_tokens_never_appear_in_output_or_logs() {
    let env = Env::new();
    env.add_tenants();
    let raw = env
        .run(&[
            "token",
            "get",
            "--tenant",
            "Contoso",
            "--raw",
            "--no-token-cache",
        ])
        .stdout
        .trim()
        .to_owned();
    let signature = raw.rsplit('.').next().expect("sig").to_owned();
    for args in [
        vec!["tenants", "check", "--verbose"],
        vec![
            "tenants",
            "check",
            "--verbose",
            "-o",
            "json",
            "--no-token-cache",
        ],
        vec!["token", "get", "--tenant", "Contoso", "--verbose"],
        vec!["token", "get", "--tenant", "Woodgrove", "--verbose"],
        vec!["config", "show", "--verbose"],
    ] {
        let o = env.run(&args);
        for text in [&o.stdout, &o.stderr] {
            assert!(!text.contains(SECRET), "{args:?} printed the secret");
            assert!(!text.contains(&signature), "{args:?} printed a token");
            assert!(!text.contains("eyJ0eXAi"), "{args:?} printed a token");
        }
    }
    // A secret written in the config is warned about, and still never printed.
    let cfg = std::fs::read_to_string(&env.config).expect("cfg").replace(
        "secret_env = \"MDEP_CLIENT_SECRET\"",
        &format!("client_secret = \"{SECRET}\""),
    );
    std::fs::write(&env.config, cfg).expect("write");
    let o = env.run(&["tenants", "check", "--verbose", "--tag", "eu"]);
    assert!(o.stderr.contains("plain text"), "{}", o.stderr);
    assert!(!o.stderr.contains(SECRET) && !o.stdout.contains(SECRET));
}

#[test]
fn a_missing_config_says_how_to_make_one() {
    let tmp = tempfile::tempdir().expect("tmp");
    let o = Command::new(BIN)
        .args(["tenants", "list"])
        .env("MDEP_CONFIG", tmp.path().join("none.toml"))
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("mdep config init"));
}

#[test]
fn help_completions_and_man_pages_come_from_the_same_definitions() {
    let help = Command::new(BIN).arg("--help").output().expect("help");
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("Examples:") && text.contains("demo") && text.contains("tenants"));
    for sub in [
        vec!["demo"],
        vec!["tenants", "check"],
        vec!["consent-url"],
        vec!["token", "validate"],
        vec!["emulator", "serve"],
        vec!["config", "init"],
    ] {
        let o = Command::new(BIN)
            .args(&sub)
            .arg("--help")
            .output()
            .expect("help");
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("Example"),
            "{sub:?} help has no example"
        );
    }
    for shell in ["bash", "zsh", "fish"] {
        let o = Command::new(BIN)
            .args(["completions", shell])
            .output()
            .expect("completions");
        assert!(o.status.success());
        let script = String::from_utf8_lossy(&o.stdout);
        assert!(
            script.contains("consent-url") && script.contains("tenants"),
            "{shell}"
        );
    }
    let dir = tempfile::tempdir().expect("tmp");
    let o = Command::new(BIN)
        .args(["man", "--dir"])
        .arg(dir.path())
        .output()
        .expect("man");
    assert!(o.status.success());
    let page = std::fs::read_to_string(dir.path().join("mdep-tenants-check.1")).expect("page");
    assert!(page.contains(".TH") && page.contains("permissions report"));
    assert!(
        dir.path().join("mdep.1").exists() && dir.path().join("mdep-emulator-serve.1").exists()
    );
}

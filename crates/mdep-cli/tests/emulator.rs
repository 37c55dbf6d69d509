//! `mdep emulator …` as a user runs it: the real binary on 127.0.0.1:0 over HTTPS with
//! its own CA, `ready.json`, the admin subcommands, and state that survives a restart.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

mod common;
use common::*;

fn client(ca: &str) -> reqwest::blocking::Client {
    let pem = std::fs::read(ca).expect("ca");
    reqwest::blocking::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).expect("pem")])
        .build()
        .expect("client")
}

fn mdep(state_dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(["emulator"])
        .args(args)
        .arg("--state-dir")
        .arg(state_dir)
        .output()
        .expect("run mdep");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn token(
    c: &reqwest::blocking::Client,
    base: &str,
    tenant: &str,
    client_id: &str,
    secret: &str,
) -> (u16, Value) {
    let r = c
        .post(format!("{base}/{tenant}/oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
            ("scope", "https://api.securitycenter.microsoft.com/.default"),
        ])
        .send()
        .expect("token request");
    (r.status().as_u16(), r.json().expect("json"))
}

const CONTOSO: &str = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9";
const APP: &str = "d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f70";
const SECRET: &str = "Fab8Q~example-secret-value-0123456789abc";

fn kid(token: &str) -> String {
    use base64::Engine;
    let h = token.split('.').next().expect("header");
    let v: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(h)
            .expect("b64"),
    )
    .expect("json");
    v["kid"].as_str().expect("kid").to_owned()
}

#[test]
fn serves_https_with_its_ca_and_keeps_state_across_restarts() {
    let tmp = tempfile::tempdir().expect("tmp");
    let state = tmp.path().join("state");
    let db = tmp.path().join("emulator.db");
    let scenario = example_scenario();
    let db_s = db.to_str().expect("utf8");
    let scen_s = scenario.to_str().expect("utf8");

    let first = start(&state, &["--db", db_s, "--scenario", scen_s]);
    let base = first.ready["base_url"].as_str().expect("base").to_owned();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    let ca = first.ready["ca_file"].as_str().expect("ca").to_owned();
    assert_eq!(Path::new(&ca), state.join("ca.pem"));
    assert_eq!(first.ready["admin_key"], "example-admin-key-change-me");
    let ca_pem = std::fs::read_to_string(&ca).expect("ca");
    let http = client(&ca);
    let (status, body) = token(&http, &base, CONTOSO, APP, SECRET);
    assert_eq!(status, 200, "{body}");
    let old_token = body["access_token"].as_str().expect("token").to_owned();

    // Admin subcommands reach it through ready.json.
    let (ok, out, err) = mdep(
        &state,
        &[
            "tenant",
            "add",
            "--name",
            "Northwind",
            "--domain",
            "northwind.onmicrosoft.com",
            "--admin-user",
            "admin@northwind.onmicrosoft.com",
            "--admin-password",
            "Northwind-Pass-1",
        ],
    );
    assert!(ok, "{err}");
    let northwind: Value = serde_json::from_str(&out).expect("json");
    let nw = northwind["id"].as_str().expect("id").to_owned();
    let (ok, out, err) = mdep(&state, &["app", "secret", "add", "--app", APP]);
    assert!(ok, "{err}");
    assert!(err.contains("shown now only"));
    let new_secret = serde_json::from_str::<Value>(&out).expect("json")["value"]
        .as_str()
        .expect("value")
        .to_owned();
    let (ok, _, err) = mdep(
        &state,
        &[
            "consent",
            "grant",
            "--tenant",
            &nw,
            "--app",
            APP,
            "--role",
            "Alert.Read.All",
        ],
    );
    assert!(ok, "{err}");
    let (ok, _, err) = mdep(
        &state,
        &[
            "consent",
            "grant",
            "--tenant",
            &nw,
            "--app",
            APP,
            "--role",
            "Alert.Read",
        ],
    );
    assert!(!ok && err.contains("Alert.Read"), "bad role refused: {err}");
    let (status, body) = token(&http, &base, &nw, APP, &new_secret);
    assert_eq!(status, 200, "{body}");
    drop(first);

    // Restart over the same database and state directory: same CA, keys, admin key, data.
    let second = start(&state, &["--db", db_s, "--scenario", scen_s]);
    let base2 = second.ready["base_url"].as_str().expect("base").to_owned();
    assert_eq!(
        std::fs::read_to_string(&ca).expect("ca"),
        ca_pem,
        "the CA is reused"
    );
    assert_eq!(second.ready["admin_key"], "example-admin-key-change-me");
    let http = client(&ca);
    let (status, body) = token(&http, &base2, &nw, APP, &new_secret);
    assert_eq!(status, 200, "tenant, consent and secret survive: {body}");
    let new_token = body["access_token"].as_str().expect("token");
    assert_eq!(kid(new_token), kid(&old_token), "signing keys survive");
    let (ok, out, _) = mdep(&state, &["state"]);
    assert!(ok);
    let st: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(st["tenants"].as_array().map(Vec::len), Some(4));
    let (ok, out, err) = mdep(&state, &["keys", "rotate"]);
    assert!(ok, "{err}");
    let rotated: Value = serde_json::from_str(&out).expect("json");
    assert_ne!(
        rotated["active_kid"].as_str(),
        Some(kid(&old_token).as_str())
    );
    drop(second);
}

#[test]
fn generated_admin_key_is_printed_and_plain_http_works() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut server = start(tmp.path(), &["--tls", "off"]);
    let key = server.ready["admin_key"].as_str().expect("key").to_owned();
    assert!(key.len() >= 24);
    assert!(server.ready["ca_file"].is_null());
    let base = server.ready["base_url"].as_str().expect("base").to_owned();
    assert!(base.starts_with("http://127.0.0.1:"));
    let r = reqwest::blocking::get(format!("{base}/common/discovery/keys")).expect("get");
    assert_eq!(r.status(), 200);
    let _ = server.child.kill();
    let out = server.child.stdout.take().map(|mut s| {
        let mut t = String::new();
        use std::io::Read;
        let _ = s.read_to_string(&mut t);
        t
    });
    assert!(
        out.unwrap_or_default().contains(&key),
        "a generated admin key is printed"
    );
}

#[test]
fn a_bad_scenario_is_refused_with_file_line_and_reason() {
    let tmp = tempfile::tempdir().expect("tmp");
    let path = tmp.path().join("bad.toml");
    let text = std::fs::read_to_string(example_scenario())
        .expect("example")
        .replace(
            "app = \"d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f70\"",
            "app = \"00000000-1111-2222-3333-444444444444\"",
        );
    std::fs::write(&path, &text).expect("write");
    let line = text
        .lines()
        .position(|l| l.contains("00000000-1111"))
        .expect("line")
        + 1;
    let out = Command::new(BIN)
        .args([
            "emulator",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--state-dir",
        ])
        .arg(tmp.path())
        .arg("--scenario")
        .arg(&path)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("bad.toml:{line}:")), "{err}");
    assert!(err.contains("not an app of this scenario"), "{err}");
    assert!(!tmp.path().join("ready.json").exists());
}

#[test]
fn admin_commands_explain_a_missing_emulator() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (ok, _, err) = mdep(tmp.path(), &["state"]);
    assert!(!ok);
    assert!(
        err.contains("ready.json") && err.contains("mdep emulator serve"),
        "{err}"
    );
}

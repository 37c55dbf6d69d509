//! `mdep demo` as a newcomer runs it, and `--keep-running` followed by the commands it prints.

mod common;
use common::BIN;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn demo_walks_every_step_of_the_partner_flow() {
    let out = Command::new(BIN).arg("demo").output().expect("run demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let steps = [
        "1. Create the multitenant app",
        "2. Add the application to your customer's tenant. Consent link is of the form:",
        "3. After clicking on the consent link, sign in with the Global Administrator",
        "4. Get an access token example",
        "5. Validate the token",
        "6. Use the token to access Microsoft Defender for Endpoint API",
        "7. Every time you add permission you must select on Grant consent",
        "8. Advanced hunting has moved to Microsoft Graph",
        "Next steps",
    ];
    let mut at = 0;
    for s in steps {
        let found = stdout[at..]
            .find(s)
            .unwrap_or_else(|| panic!("missing or out of order: {s}\n{stdout}"));
        at += found;
    }
    assert!(
        stdout.contains("through Microsoft Graph (POST /v1.0/applications"),
        "the app is created through Graph\n{stdout}"
    );
    assert_eq!(
        stdout
            .matches("/oauth2/authorize?prompt=consent&client_id=")
            .count(),
        3,
        "a link per customer"
    );
    assert_eq!(stdout.matches("signed in and clicked Accept").count(), 2);
    assert!(stdout.contains("Northwind  tenant Northwind: AADSTS700016"));
    assert_eq!(stdout.matches("signature, issuer, audience ok").count(), 2);
    let alert_rows = stdout
        .lines()
        .filter(|l| {
            l.trim_start().starts_with("Contoso    da")
                || l.trim_start().starts_with("Woodgrove  da")
        })
        .count();
    assert_eq!(
        alert_rows, 6,
        "3 alerts for each consented tenant\n{stdout}"
    );
    assert_eq!(
        stdout.matches("missing roles").count(),
        2,
        "both consented tenants must consent again"
    );
    assert!(stdout.contains(
        "its new token carries Alert.Read.All, Machine.Read.All, Machine.Isolate, Ti.ReadWrite.All"
    ));
    // Hunting through Graph counts every alert the demo gave each consented customer.
    assert!(
        stdout.contains("Contoso    40 alerts by severity: "),
        "{stdout}"
    );
    assert!(
        stdout.contains("Woodgrove  25 alerts by severity: "),
        "{stdout}"
    );
    assert!(!stdout.contains("Northwind  0 alerts by severity"));
    assert!(stdout.contains("Done in") && stdout.contains("3 customer tenants"));
}

#[test]
fn keep_running_prints_a_config_that_the_other_commands_use() {
    let mut child = Command::new(BIN)
        .args(["demo", "--keep-running"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut exports = Vec::new();
    let mut kept = None;
    let mut link = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        if let Some(l) = line.trim().strip_prefix("http://127.0.0.1:") {
            link = Some(format!("http://127.0.0.1:{l}"));
        }
        if let Some(e) = line.trim().strip_prefix("export ") {
            let (k, v) = e.split_once('=').expect("k=v");
            exports.push((k.to_owned(), v.trim_matches('\'').to_owned()));
        }
        if let Some(rest) = line.strip_prefix("Press Ctrl-C to stop it (files stay in ") {
            kept = Some(rest.trim_end_matches(").").to_owned());
            break;
        }
    }
    let kept = kept.expect("the demo says where its files are");
    let keys: Vec<&str> = exports.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "MDEP_CONFIG",
            "MDEP_CLIENT_SECRET",
            "MDEP_EMULATOR_STATE_DIR",
            "MDEP_DB"
        ]
    );
    // The customers are synced and the web overview serves them, behind its token.
    let link = link.expect("the demo prints the web overview's link");
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let base = link.split("/?token=").next().expect("base").to_owned();
    let refused = http.get(format!("{base}/tenants")).send().expect("get");
    assert_eq!(refused.status(), 401);
    let login = http.get(&link).send().expect("get");
    assert_eq!(login.status(), 303);
    let cookie = login.headers()["set-cookie"].to_str().expect("text");
    let cookie = cookie.split(';').next().expect("name=value").to_owned();
    let page = http
        .get(format!("{base}/tenants?format=json"))
        .header("cookie", &cookie)
        .send()
        .expect("get");
    assert_eq!(page.status(), 200);
    let tenants: serde_json::Value = page.json().expect("json");
    let synced: Vec<&str> = tenants
        .as_array()
        .expect("rows")
        .iter()
        .filter(|t| t["open_total"].as_u64().is_some_and(|n| n > 0))
        .filter_map(|t| t["tenant"].as_str())
        .collect();
    assert_eq!(synced, ["Contoso", "Woodgrove"], "{tenants}");
    let run = |args: &[&str]| {
        let mut c = Command::new(BIN);
        c.args(args).arg("--no-token-cache");
        for (k, v) in &exports {
            c.env(k, v);
        }
        c.output().expect("run")
    };
    let check = run(&["tenants", "check", "-o", "json"]);
    let rows: serde_json::Value = serde_json::from_slice(&check.stdout).expect("json");
    assert_eq!(
        check.status.code(),
        Some(3),
        "Northwind has not consented and Woodgrove lacks the new role"
    );
    let ready: Vec<&str> = rows
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| r["ready"] == true)
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(ready, ["Contoso"]);
    let url = run(&["consent-url", "--tenant", "Northwind"]);
    assert!(String::from_utf8_lossy(&url.stdout).contains("/oauth2/authorize?prompt=consent"));
    let token = run(&["token", "get", "--tenant", "Woodgrove", "-o", "json"]);
    assert!(token.status.success());
    let state = Command::new(BIN)
        .args(["emulator", "state"])
        .envs(exports.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .expect("state");
    assert!(
        state.status.success(),
        "{}",
        String::from_utf8_lossy(&state.stderr)
    );
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(kept);
}

//! `mdep ui` as a process: the link it prints, the token it asks for, the warning off
//! loopback, and the errors a wrong database gives. Pages themselves are tested in
//! crates/mdep-ui (without a socket) and in Chromium (interop/tests/test_ui_browser.py).

mod common;
mod pg;

use common::{BIN, start as start_emulator};
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

struct Ui {
    child: Child,
    link: String,
}

impl Drop for Ui {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(db: &str, listen: &str) -> Ui {
    let mut child = Command::new(BIN)
        .args(["ui", "--db", db, "--listen", listen])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("a line");
    Ui {
        child,
        link: line.trim().to_owned(),
    }
}

fn store() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("mdep.db");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(mdep_sync::Store::open(&mdep_sync::Location::Sqlite(
        path.clone(),
    )))
    .expect("a migrated store");
    (dir, format!("sqlite:{}", path.display()))
}

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

#[test]
fn the_printed_link_logs_in_and_nothing_else_does() {
    let (_d, db) = store();
    let ui = start(&db, "127.0.0.1:0");
    assert!(ui.link.starts_with("http://127.0.0.1:"), "{}", ui.link);
    let (base, token) = ui.link.split_once("/?token=").expect("a token");
    assert!(token.len() >= 43, "a long random token");
    let c = http();
    for path in ["/tenants", "/alerts", "/devices/x/y"] {
        let r = c.get(format!("{base}{path}")).send().expect("get");
        assert_eq!(r.status(), 401, "{path}");
    }
    let r = c.get(&ui.link).send().expect("get");
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/");
    let cookie = r.headers()["set-cookie"].to_str().expect("text").to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let pair = cookie.split(';').next().expect("pair");
    let page = c
        .get(format!("{base}/tenants"))
        .header("cookie", pair)
        .send()
        .expect("get");
    assert_eq!(page.status(), 200);
    assert!(page.text().expect("body").contains("0 tenants"));
    // A second instance has its own token: the first one's cookie does not open it.
    let other = start(&db, "127.0.0.1:0");
    let (base2, _) = other.link.split_once("/?token=").expect("a token");
    let r = c
        .get(format!("{base2}/tenants"))
        .header("cookie", pair)
        .send()
        .expect("get");
    assert_eq!(r.status(), 401);
}

#[test]
fn listening_beyond_loopback_warns() {
    let (_d, db) = store();
    let mut ui = start(&db, "0.0.0.0:0");
    assert!(ui.link.starts_with("http://0.0.0.0:"), "{}", ui.link);
    let _ = ui.child.kill();
    let _ = ui.child.wait();
    let mut err = String::new();
    ui.child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("stderr");
    assert!(
        err.contains("warning: --listen 0.0.0.0:0 is reachable from other machines"),
        "{err}"
    );
}

#[test]
fn a_missing_database_or_a_bad_address_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let missing = format!("sqlite:{}", dir.path().join("none.db").display());
    let out = Command::new(BIN)
        .args(["ui", "--db", &missing])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("run `mdep sync` first"), "{err}");
    assert!(
        !dir.path().join("none.db").exists(),
        "the UI never creates a database"
    );
    let out = Command::new(BIN)
        .args(["ui", "--listen", "localhost"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--listen"));
}

const PARTNER: &str = "11111111-1111-1111-1111-111111111111";
const APP: &str = "44444444-4444-4444-4444-444444444444";
const SECRET: &str = "abc8Q~0123456789abcdefghijklmnopqrstuvw";

fn tenant_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

/// Three consented customers of 30 alerts, one that never consented; synced into `db`.
fn synced_into(db: &str, tmp: &std::path::Path) -> (common::Server, Vec<(String, String)>) {
    let mut s = format!(
        "[emulator]\nadmin_key = \"ui-test-admin-key-0123456789\"\nmde_calls_per_minute = 100000\nmde_calls_per_hour = 1000000\n\n\
         [[tenants]]\nid = \"{PARTNER}\"\nname = \"Fabrikam\"\ndomain = \"fabrikam.onmicrosoft.com\"\nadmin = {{ user = \"admin@fabrikam.onmicrosoft.com\", password = \"p\" }}\n"
    );
    for i in 0..4 {
        s.push_str(&format!(
            "\n[[tenants]]\nid = \"{}\"\nname = \"Customer{i}\"\ndomain = \"customer{i}.onmicrosoft.com\"\nadmin = {{ user = \"admin@customer{i}.onmicrosoft.com\", password = \"p\" }}\ndevices = 5\nalerts = 30\nseed = {i}\n",
            tenant_id(i)
        ));
    }
    s.push_str(&format!(
        "\n[[apps]]\nclient_id = \"{APP}\"\nname = \"Fabrikam SOC\"\nhome_tenant = \"{PARTNER}\"\npermissions = [\"Alert.Read.All\", \"Machine.Read.All\", \"Score.Read.All\"]\nsecrets = [{{ value = \"{SECRET}\" }}]\n"
    ));
    for i in 0..3 {
        s.push_str(&format!(
            "\n[[consents]]\ntenant = \"{}\"\napp = \"{APP}\"\n",
            tenant_id(i)
        ));
    }
    let scenario = tmp.join("scenario.toml");
    std::fs::write(&scenario, s).expect("scenario");
    let state = tmp.join("state");
    let server = start_emulator(&state, &["--scenario", scenario.to_str().expect("utf8")]);
    let base = server.ready["base_url"].as_str().expect("base").to_owned();
    let mut config = format!(
        "authority_host = \"{base}\"\napi_base = \"{base}\"\nca_file = \"{}\"\ntoken_version = \"v2\"\nrequired_permissions = [\"Alert.Read.All\", \"Machine.Read.All\", \"Score.Read.All\"]\n\n[partner]\nclient_id = \"{APP}\"\nsecret_env = \"MDEP_CLIENT_SECRET\"\n",
        state.join("ca.pem").display()
    );
    for i in 0..4 {
        config.push_str(&format!(
            "\n[[tenants]]\nname = \"Customer{i}\"\ntenant = \"{}\"\ntags = [\"{}\"]\n",
            tenant_id(i),
            if i % 2 == 0 { "eu" } else { "us" }
        ));
    }
    let path = tmp.join("config.toml");
    std::fs::write(&path, config).expect("config");
    let env = vec![
        ("MDEP_CONFIG".to_owned(), path.display().to_string()),
        ("MDEP_CLIENT_SECRET".to_owned(), SECRET.to_owned()),
        ("HOME".to_owned(), tmp.display().to_string()),
        (
            "XDG_DATA_HOME".to_owned(),
            tmp.join("data").display().to_string(),
        ),
    ];
    for args in [
        vec!["tenants", "check", "--db", db],
        vec!["sync", "--all-tenants", "--db", db],
    ] {
        let out = Command::new(BIN)
            .args(&args)
            .envs(env.iter().cloned())
            .env_remove("MDEP_DB")
            .output()
            .expect("run");
        assert_eq!(
            out.status.code(),
            Some(3),
            "{args:?}: Customer3 never consented\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    (server, env)
}

/// Logs in by the link; returns (base, cookie pair).
fn login(ui: &Ui) -> (String, String) {
    let r = http().get(&ui.link).send().expect("get");
    assert_eq!(r.status(), 303);
    let c = r.headers()["set-cookie"].to_str().expect("text");
    let pair = c.split(';').next().expect("pair").to_owned();
    (
        ui.link.split("/?token=").next().expect("base").to_owned(),
        pair,
    )
}

fn page(base: &str, cookie: &str, path: &str) -> String {
    let r = http()
        .get(format!("{base}{path}"))
        .header("cookie", cookie)
        .send()
        .expect("get");
    assert_eq!(r.status(), 200, "{path}");
    r.text().expect("body")
}

fn ids(body: &str) -> Vec<String> {
    body.split("data-id=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(str::to_owned)
        .collect()
}

/// Every page and export over a store, the same on SQLite and PostgreSQL.
fn pages_over(db: &str) {
    let tmp = tempfile::tempdir().expect("tmp");
    let (_emulator, env) = synced_into(db, tmp.path());
    let ui = start(db, "127.0.0.1:0");
    let (base, cookie) = login(&ui);
    let tenants: serde_json::Value =
        serde_json::from_str(&page(&base, &cookie, "/tenants?format=json&sort=name"))
            .expect("json");
    let rows = tenants.as_array().expect("rows");
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[3]["tenant"], "Customer3");
    assert_eq!(rows[3]["ready"], false);
    for r in &rows[..3] {
        assert_eq!(r["ready"], true, "{r}");
        assert!(r["exposure_score"].as_f64().is_some(), "{r}");
        assert!(r["devices"].as_u64() == Some(5), "{r}");
    }
    // Every alert once over the pages of 10.
    let mut seen = Vec::new();
    let mut path = "/alerts?size=10".to_owned();
    loop {
        let body = page(&base, &cookie, &path);
        seen.extend(ids(&body));
        match body.split("id=\"page-next\" href=\"").nth(1) {
            Some(n) => path = n.split('"').next().expect("href").replace("&amp;", "&"),
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (90, 90));
    // The export is `mdep db alerts`' output for the same filter.
    let csv = page(
        &base,
        &cookie,
        "/alerts?format=csv&severity=High&tenant=Customer1",
    );
    let cli = Command::new(BIN)
        .args([
            "db",
            "alerts",
            "--db",
            db,
            "--severity",
            "High",
            "--tenant",
            "Customer1",
            "-o",
            "csv",
        ])
        .envs(env.iter().cloned())
        .output()
        .expect("run");
    assert_eq!(csv, String::from_utf8_lossy(&cli.stdout));
    assert!(csv.lines().count() > 1);
    let list = page(&base, &cookie, "/alerts");
    let href = list
        .split("class=\"detail\" href=\"")
        .nth(1)
        .and_then(|h| h.split('"').next())
        .expect("a detail link");
    let detail = page(&base, &cookie, href);
    assert!(detail.contains(&format!("data-field=\"id\">{}<", seen[0])));
    assert!(detail.contains("id=\"raw-json\""));
    let charts = page(&base, &cookie, "/charts?tag=eu");
    assert!(charts.contains("id=\"chart-open-by-severity\"") && charts.contains("Customer2"));
    assert!(!charts.contains(">Customer1<"), "tag eu only");
    let devices = page(&base, &cookie, "/devices?tenant=Customer0");
    assert_eq!(ids(&devices).len(), 5);
    let bad = http()
        .get(format!("{base}/alerts?q=%27%20OR%201%3D1%20--"))
        .header("cookie", &cookie)
        .send()
        .expect("get");
    assert_eq!(ids(&bad.text().expect("body")).len(), 0);
}

#[test]
fn every_page_over_sqlite() {
    let dir = tempfile::tempdir().expect("tmp");
    pages_over(&format!("sqlite:{}", dir.path().join("mdep.db").display()));
}

#[test]
fn every_page_over_postgresql_read_only() {
    let server = pg::Postgres::start();
    pages_over(&server.url("mdep"));
}

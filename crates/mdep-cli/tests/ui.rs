//! `mdep ui` as a process: the link it prints, the token it asks for, the warning off
//! loopback, and the errors a wrong database gives. Pages themselves are tested in
//! crates/mdep-ui (without a socket) and in Chromium (interop/tests/test_ui_browser.py).

mod common;

use common::BIN;
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

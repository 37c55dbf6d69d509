//! `mdep regions probe` against the emulator: per-region latency from `host` faults, the
//! pick, `--write` into the config, JSON, a cloud without regions, nothing reachable.

mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const APP: &str = "d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f70";

/// Regional latencies: eu nearest, uk 25 ms further, us furthest, au unreachable (its
/// answers cut off), every other host 40 ms. The first matching fault decides.
const FAULTS: &str = r#"
[[faults]]
host = "eu.api.security.microsoft.com"
latency_ms = 5

[[faults]]
host = "uk.api.security.microsoft.com"
latency_ms = 30

[[faults]]
host = "us.api.security.microsoft.com"
latency_ms = 60

[[faults]]
host = "au.api.security.microsoft.com"
drop = true

[[faults]]
host = "api-gcc.securitycenter.microsoft.us"
latency_ms = 50

[[faults]]
path = "/api*"
latency_ms = 40
"#;

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

fn run(config: &Path, args: &[&str]) -> Out {
    let home = config.parent().expect("dir").join("home");
    let out = Command::new(BIN)
        .args(args)
        .env("MDEP_CONFIG", config)
        .env("HOME", &home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env_remove("MDEP_LOG")
        .output()
        .expect("run mdep");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

/// A config from `mdep config init` pointed at `api_base` (and the emulator's CA), in
/// `cloud`.
fn config(dir: &Path, api_base: &str, ca: Option<&Path>, cloud: &str) -> PathBuf {
    let path = dir.join(format!("{cloud}.toml"));
    let o = run(&path, &["config", "init", "--client-id", APP]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let mut text = std::fs::read_to_string(&path)
        .expect("config")
        .replace("cloud = \"global\"", &format!("cloud = \"{cloud}\""))
        .replace(
            "# api_base = \"https://127.0.0.1:8443\"",
            &format!("api_base = \"{api_base}\""),
        );
    if let Some(ca) = ca {
        text = text.replace(
            "# ca_file = \"~/.local/state/mdep/emulator/ca.pem\"",
            &format!("ca_file = \"{}\"", ca.display()),
        );
    }
    std::fs::write(&path, text).expect("write");
    path
}

fn emulator(dir: &Path) -> (Server, String, PathBuf) {
    let scenario = dir.join("scenario.toml");
    let text = std::fs::read_to_string(example_scenario()).expect("example") + FAULTS;
    std::fs::write(&scenario, text).expect("scenario");
    let state = dir.join("state");
    let server = start(&state, &["--scenario", scenario.to_str().expect("utf8")]);
    let base = server.ready["base_url"].as_str().expect("base").to_owned();
    (server, base, state.join("ca.pem"))
}

fn median(h: &Value) -> f64 {
    h["median_ms"].as_f64().unwrap_or_else(|| panic!("{h}"))
}

#[test]
fn probe_picks_the_nearest_region_and_writes_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (_server, base, ca) = emulator(tmp.path());
    let cfg = config(tmp.path(), &base, Some(&ca), "global");

    let o = run(&cfg, &["regions", "probe", "--samples", "3", "--json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v = o.json();
    assert_eq!(v["cloud"], "global");
    assert_eq!(v["regional"], true);
    assert_eq!(v["via"], base.as_str());
    assert_eq!(v["written"], Value::Null);
    let hosts = v["hosts"].as_array().expect("hosts");
    assert_eq!(hosts.len(), 11, "every region of mde-api.md §1.2");
    assert_eq!(v["fastest"], "eu", "{v}");
    assert_eq!(hosts[0]["host"], "eu.api.security.microsoft.com");
    assert_eq!(hosts[0]["url"], format!("{base}/api"));
    let by = |name: &str| {
        hosts
            .iter()
            .find(|h| h["name"] == name)
            .unwrap_or_else(|| panic!("{name}: {v}"))
    };
    // Each host got its own latency: the Host header reached the emulator.
    assert!(median(by("uk")) >= 30.0 && median(by("us")) >= 60.0, "{v}");
    assert!(median(by("api-eu")) >= 40.0, "{v}");
    for h in hosts.iter().filter(|h| h["name"] != "au") {
        assert_eq!(h["reachable"], true, "{h}");
        assert_eq!(
            h["status"], 401,
            "MDE refuses the unauthenticated probe: {h}"
        );
        assert_eq!(h["samples_ms"].as_array().map(Vec::len), Some(3), "{h}");
        assert!(h["min_ms"].as_f64() <= h["median_ms"].as_f64(), "{h}");
        assert!(h["median_ms"].as_f64() <= h["max_ms"].as_f64(), "{h}");
    }
    let medians: Vec<f64> = hosts[..10].iter().map(median).collect();
    assert!(medians.is_sorted(), "fastest first: {medians:?}");
    let au = &hosts[10];
    assert_eq!(au["name"], "au", "unreachable last: {v}");
    assert_eq!(au["reachable"], false);
    assert_eq!(au["median_ms"], Value::Null);
    assert!(au["error"].as_str().is_some_and(|e| !e.is_empty()), "{au}");

    // The table, fastest first, the unreachable host said so.
    let o = run(&cfg, &["regions", "probe", "--samples", "3"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert!(
        o.stdout
            .contains("the probe asks that address for each region by name"),
        "{}",
        o.stdout
    );
    let header = lines
        .iter()
        .position(|l| l.starts_with("NAME"))
        .expect("header");
    assert!(lines[header + 1].starts_with("eu "), "{}", o.stdout);
    assert!(
        lines[header + 11].starts_with("au ") && lines[header + 11].contains("unreachable"),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("fastest: eu"), "{}", o.stdout);

    // --write: region = "eu" in the file, the rest of it kept; `config show` shows it.
    let o = run(&cfg, &["regions", "probe", "--samples", "3", "--write"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("wrote region = \"eu\""), "{}", o.stdout);
    assert!(o.stderr.contains("api_base is set"), "{}", o.stderr);
    let text = std::fs::read_to_string(&cfg).expect("config");
    assert!(text.lines().any(|l| l == "region = \"eu\""), "{text}");
    assert!(text.contains("# Point everything at the local emulator"));
    assert!(text.contains(&format!("api_base = \"{base}\"")));
    let o = run(&cfg, &["config", "show", "-o", "json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.json()["region"], "eu");
    assert_eq!(o.json()["api_base"], base.as_str(), "api_base still wins");
    let o = run(&cfg, &["config", "show"]);
    assert!(
        o.stdout
            .lines()
            .any(|l| l.starts_with("region ") && l.ends_with(" eu")),
        "{}",
        o.stdout
    );

    // A cloud without regional hosts probes its one host, under its name.
    let gcc = config(tmp.path(), &base, Some(&ca), "gcc");
    let o = run(&gcc, &["regions", "probe", "--samples", "2", "-o", "json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v = o.json();
    assert_eq!(v["regional"], false);
    assert_eq!(v["fastest"], "gcc");
    let hosts = v["hosts"].as_array().expect("hosts");
    assert_eq!(hosts.len(), 1, "{v}");
    assert_eq!(hosts[0]["host"], "api-gcc.securitycenter.microsoft.us");
    assert!(median(&hosts[0]) >= 50.0, "its own latency: {v}");
    let o = run(&gcc, &["regions", "probe", "--samples", "1"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout.contains("cloud gcc has no regional API hosts"),
        "{}",
        o.stdout
    );
    let before = std::fs::read_to_string(&gcc).expect("config");
    let o = run(&gcc, &["regions", "probe", "--samples", "1", "--write"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("no regional API hosts"), "{}", o.stderr);
    assert_eq!(std::fs::read_to_string(&gcc).expect("config"), before);
}

#[test]
fn nothing_reachable_is_an_error_and_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    // Nothing listens on port 1.
    let cfg = config(tmp.path(), "http://127.0.0.1:1", None, "global");
    let before = std::fs::read_to_string(&cfg).expect("config");
    let o = run(&cfg, &["regions", "probe", "--samples", "1", "--write"]);
    assert_eq!(o.code, 1, "{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stderr
            .contains("no regional API host answered, so region is not written"),
        "{}",
        o.stderr
    );
    assert_eq!(std::fs::read_to_string(&cfg).expect("config"), before);
    let o = run(&cfg, &["regions", "probe", "--samples", "1", "--json"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let v = o.json();
    assert_eq!(v["fastest"], Value::Null);
    assert!(
        v["hosts"]
            .as_array()
            .expect("hosts")
            .iter()
            .all(|h| h["reachable"] == false && h["error"].as_str().is_some()),
        "{v}"
    );
    assert!(
        o.stderr.contains("no API host of cloud global answered"),
        "{}",
        o.stderr
    );
    let o = run(&cfg, &["regions", "probe", "--samples", "0"]);
    assert_eq!(o.code, 2, "usage: {}", o.stderr);
}

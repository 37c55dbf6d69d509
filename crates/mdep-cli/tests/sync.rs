//! `mdep sync` and `mdep db` as a user runs them, against the emulator binary, on SQLite
//! and on a throwaway PostgreSQL server: the first run equals the emulator's data;
//! changes between runs (alert updates through the API, new alerts, new devices) are
//! picked up incrementally; `kill -9` at random points loses and duplicates nothing;
//! injected 503/429/dropped connections and emulator restarts still converge; and two
//! workers on one PostgreSQL never sync the same tenant at once.

mod common;
mod pg;
use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PARTNER: &str = "11111111-1111-1111-1111-111111111111";
const APP: &str = "44444444-4444-4444-4444-444444444444";
const SECRET: &str = "abc8Q~0123456789abcdefghijklmnopqrstuvw";
const ADMIN_KEY: &str = "sync-test-admin-key-0123456789";

fn tenant_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

/// How the emulator is set up.
struct Spec {
    tenants: usize,
    devices: u32,
    alerts: u32,
    /// `[[faults]]` tables.
    faults: &'static str,
    /// Keep the emulator's state in a file (for restarts).
    file_backed: bool,
}

/// Generated data is anchored to a fixed clock (docs/scenario.md), so every generated
/// device was last seen over 7 days ago and only devices added later are recent.
fn scenario(s: &Spec) -> String {
    let mut out = format!(
        "[emulator]\nadmin_key = \"{ADMIN_KEY}\"\nmde_page_size = 7\nclock = \"2026-11-01T00:00:00Z\"\n\
         mde_calls_per_minute = 1000000\nmde_calls_per_hour = 10000000\n\n\
         [[tenants]]\nid = \"{PARTNER}\"\nname = \"Fabrikam\"\ndomain = \"fabrikam.onmicrosoft.com\"\nadmin = {{ user = \"admin@fabrikam.onmicrosoft.com\", password = \"p\" }}\n"
    );
    for i in 0..s.tenants {
        out.push_str(&format!(
            "\n[[tenants]]\nid = \"{}\"\nname = \"Customer{i}\"\ndomain = \"customer{i}.onmicrosoft.com\"\nadmin = {{ user = \"admin@customer{i}.onmicrosoft.com\", password = \"p\" }}\ndevices = {}\nalerts = {}\nseed = {i}\n",
            tenant_id(i),
            s.devices,
            s.alerts
        ));
    }
    out.push_str(&format!(
        "\n[[apps]]\nclient_id = \"{APP}\"\nname = \"Fabrikam SOC\"\nhome_tenant = \"{PARTNER}\"\n\
         permissions = [\"Alert.ReadWrite.All\", \"Machine.ReadWrite.All\", \"Ti.ReadWrite.All\"]\n\
         secrets = [{{ value = \"{SECRET}\" }}]\n"
    ));
    for i in 0..s.tenants {
        out.push_str(&format!(
            "\n[[consents]]\ntenant = \"{}\"\napp = \"{APP}\"\n",
            tenant_id(i)
        ));
    }
    out.push('\n');
    out.push_str(s.faults);
    out
}

struct Env {
    tmp: tempfile::TempDir,
    state: PathBuf,
    scenario: PathBuf,
    emu_db: Option<PathBuf>,
    config: PathBuf,
    home: PathBuf,
    server: Option<Server>,
    tenants: usize,
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
    fn lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

/// What the run table says, per tenant: (new, updated, unchanged, errors).
fn totals(out: &Out) -> (u64, u64, u64, u64) {
    let mut t = (0, 0, 0, 0);
    for r in out.lines() {
        t.0 += r["new"].as_u64().expect("new");
        t.1 += r["updated"].as_u64().expect("updated");
        t.2 += r["unchanged"].as_u64().expect("unchanged");
        t.3 += r["errors"].as_array().expect("errors").len() as u64;
    }
    t
}

/// Rows keyed by (entity, tenant name, id).
type Data = BTreeMap<(String, String, String), Value>;

const LISTS: &[(&str, &str, &str)] = &[
    // Synced with their evidence (`$expand=evidence`), as the store keeps them.
    ("alerts", "/api/alerts?$expand=evidence", "alerts"),
    ("machines", "/api/machines", "machines"),
    ("machineactions", "/api/machineactions", "machine_actions"),
    ("indicators", "/api/indicators", "indicators"),
];

impl Env {
    fn new(spec: Spec) -> Self {
        let tmp = tempfile::tempdir().expect("tmp");
        let state = tmp.path().join("state");
        let scenario_file = tmp.path().join("scenario.toml");
        std::fs::write(&scenario_file, scenario(&spec)).expect("scenario");
        let emu_db = spec.file_backed.then(|| tmp.path().join("emulator.db"));
        let home = tmp.path().join("home");
        std::fs::create_dir_all(&home).expect("home");
        let mut env = Self {
            config: tmp.path().join("config.toml"),
            tmp,
            state,
            scenario: scenario_file,
            emu_db,
            home,
            server: None,
            tenants: spec.tenants,
        };
        env.start_emulator("127.0.0.1:0");
        env
    }

    fn start_emulator(&mut self, listen: &str) {
        let mut args = vec!["--scenario".to_owned(), self.scenario.display().to_string()];
        if let Some(db) = &self.emu_db {
            args.push("--db".into());
            args.push(db.display().to_string());
        }
        // The common helper listens on 127.0.0.1:0; a restart keeps the port.
        let server = if listen == "127.0.0.1:0" {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            start(&self.state, &a)
        } else {
            start_on(&self.state, listen, &args)
        };
        let base = server.ready["base_url"].as_str().expect("base").to_owned();
        self.server = Some(server);
        let mut text = format!(
            "authority_host = \"{base}\"\napi_base = \"{base}\"\nca_file = \"{}\"\ntoken_version = \"v2\"\n\n\
             [partner]\nclient_id = \"{APP}\"\nsecret_env = \"MDEP_CLIENT_SECRET\"\n\n\
             [api]\ncompany = \"Fabrikam\"\nproduct = \"SOC\"\ncalls_per_minute = 1000000\ncalls_per_hour = 10000000\nmax_attempts = 10\nconcurrency = 8\n",
            self.state.join("ca.pem").display()
        );
        for i in 0..self.tenants {
            text.push_str(&format!(
                "\n[[tenants]]\nname = \"Customer{i}\"\ntenant = \"{}\"\n",
                tenant_id(i)
            ));
        }
        std::fs::write(&self.config, text).expect("config");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&self.config, std::fs::Permissions::from_mode(0o600))
                .expect("chmod");
        }
    }

    fn base(&self) -> String {
        self.server.as_ref().expect("server").ready["base_url"]
            .as_str()
            .expect("base")
            .to_owned()
    }

    /// Stops the emulator and starts it again on the same port, from its file.
    fn restart_emulator(&mut self) {
        let base = self.base();
        let listen = base
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        self.server = None;
        self.start_emulator(&listen);
    }

    fn sqlite(&self) -> String {
        format!("sqlite:{}", self.tmp.path().join("mdep.db").display())
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .env("MDEP_CONFIG", &self.config)
            .env("MDEP_CLIENT_SECRET", SECRET)
            .env("HOME", &self.home)
            .env("XDG_CACHE_HOME", self.home.join("cache"))
            .env("XDG_DATA_HOME", self.home.join("data"))
            .env_remove("MDEP_LOG")
            .env_remove("MDEP_DB")
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Out {
        let out = self.command(args).output().expect("run mdep");
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn sync(&self, db: &str, extra: &[&str]) -> Out {
        let mut a = vec![
            "sync",
            "--all-tenants",
            "--db",
            db,
            "--page-size",
            "10",
            "-o",
            "jsonl",
        ];
        a.extend_from_slice(extra);
        self.run(&a)
    }

    fn http(&self) -> reqwest::blocking::Client {
        let pem = std::fs::read(self.state.join("ca.pem")).expect("ca");
        reqwest::blocking::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&pem).expect("pem")])
            .build()
            .expect("client")
    }

    fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut r = self
            .http()
            .request(method, format!("{}{path}", self.base()))
            .bearer_auth(ADMIN_KEY);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().expect("admin call");
        let status = resp.status();
        let text = resp.text().unwrap_or_default();
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    fn clear_faults(&self) {
        self.admin(reqwest::Method::DELETE, "/_emulator/faults", None);
    }

    /// Requests the emulator answered on `route` (all statuses), per its counters.
    fn requests(&self, route_part: &str) -> u64 {
        let c = self.admin(reqwest::Method::GET, "/_emulator/counters", None);
        c["counters"]
            .as_array()
            .expect("counters")
            .iter()
            .filter(|x| x["route"].as_str().is_some_and(|r| r.contains(route_part)))
            .map(|x| x["count"].as_u64().unwrap_or(0))
            .sum()
    }

    /// Every row the emulator serves, read through the API (faults must be off).
    fn truth(&self) -> Data {
        let mut out = Data::new();
        for (entity, path, _) in LISTS {
            // The raw answers, every page, as MDE sent them.
            let o = self
                .run(&["api", "GET", path, "--all-tenants", "-o", "jsonl"])
                .ok();
            for mut row in o.lines() {
                let tenant = row["tenant"].as_str().expect("tenant").to_owned();
                let obj = row.as_object_mut().expect("object");
                obj.shift_remove("tenant");
                let id = match &obj["id"] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                out.insert(((*entity).to_owned(), tenant, id), row);
            }
        }
        out
    }

    /// Every row in the store, its raw JSON, through `mdep db sql`.
    fn stored(&self, db: &str) -> Data {
        let mut out = Data::new();
        for (entity, _, table) in LISTS {
            let sql = format!(
                "SELECT COALESCE(t.name, x.tenant) AS tenant, x.id, x.raw FROM {table} x LEFT JOIN tenants t ON t.tenant = x.tenant"
            );
            let o = self
                .run(&["db", "sql", &sql, "--db", db, "-o", "jsonl"])
                .ok();
            for r in o.lines() {
                let raw = match &r["raw"] {
                    Value::String(s) => serde_json::from_str(s).expect("raw json"),
                    other => other.clone(),
                };
                let key = (
                    (*entity).to_owned(),
                    r["tenant"].as_str().expect("tenant").to_owned(),
                    r["id"].as_str().expect("id").to_owned(),
                );
                assert!(out.insert(key.clone(), raw).is_none(), "duplicate {key:?}");
            }
        }
        out
    }

    fn assert_converged(&self, db: &str) {
        let truth = self.truth();
        let stored = self.stored(db);
        assert!(!truth.is_empty());
        let missing: Vec<_> = truth.keys().filter(|k| !stored.contains_key(*k)).collect();
        let extra: Vec<_> = stored.keys().filter(|k| !truth.contains_key(*k)).collect();
        let differ: Vec<_> = truth
            .iter()
            .filter(|(k, v)| stored.get(*k).is_some_and(|s| s != *v))
            .map(|(k, _)| k)
            .collect();
        assert!(
            missing.is_empty() && extra.is_empty() && differ.is_empty(),
            "store differs from the emulator: {} missing {:?}, {} extra {:?}, {} differ {:?}",
            missing.len(),
            missing.iter().take(5).collect::<Vec<_>>(),
            extra.len(),
            extra.iter().take(5).collect::<Vec<_>>(),
            differ.len(),
            differ.iter().take(5).collect::<Vec<_>>()
        );
    }

    /// kill -9 of `mdep sync` at random moments, `kills` times, each after a random
    /// delay in `ms`; returns how many runs were killed before finishing.
    /// Runs `mdep sync` until `kills` runs were killed with SIGKILL before
    /// they finished (at most three times as many runs). Each run is killed
    /// after `wait(full)`, where `full` says whether the run is a complete pass
    /// (the first on an empty store, and every other run); a run that ended
    /// before its kill halves the waits after it, so a machine faster than
    /// the caller expected still gets its kills. Returns how many runs were
    /// killed.
    fn kill_loop(&self, db: &str, kills: usize, wait: impl Fn(bool) -> Duration) -> usize {
        let mut killed = 0;
        let mut scale = 1.0;
        for k in 0..kills * 3 {
            if killed == kills {
                break;
            }
            let mut args = vec![
                "sync",
                "--all-tenants",
                "--db",
                db,
                "--page-size",
                "5",
                "-o",
                "jsonl",
            ];
            // Every other run a full pass, so kills land in full and incremental passes.
            if k % 2 == 1 {
                args.push("--full");
            }
            let mut child = self
                .command(&args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn sync");
            let deadline = Instant::now() + wait(k == 0 || k % 2 == 1).mul_f64(scale);
            let mut finished = false;
            while Instant::now() < deadline {
                if child.try_wait().expect("wait").is_some() {
                    finished = true;
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            if finished {
                scale /= 2.0;
            } else {
                child.kill().expect("kill -9");
                killed += 1;
            }
            let _ = child.wait();
        }
        killed
    }
}

/// Starts the emulator on a given address (a restart keeps its port).
fn start_on(state_dir: &Path, listen: &str, args: &[String]) -> Server {
    let ready_file = state_dir.join("ready.json");
    let _ = std::fs::remove_file(&ready_file);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut child = Command::new(BIN)
            .args(["emulator", "serve", "--listen", listen, "--state-dir"])
            .arg(state_dir)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn mdep");
        loop {
            if let Ok(text) = std::fs::read_to_string(&ready_file)
                && let Ok(ready) = serde_json::from_str::<Value>(&text)
            {
                return Server { child, ready };
            }
            if let Ok(Some(_)) = child.try_wait() {
                break; // the port may still be held for a moment: try again
            }
            assert!(Instant::now() < deadline, "emulator did not restart");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            Instant::now() < deadline,
            "emulator did not restart on {listen}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn first_run_equals_the_emulator_then_changes_are_picked_up_incrementally() {
    let env = Env::new(Spec {
        tenants: 3,
        devices: 6,
        alerts: 25,
        faults: "",
        file_backed: false,
    });
    let db = env.sqlite();
    let first = env.sync(&db, &[]).ok();
    let (new, updated, unchanged, errors) = totals(&first);
    let truth = env.truth();
    assert_eq!(new as usize, truth.len(), "{}", first.stdout);
    assert_eq!((updated, unchanged, errors), (0, 0, 0));
    env.assert_converged(&db);

    // Nothing changed: the incremental run reads only the overlap window, adds nothing.
    let before = env.requests("/api/alerts");
    let second = env.sync(&db, &[]).ok();
    let (new, updated, _, errors) = totals(&second);
    assert_eq!((new, updated, errors), (0, 0, 0), "{}", second.stdout);
    let incremental_calls = env.requests("/api/alerts") - before;
    assert!(
        incremental_calls <= 3 * 2,
        "an incremental run with no change re-reads little: {incremental_calls} alert calls"
    );

    // Changes between runs: an update through the API, new alerts, new devices.
    let alert = truth
        .keys()
        .find(|(e, t, _)| e == "alerts" && t == "Customer0")
        .expect("an alert")
        .2
        .clone();
    env.run(&[
        "alerts",
        "update",
        &alert,
        "--tenant",
        "Customer0",
        "--status",
        "Resolved",
        "--comment",
        "closed by the sync test",
    ])
    .ok();
    let state = env.state.display().to_string();
    env.run(&[
        "emulator",
        "tenant",
        "add-alerts",
        &tenant_id(1),
        "--count",
        "4",
        "--state-dir",
        &state,
    ])
    .ok();
    env.run(&[
        "emulator",
        "tenant",
        "add-machines",
        &tenant_id(2),
        "--count",
        "2",
        "--state-dir",
        &state,
    ])
    .ok();
    let third = env.sync(&db, &[]).ok();
    let (new, updated, _, errors) = totals(&third);
    assert_eq!((new, updated, errors), (6, 1, 0), "{}", third.stdout);
    env.assert_converged(&db);

    // A tag added to a device does not move its lastSeen: the incremental run still
    // picks it up (issue: tag-only changes), and only that device is read again.
    let device = truth
        .keys()
        .find(|(e, t, _)| e == "machines" && t == "Customer0")
        .expect("a device")
        .2
        .clone();
    let body = env.state.join("tag.json");
    std::fs::write(&body, r#"{"Value": "sync-test-tag", "Action": "Add"}"#).expect("body");
    env.run(&[
        "api",
        "POST",
        &format!("/api/machines/{device}/tags"),
        "--body",
        body.to_str().expect("utf8"),
        "--tenant",
        "Customer0",
    ])
    .ok();
    let before = env.requests("/api/machines");
    let fourth = env.sync(&db, &[]).ok();
    let (new, updated, _, errors) = totals(&fourth);
    assert_eq!((new, updated, errors), (0, 1, 0), "{}", fourth.stdout);
    let machine_calls = env.requests("/api/machines") - before;
    assert!(
        machine_calls <= 3 * 3 + 1,
        "per tenant: the overlap window, one page of ids and tags; one device read again: {machine_calls} calls"
    );
    let tags = env
        .run(&[
            "db",
            "sql",
            &format!(
                "SELECT machine_tags FROM machines WHERE id = '{device}' AND tenant = '{}'",
                tenant_id(0)
            ),
            "--db",
            &db,
            "-o",
            "jsonl",
        ])
        .ok();
    assert!(
        tags.lines()[0]["machine_tags"]
            .to_string()
            .contains("sync-test-tag"),
        "{}",
        tags.stdout
    );
    env.assert_converged(&db);
    let resolved = env
        .run(&[
            "db",
            "sql",
            &format!(
                "SELECT status FROM alerts WHERE id = '{alert}' AND tenant = '{}'",
                tenant_id(0)
            ),
            "--db",
            &db,
            "-o",
            "jsonl",
        ])
        .ok();
    assert_eq!(resolved.lines()[0]["status"], "Resolved");

    // --full reads everything again and finds it unchanged.
    let full = env.sync(&db, &["--full"]).ok();
    let (new, updated, unchanged, errors) = totals(&full);
    assert_eq!((new, updated, errors), (0, 0, 0));
    assert_eq!(unchanged as usize, env.truth().len());

    // Reading back.
    let open = env
        .run(&[
            "db",
            "alerts",
            "--db",
            &db,
            "--open",
            "--severity",
            "High",
            "-o",
            "json",
        ])
        .ok();
    let rows: Vec<Value> = serde_json::from_str(&open.stdout).expect("json");
    let expected = env
        .truth()
        .iter()
        .filter(|((e, _, _), v)| {
            e == "alerts" && v["severity"] == "High" && v["status"] != "Resolved"
        })
        .count();
    assert_eq!(rows.len(), expected);
    assert!(rows.iter().all(|r| {
        r["tenant"]
            .as_str()
            .is_some_and(|t| t.starts_with("Customer"))
    }));
    let table = env
        .run(&["db", "machines", "--db", &db, "--tenant", "Customer2"])
        .ok();
    assert!(table.stdout.starts_with("TENANT"), "{}", table.stdout);
    assert_eq!(table.stdout.lines().count(), 1 + 6 + 2);
    let by_severity = env
        .run(&[
            "db",
            "sql",
            "SELECT tenant_name, severity, open_alerts FROM open_alerts_by_tenant_severity ORDER BY 1, 2",
            "--db",
            &db,
            "-o",
            "csv",
        ])
        .ok();
    assert!(
        by_severity
            .stdout
            .starts_with("tenant_name,severity,open_alerts\n")
    );
    let stale = env
        .run(&[
            "db",
            "sql",
            "SELECT COUNT(*) AS n FROM devices_not_seen_7_days",
            "--db",
            &db,
            "-o",
            "jsonl",
        ])
        .ok();
    // Generated devices were last seen before 2026-11-01; the two new ones just now.
    assert_eq!(stale.lines()[0]["n"], 18);

    // Read-only: a statement that writes is refused and changes nothing.
    let write = env.run(&["db", "sql", "DELETE FROM alerts", "--db", &db]);
    assert_eq!(write.code, 1, "{}", write.stderr);
    assert!(
        write.stderr.contains("only statements that read"),
        "{}",
        write.stderr
    );
    env.assert_converged(&db);
}

#[test]
fn kill_9_at_random_points_loses_and_duplicates_nothing() {
    let env = Env::new(Spec {
        tenants: 6,
        devices: 8,
        alerts: 40,
        faults: "[[faults]]\npath = \"/api/*\"\nlatency_ms = 40\n",
        file_backed: false,
    });
    // How long an uninterrupted full and incremental run take here, on a
    // scratch store: each kill then lands at a random point inside a run,
    // however fast or slow the machine is.
    let scratch = format!("sqlite:{}", env.tmp.path().join("calibrate.db").display());
    let timed = || {
        let start = Instant::now();
        env.run(&[
            "sync",
            "--all-tenants",
            "--db",
            &scratch,
            "--page-size",
            "5",
            "-o",
            "jsonl",
        ])
        .ok();
        start.elapsed()
    };
    let full = timed();
    let incremental = timed();
    let at_random = |d: Duration| d.mul_f64(0.1 + 0.8 * fastrand::f64());
    let db = env.sqlite();
    let killed = env.kill_loop(&db, 8, |is_full| {
        at_random(if is_full { full } else { incremental })
    });
    eprintln!("{killed} runs killed mid-sync (full run {full:?}, incremental {incremental:?})");
    assert_eq!(
        killed, 8,
        "only {killed} of 8 runs were killed mid-sync (full run {full:?}, incremental {incremental:?})"
    );
    // Changes while runs are being killed are found too.
    env.admin(
        reqwest::Method::POST,
        &format!("/_emulator/tenants/{}/defender/alerts", tenant_id(3)),
        Some(serde_json::json!({"count": 3})),
    );
    env.kill_loop(&db, 2, |_| at_random(incremental));
    env.sync(&db, &[]).ok();
    env.clear_faults();
    env.assert_converged(&db);
}

#[test]
fn converges_with_20_percent_injected_503_429_and_dropped_connections() {
    let env = Env::new(Spec {
        tenants: 5,
        devices: 6,
        alerts: 30,
        // Overlapping faults would fire on the same requests: one kind per list.
        faults: "[[faults]]\npath = \"/api/alerts*\"\nstatus = 503\nretry_after = 0\nshare = 0.2\n\n\
                 [[faults]]\npath = \"/api/machines*\"\nstatus = 429\nretry_after = 0\nshare = 0.2\n\n\
                 [[faults]]\npath = \"/api/indicators*\"\ndrop = true\nshare = 0.2\n",
        file_backed: false,
    });
    let db = env.sqlite();
    let out = env.sync(&db, &[]);
    // Retries absorb the faults; a tenant that still failed is taken up by the next run.
    if out.code != 0 {
        assert_eq!(out.code, 3, "{}", out.stderr);
        env.sync(&db, &[]).ok();
    }
    let faults = env.admin(reqwest::Method::GET, "/_emulator/faults", None);
    let injected: u64 = faults["faults"]
        .as_array()
        .expect("faults")
        .iter()
        .map(|f| f["injected"].as_u64().unwrap_or(0))
        .sum();
    let kinds = faults["faults"]
        .as_array()
        .expect("faults")
        .iter()
        .filter(|f| f["injected"].as_u64().unwrap_or(0) > 0)
        .count();
    assert!(
        injected >= 10 && kinds == 3,
        "every kind of fault was injected: {faults}"
    );
    env.clear_faults();
    env.assert_converged(&db);
}

/// Issue 8, client resilience: 100 tenants, 30% faults, the emulator restarted twice
/// mid-run from its file, and kill -9 of the sync itself.
#[test]
fn hundred_tenants_30_percent_faults_emulator_restarts_and_kill_9_converge() {
    let mut env = Env::new(Spec {
        tenants: 100,
        devices: 2,
        alerts: 4,
        faults: "[[faults]]\npath = \"/api/alerts*\"\nstatus = 503\nretry_after = 0\nshare = 0.3\n\n\
                 [[faults]]\npath = \"/api/machines*\"\nstatus = 429\nretry_after = 0\nshare = 0.3\n\n\
                 [[faults]]\npath = \"/api/indicators*\"\ndrop = true\nshare = 0.3\n",
        file_backed: true,
    });
    let db = env.sqlite();
    let mut child = env
        .command(&[
            "sync",
            "--all-tenants",
            "--db",
            &db,
            "--page-size",
            "3",
            "-o",
            "jsonl",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sync");
    for _ in 0..2 {
        std::thread::sleep(Duration::from_millis(700));
        assert!(
            child.try_wait().expect("wait").is_none(),
            "the sync was still running when the emulator restarted"
        );
        env.restart_emulator();
    }
    let _ = child.wait();
    // kill -9 of the sync, at random points.
    env.kill_loop(&db, 4, |_| Duration::from_millis(fastrand::u64(200..1500)));
    // Runs until every tenant synced (each run resumes from its checkpoints).
    let mut last = None;
    for _ in 0..5 {
        let o = env.sync(&db, &[]);
        let done = o.code == 0;
        last = Some(o);
        if done {
            break;
        }
    }
    let last = last.expect("ran");
    assert_eq!(last.code, 0, "{}\n{}", last.stdout, last.stderr);
    env.clear_faults();
    env.assert_converged(&db);
}

#[test]
fn sync_needs_a_tenant_choice_and_a_known_database() {
    let env = Env::new(Spec {
        tenants: 2,
        devices: 1,
        alerts: 1,
        faults: "",
        file_backed: false,
    });
    let o = env.run(&["sync", "--db", &env.sqlite()]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("--all-tenants"), "{}", o.stderr);
    let o = env.run(&["sync", "--all-tenants", "--db", "mysql://h/db"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("postgres://"), "{}", o.stderr);
    let o = env.run(&["sync", "--all-tenants", "--entities", "alerts,users"]);
    assert!(o.stderr.contains("unknown entity 'users'"), "{}", o.stderr);
    let o = env.run(&[
        "db",
        "alerts",
        "--db",
        &format!("sqlite:{}", env.tmp.path().join("none.db").display()),
    ]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("run `mdep sync` first"), "{}", o.stderr);
    // The default database is in the platform data directory.
    env.run(&[
        "sync",
        "--tenant",
        "Customer0",
        "--entities",
        "alerts",
        "-o",
        "jsonl",
    ])
    .ok();
    assert!(env.home.join("data/mdep/mdep.db").exists());
    let t = env.run(&["db", "alerts"]).ok();
    assert_eq!(t.stdout.lines().count(), 2, "{}", t.stdout);
}

/// `mdep db sql STATEMENT -o jsonl` against `db`, its rows.
fn sql_rows(env: &Env, db: &str, statement: &str) -> Vec<Value> {
    env.run(&["db", "sql", statement, "--db", db, "-o", "jsonl"])
        .ok()
        .lines()
}

#[test]
fn tags_and_scores_are_stored_and_a_refused_score_is_not_a_sync_error() {
    let env = Env::new(Spec {
        tenants: 2,
        devices: 4,
        alerts: 2,
        faults: "",
        file_backed: false,
    });
    let cfg = std::fs::read_to_string(&env.config)
        .expect("config")
        .replace(
            &format!("tenant = \"{}\"\n", tenant_id(0)),
            &format!("tenant = \"{}\"\ntags = [\"eu\", \"gold\"]\n", tenant_id(0)),
        );
    std::fs::write(&env.config, cfg).expect("config");
    let db = env.sqlite();
    // The app lacks Score.Read.All: both scores are refused, the sync still succeeds.
    let first = env.sync(&db, &[]).ok();
    assert_eq!(totals(&first).3, 0, "{}", first.stdout);
    let tags = sql_rows(&env, &db, "SELECT name, tags FROM tenants ORDER BY name");
    assert_eq!(tags[0]["tags"], "[\"eu\",\"gold\"]", "{tags:?}");
    assert_eq!(tags[1]["tags"], "[]", "{tags:?}");
    let scores = |env: &Env| {
        sql_rows(
            env,
            &db,
            "SELECT t.name, s.exposure_score, s.configuration_score, s.updated_at, s.message FROM tenant_scores s JOIN tenants t ON t.tenant = s.tenant ORDER BY t.name",
        )
    };
    let refused = scores(&env);
    assert_eq!(refused.len(), 2, "{refused:?}");
    for r in &refused {
        assert!(
            r["exposure_score"].is_null() && r["configuration_score"].is_null(),
            "{r}"
        );
        let m = r["message"].as_str().expect("message");
        assert!(
            m.contains("exposureScore")
                && m.contains("configurationScore")
                && m.contains("Score.Read.All"),
            "{m}"
        );
        assert!(
            r["updated_at"]
                .as_str()
                .is_some_and(|t| t.starts_with("20")),
            "{r}"
        );
    }

    // Granted and consented again: the scores are MDE's, the message gone.
    let state = env.state.display().to_string();
    let emu = |args: &[&str]| {
        let mut a = args.to_vec();
        a.extend(["--state-dir", &state]);
        env.run(&a).ok();
    };
    emu(&[
        "emulator",
        "app",
        "permission",
        "add",
        "--app",
        APP,
        "--permission",
        "Score.Read.All",
    ]);
    for i in 0..2 {
        emu(&[
            "emulator",
            "consent",
            "grant",
            "--tenant",
            &tenant_id(i),
            "--app",
            APP,
        ]);
    }
    let second = env.sync(&db, &["--no-token-cache"]).ok();
    assert_eq!(totals(&second).3, 0, "{}", second.stdout);
    let granted = scores(&env);
    assert_eq!(granted.len(), 2);
    for (i, r) in granted.iter().enumerate() {
        let tenant = format!("Customer{i}");
        let want = |path: &str| {
            env.run(&[
                "api",
                "GET",
                path,
                "--tenant",
                &tenant,
                "--no-token-cache",
                "-o",
                "jsonl",
            ])
            .ok()
            .lines()[0]["score"]
                .as_f64()
                .expect("score")
        };
        assert_eq!(r["name"], tenant.as_str());
        assert_eq!(
            r["exposure_score"].as_f64(),
            Some(want("/api/exposureScore")),
            "{r}"
        );
        assert_eq!(
            r["configuration_score"].as_f64(),
            Some(want("/api/configurationScore")),
            "{r}"
        );
        assert!(r["message"].is_null(), "{r}");
    }
}

// ---- PostgreSQL -------------------------------------------------------------------

/// PostgreSQL over TLS with libpq's `sslmode`/`sslrootcert`: a server that refuses plain
/// connections is synced with `verify-full` and the session is encrypted (pg_stat_ssl);
/// `disable`, a CA that did not sign the server, and `verify-full` against a name the
/// certificate does not hold are refused with what to change, while `verify-ca` (chain
/// only) and `require` (nothing checked) connect.
#[test]
fn postgres_over_tls_with_libpq_sslmode() {
    let (server, ca, other_ca) = pg::Postgres::start_tls();
    let plain = server.url("mdep");
    let with = |q: &str| format!("{plain}?{q}");
    let env = Env::new(Spec {
        tenants: 2,
        devices: 2,
        alerts: 5,
        faults: "",
        file_backed: false,
    });
    let full = with(&format!("sslmode=verify-full&sslrootcert={}", ca.display()));
    env.sync(&full, &[]).ok();
    env.assert_converged(&full);
    let ssl = env
        .run(&[
            "db",
            "sql",
            "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            "--db",
            &full,
            "-o",
            "jsonl",
        ])
        .ok();
    let row = &ssl.lines()[0];
    assert_eq!(row["ssl"], Value::Bool(true), "{}", ssl.stdout);
    assert!(
        row["version"]
            .as_str()
            .is_some_and(|v| v.starts_with("TLSv1.")),
        "{}",
        ssl.stdout
    );
    let refused = |db: &str, needle: &str| {
        let out = env.run(&["db", "alerts", "--db", db]);
        assert_ne!(out.code, 0, "{db}: {}", out.stdout);
        assert!(
            out.stderr.contains(needle),
            "{db}: wanted {needle:?} in:\n{}",
            out.stderr
        );
    };
    refused(&with("sslmode=disable"), "drop sslmode=disable");
    refused(
        &with(&format!(
            "sslmode=verify-full&sslrootcert={}",
            other_ca.display()
        )),
        "signed by the CA in sslrootcert",
    );
    let by_name = plain.replace("127.0.0.1", "localhost");
    refused(
        &format!("{by_name}?sslmode=verify-full&sslrootcert={}", ca.display()),
        "not valid for name",
    );
    refused(&with("sslmode=verify-ful"), "libpq's modes");
    for ok in [
        format!("{by_name}?sslmode=verify-ca&sslrootcert={}", ca.display()),
        with("sslmode=require"),
        plain.clone(),
    ] {
        let out = env.run(&["db", "alerts", "--db", &ok, "-o", "json"]);
        assert_eq!(out.code, 0, "{ok}: {}", out.stderr);
    }
}

#[test]
fn postgres_store_converges_and_two_workers_never_sync_a_tenant_at_once() {
    let server = pg::Postgres::start();
    let url = server.url("mdep");
    let env = Env::new(Spec {
        tenants: 8,
        devices: 4,
        alerts: 20,
        faults: "[[faults]]\npath = \"/api/*\"\nlatency_ms = 10\n",
        file_backed: false,
    });
    // Two workers at once, twice over.
    for round in 0..2 {
        let spawn = || {
            env.command(&[
                "sync",
                "--all-tenants",
                "--db",
                &url,
                "--page-size",
                "5",
                "--concurrency",
                "3",
                "-o",
                "jsonl",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn worker")
        };
        let (a, b) = (spawn(), spawn());
        let (a, b) = (
            a.wait_with_output().expect("a"),
            b.wait_with_output().expect("b"),
        );
        for o in [&a, &b] {
            assert!(
                o.status.success(),
                "round {round}: {}\n{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }
    // A last run so tenants one worker skipped in the last round are synced too.
    env.sync(&url, &[]).ok();
    env.clear_faults();
    env.assert_converged(&url);
    // The claims log: no two runs of one tenant overlap in time.
    let log = env
        .run(&[
            "db",
            "sql",
            "SELECT tenant, worker, started_at::text AS s, finished_at::text AS f FROM sync_log ORDER BY tenant, started_at",
            "--db",
            &url,
            "-o",
            "jsonl",
        ])
        .ok();
    let rows = log.lines();
    assert!(rows.len() >= 8 * 3, "{}", log.stdout);
    let workers: std::collections::HashSet<_> = rows
        .iter()
        .map(|r| r["worker"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(workers.len() >= 3, "several workers ran: {workers:?}");
    for w in rows.windows(2) {
        if w[0]["tenant"] == w[1]["tenant"] {
            let end = w[0]["f"].as_str().expect("finished");
            let start = w[1]["s"].as_str().expect("started");
            assert!(
                end <= start,
                "tenant {} synced by two workers at once: {w:?}",
                w[0]["tenant"]
            );
        }
    }
    // A dead worker's claims are freed: kill one mid-run, the next run takes everything.
    let mut child = env
        .command(&[
            "sync",
            "--all-tenants",
            "--db",
            &url,
            "--page-size",
            "2",
            "--full",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(600));
    child.kill().expect("kill -9");
    let _ = child.wait();
    let after = env.sync(&url, &[]).ok();
    assert!(
        after.lines().iter().all(|r| r["skipped"].is_null()),
        "{}",
        after.stdout
    );
    env.assert_converged(&url);
    // Read-only for SQL, the same views as SQLite.
    let w = env.run(&["db", "sql", "DELETE FROM alerts", "--db", &url]);
    assert_eq!(w.code, 1);
    assert!(w.stderr.contains("read-only"), "{}", w.stderr);
    let v = env
        .run(&[
            "db",
            "sql",
            "SELECT * FROM open_alerts_by_tenant_severity",
            "--db",
            &url,
            "-o",
            "json",
        ])
        .ok();
    assert!(v.stdout.contains("open_alerts"), "{}", v.stdout);
    let m = env
        .run(&[
            "db",
            "machines",
            "--db",
            &url,
            "--not-seen",
            "7d",
            "-o",
            "jsonl",
        ])
        .ok();
    assert_eq!(m.lines().len(), 8 * 4);
    // Schema 2 on PostgreSQL: tags and (refused, so NULL) scores per tenant.
    let extra = sql_rows(
        &env,
        &url,
        "SELECT t.tags, s.exposure_score, s.message FROM tenants t JOIN tenant_scores s ON s.tenant = t.tenant",
    );
    assert_eq!(extra.len(), 8);
    assert!(
        extra.iter().all(|r| r["tags"] == "[]"
            && r["exposure_score"].is_null()
            && r["message"]
                .as_str()
                .is_some_and(|m| m.contains("Score.Read.All"))),
        "{extra:?}"
    );
}

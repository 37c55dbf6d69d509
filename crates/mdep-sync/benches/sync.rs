//! `mdep sync` into SQLite at scale: `BENCH_TENANTS` tenants (1,000) × `BENCH_ALERTS`
//! alerts (1,000) served by the emulator in this process with its quotas raised, and
//! the release `mdep` binary as a separate process under `/usr/bin/time`, so the figures
//! are the sync's own:
//!
//! - a full sync of all tenants: rows per second, peak RSS, API calls;
//! - the same of `BENCH_SMALL_TENANTS` (100) tenants: peak RSS, which must stay flat in
//!   the number of tenants;
//! - an incremental re-sync with nothing changed, and after 1% of the alerts were
//!   updated through `PATCH /api/alerts/{id}`: time and API calls against the full sync.
//!
//! Run: `BENCH_DIR=/dev/shm cargo bench -p mdep-sync --bench sync` (builds `mdep` in
//! release when `MDEP_BIN` is not set). Prints `name=value` lines for scripts.

use mdep_api::entity::AlertUpdate;
use mdep_api::{Client, ClientOptions, Limits, Tenant};
use mdep_auth::config::TokenVersion;
use mdep_auth::{BrokerOptions, ClientCredential, Secret, TokenBroker};
use mdep_emulator::server::{ServeOptions, serve};
use mdep_model::Cloud;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const PARTNER: &str = "11111111-1111-1111-1111-111111111111";
const APP: &str = "44444444-4444-4444-4444-444444444444";
const SECRET: &str = "abc8Q~0123456789abcdefghijklmnopqrstuvw";
const ADMIN_KEY: &str = "bench-admin-key-0123456789";
const MDE: &str = "https://api.securitycenter.microsoft.com";

fn tenant_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The emulator keeps `BENCH_TENANTS_IN_MEMORY` tenants' data in memory (32 by default)
/// and reloads others from its database: a million alerts held at once would need tens
/// of gigabytes.
fn scenario(n: usize, alerts: usize) -> String {
    let in_memory = env_num("BENCH_TENANTS_IN_MEMORY", 32);
    let mut s = format!(
        "[emulator]\nadmin_key = \"{ADMIN_KEY}\"\nmde_page_size = 10000\nmde_calls_per_minute = 1000000\nmde_calls_per_hour = 100000000\ntenants_in_memory = {in_memory}\n\n\
         [[tenants]]\nid = \"{PARTNER}\"\nname = \"Fabrikam\"\ndomain = \"fabrikam.onmicrosoft.com\"\nadmin = {{ user = \"admin@fabrikam.onmicrosoft.com\", password = \"p\" }}\n"
    );
    for i in 0..n {
        s.push_str(&format!(
            "\n[[tenants]]\nid = \"{}\"\nname = \"Customer{i}\"\ndomain = \"customer{i}.onmicrosoft.com\"\nadmin = {{ user = \"admin@customer{i}.onmicrosoft.com\", password = \"p\" }}\ndevices = {}\nalerts = {alerts}\nseed = {i}\n",
            tenant_id(i),
            (alerts / 10).max(1)
        ));
    }
    s.push_str(&format!(
        "\n[[apps]]\nclient_id = \"{APP}\"\nname = \"Bench\"\nhome_tenant = \"{PARTNER}\"\npermissions = [\"Alert.ReadWrite.All\"]\nsecrets = [{{ value = \"{SECRET}\" }}]\n"
    ));
    for i in 0..n {
        s.push_str(&format!(
            "\n[[consents]]\ntenant = \"{}\"\napp = \"{APP}\"\n",
            tenant_id(i)
        ));
    }
    s
}

fn config_toml(base: &str, ca: &Path, n: usize, small: usize) -> String {
    let mut s = format!(
        "authority_host = \"{base}\"\napi_base = \"{base}\"\nca_file = \"{}\"\ntoken_version = \"v2\"\n\n\
         [partner]\nclient_id = \"{APP}\"\nsecret_env = \"MDEP_CLIENT_SECRET\"\n\n\
         [api]\ncalls_per_minute = 1000000\ncalls_per_hour = 100000000\nconcurrency = 8\n",
        ca.display()
    );
    for i in 0..n {
        let tags = if i < small { "[\"small\"]" } else { "[]" };
        s.push_str(&format!(
            "\n[[tenants]]\nname = \"Customer{i}\"\ntenant = \"{}\"\ntags = {tags}\n",
            tenant_id(i)
        ));
    }
    s
}

/// The release `mdep`: `MDEP_BIN`, or next to this bench's target directory (built if
/// missing).
fn mdep_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("MDEP_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("exe");
    let release = exe
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .to_path_buf();
    let bin = release.join("mdep");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "-p", "mdep-cli", "--bin", "mdep"])
        .status()
        .expect("cargo build");
    assert!(status.success(), "building mdep failed");
    bin
}

struct Run {
    seconds: f64,
    /// User + system CPU seconds of the sync process: its own cost, apart from the
    /// emulator's time to answer.
    cpu_seconds: f64,
    peak_rss_mib: f64,
    new: u64,
    updated: u64,
    unchanged: u64,
    api_calls: u64,
}

struct Bench {
    bin: PathBuf,
    dir: PathBuf,
    config: PathBuf,
    base: String,
    http: reqwest::Client,
}

impl Bench {
    async fn api_calls(&self) -> u64 {
        let v: Value = self
            .http
            .get(format!("{}/_emulator/counters", self.base))
            .bearer_auth(ADMIN_KEY)
            .send()
            .await
            .expect("counters")
            .json()
            .await
            .expect("json");
        v["counters"]
            .as_array()
            .expect("counters")
            .iter()
            .filter(|c| c["route"].as_str().is_some_and(|r| r.starts_with("/api")))
            .map(|c| c["count"].as_u64().unwrap_or(0))
            .sum()
    }

    /// One `mdep sync` under `/usr/bin/time`: wall time, peak RSS, counts, API calls.
    async fn sync(&self, db: &str, args: &[&str]) -> Run {
        let before = self.api_calls().await;
        let time_file = self.dir.join("time.txt");
        let start = Instant::now();
        let out = tokio::process::Command::new("/usr/bin/time")
            .arg("-f")
            .arg("%M %U %S")
            .arg("-o")
            .arg(&time_file)
            .arg(&self.bin)
            .args(["sync", "--db", db, "--entities", "alerts", "-o", "jsonl"])
            .args(args)
            .env("MDEP_CONFIG", &self.config)
            .env("MDEP_CLIENT_SECRET", SECRET)
            .env("HOME", self.dir.join("home"))
            .env("XDG_CACHE_HOME", self.dir.join("home/cache"))
            .output()
            .await
            .expect("run /usr/bin/time mdep sync (GNU time is needed: apt-get install time)");
        let seconds = start.elapsed().as_secs_f64();
        assert!(
            out.status.success(),
            "mdep sync failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let time_line = std::fs::read_to_string(&time_file).expect("time output");
        let fields: Vec<f64> = time_line
            .lines()
            .last()
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|f| f.parse().ok())
            .collect();
        let [kib, user, system] = fields[..] else {
            panic!("GNU time printed {time_line:?}, not max RSS, user and system time");
        };
        let (mut new, mut updated, mut unchanged) = (0, 0, 0);
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let r: Value = serde_json::from_str(line).expect("jsonl");
            new += r["new"].as_u64().unwrap_or(0);
            updated += r["updated"].as_u64().unwrap_or(0);
            unchanged += r["unchanged"].as_u64().unwrap_or(0);
        }
        Run {
            seconds,
            cpu_seconds: user + system,
            peak_rss_mib: kib / 1024.0,
            new,
            updated,
            unchanged,
            api_calls: self.api_calls().await - before,
        }
    }
}

fn api_client(base: &str, ca: &Path) -> Client {
    let http = mdep_auth::http_client(Some(ca)).expect("http");
    let broker = TokenBroker::new(
        BrokerOptions::new(
            Cloud::Global,
            base,
            APP,
            ClientCredential::Secret(Secret::new(SECRET)),
            MDE,
            TokenVersion::V2,
        ),
        http.clone(),
    );
    let mut o = ClientOptions::new(base);
    o.limits = Some(Limits {
        per_minute: 1_000_000,
        per_hour: 100_000_000,
        ..Limits::default()
    });
    Client::new(http, broker, o)
}

fn main() {
    let n = env_num("BENCH_TENANTS", 1_000);
    let alerts = env_num("BENCH_ALERTS", 1_000);
    let small = env_num("BENCH_SMALL_TENANTS", 100).min(n);
    let bin = mdep_bin();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        // BENCH_DIR=/dev/shm keeps the databases (about 2 GB at full size) off the disk.
        let tmp = match std::env::var_os("BENCH_DIR") {
            Some(d) => tempfile::tempdir_in(d),
            None => tempfile::tempdir(),
        }
        .expect("tmp");
        let dir = tmp.path().to_path_buf();
        let scenario_file = dir.join("scenario.toml");
        std::fs::write(&scenario_file, scenario(n, alerts)).expect("scenario");
        let running = serve(ServeOptions {
            listen: "127.0.0.1:0".parse().expect("addr"),
            scenario: Some(scenario_file),
            state_dir: dir.join("state"),
            ..Default::default()
        })
        .await
        .expect("serve");
        let base = running.base_url.clone();
        let ca = running.ca_file.clone().expect("ca");
        let config = dir.join("config.toml");
        std::fs::write(&config, config_toml(&base, &ca, n, small)).expect("config");
        let b = Bench {
            bin,
            dir: dir.clone(),
            config,
            base: base.clone(),
            http: mdep_auth::http_client(Some(&ca)).expect("http"),
        };

        // The emulator makes a tenant's data on its first call: not part of any figure.
        let start = Instant::now();
        let warm = tokio::process::Command::new(&b.bin)
            .args([
                "api",
                "GET",
                "/api/alerts?$top=1",
                "--all-tenants",
                "-o",
                "jsonl",
            ])
            .env("MDEP_CONFIG", &b.config)
            .env("MDEP_CLIENT_SECRET", SECRET)
            .env("HOME", dir.join("home"))
            .env("XDG_CACHE_HOME", dir.join("home/cache"))
            .output()
            .await
            .expect("warm");
        assert!(
            warm.status.success(),
            "{}",
            String::from_utf8_lossy(&warm.stderr)
        );
        eprintln!(
            "emulator data made for {n} tenants × {alerts} alerts in {:.1} s",
            start.elapsed().as_secs_f64()
        );

        let small_db = format!("sqlite:{}", dir.join("small.db").display());
        let s = b.sync(&small_db, &["--tag", "small"]).await;
        eprintln!(
            "full sync, {small} tenants: {:.1} s, {} rows, peak RSS {:.1} MiB",
            s.seconds, s.new, s.peak_rss_mib
        );

        let db = format!("sqlite:{}", dir.join("all.db").display());
        let full = b.sync(&db, &["--all-tenants"]).await;
        assert_eq!(full.new as usize, n * alerts, "every alert synced");
        eprintln!(
            "full sync, {n} tenants: {:.1} s ({:.1} s CPU), {} rows, peak RSS {:.1} MiB, {} API calls",
            full.seconds, full.cpu_seconds, full.new, full.peak_rss_mib, full.api_calls
        );

        let idle = b.sync(&db, &["--all-tenants"]).await;
        eprintln!(
            "incremental, nothing changed: {:.1} s ({:.1} s CPU), {} API calls, {} rows read again",
            idle.seconds, idle.cpu_seconds, idle.api_calls, idle.unchanged
        );

        // 1% of the alerts updated through the API.
        let per_tenant = (alerts / 100).max(1);
        let conn = rusqlite::Connection::open(dir.join("all.db")).expect("db");
        let mut picks: Vec<(String, String)> = Vec::new();
        {
            let mut st = conn
                .prepare("SELECT id FROM alerts WHERE tenant = ?1 ORDER BY id LIMIT ?2")
                .expect("prepare");
            for i in 0..n {
                let t = tenant_id(i);
                let ids = st
                    .query_map(rusqlite::params![t, per_tenant as i64], |r| {
                        r.get::<_, String>(0)
                    })
                    .expect("query");
                for id in ids {
                    picks.push((t.clone(), id.expect("id")));
                }
            }
        }
        let client = api_client(&base, &ca);
        let start = Instant::now();
        use futures_util::StreamExt;
        let changed = futures_util::stream::iter(picks.iter().cloned())
            .map(|(t, id)| {
                let c = client.clone();
                async move {
                    let tenant = Tenant {
                        name: t.clone(),
                        id: t,
                    };
                    let u = AlertUpdate {
                        status: Some("InProgress".into()),
                        comment: Some("bench: 1% changed".into()),
                        ..AlertUpdate::default()
                    };
                    c.update_alert(&tenant, &id, &u).await.is_ok()
                }
            })
            .buffer_unordered(16)
            .filter(|ok| std::future::ready(*ok))
            .count()
            .await;
        eprintln!(
            "{changed} alerts updated in {:.1} s",
            start.elapsed().as_secs_f64()
        );

        let inc = b.sync(&db, &["--all-tenants"]).await;
        assert_eq!(
            inc.updated as usize, changed,
            "the incremental run found every update"
        );
        eprintln!(
            "incremental after 1% changed: {:.1} s ({:.1} s CPU), {} API calls, {} updated, peak RSS {:.1} MiB",
            inc.seconds, inc.cpu_seconds, inc.api_calls, inc.updated, inc.peak_rss_mib
        );

        let rows_per_second = full.new as f64 / full.seconds;
        println!("sync_tenants={n}");
        println!("sync_alerts_per_tenant={alerts}");
        println!("sync_rows={}", full.new);
        println!("sync_full_seconds={:.2}", full.seconds);
        println!("sync_full_cpu_seconds={:.2}", full.cpu_seconds);
        println!("sync_rows_per_second={rows_per_second:.0}");
        println!("sync_peak_rss_mib={:.1}", full.peak_rss_mib);
        println!("sync_peak_rss_mib_{small}_tenants={:.1}", s.peak_rss_mib);
        println!("sync_full_api_calls={}", full.api_calls);
        println!("sync_incremental_idle_seconds={:.2}", idle.seconds);
        println!("sync_incremental_idle_cpu_seconds={:.2}", idle.cpu_seconds);
        println!("sync_incremental_idle_api_calls={}", idle.api_calls);
        println!("sync_changed_alerts={changed}");
        println!("sync_incremental_seconds={:.2}", inc.seconds);
        println!("sync_incremental_cpu_seconds={:.2}", inc.cpu_seconds);
        println!("sync_incremental_api_calls={}", inc.api_calls);
        println!("sync_incremental_updated={}", inc.updated);
        println!("sync_incremental_peak_rss_mib={:.1}", inc.peak_rss_mib);
        running.shutdown().await;
    });
}

//! MDE API throughput: `GET /api/alerts?$top=100` with a valid token against the release
//! `mdep emulator serve` pinned to one core (`taskset -c 0`), the load generated from
//! this process, which should run on the other core:
//!
//! ```text
//! cargo build --release -p mdep-cli
//! taskset -c 1 cargo bench -p mdep-emulator --bench api_alerts
//! ```
//!
//! Every request carries the token, so each one goes through the resource-server checks
//! (signature checked once per token and cached, expiry, issuer, tenant and consent on
//! every call) and the quota counters; the scenario raises the quotas so none answers 429.
//! Environment: `MDEP_BIN` (default `target/release/mdep`), `BENCH_SECONDS` (default 10),
//! `BENCH_CONNECTIONS` (default 16). All traffic goes to 127.0.0.1.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const SCENARIO: &str = r#"
[emulator]
admin_key = "bench-admin-key-0123456789"
mde_calls_per_minute = 1000000
mde_calls_per_hour = 100000000
[[tenants]]
id = "11111111-1111-1111-1111-111111111111"
name = "Fabrikam"
domain = "fabrikam.onmicrosoft.com"
admin = { user = "admin@fabrikam.onmicrosoft.com", password = "p" }
[[tenants]]
id = "22222222-2222-2222-2222-222222222222"
name = "Contoso"
domain = "contoso.onmicrosoft.com"
admin = { user = "admin@contoso.onmicrosoft.com", password = "p" }
devices = 50
alerts = 500
seed = 3
[[apps]]
client_id = "44444444-4444-4444-4444-444444444444"
name = "Bench"
home_tenant = "11111111-1111-1111-1111-111111111111"
permissions = ["Alert.Read.All"]
secrets = [{ value = "abc8Q~0123456789abcdefghijklmnopqrstuvw" }]
[[consents]]
tenant = "22222222-2222-2222-2222-222222222222"
app = "44444444-4444-4444-4444-444444444444"
"#;

fn env_num(name: &str, default: u64, max: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
        .clamp(1, max)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("run with: taskset -c 1 cargo bench -p mdep-emulator --bench api_alerts");
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let bin = std::env::var_os("MDEP_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/release/mdep"));
    if !bin.exists() {
        eprintln!(
            "{} is missing: run `cargo build --release -p mdep-cli` first",
            bin.display()
        );
        std::process::exit(1);
    }
    let dir = tempfile::tempdir().expect("tmp");
    let scenario = dir.path().join("scenario.toml");
    std::fs::write(&scenario, SCENARIO).expect("write");
    let state = dir.path().join("state");
    let mut server = Command::new("taskset")
        .args(["-c", "0"])
        .arg(&bin)
        .args([
            "emulator",
            "serve",
            "--tls",
            "off",
            "--listen",
            "127.0.0.1:0",
            "--scenario",
        ])
        .arg(&scenario)
        .arg("--state-dir")
        .arg(&state)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the emulator (is taskset installed?)");
    let ready = state.join("ready.json");
    let deadline = Instant::now() + Duration::from_secs(30);
    let base = loop {
        if let Some(b) = std::fs::read_to_string(&ready)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["base_url"].as_str().map(str::to_owned))
        {
            break b;
        }
        assert!(Instant::now() < deadline, "the emulator did not start");
        std::thread::sleep(Duration::from_millis(50));
    };
    let seconds = env_num("BENCH_SECONDS", 10, 300);
    let connections = env_num("BENCH_CONNECTIONS", 16, 256) as usize;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let result = rt.block_on(async move {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(connections)
            .build()
            .expect("client");
        let tok: serde_json::Value = http
            .post(format!(
                "{base}/22222222-2222-2222-2222-222222222222/oauth2/v2.0/token"
            ))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "44444444-4444-4444-4444-444444444444"),
                ("client_secret", "abc8Q~0123456789abcdefghijklmnopqrstuvw"),
                ("scope", "https://api.securitycenter.microsoft.com/.default"),
            ])
            .send()
            .await
            .expect("token")
            .json()
            .await
            .expect("json");
        let token = Arc::new(
            tok["access_token"]
                .as_str()
                .expect("access_token")
                .to_owned(),
        );
        let url = Arc::new(format!("{base}/api/alerts?$top=100"));
        // Warm-up: the tenant's data is made on its first call.
        let first = http
            .get(url.as_str())
            .bearer_auth(token.as_str())
            .send()
            .await
            .expect("get");
        assert_eq!(first.status(), 200, "the warm-up call failed");
        let n = first.json::<serde_json::Value>().await.expect("json")["value"]
            .as_array()
            .map(Vec::len);
        assert_eq!(n, Some(100), "a page of 100 alerts");
        let stop = Arc::new(AtomicBool::new(false));
        let ok = Arc::new(AtomicU64::new(0));
        let errors = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..connections {
            let (http, url, token, stop, ok, errors) = (
                http.clone(),
                url.clone(),
                token.clone(),
                stop.clone(),
                ok.clone(),
                errors.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::with_capacity(100_000);
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    match http
                        .get(url.as_str())
                        .bearer_auth(token.as_str())
                        .send()
                        .await
                    {
                        Ok(r) if r.status() == 200 => match r.bytes().await {
                            Ok(_) => {
                                ok.fetch_add(1, Ordering::Relaxed);
                                lat.push(t.elapsed());
                            }
                            Err(_) => {
                                errors.fetch_add(1, Ordering::Relaxed);
                            }
                        },
                        _ => {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                lat
            }));
        }
        let start = Instant::now();
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        stop.store(true, Ordering::Relaxed);
        let elapsed = start.elapsed();
        let mut all: Vec<Duration> = Vec::new();
        for t in tasks {
            all.extend(t.await.expect("task"));
        }
        all.sort();
        let pct = |p: f64| {
            all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
                .copied()
                .unwrap_or_default()
        };
        (
            ok.load(Ordering::Relaxed) as f64 / elapsed.as_secs_f64(),
            pct(0.5),
            pct(0.99),
            errors.load(Ordering::Relaxed),
        )
    });
    let _ = server.kill();
    let _ = server.wait();
    let (rps, p50, p99, errors) = result;
    println!(
        "GET /api/alerts?$top=100, server on one core, {connections} connections, {seconds} s"
    );
    println!("requests/s   {rps:>10.0}   (target >= 10,000)");
    println!("p50          {:>10.2} ms", p50.as_secs_f64() * 1000.0);
    println!("p99          {:>10.2} ms", p99.as_secs_f64() * 1000.0);
    println!("errors       {errors:>10}");
    // For scripts/bench.
    println!("api_alerts_requests_per_second={rps:.1}");
    println!("api_alerts_p99_ms={:.3}", p99.as_secs_f64() * 1000.0);
    println!("api_alerts_errors={errors}");
}

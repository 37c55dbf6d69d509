//! Load and soak: `mdep emulator serve` (file-backed, as a user runs it) under a bounded
//! loopback load of mixed tenants — client-credential token requests and MDE API reads
//! with those tokens — for a fixed time. Each tenth of the run reports throughput, p50
//! and p99 latency, errors and the server's resident memory; the run fails on any error
//! (the quotas are set above the load, so no answer may be a 429 either) or on memory
//! that keeps growing.
//!
//! The test command runs the short version (`MDEP_SOAK_SECONDS`, default 12 s). The long
//! one, recorded in docs/benchmarks.md:
//!
//! ```sh
//! MDEP_SOAK_SECONDS=600 cargo test --release -p mdep-cli --test soak -- --nocapture
//! ```

mod common;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PARTNER: &str = "11111111-1111-1111-1111-111111111111";
const APP: &str = "44444444-4444-4444-4444-444444444444";
const SECRET: &str = "soak8Q~0123456789abcdefghijklmnopqrstuvw";
const TENANTS: usize = 20;
const WORKERS: usize = 16;

fn tenant_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{:012}", i + 900)
}

fn scenario() -> String {
    let mut s = format!(
        "[emulator]\nadmin_key = \"soak-admin-key-0123456789abcdef\"\n\
         mde_calls_per_minute = 1000000\nmde_calls_per_hour = 100000000\n\n\
         [[tenants]]\nid = \"{PARTNER}\"\nname = \"Fabrikam\"\ndomain = \"fabrikam.onmicrosoft.com\"\n\
         admin = {{ user = \"admin@fabrikam.onmicrosoft.com\", password = \"p\" }}\n"
    );
    for i in 0..TENANTS {
        s.push_str(&format!(
            "\n[[tenants]]\nid = \"{}\"\nname = \"Customer{i}\"\ndomain = \"soak{i}.onmicrosoft.com\"\n\
             admin = {{ user = \"admin@soak{i}.onmicrosoft.com\", password = \"p\" }}\ndevices = 20\nalerts = 200\nseed = {i}\n",
            tenant_id(i)
        ));
    }
    s.push_str(&format!(
        "\n[[apps]]\nclient_id = \"{APP}\"\nname = \"Fabrikam SOC\"\nhome_tenant = \"{PARTNER}\"\n\
         permissions = [\"Alert.Read.All\", \"Machine.Read.All\"]\nsecrets = [{{ value = \"{SECRET}\" }}]\n"
    ));
    for i in 0..TENANTS {
        s.push_str(&format!(
            "\n[[consents]]\ntenant = \"{}\"\napp = \"{APP}\"\n",
            tenant_id(i)
        ));
    }
    s
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

#[derive(Default)]
struct Window {
    latencies_us: Vec<u32>,
    tokens: u64,
    api: u64,
    errors: u64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_tenants_under_load_make_no_errors_and_memory_stays_flat() {
    let seconds: u64 = std::env::var("MDEP_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12)
        .max(5);
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    std::fs::write(dir.join("scenario.toml"), scenario()).expect("scenario");
    let state = dir.join("state");
    let server = common::start_logged(
        &state,
        &[
            "--scenario",
            dir.join("scenario.toml").to_str().expect("utf8"),
            "--db",
            dir.join("emulator.db").to_str().expect("utf8"),
        ],
        "warn",
        &dir.join("emulator.out"),
        &dir.join("emulator.err"),
    );
    let pid = server.child.id();
    let ready = &server.ready;
    let base = ready["base_url"].as_str().expect("base").to_owned();
    let http = mdep_auth::http_client(Some(&state.join("ca.pem"))).expect("http");

    // Warm up: every tenant's Defender data is made on its first call.
    let mut tokens = Vec::new();
    for i in 0..TENANTS {
        let t = token(&http, &base, &tenant_id(i)).await.expect("token");
        let r = http
            .get(format!("{base}/api/alerts?$top=1"))
            .bearer_auth(&t)
            .send()
            .await
            .expect("warm");
        assert_eq!(r.status(), 200);
        tokens.push(t);
    }
    let tokens = Arc::new(Mutex::new(tokens));
    let windows: Arc<Vec<Mutex<Window>>> =
        Arc::new((0..10).map(|_| Mutex::new(Window::default())).collect());
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let total = Duration::from_secs(seconds);
    let seq = Arc::new(AtomicU64::new(0));

    let mut tasks = Vec::new();
    for w in 0..WORKERS {
        let (http, base, tokens, windows, failures, stop, seq) = (
            http.clone(),
            base.clone(),
            tokens.clone(),
            windows.clone(),
            failures.clone(),
            stop.clone(),
            seq.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let n = seq.fetch_add(1, Ordering::Relaxed) as usize;
                let tenant = (n * 7 + w) % TENANTS;
                let t0 = Instant::now();
                // One call in ten takes a new token; the rest read alerts or devices.
                let (is_token, outcome) = if n.is_multiple_of(10) {
                    let r = token(&http, &base, &tenant_id(tenant)).await;
                    if let Ok(t) = &r {
                        tokens.lock().expect("lock")[tenant] = t.clone();
                    }
                    (true, r.map(|_| ()))
                } else {
                    let bearer = tokens.lock().expect("lock")[tenant].clone();
                    let path = if n.is_multiple_of(3) {
                        "/api/machines?$top=20"
                    } else {
                        "/api/alerts?$top=50&$filter=severity eq 'High'"
                    };
                    (false, get(&http, &base, path, &bearer).await)
                };
                let us = t0.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
                let slot =
                    ((started.elapsed().as_secs_f64() / total.as_secs_f64()) * 10.0) as usize;
                let mut win = windows[slot.min(9)].lock().expect("lock");
                win.latencies_us.push(us);
                match outcome {
                    Ok(()) if is_token => win.tokens += 1,
                    Ok(()) => win.api += 1,
                    Err(e) => {
                        win.errors += 1;
                        let mut f = failures.lock().expect("lock");
                        if f.len() < 5 {
                            f.push(e);
                        }
                    }
                }
            }
        }));
    }

    let mut rss = Vec::new();
    for tenth in 0..10 {
        let until = total.mul_f64(f64::from(tenth + 1) / 10.0);
        tokio::time::sleep(until.saturating_sub(started.elapsed())).await;
        rss.push(rss_kib(pid));
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.expect("worker");
    }

    println!(
        "soak: {seconds} s, {TENANTS} tenants, {WORKERS} concurrent clients, emulator pid {pid}"
    );
    println!(
        "{:>6} {:>9} {:>8} {:>8} {:>9} {:>9} {:>7} {:>9}",
        "tenth", "req/s", "tokens", "api", "p50 ms", "p99 ms", "errors", "RSS MiB"
    );
    let (mut all, mut errors) = (Vec::new(), 0u64);
    let tenth_secs = total.as_secs_f64() / 10.0;
    for (i, w) in windows.iter().enumerate() {
        let mut w = w.lock().expect("lock");
        w.latencies_us.sort_unstable();
        println!(
            "{:>6} {:>9.0} {:>8} {:>8} {:>9.2} {:>9.2} {:>7} {:>9.1}",
            i + 1,
            w.latencies_us.len() as f64 / tenth_secs,
            w.tokens,
            w.api,
            percentile(&w.latencies_us, 0.5),
            percentile(&w.latencies_us, 0.99),
            w.errors,
            rss[i] as f64 / 1024.0
        );
        errors += w.errors;
        all.extend_from_slice(&w.latencies_us);
    }
    all.sort_unstable();
    println!(
        "total: {} requests, {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, {errors} errors, RSS {:.1} → {:.1} MiB",
        all.len(),
        all.len() as f64 / total.as_secs_f64(),
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        rss[1] as f64 / 1024.0,
        rss[9] as f64 / 1024.0
    );
    assert_eq!(
        errors,
        0,
        "no errors (the quotas are above the load): {:?}",
        failures.lock().expect("lock")
    );
    assert!(all.len() > 1000, "the load ran: {} requests", all.len());
    // Flat: after the first tenth (allocator and caches warm), memory at the end stays
    // within 25% (and at least 16 MiB of slack for a short run) of where it was.
    let (early, late) = (rss[1], rss[9]);
    assert!(early > 0 && late > 0, "RSS readable");
    assert!(
        late <= early + (early / 4).max(16 * 1024),
        "memory grew from {early} KiB to {late} KiB: {rss:?}"
    );
}

async fn token(http: &reqwest::Client, base: &str, tenant: &str) -> Result<String, String> {
    let r = http
        .post(format!("{base}/{tenant}/oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", APP),
            ("client_secret", SECRET),
            ("scope", "https://api.securitycenter.microsoft.com/.default"),
        ])
        .send()
        .await
        .map_err(|e| format!("token: {e}"))?;
    let status = r.status();
    let body: Value = r.json().await.map_err(|e| format!("token body: {e}"))?;
    if status != 200 {
        return Err(format!("token: {status} {body}"));
    }
    body["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "token: no access_token".to_owned())
}

async fn get(http: &reqwest::Client, base: &str, path: &str, bearer: &str) -> Result<(), String> {
    let r = http
        .get(format!("{base}{path}"))
        .bearer_auth(bearer)
        .send()
        .await
        .map_err(|e| format!("{path}: {e}"))?;
    let status = r.status();
    let body = r.bytes().await.map_err(|e| format!("{path} body: {e}"))?;
    if status != 200 {
        return Err(format!(
            "{path}: {status} {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        ));
    }
    let v: Value = serde_json::from_slice(&body).map_err(|e| format!("{path} json: {e}"))?;
    if !v["value"].is_array() {
        return Err(format!("{path}: no value array"));
    }
    Ok(())
}

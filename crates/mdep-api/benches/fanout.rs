//! All alerts of many tenants, three ways, in one run against one in-process emulator
//! over HTTPS (run: `cargo bench -p mdep-api --bench fanout`; `BENCH_TENANTS` and
//! `BENCH_ALERTS` change the size, 200 × 2,000 by default):
//!
//! 1. `mdep-api`: `fan_out` over the tenants, 32 at a time, each a paging stream of typed
//!    alerts, with the limiter on (its limits raised like the emulator's quotas);
//! 2. a minimal raw-HTTP fetcher of the same pages: reqwest, a token per tenant, GET and
//!    follow `@odata.nextLink`, as many tenants at a time, each on its own task like
//!    mdep-api's, bodies parsed as JSON values;
//! 3. the way Microsoft's docs suggest: a sequential Python script with msal + requests
//!    (`interop/.venv`, skipped when missing).
//!
//! `BENCH_LATENCY_MS` adds that much latency to every alerts call (the emulator's latency
//! fault), as a service across a WAN has. The emulator and the clients run on Tokio
//! runtimes of their own (threads named `emulator` and `client`), so each side's CPU
//! time in a run is reported apart, and with it the least wall time the client alone
//! could reach on these cores. Then peak memory: this program runs itself as a child
//! that reads one tenant of 2,000 and one of 20,000 alerts in 1,000-item pages and
//! reports its `VmHWM`, which must not grow with the alerts.

use futures_util::{StreamExt, TryStreamExt, stream};
use mdep_api::{Client, ClientOptions, Limits, Query, Tenant};
use mdep_auth::config::TokenVersion;
use mdep_auth::{BrokerOptions, ClientCredential, Secret, TokenBroker};
use mdep_emulator::server::{ServeOptions, serve};
use mdep_model::Cloud;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PARTNER: &str = "11111111-1111-1111-1111-111111111111";
const APP: &str = "44444444-4444-4444-4444-444444444444";
const SECRET: &str = "abc8Q~0123456789abcdefghijklmnopqrstuvw";
const MDE: &str = "https://api.securitycenter.microsoft.com";
/// Tenants fetched at a time by mdep-api and the raw fetcher (`BENCH_CONCURRENCY`; the
/// CLI's default, `mdep_api::fanout::DEFAULT_CONCURRENCY`, when unset).
fn concurrency() -> usize {
    env_num("BENCH_CONCURRENCY", mdep_api::fanout::DEFAULT_CONCURRENCY).max(1)
}

fn tenant_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `n` customers with `alerts` each, then two for the memory check (2,000 and 20,000).
fn scenario(n: usize, alerts: usize) -> String {
    let mut s = format!(
        "[emulator]\nadmin_key = \"bench-admin-key-0123456789\"\nmde_calls_per_minute = 1000000\nmde_calls_per_hour = 100000000\n\n\
         [[tenants]]\nid = \"{PARTNER}\"\nname = \"Fabrikam\"\ndomain = \"fabrikam.onmicrosoft.com\"\nadmin = {{ user = \"admin@fabrikam.onmicrosoft.com\", password = \"p\" }}\n"
    );
    let sizes = (0..n).map(|_| alerts).chain([2_000, 20_000]);
    for (i, a) in sizes.enumerate() {
        s.push_str(&format!(
            "\n[[tenants]]\nid = \"{}\"\nname = \"Customer {i}\"\ndomain = \"customer{i}.onmicrosoft.com\"\nadmin = {{ user = \"admin@customer{i}.onmicrosoft.com\", password = \"p\" }}\ndevices = {}\nalerts = {a}\nseed = {i}\n",
            tenant_id(i),
            (a / 10).max(1)
        ));
    }
    s.push_str(&format!(
        "\n[[apps]]\nclient_id = \"{APP}\"\nname = \"Bench\"\nhome_tenant = \"{PARTNER}\"\npermissions = [\"Alert.Read.All\"]\nsecrets = [{{ value = \"{SECRET}\" }}]\n"
    ));
    for i in 0..n + 2 {
        s.push_str(&format!(
            "\n[[consents]]\ntenant = \"{}\"\napp = \"{APP}\"\n",
            tenant_id(i)
        ));
    }
    s
}

fn broker(base: &str, http: &reqwest::Client) -> Arc<TokenBroker> {
    TokenBroker::new(
        BrokerOptions::new(
            Cloud::Global,
            base,
            APP,
            ClientCredential::Secret(Secret::new(SECRET)),
            MDE,
            TokenVersion::V2,
        ),
        http.clone(),
    )
}

fn client(base: &str, ca: &Path, page_size: u64) -> Client {
    let http = mdep_auth::http_client(Some(ca)).expect("http");
    let mut o = ClientOptions::new(base);
    o.page_size = page_size;
    o.limits = Some(Limits {
        per_minute: 1_000_000,
        per_hour: 100_000_000,
        ..Limits::default()
    });
    Client::new(http.clone(), broker(base, &http), o)
}

fn tenants(range: std::ops::Range<usize>) -> Vec<Tenant> {
    range
        .map(|i| Tenant {
            name: format!("Customer {i}"),
            id: tenant_id(i),
        })
        .collect()
}

async fn with_mdep_api(base: &str, ca: &Path, ts: &[Tenant]) -> usize {
    let c = client(base, ca, 10_000);
    let results = mdep_api::fan_out(ts, concurrency(), |t| {
        let c = c.clone();
        async move {
            c.alerts(&t, &Query::new())
                .try_fold(0usize, |n, _| async move { Ok(n + 1) })
                .await
        }
    })
    .await;
    results.into_iter().map(|r| r.result.expect("tenant")).sum()
}

async fn with_raw_http(base: &str, ca: &Path, ts: &[Tenant]) -> usize {
    let http = mdep_auth::http_client(Some(ca)).expect("http");
    let b = broker(base, &http);
    stream::iter(ts.iter().cloned())
        .map(|t| {
            let (http, b, base) = (http.clone(), b.clone(), base.to_owned());
            // Each tenant on its own task, as mdep-api's fan-out does.
            tokio::spawn(async move {
                let token = b.token(&t.id, &t.name).await.expect("token");
                let mut url = Some(format!("{base}/api/alerts?$top=10000"));
                let mut n = 0;
                while let Some(u) = url.take() {
                    let body = http
                        .get(&u)
                        .bearer_auth(token.token.expose())
                        .send()
                        .await
                        .expect("send")
                        .bytes()
                        .await
                        .expect("body");
                    let v: Value = serde_json::from_slice(&body).expect("json");
                    n += v["value"].as_array().map_or(0, Vec::len);
                    url = v["@odata.nextLink"].as_str().map(str::to_owned);
                }
                n
            })
        })
        .buffer_unordered(concurrency())
        .fold(0, |a, n| async move { a + n.expect("tenant task") })
        .await
}

/// The sequential Python script (`bench/python/fetch_alerts.py`, msal + requests).
fn python_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/python/fetch_alerts.py")
}

/// The Python to run it with: `BENCH_PYTHON` (scripts/bench makes a venv with
/// `bench/python/requirements.txt`), else the interop suite's venv.
fn python_bin() -> PathBuf {
    std::env::var_os("BENCH_PYTHON").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../interop/.venv/bin/python"),
        PathBuf::from,
    )
}

fn with_python(base: &str, ca: &Path, ts: &[Tenant], dir: &Path) -> Option<(usize, Duration)> {
    let py = python_bin();
    if !py.exists() {
        eprintln!(
            "python: {} missing (scripts/bench or ./scripts/test creates it); skipped",
            py.display()
        );
        return None;
    }
    let script = python_script();
    let cfg = dir.join("fetch.json");
    let ids: Vec<&str> = ts.iter().map(|t| t.id.as_str()).collect();
    std::fs::write(
        &cfg,
        serde_json::json!({"base": base, "ca": ca, "client_id": APP, "secret": SECRET, "resource": MDE, "tenants": ids})
            .to_string(),
    )
    .ok()?;
    let start = Instant::now();
    let out = std::process::Command::new(py)
        .arg(&script)
        .arg(&cfg)
        .env_remove("REQUESTS_CA_BUNDLE")
        .env_remove("CURL_CA_BUNDLE")
        .output()
        .ok()?;
    let elapsed = start.elapsed();
    if !out.status.success() {
        eprintln!("python failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let n = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
    Some((n, elapsed))
}

/// CPU time so far of this process's threads whose name starts with `prefix`, from
/// `/proc/self/task/*/schedstat` (nanoseconds on a CPU). The emulator's runtime names
/// its threads `emulator`, the clients' runtime `client`, so each side's work is counted
/// apart though they share the process and the cores.
fn cpu_of_threads(prefix: &str) -> Duration {
    let mut ns = 0u64;
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    for t in tasks.flatten() {
        let name = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        if !name.starts_with(prefix) {
            continue;
        }
        if let Some(v) = std::fs::read_to_string(t.path().join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        {
            ns += v;
        }
    }
    Duration::from_nanos(ns)
}

/// Wall time and the CPU time each side spent while `f` ran.
struct Measured<T> {
    value: T,
    wall: Duration,
    client_cpu: Duration,
    emulator_cpu: Duration,
}

async fn measured<T>(f: impl std::future::Future<Output = T>) -> Measured<T> {
    let (c0, e0) = (cpu_of_threads("client"), cpu_of_threads("emulator"));
    let s = Instant::now();
    let value = f.await;
    let wall = s.elapsed();
    Measured {
        value,
        wall,
        client_cpu: cpu_of_threads("client").saturating_sub(c0),
        emulator_cpu: cpu_of_threads("emulator").saturating_sub(e0),
    }
}

fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// The child: one tenant in 1,000-item pages, then `count VmHWM`.
fn child() {
    let base = std::env::var("BENCH_BASE").expect("base");
    let ca = PathBuf::from(std::env::var("BENCH_CA").expect("ca"));
    let i: usize = env_num("BENCH_TENANT", 0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let n = rt.block_on(async {
        let c = client(&base, &ca, 1_000);
        let t = &tenants(i..i + 1)[0];
        c.alerts(t, &Query::new())
            .try_fold(0usize, |n, _| async move { Ok(n + 1) })
            .await
            .expect("alerts")
    });
    println!("{n} {}", vm_hwm_kb());
}

fn peak_of_child(base: &str, ca: &Path, tenant: usize) -> (usize, u64) {
    let out = std::process::Command::new(std::env::current_exe().expect("exe"))
        .env("BENCH_ROLE", "child")
        .env("BENCH_BASE", base)
        .env("BENCH_CA", ca)
        .env("BENCH_TENANT", tenant.to_string())
        .output()
        .expect("child");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut w = text.split_whitespace();
    let n = w.next().and_then(|x| x.parse().ok()).expect("count");
    let kb = w.next().and_then(|x| x.parse().ok()).expect("hwm");
    (n, kb)
}

fn main() {
    if std::env::var("BENCH_ROLE").as_deref() == Ok("child") {
        return child();
    }
    let n = env_num("BENCH_TENANTS", 200);
    let alerts = env_num("BENCH_ALERTS", 2_000);
    // The emulator and the clients on runtimes of their own (threads named `emulator`
    // and `client`), sharing the machine's cores, so each side's CPU time is known.
    let emulator_rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name("emulator")
        .enable_all()
        .build()
        .expect("runtime");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name("client")
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("scenario.toml");
    std::fs::write(&path, scenario(n, alerts)).expect("write");
    let running = emulator_rt
        .block_on(serve(ServeOptions {
            listen: "127.0.0.1:0".parse().expect("addr"),
            scenario: Some(path),
            state_dir: dir.path().join("state"),
            ..Default::default()
        }))
        .expect("serve");
    rt.block_on(async {
        let base = running.base_url.clone();
        let ca = running.ca_file.clone().expect("ca");
        let ts = tenants(0..n);

        // The emulator makes a tenant's data on its first call: not part of any figure.
        let start = Instant::now();
        let warm = with_raw_http(&base, &ca, &tenants(0..n + 2)).await;
        eprintln!("emulator data made: {warm} alerts in {:.1} s", start.elapsed().as_secs_f64());

        // A WAN's round trip, as the real service has: the emulator waits this long on
        // every alerts call.
        let latency = env_num("BENCH_LATENCY_MS", 0);
        if latency > 0 {
            let http = mdep_auth::http_client(Some(&ca)).expect("http");
            let r = http
                .post(format!("{base}/_emulator/faults"))
                .bearer_auth("bench-admin-key-0123456789")
                .json(&serde_json::json!({"path": "/api/alerts*", "latency_ms": latency}))
                .send()
                .await
                .expect("fault");
            assert!(r.status().is_success(), "latency fault: {}", r.status());
        }
        let best = |label: &str, d: Duration, best: &mut Option<Duration>| {
            eprintln!("{label}: {:.2} s", d.as_secs_f64());
            *best = Some(best.map_or(d, |b| b.min(d)));
        };
        let (mut lib, mut raw) = (None, None);
        let runs = env_num("BENCH_RUNS", 3).max(1);
        // CPU per tenant of each side in the best run of mdep-api.
        let mut cpu: Option<(Duration, Duration, Duration)> = None;
        for _ in 0..runs {
            let m = measured(with_mdep_api(&base, &ca, &ts)).await;
            assert_eq!(m.value, n * alerts);
            best("mdep-api", m.wall, &mut lib);
            if lib == Some(m.wall) {
                cpu = Some((m.wall, m.client_cpu, m.emulator_cpu));
            }
            println!("fanout_mdep_api_seconds={:.3}", m.wall.as_secs_f64());
            eprintln!(
                "  CPU: client {:.2} s, emulator {:.2} s",
                m.client_cpu.as_secs_f64(),
                m.emulator_cpu.as_secs_f64()
            );
            let m = measured(with_raw_http(&base, &ca, &ts)).await;
            assert_eq!(m.value, n * alerts);
            best("raw HTTP", m.wall, &mut raw);
            println!("fanout_raw_seconds={:.3}", m.wall.as_secs_f64());
            eprintln!(
                "  CPU: client {:.2} s, emulator {:.2} s",
                m.client_cpu.as_secs_f64(),
                m.emulator_cpu.as_secs_f64()
            );
        }
        let (lib, raw) = (lib.expect("ran"), raw.expect("ran"));
        let mut py: Option<(usize, Duration)> = None;
        for _ in 0..env_num("BENCH_PYTHON_RUNS", 1) {
            let r = tokio::task::block_in_place(|| with_python(&base, &ca, &ts, dir.path()));
            if let Some(r) = r {
                println!("fanout_python_seconds={:.3}", r.1.as_secs_f64());
                py = Some(match py {
                    Some(p) if p.1 <= r.1 => p,
                    _ => r,
                });
            }
        }
        let small = tokio::task::block_in_place(|| peak_of_child(&base, &ca, n));
        let large = tokio::task::block_in_place(|| peak_of_child(&base, &ca, n + 1));

        let c = concurrency();
        println!("| what ({n} tenants × {alerts} alerts, {latency} ms added per call) | wall time | ratio |");
        println!("|---|---|---|");
        println!("| mdep-api fan-out, {c} at a time (best of {runs}) | {:.2} s | 1.00 |", lib.as_secs_f64());
        println!(
            "| raw HTTP fetcher, {c} at a time (best of {runs}) | {:.2} s | mdep-api / raw = {:.2} |",
            raw.as_secs_f64(),
            lib.as_secs_f64() / raw.as_secs_f64()
        );
        match py {
            Some((count, d)) => {
                assert_eq!(count, n * alerts);
                println!(
                    "| Python msal + requests, sequential | {:.2} s | Python / mdep-api = {:.1} |",
                    d.as_secs_f64(),
                    d.as_secs_f64() / lib.as_secs_f64()
                );
            }
            None => println!("| Python msal + requests, sequential | skipped | |"),
        }
        let (_, client_cpu, emulator_cpu) = cpu.expect("ran");
        let per = |d: Duration| d.as_secs_f64() * 1000.0 / n as f64;
        println!();
        println!("| CPU in mdep-api's best run | total | per tenant |");
        println!("|---|---|---|");
        println!(
            "| mdep-api (client threads: fan-out, TLS, HTTP, decoding) | {:.2} s | {:.2} ms |",
            client_cpu.as_secs_f64(),
            per(client_cpu)
        );
        println!(
            "| emulator (its threads: tokens, serving pages, TLS) | {:.2} s | {:.2} ms |",
            emulator_cpu.as_secs_f64(),
            per(emulator_cpu)
        );
        println!("fanout_mdep_api_client_cpu_seconds={:.3}", client_cpu.as_secs_f64());
        println!("fanout_mdep_api_emulator_cpu_seconds={:.3}", emulator_cpu.as_secs_f64());
        if let Some((_, d)) = py {
            // What the client alone needs: with the service elsewhere, the wall time on
            // this machine's cores can fall to its CPU time over the cores, or to the
            // latency bound, whichever is larger.
            let cores = std::thread::available_parallelism().map_or(1, |c| c.get()) as f64;
            let waves = (n as f64 / c as f64).ceil();
            let latency_bound = waves * latency as f64 / 1000.0;
            let floor = (client_cpu.as_secs_f64() / cores).max(latency_bound);
            println!(
                "| Python / (mdep-api client CPU ÷ {cores} cores, or the latency bound {latency_bound:.2} s) | {:.1} | |",
                d.as_secs_f64() / floor
            );
            println!("fanout_python_vs_client_only={:.2}", d.as_secs_f64() / floor);
        }
        println!();
        println!("| one tenant, pages of 1,000 | alerts | peak RSS (VmHWM) |");
        println!("|---|---|---|");
        println!("| small | {} | {:.1} MiB |", small.0, small.1 as f64 / 1024.0);
        println!("| large | {} | {:.1} MiB |", large.0, large.1 as f64 / 1024.0);
        println!("fanout_peak_rss_small_mib={:.2}", small.1 as f64 / 1024.0);
        println!("fanout_peak_rss_large_mib={:.2}", large.1 as f64 / 1024.0);
    });
    emulator_rt.block_on(running.shutdown());
}

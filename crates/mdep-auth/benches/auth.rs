//! Benchmarks of the identity side (run: `taskset -c 0 cargo bench -p mdep-auth --bench auth`):
//!
//! 1. a cached token lookup (`TokenBroker::token` for a tenant whose token is cached), and
//! 2. token validations per second on one core, beside `openssl speed rsa2048` verify/s on
//!    the same core, since one RSA-2048 verification is the floor of a validation.
//!
//! The emulator runs in-process over plain HTTP on 127.0.0.1 and only serves the first
//! discovery and key-set requests; the loops touch no network.

mod common;

use mdep_auth::{Expectations, Validator};
use std::time::{Duration, Instant};

fn openssl_verify_per_second() -> Option<f64> {
    let out = std::process::Command::new("openssl")
        .args(["speed", "-seconds", "3", "rsa2048"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // "rsa 2048 bits 0.000512s 0.000015s   1953.1  66666.7": the last column is verify/s.
    let line = text.lines().find(|l| {
        l.trim_start().starts_with("rsa 2048 bits") || l.trim_start().starts_with("rsa  2048 bits")
    })?;
    line.split_whitespace().last()?.parse().ok()
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tmp");
        let running = common::emulator(dir.path()).await;
        let http = mdep_auth::http_client(None).expect("http");
        let broker = common::broker(&running, http.clone());
        let tenant = common::TENANT;
        let token = broker.token(tenant, "Contoso").await.expect("token");

        // 1. Cached lookups.
        let n = 2_000_000u32;
        let start = Instant::now();
        for _ in 0..n {
            let t = broker.token(tenant, "Contoso").await.expect("cached");
            std::hint::black_box(&t);
        }
        let per_lookup = start.elapsed() / n;
        assert_eq!(
            broker.requests_sent(),
            1,
            "every lookup was served from the cache"
        );

        // 2. Validations on this core.
        let validator = Validator::new(http, &running.base_url);
        let want = Expectations {
            tenant: Some(tenant.to_owned()),
            audiences: vec!["https://api.securitycenter.microsoft.com".into()],
            required_roles: vec!["Alert.Read.All".into()],
            skew: Duration::from_secs(300),
        };
        validator
            .validate(token.token.expose(), &want)
            .await
            .expect("valid");
        let window = Duration::from_secs(
            std::env::var("BENCH_SECONDS")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(5),
        );
        let start = Instant::now();
        let mut count = 0u64;
        while start.elapsed() < window {
            for _ in 0..100 {
                validator
                    .validate(token.token.expose(), &want)
                    .await
                    .expect("valid");
            }
            count += 100;
        }
        let per_sec = count as f64 / start.elapsed().as_secs_f64();
        running.shutdown().await;

        let openssl = openssl_verify_per_second();
        println!(
            "cached token lookup        {:>10.0} ns",
            per_lookup.as_nanos() as f64
        );
        println!("validations/s (1 core)     {per_sec:>10.0}");
        match openssl {
            Some(v) => {
                println!("openssl rsa2048 verify/s   {v:>10.0}");
                println!("ratio                      {:>9.1} %", 100.0 * per_sec / v);
            }
            None => println!("openssl speed unavailable: install openssl to compare"),
        }
        // For scripts/bench.
        println!("auth_cached_lookup_ns={:.1}", per_lookup.as_nanos() as f64);
        println!("auth_validations_per_second={per_sec:.1}");
        if let Some(v) = openssl {
            println!("auth_openssl_verify_per_second={v:.1}");
        }
    });
}

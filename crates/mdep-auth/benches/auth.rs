//! Benchmarks of the identity side (run: `taskset -c 0 cargo bench -p mdep-auth --bench auth`):
//!
//! 1. a cached token lookup (`TokenBroker::token` for a tenant whose token is cached), and
//! 2. token validations per second on one core, beside `openssl speed rsa2048` verify/s on
//!    the same core, since one RSA-2048 verification is the floor of a validation.
//!
//! The emulator runs in-process over plain HTTP on 127.0.0.1 and only serves the first
//! discovery and key-set requests; the loops touch no network.

use mdep_auth::config::TokenVersion;
use mdep_auth::{BrokerOptions, ClientCredential, Expectations, Secret, TokenBroker, Validator};
use mdep_emulator::server::{ServeOptions, TlsMode, serve};
use mdep_model::Cloud;
use std::time::{Duration, Instant};

const SCENARIO: &str = r#"
[emulator]
admin_key = "bench-admin-key-0123456789"
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
        let scenario = dir.path().join("scenario.toml");
        std::fs::write(&scenario, SCENARIO).expect("write");
        let running = serve(ServeOptions {
            listen: "127.0.0.1:0".parse().expect("addr"),
            scenario: Some(scenario),
            tls: TlsMode::Off,
            state_dir: dir.path().join("state"),
            ..Default::default()
        })
        .await
        .expect("emulator");
        let http = mdep_auth::http_client(None).expect("http");
        let broker = TokenBroker::new(
            BrokerOptions::new(
                Cloud::Global,
                &running.base_url,
                "44444444-4444-4444-4444-444444444444",
                ClientCredential::Secret(Secret::new("abc8Q~0123456789abcdefghijklmnopqrstuvw")),
                "https://api.securitycenter.microsoft.com",
                TokenVersion::V2,
            ),
            http.clone(),
        );
        let tenant = "22222222-2222-2222-2222-222222222222";
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

//! Criterion micro-benchmarks of the identity side's hot paths: a cached token lookup
//! (`TokenBroker::token` for a tenant whose token is cached) and a full token validation
//! (RS256 signature with the published key, issuer, audience, lifetime, tenant, role).
//!
//! The emulator runs in-process over plain HTTP on 127.0.0.1 and serves only the first
//! token, discovery and key-set requests; the measured loops touch no network.
//!
//! Run: `cargo bench -p mdep-auth --bench micro` (results kept under `target/criterion/`;
//! docs/benchmarks.md says how to compare against a saved baseline).

#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mdep_auth::config::TokenVersion;
use mdep_auth::{BrokerOptions, ClientCredential, Expectations, Secret, TokenBroker, Validator};
use mdep_emulator::server::{ServeOptions, TlsMode, serve};
use mdep_model::Cloud;
use std::hint::black_box;
use std::time::{Duration, Instant};

const SCENARIO: &str = r#"
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
const TENANT: &str = "22222222-2222-2222-2222-222222222222";

fn hot_paths(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tmp");
    let scenario = dir.path().join("scenario.toml");
    std::fs::write(&scenario, SCENARIO).expect("write");
    let running = rt
        .block_on(serve(ServeOptions {
            listen: "127.0.0.1:0".parse().expect("addr"),
            scenario: Some(scenario),
            tls: TlsMode::Off,
            state_dir: dir.path().join("state"),
            ..Default::default()
        }))
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
    let token = rt.block_on(broker.token(TENANT, "Contoso")).expect("token");
    let validator = Validator::new(http, &running.base_url);
    let want = Expectations {
        tenant: Some(TENANT.to_owned()),
        audiences: vec!["https://api.securitycenter.microsoft.com".into()],
        required_roles: vec!["Alert.Read.All".into()],
        skew: Duration::from_secs(300),
    };
    // The first validation fetches discovery and the key set; the loop never does.
    rt.block_on(validator.validate(token.token.expose(), &want))
        .expect("valid");

    let mut g = c.benchmark_group("token");
    g.throughput(Throughput::Elements(1));
    g.bench_function("cache_hit", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(broker.token(TENANT, "Contoso").await.expect("cached"));
                }
                start.elapsed()
            })
        })
    });
    g.finish();
    assert_eq!(broker.requests_sent(), 1, "every lookup was a cache hit");

    let mut g = c.benchmark_group("jwt");
    g.throughput(Throughput::Elements(1));
    g.bench_function("verify_rs256_validate", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(
                        validator
                            .validate(black_box(token.token.expose()), &want)
                            .await
                            .expect("valid"),
                    );
                }
                start.elapsed()
            })
        })
    });
    g.finish();
    assert_eq!(
        validator.key_set_fetches(),
        1,
        "the key set was fetched once"
    );
    rt.block_on(running.shutdown());
}

criterion_group!(benches, hot_paths);
criterion_main!(benches);

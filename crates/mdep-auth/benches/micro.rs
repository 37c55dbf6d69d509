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

mod common;

use common::TENANT;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mdep_auth::{Expectations, Validator};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn hot_paths(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tmp");
    let running = rt.block_on(common::emulator(dir.path()));
    let http = mdep_auth::http_client(None).expect("http");
    let broker = common::broker(&running, http.clone());
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

//! Criterion micro-benchmark of the emulator's hottest step: signing a client-credentials
//! token (RS256, one RSA-2048 PKCS#1 v1.5 signature with aws-lc-rs).
//!
//! Run: `cargo bench -p mdep-emulator --bench micro`. Criterion keeps each result under
//! `target/criterion/` and reports the change against the previous run; see
//! docs/benchmarks.md for `--save-baseline` and `--baseline`.

#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mdep_emulator::keys::{KeyStatus, SigningKey};
use std::hint::black_box;

fn jwt_sign(c: &mut Criterion) {
    let key = SigningKey::generate(KeyStatus::Active).expect("RSA-2048 key");
    // A client-credentials token's signing input (base64url header.payload) is about 1.1 kB.
    let input = vec![b'a'; 1100];
    let mut g = c.benchmark_group("jwt");
    g.throughput(Throughput::Elements(1));
    g.bench_function("sign_rs256", |b| {
        b.iter(|| black_box(key.sign_rs256(black_box(&input))))
    });
    g.finish();
}

criterion_group!(benches, jwt_sign);
criterion_main!(benches);

//! Criterion micro-benchmark of page decoding: one `GET /api/alerts?$top=100` answer
//! (100 alerts) into `Collection<Alert>`, what the paging stream does for every page.
//!
//! The page is made from Microsoft's `alerts_list.json` sample
//! (`tests/fixtures/samples/`, provenance in its README): its alert repeated 100 times
//! with distinct ids, plus an `@odata.nextLink`.
//!
//! Run: `cargo bench -p mdep-api --bench micro` (results kept under `target/criterion/`;
//! docs/benchmarks.md says how to compare against a saved baseline).

#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mdep_api::entity::{Alert, Collection};
use serde_json::Value;
use std::hint::black_box;

fn page_of_100() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/samples/alerts_list.json"
    );
    let sample: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("sample")).expect("json");
    let one = sample["value"][0].clone();
    let value: Vec<Value> = (0..100)
        .map(|i| {
            let mut a = one.clone();
            a["id"] = Value::String(format!("da637472900382838869_{i:010}"));
            a
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "@odata.context": sample["@odata.context"],
        "value": value,
        "@odata.nextLink": "https://api.securitycenter.microsoft.com/api/alerts?$top=100&$skip=100",
    }))
    .expect("page")
}

fn page_decode(c: &mut Criterion) {
    let page = page_of_100();
    let decoded: Collection<Alert> = serde_json::from_slice(&page).expect("decodes");
    assert_eq!(decoded.value.len(), 100);
    let mut g = c.benchmark_group("page_decode");
    g.throughput(Throughput::Bytes(page.len() as u64));
    g.bench_function("alerts_100", |b| {
        b.iter(|| {
            black_box(serde_json::from_slice::<Collection<Alert>>(black_box(
                &page,
            )))
        })
    });
    g.finish();
}

criterion_group!(benches, page_decode);
criterion_main!(benches);

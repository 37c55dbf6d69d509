//! Criterion micro-benchmark of the OData `$filter` parser, which runs on every list call
//! the emulator serves and every filter the CLI builds.
//!
//! Run: `cargo bench -p mdep-model --bench micro` (results kept under `target/criterion/`;
//! docs/benchmarks.md says how to compare against a saved baseline).

#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use mdep_model::odata::Filter;
use std::hint::black_box;

/// Filters as partners write them against `/api/alerts` and `/api/machines`
/// (the operators and functions of Microsoft's OData reference for these APIs).
const FILTERS: &[(&str, &str)] = &[
    ("simple", "status eq 'New'"),
    (
        "typical",
        "alertCreationTime ge 2026-01-01T00:00:00Z and (severity eq 'High' or severity eq 'Medium') and status ne 'Resolved'",
    ),
    (
        "any_in",
        "machineTags/any(tag: tag eq 'Tier0') and healthStatus in ('Active', 'Inactive') and startswith(computerDnsName, 'srv')",
    ),
];

fn odata_parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("odata_parse");
    for (name, text) in FILTERS {
        Filter::parse(text).expect("the benchmark's filters parse");
        g.bench_function(*name, |b| {
            b.iter(|| black_box(Filter::parse(black_box(text))))
        });
    }
    g.finish();
}

criterion_group!(benches, odata_parse);
criterion_main!(benches);

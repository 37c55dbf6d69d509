//! The token path in a loop, for a profiler: `STEP` (`sign`, `issue` or `router`) run
//! `N` times (default 2,000) against `examples/scenario.toml`'s partner app in Contoso.
//!
//! ```sh
//! cargo build --release -p mdep-emulator --example token_profile
//! STEP=router valgrind --tool=callgrind target/release/examples/token_profile
//! STEP=router perf record -g target/release/examples/token_profile
//! ```
//!
//! `sign` is one RS256 signature of a token-sized input; `issue` every check, the claims
//! and the signature, without HTTP; `router` the whole router (`app().oneshot`), every
//! layer the server runs, without a socket. Instruction counts of the three, side by
//! side, say what each layer costs outside the signature.

#![allow(missing_docs)]

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Request, header};
use mdep_emulator::entra::token::{TokenRequest, Version, issue};
use std::hint::black_box;
use tower::ServiceExt;

const TENANT: &str = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9";
const FORM: &str = "grant_type=client_credentials&client_id=d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f70\
    &client_secret=Fab8Q~example-secret-value-0123456789abc\
    &scope=https%3A%2F%2Fapi.securitycenter.microsoft.com%2F.default";

fn main() {
    let step = std::env::var("STEP").unwrap_or_else(|_| "router".into());
    let n: usize = std::env::var("N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let text = include_str!("../../../examples/scenario.toml");
    let scenario =
        mdep_emulator::scenario::Scenario::parse(text, std::path::Path::new("scenario.toml"))
            .expect("examples/scenario.toml parses");
    let emu = mdep_emulator::Emulator::open(None, scenario.open_options()).expect("emulator");
    scenario.apply(&emu).expect("scenario applies");
    let body = Bytes::from_static(FORM.as_bytes());
    let start = std::time::Instant::now();
    match step.as_str() {
        "sign" => {
            let key = emu.keys().active().cloned().expect("an active key");
            let input = vec![b'a'; 1100];
            for _ in 0..n {
                black_box(key.sign_rs256(black_box(&input)));
            }
        }
        "issue" => {
            let state = mdep_emulator::AppState {
                emu: emu.clone(),
                scheme: "http",
            };
            let mut headers = HeaderMap::new();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            );
            for _ in 0..n {
                let req = TokenRequest {
                    tenant: TENANT,
                    headers: &headers,
                    body: &body,
                    version: Version::V2,
                    origin: "http://127.0.0.1:8443",
                };
                black_box(issue(&state, req).expect("a token"));
            }
        }
        "router" => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let app = mdep_emulator::app(emu, "http");
            let path = format!("/{TENANT}/oauth2/v2.0/token");
            for _ in 0..n {
                let req = Request::post(path.as_str())
                    .header(header::HOST, "127.0.0.1:8443")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(body.clone()))
                    .expect("request");
                let resp = rt.block_on(app.clone().oneshot(req)).expect("answer");
                assert_eq!(resp.status(), 200);
                black_box(
                    rt.block_on(axum::body::to_bytes(resp.into_body(), 1 << 16))
                        .ok(),
                );
            }
        }
        other => {
            eprintln!("STEP must be sign, issue or router, not {other:?}");
            std::process::exit(2);
        }
    }
    let each = start.elapsed() / n as u32;
    println!("{step}: {n} in {:?}, {:?} each", start.elapsed(), each);
}

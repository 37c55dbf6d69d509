//! The token endpoint with an arbitrary form body (form decoding, every parameter rule,
//! secrets and assertions): an Entra error or a token, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
mod common;

fuzz_target!(|data: &[u8]| {
    let (v2, body) = match data.split_first() {
        Some((b, rest)) => (b & 1 == 1, rest),
        None => (true, data),
    };
    common::token(body, v2);
});

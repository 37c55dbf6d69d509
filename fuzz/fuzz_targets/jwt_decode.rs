//! Decoding a JWT without verifying it (`mdep token inspect`): never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(d) = mdep_auth::inspect::decode(text) {
            let _ = (d.roles(), d.tid(), d.time("exp"));
        }
    }
});

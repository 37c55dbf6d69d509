//! The partner configuration parser: a config or an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(l) = mdep_auth::config::Config::parse(text, std::path::Path::new("fuzz.toml")) {
            let _ = (l.config.authority(), l.config.api_base(), l.config.resource());
        }
    }
});

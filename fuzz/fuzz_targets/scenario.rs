//! The scenario parser: a scenario or an error with file, line and reason.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(e) = mdep_emulator::scenario::Scenario::parse(text, std::path::Path::new("/nonexistent/fuzz.toml")) {
            let _ = e.to_string();
        }
    }
});

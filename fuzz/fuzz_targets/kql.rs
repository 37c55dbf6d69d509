//! The advanced-hunting KQL subset parser: any input parses or fails cleanly.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = mdep_emulator::defender::hunting::kql::parse(text);
    }
});

//! Client-assertion parsing and checks, with the rest of the request well formed.
#![no_main]
use libfuzzer_sys::fuzz_target;
mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(assertion) = std::str::from_utf8(data) else { return };
    let mut body = String::from(
        "grant_type=client_credentials&client_id=44444444-4444-4444-4444-444444444444&scope=https%3A%2F%2Fapi.securitycenter.microsoft.com%2F.default&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=",
    );
    body.extend(form_encode(assertion));
    common::token(body.as_bytes(), true);
});

fn form_encode(s: &str) -> impl Iterator<Item = char> + '_ {
    s.bytes().flat_map(|b| {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
            vec![b as char]
        } else {
            format!("%{b:02X}").chars().collect()
        }
    })
}

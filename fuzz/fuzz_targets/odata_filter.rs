//! The OData `$filter` parser: any input parses or fails with an error, never a panic,
//! and what parses renders to text that parses to the same tree.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mdep_model::odata::Filter;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(f) = Filter::parse(text) {
        let rendered = f.to_string();
        let again = Filter::parse(&rendered).expect("a rendered filter parses");
        assert_eq!(again.to_string(), rendered, "rendering is stable");
    }
});

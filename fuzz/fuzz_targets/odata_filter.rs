//! The OData `$filter` parser: any input parses or fails with an error, never a panic,
//! and what parses renders to text that parses to the same tree (unless the rendering,
//! which adds separators, grows past the parser's length limit).
#![no_main]
use libfuzzer_sys::fuzz_target;
use mdep_model::odata::Filter;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(f) = Filter::parse(text) {
        let rendered = f.to_string();
        match Filter::parse(&rendered) {
            Ok(again) => assert_eq!(again.to_string(), rendered, "rendering is stable"),
            Err(_) if rendered.len() > mdep_model::odata::MAX_LEN => {}
            Err(e) => panic!("a rendered filter does not parse: {e:?}\n{rendered}"),
        }
    }
});

//! What the assessments' rows share: their time formats, and a generator per device.

use crate::defender::generate::Rng;
use serde_json::{Value, json};

/// `2020-12-30T14:17:26.123Z` as the exports write times: `2020-12-30 14:17:26`.
pub fn export_time(v: &Value) -> Value {
    v.as_str()
        .and_then(|s| s.get(..19))
        .map_or(Value::Null, |s| json!(s.replace('T', " ")))
}

/// `2021-01-11 09:47:58.854`: the same with milliseconds.
pub fn millis(v: &Value) -> Value {
    v.as_str()
        .and_then(|s| s.get(..23))
        .map_or(Value::Null, |s| json!(s.replace('T', " ")))
}

/// A generator for one device and one purpose: a stable function of the tenant's seed,
/// the device id and `salt`.
pub fn device_rng(seed: u64, machine_id: &str, salt: &str) -> Rng {
    let mut h = seed ^ 0x5bd1_e995;
    for b in machine_id.bytes().chain(salt.bytes()) {
        h = h.wrapping_mul(0x100_0000_01b3).wrapping_add(u64::from(b));
    }
    Rng::new(h)
}

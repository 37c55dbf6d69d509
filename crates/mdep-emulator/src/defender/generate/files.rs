//! File profiles for hashes seen in evidence.

use super::rng::{Rng, ts7};
use serde_json::{Value, json};
use time::OffsetDateTime;

/// A file profile for a hash seen in evidence (`samples/alerts_related_files.json`),
/// derived from the hashes of a piece of evidence so it is stable, and last observed
/// before the evidence was (its `evidenceCreationTime`).
pub fn file_profile(evidence: &Value) -> Value {
    let text = |k: &str| evidence[k].as_str().unwrap_or_default();
    let (sha1, sha256, name) = (text("sha1"), text("sha256"), text("fileName"));
    let anchor = OffsetDateTime::parse(
        text("evidenceCreationTime"),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap_or(super::rng::ANCHOR);
    let mut seed = 0u64;
    for b in sha1.bytes() {
        seed = seed.wrapping_mul(31).wrapping_add(u64::from(b));
    }
    let mut rng = Rng::new(seed);
    let signed =
        name.eq_ignore_ascii_case("rundll32.exe") || name.eq_ignore_ascii_case("svchost.exe");
    let first = rng.before(anchor, 86_400 * 100, 86_400 * 900);
    let last = rng.before(anchor, 0, 86_400 * 10);
    json!({
        "sha1": sha1,
        "sha256": sha256,
        "md5": rng.hex(32),
        "globalPrevalence": if signed { 1_000_000 + rng.below(9_000_000) } else { 1 + rng.below(40) },
        "globalFirstObserved": ts7(first),
        "globalLastObserved": ts7(last),
        "size": 4096 + rng.below(4_000_000),
        "fileType": null,
        "isPeFile": name.to_ascii_lowercase().ends_with(".exe") || name.to_ascii_lowercase().ends_with(".dll"),
        "filePublisher": if signed { json!("Microsoft Corporation") } else { Value::Null },
        "fileProductName": if signed { json!("Microsoft® Windows® Operating System") } else { Value::Null },
        "signer": if signed { json!("Microsoft Windows") } else { Value::Null },
        "issuer": if signed { json!("Microsoft Windows Production PCA 2011") } else { Value::Null },
        "signerHash": if signed { json!(rng.hex(40)) } else { Value::Null },
        "isValidCertificate": signed,
        "determinationType": if signed { "Clean" } else { "Malware" },
        "determinationValue": if signed { Value::Null } else { json!("Trojan:Win32/Wacatac") },
    })
}

//! What the MDE endpoints read from paths and bodies: file hashes, IP addresses, domain
//! names, and the host of an evidence URL; a bad value is MDE's 400 with its code
//! (`InvalidHashValue`, `InvalidIpAddress`, `InvalidDomainName`); and the lists of a batch
//! body (`MaximumBatchSizeExceeded`).

use crate::request::error::{MdeError, truncate};
use serde_json::{Map, Value};

/// Passes when `id` is hexadecimal of one of `lengths`; else `InvalidHashValue`, the
/// message ending with `rule` (what the method takes).
pub fn hash(id: &str, lengths: &[usize], rule: &str) -> Result<(), MdeError> {
    if lengths.contains(&id.len()) && id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(());
    }
    Err(MdeError::bad(
        "InvalidHashValue",
        format!("Hash value {} is invalid: {rule}", truncate(id)),
    ))
}

/// Passes when `ip` is an IPv4 or IPv6 address; else `InvalidIpAddress`.
pub fn ip(ip: &str) -> Result<(), MdeError> {
    ip.parse::<std::net::IpAddr>().map(|_| ()).map_err(|_| {
        MdeError::bad(
            "InvalidIpAddress",
            format!("IP address {} is invalid.", truncate(ip)),
        )
    })
}

/// The domain name `host` in lower case; else `InvalidDomainName`.
pub fn domain(host: &str) -> Result<String, MdeError> {
    let lower = host.to_ascii_lowercase();
    if crate::directory::valid_domain(&lower) {
        Ok(lower)
    } else {
        Err(MdeError::bad(
            "InvalidDomainName",
            format!("Domain name {} is invalid.", truncate(host)),
        ))
    }
}

/// The host of URL `u` (scheme, path and port dropped): what a domain matches.
pub fn url_host(u: &str) -> &str {
    let h = u.split("://").last().unwrap_or(u);
    h.split(['/', ':']).next().unwrap_or(h)
}

/// Whether evidence URL `u` is on domain `lower` (lower-case).
pub fn on_domain(u: &str, lower: &str) -> bool {
    url_host(u).eq_ignore_ascii_case(lower)
}

/// The ids of a batch body's array `key`, 1 to `max` of them: strings, and numbers too
/// when `numbers` (indicator ids are numbers in MDE's answers).
pub fn batch_ids(
    body: &Map<String, Value>,
    key: &str,
    max: usize,
    numbers: bool,
) -> Result<Vec<String>, MdeError> {
    let what = if numbers { "ids" } else { "strings" };
    crate::request::mde::batch(body, key, max, what, |x| match x {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if numbers => Some(n.to_string()),
        _ => None,
    })
}

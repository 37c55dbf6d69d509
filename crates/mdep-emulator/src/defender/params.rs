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

/// The array `key` of a batch body, 1 to `max` items; else MDE's 400
/// (`MaximumBatchSizeExceeded` for an empty or too long one).
pub fn batch<'a>(
    body: &'a Map<String, Value>,
    key: &str,
    max: usize,
) -> Result<&'a [Value], MdeError> {
    let list = match body.get(key) {
        Some(Value::Array(xs)) => xs,
        Some(_) => {
            return Err(MdeError::invalid_body(format!(
                "Request body is incorrect: '{key}' must be an array."
            )));
        }
        None => return Err(MdeError::missing(key)),
    };
    if list.is_empty() || list.len() > max {
        return Err(MdeError::bad(
            "MaximumBatchSizeExceeded",
            format!(
                "Maximum batch size exceeded. Received: {}, allowed: {max}.",
                list.len()
            ),
        ));
    }
    Ok(list)
}

/// The ids of a batch body's array `key` ([`batch`]): strings, and numbers too when
/// `numbers` (indicator ids are numbers in MDE's answers).
pub fn batch_ids(
    body: &Map<String, Value>,
    key: &str,
    max: usize,
    numbers: bool,
) -> Result<Vec<String>, MdeError> {
    batch(body, key, max)?
        .iter()
        .map(|x| match x {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) if numbers => Some(n.to_string()),
            _ => None,
        })
        .collect::<Option<_>>()
        .ok_or_else(|| {
            let what = if numbers { "ids" } else { "strings" };
            MdeError::invalid_body(format!(
                "Request body is incorrect: '{key}' must be {what}."
            ))
        })
}

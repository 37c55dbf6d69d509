//! URLs as the transport sends them: a path joined to the API base with its query
//! pairs percent-encoded (OData's punctuation left readable), a value encoded as one
//! path segment, and the origin a link must share with the base to get a token.

/// Percent-encodes every byte of `v` but ASCII letters, digits and `keep`.
fn percent_encode(v: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || keep.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-encodes a query value; OData's punctuation stays readable.
pub(crate) fn query_value(v: &str) -> String {
    percent_encode(v, b"-._~'(),:$")
}

/// Percent-encodes a value used as one path segment.
pub fn path_segment(s: &str) -> String {
    percent_encode(s, b"-._~")
}

/// `base + path` (or `path` alone when it is a full URL), with query pairs encoded.
pub(crate) fn join(base: &str, path: &str, pairs: &[(String, String)]) -> String {
    let mut u = if path.starts_with("https://") || path.starts_with("http://") {
        path.to_owned()
    } else {
        format!("{base}/{}", path.trim_start_matches('/'))
    };
    for (i, (k, v)) in pairs.iter().enumerate() {
        let sep = if i == 0 && !u.contains('?') { '?' } else { '&' };
        u.push(sep);
        u.push_str(&query_value(k));
        u.push('=');
        u.push_str(&query_value(v));
    }
    u
}

/// `scheme://host[:port]` of a URL.
fn origin(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let end = rest.find('/').unwrap_or(rest.len());
    Some(&url[..url.len() - rest.len() + end])
}

/// Whether `link` is on the same scheme, host and port as `base`.
pub(crate) fn same_origin(link: &str, base: &str) -> bool {
    origin(link).is_some_and(|o| origin(base).is_some_and(|b| b.eq_ignore_ascii_case(o)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_encoded_readably() {
        assert_eq!(
            query_value("severity eq 'High' and x/any(t: t eq 'a&b')"),
            "severity%20eq%20'High'%20and%20x%2Fany(t:%20t%20eq%20'a%26b')"
        );
        assert_eq!(path_segment("a b/c'd"), "a%20b%2Fc%27d");
    }

    #[test]
    fn links_elsewhere_are_not_trusted() {
        assert_eq!(origin("https://h:1/api/x?y=1"), Some("https://h:1"));
        assert_eq!(origin("https://h"), Some("https://h"));
        assert_eq!(origin("nope"), None);
        assert!(same_origin("https://H:1/next", "https://h:1"));
        assert!(!same_origin("https://h:2/next", "https://h:1"));
    }

    #[test]
    fn paths_join_the_base_and_full_urls_stand_alone() {
        let pairs = [("$top".to_owned(), "2".to_owned())];
        assert_eq!(
            join("https://h", "/api/x", &pairs),
            "https://h/api/x?$top=2"
        );
        assert_eq!(
            join("https://h", "https://h/api/x?$skip=2", &pairs),
            "https://h/api/x?$skip=2&$top=2"
        );
    }
}

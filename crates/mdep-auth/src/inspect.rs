//! Decoding a token without verifying it: what `mdep token inspect` shows, the seed's
//! "paste it into a website" step done locally.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// A decoded (unverified) JWT.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// Header.
    pub header: Value,
    /// Claims.
    pub claims: Value,
}

/// Why a string is not a JWT.
#[derive(Debug, thiserror::Error)]
#[error("not a JWT: {0}")]
pub struct DecodeError(pub String);

/// Decodes header and claims.
pub fn decode(token: &str) -> Result<Decoded, DecodeError> {
    let token = token.trim();
    let token = token.strip_prefix("Bearer ").unwrap_or(token);
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(DecodeError("expected three dot-separated parts".into()));
    };
    let part = |s: &str, what: &str| -> Result<Value, DecodeError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(s.trim_end_matches('='))
            .map_err(|e| DecodeError(format!("{what} is not base64url: {e}")))?;
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|e| DecodeError(format!("{what} is not JSON: {e}")))?;
        if v.is_object() {
            Ok(v)
        } else {
            Err(DecodeError(format!("{what} is not a JSON object")))
        }
    };
    Ok(Decoded {
        header: part(h, "the header")?,
        claims: part(p, "the payload")?,
    })
}

impl Decoded {
    /// The `roles` claim.
    pub fn roles(&self) -> Vec<String> {
        self.claims
            .get("roles")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The `tid` claim.
    pub fn tid(&self) -> Option<&str> {
        self.claims.get("tid").and_then(Value::as_str)
    }

    /// A numeric time claim.
    pub fn time(&self, claim: &str) -> Option<time::OffsetDateTime> {
        self.claims
            .get(claim)
            .and_then(Value::as_f64)
            .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t as i64).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_refuses() {
        let tok = format!(
            "{}.{}.sig",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#),
            URL_SAFE_NO_PAD.encode(r#"{"tid":"t","roles":["A"],"exp":10}"#)
        );
        let d = decode(&format!("Bearer {tok}")).expect("decodes");
        assert_eq!(d.tid(), Some("t"));
        assert_eq!(d.roles(), vec!["A"]);
        assert_eq!(d.time("exp").map(|t| t.unix_timestamp()), Some(10));
        for bad in ["", "a.b", "a.b.c.d", "!!!.e30.x", "e30.WzFd.x"] {
            assert!(decode(bad).is_err(), "{bad}");
        }
    }
}

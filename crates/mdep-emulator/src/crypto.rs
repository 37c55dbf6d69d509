//! Small cryptographic helpers over the workspace's one provider (aws-lc-rs).

use aws_lc_rs::{digest, hmac, pbkdf2, rand::SecureRandom};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use std::num::NonZeroU32;

/// `N` bytes from the system's secure random generator.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut out)
        .expect("the system random generator failed");
    out
}

/// A random (version 4) UUID from aws-lc's generator, which reseeds from the OS on its
/// own: `Uuid::new_v4` asks the kernel (`getrandom`) every time, and a token request
/// makes two of them (`trace_id`, `correlation_id`).
pub fn uuid_v4() -> uuid::Uuid {
    uuid::Builder::from_random_bytes(random_bytes::<16>()).into_uuid()
}

/// A random URL-safe token carrying `N` bytes of entropy.
pub fn random_token<const N: usize>() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<N>())
}

/// base64url without padding.
pub fn b64url(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// Standard base64 with padding.
pub fn b64(data: &[u8]) -> String {
    STANDARD.encode(data)
}

/// Decodes standard base64 with padding.
pub fn b64_decode(data: &str) -> Option<Vec<u8>> {
    STANDARD.decode(data).ok()
}

/// Decodes base64 in any spelling clients use for JWT parts and thumbprints: url-safe or
/// standard alphabet, with or without `=` padding (`entra-oauth.md` §3.3).
pub fn b64_any_decode(data: &str) -> Option<Vec<u8>> {
    let normalized: String = data
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    URL_SAFE_NO_PAD.decode(normalized).ok()
}

/// SHA-1 digest (certificate thumbprints only; Entra still names keys by it).
pub fn sha1(data: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, data)
        .as_ref()
        .to_vec()
}

/// SHA-256 digest.
pub fn sha256(data: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA256, data).as_ref().to_vec()
}

/// Upper-case hex, as the portal shows thumbprints.
pub fn hex_upper(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02X}")).collect()
}

/// Keyed hash for client secrets: they are long random values, so a fast keyed hash
/// (HMAC-SHA256 under a per-emulator key) is right; a slow KDF would only cost throughput.
#[derive(Clone)]
pub struct SecretHasher {
    key: hmac::Key,
}

impl std::fmt::Debug for SecretHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretHasher([redacted])")
    }
}

impl SecretHasher {
    /// A hasher keyed with `key` (kept in the emulator's database).
    pub fn new(key: &[u8]) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
        }
    }

    /// The stored form of a secret.
    pub fn hash(&self, secret: &str) -> String {
        b64(hmac::sign(&self.key, secret.as_bytes()).as_ref())
    }

    /// Constant-time check of `secret` against a stored hash.
    pub fn verify(&self, secret: &str, stored: &str) -> bool {
        match b64_decode(stored) {
            Some(tag) => hmac::verify(&self.key, secret.as_bytes(), &tag).is_ok(),
            None => false,
        }
    }
}

const PASSWORD_ITERATIONS: u32 = 60_000;

/// Slow salted hash for administrators' passwords (people choose those, unlike secrets).
pub fn hash_password(password: &str) -> String {
    let salt = random_bytes::<16>();
    let mut out = [0u8; 32];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        NonZeroU32::new(PASSWORD_ITERATIONS).expect("non-zero"),
        &salt,
        password.as_bytes(),
        &mut out,
    );
    format!(
        "pbkdf2-sha256${PASSWORD_ITERATIONS}${}${}",
        b64(&salt),
        b64(&out)
    )
}

/// Checks a password against [`hash_password`]'s output, in constant time.
pub fn verify_password(password: &str, stored: &str) -> bool {
    let mut parts = stored.split('$');
    let (Some("pbkdf2-sha256"), Some(iter), Some(salt), Some(hash), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let (Some(iter), Some(salt), Some(hash)) = (
        iter.parse::<u32>().ok().and_then(NonZeroU32::new),
        b64_decode(salt),
        b64_decode(hash),
    ) else {
        return false;
    };
    pbkdf2::verify(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iter,
        &salt,
        password.as_bytes(),
        &hash,
    )
    .is_ok()
}

/// A new client secret in Entra's shape: 40 characters, a 3-character prefix, `8Q~`, then
/// random characters from Entra's alphabet.
pub fn new_client_secret() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_~.-";
    let bytes = random_bytes::<37>();
    let pick = |b: u8| ALPHABET[usize::from(b) % ALPHABET.len()] as char;
    let mut s: String = bytes[..3].iter().map(|b| pick(*b)).collect();
    s.push_str("8Q~");
    s.extend(bytes[3..37].iter().map(|b| pick(*b)));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_hash_and_verify() {
        let h = SecretHasher::new(b"k");
        let stored = h.hash("abc");
        assert!(h.verify("abc", &stored));
        assert!(!h.verify("abd", &stored));
        assert!(!SecretHasher::new(b"other").verify("abc", &stored));
    }

    #[test]
    fn passwords_hash_and_verify() {
        let stored = hash_password("Pa55w.rd");
        assert!(verify_password("Pa55w.rd", &stored));
        assert!(!verify_password("Pa55w.rd ", &stored));
        assert!(!verify_password("x", "garbage"));
    }

    #[test]
    fn base64_any_spelling() {
        // Microsoft's own example thumbprint, with `=` padding (entra-oauth.md §3.2).
        let raw = b64_any_decode("hOBcHZi846VCHSJbFAs26Go9VTQ=").expect("decodes");
        assert_eq!(hex_upper(&raw), "84E05C1D98BCE3A5421D225B140B36E86A3D5534");
        assert_eq!(b64_any_decode("hOBcHZi846VCHSJbFAs26Go9VTQ"), Some(raw));
    }

    #[test]
    fn client_secret_shape() {
        let s = new_client_secret();
        assert_eq!(s.len(), 40);
        assert_eq!(&s[3..6], "8Q~");
    }
}

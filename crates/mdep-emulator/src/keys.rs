//! Token signing keys: RSA-2048 keys with self-signed certificates, named by the
//! base64url SHA-1 thumbprint of the certificate (`kid` = `x5t`, `entra-oauth.md` §4.1, §5.2).
//!
//! As Entra does (signing-key-rollover), more than one key is always published: the
//! active key signs, the next key waits, and a rotated-out key stays published for a
//! grace period so tokens it signed keep validating.

use crate::crypto;
use aws_lc_rs::signature::{self, RsaKeyPair};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// Where a key stands in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyStatus {
    /// Signs new tokens.
    Active,
    /// Published, will sign after the next rotation.
    Next,
    /// Rotated out; published until its grace period ends.
    Retired,
}

/// A signing key as stored.
#[derive(Clone, Serialize, Deserialize)]
pub struct StoredKey {
    /// `kid` and `x5t`.
    pub kid: String,
    /// Status.
    pub status: KeyStatus,
    /// PKCS#8 private key, base64.
    pub pkcs8: String,
    /// Self-signed certificate, base64 DER.
    pub cert_der: String,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// When it was rotated out.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub retired: Option<OffsetDateTime>,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("status", &self.status)
            .field("retired", &self.retired)
            .finish_non_exhaustive()
    }
}

/// A loaded signing key.
pub struct SigningKey {
    /// The stored form.
    pub stored: StoredKey,
    pair: RsaKeyPair,
    /// Modulus, base64url.
    pub n: String,
    /// Exponent, base64url.
    pub e: String,
    /// The JWT header of every token this key signs, base64url: encoded once, not per token.
    header_b64: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.stored.fmt(f)
    }
}

/// Failure to make or load a key.
#[derive(Debug, thiserror::Error)]
#[error("signing key: {0}")]
pub struct KeyError(pub String);

impl SigningKey {
    /// Generates a new key and its self-signed certificate.
    pub fn generate(status: KeyStatus) -> Result<Self, KeyError> {
        let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)
            .map_err(|e| KeyError(e.to_string()))?;
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new())
            .map_err(|e| KeyError(e.to_string()))?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            "accounts.accesscontrol.windows.net",
        );
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(5 * 365);
        let cert = params
            .self_signed(&kp)
            .map_err(|e| KeyError(e.to_string()))?;
        let cert_der = cert.der().to_vec();
        let stored = StoredKey {
            kid: crypto::b64url(&crypto::sha1(&cert_der)),
            status,
            pkcs8: crypto::b64(&kp.serialize_der()),
            cert_der: crypto::b64(&cert_der),
            created: now,
            retired: None,
        };
        Self::load(stored)
    }

    /// Loads a stored key.
    pub fn load(stored: StoredKey) -> Result<Self, KeyError> {
        let pkcs8 =
            crypto::b64_decode(&stored.pkcs8).ok_or_else(|| KeyError("bad base64".into()))?;
        let pair = RsaKeyPair::from_pkcs8(&pkcs8).map_err(|e| KeyError(e.to_string()))?;
        let cert_der =
            crypto::b64_decode(&stored.cert_der).ok_or_else(|| KeyError("bad base64".into()))?;
        let (_, cert) =
            x509_parser::parse_x509_certificate(&cert_der).map_err(|e| KeyError(e.to_string()))?;
        let rsa = match cert.public_key().parsed() {
            Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => rsa,
            _ => return Err(KeyError("certificate key is not RSA".into())),
        };
        let strip = |b: &[u8]| {
            let first = b.iter().position(|x| *x != 0).unwrap_or(b.len());
            crypto::b64url(&b[first..])
        };
        let (n, e) = (strip(rsa.modulus), strip(rsa.exponent));
        // The header of Entra's access tokens: `x5t` and `kid` both name the key.
        let header_b64 = crypto::b64url(
            format!(
                r#"{{"typ":"JWT","alg":"RS256","x5t":"{kid}","kid":"{kid}"}}"#,
                kid = stored.kid
            )
            .as_bytes(),
        );
        Ok(Self {
            stored,
            pair,
            n,
            e,
            header_b64,
        })
    }

    /// The base64url JWT header (`typ`, `alg` RS256, `x5t` and `kid`) of tokens it signs.
    pub fn jwt_header_b64(&self) -> &str {
        &self.header_b64
    }

    /// Signs `message` with RS256.
    pub fn sign_rs256(&self, message: &[u8]) -> Vec<u8> {
        let mut sig = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                message,
                &mut sig,
            )
            .expect("RSA signing of a buffer of the right size does not fail");
        sig
    }

    /// Verifies an RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signature made by this key.
    pub fn verify_rs256(&self, message: &[u8], sig: &[u8]) -> bool {
        use aws_lc_rs::signature::KeyPair;
        signature::UnparsedPublicKey::new(
            &signature::RSA_PKCS1_2048_8192_SHA256,
            self.pair.public_key().as_ref(),
        )
        .verify(message, sig)
        .is_ok()
    }

    /// Its JWK as Entra publishes it (`kty`, `use`, `kid`, `x5t`, `n`, `e`, `x5c`).
    pub fn jwk(&self, issuer: Option<&str>) -> serde_json::Value {
        let mut jwk = serde_json::json!({
            "kty": "RSA",
            "use": "sig",
            "kid": self.stored.kid,
            "x5t": self.stored.kid,
            "n": self.n,
            "e": self.e,
            "x5c": [self.stored.cert_der],
        });
        if let Some(iss) = issuer {
            jwk["issuer"] = serde_json::Value::String(iss.to_owned());
        }
        jwk
    }
}

/// The set of keys.
#[derive(Debug, Default, Clone)]
pub struct KeySet {
    /// All keys, in creation order.
    pub keys: Vec<Arc<SigningKey>>,
}

impl KeySet {
    /// The key that signs new tokens.
    pub fn active(&self) -> Option<&Arc<SigningKey>> {
        self.keys
            .iter()
            .find(|k| k.stored.status == KeyStatus::Active)
    }

    /// Keys published now: active, next, and retired keys within `grace`.
    pub fn published(
        &self,
        now: OffsetDateTime,
        grace: Duration,
    ) -> impl Iterator<Item = &Arc<SigningKey>> {
        self.keys.iter().filter(move |k| match k.stored.retired {
            Some(at) => k.stored.status != KeyStatus::Retired || now < at + grace,
            None => true,
        })
    }

    /// A published key by `kid`.
    pub fn find_published(
        &self,
        kid: &str,
        now: OffsetDateTime,
        grace: Duration,
    ) -> Option<&Arc<SigningKey>> {
        self.published(now, grace).find(|k| k.stored.kid == kid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_reload_and_sign() {
        let key = SigningKey::generate(KeyStatus::Active).expect("key");
        assert_eq!(key.stored.kid.len(), 27, "base64url SHA-1 without padding");
        assert_eq!(key.e, "AQAB");
        let again = SigningKey::load(key.stored.clone()).expect("reload");
        assert_eq!(again.n, key.n);
        let sig = key.sign_rs256(b"abc");
        let pk_der = {
            let cert = crypto::b64_decode(&key.stored.cert_der).expect("der");
            let (_, c) = x509_parser::parse_x509_certificate(&cert).expect("cert");
            c.public_key().subject_public_key.data.to_vec()
        };
        signature::UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, pk_der)
            .verify(b"abc", &sig)
            .expect("verifies");
        assert!(key.verify_rs256(b"abc", &sig));
        assert!(!key.verify_rs256(b"abd", &sig));
    }

    #[test]
    fn retired_keys_leave_after_grace() {
        let mut retired = SigningKey::generate(KeyStatus::Retired).expect("key");
        let now = OffsetDateTime::now_utc();
        retired.stored.retired = Some(now - Duration::hours(2));
        let set = KeySet {
            keys: vec![Arc::new(retired)],
        };
        assert_eq!(set.published(now, Duration::hours(3)).count(), 1);
        assert_eq!(set.published(now, Duration::hours(1)).count(), 0);
    }
}

//! Certificate credentials from their PEM or DER form.

use super::error::{DirectoryError, invalid};
use crate::crypto;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// A certificate credential: the public certificate, named by its thumbprints.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Certificate {
    /// The key credential's id.
    pub key_id: Uuid,
    /// SHA-1 of the DER certificate, upper-case hex (what `x5t` names).
    pub thumbprint_sha1: String,
    /// SHA-256 of the DER certificate, upper-case hex (what `x5t#S256` names).
    pub thumbprint_sha256: String,
    /// Subject, for display.
    pub subject: String,
    /// Not-after of the certificate.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// Not-before of the certificate, when known.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub not_before: Option<OffsetDateTime>,
    /// Its description (Graph's `displayName`).
    #[serde(default)]
    pub display_name: Option<String>,
    /// The DER certificate, base64.
    pub der: String,
    /// The RSA public key (PKCS#1 DER, base64) used to verify assertions.
    pub public_key: String,
}

/// Parses an X.509 certificate (PEM or DER) into a certificate credential.
pub fn parse_certificate(input: &[u8]) -> Result<Certificate, DirectoryError> {
    // PEM when it holds a BEGIN line (text may precede it); else DER, whose bytes may
    // well contain a '-' anywhere.
    let der = if input.windows(10).any(|w| w == b"-----BEGIN") {
        let (_, pem) = x509_parser::pem::parse_x509_pem(input)
            .map_err(|e| invalid(format!("not a PEM certificate: {e}")))?;
        if pem.label != "CERTIFICATE" {
            return Err(invalid(format!(
                "expected a PEM 'CERTIFICATE' block, found '{}' (upload the public certificate only)",
                pem.label
            )));
        }
        pem.contents
    } else {
        input.to_vec()
    };
    let (_, cert) = x509_parser::parse_x509_certificate(&der)
        .map_err(|e| invalid(format!("not an X.509 certificate: {e}")))?;
    let spki = cert.public_key();
    if spki.algorithm.algorithm != x509_parser::oid_registry::OID_PKCS1_RSAENCRYPTION {
        return Err(invalid(
            "the certificate's key is not RSA: Entra accepts RS256/PS256 client assertions only",
        ));
    }
    let not_after = OffsetDateTime::from_unix_timestamp(cert.validity().not_after.timestamp())
        .map_err(|_| invalid("the certificate's validity is out of range"))?;
    let not_before =
        OffsetDateTime::from_unix_timestamp(cert.validity().not_before.timestamp()).ok();
    Ok(Certificate {
        key_id: Uuid::new_v4(),
        thumbprint_sha1: crypto::hex_upper(&crypto::sha1(&der)),
        thumbprint_sha256: crypto::hex_upper(&crypto::sha256(&der)),
        subject: cert.subject().to_string(),
        not_after,
        not_before,
        display_name: None,
        public_key: crypto::b64(&spki.subject_public_key.data),
        der: crypto::b64(&der),
    })
}

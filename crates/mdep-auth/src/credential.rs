//! The partner app's credential: a client secret, or a certificate whose key signs a
//! client assertion (PS256 with `x5t#S256`, as Microsoft's current docs ask, or RS256 with
//! `x5t`, as most libraries send; `entra-oauth.md` §3).

use crate::error::AuthError;
use crate::secret::Secret;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// How a certificate assertion is signed and names its certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssertionStyle {
    /// PS256 with `x5t#S256` (SHA-256 thumbprint).
    #[default]
    Ps256,
    /// RS256 with `x5t` (SHA-1 thumbprint).
    Rs256,
}

/// A certificate credential: the certificate and its RSA private key.
pub struct CertificateCredential {
    key: jsonwebtoken::EncodingKey,
    /// SHA-256 of the private key's PEM: the secret material that seals cached tokens.
    key_digest: Vec<u8>,
    /// SHA-1 thumbprint, upper-case hex (as the portal shows it).
    pub thumbprint_sha1: String,
    x5t: String,
    x5t_s256: String,
    style: AssertionStyle,
}

impl std::fmt::Debug for CertificateCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateCredential")
            .field("thumbprint_sha1", &self.thumbprint_sha1)
            .field("style", &self.style)
            .finish_non_exhaustive()
    }
}

fn pem_block<'a>(pem: &'a str, labels: &[&str]) -> Option<&'a str> {
    for label in labels {
        let begin = format!("-----BEGIN {label}-----");
        let end = format!("-----END {label}-----");
        if let Some(start) = pem.find(&begin)
            && let Some(stop) = pem[start..].find(&end)
        {
            return Some(&pem[start..start + stop + end.len()]);
        }
    }
    None
}

/// DER as a PEM block, lines of 64 characters.
fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

impl CertificateCredential {
    /// Reads a PEM holding the certificate and its private key (PKCS#8 or PKCS#1 RSA).
    pub fn from_pem(pem: &str, style: AssertionStyle) -> Result<Self, AuthError> {
        let cred = |m: &str| AuthError::Credential(m.to_owned());
        let cert_pem = pem_block(pem, &["CERTIFICATE"])
            .ok_or_else(|| cred("the PEM file has no CERTIFICATE block"))?;
        let key_pem = pem_block(pem, &["PRIVATE KEY", "RSA PRIVATE KEY"])
            .ok_or_else(|| cred("the PEM file has no unencrypted PRIVATE KEY block (certificate credentials need the key beside the certificate)"))?;
        let (_, parsed) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes())
            .map_err(|e| cred(&format!("certificate PEM: {e}")))?;
        let der = parsed.contents;
        x509_parser::parse_x509_certificate(&der)
            .map_err(|e| cred(&format!("certificate: {e}")))?;
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(key_pem.as_bytes())
            .map_err(|e| cred(&format!("private key (RSA expected): {e}")))?;
        let sha1 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &der);
        let sha256 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &der);
        Ok(Self {
            key,
            key_digest: aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key_pem.as_bytes())
                .as_ref()
                .to_vec(),
            thumbprint_sha1: sha1.as_ref().iter().map(|b| format!("{b:02X}")).collect(),
            x5t: URL_SAFE_NO_PAD.encode(sha1.as_ref()),
            x5t_s256: URL_SAFE_NO_PAD.encode(sha256.as_ref()),
            style,
        })
    }

    /// Reads a PKCS#12 (PFX) file: the private key it holds (RSA) and the certificate that
    /// matches it. Both forms `openssl pkcs12 -export` writes are read: OpenSSL 3's default
    /// (PBES2: PBKDF2 with AES-256-CBC, HMAC-SHA256 MAC) and the legacy one (`-legacy`, and
    /// Windows' certificate export: 3DES key bag, RC2-40 certificate bag, HMAC-SHA1 MAC). The
    /// legacy ciphers live only inside the PKCS#12 reader and serve only this file.
    pub fn from_pkcs12(
        der: &[u8],
        password: &str,
        style: AssertionStyle,
    ) -> Result<Self, AuthError> {
        let cred = |m: &str| AuthError::Credential(m.to_owned());
        let store = p12_keystore::KeyStore::from_pkcs12(
            der,
            password,
            p12_keystore::Pkcs12ImportPolicy::Strict,
        )
        .map_err(|e| match e {
            p12_keystore::error::Error::MacError(_) => cred(
                "the PFX password is wrong (or the file is damaged): check the variable pfx_password_env names",
            ),
            e => cred(&format!("not a PKCS#12 file this version reads: {e}")),
        })?;
        let (_, chain) = store.private_key_chain().ok_or_else(|| {
            cred("the PFX file holds no private key with its certificate (export it with the private key)")
        })?;
        let cert = chain
            .certs()
            .first()
            .ok_or_else(|| cred("the PFX file's private key has no certificate"))?;
        let pem = format!(
            "{}{}",
            pem_encode("CERTIFICATE", cert.as_der()),
            pem_encode("PRIVATE KEY", chain.key().as_der())
        );
        Self::from_pem(&pem, style)
    }

    /// A fresh client assertion for `client_id` addressed to `token_endpoint`, valid 10
    /// minutes, with a new `jti` (Entra accepts each assertion once).
    pub fn assertion(&self, client_id: &str, token_endpoint: &str) -> Result<String, AuthError> {
        let mut header = match self.style {
            AssertionStyle::Ps256 => jsonwebtoken::Header::new(jsonwebtoken::Algorithm::PS256),
            AssertionStyle::Rs256 => jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        };
        match self.style {
            AssertionStyle::Ps256 => header.x5t_s256 = Some(self.x5t_s256.clone()),
            AssertionStyle::Rs256 => header.x5t = Some(self.x5t.clone()),
        }
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let claims = serde_json::json!({
            "aud": token_endpoint,
            "iss": client_id,
            "sub": client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "nbf": now,
            "iat": now,
            "exp": now + 600,
        });
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| AuthError::Credential(format!("signing the client assertion: {e}")))
    }
}

/// The partner app's credential.
#[derive(Debug)]
pub enum ClientCredential {
    /// A client secret.
    Secret(Secret),
    /// A certificate.
    Certificate(CertificateCredential),
}

impl ClientCredential {
    /// Secret material only the credential's holder has, to seal cached tokens with.
    pub(crate) fn cache_secret(&self) -> Vec<u8> {
        match self {
            ClientCredential::Secret(s) => s.expose().as_bytes().to_vec(),
            ClientCredential::Certificate(c) => c.key_digest.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pem_pair() -> String {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("rsa");
        let cert = rcgen::CertificateParams::new(vec!["x".to_owned()])
            .expect("p")
            .self_signed(&key)
            .expect("c");
        format!("{}{}", cert.pem(), key.serialize_pem())
    }

    #[test]
    fn builds_assertions_in_both_styles() {
        let pem = pem_pair();
        for (style, alg, thumb) in [
            (AssertionStyle::Ps256, "PS256", "x5t#S256"),
            (AssertionStyle::Rs256, "RS256", "x5t"),
        ] {
            let c = CertificateCredential::from_pem(&pem, style).expect("cred");
            let a = c
                .assertion("app", "https://login/t/oauth2/v2.0/token")
                .expect("assertion");
            let h = jsonwebtoken::decode_header(&a).expect("header");
            assert_eq!(format!("{:?}", h.alg), alg);
            let header_json: serde_json::Value = serde_json::from_slice(
                &URL_SAFE_NO_PAD
                    .decode(a.split('.').next().expect("h"))
                    .expect("b64"),
            )
            .expect("json");
            assert!(header_json.get(thumb).is_some(), "{header_json}");
            assert_ne!(
                c.assertion("app", "aud").expect("a"),
                c.assertion("app", "aud").expect("a"),
                "a new jti each time"
            );
        }
        assert_eq!(
            CertificateCredential::from_pem(&pem, AssertionStyle::Ps256)
                .expect("c")
                .thumbprint_sha1
                .len(),
            40
        );
    }

    #[test]
    fn refuses_incomplete_pem() {
        let pem = pem_pair();
        let cert_only = pem_block(&pem, &["CERTIFICATE"]).expect("cert");
        let e =
            CertificateCredential::from_pem(cert_only, AssertionStyle::Ps256).expect_err("no key");
        assert!(e.to_string().contains("PRIVATE KEY"));
        assert!(CertificateCredential::from_pem("garbage", AssertionStyle::Ps256).is_err());
    }
}

//! PostgreSQL over TLS with libpq's settings: `sslmode` and `sslrootcert` in the connection
//! string, with the meanings of libpq's table "SSL Mode Descriptions"
//! (<https://www.postgresql.org/docs/current/libpq-ssl.html>):
//!
//! | `sslmode` | encrypted | server certificate checked |
//! |---|---|---|
//! | `disable` | no | – |
//! | `allow`, `prefer` (default) | if the server offers it | no |
//! | `require` | yes | no; against `sslrootcert` when one is given (as libpq does) |
//! | `verify-ca` | yes | signed by the CA in `sslrootcert` |
//! | `verify-full` | yes | signed by that CA, and issued for the host connected to |
//!
//! `sslrootcert` defaults to `~/.postgresql/root.crt`, as in libpq. TLS is rustls on the
//! workspace's one crypto provider (aws-lc-rs). `allow` is taken as `prefer` (TLS first,
//! then plain), the order tokio-postgres offers.

use crate::error::SyncError;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{WebPkiServerVerifier, verify_server_cert_signed_by_trust_anchor};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS when the server offers it, nothing checked (libpq's default, `prefer`; `allow`).
    Prefer,
    /// TLS or no connection; the certificate checked only if `sslrootcert` is given.
    Require,
    /// TLS, the certificate signed by the CA in `sslrootcert`.
    VerifyCa,
    /// TLS, the certificate signed by that CA and issued for the host.
    VerifyFull,
}

impl SslMode {
    fn parse(v: &str) -> Result<Self, SyncError> {
        Ok(match v {
            "disable" => Self::Disable,
            "allow" | "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            other => {
                return Err(SyncError::Usage(format!(
                    "sslmode={other} is not one of libpq's modes: disable, allow, prefer, require, verify-ca, verify-full"
                )));
            }
        })
    }

    /// What tokio-postgres is told: it knows disable, prefer and require.
    fn wire(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require | Self::VerifyCa | Self::VerifyFull => "require",
        }
    }
}

/// The TLS settings of one connection string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// The mode.
    pub mode: SslMode,
    /// The CA file (`sslrootcert`), when given.
    pub root: Option<PathBuf>,
}

/// Takes libpq's TLS keys out of a connection string (a `postgres://` URI or libpq's
/// `key=value` form) and returns the string tokio-postgres reads, with `sslmode` set to
/// what it understands, and the settings.
pub fn split(url: &str) -> Result<(String, TlsSettings), SyncError> {
    let mut mode = None;
    let mut root = None;
    let mut take = |key: &str, value: &str| -> Result<bool, SyncError> {
        match key {
            "sslmode" => mode = Some(SslMode::parse(value)?),
            "sslrootcert" => root = Some(PathBuf::from(value)),
            _ => return Ok(false),
        }
        Ok(true)
    };
    let decoded = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let uri = url.contains("://");
    let (base, options) = match url.split_once('?') {
        Some((base, query)) if uri => (base, query),
        _ if uri => (url, ""),
        _ => ("", url),
    };
    let mut kept = Vec::new();
    if uri {
        for pair in options.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            if !take(&decoded(k), &decoded(v))? {
                kept.push(pair);
            }
        }
    } else {
        for token in options.split_whitespace() {
            let (k, v) = token.split_once('=').unwrap_or((token, ""));
            if !take(k, v.trim_matches('\''))? {
                kept.push(token);
            }
        }
    }
    let mode = mode.unwrap_or(SslMode::Prefer);
    let wire = format!("sslmode={}", mode.wire());
    kept.push(&wire);
    let joined = if uri {
        format!("{base}?{}", kept.join("&"))
    } else {
        kept.join(" ")
    };
    Ok((joined, TlsSettings { mode, root }))
}

/// libpq's default CA file.
fn default_root() -> Option<PathBuf> {
    dirs::home_dir().map(|h| h.join(".postgresql/root.crt"))
}

fn roots(path: &Path) -> Result<RootCertStore, SyncError> {
    let bad = |m: String| SyncError::Usage(format!("sslrootcert {}: {m}", path.display()));
    let mut store = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(e.to_string()))? {
        store
            .add(cert.map_err(|e| bad(e.to_string()))?)
            .map_err(|e| bad(e.to_string()))?;
    }
    if store.is_empty() {
        return Err(bad("no CERTIFICATE block in the file".into()));
    }
    Ok(store)
}

/// The rustls configuration for these settings.
pub fn client_config(tls: &TlsSettings) -> Result<rustls::ClientConfig, SyncError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let root = match (&tls.root, tls.mode) {
        (_, SslMode::Disable | SslMode::Prefer) => None,
        (Some(r), _) => Some(r.clone()),
        (None, SslMode::VerifyCa | SslMode::VerifyFull) => {
            let d = default_root().filter(|p| p.exists()).ok_or_else(|| {
                SyncError::Usage(format!(
                    "sslmode={} checks the server's certificate against a CA: give it as sslrootcert=FILE (libpq's default ~/.postgresql/root.crt does not exist)",
                    if tls.mode == SslMode::VerifyCa { "verify-ca" } else { "verify-full" }
                ))
            })?;
            Some(d)
        }
        (None, _) => None,
    };
    let verifier: Arc<dyn ServerCertVerifier> = match root {
        None => Arc::new(Verifier {
            roots: None,
            provider: provider.clone(),
        }),
        Some(path) if path.as_os_str() == "system" => {
            return Err(SyncError::Usage(
                "sslrootcert=system is not supported: give the server's CA as a PEM file".into(),
            ));
        }
        Some(path) => {
            let roots = Arc::new(roots(&path)?);
            if tls.mode == SslMode::VerifyFull {
                WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                    .build()
                    .map_err(|e| SyncError::Usage(format!("sslrootcert: {e}")))?
            } else {
                Arc::new(Verifier {
                    roots: Some(roots),
                    provider: provider.clone(),
                })
            }
        }
    };
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SyncError::Store(format!("TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// The server certificate check of every mode but `verify-full`: with `roots`, the chain
/// must lead to the CA but the name is not compared with the host (`verify-ca`, and
/// `require` with a CA); without, nothing is checked (`prefer`, `require`: libpq's
/// meaning). The handshake's signatures are verified either way.
#[derive(Debug)]
struct Verifier {
    roots: Option<Arc<RootCertStore>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = &self.roots {
            let cert = rustls::server::ParsedCertificate::try_from(end_entity)?;
            verify_server_cert_signed_by_trust_anchor(
                &cert,
                roots,
                intermediates,
                now,
                self.provider.signature_verification_algorithms.all,
            )?;
        }
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The connector for tokio-postgres.
pub fn connector(tls: &TlsSettings) -> Result<tokio_postgres_rustls::MakeRustlsConnect, SyncError> {
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(
        client_config(tls)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(mode: SslMode, root: Option<&str>) -> TlsSettings {
        TlsSettings {
            mode,
            root: root.map(PathBuf::from),
        }
    }

    #[test]
    fn splits_libpq_keys_out_of_uris_and_key_value_strings() {
        for (url, want, settings) in [
            (
                "postgres://u@h/db",
                "postgres://u@h/db?sslmode=prefer",
                s(SslMode::Prefer, None),
            ),
            (
                "postgres://u@h/db?sslmode=verify-full&sslrootcert=%2Ftmp%2Fca.pem",
                "postgres://u@h/db?sslmode=require",
                s(SslMode::VerifyFull, Some("/tmp/ca.pem")),
            ),
            (
                "postgres://u@h/db?application_name=x&sslmode=disable&connect_timeout=5",
                "postgres://u@h/db?application_name=x&connect_timeout=5&sslmode=disable",
                s(SslMode::Disable, None),
            ),
            (
                "postgres:///mdep?host=/run/postgresql&sslmode=allow",
                "postgres:///mdep?host=/run/postgresql&sslmode=prefer",
                s(SslMode::Prefer, None),
            ),
            (
                "host=db user=u sslmode=verify-ca sslrootcert=/etc/ca.pem",
                "host=db user=u sslmode=require",
                s(SslMode::VerifyCa, Some("/etc/ca.pem")),
            ),
        ] {
            let (got, tls) = split(url).expect(url);
            assert_eq!((got.as_str(), tls), (want, settings), "{url}");
        }
        let e = split("postgres://h/db?sslmode=verify").expect_err("bad mode");
        assert!(e.to_string().contains("verify-full"), "{e}");
    }

    #[test]
    fn verifying_modes_need_a_readable_ca() {
        let dir = tempfile::tempdir().expect("tmp");
        let missing = dir.path().join("none.pem");
        let e = client_config(&s(SslMode::VerifyFull, missing.to_str())).expect_err("missing");
        assert!(e.to_string().contains("none.pem"), "{e}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").expect("write");
        let e = client_config(&s(SslMode::VerifyCa, empty.to_str())).expect_err("empty");
        assert!(e.to_string().contains("no CERTIFICATE"), "{e}");
        assert!(client_config(&s(SslMode::Require, None)).is_ok());
        let e = client_config(&s(SslMode::VerifyCa, Some("system"))).expect_err("system");
        assert!(e.to_string().contains("system"), "{e}");
    }
}

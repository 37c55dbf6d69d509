//! The emulator's local certificate authority and server certificate. Microsoft clients
//! refuse plain-HTTP authorities (`entra-oauth.md` §7), so the emulator serves HTTPS with a
//! CA it creates once in its state directory and reuses; clients trust `ca.pem`.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// A TLS set-up failure.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Reading or writing the state directory.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Making or reading a certificate.
    #[error("certificate: {0}")]
    Cert(String),
}

/// The files of the local CA and server certificate.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The CA certificate clients trust.
    pub ca_file: PathBuf,
    /// The server certificate chain (PEM).
    pub cert_pem: String,
    /// The server key (PEM).
    pub key_pem: String,
}

fn read(path: &Path) -> Result<Option<String>, TlsError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(TlsError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

fn write(path: &Path, contents: &str, private: bool) -> Result<(), TlsError> {
    let io = |source| TlsError::Io {
        path: path.to_owned(),
        source,
    };
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        #[cfg(not(unix))]
        let _ = private;
        let mut f = opts.open(&tmp).map_err(io)?;
        f.write_all(contents.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)
}

fn cert_err(e: impl std::fmt::Display) -> TlsError {
    TlsError::Cert(e.to_string())
}

/// Creates (once) or reuses the CA and the server certificate in `dir`.
pub fn ensure(dir: &Path) -> Result<TlsFiles, TlsError> {
    std::fs::create_dir_all(dir).map_err(|source| TlsError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let ca_file = dir.join("ca.pem");
    let ca_key_file = dir.join("ca-key.pem");
    let cert_file = dir.join("server.pem");
    let key_file = dir.join("server-key.pem");
    let (ca_pem, ca_key_pem) = match (read(&ca_file)?, read(&ca_key_file)?) {
        (Some(c), Some(k)) => (c, k),
        _ => {
            let key = KeyPair::generate().map_err(cert_err)?;
            let mut params = CertificateParams::new(Vec::<String>::new()).map_err(cert_err)?;
            params
                .distinguished_name
                .push(DnType::CommonName, "mdep emulator local CA");
            params
                .distinguished_name
                .push(DnType::OrganizationName, "mdep");
            params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
            params.key_usages = vec![
                KeyUsagePurpose::KeyCertSign,
                KeyUsagePurpose::CrlSign,
                KeyUsagePurpose::DigitalSignature,
            ];
            let now = OffsetDateTime::now_utc();
            params.not_before = now - Duration::days(1);
            params.not_after = now + Duration::days(3650);
            let cert = params.self_signed(&key).map_err(cert_err)?;
            let (c, k) = (cert.pem(), key.serialize_pem());
            write(&ca_key_file, &k, true)?;
            write(&ca_file, &c, false)?;
            // A new CA invalidates any old server certificate.
            let _ = std::fs::remove_file(&cert_file);
            (c, k)
        }
    };
    let reusable = match (read(&cert_file)?, read(&key_file)?) {
        (Some(c), Some(k)) if server_cert_current(&c) => Some((c, k)),
        _ => None,
    };
    let (cert_pem, key_pem) = match reusable {
        Some(pair) => pair,
        None => {
            let ca_key = KeyPair::from_pem(&ca_key_pem).map_err(cert_err)?;
            let issuer = Issuer::from_ca_cert_pem(&ca_pem, ca_key).map_err(cert_err)?;
            let key = KeyPair::generate().map_err(cert_err)?;
            let mut params =
                CertificateParams::new(vec!["localhost".to_owned()]).map_err(cert_err)?;
            params
                .subject_alt_names
                .push(SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
            params
                .subject_alt_names
                .push(SanType::IpAddress(std::net::Ipv6Addr::LOCALHOST.into()));
            params
                .distinguished_name
                .push(DnType::CommonName, "localhost");
            params.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyEncipherment,
            ];
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            let now = OffsetDateTime::now_utc();
            params.not_before = now - Duration::days(1);
            // Under 398 days, which browsers require of server certificates.
            params.not_after = now + Duration::days(390);
            let cert = params.signed_by(&key, &issuer).map_err(cert_err)?;
            let (c, k) = (cert.pem(), key.serialize_pem());
            write(&key_file, &k, true)?;
            write(&cert_file, &c, false)?;
            (c, k)
        }
    };
    Ok(TlsFiles {
        ca_file,
        cert_pem,
        key_pem,
    })
}

fn server_cert_current(pem: &str) -> bool {
    let Ok((_, p)) = x509_parser::pem::parse_x509_pem(pem.as_bytes()) else {
        return false;
    };
    let Ok(cert) = p.parse_x509() else {
        return false;
    };
    let not_after = cert.validity().not_after.timestamp();
    not_after > OffsetDateTime::now_utc().unix_timestamp() + 7 * 86_400
}

/// A rustls server configuration for the certificate, on the workspace's provider.
pub fn server_config(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(files.cert_pem.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(cert_err)?;
    let key = PrivateKeyDer::from_pem_slice(files.key_pem.as_bytes()).map_err(cert_err)?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(cert_err)?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(cert_err)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_once_and_reuses() {
        let dir = tempfile::tempdir().expect("tmp");
        let first = ensure(dir.path()).expect("tls");
        let ca = std::fs::read_to_string(&first.ca_file).expect("ca");
        let second = ensure(dir.path()).expect("tls again");
        assert_eq!(ca, std::fs::read_to_string(&second.ca_file).expect("ca"));
        assert_eq!(first.cert_pem, second.cert_pem);
        server_config(&second).expect("rustls accepts it");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("ca-key.pem"))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "CA key must not be readable by others");
        }
    }
}

#![doc = include_str!("../README.md")]

pub mod broker;
pub mod config;
pub mod consent;
pub mod credential;
pub mod error;
pub mod inspect;
pub mod secret;
pub mod validate;

pub use broker::{AccessToken, BrokerOptions, TokenBroker};
pub use config::{Config, TokenVersion};
pub use credential::{AssertionStyle, CertificateCredential, ClientCredential};
pub use error::AuthError;
pub use secret::Secret;
pub use validate::{Check, Expectations, ValidationError, Validator};

/// An HTTP client for Entra calls: rustls, no redirects, a timeout, and an optional
/// extra CA (the emulator's `ca.pem`) trusted alone.
pub fn http_client(ca_file: Option<&std::path::Path>) -> Result<reqwest::Client, String> {
    http_client_builder(ca_file)?
        .build()
        .map_err(|e| e.to_string())
}

/// The builder [`http_client`] builds, for a caller that changes a setting first (the
/// region probe's HTTP/1.1 and timeout).
pub fn http_client_builder(
    ca_file: Option<&std::path::Path>,
) -> Result<reqwest::ClientBuilder, String> {
    let mut b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .user_agent(concat!("mdep/", env!("CARGO_PKG_VERSION")));
    if let Some(ca) = ca_file {
        let pem = std::fs::read(ca).map_err(|e| format!("ca_file {}: {e}", ca.display()))?;
        let cert = reqwest::Certificate::from_pem(&pem)
            .map_err(|e| format!("ca_file {}: {e}", ca.display()))?;
        b = b.tls_certs_only([cert]);
    }
    Ok(b)
}

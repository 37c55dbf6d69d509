//! Errors of the identity side, carrying Entra's codes and a hint a person can act on.

use mdep_model::aadsts;

/// An Entra error answer from a token endpoint.
#[derive(Debug, Clone)]
pub struct EntraFailure {
    /// HTTP status.
    pub status: u16,
    /// OAuth `error`.
    pub error: String,
    /// The first AADSTS code.
    pub code: Option<u32>,
    /// `error_description` up to the trace details.
    pub description: String,
    /// `correlation_id`, to quote to Microsoft support.
    pub correlation_id: Option<String>,
}

impl EntraFailure {
    /// Parses an Entra error body; `None` when it is not one.
    pub fn parse(status: u16, body: &str) -> Option<Self> {
        let v: serde_json::Value = serde_json::from_str(body).ok()?;
        let error = v.get("error")?.as_str()?.to_owned();
        let full = v
            .get("error_description")
            .and_then(|d| d.as_str())
            .unwrap_or("");
        // Drop the trace suffix: either the old "\r\nTrace ID:" or the new " Trace ID:" form.
        let description = full
            .split("\r\nTrace ID:")
            .next()
            .unwrap_or(full)
            .split(" Trace ID:")
            .next()
            .unwrap_or(full)
            .trim()
            .to_owned();
        let code = v
            .get("error_codes")
            .and_then(|c| c.as_array())
            .and_then(|a| a.first())
            .and_then(|c| c.as_u64())
            .and_then(|c| u32::try_from(c).ok())
            .or_else(|| {
                description
                    .strip_prefix("AADSTS")
                    .and_then(|r| r.split(':').next())
                    .and_then(|n| n.parse().ok())
            });
        Some(Self {
            status,
            error,
            code,
            description,
            correlation_id: v
                .get("correlation_id")
                .and_then(|c| c.as_str())
                .map(str::to_owned),
        })
    }
}

/// What went wrong getting or checking a token.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Entra refused the request.
    #[error("{}", entra_message(.tenant, .failure))]
    Entra {
        /// The tenant as configured (name, or id when unnamed).
        tenant: String,
        /// Entra's answer.
        failure: EntraFailure,
    },
    /// The token endpoint kept answering 429 or 5xx.
    #[error(
        "tenant {tenant}: the token endpoint answered HTTP {status} {attempts} times; try again later"
    )]
    Unavailable {
        /// The tenant.
        tenant: String,
        /// The last status.
        status: u16,
        /// How many attempts were made.
        attempts: u32,
    },
    /// A network failure.
    #[error("tenant {tenant}: cannot reach {url}: {message}")]
    Network {
        /// The tenant.
        tenant: String,
        /// The URL.
        url: String,
        /// What the HTTP client said.
        message: String,
    },
    /// An answer that is not Entra's shape.
    #[error("tenant {tenant}: unexpected answer from {url} (HTTP {status}): {detail}")]
    Protocol {
        /// The tenant.
        tenant: String,
        /// The URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// What was wrong.
        detail: String,
    },
    /// The credential could not be used.
    #[error("credential: {0}")]
    Credential(String),
}

impl AuthError {
    /// The AADSTS code, if Entra gave one.
    pub fn aadsts(&self) -> Option<u32> {
        match self {
            AuthError::Entra { failure, .. } => failure.code,
            _ => None,
        }
    }

    /// What to do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            AuthError::Entra { tenant, failure } => Some(hint_for(tenant, failure)),
            AuthError::Unavailable { .. } => {
                Some("Entra is throttling or failing; mdep already retried with backoff.".into())
            }
            AuthError::Network { .. } => Some(
                "Check the network, the authority_host setting and, for the emulator, ca_file."
                    .into(),
            ),
            _ => None,
        }
    }
}

/// The hint for an Entra failure in a tenant, naming the command that fixes it.
pub fn hint_for(tenant: &str, f: &EntraFailure) -> String {
    match f.code {
        Some(700016) => format!(
            "tenant {tenant} has not consented to the app: send its Global Administrator the link from `mdep consent-url --tenant {tenant}`"
        ),
        Some(7000215) => "wrong client secret: use the secret's value (shown once when it was created), not its id".into(),
        Some(7000222) => "the client secret has expired: create a new one in the app registration and update the secret source".into(),
        Some(90002) => format!("tenant {tenant} does not exist in this cloud: check its id or domain and the configured cloud"),
        Some(700027) => "the certificate is not registered on the app (or the key does not match it): upload the certificate's public part".into(),
        Some(700024) => "the client assertion is outside its time range: check this machine's clock (UTC)".into(),
        Some(code) => aadsts::lookup(code)
            .map(|c| c.hint.to_owned())
            .unwrap_or_else(|| format!("see https://login.microsoftonline.com/error?code={code}")),
        None => "Entra gave no AADSTS code".into(),
    }
}

fn entra_message(tenant: &str, f: &EntraFailure) -> String {
    match f.code {
        Some(code) => format!(
            "tenant {tenant}: AADSTS{code} ({}): {}",
            f.error,
            hint_for(tenant, f)
        ),
        None => format!("tenant {tenant}: {}: {}", f.error, f.description),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_description_styles() {
        let new = r#"{"error":"unauthorized_client","error_description":"AADSTS700016: Application with identifier 'x' was not found. Trace ID: a Correlation ID: b Timestamp: c","error_codes":[700016],"correlation_id":"b"}"#;
        let f = EntraFailure::parse(400, new).expect("parses");
        assert_eq!(f.code, Some(700016));
        assert!(f.description.ends_with("was not found."));
        let old = "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid client secret provided.\\r\\nTrace ID: a\\r\\nCorrelation ID: b\"}";
        let f = EntraFailure::parse(401, old).expect("parses");
        assert_eq!(
            f.code,
            Some(7000215),
            "code read from the description when error_codes is absent"
        );
        assert!(EntraFailure::parse(429, "Too Many Requests").is_none());
    }

    #[test]
    fn every_known_code_has_a_hint_naming_what_to_do() {
        for c in aadsts::ALL {
            let f = EntraFailure {
                status: c.status,
                error: c.error.into(),
                code: Some(c.code),
                description: String::new(),
                correlation_id: None,
            };
            let e = AuthError::Entra {
                tenant: "Contoso".into(),
                failure: f,
            };
            let msg = e.to_string();
            assert!(msg.contains(&format!("AADSTS{}", c.code)), "{msg}");
            assert!(e.hint().is_some_and(|h| h.len() > 10), "{msg}");
        }
        let f = EntraFailure {
            status: 400,
            error: "unauthorized_client".into(),
            code: Some(700016),
            description: String::new(),
            correlation_id: None,
        };
        assert!(hint_for("Contoso", &f).contains("mdep consent-url --tenant Contoso"));
    }
}

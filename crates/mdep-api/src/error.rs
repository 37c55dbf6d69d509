//! What can go wrong calling MDE for one tenant, with the service's own codes kept.

use std::time::Duration;

/// A failed call for one tenant. Every variant names the tenant, so a fan-out's
/// summary reads on its own.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The service answered with an error body (§6.3).
    #[error("tenant {tenant}: {status} {code}: {message}{}", target.as_ref().map(|t| format!(" (tracking id {t})")).unwrap_or_default())]
    Mde {
        /// The tenant's name.
        tenant: String,
        /// HTTP status.
        status: u16,
        /// MDE `error.code` (`BadRequest`, `ResourceNotFound`, …).
        code: String,
        /// MDE `error.message`.
        message: String,
        /// MDE `error.target`, the tracking id.
        target: Option<String>,
    },
    /// Microsoft Graph answered with its error envelope (`graph-security.md` §2.7).
    #[error("tenant {tenant}: {status} {}: {message}{}", if code.is_empty() { "(no code)" } else { code.as_str() }, request_id.as_ref().map(|r| format!(" (request-id {r})")).unwrap_or_default())]
    Graph {
        /// The tenant's name.
        tenant: String,
        /// HTTP status.
        status: u16,
        /// Graph's `error.code` (`InvalidAuthenticationToken`, `Forbidden`, `BadRequest`,
        /// `TooManyRequests`, …; empty in some answers).
        code: String,
        /// Graph's `error.message`.
        message: String,
        /// `innerError.request-id`, to quote to support.
        request_id: Option<String>,
    },
    /// The quota asks for a longer wait than allowed.
    #[error(
        "tenant {tenant}: MDE quota reached (429 TooManyRequests); it asks to wait {} s, more than the {} s allowed (api.max_retry_wait_seconds); try again later",
        retry_after.as_secs(), max.as_secs()
    )]
    Throttled {
        /// The tenant's name.
        tenant: String,
        /// `Retry-After`.
        retry_after: Duration,
        /// The configured maximum wait.
        max: Duration,
    },
    /// No usable answer after the retries allowed (connection, timeout, 5xx).
    #[error("tenant {tenant}: {message} (after {attempts} attempts)")]
    Unavailable {
        /// The tenant's name.
        tenant: String,
        /// What happened last.
        message: String,
        /// Attempts made.
        attempts: u32,
    },
    /// A POST that may or may not have been carried out: not retried blindly.
    #[error(
        "tenant {tenant}: {message}; the request may have been carried out: check before sending it again"
    )]
    Uncertain {
        /// The tenant's name.
        tenant: String,
        /// What happened.
        message: String,
    },
    /// No token for the tenant.
    #[error(transparent)]
    Auth(#[from] mdep_auth::AuthError),
    /// An answer that is not what the API documents.
    #[error("tenant {tenant}: unexpected answer from {url}: {message}")]
    Decode {
        /// The tenant's name.
        tenant: String,
        /// The URL called.
        url: String,
        /// The parse error.
        message: String,
    },
    /// Paging stopped because the service's links would lose or repeat data.
    #[error("tenant {tenant}: paging stopped: {message}")]
    Paging {
        /// The tenant's name.
        tenant: String,
        /// Why.
        message: String,
    },
    /// A request the client refuses to send.
    #[error("{0}")]
    Invalid(String),
}

impl ApiError {
    /// MDE's `error.code`, when the service sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Mde { code, .. } | Self::Graph { code, .. } => Some(code),
            Self::Throttled { .. } => Some("TooManyRequests"),
            _ => None,
        }
    }

    /// The service's own `error.message`; empty when it sent none.
    fn message(&self) -> &str {
        match self {
            Self::Mde { message, .. } | Self::Graph { message, .. } => message,
            _ => "",
        }
    }

    /// HTTP status, when the service answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Mde { status, .. } | Self::Graph { status, .. } => Some(*status),
            Self::Throttled { .. } => Some(429),
            _ => None,
        }
    }

    /// True when the service refused because the tenant's licence leaves the feature out:
    /// MDE's 403 `DisabledFeature` ("Tenant feature isn't enabled", `mde-api.md` §6.3), or
    /// a Graph 403 whose message speaks of a licence or of what a product does not
    /// include (Graph's 403 "might not have a required license", `graph-security.md`
    /// §2.7). Advanced hunting is not included in Defender for Business nor in Plan 1.
    pub fn is_unlicensed(&self) -> bool {
        match self {
            Self::Mde { status, code, .. } => *status == 403 && code == "DisabledFeature",
            Self::Graph {
                status, message, ..
            } => {
                let m = message.to_ascii_lowercase();
                *status == 403 && (m.contains("licen") || m.contains("not included in"))
            }
            _ => false,
        }
    }

    /// A hint a person can act on, when there is one.
    pub fn hint(&self) -> Option<&'static str> {
        if self.is_unlicensed() {
            return Some(
                "the tenant's Defender licence does not include this feature (advanced hunting needs Defender for Endpoint Plan 2, not Plan 1 or Defender for Business); nothing to change in mdep or the app's permissions",
            );
        }
        if let Self::Graph { code, status, .. } = self {
            return match (code.as_str(), *status) {
                ("Forbidden" | "Authorization_RequestDenied", _) | (_, 403) => Some(
                    "the app lacks the Microsoft Graph permission for this call in this tenant (ThreatHunting.Read.All for hunting, SecurityAlert.* for alerts_v2, SecurityIncident.* for incidents): add it to the app registration and required_graph_permissions, then have the tenant consent again (`mdep tenants check`)",
                ),
                ("InvalidAuthenticationToken", _) | (_, 401) => Some(
                    "the token was refused: check that it is a Microsoft Graph token for this cloud (graph_resource), and the clock",
                ),
                ("TooManyRequests", _) | (_, 429) => Some(
                    "lower the call rate (api.graph_calls_per_minute, api.graph_hunting_calls_per_minute) or wait for the quota to renew",
                ),
                (_, 400) if self.to_string().contains("Top query") => {
                    Some("Graph caps $top on incidents at 50: page with @odata.nextLink instead")
                }
                _ => None,
            };
        }
        match self.code()? {
            "Forbidden" => Some(
                "the app lacks the permission for this call in this tenant: add it to required_permissions, then have the tenant consent again (`mdep tenants check`)",
            ),
            "ActiveRequestAlreadyExists" => Some(
                "an action of this kind is already running on the device: follow it with `mdep actions list`",
            ),
            "TooManyRequests" => {
                Some("lower the call rate (api.calls_per_minute) or wait for the quota to renew")
            }
            "ResourceNotFound" => {
                let m = self.message().to_ascii_lowercase();
                Some(if m.contains("library file") {
                    "no file of that name in this tenant's live response library: see `mdep library list`"
                } else if m.contains("package") {
                    "an investigation package has a link only once its CollectInvestigationPackage action has succeeded: follow it with `mdep actions get ID`"
                } else if m.contains("event") {
                    "no advanced hunting event with this ReportId, Timestamp and DeviceId: copy all three from one row of `mdep hunt`"
                } else {
                    "nothing with this id or name in this tenant: ids belong to one tenant, so check --tenant"
                })
            }
            "BadRequest" if self.message().contains("already exists in the library") => Some(
                "a file of that name is in the library: pass --override (OverrideIfExists) to replace it",
            ),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ApiError;

    fn not_found(message: &str) -> ApiError {
        ApiError::Mde {
            tenant: "Contoso".into(),
            status: 404,
            code: "ResourceNotFound".into(),
            message: message.into(),
            target: None,
        }
    }

    #[test]
    fn a_missing_resource_gets_the_hint_of_what_is_missing() {
        let hint = |m: &str| not_found(m).hint().unwrap_or_default();
        assert!(hint("Library file a.ps1 was not found").contains("mdep library list"));
        assert!(hint("Investigation package of 5382f7ea was not found").contains("has succeeded"));
        assert!(hint("Event (reportId 1, …) was not found").contains("ReportId"));
        assert!(hint("Machine 1e5b was not found").contains("check --tenant"));
    }
}

//! Clouds and their hosts: where to sign in, which API host to call and which resource
//! to ask a token for (`mde-api.md` §1, §2.2).
//!
//! The US Government resource URIs are not stated in Microsoft's docs; the values here
//! follow the third-party evidence collected in `mde-api.md` §1.3 (the API host as the
//! audience), and can be overridden in the configuration.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A Microsoft cloud that hosts Defender for Endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Cloud {
    /// Commercial (worldwide).
    #[default]
    Global,
    /// US Government Community Cloud.
    Gcc,
    /// GCC High.
    GccHigh,
    /// Department of Defense.
    Dod,
}

impl Cloud {
    /// Every cloud.
    pub const ALL: [Cloud; 4] = [Cloud::Global, Cloud::Gcc, Cloud::GccHigh, Cloud::Dod];

    /// Entra sign-in (token) host.
    pub fn login_host(self) -> &'static str {
        match self {
            Cloud::Global | Cloud::Gcc => "https://login.microsoftonline.com",
            Cloud::GccHigh | Cloud::Dod => "https://login.microsoftonline.us",
        }
    }

    /// Defender for Endpoint API host.
    pub fn api_host(self) -> &'static str {
        match self {
            Cloud::Global => "https://api.securitycenter.microsoft.com",
            Cloud::Gcc => "https://api-gcc.securitycenter.microsoft.us",
            Cloud::GccHigh | Cloud::Dod => "https://api-gov.securitycenter.microsoft.us",
        }
    }

    /// The resource (token audience) for the MDE API.
    pub fn resource(self) -> &'static str {
        self.api_host()
    }

    /// Microsoft Graph's root for this cloud, also the Graph token resource
    /// (`graph-security.md` §3: GCC uses the worldwide endpoints; GCC High
    /// `graph.microsoft.us`; DoD `dod-graph.microsoft.us`).
    pub fn graph_host(self) -> &'static str {
        match self {
            Cloud::Global | Cloud::Gcc => "https://graph.microsoft.com",
            Cloud::GccHigh => "https://graph.microsoft.us",
            Cloud::Dod => "https://dod-graph.microsoft.us",
        }
    }

    /// The name used in configuration files.
    pub fn name(self) -> &'static str {
        match self {
            Cloud::Global => "global",
            Cloud::Gcc => "gcc",
            Cloud::GccHigh => "gcc-high",
            Cloud::Dod => "dod",
        }
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Cloud {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Cloud::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown cloud '{s}': use global, gcc, gcc-high or dod"))
    }
}

/// A regional API host of the commercial cloud ("use a server closer to your
/// geolocation", `mde-api.md` §1.2): the current `*.api.security.microsoft.com` hosts and
/// the legacy `api-*.securitycenter.microsoft.com` ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Region {
    /// `us.api.security.microsoft.com`.
    #[serde(rename = "us")]
    Us,
    /// `eu.api.security.microsoft.com`.
    #[serde(rename = "eu")]
    Eu,
    /// `uk.api.security.microsoft.com`.
    #[serde(rename = "uk")]
    Uk,
    /// `au.api.security.microsoft.com`.
    #[serde(rename = "au")]
    Au,
    /// `swa.api.security.microsoft.com`.
    #[serde(rename = "swa")]
    Swa,
    /// `ina.api.security.microsoft.com`.
    #[serde(rename = "ina")]
    Ina,
    /// `aea.api.security.microsoft.com`.
    #[serde(rename = "aea")]
    Aea,
    /// Legacy `api-us.securitycenter.microsoft.com`.
    #[serde(rename = "api-us")]
    LegacyUs,
    /// Legacy `api-eu.securitycenter.microsoft.com`.
    #[serde(rename = "api-eu")]
    LegacyEu,
    /// Legacy `api-uk.securitycenter.microsoft.com`.
    #[serde(rename = "api-uk")]
    LegacyUk,
    /// Legacy `api-au.securitycenter.microsoft.com`.
    #[serde(rename = "api-au")]
    LegacyAu,
}

impl Region {
    /// Every region.
    pub const ALL: [Region; 11] = [
        Region::Us,
        Region::Eu,
        Region::Uk,
        Region::Au,
        Region::Swa,
        Region::Ina,
        Region::Aea,
        Region::LegacyUs,
        Region::LegacyEu,
        Region::LegacyUk,
        Region::LegacyAu,
    ];

    /// The name used in configuration files.
    pub fn name(self) -> &'static str {
        match self {
            Region::Us => "us",
            Region::Eu => "eu",
            Region::Uk => "uk",
            Region::Au => "au",
            Region::Swa => "swa",
            Region::Ina => "ina",
            Region::Aea => "aea",
            Region::LegacyUs => "api-us",
            Region::LegacyEu => "api-eu",
            Region::LegacyUk => "api-uk",
            Region::LegacyAu => "api-au",
        }
    }

    /// The API host.
    pub fn api_host(self) -> String {
        match self {
            Region::LegacyUs | Region::LegacyEu | Region::LegacyUk | Region::LegacyAu => {
                format!("https://{}.securitycenter.microsoft.com", self.name())
            }
            _ => format!("https://{}.api.security.microsoft.com", self.name()),
        }
    }
}

impl FromStr for Region {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Region::ALL
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown region '{s}': use us, eu, uk, au, swa, ina, aea, api-us, api-eu, api-uk or api-au")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The host table of `mde-api.md` §1.2–1.3, written out independently.
    #[test]
    fn hosts_match_the_reference_table() {
        assert_eq!(
            Cloud::Global.login_host(),
            "https://login.microsoftonline.com"
        );
        assert_eq!(Cloud::Gcc.login_host(), "https://login.microsoftonline.com");
        assert_eq!(
            Cloud::GccHigh.login_host(),
            "https://login.microsoftonline.us"
        );
        assert_eq!(Cloud::Dod.login_host(), "https://login.microsoftonline.us");
        assert_eq!(
            Cloud::Global.api_host(),
            "https://api.securitycenter.microsoft.com"
        );
        assert_eq!(
            Cloud::Gcc.api_host(),
            "https://api-gcc.securitycenter.microsoft.us"
        );
        assert_eq!(
            Cloud::GccHigh.api_host(),
            "https://api-gov.securitycenter.microsoft.us"
        );
        assert_eq!(
            Cloud::Dod.api_host(),
            "https://api-gov.securitycenter.microsoft.us"
        );
        let current: Vec<String> = ["us", "eu", "uk", "au", "swa", "ina", "aea"]
            .iter()
            .map(|r| r.parse::<Region>().expect("region").api_host())
            .collect();
        assert_eq!(current[6], "https://aea.api.security.microsoft.com");
        assert!(
            current
                .iter()
                .all(|h| h.ends_with(".api.security.microsoft.com"))
        );
        assert_eq!(
            Region::LegacyEu.api_host(),
            "https://api-eu.securitycenter.microsoft.com"
        );
        assert!("gcc-high".parse::<Cloud>().is_ok());
        assert!("mars".parse::<Region>().is_err());
    }
}

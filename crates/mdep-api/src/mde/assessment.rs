//! The assessment exports (`mde-api.md` §4.8, `get-assessment-*.md`): one [`Assessment`]
//! enum and one implementation for all of them — every row by JSON pages
//! ([`Client::assessment`]), or the links to its files ([`Client::assessment_files`]) and
//! each file downloaded and gunzipped ([`download_part`]).

use crate::entity::{Collection, ExportFiles};
use crate::error::ApiError;
use crate::tenant::Tenant;
use crate::transport::client::{Client, describe};
use serde_json::Value;
use std::io::Read;
use time::OffsetDateTime;

/// One of MDE's assessment exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Assessment {
    /// Vulnerabilities by device, product and CVE (`Vulnerability.Read.All`).
    SoftwareVulnerabilities,
    /// The changes of the vulnerabilities since a time, at most 14 days back; JSON only.
    SoftwareVulnerabilityChanges,
    /// Secure configurations by device (`Vulnerability.Read.All`).
    SecureConfigurations,
    /// Installed software with a CPE (`Software.Read.All`).
    SoftwareInventory,
    /// Installed software without a CPE (`Software.Read.All`).
    SoftwareInventoryNoProductCode,
    /// Browser extensions (`Software.Read.All`).
    BrowserExtensions,
    /// Certificates (`Vulnerability.Read.All`).
    Certificates,
}

impl Assessment {
    /// Every assessment.
    pub const ALL: [Self; 7] = [
        Self::SoftwareVulnerabilities,
        Self::SoftwareVulnerabilityChanges,
        Self::SecureConfigurations,
        Self::SoftwareInventory,
        Self::SoftwareInventoryNoProductCode,
        Self::BrowserExtensions,
        Self::Certificates,
    ];

    /// Its name on the command line and in file paths: `software-vulnerabilities`.
    pub fn name(self) -> &'static str {
        match self {
            Self::SoftwareVulnerabilities => "software-vulnerabilities",
            Self::SoftwareVulnerabilityChanges => "vulnerability-changes",
            Self::SecureConfigurations => "secure-configurations",
            Self::SoftwareInventory => "software-inventory",
            Self::SoftwareInventoryNoProductCode => "software-inventory-no-cpe",
            Self::BrowserExtensions => "browser-extensions",
            Self::Certificates => "certificates",
        }
    }

    /// The assessment named `name` (as [`Assessment::name`] writes it, any case).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name))
    }

    /// The JSON method: `/api/machines/SoftwareVulnerabilitiesByMachine`.
    pub fn json_path(self) -> &'static str {
        match self {
            Self::SoftwareVulnerabilities => "/api/machines/SoftwareVulnerabilitiesByMachine",
            Self::SoftwareVulnerabilityChanges => {
                "/api/machines/SoftwareVulnerabilityChangesByMachine"
            }
            Self::SecureConfigurations => "/api/machines/SecureConfigurationsAssessmentByMachine",
            Self::SoftwareInventory => "/api/machines/SoftwareInventoryByMachine",
            Self::SoftwareInventoryNoProductCode => {
                "/api/machines/SoftwareInventoryNoProductCodeByMachine"
            }
            Self::BrowserExtensions => "/api/machines/BrowserExtensionsInventoryByMachine",
            Self::Certificates => "/api/machines/CertificateAssessmentByMachine",
        }
    }

    /// The files method, if it has one: `/api/machines/SoftwareVulnerabilitiesExport`.
    pub fn export_path(self) -> Option<&'static str> {
        match self {
            Self::SoftwareVulnerabilities => Some("/api/machines/SoftwareVulnerabilitiesExport"),
            Self::SoftwareVulnerabilityChanges => None,
            Self::SecureConfigurations => {
                Some("/api/machines/SecureConfigurationsAssessmentExport")
            }
            Self::SoftwareInventory => Some("/api/machines/SoftwareInventoryExport"),
            Self::SoftwareInventoryNoProductCode => {
                Some("/api/machines/SoftwareInventoryNonCpeExport")
            }
            Self::BrowserExtensions => Some("/api/machines/BrowserExtensionsInventoryExport"),
            Self::Certificates => Some("/api/machines/CertificateAssessmentExport"),
        }
    }

    /// Whether the JSON method needs `sinceTime`.
    pub fn needs_since(self) -> bool {
        self == Self::SoftwareVulnerabilityChanges
    }

    /// The longest `sasValidHours` the files method takes (6, or 24 for the inventory
    /// without CPE and the certificates).
    pub fn max_sas_hours(self) -> u8 {
        match self {
            Self::SoftwareInventoryNoProductCode | Self::Certificates => 24,
            _ => 6,
        }
    }
}

impl std::fmt::Display for Assessment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One downloaded export file: its link, its gzip'd bytes, and its rows (one JSON
/// object a line).
#[derive(Debug, Clone)]
pub struct ExportPart {
    /// The link it came from.
    pub link: String,
    /// The file as served (gzip).
    pub bytes: Vec<u8>,
    /// Its rows.
    pub rows: Vec<Value>,
}

/// The rows of a gzip'd JSON lines file.
pub fn gunzip_rows(bytes: &[u8]) -> Result<Vec<Value>, String> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .map_err(|e| format!("not a gzip'd text file: {e}"))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("line {}: {e}", i + 1)))
        .collect()
}

/// Downloads one export file with `http`, without the tenant's token: the link carries
/// its own signature (a storage SAS link), and a token must never reach storage.
pub async fn download_part(
    http: &reqwest::Client,
    t: &Tenant,
    link: &str,
) -> Result<ExportPart, ApiError> {
    let unavailable = |message: String| ApiError::Unavailable {
        tenant: t.name.clone(),
        message,
        attempts: 1,
    };
    let decode = |message: String| ApiError::Decode {
        tenant: t.name.clone(),
        url: link.split('?').next().unwrap_or(link).to_owned(),
        message,
    };
    let r = http
        .get(link)
        .send()
        .await
        .map_err(|e| unavailable(format!("downloading an export file: {}", describe(&e))))?;
    let status = r.status().as_u16();
    let bytes = r
        .bytes()
        .await
        .map_err(|e| unavailable(format!("reading an export file: {}", describe(&e))))?
        .to_vec();
    if status != 200 {
        return Err(decode(format!(
            "the export file link answered {status}; links expire (sasValidHours): ask for the export again"
        )));
    }
    let rows = gunzip_rows(&bytes).map_err(decode)?;
    Ok(ExportPart {
        link: link.to_owned(),
        bytes,
        rows,
    })
}

impl Client {
    /// Every row of assessment `a` by its JSON method, `page_size` rows a request (MDE:
    /// default 50,000, at most 200,000), `since` for the changes (required there, at
    /// most 14 days back), following `@odata.nextLink` on the API host only and never
    /// twice.
    pub async fn assessment(
        &self,
        t: &Tenant,
        a: Assessment,
        page_size: Option<u32>,
        since: Option<OffsetDateTime>,
    ) -> Result<Vec<Value>, ApiError> {
        if a.needs_since() && since.is_none() {
            return Err(ApiError::Invalid(format!(
                "{a} needs a time to start from (sinceTime, at most 14 days back)"
            )));
        }
        let mut pairs: Vec<(String, String)> = Vec::new();
        if let Some(s) = since.filter(|_| a.needs_since()) {
            let s = s
                .to_offset(time::UtcOffset::UTC)
                .replace_nanosecond(0)
                .ok()
                .and_then(|s| {
                    s.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .unwrap_or_default();
            pairs.push(("sinceTime".to_owned(), s));
        }
        if let Some(n) = page_size {
            pairs.push(("pageSize".to_owned(), n.to_string()));
        }
        let mut url = self.url(a.json_path(), &pairs);
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        loop {
            if !seen.insert(url.clone()) || !self.trusted(&url) {
                return Err(ApiError::Paging {
                    tenant: t.name.clone(),
                    message: format!(
                        "the service sent a next link already read or off the API host ({url}); stopping"
                    ),
                });
            }
            let bytes = self.fetch(t, &url).await?;
            let page: Collection<Value> = crate::transport::decode::decode(t, &url, &bytes)?;
            out.extend(page.value);
            match page.next_link {
                Some(next) => url = next,
                None => return Ok(out),
            }
        }
    }

    /// The links to the files of assessment `a` (`sasValidHours` 1 to
    /// [`Assessment::max_sas_hours`]; MDE's default when `None`).
    pub async fn assessment_files(
        &self,
        t: &Tenant,
        a: Assessment,
        sas_valid_hours: Option<u8>,
    ) -> Result<ExportFiles, ApiError> {
        let Some(path) = a.export_path() else {
            return Err(ApiError::Invalid(format!(
                "{a} has no files export: read it as JSON"
            )));
        };
        if let Some(h) = sas_valid_hours.filter(|h| !(1..=a.max_sas_hours()).contains(h)) {
            return Err(ApiError::Invalid(format!(
                "sasValidHours {h}: {a} links last 1 to {} hours",
                a.max_sas_hours()
            )));
        }
        let pairs: Vec<(String, String)> = sas_valid_hours
            .map(|h| ("sasValidHours".to_owned(), h.to_string()))
            .into_iter()
            .collect();
        let url = self.url(path, &pairs);
        let bytes = self.fetch(t, &url).await?;
        crate::transport::decode::decode(t, &url, &bytes)
    }

    /// `GET /api/machines/SoftwareVulnerabilitiesByMachine`: [`Client::assessment`] of
    /// [`Assessment::SoftwareVulnerabilities`].
    pub async fn assessment_by_machine(
        &self,
        t: &Tenant,
        page_size: Option<u32>,
    ) -> Result<Vec<Value>, ApiError> {
        self.assessment(t, Assessment::SoftwareVulnerabilities, page_size, None)
            .await
    }

    /// `GET /api/machines/SoftwareVulnerabilitiesExport?sasValidHours=N` (1–6), as JSON.
    pub async fn assessment_export(
        &self,
        t: &Tenant,
        sas_valid_hours: u8,
    ) -> Result<Value, ApiError> {
        let f = self
            .assessment_files(
                t,
                Assessment::SoftwareVulnerabilities,
                Some(sas_valid_hours),
            )
            .await?;
        serde_json::to_value(&f).map_err(|e| ApiError::Invalid(e.to_string()))
    }
}

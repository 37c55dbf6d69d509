//! The partner's configuration: one TOML file holding the partner app, the cloud, and
//! every customer tenant. Reference: `docs/config.md`.

use crate::credential::{AssertionStyle, CertificateCredential, ClientCredential};
use crate::secret::Secret;
use mdep_model::{Cloud, Region};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The token endpoint version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenVersion {
    /// `/oauth2/token` with `resource=`.
    V1,
    /// `/oauth2/v2.0/token` with `scope=<resource>/.default`.
    #[default]
    V2,
}

/// The file's text, or [`ConfigError::Read`].
fn read_text(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Makes [`ConfigError::Invalid`] errors about `path`.
fn invalid_in(path: &Path) -> impl Fn(String) -> ConfigError + '_ {
    move |message| ConfigError::Invalid {
        path: path.to_owned(),
        message,
    }
}

/// The partner app (`[partner]`), or the app that registers it (`[bootstrap]`): a client
/// id and one credential.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partner {
    /// Application (client) id.
    pub client_id: uuid::Uuid,
    /// The app's home tenant (id or domain): where `mdep app` signs in with the
    /// `[bootstrap]` app (required there).
    pub tenant: Option<String>,
    /// Environment variable holding the client secret.
    pub secret_env: Option<String>,
    /// File holding the client secret (first line).
    pub secret_file: Option<PathBuf>,
    /// A secret written in the config itself: accepted with a warning, never recommended.
    pub client_secret: Option<String>,
    /// PEM file with the certificate and its private key.
    pub certificate: Option<PathBuf>,
    /// How certificate assertions are signed (`ps256`, default, or `rs256`).
    #[serde(default)]
    pub certificate_style: AssertionStyle,
    /// A PFX (PKCS#12) file with the certificate and its private key.
    pub pfx: Option<PathBuf>,
    /// Environment variable holding the PFX password (neither this nor
    /// `pfx_password_file`: the file has no password).
    pub pfx_password_env: Option<String>,
    /// File holding the PFX password (first line).
    pub pfx_password_file: Option<PathBuf>,
}

/// A customer tenant.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TenantEntry {
    /// A short name the commands accept (`--tenant Contoso`).
    pub name: String,
    /// Tenant id (GUID) or verified domain.
    pub tenant: String,
    /// Tags for selecting groups of tenants (`--tag eu`).
    #[serde(default)]
    pub tags: Vec<String>,
}

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The partner app.
    pub partner: Partner,
    /// The app holding Microsoft Graph's `Application.ReadWrite.All` in the partner's
    /// home tenant, which `mdep app` signs in with to register and change the partner app.
    pub bootstrap: Option<Partner>,
    /// The cloud.
    #[serde(default)]
    pub cloud: Cloud,
    /// A regional API host (commercial cloud only).
    pub region: Option<Region>,
    /// Token endpoint version.
    #[serde(default)]
    pub token_version: TokenVersion,
    /// The WindowsDefenderATP application permissions the integration needs.
    #[serde(default)]
    pub required_permissions: Vec<String>,
    /// Overrides the cloud's sign-in host (e.g. the emulator's base URL).
    pub authority_host: Option<String>,
    /// Overrides the API host (e.g. the emulator's base URL).
    pub api_base: Option<String>,
    /// Overrides the token resource.
    pub resource: Option<String>,
    /// The Microsoft Graph application permissions the integration needs (checked by
    /// `mdep tenants check` beside `required_permissions`).
    #[serde(default)]
    pub required_graph_permissions: Vec<String>,
    /// Overrides the Microsoft Graph host (e.g. the emulator's base URL).
    pub graph_base: Option<String>,
    /// Overrides the Microsoft Graph token resource.
    pub graph_resource: Option<String>,
    /// Extra CA certificate (PEM) to trust, e.g. the emulator's `ca.pem`.
    pub ca_file: Option<PathBuf>,
    /// Customer tenants.
    #[serde(default)]
    pub tenants: Vec<TenantEntry>,
    /// How the MDE API is called (`[api]`): User-Agent, client-side limits, retries.
    #[serde(default)]
    pub api: ApiSettings,
    /// The local database `mdep sync` and `mdep db` use (`[sync]`).
    #[serde(default)]
    pub sync: SyncSettings,
}

/// The `[sync]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSettings {
    /// `sqlite:PATH` or `postgres://…`; the platform data path when absent.
    pub db: Option<String>,
}

/// The `[api]` table: every key optional, MDE's documented values by default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSettings {
    /// `{Company}` in the `MdePartner-{Company}-{Product}/{Version}` User-Agent.
    pub company: Option<String>,
    /// `{Product}` in the User-Agent.
    pub product: Option<String>,
    /// `{Version}` in the User-Agent.
    pub product_version: Option<String>,
    /// Client-side calls a minute per tenant (MDE: 100).
    pub calls_per_minute: Option<u32>,
    /// Client-side calls an hour per tenant (MDE: 1,500).
    pub calls_per_hour: Option<u32>,
    /// Advanced hunting calls a minute per tenant (MDE: 45).
    pub hunting_calls_per_minute: Option<u32>,
    /// Advanced hunting calls an hour per tenant (MDE: 1,500).
    pub hunting_calls_per_hour: Option<u32>,
    /// Longest `Retry-After` to wait on a 429 before the tenant's call fails (600).
    pub max_retry_wait_seconds: Option<u64>,
    /// Attempts for 5xx, timeouts and dropped connections (5).
    pub max_attempts: Option<u32>,
    /// Items per page when listing (10,000).
    pub page_size: Option<u64>,
    /// Tenants called at once in a fan-out (32; `mdep sync` uses it too, else 8).
    pub concurrency: Option<usize>,
    /// Microsoft Graph security calls a minute per tenant (Graph: 150).
    pub graph_calls_per_minute: Option<u32>,
    /// Microsoft Graph `runHuntingQuery` calls a minute per tenant (Graph: 45).
    pub graph_hunting_calls_per_minute: Option<u32>,
}

/// A configuration problem.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file is missing or unreadable.
    #[error("{path}: {source} (create one with `mdep config init`)")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// TOML or schema error.
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Line.
        line: usize,
        /// Column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A rule is broken.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Writing failed.
    #[error("{path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// A loaded configuration with the warnings it deserves.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The configuration.
    pub config: Config,
    /// Where it came from.
    pub path: PathBuf,
    /// Things a person should fix (plain-text secrets, loose file modes).
    pub warnings: Vec<String>,
}

/// The platform's default config path (`~/.config/mdep/config.toml` on Linux).
pub fn default_path() -> PathBuf {
    dirs::config_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("mdep")
        .join("config.toml")
}

fn expand(p: &Path) -> PathBuf {
    match p.to_str().and_then(|s| s.strip_prefix("~/")) {
        Some(rest) => dirs::home_dir().map_or_else(|| p.to_owned(), |h| h.join(rest)),
        None => p.to_owned(),
    }
}

fn is_domain(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

/// True when `s` is a tenant id (GUID) or a domain.
pub fn valid_tenant(s: &str) -> bool {
    uuid::Uuid::try_parse(s).is_ok() || is_domain(s)
}

/// Checks that `p` (the `[section]` table) names exactly one credential.
fn check_credential(
    p: &Partner,
    section: &str,
    invalid: &impl Fn(String) -> ConfigError,
) -> Result<(), ConfigError> {
    let sources = [
        p.secret_env.is_some(),
        p.secret_file.is_some(),
        p.client_secret.is_some(),
        p.certificate.is_some(),
        p.pfx.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if sources != 1 {
        return Err(invalid(format!(
            "[{section}] needs exactly one credential: secret_env, secret_file, certificate or pfx (found {sources})"
        )));
    }
    if (p.pfx_password_env.is_some() || p.pfx_password_file.is_some()) && p.pfx.is_none() {
        return Err(invalid(format!(
            "[{section}] pfx_password_env or pfx_password_file is set without pfx: name the PFX file (pfx = \"app.pfx\") or drop the key"
        )));
    }
    if p.pfx_password_env.is_some() && p.pfx_password_file.is_some() {
        return Err(invalid(format!(
            "[{section}] the PFX password comes from one place: pfx_password_env or pfx_password_file, not both"
        )));
    }
    Ok(())
}

impl Config {
    /// Parses and checks configuration text.
    pub fn parse(text: &str, path: &Path) -> Result<Loaded, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            let before = &text[..span.start.min(text.len())];
            ConfigError::Parse {
                path: path.to_owned(),
                line: before.matches('\n').count() + 1,
                column: before
                    .rfind('\n')
                    .map_or(before.len(), |i| before.len() - i - 1)
                    + 1,
                message: e.message().trim().to_owned(),
            }
        })?;
        let invalid = invalid_in(path);
        check_credential(&config.partner, "partner", &invalid)?;
        if let Some(b) = &config.bootstrap {
            check_credential(b, "bootstrap", &invalid)?;
            if !b.tenant.as_deref().is_some_and(valid_tenant) {
                return Err(invalid(
                    "[bootstrap] needs tenant: the partner's home tenant (GUID or domain) the bootstrap app signs in to".into(),
                ));
            }
        }
        let p = &config.partner;
        let mut warnings = Vec::new();
        if p.client_secret.is_some() {
            warnings.push(format!(
                "{}: the client secret is written in the config in plain text; move it to an environment variable (secret_env) or a file (secret_file)",
                path.display()
            ));
        }
        for perm in &config.required_permissions {
            if mdep_model::permissions::app_role(perm).is_none() {
                return Err(invalid(format!(
                    "required_permissions: '{perm}' is not a WindowsDefenderATP application permission"
                )));
            }
        }
        for perm in &config.required_graph_permissions {
            if mdep_model::permissions::graph_app_role(perm).is_none() {
                return Err(invalid(format!(
                    "required_graph_permissions: '{perm}' is not a Microsoft Graph application permission mdep knows ({})",
                    mdep_model::permissions::GRAPH_APP_ROLES
                        .iter()
                        .map(|r| r.value)
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        if config.region.is_some() && config.cloud != Cloud::Global {
            return Err(invalid(format!(
                "region applies to the global cloud only, not {}",
                config.cloud
            )));
        }
        for (key, value) in [
            ("authority_host", &config.authority_host),
            ("api_base", &config.api_base),
            ("graph_base", &config.graph_base),
        ] {
            if let Some(v) = value
                && !(v.starts_with("https://")
                    || v.starts_with("http://127.0.0.1")
                    || v.starts_with("http://localhost"))
            {
                return Err(invalid(format!(
                    "{key} '{v}' must be an https URL (http only for 127.0.0.1/localhost)"
                )));
            }
        }
        let mut names = std::collections::HashSet::new();
        for t in &config.tenants {
            if t.name.trim().is_empty() {
                return Err(invalid("a tenant has an empty name".into()));
            }
            if !names.insert(t.name.to_ascii_lowercase()) {
                return Err(invalid(format!("tenant name '{}' appears twice", t.name)));
            }
            if !valid_tenant(&t.tenant) {
                return Err(invalid(format!(
                    "tenant '{}': '{}' is neither a GUID nor a domain",
                    t.name, t.tenant
                )));
            }
        }
        Ok(Loaded {
            config,
            path: path.to_owned(),
            warnings,
        })
    }

    /// Reads and checks a configuration file, warning about loose permissions.
    pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
        let text = read_text(path)?;
        let mut loaded = Self::parse(&text, path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if let Ok(meta) = std::fs::metadata(path) {
                let mode = meta.permissions().mode();
                if mode & 0o077 != 0 {
                    loaded.warnings.push(format!(
                        "{} is readable by group or others (mode {:o}); run `chmod 600 {}`",
                        path.display(),
                        mode & 0o777,
                        path.display()
                    ));
                }
            }
        }
        Ok(loaded)
    }

    /// The sign-in host.
    pub fn authority(&self) -> String {
        self.authority_host
            .clone()
            .unwrap_or_else(|| self.cloud.login_host().to_owned())
            .trim_end_matches('/')
            .to_owned()
    }

    /// The API base.
    pub fn api_base(&self) -> String {
        self.api_base
            .clone()
            .or_else(|| self.region.map(Region::api_host))
            .unwrap_or_else(|| self.cloud.api_host().to_owned())
            .trim_end_matches('/')
            .to_owned()
    }

    /// The token resource.
    pub fn resource(&self) -> String {
        self.resource
            .clone()
            .unwrap_or_else(|| self.cloud.resource().to_owned())
    }

    /// The Microsoft Graph host: `graph_base`, else the cloud's (`graph.microsoft.com`,
    /// `graph.microsoft.us`, `dod-graph.microsoft.us`).
    pub fn graph_base(&self) -> String {
        self.graph_base
            .clone()
            .unwrap_or_else(|| self.cloud.graph_host().to_owned())
            .trim_end_matches('/')
            .to_owned()
    }

    /// The Microsoft Graph token resource: `graph_resource`, else the cloud's Graph host.
    pub fn graph_resource(&self) -> String {
        self.graph_resource
            .clone()
            .unwrap_or_else(|| self.cloud.graph_host().to_owned())
    }

    /// Reads the partner app's credential from where the config says it is.
    pub fn credential(&self, base: &Path) -> Result<ClientCredential, ConfigError> {
        self.partner.credential(base)
    }

    /// Finds a tenant by name (case-insensitive), id or domain.
    pub fn find_tenant(&self, key: &str) -> Option<&TenantEntry> {
        self.tenants
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(key) || t.tenant.eq_ignore_ascii_case(key))
    }
}

impl Partner {
    /// Reads this app's credential; relative paths are relative to the config file `base`.
    pub fn credential(&self, base: &Path) -> Result<ClientCredential, ConfigError> {
        let p = self;
        let invalid = invalid_in(base);
        let rel = |f: &Path| {
            let f = expand(f);
            if f.is_relative() {
                base.parent().unwrap_or(Path::new(".")).join(f)
            } else {
                f
            }
        };
        if let Some(var) = &p.secret_env {
            let v = std::env::var(var).map_err(|_| {
                invalid(format!(
                    "the client secret's environment variable {var} is not set"
                ))
            })?;
            if v.trim().is_empty() {
                return Err(invalid(format!("the environment variable {var} is empty")));
            }
            return Ok(ClientCredential::Secret(Secret::new(v.trim())));
        }
        if let Some(f) = &p.secret_file {
            let f = rel(f);
            let v = std::fs::read_to_string(&f)
                .map_err(|e| invalid(format!("secret_file {}: {e}", f.display())))?;
            let v = v.lines().next().unwrap_or("").trim().to_owned();
            if v.is_empty() {
                return Err(invalid(format!("secret_file {} is empty", f.display())));
            }
            return Ok(ClientCredential::Secret(Secret::new(v)));
        }
        if let Some(v) = &p.client_secret {
            return Ok(ClientCredential::Secret(Secret::new(v.clone())));
        }
        if let Some(f) = &p.certificate {
            let f = rel(f);
            let pem = std::fs::read_to_string(&f)
                .map_err(|e| invalid(format!("certificate {}: {e}", f.display())))?;
            return CertificateCredential::from_pem(&pem, p.certificate_style)
                .map(ClientCredential::Certificate)
                .map_err(|e| invalid(format!("certificate {}: {e}", f.display())));
        }
        if let Some(f) = &p.pfx {
            let f = rel(f);
            let der =
                std::fs::read(&f).map_err(|e| invalid(format!("pfx {}: {e}", f.display())))?;
            let password = match (&p.pfx_password_env, &p.pfx_password_file) {
                (Some(var), _) => Secret::new(std::env::var(var).map_err(|_| {
                    invalid(format!(
                        "pfx {}: the password's environment variable {var} is not set",
                        f.display()
                    ))
                })?),
                (None, Some(pf)) => {
                    let pf = rel(pf);
                    let v = std::fs::read_to_string(&pf)
                        .map_err(|e| invalid(format!("pfx_password_file {}: {e}", pf.display())))?;
                    Secret::new(v.lines().next().unwrap_or("").trim_end_matches('\r'))
                }
                (None, None) => Secret::new(""),
            };
            return CertificateCredential::from_pkcs12(
                &der,
                password.expose(),
                p.certificate_style,
            )
            .map(ClientCredential::Certificate)
            .map_err(|e| invalid(format!("pfx {}: {e}", f.display())));
        }
        Err(invalid("the app has no credential".into()))
    }
}

/// The commented starting file `mdep config init` writes.
pub fn template(client_id: Option<&str>) -> String {
    format!(
        r#"# mdep configuration: the partner app and every customer tenant.
# Reference: docs/config.md. Keep this file private (mode 600).

# Cloud: global, gcc, gcc-high or dod.
cloud = "global"
# A regional API host (global cloud): us, eu, uk, au, swa, ina, aea, api-us, api-eu, api-uk, api-au.
# `mdep regions probe --write` sets the fastest from here.
# region = "eu"
# Token endpoint: v2 (/oauth2/v2.0/token, scope=<resource>/.default) or v1 (/oauth2/token, resource=).
token_version = "v2"

# The permissions your integration needs; `mdep tenants check` reports who lacks which.
required_permissions = ["Alert.Read.All", "Machine.Read.All"]
# Microsoft Graph permissions (hunting, alerts_v2, incidents).
# required_graph_permissions = ["ThreatHunting.Read.All", "SecurityAlert.Read.All", "SecurityIncident.Read.All"]

# Point everything at the local emulator (mdep emulator serve) instead of Microsoft:
# authority_host = "https://127.0.0.1:8443"
# api_base = "https://127.0.0.1:8443"
# graph_base = "https://127.0.0.1:8443"
# ca_file = "~/.local/state/mdep/emulator/ca.pem"

# The multi-tenant app registered in your own tenant (Entra ID > App registrations),
# with WindowsDefenderATP application permissions.
[partner]
client_id = "{}"
# One credential. The secret is never written here: name where to read it.
secret_env = "MDEP_CLIENT_SECRET"
# secret_file = "~/.config/mdep/client-secret"
# certificate = "~/.config/mdep/partner.pem"   # PEM with the certificate and its private key
# certificate_style = "ps256"                  # ps256 (x5t#S256) or rs256 (x5t)
# pfx = "~/.config/mdep/partner.pfx"         # or a PKCS#12 file (AES or legacy 3DES/RC2)
# pfx_password_env = "MDEP_PFX_PASSWORD"      # the variable holding its password (or pfx_password_file)

# Customer tenants: add them with `mdep tenants add NAME --tenant ID-OR-DOMAIN [--tag T]`.
# [[tenants]]
# name = "Contoso"
# tenant = "contoso.onmicrosoft.com"
# tags = ["eu"]
"#,
        client_id.unwrap_or("00000000-0000-0000-0000-000000000000")
    )
}

/// Writes a file readable by its owner only, atomically.
pub fn write_private(path: &Path, contents: &str) -> Result<(), ConfigError> {
    let err = |source| ConfigError::Write {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let tmp = path.with_extension("toml.tmp");
    {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(err)?;
        f.write_all(contents.as_bytes()).map_err(err)?;
        f.sync_all().map_err(err)?;
    }
    std::fs::rename(&tmp, path).map_err(err)
}

/// Adds a tenant to the file, keeping its comments and layout.
pub fn add_tenant(path: &Path, entry: &TenantEntry) -> Result<(), ConfigError> {
    let text = read_text(path)?;
    let loaded = Config::parse(&text, path)?;
    let invalid = invalid_in(path);
    if !valid_tenant(&entry.tenant) {
        return Err(invalid(format!(
            "'{}' is neither a tenant id (GUID) nor a domain",
            entry.tenant
        )));
    }
    if loaded
        .config
        .tenants
        .iter()
        .any(|t| t.name.eq_ignore_ascii_case(&entry.name))
    {
        return Err(invalid(format!(
            "a tenant named '{}' exists already",
            entry.name
        )));
    }
    if let Some(t) = loaded
        .config
        .tenants
        .iter()
        .find(|t| t.tenant.eq_ignore_ascii_case(&entry.tenant))
    {
        return Err(invalid(format!(
            "tenant {} is configured already as '{}'",
            entry.tenant, t.name
        )));
    }
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| invalid(e.to_string()))?;
    let mut table = toml_edit::Table::new();
    table.insert("name", toml_edit::value(entry.name.clone()));
    table.insert("tenant", toml_edit::value(entry.tenant.clone()));
    if !entry.tags.is_empty() {
        let mut arr = toml_edit::Array::new();
        for t in &entry.tags {
            arr.push(t.clone());
        }
        table.insert("tags", toml_edit::value(arr));
    }
    match doc.get_mut("tenants") {
        Some(item) => item
            .as_array_of_tables_mut()
            .ok_or_else(|| invalid("'tenants' must be an array of tables ([[tenants]])".into()))?
            .push(table),
        None => {
            let mut arr = toml_edit::ArrayOfTables::new();
            arr.push(table);
            doc.insert("tenants", toml_edit::Item::ArrayOfTables(arr));
        }
    }
    let out = doc.to_string();
    Config::parse(&out, path)?;
    write_private(path, &out)
}

/// Sets `region = "<name>"` in the file (replacing the key's value where it stands, or
/// adding it among the top-level keys), keeping its comments and other keys.
pub fn set_region(path: &Path, region: Region) -> Result<(), ConfigError> {
    let text = read_text(path)?;
    let loaded = Config::parse(&text, path)?;
    let invalid = invalid_in(path);
    if loaded.config.cloud != Cloud::Global {
        return Err(invalid(format!(
            "region applies to the global cloud only, not {}",
            loaded.config.cloud
        )));
    }
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| invalid(e.to_string()))?;
    match doc.get_mut("region").and_then(|i| i.as_value_mut()) {
        Some(v) => {
            // Keeps the comment after the value and the spacing around it.
            let decor = v.decor().clone();
            *v = region.name().into();
            *v.decor_mut() = decor;
        }
        None => {
            doc.insert("region", toml_edit::value(region.name()));
        }
    }
    let out = doc.to_string();
    Config::parse(&out, path)?;
    write_private(path, &out)
}

/// Removes a tenant by name, id or domain; returns the removed entry.
pub fn remove_tenant(path: &Path, key: &str) -> Result<TenantEntry, ConfigError> {
    let text = read_text(path)?;
    let loaded = Config::parse(&text, path)?;
    let invalid = invalid_in(path);
    let entry = loaded
        .config
        .find_tenant(key)
        .cloned()
        .ok_or_else(|| invalid(format!("no tenant named '{key}'")))?;
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| invalid(e.to_string()))?;
    if let Some(arr) = doc
        .get_mut("tenants")
        .and_then(|i| i.as_array_of_tables_mut())
    {
        arr.retain(|t| t.get("name").and_then(|n| n.as_str()) != Some(entry.name.as_str()));
    }
    write_private(path, &doc.to_string())?;
    Ok(entry)
}

pub mod edit;

#[cfg(test)]
mod tests;

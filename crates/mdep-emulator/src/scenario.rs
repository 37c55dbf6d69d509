//! Scenario files (TOML): the tenants, apps, credentials and consents an emulator starts
//! with. Reference: `docs/scenario.md`. A scenario with any error is refused whole, with
//! the file, line and reason; nothing of it is applied.

use crate::crypto::SecretHasher;
use crate::directory::{Directory, DirectoryError, NewAdmin, NewApp, NewTenant};
use crate::state::{Emulator, StateError};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;
use toml::Spanned;
use uuid::Uuid;

/// A scenario that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A syntax, type or rule error at a place in the file.
    #[error("{path}:{line}:{column}: {message}")]
    At {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// Applying it failed (storage).
    #[error("applying the scenario: {0}")]
    Apply(#[from] StateError),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    emulator: EmulatorSection,
    #[serde(default)]
    tenants: Vec<Spanned<TenantEntry>>,
    #[serde(default)]
    apps: Vec<Spanned<AppEntry>>,
    #[serde(default)]
    consents: Vec<Spanned<ConsentEntry>>,
    #[serde(default)]
    faults: Vec<Spanned<crate::defender::faults::FaultSpec>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmulatorSection {
    admin_key: Option<Spanned<String>>,
    token_lifetime_minutes: Option<Spanned<u32>>,
    key_grace_minutes: Option<Spanned<u32>>,
    mde_calls_per_minute: Option<Spanned<u32>>,
    mde_calls_per_hour: Option<Spanned<u32>>,
    mde_page_size: Option<Spanned<u32>>,
    machine_action_seconds: Option<Spanned<u32>>,
    hunting_calls_per_minute: Option<Spanned<u32>>,
    hunting_calls_per_hour: Option<Spanned<u32>>,
    hunting_cpu_ms_per_hour: Option<Spanned<u32>>,
    hunting_cpu_ms_per_day: Option<Spanned<u32>>,
    hunting_cpu_ms_per_request: Option<Spanned<u32>>,
    graph_calls_per_minute: Option<Spanned<u32>>,
    graph_hunting_calls_per_minute: Option<Spanned<u32>>,
    tenants_in_memory: Option<Spanned<u32>>,
    clock: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantEntry {
    id: Spanned<Uuid>,
    name: String,
    domain: Option<Spanned<String>>,
    admin: AdminEntry,
    #[serde(default)]
    devices: u32,
    #[serde(default)]
    alerts: u32,
    #[serde(default)]
    seed: u64,
    licence: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdminEntry {
    user: String,
    password: String,
}

impl std::fmt::Debug for AdminEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminEntry")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AppEntry {
    client_id: Spanned<Uuid>,
    name: String,
    home_tenant: Spanned<Uuid>,
    #[serde(default = "yes")]
    multi_tenant: bool,
    #[serde(default)]
    redirect_uris: Vec<Spanned<String>>,
    #[serde(default)]
    permissions: Vec<Spanned<String>>,
    #[serde(default)]
    graph_permissions: Vec<Spanned<String>>,
    #[serde(default)]
    secrets: Vec<Spanned<SecretEntry>>,
    #[serde(default)]
    certificates: Vec<Spanned<CertEntry>>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretEntry {
    value: String,
    expires: Option<Spanned<String>>,
}

impl std::fmt::Debug for SecretEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretEntry")
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CertEntry {
    pem: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsentEntry {
    tenant: Spanned<Uuid>,
    app: Spanned<Uuid>,
    roles: Option<Vec<Spanned<String>>>,
}

/// One change a scenario makes, in order.
#[derive(Debug, Clone)]
enum Op {
    Tenant(NewTenantOwned),
    App(NewApp),
    Secret {
        app: Uuid,
        value: String,
        expires: Option<OffsetDateTime>,
    },
    Certificate {
        app: Uuid,
        pem: Vec<u8>,
    },
    Consent {
        tenant: Uuid,
        app: Uuid,
        roles: Option<Vec<String>>,
    },
}

#[derive(Debug, Clone)]
struct NewTenantOwned(NewTenant);

/// What applying a scenario did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ApplySummary {
    /// Tenants created.
    pub tenants: usize,
    /// Apps registered.
    pub apps: usize,
    /// Consents granted.
    pub consents: usize,
    /// Objects skipped because the database already had them.
    pub skipped: usize,
}

/// A validated scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    path: PathBuf,
    admin_key: Option<String>,
    token_lifetime_minutes: Option<u32>,
    key_grace_minutes: Option<u32>,
    defender: crate::defender::DefenderSettings,
    faults: Vec<crate::defender::faults::FaultSpec>,
    ops: Vec<Op>,
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.len(), |i| before.len() - i - 1)
        + 1;
    (line, col)
}

impl Scenario {
    /// Reads and validates a scenario file.
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Validates scenario text; `path` names it in errors and anchors relative file paths.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ScenarioError> {
        let at = |span: std::ops::Range<usize>, message: String| {
            let (line, column) = line_col(text, span.start);
            ScenarioError::At {
                path: path.to_owned(),
                line,
                column,
                message,
            }
        };
        let file: File = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            at(span, e.message().trim().to_owned())
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut ops = Vec::new();
        // Replay on a scratch directory so every rule is checked before anything is applied.
        let mut scratch = Directory::default();
        let hasher = SecretHasher::new(b"scenario-validation");
        let dir_err = |span: std::ops::Range<usize>, e: DirectoryError| at(span, e.to_string());
        if let Some(m) = &file.emulator.token_lifetime_minutes
            && !(5..=1440).contains(m.get_ref())
        {
            return Err(at(
                m.span(),
                format!(
                    "token_lifetime_minutes must be 5 to 1440, not {}",
                    m.get_ref()
                ),
            ));
        }
        if let Some(k) = &file.emulator.admin_key
            && k.get_ref().len() < 16
        {
            return Err(at(
                k.span(),
                "admin_key must be at least 16 characters".into(),
            ));
        }
        let mut defender = crate::defender::DefenderSettings::default();
        for (key, value, min, max) in [
            (
                "mde_calls_per_minute",
                &file.emulator.mde_calls_per_minute,
                1,
                1_000_000,
            ),
            (
                "mde_calls_per_hour",
                &file.emulator.mde_calls_per_hour,
                1,
                100_000_000,
            ),
            ("mde_page_size", &file.emulator.mde_page_size, 1, 10_000),
            (
                "machine_action_seconds",
                &file.emulator.machine_action_seconds,
                0,
                86_400,
            ),
            (
                "hunting_calls_per_minute",
                &file.emulator.hunting_calls_per_minute,
                1,
                1_000_000,
            ),
            (
                "hunting_calls_per_hour",
                &file.emulator.hunting_calls_per_hour,
                1,
                100_000_000,
            ),
            (
                "hunting_cpu_ms_per_hour",
                &file.emulator.hunting_cpu_ms_per_hour,
                0,
                3_600_000,
            ),
            (
                "hunting_cpu_ms_per_day",
                &file.emulator.hunting_cpu_ms_per_day,
                0,
                86_400_000,
            ),
            (
                "hunting_cpu_ms_per_request",
                &file.emulator.hunting_cpu_ms_per_request,
                0,
                3_600_000,
            ),
            (
                "graph_calls_per_minute",
                &file.emulator.graph_calls_per_minute,
                1,
                1_000_000,
            ),
            (
                "graph_hunting_calls_per_minute",
                &file.emulator.graph_hunting_calls_per_minute,
                1,
                1_000_000,
            ),
            (
                "tenants_in_memory",
                &file.emulator.tenants_in_memory,
                1,
                1_000_000,
            ),
        ] {
            let Some(v) = value else { continue };
            let n = *v.get_ref();
            if !(min..=max).contains(&n) {
                return Err(at(
                    v.span(),
                    format!("{key} must be {min} to {max}, not {n}"),
                ));
            }
            match key {
                "mde_calls_per_minute" => defender.limits.per_minute = n,
                "mde_calls_per_hour" => defender.limits.per_hour = n,
                "mde_page_size" => defender.page_size = n as usize,
                "hunting_calls_per_minute" => defender.hunting_limits.per_minute = n,
                "hunting_calls_per_hour" => defender.hunting_limits.per_hour = n,
                "hunting_cpu_ms_per_hour" => defender.hunting_cpu.per_hour_ms = u64::from(n),
                "hunting_cpu_ms_per_day" => defender.hunting_cpu.per_day_ms = u64::from(n),
                "hunting_cpu_ms_per_request" => {
                    defender.hunting_cpu.per_request_ms = u64::from(n);
                }
                "graph_calls_per_minute" => defender.graph_limits.per_minute = n,
                "graph_hunting_calls_per_minute" => defender.graph_hunting_limits.per_minute = n,
                "tenants_in_memory" => defender.tenants_in_memory = n as usize,
                _ => defender.action_seconds = n,
            }
        }
        if let Some(c) = &file.emulator.clock {
            let parsed = time::OffsetDateTime::parse(
                c.get_ref(),
                &time::format_description::well_known::Rfc3339,
            )
            .map_err(|_| {
                at(
                    c.span(),
                    format!(
                        "clock must be an RFC 3339 date-time such as 2026-11-01T00:00:00Z, not '{}'",
                        c.get_ref()
                    ),
                )
            })?;
            defender.clock = Some(parsed);
        }
        for f in &file.faults {
            f.get_ref()
                .validate()
                .map_err(|m| at(f.span(), format!("fault: {m}")))?;
        }
        for t in &file.tenants {
            let entry = t.get_ref();
            let req = NewTenant {
                id: Some(*entry.id.get_ref()),
                name: entry.name.clone(),
                domain: entry.domain.as_ref().map(|d| d.get_ref().clone()),
                admin: NewAdmin {
                    user: entry.admin.user.clone(),
                    password: entry.admin.password.clone(),
                },
                devices: entry.devices,
                alerts: entry.alerts,
                seed: entry.seed,
                licence: match &entry.licence {
                    Some(l) => l.get_ref().parse().map_err(|m: String| at(l.span(), m))?,
                    None => Default::default(),
                },
            };
            let span = match (&entry.domain, &req.domain) {
                (Some(d), _) => d.span(),
                _ => t.span(),
            };
            scratch.create_tenant(req.clone()).map_err(|e| match e {
                DirectoryError::Conflict(m) if m.starts_with("tenant") => at(entry.id.span(), m),
                other => dir_err(span.clone(), other),
            })?;
            ops.push(Op::Tenant(NewTenantOwned(req)));
        }
        for a in &file.apps {
            let entry = a.get_ref();
            let req = NewApp {
                client_id: Some(*entry.client_id.get_ref()),
                name: entry.name.clone(),
                home_tenant: *entry.home_tenant.get_ref(),
                multi_tenant: entry.multi_tenant,
                redirect_uris: entry
                    .redirect_uris
                    .iter()
                    .map(|r| r.get_ref().clone())
                    .collect(),
                permissions: entry
                    .permissions
                    .iter()
                    .chain(&entry.graph_permissions)
                    .map(|p| p.get_ref().clone())
                    .collect(),
            };
            for r in &entry.redirect_uris {
                crate::directory::check_redirect_uri(r.get_ref())
                    .map_err(|e| dir_err(r.span(), e))?;
            }
            for p in &entry.permissions {
                crate::directory::check_mde_permissions(std::slice::from_ref(p.get_ref()))
                    .map_err(|e| dir_err(p.span(), e))?;
            }
            for p in &entry.graph_permissions {
                crate::directory::check_graph_permissions(std::slice::from_ref(p.get_ref()))
                    .map_err(|e| dir_err(p.span(), e))?;
            }
            scratch.register_app(req.clone()).map_err(|e| match e {
                DirectoryError::NotFound { kind: "tenant", id } => at(
                    entry.home_tenant.span(),
                    format!("home_tenant {id} is not a tenant of this scenario"),
                ),
                DirectoryError::Conflict(m) => at(entry.client_id.span(), m),
                other => dir_err(a.span(), other),
            })?;
            ops.push(Op::App(req));
            let client_id = *entry.client_id.get_ref();
            for s in &entry.secrets {
                let se = s.get_ref();
                let expires = match &se.expires {
                    Some(e) => Some(
                        OffsetDateTime::parse(e.get_ref(), &time::format_description::well_known::Rfc3339).map_err(|err| {
                            at(e.span(), format!("expires '{}' is not an RFC 3339 date-time such as 2027-12-31T00:00:00Z ({err})", e.get_ref()))
                        })?,
                    ),
                    None => None,
                };
                scratch
                    .add_secret(client_id, Some(se.value.clone()), expires, &hasher)
                    .map_err(|e| dir_err(s.span(), e))?;
                ops.push(Op::Secret {
                    app: client_id,
                    value: se.value.clone(),
                    expires,
                });
            }
            for c in &entry.certificates {
                let rel = c.get_ref().pem.get_ref();
                let file_path = base.join(rel);
                let pem = std::fs::read(&file_path).map_err(|e| {
                    at(
                        c.get_ref().pem.span(),
                        format!("cannot read certificate {}: {e}", file_path.display()),
                    )
                })?;
                scratch
                    .add_certificate(client_id, &pem)
                    .map_err(|e| dir_err(c.get_ref().pem.span(), e))?;
                ops.push(Op::Certificate {
                    app: client_id,
                    pem,
                });
            }
        }
        for c in &file.consents {
            let entry = c.get_ref();
            let (tenant, app) = (*entry.tenant.get_ref(), *entry.app.get_ref());
            if !scratch.tenants.contains_key(&tenant) {
                return Err(at(
                    entry.tenant.span(),
                    format!(
                        "consent names tenant {tenant}, which is not a tenant of this scenario"
                    ),
                ));
            }
            if !scratch.apps.contains_key(&app) {
                return Err(at(
                    entry.app.span(),
                    format!("consent names app {app}, which is not an app of this scenario"),
                ));
            }
            if let Some(roles) = &entry.roles {
                for r in roles {
                    crate::directory::check_permissions(std::slice::from_ref(r.get_ref()))
                        .map_err(|e| dir_err(r.span(), e))?;
                }
            }
            let roles = entry
                .roles
                .as_ref()
                .map(|r| r.iter().map(|s| s.get_ref().clone()).collect::<Vec<_>>());
            scratch
                .grant_consent(tenant, app, roles.clone())
                .map_err(|e| dir_err(c.span(), e))?;
            ops.push(Op::Consent { tenant, app, roles });
        }
        Ok(Self {
            path: path.to_owned(),
            admin_key: file.emulator.admin_key.map(|k| k.into_inner()),
            token_lifetime_minutes: file.emulator.token_lifetime_minutes.map(|m| m.into_inner()),
            key_grace_minutes: file.emulator.key_grace_minutes.map(|m| m.into_inner()),
            defender,
            faults: file.faults.into_iter().map(Spanned::into_inner).collect(),
            ops,
        })
    }

    /// The admin key the scenario sets.
    pub fn admin_key(&self) -> Option<&str> {
        self.admin_key.as_deref()
    }

    /// The token lifetime the scenario sets.
    pub fn token_lifetime_minutes(&self) -> Option<u32> {
        self.token_lifetime_minutes
    }

    /// The key grace period the scenario sets.
    pub fn key_grace_minutes(&self) -> Option<u32> {
        self.key_grace_minutes
    }

    /// The Defender settings the scenario sets (defaults for keys it leaves out).
    pub fn defender(&self) -> crate::defender::DefenderSettings {
        self.defender
    }

    /// The settings to open an emulator with: every `[emulator]` value the file gives.
    pub fn open_options(&self) -> crate::state::OpenOptions {
        crate::state::OpenOptions {
            admin_key: self.admin_key.clone(),
            token_lifetime_minutes: self.token_lifetime_minutes,
            key_grace_minutes: self.key_grace_minutes,
        }
    }

    /// The file it came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Applies the scenario. Objects the database already holds (same tenant id, same
    /// client id, an existing consent) are kept as they are, so restarting with the same
    /// file over a database file changes nothing that was changed since.
    pub fn apply(&self, emu: &Emulator) -> Result<ApplySummary, ScenarioError> {
        let mut sum = ApplySummary::default();
        emu.defender().set_settings(self.defender);
        emu.defender().faults().clear();
        for f in &self.faults {
            // Validated at parse time.
            let _ = emu.defender().faults().add(f.clone());
        }
        let mut new_apps = std::collections::HashSet::new();
        for op in &self.ops {
            match op {
                Op::Tenant(NewTenantOwned(t)) => {
                    let exists =
                        t.id.is_some_and(|id| emu.directory().tenants.contains_key(&id));
                    if exists {
                        sum.skipped += 1;
                    } else {
                        emu.create_tenant(t.clone())?;
                        sum.tenants += 1;
                    }
                }
                Op::App(a) => {
                    let exists = a
                        .client_id
                        .is_some_and(|id| emu.directory().apps.contains_key(&id));
                    if exists {
                        sum.skipped += 1;
                    } else {
                        emu.register_app(a.clone())?;
                        if let Some(id) = a.client_id {
                            new_apps.insert(id);
                        }
                        sum.apps += 1;
                    }
                }
                Op::Secret {
                    app,
                    value,
                    expires,
                } if new_apps.contains(app) => {
                    emu.add_secret(*app, Some(value.clone()), *expires)?;
                }
                Op::Certificate { app, pem } if new_apps.contains(app) => {
                    emu.add_certificate(*app, pem)?;
                }
                Op::Secret { .. } | Op::Certificate { .. } => {}
                Op::Consent { tenant, app, roles } => {
                    let exists = emu
                        .directory()
                        .service_principals
                        .contains_key(&(*tenant, *app));
                    if exists && !new_apps.contains(app) {
                        sum.skipped += 1;
                    } else {
                        emu.grant_consent(*tenant, *app, roles.clone())?;
                        sum.consents += 1;
                    }
                }
            }
        }
        Ok(sum)
    }
}

#[cfg(test)]
mod tests;

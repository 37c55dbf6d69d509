//! The directory: tenants with their Global Administrator, app registrations with their
//! credentials, and the service principals that admin consent creates in a tenant.
//!
//! Pure data and rules; [`crate::state`] persists every change.

use crate::crypto::{self, SecretHasher};
use mdep_model::Licence;
use mdep_model::permissions::WINDOWS_DEFENDER_ATP_APP_ID;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use time::OffsetDateTime;
use uuid::Uuid;

/// A tenant (directory).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tenant {
    /// Tenant id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Verified domain, lower case (e.g. `contoso.onmicrosoft.com`).
    pub domain: String,
    /// The tenant's one Global Administrator.
    pub admin: Admin,
    /// Number of devices the Defender data generator creates.
    #[serde(default)]
    pub devices: u32,
    /// Number of alerts the Defender data generator creates.
    #[serde(default)]
    pub alerts: u32,
    /// Seed of the Defender data generator.
    #[serde(default)]
    pub seed: u64,
    /// The Defender product the tenant is licensed for (advanced hunting or not).
    #[serde(default)]
    pub licence: Licence,
    /// Object id of WindowsDefenderATP's service principal in this tenant.
    pub defender_sp_object_id: Uuid,
    /// When the tenant was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
}

/// A Global Administrator.
#[derive(Clone, Serialize, Deserialize)]
pub struct Admin {
    /// User principal name, lower case.
    pub user: String,
    /// Object id of the user.
    pub object_id: Uuid,
    /// PBKDF2 hash of the password.
    pub password_hash: String,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin")
            .field("user", &self.user)
            .field("object_id", &self.object_id)
            .finish_non_exhaustive()
    }
}

/// An app registration (lives in its home tenant).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct App {
    /// Application (client) id.
    pub client_id: Uuid,
    /// The application object's id (Graph's `id`, apart from `appId`); nil for apps stored
    /// before it was kept (see [`App::object_id`]).
    #[serde(default)]
    pub object_id: Uuid,
    /// Display name.
    pub name: String,
    /// The publisher's tenant.
    pub home_tenant: Uuid,
    /// "Accounts in any organizational directory".
    pub multi_tenant: bool,
    /// Registered redirect URIs (Web platform).
    pub redirect_uris: Vec<String>,
    /// Required application permissions (role values) of WindowsDefenderATP and of
    /// Microsoft Graph (see [`check_permissions`]).
    pub permissions: Vec<String>,
    /// Client secrets (hashed).
    pub secrets: Vec<Secret>,
    /// Certificates (public parts).
    pub certificates: Vec<Certificate>,
    /// When the app was registered.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
}

impl App {
    /// The application object's id; the client id for apps stored before object ids were.
    pub fn object_id(&self) -> Uuid {
        if self.object_id.is_nil() {
            self.client_id
        } else {
            self.object_id
        }
    }
}

/// A client secret, stored only as a keyed hash.
#[derive(Clone, Serialize, Deserialize)]
pub struct Secret {
    /// The secret's id (what the portal calls "Secret ID"; not the value).
    pub key_id: Uuid,
    /// First three characters of the value, as Entra keeps them.
    pub hint: String,
    /// Keyed hash of the value.
    pub hash: String,
    /// Expiry; none means it never expires.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires: Option<OffsetDateTime>,
    /// Its description (Graph's `displayName`).
    #[serde(default)]
    pub display_name: Option<String>,
    /// When it became valid, when known.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub start: Option<OffsetDateTime>,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secret")
            .field("key_id", &self.key_id)
            .field("hint", &self.hint)
            .field("expires", &self.expires)
            .field("display_name", &self.display_name)
            .finish_non_exhaustive()
    }
}

/// The service principal admin consent creates for an app in a tenant.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServicePrincipal {
    /// The tenant it lives in.
    pub tenant: Uuid,
    /// The app it represents.
    pub app: Uuid,
    /// Its object id (the token's `oid` and `sub`).
    pub object_id: Uuid,
    /// Roles granted at consent time, WindowsDefenderATP's and Microsoft Graph's; a token
    /// carries those of its resource.
    pub roles: Vec<String>,
    /// When consent was (last) granted.
    #[serde(with = "time::serde::rfc3339")]
    pub consented: OffsetDateTime,
}

/// A request to create a tenant.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    /// Tenant id; generated when absent.
    #[serde(default)]
    pub id: Option<Uuid>,
    /// Display name.
    pub name: String,
    /// Verified domain; `<name>.onmicrosoft.com` when absent.
    #[serde(default)]
    pub domain: Option<String>,
    /// The Global Administrator.
    pub admin: NewAdmin,
    /// Devices to generate.
    #[serde(default)]
    pub devices: u32,
    /// Alerts to generate.
    #[serde(default)]
    pub alerts: u32,
    /// Generator seed.
    #[serde(default)]
    pub seed: u64,
    /// Licence (`mde-p2` when absent).
    #[serde(default)]
    pub licence: Licence,
}

/// The administrator of a new tenant.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAdmin {
    /// User principal name.
    pub user: String,
    /// Password (hashed on arrival).
    pub password: String,
}

impl std::fmt::Debug for NewAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAdmin")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// A request to register an app.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewApp {
    /// Client id; generated when absent.
    #[serde(default)]
    pub client_id: Option<Uuid>,
    /// Display name.
    pub name: String,
    /// Home tenant id.
    pub home_tenant: Uuid,
    /// Multi-tenant or not (default true: the partner flow needs it).
    #[serde(default = "yes")]
    pub multi_tenant: bool,
    /// Redirect URIs.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// WindowsDefenderATP application permissions.
    #[serde(default)]
    pub permissions: Vec<String>,
}

fn yes() -> bool {
    true
}

/// Removes the items of one of `app`'s lists that `matches`, and gives the app after;
/// `NotFound` naming `kind` and `id` when there was none.
/// A new secret of `app` with `value` (kept as its keyed hash, with its first three
/// characters as the hint), valid over `(start, expires)`; refused when the app holds it.
pub(crate) fn secret_for(
    app: &App,
    value: &str,
    hasher: &SecretHasher,
    (start, expires): (Option<OffsetDateTime>, Option<OffsetDateTime>),
    display_name: Option<String>,
) -> Result<Secret, DirectoryError> {
    if app.secrets.iter().any(|s| hasher.verify(value, &s.hash)) {
        return Err(DirectoryError::Conflict(
            "the app has this secret already".into(),
        ));
    }
    Ok(Secret {
        key_id: Uuid::new_v4(),
        hint: value.chars().take(3).collect(),
        hash: hasher.hash(value),
        expires,
        display_name,
        start,
    })
}

fn remove_one<T>(
    app: &mut App,
    list: impl FnOnce(&mut App) -> &mut Vec<T>,
    matches: impl Fn(&T) -> bool,
    kind: &'static str,
    id: impl ToString,
) -> Result<App, DirectoryError> {
    let items = list(app);
    let before = items.len();
    items.retain(|x| !matches(x));
    if items.len() == before {
        return Err(DirectoryError::NotFound {
            kind,
            id: id.to_string(),
        });
    }
    Ok(app.clone())
}

pub(crate) fn dedup(v: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(v.len());
    for s in v {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

/// The whole directory in memory.
#[derive(Debug, Default, Clone)]
pub struct Directory {
    /// Tenants by id.
    pub tenants: BTreeMap<Uuid, Tenant>,
    /// Tenant ids by lower-case domain.
    pub domains: HashMap<String, Uuid>,
    /// Apps by client id.
    pub apps: BTreeMap<Uuid, App>,
    /// Service principals by (tenant, app).
    pub service_principals: BTreeMap<(Uuid, Uuid), ServicePrincipal>,
}

/// The outcome of resolving a tenant path segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantRef {
    /// A known tenant.
    Known(Uuid),
    /// A well-formed GUID or domain that names no tenant (AADSTS90002).
    Unknown,
    /// Neither a GUID nor a DNS name (AADSTS900023).
    Malformed,
    /// `common`, `organizations` or `consumers`.
    Alias(TenantAlias),
}

/// Multi-tenant path aliases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantAlias {
    /// `/common`.
    Common,
    /// `/organizations`.
    Organizations,
    /// `/consumers`.
    Consumers,
}

impl Directory {
    /// Resolves a `{tenant}` path segment: a GUID, a verified domain or an alias.
    pub fn resolve(&self, segment: &str) -> TenantRef {
        match segment.to_ascii_lowercase().as_str() {
            "common" => return TenantRef::Alias(TenantAlias::Common),
            "organizations" => return TenantRef::Alias(TenantAlias::Organizations),
            "consumers" => return TenantRef::Alias(TenantAlias::Consumers),
            _ => {}
        }
        if let Ok(id) = Uuid::try_parse(segment) {
            return if self.tenants.contains_key(&id) {
                TenantRef::Known(id)
            } else {
                TenantRef::Unknown
            };
        }
        let lower = segment.to_ascii_lowercase();
        if !valid_domain(&lower) {
            return TenantRef::Malformed;
        }
        match self.domains.get(&lower) {
            Some(id) => TenantRef::Known(*id),
            None => TenantRef::Unknown,
        }
    }

    /// Creates a tenant.
    pub fn create_tenant(&mut self, req: NewTenant) -> Result<Tenant, DirectoryError> {
        let id = req.id.unwrap_or_else(Uuid::new_v4);
        if id.is_nil() {
            return Err(invalid("the tenant id must not be the nil GUID"));
        }
        if self.tenants.contains_key(&id) {
            return Err(DirectoryError::Conflict(format!(
                "tenant {id} exists already"
            )));
        }
        let name = req.name.trim().to_owned();
        if name.is_empty() || name.len() > 256 {
            return Err(invalid("the tenant name must be 1 to 256 characters"));
        }
        let domain = match req.domain {
            Some(d) => d.trim().to_ascii_lowercase(),
            None => {
                let label: String = name
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .collect::<String>()
                    .to_ascii_lowercase();
                if label.is_empty() {
                    return Err(invalid(
                        "give the tenant a domain (its name has no letters to make one from)",
                    ));
                }
                format!("{label}.onmicrosoft.com")
            }
        };
        if !valid_domain(&domain) {
            return Err(invalid(format!("'{domain}' is not a valid domain name")));
        }
        if self.domains.contains_key(&domain) {
            return Err(DirectoryError::Conflict(format!(
                "domain {domain} is verified in another tenant already"
            )));
        }
        let user = req.admin.user.trim().to_ascii_lowercase();
        let Some((local, user_domain)) = user.split_once('@') else {
            return Err(invalid(format!(
                "admin user '{user}' must be a user principal name (user@domain)"
            )));
        };
        if local.is_empty() || user_domain != domain {
            return Err(invalid(format!(
                "admin user '{user}' must be in the tenant's domain {domain}"
            )));
        }
        if req.admin.password.is_empty() {
            return Err(invalid("the admin password must not be empty"));
        }
        let tenant = Tenant {
            id,
            name,
            domain: domain.clone(),
            admin: Admin {
                user,
                object_id: Uuid::new_v4(),
                password_hash: crypto::hash_password(&req.admin.password),
            },
            devices: req.devices,
            alerts: req.alerts,
            seed: req.seed,
            licence: req.licence,
            defender_sp_object_id: Uuid::new_v4(),
            created: OffsetDateTime::now_utc(),
        };
        self.insert_tenant(tenant.clone());
        Ok(tenant)
    }

    /// Inserts a loaded tenant.
    pub fn insert_tenant(&mut self, tenant: Tenant) {
        self.domains.insert(tenant.domain.clone(), tenant.id);
        self.tenants.insert(tenant.id, tenant);
    }

    /// Registers an app, with its service principal in its home tenant (as the portal does).
    pub fn register_app(&mut self, req: NewApp) -> Result<App, DirectoryError> {
        let app = self.new_app(req)?;
        self.apps.insert(app.client_id, app.clone());
        // Registering in the portal also creates the app's service principal in its home
        // tenant, with no roles until an administrator grants consent there.
        self.service_principals.insert(
            (app.home_tenant, app.client_id),
            ServicePrincipal {
                tenant: app.home_tenant,
                app: app.client_id,
                object_id: Uuid::new_v4(),
                roles: Vec::new(),
                consented: app.created,
            },
        );
        Ok(app)
    }

    /// Checks a registration request and builds the app (not inserted).
    pub(crate) fn new_app(&self, req: NewApp) -> Result<App, DirectoryError> {
        let client_id = req.client_id.unwrap_or_else(Uuid::new_v4);
        if client_id.is_nil() || client_id.to_string() == WINDOWS_DEFENDER_ATP_APP_ID {
            return Err(invalid(format!("client id {client_id} is reserved")));
        }
        if self.apps.contains_key(&client_id) {
            return Err(DirectoryError::Conflict(format!(
                "app {client_id} exists already"
            )));
        }
        if !self.tenants.contains_key(&req.home_tenant) {
            return Err(DirectoryError::NotFound {
                kind: "tenant",
                id: req.home_tenant.to_string(),
            });
        }
        let name = req.name.trim().to_owned();
        if name.is_empty() || name.len() > 120 {
            return Err(invalid("the app name must be 1 to 120 characters"));
        }
        for uri in &req.redirect_uris {
            check_redirect_uri(uri)?;
        }
        check_permissions(&req.permissions)?;
        Ok(App {
            client_id,
            object_id: Uuid::new_v4(),
            name,
            home_tenant: req.home_tenant,
            multi_tenant: req.multi_tenant,
            redirect_uris: dedup(&req.redirect_uris),
            permissions: dedup(&req.permissions),
            secrets: Vec::new(),
            certificates: Vec::new(),
            created: OffsetDateTime::now_utc(),
        })
    }

    pub(crate) fn app_mut(&mut self, client_id: Uuid) -> Result<&mut App, DirectoryError> {
        self.apps
            .get_mut(&client_id)
            .ok_or(DirectoryError::NotFound {
                kind: "app",
                id: client_id.to_string(),
            })
    }

    /// Adds a secret with a known value (scenario files) or a new random one; returns the
    /// app and the secret's value (the only time it is available).
    pub fn add_secret(
        &mut self,
        client_id: Uuid,
        value: Option<String>,
        expires: Option<OffsetDateTime>,
        hasher: &SecretHasher,
    ) -> Result<(App, Secret, String), DirectoryError> {
        let value = value.unwrap_or_else(crypto::new_client_secret);
        if value.len() < 16 || value.len() > 512 {
            return Err(invalid("a client secret must be 16 to 512 characters"));
        }
        let app = self.app_mut(client_id)?;
        let secret = secret_for(
            app,
            &value,
            hasher,
            (Some(OffsetDateTime::now_utc()), expires),
            None,
        )?;
        app.secrets.push(secret.clone());
        Ok((app.clone(), secret, value))
    }

    /// Removes a secret.
    pub fn remove_secret(&mut self, client_id: Uuid, key_id: Uuid) -> Result<App, DirectoryError> {
        let app = self.app_mut(client_id)?;
        remove_one(
            app,
            |a| &mut a.secrets,
            |s| s.key_id == key_id,
            "secret",
            key_id,
        )
    }

    /// Adds a certificate from its PEM (or DER) form.
    pub fn add_certificate(
        &mut self,
        client_id: Uuid,
        pem_or_der: &[u8],
    ) -> Result<(App, Certificate), DirectoryError> {
        let cert = parse_certificate(pem_or_der)?;
        let app = self.app_mut(client_id)?;
        if app
            .certificates
            .iter()
            .any(|c| c.thumbprint_sha256 == cert.thumbprint_sha256)
        {
            return Err(DirectoryError::Conflict(format!(
                "certificate {} is registered already",
                cert.thumbprint_sha1
            )));
        }
        app.certificates.push(cert.clone());
        Ok((app.clone(), cert))
    }

    /// Removes a certificate.
    pub fn remove_certificate(
        &mut self,
        client_id: Uuid,
        key_id: Uuid,
    ) -> Result<App, DirectoryError> {
        let app = self.app_mut(client_id)?;
        remove_one(
            app,
            |a| &mut a.certificates,
            |c| c.key_id == key_id,
            "certificate",
            key_id,
        )
    }

    /// Adds a required permission. Tenants that consented before do not get it until they
    /// consent again.
    pub fn add_permission(
        &mut self,
        client_id: Uuid,
        permission: &str,
    ) -> Result<App, DirectoryError> {
        check_permissions(&[permission.to_owned()])?;
        let app = self.app_mut(client_id)?;
        if !app.permissions.iter().any(|p| p == permission) {
            app.permissions.push(permission.to_owned());
        }
        Ok(app.clone())
    }

    /// Removes a required permission (granted roles stay until consent changes).
    pub fn remove_permission(
        &mut self,
        client_id: Uuid,
        permission: &str,
    ) -> Result<App, DirectoryError> {
        let app = self.app_mut(client_id)?;
        remove_one(
            app,
            |a| &mut a.permissions,
            |p| p == permission,
            "permission",
            permission,
        )
    }

    /// Grants admin consent for `app` in `tenant`: creates the service principal, or
    /// updates its roles. Without `roles`, the app's permissions at this moment.
    pub fn grant_consent(
        &mut self,
        tenant: Uuid,
        client_id: Uuid,
        roles: Option<Vec<String>>,
    ) -> Result<ServicePrincipal, DirectoryError> {
        if !self.tenants.contains_key(&tenant) {
            return Err(DirectoryError::NotFound {
                kind: "tenant",
                id: tenant.to_string(),
            });
        }
        let app = self.apps.get(&client_id).ok_or(DirectoryError::NotFound {
            kind: "app",
            id: client_id.to_string(),
        })?;
        if !app.multi_tenant && app.home_tenant != tenant {
            return Err(invalid(format!(
                "app {client_id} is single-tenant: it can only be consented in its home tenant {}",
                app.home_tenant
            )));
        }
        let roles = match roles {
            Some(r) => {
                check_permissions(&r)?;
                dedup(&r)
            }
            None => app.permissions.clone(),
        };
        let now = OffsetDateTime::now_utc();
        let sp = self
            .service_principals
            .entry((tenant, client_id))
            .and_modify(|sp| {
                sp.roles = roles.clone();
                sp.consented = now;
            })
            .or_insert_with(|| ServicePrincipal {
                tenant,
                app: client_id,
                object_id: Uuid::new_v4(),
                roles,
                consented: now,
            });
        Ok(sp.clone())
    }

    /// Revokes consent: deletes the service principal.
    pub fn revoke_consent(
        &mut self,
        tenant: Uuid,
        client_id: Uuid,
    ) -> Result<ServicePrincipal, DirectoryError> {
        self.service_principals
            .remove(&(tenant, client_id))
            .ok_or(DirectoryError::NotFound {
                kind: "consent",
                id: format!("{tenant}/{client_id}"),
            })
    }
}

mod certificate;
mod checks;
mod error;
pub mod registration;

pub use certificate::{Certificate, parse_certificate};
pub use checks::{
    check_graph_permissions, check_mde_permissions, check_permissions, check_redirect_uri,
    valid_domain,
};
pub use error::DirectoryError;
pub(crate) use error::invalid;

#[cfg(test)]
mod tests;

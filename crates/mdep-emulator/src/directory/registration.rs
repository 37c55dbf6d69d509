//! App registrations changed through Microsoft Graph (`graph-security.md` §5): an app
//! created without a service principal (Graph leaves that to `POST /servicePrincipals`),
//! whole-app updates that apply all or nothing, passwords with a description and a
//! validity, and app role assignments on a resource's service principal (the portal's
//! "Grant admin consent").

use super::{
    App, Certificate, Directory, DirectoryError, NewApp, Secret, ServicePrincipal,
    check_permissions, check_redirect_uri, dedup, invalid, parse_certificate,
};
use crate::crypto::{self, SecretHasher};
use time::OffsetDateTime;
use uuid::Uuid;

/// What a create or an update sets; `None` leaves a property as it is.
#[derive(Debug, Clone, Default)]
pub struct AppChanges {
    /// Display name.
    pub name: Option<String>,
    /// Multi-tenant (`AzureADMultipleOrgs`) or not (`AzureADMyOrg`).
    pub multi_tenant: Option<bool>,
    /// Web redirect URIs.
    pub redirect_uris: Option<Vec<String>>,
    /// Required application permissions (role values of WindowsDefenderATP and Graph).
    pub permissions: Option<Vec<String>>,
    /// The whole set of certificates after the change.
    pub certificates: Option<Vec<KeyChange>>,
}

/// One certificate of the new set.
#[derive(Debug, Clone)]
pub enum KeyChange {
    /// A certificate the app has already, by key id.
    Keep(Uuid),
    /// A new certificate (DER).
    New {
        /// The DER certificate.
        der: Vec<u8>,
        /// The key id asked for, else a new one.
        key_id: Option<Uuid>,
        /// Description.
        display_name: Option<String>,
    },
}

/// A password to add.
#[derive(Debug, Clone, Default)]
pub struct NewPassword {
    /// Description.
    pub display_name: Option<String>,
    /// Start of validity (default now).
    pub start: Option<OffsetDateTime>,
    /// End of validity (default start + 2 years, `graph-security.md` §5).
    pub end: Option<OffsetDateTime>,
}

/// Graph's default password lifetime: two years (`graph-security.md` §5, addPassword).
const DEFAULT_PASSWORD_DAYS: i64 = 2 * 365;

fn apply(app: &mut App, changes: AppChanges) -> Result<(), DirectoryError> {
    if let Some(name) = changes.name {
        let name = name.trim().to_owned();
        if name.is_empty() || name.len() > 120 {
            return Err(invalid("the app name must be 1 to 120 characters"));
        }
        app.name = name;
    }
    if let Some(m) = changes.multi_tenant {
        app.multi_tenant = m;
    }
    if let Some(uris) = changes.redirect_uris {
        for uri in &uris {
            check_redirect_uri(uri)?;
        }
        app.redirect_uris = dedup(&uris);
    }
    if let Some(perms) = changes.permissions {
        check_permissions(&perms)?;
        app.permissions = dedup(&perms);
    }
    if let Some(keys) = changes.certificates {
        let mut next: Vec<Certificate> = Vec::with_capacity(keys.len());
        for k in keys {
            let cert = match k {
                KeyChange::Keep(id) => app
                    .certificates
                    .iter()
                    .find(|c| c.key_id == id)
                    .cloned()
                    .ok_or_else(|| {
                        invalid(format!(
                            "key credential {id} has no 'key' and is not one of the app's: give the certificate's base64 DER in 'key'"
                        ))
                    })?,
                KeyChange::New {
                    der,
                    key_id,
                    display_name,
                } => {
                    let mut c = parse_certificate(&der)?;
                    if let Some(id) = key_id {
                        c.key_id = id;
                    }
                    c.display_name = display_name;
                    c
                }
            };
            if next
                .iter()
                .any(|c| c.thumbprint_sha256 == cert.thumbprint_sha256 || c.key_id == cert.key_id)
            {
                return Err(invalid(format!(
                    "key credential {} ({}) is given twice",
                    cert.key_id, cert.thumbprint_sha1
                )));
            }
            next.push(cert);
        }
        app.certificates = next;
    }
    Ok(())
}

fn new_secret(
    app: &App,
    p: NewPassword,
    hasher: &SecretHasher,
) -> Result<(Secret, String), DirectoryError> {
    let start = p.start.unwrap_or_else(OffsetDateTime::now_utc);
    let end = p
        .end
        .unwrap_or(start + time::Duration::days(DEFAULT_PASSWORD_DAYS));
    if end <= start {
        return Err(invalid(
            "the password's endDateTime must be after its startDateTime",
        ));
    }
    let value = crypto::new_client_secret();
    let secret = super::secret_for(
        app,
        &value,
        hasher,
        (Some(start), Some(end)),
        p.display_name,
    )?;
    Ok((secret, value))
}

impl Directory {
    /// Creates an app in `home` as Graph's `POST /applications` does: no service principal
    /// anywhere yet; single-tenant unless asked; with the given passwords (their values
    /// returned, the only time they are) and certificates.
    pub fn create_application(
        &mut self,
        home: Uuid,
        name: String,
        changes: AppChanges,
        passwords: Vec<NewPassword>,
        hasher: &SecretHasher,
    ) -> Result<(App, Vec<(Secret, String)>), DirectoryError> {
        let mut app = self.new_app(NewApp {
            client_id: None,
            name,
            home_tenant: home,
            multi_tenant: false,
            redirect_uris: Vec::new(),
            permissions: Vec::new(),
        })?;
        apply(&mut app, changes)?;
        let mut values = Vec::with_capacity(passwords.len());
        for p in passwords {
            let (s, v) = new_secret(&app, p, hasher)?;
            app.secrets.push(s.clone());
            values.push((s, v));
        }
        self.apps.insert(app.client_id, app.clone());
        Ok((app, values))
    }

    /// Applies `changes` to an app, all of them or none.
    pub fn update_application(
        &mut self,
        client_id: Uuid,
        changes: AppChanges,
    ) -> Result<App, DirectoryError> {
        let app = self.app_mut(client_id)?;
        let mut next = app.clone();
        apply(&mut next, changes)?;
        *app = next.clone();
        Ok(next)
    }

    /// Adds a password with a description and a validity; returns it with its value.
    pub fn add_password(
        &mut self,
        client_id: Uuid,
        p: NewPassword,
        hasher: &SecretHasher,
    ) -> Result<(App, Secret, String), DirectoryError> {
        let app = self.app_mut(client_id)?;
        let (s, v) = new_secret(app, p, hasher)?;
        app.secrets.push(s.clone());
        Ok((app.clone(), s, v))
    }

    /// Creates `app`'s service principal in `tenant`, with no roles (Graph's
    /// `POST /servicePrincipals`). A single-tenant app has one only in its home tenant.
    pub fn create_service_principal(
        &mut self,
        tenant: Uuid,
        client_id: Uuid,
    ) -> Result<ServicePrincipal, DirectoryError> {
        let app = self.apps.get(&client_id).ok_or(DirectoryError::NotFound {
            kind: "app",
            id: client_id.to_string(),
        })?;
        if !app.multi_tenant && app.home_tenant != tenant {
            return Err(invalid(format!(
                "app {client_id} is single-tenant: it can have a service principal only in its home tenant {}",
                app.home_tenant
            )));
        }
        if self.service_principals.contains_key(&(tenant, client_id)) {
            return Err(DirectoryError::Conflict(format!(
                "app {client_id} has a service principal in tenant {tenant} already"
            )));
        }
        let sp = ServicePrincipal {
            tenant,
            app: client_id,
            object_id: Uuid::new_v4(),
            roles: Vec::new(),
            consented: OffsetDateTime::now_utc(),
        };
        self.service_principals
            .insert((tenant, client_id), sp.clone());
        Ok(sp)
    }

    /// Grants one role to `app`'s service principal in `tenant` (an app role assignment).
    pub fn assign_role(
        &mut self,
        tenant: Uuid,
        client_id: Uuid,
        role: &str,
    ) -> Result<ServicePrincipal, DirectoryError> {
        check_permissions(&[role.to_owned()])?;
        let sp = self
            .service_principals
            .get_mut(&(tenant, client_id))
            .ok_or(DirectoryError::NotFound {
                kind: "service principal",
                id: format!("{tenant}/{client_id}"),
            })?;
        if sp.roles.iter().any(|r| r == role) {
            return Err(DirectoryError::Conflict(format!(
                "the service principal holds {role} already"
            )));
        }
        sp.roles.push(role.to_owned());
        sp.consented = OffsetDateTime::now_utc();
        Ok(sp.clone())
    }
}

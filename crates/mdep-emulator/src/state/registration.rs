//! App registrations changed through Microsoft Graph, written through to the store like
//! every other directory change (see [`crate::directory::registration`]).

use super::{Emulator, StateError};
use crate::directory::registration::{AppChanges, NewPassword};
use crate::directory::{App, Secret, ServicePrincipal};
use uuid::Uuid;

impl Emulator {
    /// Creates an app in `home` (no service principal yet); returns it with the values
    /// of the passwords asked for.
    pub fn create_application(
        &self,
        home: Uuid,
        name: String,
        changes: AppChanges,
        passwords: Vec<NewPassword>,
    ) -> Result<(App, Vec<(Secret, String)>), StateError> {
        let mut dir = self.directory_mut();
        let (a, values) = dir.create_application(home, name, changes, passwords, &self.hasher)?;
        self.store().put_app(&a)?;
        Ok((a, values))
    }

    /// Changes an app, all or nothing.
    pub fn update_application(&self, app: Uuid, changes: AppChanges) -> Result<App, StateError> {
        let mut dir = self.directory_mut();
        let a = dir.update_application(app, changes)?;
        self.store().put_app(&a)?;
        Ok(a)
    }

    /// Adds a password; returns it with its value (the only time it is shown).
    pub fn add_password(
        &self,
        app: Uuid,
        password: NewPassword,
    ) -> Result<(Secret, String), StateError> {
        let mut dir = self.directory_mut();
        let (a, s, v) = dir.add_password(app, password, &self.hasher)?;
        self.store().put_app(&a)?;
        Ok((s, v))
    }

    /// Creates an app's service principal in `tenant`, with no roles.
    pub fn create_service_principal(
        &self,
        tenant: Uuid,
        app: Uuid,
    ) -> Result<ServicePrincipal, StateError> {
        let mut dir = self.directory_mut();
        let sp = dir.create_service_principal(tenant, app)?;
        self.store().put_service_principal(&sp)?;
        Ok(sp)
    }

    /// Grants one role to an app's service principal in `tenant`.
    pub fn assign_role(
        &self,
        tenant: Uuid,
        app: Uuid,
        role: &str,
    ) -> Result<ServicePrincipal, StateError> {
        let mut dir = self.directory_mut();
        let sp = dir.assign_role(tenant, app, role)?;
        self.store().put_service_principal(&sp)?;
        Ok(sp)
    }
}

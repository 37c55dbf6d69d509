//! A customer tenant as every layer addresses it: the name rows and errors carry, and
//! the id the token endpoint takes.

/// A customer tenant as the client addresses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// The name rows and errors carry.
    pub name: String,
    /// Tenant id or domain, as the token endpoint takes it.
    pub id: String,
}

impl From<&mdep_auth::config::TenantEntry> for Tenant {
    fn from(t: &mdep_auth::config::TenantEntry) -> Self {
        Self {
            name: t.name.clone(),
            id: t.tenant.clone(),
        }
    }
}

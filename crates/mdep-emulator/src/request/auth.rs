//! Who is calling: every API request's `Authorization: Bearer` token checked the way a
//! strict resource server must (`mde-api.md` §7, issue "Defender for Endpoint API
//! emulator" item 1). The signature and static claims are verified once per token
//! ([`super::token`]); the key's publication, the times, the tenant and the app's service
//! principal are checked again on every request, so a revoked consent or a key rotated
//! out takes effect at once.

use super::error::MdeError;
use super::token::{AuthError, CLOCK_SKEW_SECS};
use crate::AppState;
use crate::defender::data::TenantData;
use crate::state::Emulator;
use mdep_model::permissions::Api;
use std::sync::{Arc, RwLock};
use time::OffsetDateTime;
use uuid::Uuid;

/// Who is calling, from a token that passed every check.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's tenant (`tid`): the only tenant whose data this call sees.
    pub tenant: Uuid,
    /// The client app (`appid`).
    pub app: Uuid,
    /// The app's display name (`app_displayname`), when the token carries one.
    pub app_name: Option<String>,
    /// Application roles (`roles`).
    pub roles: Vec<String>,
}

impl Caller {
    /// True when the caller holds one of `accepted`.
    pub fn holds_any(&self, accepted: &[&str]) -> bool {
        accepted.iter().any(|r| self.has(r))
    }

    /// Passes when the caller holds one of `accepted`; else MDE's 403.
    pub fn require(&self, accepted: &[&str]) -> Result<(), MdeError> {
        if self.holds_any(accepted) {
            Ok(())
        } else {
            Err(MdeError::missing_roles(accepted, &self.roles))
        }
    }

    /// True when the caller holds `role`.
    pub fn has(&self, role: &str) -> bool {
        self.roles.iter().any(|g| g == role)
    }
}

/// The one tenant a caller sees: its data, loaded or generated on first use.
pub fn caller_data(state: &AppState, c: &Caller) -> Result<Arc<RwLock<TenantData>>, MdeError> {
    state.emu.defender().data(&state.emu, c.tenant)
}

/// Checks the `Authorization` header value for `api` (the token's audience must name
/// it); returns the caller. Both APIs share the token cache: the audience is checked on
/// every request.
pub fn authenticate(
    emu: &Emulator,
    authorization: Option<&str>,
    api: Api,
) -> Result<Caller, AuthError> {
    let value = authorization.ok_or(AuthError::Missing)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(AuthError::NotBearer)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::NotBearer);
    }
    let now = OffsetDateTime::now_utc();
    let grace = emu.settings().key_grace;
    let v = emu
        .defender()
        .tokens()
        .verified(token.trim(), &emu.keys(), grace, now)?;
    if v.api != api {
        return Err(AuthError::Audience(v.aud.clone()));
    }
    // Checked on every request, cached or not.
    if emu.keys().find_published(&v.kid, now, grace).is_none() {
        return Err(AuthError::UnknownKey(v.kid.clone()));
    }
    let t = now.unix_timestamp();
    if t > v.exp + CLOCK_SKEW_SECS {
        return Err(AuthError::Expired(v.exp));
    }
    if let Some(nbf) = v.nbf
        && t + CLOCK_SKEW_SECS < nbf
    {
        return Err(AuthError::NotYetValid(nbf));
    }
    {
        let dir = emu.directory();
        if !dir.tenants.contains_key(&v.tenant) {
            return Err(AuthError::Issuer(format!(
                "https://sts.windows.net/{}/",
                v.tenant
            )));
        }
        match dir.service_principals.get(&(v.tenant, v.app)) {
            Some(sp) if sp.object_id == v.oid => {}
            _ => {
                return Err(AuthError::Revoked {
                    tenant: v.tenant,
                    app: v.app,
                });
            }
        }
    }
    Ok(Caller {
        tenant: v.tenant,
        app: v.app,
        app_name: v.app_name.clone(),
        roles: v.roles.clone(),
    })
}

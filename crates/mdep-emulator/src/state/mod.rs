//! The emulator's shared state: the directory and keys in memory, written through to the
//! SQLite [`Store`] on every change.

pub mod defender;
mod registration;

use crate::crypto::{self, SecretHasher};
use crate::defender::data::Backing;
use crate::defender::generate::Recipe;
use crate::directory::{
    App, Certificate, Directory, DirectoryError, NewApp, NewTenant, Secret, ServicePrincipal,
    Tenant,
};
use crate::keys::{KeyError, KeySet, KeyStatus, SigningKey};
use crate::store::{Store, StoreError};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// The admin API's bearer key. Never printed by `Debug`; compared in constant time.
#[derive(Clone)]
pub struct AdminKey(String);

impl AdminKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }
    /// The key itself, for `ready.json` and the start banner only.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Constant-time comparison.
    pub fn matches(&self, presented: &str) -> bool {
        let a = crypto::sha256(self.0.as_bytes());
        let b = crypto::sha256(presented.as_bytes());
        aws_lc_rs::constant_time::verify_slices_are_equal(&a, &b).is_ok()
    }
}

impl std::fmt::Debug for AdminKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminKey([redacted])")
    }
}

/// Settings in force.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Admin API key.
    pub admin_key: AdminKey,
    /// Whether the admin key was generated (so it should be printed).
    pub admin_key_generated: bool,
    /// Access-token lifetime (Entra: `exp` = now + 3600 s by default).
    pub token_lifetime: Duration,
    /// How long a rotated-out signing key stays published.
    pub key_grace: Duration,
}

/// What can go wrong at the state level.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A refused directory change.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Keys.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Where an admin-consent page flow stands.
#[derive(Debug, Clone)]
pub struct ConsentSession {
    /// Which endpoint started it.
    pub flow: ConsentFlow,
    /// The app being consented.
    pub app: Uuid,
    /// The tenant fixed by the URL, if any (else the admin's tenant after sign-in).
    pub tenant_hint: Option<Uuid>,
    /// The tenant of the signed-in admin.
    pub signed_in: Option<Uuid>,
    /// Validated redirect URI.
    pub redirect_uri: String,
    /// Caller's `state`, echoed back.
    pub state: Option<String>,
    /// v2 `scope`, echoed back on success.
    pub scope: Option<String>,
    /// Creation time (sessions live 15 minutes).
    pub created: std::time::Instant,
}

/// The admin-consent entry points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentFlow {
    /// `/{tenant}/oauth2/authorize?prompt=consent|admin_consent`.
    Authorize,
    /// `/{tenant}/adminconsent`.
    AdminConsentV1,
    /// `/{tenant}/v2.0/adminconsent`.
    AdminConsentV2,
}

/// The emulator's state.
#[derive(Debug)]
pub struct Emulator {
    dir: RwLock<Directory>,
    keys: RwLock<KeySet>,
    store: Mutex<Store>,
    hasher: SecretHasher,
    settings: Settings,
    sessions: Mutex<HashMap<String, ConsentSession>>,
    counters: Mutex<HashMap<CounterKey, u64>>,
    defender: defender::DefenderState,
}

/// What a request counter is keyed on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct CounterKey {
    /// The tenant the request was for (path segment or token `tid`), if any.
    pub tenant: Option<String>,
    /// HTTP method.
    pub method: String,
    /// The route template, e.g. `/{tenant}/oauth2/v2.0/token`.
    pub route: String,
    /// Response status.
    pub status: u16,
}

/// What to open the emulator with.
#[derive(Debug, Default, Clone)]
pub struct OpenOptions {
    /// Admin key to use (from a scenario); else the stored one; else a new one.
    pub admin_key: Option<String>,
    /// Token lifetime in minutes (from a scenario); else the stored one; else 60.
    pub token_lifetime_minutes: Option<u32>,
    /// Grace for rotated keys in minutes; else the stored one; else 24 h.
    pub key_grace_minutes: Option<u32>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Emulator {
    /// Opens the emulator over a database file (or memory).
    pub fn open(db: Option<&Path>, opts: OpenOptions) -> Result<Arc<Self>, StateError> {
        let mut store = Store::open(db)?;
        let snap = store.load()?;
        let hash_key = match store.meta("secret_hash_key")? {
            Some(k) => crypto::b64_decode(&k).unwrap_or_default(),
            None => {
                let k = crypto::random_bytes::<32>().to_vec();
                store.set_meta("secret_hash_key", &crypto::b64(&k))?;
                k
            }
        };
        let (admin_key, admin_key_generated) = match (opts.admin_key, store.meta("admin_key")?) {
            (Some(k), _) => {
                store.set_meta("admin_key", &k)?;
                (k, false)
            }
            (None, Some(k)) => (k, false),
            (None, None) => {
                let k = crypto::random_token::<24>();
                store.set_meta("admin_key", &k)?;
                (k, true)
            }
        };
        let minutes = |given: Option<u32>, key: &str, default: u32| -> Result<u32, StateError> {
            Ok(match given {
                Some(m) => {
                    store.set_meta(key, &m.to_string())?;
                    m
                }
                None => store
                    .meta(key)?
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(default),
            })
        };
        let lifetime = minutes(opts.token_lifetime_minutes, "token_lifetime_minutes", 60)?;
        let grace = minutes(opts.key_grace_minutes, "key_grace_minutes", 24 * 60)?;
        let mut keys = KeySet::default();
        for k in snap.keys {
            keys.keys.push(Arc::new(SigningKey::load(k)?));
        }
        if keys.active().is_none() {
            let active = SigningKey::generate(KeyStatus::Active)?;
            let next = SigningKey::generate(KeyStatus::Next)?;
            store.put_keys(&[&active.stored, &next.stored])?;
            keys.keys.push(Arc::new(active));
            keys.keys.push(Arc::new(next));
        }
        Ok(Arc::new(Self {
            dir: RwLock::new(snap.directory),
            keys: RwLock::new(keys),
            store: Mutex::new(store),
            hasher: SecretHasher::new(&hash_key),
            settings: Settings {
                admin_key: AdminKey::new(admin_key),
                admin_key_generated,
                token_lifetime: Duration::minutes(i64::from(lifetime)),
                key_grace: Duration::minutes(i64::from(grace)),
            },
            sessions: Mutex::new(HashMap::new()),
            counters: Mutex::new(HashMap::new()),
            defender: defender::DefenderState::default(),
        }))
    }

    /// The Defender for Endpoint half: its settings, quotas and per-tenant data.
    pub fn defender(&self) -> &defender::DefenderState {
        &self.defender
    }

    /// Settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The secret hasher.
    pub fn hasher(&self) -> &SecretHasher {
        &self.hasher
    }

    /// Read access to the directory.
    pub fn directory(&self) -> RwLockReadGuard<'_, Directory> {
        self.dir.read().unwrap_or_else(|p| p.into_inner())
    }

    fn directory_mut(&self) -> RwLockWriteGuard<'_, Directory> {
        self.dir.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Read access to the keys.
    pub fn keys(&self) -> RwLockReadGuard<'_, KeySet> {
        self.keys.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The store, for records outside the directory (assertion `jti`s).
    pub fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }

    /// Creates a tenant.
    pub fn create_tenant(&self, req: NewTenant) -> Result<Tenant, StateError> {
        let mut dir = self.directory_mut();
        let t = dir.create_tenant(req)?;
        self.store().put_tenant(&t)?;
        Ok(t)
    }

    /// Registers an app.
    pub fn register_app(&self, req: NewApp) -> Result<App, StateError> {
        let mut dir = self.directory_mut();
        let a = dir.register_app(req)?;
        let store = self.store();
        store.put_app(&a)?;
        if let Some(sp) = dir.service_principals.get(&(a.home_tenant, a.client_id)) {
            store.put_service_principal(sp)?;
        }
        Ok(a)
    }

    /// Adds a client secret; returns it with its value (the only time it is shown).
    pub fn add_secret(
        &self,
        app: Uuid,
        value: Option<String>,
        expires: Option<OffsetDateTime>,
    ) -> Result<(Secret, String), StateError> {
        let mut dir = self.directory_mut();
        let (a, s, v) = dir.add_secret(app, value, expires, &self.hasher)?;
        self.store().put_app(&a)?;
        Ok((s, v))
    }

    /// Removes a client secret.
    pub fn remove_secret(&self, app: Uuid, key_id: Uuid) -> Result<(), StateError> {
        let mut dir = self.directory_mut();
        let a = dir.remove_secret(app, key_id)?;
        self.store().put_app(&a)?;
        Ok(())
    }

    /// Adds a certificate credential.
    pub fn add_certificate(&self, app: Uuid, pem: &[u8]) -> Result<Certificate, StateError> {
        let mut dir = self.directory_mut();
        let (a, c) = dir.add_certificate(app, pem)?;
        self.store().put_app(&a)?;
        Ok(c)
    }

    /// Removes a certificate credential.
    pub fn remove_certificate(&self, app: Uuid, key_id: Uuid) -> Result<(), StateError> {
        let mut dir = self.directory_mut();
        let a = dir.remove_certificate(app, key_id)?;
        self.store().put_app(&a)?;
        Ok(())
    }

    /// Adds a required permission to an app.
    pub fn add_permission(&self, app: Uuid, permission: &str) -> Result<App, StateError> {
        let mut dir = self.directory_mut();
        let a = dir.add_permission(app, permission)?;
        self.store().put_app(&a)?;
        Ok(a)
    }

    /// Removes a required permission from an app.
    pub fn remove_permission(&self, app: Uuid, permission: &str) -> Result<App, StateError> {
        let mut dir = self.directory_mut();
        let a = dir.remove_permission(app, permission)?;
        self.store().put_app(&a)?;
        Ok(a)
    }

    /// Grants admin consent.
    pub fn grant_consent(
        &self,
        tenant: Uuid,
        app: Uuid,
        roles: Option<Vec<String>>,
    ) -> Result<ServicePrincipal, StateError> {
        let mut dir = self.directory_mut();
        let sp = dir.grant_consent(tenant, app, roles)?;
        self.store().put_service_principal(&sp)?;
        Ok(sp)
    }

    /// Revokes consent (deletes the service principal).
    pub fn revoke_consent(&self, tenant: Uuid, app: Uuid) -> Result<(), StateError> {
        let mut dir = self.directory_mut();
        dir.revoke_consent(tenant, app)?;
        self.store().delete_service_principal(tenant, app)?;
        Ok(())
    }

    /// Rotates the signing keys: next becomes active, active retires (still published for
    /// the grace period), and a new next key is made.
    pub fn rotate_keys(&self) -> Result<String, StateError> {
        let new_next = SigningKey::generate(KeyStatus::Next)?;
        let mut keys = self.keys.write().unwrap_or_else(|p| p.into_inner());
        let now = OffsetDateTime::now_utc();
        let mut changed = Vec::new();
        let mut rebuilt = Vec::with_capacity(keys.keys.len() + 1);
        for k in &keys.keys {
            let mut stored = k.stored.clone();
            match stored.status {
                KeyStatus::Active => {
                    stored.status = KeyStatus::Retired;
                    stored.retired = Some(now);
                }
                KeyStatus::Next => stored.status = KeyStatus::Active,
                KeyStatus::Retired => {
                    rebuilt.push(k.clone());
                    continue;
                }
            }
            changed.push(stored.clone());
            rebuilt.push(Arc::new(SigningKey::load(stored)?));
        }
        if !rebuilt.iter().any(|k| k.stored.status == KeyStatus::Active) {
            // No next key was waiting (cannot happen with keys this emulator made).
            let mut s = new_next.stored.clone();
            s.status = KeyStatus::Active;
            changed.push(s.clone());
            rebuilt.push(Arc::new(SigningKey::load(s)?));
        }
        changed.push(new_next.stored.clone());
        let refs: Vec<_> = changed.iter().collect();
        self.store().put_keys(&refs)?;
        rebuilt.push(Arc::new(new_next));
        keys.keys = rebuilt;
        Ok(keys
            .active()
            .map(|k| k.stored.kid.clone())
            .unwrap_or_default())
    }

    /// Counts one answered request.
    pub fn count(&self, key: CounterKey) {
        *lock(&self.counters).entry(key).or_insert(0) += 1;
    }

    /// Request counts so far, sorted.
    pub fn counters(&self) -> Vec<(CounterKey, u64)> {
        let mut v: Vec<_> = lock(&self.counters)
            .iter()
            .map(|(k, n)| (k.clone(), *n))
            .collect();
        v.sort();
        v
    }

    /// Forgets all counts.
    pub fn reset_counters(&self) {
        lock(&self.counters).clear();
    }

    /// Starts a consent session; returns its id.
    pub fn start_session(&self, session: ConsentSession) -> String {
        let id = crypto::random_token::<24>();
        let mut sessions = lock(&self.sessions);
        sessions.retain(|_, s| s.created.elapsed() < std::time::Duration::from_secs(900));
        if sessions.len() > 10_000 {
            // Bound memory under a flood of abandoned sign-ins: drop the oldest.
            if let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, s)| s.created)
                .map(|(k, _)| k.clone())
            {
                sessions.remove(&oldest);
            }
        }
        sessions.insert(id.clone(), session);
        id
    }

    /// A live consent session.
    pub fn session(&self, id: &str) -> Option<ConsentSession> {
        lock(&self.sessions)
            .get(id)
            .filter(|s| s.created.elapsed() < std::time::Duration::from_secs(900))
            .cloned()
    }

    /// Updates a session.
    pub fn update_session(&self, id: &str, session: ConsentSession) {
        lock(&self.sessions).insert(id.to_owned(), session);
    }

    /// Ends a session (consent given or refused: the page cannot be replayed).
    pub fn end_session(&self, id: &str) -> Option<ConsentSession> {
        lock(&self.sessions).remove(id)
    }
}

/// Tenants' Defender data is written through to the emulator's store and generated from
/// each tenant's settings in the directory.
impl Backing for Emulator {
    fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }

    fn recipe(&self, tenant: Uuid) -> Option<Recipe> {
        let dir = self.directory();
        let t = dir.tenants.get(&tenant)?;
        Some(Recipe {
            tenant,
            domain: t.domain.clone(),
            devices: t.devices,
            alerts: t.alerts,
            seed: t.seed,
            anchor: self.defender().settings().clock.unwrap_or(t.created),
        })
    }
}

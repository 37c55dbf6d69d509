//! The emulator's SQLite database: every directory object, signing key and setting, so
//! that all state survives a restart when the database is a file.
//!
//! Objects are stored as JSON beside their key: the emulator's runtime copy lives in
//! memory ([`crate::state`]) and every change is written through here.

use crate::directory::{App, Directory, ServicePrincipal, Tenant};
use crate::keys::StoredKey;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use uuid::Uuid;

/// Schema version this build writes.
pub const SCHEMA_VERSION: i64 = 2;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite said no.
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    /// A stored row does not decode.
    #[error("database row does not decode: {0}")]
    Decode(#[from] serde_json::Error),
    /// The database was written by a newer emulator.
    #[error(
        "database schema version {0} is newer than this emulator's ({SCHEMA_VERSION}); upgrade mdep"
    )]
    TooNew(i64),
    /// The database file cannot be created or made private.
    #[error("database file {path}: {source}")]
    File {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Creates the database file owner-only (0600) before SQLite opens it, and makes an
/// existing one owner-only: it holds the signing keys' private halves, the admin key and
/// the secret-hashing key. SQLite gives its `-wal` and `-shm` files the same mode.
fn private_file(path: &Path) -> Result<(), StoreError> {
    let err = |source| StoreError::File {
        path: path.display().to_string(),
        source,
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let meta = std::fs::metadata(path).map_err(err)?;
                if meta.is_file() && meta.permissions().mode() & 0o077 != 0 {
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                        .map_err(err)?;
                }
            }
            Err(e) => return Err(err(e)),
        }
    }
    #[cfg(not(unix))]
    let _ = err;
    Ok(())
}

/// The SQLite store.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
}

/// Everything loaded at start.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The directory.
    pub directory: Directory,
    /// Signing keys.
    pub keys: Vec<StoredKey>,
}

impl Store {
    /// Opens (creating if needed) a database file, or an in-memory one for `None`.
    pub fn open(path: Option<&Path>) -> Result<Self, StoreError> {
        let conn = match path {
            Some(p) => {
                private_file(p)?;
                Connection::open(p)?
            }
            None => Connection::open_in_memory()?,
        };
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        if path.is_some() {
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
        }
        let store = Self { conn };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::TooNew(version));
        }
        if version < 1 {
            self.conn.execute_batch(
                "BEGIN;
                 CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                 CREATE TABLE IF NOT EXISTS tenants (id TEXT PRIMARY KEY, json TEXT NOT NULL);
                 CREATE TABLE IF NOT EXISTS apps (client_id TEXT PRIMARY KEY, json TEXT NOT NULL);
                 CREATE TABLE IF NOT EXISTS service_principals (
                     tenant TEXT NOT NULL, app TEXT NOT NULL, json TEXT NOT NULL,
                     PRIMARY KEY (tenant, app));
                 CREATE TABLE IF NOT EXISTS signing_keys (
                     kid TEXT PRIMARY KEY, created TEXT NOT NULL, json TEXT NOT NULL);
                 CREATE TABLE IF NOT EXISTS assertion_jti (
                     client_id TEXT NOT NULL, jti TEXT NOT NULL, expires INTEGER NOT NULL,
                     PRIMARY KEY (client_id, jti));
                 PRAGMA user_version = 1;
                 COMMIT;",
            )?;
        }
        if version < 2 {
            // v2: Defender for Endpoint data, one JSON object per row; `seq` keeps the
            // listing order. A row in `defender_tenants` says the tenant's data was made.
            self.conn.execute_batch(
                "BEGIN;
                 CREATE TABLE IF NOT EXISTS defender_tenants (
                     tenant TEXT PRIMARY KEY, generated TEXT NOT NULL);
                 CREATE TABLE IF NOT EXISTS defender_objects (
                     tenant TEXT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL,
                     seq INTEGER NOT NULL, json TEXT NOT NULL,
                     PRIMARY KEY (tenant, kind, id));
                 PRAGMA user_version = 2;
                 COMMIT;",
            )?;
        }
        Ok(())
    }

    /// Reads everything.
    pub fn load(&self) -> Result<Snapshot, StoreError> {
        let mut snap = Snapshot::default();
        let mut stmt = self.conn.prepare("SELECT json FROM tenants")?;
        for row in stmt.query_map([], |r| r.get::<_, String>(0))? {
            let t: Tenant = serde_json::from_str(&row?)?;
            snap.directory.insert_tenant(t);
        }
        let mut stmt = self.conn.prepare("SELECT json FROM apps")?;
        for row in stmt.query_map([], |r| r.get::<_, String>(0))? {
            let a: App = serde_json::from_str(&row?)?;
            snap.directory.apps.insert(a.client_id, a);
        }
        let mut stmt = self.conn.prepare("SELECT json FROM service_principals")?;
        for row in stmt.query_map([], |r| r.get::<_, String>(0))? {
            let sp: ServicePrincipal = serde_json::from_str(&row?)?;
            snap.directory
                .service_principals
                .insert((sp.tenant, sp.app), sp);
        }
        let mut stmt = self
            .conn
            .prepare("SELECT json FROM signing_keys ORDER BY created, kid")?;
        for row in stmt.query_map([], |r| r.get::<_, String>(0))? {
            snap.keys.push(serde_json::from_str(&row?)?);
        }
        Ok(snap)
    }

    /// A setting.
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    /// Sets a setting.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// Writes a tenant.
    pub fn put_tenant(&self, t: &Tenant) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO tenants (id, json) VALUES (?1, ?2)",
            params![t.id.to_string(), serde_json::to_string(t)?],
        )?;
        Ok(())
    }

    /// Writes an app.
    pub fn put_app(&self, a: &App) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO apps (client_id, json) VALUES (?1, ?2)",
            params![a.client_id.to_string(), serde_json::to_string(a)?],
        )?;
        Ok(())
    }

    /// Writes a service principal.
    pub fn put_service_principal(&self, sp: &ServicePrincipal) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO service_principals (tenant, app, json) VALUES (?1, ?2, ?3)",
            params![
                sp.tenant.to_string(),
                sp.app.to_string(),
                serde_json::to_string(sp)?
            ],
        )?;
        Ok(())
    }

    /// Deletes a service principal.
    pub fn delete_service_principal(&self, tenant: Uuid, app: Uuid) -> Result<(), StoreError> {
        self.conn.execute(
            "DELETE FROM service_principals WHERE tenant = ?1 AND app = ?2",
            params![tenant.to_string(), app.to_string()],
        )?;
        Ok(())
    }

    /// Writes signing keys in one transaction.
    pub fn put_keys(&mut self, keys: &[&StoredKey]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        for k in keys {
            tx.execute(
                "INSERT OR REPLACE INTO signing_keys (kid, created, json) VALUES (?1, ?2, ?3)",
                params![
                    k.kid,
                    k.created
                        .format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default(),
                    serde_json::to_string(k)?
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Records a client assertion's `jti`; false when it was seen before (a replay).
    /// Expired entries are pruned on the way.
    pub fn record_jti(
        &self,
        client_id: Uuid,
        jti: &str,
        expires: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.conn
            .execute("DELETE FROM assertion_jti WHERE expires < ?1", [now])?;
        let inserted = self.conn.execute(
            "INSERT OR IGNORE INTO assertion_jti (client_id, jti, expires) VALUES (?1, ?2, ?3)",
            params![client_id.to_string(), jti, expires],
        )?;
        Ok(inserted == 1)
    }
}

/// One stored Defender object: kind (`machine`, `alert`, …), id, listing position, JSON.
pub type DefenderRow = (&'static str, String, i64, String);

impl Store {
    /// Whether a tenant's Defender data was made already.
    pub fn defender_generated(&self, tenant: Uuid) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM defender_tenants WHERE tenant = ?1",
                [tenant.to_string()],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// A tenant's Defender objects as (kind, JSON), in listing order per kind.
    pub fn defender_load(&self, tenant: Uuid) -> Result<Vec<(String, String)>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT kind, json FROM defender_objects WHERE tenant = ?1 ORDER BY kind, seq",
        )?;
        let rows = stmt.query_map([tenant.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Writes a tenant's freshly made data and marks it made, in one transaction.
    pub fn defender_put_all(
        &mut self,
        tenant: Uuid,
        rows: &[DefenderRow],
        generated: &str,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare(
                "INSERT INTO defender_objects (tenant, kind, id, seq, json) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(tenant, kind, id) DO UPDATE SET json = excluded.json",
            )?;
            let t = tenant.to_string();
            for (kind, id, seq, json) in rows {
                stmt.execute(params![t, kind, id, seq, json])?;
            }
            tx.execute(
                "INSERT OR REPLACE INTO defender_tenants (tenant, generated) VALUES (?1, ?2)",
                params![t, generated],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Inserts or updates one Defender object (an update keeps its listing position).
    pub fn defender_put(
        &self,
        tenant: Uuid,
        kind: &str,
        id: &str,
        seq: i64,
        json: &str,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO defender_objects (tenant, kind, id, seq, json) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(tenant, kind, id) DO UPDATE SET json = excluded.json",
            params![tenant.to_string(), kind, id, seq, json],
        )?;
        Ok(())
    }

    /// Deletes one Defender object.
    pub fn defender_delete(&self, tenant: Uuid, kind: &str, id: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "DELETE FROM defender_objects WHERE tenant = ?1 AND kind = ?2 AND id = ?3",
            params![tenant.to_string(), kind, id],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_database_and_its_journal_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("e.db");
        let s = Store::open(Some(&path)).expect("open");
        s.set_meta("admin_key", "k1").expect("meta");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.path().join("e.db-wal")), 0o600);
        drop(s);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let _s = Store::open(Some(&path)).expect("reopen");
        assert_eq!(mode(&path), 0o600, "an existing file is made private");
    }

    #[test]
    fn file_database_round_trips_and_rejects_replayed_jti() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("e.db");
        {
            let s = Store::open(Some(&path)).expect("open");
            s.set_meta("admin_key", "k1").expect("meta");
            assert!(s.record_jti(Uuid::nil(), "j1", 100, 10).expect("jti"));
            assert!(!s.record_jti(Uuid::nil(), "j1", 100, 10).expect("jti"));
        }
        let s = Store::open(Some(&path)).expect("reopen");
        assert_eq!(s.meta("admin_key").expect("meta").as_deref(), Some("k1"));
        assert!(
            !s.record_jti(Uuid::nil(), "j1", 100, 50)
                .expect("still seen")
        );
        assert!(
            s.record_jti(Uuid::nil(), "j1", 300, 200)
                .expect("pruned after expiry")
        );
    }

    #[test]
    fn version_1_database_gains_the_defender_tables() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("e.db");
        Connection::open(&path)
            .and_then(|c| {
                c.execute_batch(
                    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                     INSERT INTO meta VALUES ('admin_key', 'kept');
                     PRAGMA user_version = 1;",
                )
            })
            .expect("v1");
        let mut s = Store::open(Some(&path)).expect("migrates");
        assert_eq!(s.meta("admin_key").expect("meta").as_deref(), Some("kept"));
        let t = Uuid::from_u128(7);
        assert!(!s.defender_generated(t).expect("read"));
        s.defender_put_all(t, &[("machine", "m1".into(), 0, "{}".into())], "now")
            .expect("write");
        s.defender_put(t, "machine", "m1", 0, r#"{"x":1}"#)
            .expect("update");
        assert!(s.defender_generated(t).expect("read"));
        assert_eq!(
            s.defender_load(t).expect("load"),
            vec![("machine".to_owned(), r#"{"x":1}"#.to_owned())]
        );
        s.defender_delete(t, "machine", "m1").expect("delete");
        assert!(s.defender_load(t).expect("load").is_empty());
        let version: i64 = s
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(version, SCHEMA_VERSION);
    }

    #[test]
    fn refuses_newer_schema() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("e.db");
        Connection::open(&path)
            .and_then(|c| c.execute_batch("PRAGMA user_version = 99;"))
            .expect("set");
        assert!(matches!(
            Store::open(Some(&path)),
            Err(StoreError::TooNew(99))
        ));
    }
}

//! The local database: SQLite (embedded, the default) or PostgreSQL (shared by several
//! workers). Both hold the same tables (`docs/store.md`): one per entity with typed
//! columns beside the raw JSON, `sync_state` with each tenant × entity checkpoint,
//! `sync_log` with every tenant claimed and what its run did, each tenant's tags, last
//! permissions check and scores, and versioned migrations.

mod common;
pub mod pg_tls;
pub mod postgres;
pub mod sqlite;

pub use common::{
    Checkpoint, Counts, LogEntry, Rows, SCHEMA_VERSION, TenantCheck, TenantScores, redact_url,
};

use crate::entity::{Entity, Item};
use crate::error::SyncError;
use std::path::PathBuf;

/// Where the store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL (`postgres://…` or `postgresql://…`).
    Postgres(String),
}

impl Location {
    /// Reads `sqlite:PATH`, `postgres://…`, `postgresql://…`, or a bare path (SQLite).
    pub fn parse(s: &str) -> Result<Self, SyncError> {
        let t = s.trim();
        if t.starts_with("postgres://") || t.starts_with("postgresql://") {
            return Ok(Self::Postgres(t.to_owned()));
        }
        let path = t
            .strip_prefix("sqlite://")
            .or_else(|| t.strip_prefix("sqlite:"))
            .unwrap_or(t);
        if path.is_empty() {
            return Err(SyncError::Usage(format!(
                "'{s}' names no database: give sqlite:PATH or postgres://USER@HOST/DB"
            )));
        }
        if path.contains("://") {
            return Err(SyncError::Usage(format!(
                "'{s}': only sqlite:PATH and postgres:// URLs are supported"
            )));
        }
        let path = match path.strip_prefix("~/") {
            Some(rest) => dirs::home_dir().map_or_else(|| PathBuf::from(path), |h| h.join(rest)),
            None => PathBuf::from(path),
        };
        Ok(Self::Sqlite(path))
    }

    /// The default: `mdep.db` in the platform data directory
    /// (`~/.local/share/mdep/mdep.db` on Linux).
    pub fn default_sqlite() -> Self {
        Self::Sqlite(
            dirs::data_dir()
                .unwrap_or_else(|| PathBuf::from("."))
                .join("mdep")
                .join("mdep.db"),
        )
    }

    /// For messages: the path, or the URL without its password.
    pub fn display(&self) -> String {
        match self {
            Self::Sqlite(p) => format!("sqlite:{}", p.display()),
            Self::Postgres(u) => redact_url(u),
        }
    }
}

/// Methods of [`Store`] that each backend answers alike: `fn name(params) -> T = (args);`
/// becomes `pub async fn name(&self, params) -> Result<T, SyncError>` calling the
/// backend's method of the same name.
macro_rules! dispatch {
    ($($(#[$doc:meta])* fn $name:ident($($p:ident: $t:ty),*) -> $ret:ty = ($($a:ident),*);)*) => {
        $(
            $(#[$doc])*
            pub async fn $name(&self, $($p: $t),*) -> Result<$ret, SyncError> {
                match self {
                    Self::Sqlite(s) => s.$name($($a),*).await,
                    Self::Postgres(p) => p.$name($($a),*).await,
                }
            }
        )*
    };
}

/// An open store.
pub enum Store {
    /// SQLite.
    Sqlite(sqlite::Sqlite),
    /// PostgreSQL.
    Postgres(Box<postgres::Pg>),
}

impl Store {
    dispatch! {
        /// The schema version in the database.
        fn schema_version() -> i64 = ();
        /// Records a tenant's display name and configured tags (`tenants`).
        fn set_tenant(tenant: &str, name: &str, tags: &[String]) -> () = (tenant, name, tags);
        /// Upserts a tenant's last permissions check (`tenant_checks`), stamped now.
        fn record_check(check: &TenantCheck) -> () = (check);
        /// Upserts a tenant's scores (`tenant_scores`), stamped now.
        fn set_scores(tenant: &str, scores: &TenantScores) -> () = (tenant, scores);
        /// The checkpoint of a tenant × entity.
        fn checkpoint(tenant: &str, e: Entity) -> Checkpoint = (tenant, e);
        /// Upserts a page of rows and writes the checkpoint, in one transaction.
        fn apply_page(
            tenant: &str, e: Entity, items: Vec<Item>, cp: &Checkpoint
        ) -> Counts = (tenant, e, items, cp);
        /// Ends a pass: writes the checkpoint and, after a full pass, deletes the rows the
        /// pass did not see, in one transaction. Returns the rows deleted.
        fn finish_pass(
            tenant: &str, e: Entity, cp: &Checkpoint, delete_unseen: Option<&str>
        ) -> u64 = (tenant, e, cp, delete_unseen);
        /// Writes the start of a tenant's run to `sync_log`; returns its id.
        fn log_start(tenant: &str, worker: &str) -> i64 = (tenant, worker);
        /// Writes the end of a tenant's run to `sync_log`.
        fn log_finish(id: i64, entry: &LogEntry) -> () = (id, entry);
        /// Runs one read-only statement: SQLite opens the file read-only with
        /// `query_only`; PostgreSQL runs it in a `READ ONLY` transaction.
        fn query(sql: &str, params: &[String]) -> Rows = (sql, params);
    }

    /// Opens (creating a SQLite file and its directory if needed) and migrates.
    pub async fn open(loc: &Location) -> Result<Self, SyncError> {
        match loc {
            Location::Sqlite(p) => Ok(Self::Sqlite(sqlite::Sqlite::open(p).await?)),
            Location::Postgres(u) => Ok(Self::Postgres(Box::new(postgres::Pg::connect(u).await?))),
        }
    }

    /// Opens for reading only, without migrating (`mdep db`).
    pub async fn open_read_only(loc: &Location) -> Result<Self, SyncError> {
        match loc {
            Location::Sqlite(p) => Ok(Self::Sqlite(sqlite::Sqlite::open_read_only(p)?)),
            Location::Postgres(u) => Ok(Self::Postgres(Box::new(
                postgres::Pg::connect_read_only(u).await?,
            ))),
        }
    }

    /// Claims a tenant for this worker: `false` when another worker holds it. SQLite
    /// has one writer at a time and always grants; PostgreSQL takes a session advisory
    /// lock, which a dead worker's connection gives up as it closes.
    pub async fn claim(&self, tenant: &str) -> Result<bool, SyncError> {
        match self {
            Self::Sqlite(_) => Ok(true),
            Self::Postgres(p) => p.claim(tenant).await,
        }
    }

    /// Gives a claimed tenant back.
    pub async fn release(&self, tenant: &str) -> Result<(), SyncError> {
        match self {
            Self::Sqlite(_) => Ok(()),
            Self::Postgres(p) => p.release(tenant).await,
        }
    }

    /// Whether this is PostgreSQL (SQL dialect for `mdep db`).
    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }
}

#[cfg(test)]
mod migration_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse() {
        assert_eq!(
            Location::parse("sqlite:/tmp/x.db").expect("ok"),
            Location::Sqlite("/tmp/x.db".into())
        );
        assert_eq!(
            Location::parse("/tmp/x.db").expect("ok"),
            Location::Sqlite("/tmp/x.db".into())
        );
        assert!(matches!(
            Location::parse("postgres://u@h/db"),
            Ok(Location::Postgres(_))
        ));
        assert!(Location::parse("mysql://h/db").is_err());
        assert!(Location::parse("sqlite:").is_err());
    }

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            redact_url("postgres://mdep:s3cret@db.example:5432/mdep"),
            "postgres://mdep:***@db.example:5432/mdep"
        );
        assert_eq!(redact_url("postgres://h/db"), "postgres://h/db");
    }
}

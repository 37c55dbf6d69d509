//! The local database: SQLite (embedded, the default) or PostgreSQL (shared by several
//! workers). Both hold the same tables (`docs/store.md`): one per entity with typed
//! columns beside the raw JSON, `sync_state` with each tenant × entity checkpoint,
//! `sync_log` with every tenant claimed and what its run did, and versioned migrations.

pub mod pg_tls;
pub mod postgres;
pub mod sqlite;

use crate::entity::{ColKind, Entity, Item};
use crate::error::SyncError;
use serde_json::Value;
use std::path::PathBuf;

/// Where a tenant × entity stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checkpoint {
    /// Keyset position: the watermark (whole seconds, store text form) of the last row
    /// committed, or `None` at the start of a full pass.
    pub cursor: Option<String>,
    /// Rows at `cursor`'s second already read in this pass (ties).
    pub skip: i64,
    /// The pass in progress, if one was interrupted or is running.
    pub pass_id: Option<String>,
    /// Whether that pass reads everything (then rows it did not see are deleted at its end).
    pub pass_full: bool,
    /// When the last pass completed (store text form).
    pub last_complete: Option<String>,
}

/// What one page did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Rows not in the store before.
    pub new: u64,
    /// Rows whose JSON changed.
    pub updated: u64,
    /// Rows read again as they were.
    pub unchanged: u64,
    /// Rows removed at the end of a full pass (gone from the service).
    pub deleted: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Self) {
        self.new += o.new;
        self.updated += o.updated;
        self.unchanged += o.unchanged;
        self.deleted += o.deleted;
    }
}

/// A finished tenant run, for `sync_log`.
#[derive(Debug, Clone, Default)]
pub struct LogEntry {
    /// Counts over all entities.
    pub counts: Counts,
    /// Errors.
    pub errors: u64,
    /// The first error, if any.
    pub message: Option<String>,
}

/// Rows of a read-only query, every value as JSON.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    /// Column names.
    pub columns: Vec<String>,
    /// Values, aligned with `columns`.
    pub rows: Vec<Vec<Value>>,
}

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

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url(u: &str) -> String {
    let Some((scheme, rest)) = u.split_once("://") else {
        return u.to_owned();
    };
    let (auth, host) = match rest.rsplit_once('@') {
        Some((a, h)) => (a, h),
        None => return u.to_owned(),
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => u.to_owned(),
    }
}

/// An open store.
pub enum Store {
    /// SQLite.
    Sqlite(sqlite::Sqlite),
    /// PostgreSQL.
    Postgres(Box<postgres::Pg>),
}

impl Store {
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

    /// The schema version in the database.
    pub async fn schema_version(&self) -> Result<i64, SyncError> {
        match self {
            Self::Sqlite(s) => s.schema_version().await,
            Self::Postgres(p) => p.schema_version().await,
        }
    }

    /// Records a tenant's display name.
    pub async fn set_tenant(&self, tenant: &str, name: &str) -> Result<(), SyncError> {
        match self {
            Self::Sqlite(s) => s.set_tenant(tenant, name).await,
            Self::Postgres(p) => p.set_tenant(tenant, name).await,
        }
    }

    /// The checkpoint of a tenant × entity.
    pub async fn checkpoint(&self, tenant: &str, e: Entity) -> Result<Checkpoint, SyncError> {
        match self {
            Self::Sqlite(s) => s.checkpoint(tenant, e).await,
            Self::Postgres(p) => p.checkpoint(tenant, e).await,
        }
    }

    /// Upserts a page of rows and writes the checkpoint, in one transaction.
    pub async fn apply_page(
        &self,
        tenant: &str,
        e: Entity,
        items: Vec<Item>,
        cp: &Checkpoint,
    ) -> Result<Counts, SyncError> {
        match self {
            Self::Sqlite(s) => s.apply_page(tenant, e, items, cp).await,
            Self::Postgres(p) => p.apply_page(tenant, e, items, cp).await,
        }
    }

    /// Ends a pass: writes the checkpoint and, after a full pass, deletes the rows the
    /// pass did not see, in one transaction. Returns the rows deleted.
    pub async fn finish_pass(
        &self,
        tenant: &str,
        e: Entity,
        cp: &Checkpoint,
        delete_unseen: Option<&str>,
    ) -> Result<u64, SyncError> {
        match self {
            Self::Sqlite(s) => s.finish_pass(tenant, e, cp, delete_unseen).await,
            Self::Postgres(p) => p.finish_pass(tenant, e, cp, delete_unseen).await,
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

    /// Writes the start of a tenant's run to `sync_log`; returns its id.
    pub async fn log_start(&self, tenant: &str, worker: &str) -> Result<i64, SyncError> {
        match self {
            Self::Sqlite(s) => s.log_start(tenant, worker).await,
            Self::Postgres(p) => p.log_start(tenant, worker).await,
        }
    }

    /// Writes the end of a tenant's run to `sync_log`.
    pub async fn log_finish(&self, id: i64, entry: &LogEntry) -> Result<(), SyncError> {
        match self {
            Self::Sqlite(s) => s.log_finish(id, entry).await,
            Self::Postgres(p) => p.log_finish(id, entry).await,
        }
    }

    /// Runs one read-only statement: SQLite opens the file read-only with
    /// `query_only`; PostgreSQL runs it in a `READ ONLY` transaction.
    pub async fn query(&self, sql: &str, params: &[String]) -> Result<Rows, SyncError> {
        match self {
            Self::Sqlite(s) => s.query(sql, params).await,
            Self::Postgres(p) => p.query(sql, params).await,
        }
    }

    /// Whether this is PostgreSQL (SQL dialect for `mdep db`).
    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }
}

/// The SQL type of a typed column.
fn col_type(k: ColKind, pg: bool) -> &'static str {
    match (k, pg) {
        (ColKind::Time, true) => "TIMESTAMPTZ",
        (ColKind::Json, true) => "JSONB",
        _ => "TEXT",
    }
}

/// Version 1 of the schema, for either dialect.
pub(crate) fn schema_v1(pg: bool) -> Vec<String> {
    let raw = if pg { "JSONB" } else { "TEXT" };
    let ts = if pg { "TIMESTAMPTZ" } else { "TEXT" };
    let int = if pg { "BIGINT" } else { "INTEGER" };
    let mut out = vec![format!(
        "CREATE TABLE tenants (tenant TEXT PRIMARY KEY, name TEXT NOT NULL, updated_at {ts} NOT NULL)"
    )];
    for e in Entity::ALL {
        let mut cols = String::new();
        for c in e.columns() {
            cols.push_str(&format!("    {} {},\n", c.name, col_type(c.kind, pg)));
        }
        out.push(format!(
            "CREATE TABLE {t} (\n    tenant TEXT NOT NULL,\n    id TEXT NOT NULL,\n{cols}    raw {raw} NOT NULL,\n    raw_hash {int} NOT NULL,\n    seen_pass TEXT,\n    first_synced {ts} NOT NULL,\n    last_synced {ts} NOT NULL,\n    PRIMARY KEY (tenant, id)\n)",
            t = e.table()
        ));
    }
    out.push("CREATE INDEX alerts_open ON alerts (tenant, status, severity)".into());
    out.push("CREATE INDEX alerts_updated ON alerts (tenant, last_update_time)".into());
    out.push("CREATE INDEX machines_last_seen ON machines (tenant, last_seen)".into());
    out.push(format!(
        "CREATE TABLE sync_state (\n    tenant TEXT NOT NULL,\n    entity TEXT NOT NULL,\n    cursor_time TEXT,\n    cursor_skip {int} NOT NULL DEFAULT 0,\n    pass_id TEXT,\n    pass_full {int} NOT NULL DEFAULT 0,\n    last_complete {ts},\n    updated_at {ts} NOT NULL,\n    PRIMARY KEY (tenant, entity)\n)"
    ));
    let serial = if pg {
        "BIGSERIAL PRIMARY KEY"
    } else {
        "INTEGER PRIMARY KEY AUTOINCREMENT"
    };
    out.push(format!(
        "CREATE TABLE sync_log (\n    id {serial},\n    tenant TEXT NOT NULL,\n    worker TEXT NOT NULL,\n    started_at {ts} NOT NULL,\n    finished_at {ts},\n    new_rows {int},\n    updated_rows {int},\n    unchanged_rows {int},\n    deleted_rows {int},\n    errors {int},\n    message TEXT\n)"
    ));
    out.push("CREATE INDEX sync_log_tenant ON sync_log (tenant, started_at)".into());
    let seven_days = if pg {
        "m.last_seen < now() - interval '7 days'"
    } else {
        "m.last_seen < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-7 days')"
    };
    out.push(
        "CREATE VIEW open_alerts_by_tenant_severity AS\n    SELECT a.tenant, COALESCE(t.name, a.tenant) AS tenant_name, a.severity, COUNT(*) AS open_alerts\n    FROM alerts a LEFT JOIN tenants t ON t.tenant = a.tenant\n    WHERE a.status IS NULL OR a.status <> 'Resolved'\n    GROUP BY a.tenant, t.name, a.severity"
            .into(),
    );
    out.push(format!(
        "CREATE VIEW devices_not_seen_7_days AS\n    SELECT m.tenant, COALESCE(t.name, m.tenant) AS tenant_name, m.id, m.computer_dns_name, m.os_platform, m.health_status, m.last_seen\n    FROM machines m LEFT JOIN tenants t ON t.tenant = m.tenant\n    WHERE m.last_seen IS NULL OR {seven_days}"
    ));
    out
}

/// The migrations, in order: `(version, name, statements)`.
pub(crate) fn migrations(pg: bool) -> Vec<(i64, &'static str, Vec<String>)> {
    vec![(1, "tables, checkpoints, sync log and views", schema_v1(pg))]
}

/// The newest schema version this build knows.
pub const SCHEMA_VERSION: i64 = 1;

/// Now, in the store's text form.
pub(crate) fn now_text() -> String {
    crate::entity::norm_time(time::OffsetDateTime::now_utc())
}

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

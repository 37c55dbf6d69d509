//! What both backends share: the row types, the table schema and its migrations,
//! and the helpers both use; `store` and each backend sit above this module.

use crate::entity::{ColKind, Entity};
use serde_json::Value;

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

/// The last permissions check of a tenant (`mdep tenants check`), for `tenant_checks`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantCheck {
    /// The tenant key ([`crate::tenant_key`]).
    pub tenant: String,
    /// The configured name.
    pub name: String,
    /// Whether every required role, MDE's and Microsoft Graph's, is granted.
    pub ready: bool,
    /// `ready`, `missing roles`, `AADSTS700016`, …
    pub status: String,
    /// MDE roles required and not granted.
    pub missing_roles: Vec<String>,
    /// Microsoft Graph roles required and not granted.
    pub graph_missing_roles: Vec<String>,
    /// When the token expires (RFC 3339), when there is one.
    pub token_expires: Option<String>,
    /// Entra's AADSTS code, when the token was refused.
    pub aadsts: Option<u32>,
    /// What to do about it.
    pub hint: Option<String>,
}

/// A tenant's scores, for `tenant_scores`: `None` with a `message` when MDE refused.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TenantScores {
    /// `GET /api/exposureScore` (0–100).
    pub exposure: Option<f64>,
    /// `GET /api/configurationScore` (0–1000).
    pub configuration: Option<f64>,
    /// Why a score is missing.
    pub message: Option<String>,
}

/// A list as JSON array text (`["eu","gold"]`), the form of the store's list columns.
pub(crate) fn json_list(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

/// Rows of a read-only query, every value as JSON.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    /// Column names.
    pub columns: Vec<String>,
    /// Values, aligned with `columns`.
    pub rows: Vec<Vec<Value>>,
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

/// Version 2: what a cross-tenant overview reads beside the synced rows: each tenant's
/// configured tags, its last permissions check and its exposure and configuration scores.
pub(crate) fn schema_v2(pg: bool) -> Vec<String> {
    let ts = if pg { "TIMESTAMPTZ" } else { "TEXT" };
    let int = if pg { "BIGINT" } else { "INTEGER" };
    let real = if pg { "DOUBLE PRECISION" } else { "REAL" };
    vec![
        "ALTER TABLE tenants ADD COLUMN tags TEXT NOT NULL DEFAULT '[]'".into(),
        format!(
            "CREATE TABLE tenant_checks (\n    tenant TEXT PRIMARY KEY,\n    name TEXT NOT NULL,\n    checked_at {ts} NOT NULL,\n    ready {int} NOT NULL,\n    status TEXT NOT NULL,\n    missing_roles TEXT NOT NULL,\n    graph_missing_roles TEXT NOT NULL,\n    token_expires TEXT,\n    aadsts {int},\n    hint TEXT\n)"
        ),
        format!(
            "CREATE TABLE tenant_scores (\n    tenant TEXT PRIMARY KEY,\n    exposure_score {real},\n    configuration_score {real},\n    updated_at {ts} NOT NULL,\n    message TEXT\n)"
        ),
        // The web overview pages every tenant's alerts newest first, and each device's.
        "CREATE INDEX alerts_created ON alerts (alert_creation_time, tenant, id)".into(),
        "CREATE INDEX alerts_tenant_created ON alerts (tenant, alert_creation_time, id)".into(),
        "CREATE INDEX alerts_machine ON alerts (tenant, machine_id)".into(),
    ]
}

/// One migration: `(version, name, statements)`.
pub(crate) type Migration = (i64, &'static str, Vec<String>);

/// The migrations, in order.
pub(crate) fn migrations(pg: bool) -> Vec<Migration> {
    vec![
        (1, "tables, checkpoints, sync log and views", schema_v1(pg)),
        (
            2,
            "tenant tags, permission checks and scores",
            schema_v2(pg),
        ),
    ]
}

/// The migrations a database at version `have` still needs; an error when it is newer
/// than this mdep.
pub(crate) fn pending(have: i64, pg: bool) -> Result<Vec<Migration>, crate::error::SyncError> {
    if have > SCHEMA_VERSION {
        return Err(crate::error::SyncError::Store(format!(
            "the database has schema version {have}, newer than this mdep knows ({SCHEMA_VERSION}): upgrade mdep"
        )));
    }
    Ok(migrations(pg)
        .into_iter()
        .filter(|(v, _, _)| *v > have)
        .collect())
}

/// The newest schema version this build knows.
pub const SCHEMA_VERSION: i64 = 2;

/// Now, in the store's text form.
pub(crate) fn now_text() -> String {
    crate::entity::norm_time(time::OffsetDateTime::now_utc())
}

//! SQLite: one file in WAL mode, one connection behind a mutex (SQLite has one writer at
//! a time anyway), every call on the blocking pool.

use super::common::{
    Checkpoint, Counts, LogEntry, Rows, TenantCheck, TenantScores, json_list, now_text, pending,
};
use crate::entity::{Entity, Item};
use crate::error::SyncError;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde_json::Value;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// A SQLite store.
pub struct Sqlite {
    conn: Arc<Mutex<Connection>>,
}

fn db(e: rusqlite::Error) -> SyncError {
    SyncError::Store(format!("SQLite: {e}"))
}

impl Sqlite {
    /// Opens or creates the file, turns on WAL and migrates.
    pub async fn open(path: &Path) -> Result<Self, SyncError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| SyncError::Store(format!("cannot create {}: {e}", dir.display())))?;
        }
        let conn = Connection::open(path)
            .map_err(|e| SyncError::Store(format!("cannot open {}: {e}", path.display())))?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(db)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        // WAL with NORMAL is durable against a crash of the process (a kill -9): only
        // a power loss may lose the last transactions, never corrupt the file.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(db)?;
        let s = Self {
            conn: Arc::new(Mutex::new(conn)),
        };
        s.run(migrate).await?;
        Ok(s)
    }

    /// Opens an existing file read-only, with `query_only` on as well.
    pub fn open_read_only(path: &Path) -> Result<Self, SyncError> {
        if !path.exists() {
            return Err(SyncError::Usage(format!(
                "no database at {}: run `mdep sync` first, or give --db",
                path.display()
            )));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| SyncError::Store(format!("cannot open {}: {e}", path.display())))?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(db)?;
        conn.pragma_update(None, "query_only", true).map_err(db)?;
        // Readers (`mdep db`, `mdep ui`) aggregate over every tenant's rows again and
        // again: a 64 MiB page cache and memory-mapped reads keep the indexes in memory.
        conn.pragma_update(None, "cache_size", -65_536)
            .map_err(db)?;
        conn.pragma_update(None, "mmap_size", 268_435_456)
            .map_err(db)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, SyncError> + Send + 'static,
    ) -> Result<T, SyncError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = conn
                .lock()
                .map_err(|_| SyncError::Store("SQLite connection poisoned".into()))?;
            f(&mut c)
        })
        .await
        .map_err(|e| SyncError::Store(format!("SQLite task failed: {e}")))?
    }

    pub(super) async fn schema_version(&self) -> Result<i64, SyncError> {
        self.run(|c| version(c)).await
    }

    pub(super) async fn set_tenant(
        &self,
        tenant: &str,
        name: &str,
        tags: &[String],
    ) -> Result<(), SyncError> {
        let (t, n, tags) = (tenant.to_owned(), name.to_owned(), json_list(tags));
        self.run(move |c| {
            c.execute(
                "INSERT INTO tenants (tenant, name, tags, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (tenant) DO UPDATE SET name = excluded.name, tags = excluded.tags,
                   updated_at = excluded.updated_at",
                params![t, n, tags, now_text()],
            )
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    pub(super) async fn record_check(&self, check: &TenantCheck) -> Result<(), SyncError> {
        let ch = check.clone();
        self.run(move |c| {
            c.execute(
                "INSERT INTO tenant_checks (tenant, name, checked_at, ready, status, missing_roles,
                   graph_missing_roles, token_expires, aadsts, hint)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (tenant) DO UPDATE SET name = excluded.name, checked_at = excluded.checked_at,
                   ready = excluded.ready, status = excluded.status, missing_roles = excluded.missing_roles,
                   graph_missing_roles = excluded.graph_missing_roles, token_expires = excluded.token_expires,
                   aadsts = excluded.aadsts, hint = excluded.hint",
                params![
                    ch.tenant,
                    ch.name,
                    now_text(),
                    i64::from(ch.ready),
                    ch.status,
                    json_list(&ch.missing_roles),
                    json_list(&ch.graph_missing_roles),
                    ch.token_expires,
                    ch.aadsts.map(i64::from),
                    ch.hint
                ],
            )
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    pub(super) async fn set_scores(
        &self,
        tenant: &str,
        scores: &TenantScores,
    ) -> Result<(), SyncError> {
        let (t, sc) = (tenant.to_owned(), scores.clone());
        self.run(move |c| {
            c.execute(
                "INSERT INTO tenant_scores (tenant, exposure_score, configuration_score, updated_at, message)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (tenant) DO UPDATE SET exposure_score = excluded.exposure_score,
                   configuration_score = excluded.configuration_score, updated_at = excluded.updated_at,
                   message = excluded.message",
                params![t, sc.exposure, sc.configuration, now_text(), sc.message],
            )
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    pub(super) async fn checkpoint(
        &self,
        tenant: &str,
        e: Entity,
    ) -> Result<Checkpoint, SyncError> {
        let t = tenant.to_owned();
        self.run(move |c| {
            Ok(c.query_row(
                "SELECT cursor_time, cursor_skip, pass_id, pass_full, last_complete FROM sync_state
                 WHERE tenant = ?1 AND entity = ?2",
                params![t, e.name()],
                |r| {
                    Ok(Checkpoint {
                        cursor: r.get(0)?,
                        skip: r.get(1)?,
                        pass_id: r.get(2)?,
                        pass_full: r.get::<_, i64>(3)? != 0,
                        last_complete: r.get(4)?,
                    })
                },
            )
            .optional()
            .map_err(db)?
            .unwrap_or_default())
        })
        .await
    }

    pub(super) async fn apply_page(
        &self,
        tenant: &str,
        e: Entity,
        items: Vec<Item>,
        cp: &Checkpoint,
    ) -> Result<Counts, SyncError> {
        let (t, cp) = (tenant.to_owned(), cp.clone());
        self.run(move |c| {
            let tx = c.transaction().map_err(db)?;
            let counts = upsert(&tx, &t, e, &items, cp.pass_id.as_deref())?;
            write_checkpoint(&tx, &t, e, &cp)?;
            tx.commit().map_err(db)?;
            Ok(counts)
        })
        .await
    }

    pub(super) async fn finish_pass(
        &self,
        tenant: &str,
        e: Entity,
        cp: &Checkpoint,
        delete_unseen: Option<&str>,
    ) -> Result<u64, SyncError> {
        let (t, cp, pass) = (
            tenant.to_owned(),
            cp.clone(),
            delete_unseen.map(str::to_owned),
        );
        self.run(move |c| {
            let tx = c.transaction().map_err(db)?;
            let mut deleted = 0;
            if let Some(p) = pass {
                deleted = tx
                    .execute(
                        &format!(
                            "DELETE FROM {} WHERE tenant = ?1 AND (seen_pass IS NULL OR seen_pass <> ?2)",
                            e.table()
                        ),
                        params![t, p],
                    )
                    .map_err(db)? as u64;
            }
            write_checkpoint(&tx, &t, e, &cp)?;
            tx.commit().map_err(db)?;
            Ok(deleted)
        })
        .await
    }

    pub(super) async fn log_start(&self, tenant: &str, worker: &str) -> Result<i64, SyncError> {
        let (t, w) = (tenant.to_owned(), worker.to_owned());
        self.run(move |c| {
            c.execute(
                "INSERT INTO sync_log (tenant, worker, started_at) VALUES (?1, ?2, ?3)",
                params![t, w, now_text()],
            )
            .map_err(db)?;
            Ok(c.last_insert_rowid())
        })
        .await
    }

    pub(super) async fn log_finish(&self, id: i64, entry: &LogEntry) -> Result<(), SyncError> {
        let en = entry.clone();
        self.run(move |c| {
            c.execute(
                "UPDATE sync_log SET finished_at = ?2, new_rows = ?3, updated_rows = ?4, unchanged_rows = ?5,
                 deleted_rows = ?6, errors = ?7, message = ?8 WHERE id = ?1",
                params![
                    id,
                    now_text(),
                    en.counts.new as i64,
                    en.counts.updated as i64,
                    en.counts.unchanged as i64,
                    en.counts.deleted as i64,
                    en.errors as i64,
                    en.message
                ],
            )
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    pub(super) async fn query(&self, sql: &str, params: &[String]) -> Result<Rows, SyncError> {
        let (sql, ps) = (sql.to_owned(), params.to_vec());
        self.run(move |c| {
            let mut st = c
                .prepare(&sql)
                .map_err(|e| SyncError::Query(e.to_string()))?;
            if !st.readonly() {
                return Err(SyncError::Query(
                    "only statements that read are allowed (SELECT, WITH …, read-only PRAGMA)"
                        .into(),
                ));
            }
            let columns: Vec<String> = st.column_names().iter().map(|s| (*s).to_owned()).collect();
            let n = columns.len();
            let mut rows = st
                .query(rusqlite::params_from_iter(ps.iter()))
                .map_err(|e| SyncError::Query(e.to_string()))?;
            let mut out = Vec::new();
            while let Some(r) = rows.next().map_err(|e| SyncError::Query(e.to_string()))? {
                let mut row = Vec::with_capacity(n);
                for i in 0..n {
                    use rusqlite::types::ValueRef;
                    row.push(match r.get_ref(i).map_err(db)? {
                        ValueRef::Null => Value::Null,
                        ValueRef::Integer(x) => Value::from(x),
                        ValueRef::Real(x) => Value::from(x),
                        ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
                        ValueRef::Blob(b) => Value::String(format!("<{} bytes>", b.len())),
                    });
                }
                out.push(row);
            }
            Ok(Rows { columns, rows: out })
        })
        .await
    }
}

fn version(c: &Connection) -> Result<i64, SyncError> {
    let exists: bool = c
        .query_row(
            "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
            [],
            |r| r.get(0),
        )
        .map_err(db)?;
    if !exists {
        return Ok(0);
    }
    c.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )
    .map_err(db)
}

fn migrate(c: &mut Connection) -> Result<(), SyncError> {
    c.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
        [],
    )
    .map_err(db)?;
    let tx = c
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(db)?;
    let have = version(&tx)?;
    for (v, name, stmts) in pending(have, false)? {
        for s in stmts {
            tx.execute(&s, [])
                .map_err(|e| SyncError::Store(format!("migration {v}: {e}")))?;
        }
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            params![v, name, now_text()],
        )
        .map_err(db)?;
    }
    tx.commit().map_err(db)
}

fn write_checkpoint(
    tx: &rusqlite::Transaction<'_>,
    tenant: &str,
    e: Entity,
    cp: &Checkpoint,
) -> Result<(), SyncError> {
    tx.execute(
        "INSERT INTO sync_state (tenant, entity, cursor_time, cursor_skip, pass_id, pass_full, last_complete, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (tenant, entity) DO UPDATE SET cursor_time = excluded.cursor_time,
           cursor_skip = excluded.cursor_skip, pass_id = excluded.pass_id, pass_full = excluded.pass_full,
           last_complete = excluded.last_complete, updated_at = excluded.updated_at",
        params![
            tenant,
            e.name(),
            cp.cursor,
            cp.skip,
            cp.pass_id,
            i64::from(cp.pass_full),
            cp.last_complete,
            now_text()
        ],
    )
    .map_err(db)?;
    Ok(())
}

fn upsert(
    tx: &rusqlite::Transaction<'_>,
    tenant: &str,
    e: Entity,
    items: &[Item],
    pass: Option<&str>,
) -> Result<Counts, SyncError> {
    let cols = e.columns();
    let names: Vec<&str> = cols.iter().map(|c| c.name).collect();
    let n = names.len();
    let placeholders: Vec<String> = (0..n).map(|i| format!("?{}", i + 3)).collect();
    let sets: Vec<String> = names
        .iter()
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    let insert = format!(
        "INSERT INTO {t} (tenant, id, {cols}, raw, raw_hash, seen_pass, first_synced, last_synced)
         VALUES (?1, ?2, {ph}, ?{r}, ?{h}, ?{p}, ?{s}, ?{s})
         ON CONFLICT (tenant, id) DO UPDATE SET {sets}, raw = excluded.raw, raw_hash = excluded.raw_hash,
           seen_pass = excluded.seen_pass, last_synced = excluded.last_synced",
        t = e.table(),
        cols = names.join(", "),
        ph = placeholders.join(", "),
        r = n + 3,
        h = n + 4,
        p = n + 5,
        s = n + 6,
        sets = sets.join(", "),
    );
    let mut get = tx
        .prepare_cached(&format!(
            "SELECT raw_hash, raw FROM {} WHERE tenant = ?1 AND id = ?2",
            e.table()
        ))
        .map_err(db)?;
    let mut touch = tx
        .prepare_cached(&format!(
            "UPDATE {} SET seen_pass = ?3 WHERE tenant = ?1 AND id = ?2",
            e.table()
        ))
        .map_err(db)?;
    let mut put = tx.prepare_cached(&insert).map_err(db)?;
    let now = now_text();
    let mut counts = Counts::default();
    for it in items {
        let old: Option<(i64, String)> = get
            .query_row(params![tenant, it.id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .map_err(db)?;
        match old {
            Some((h, raw)) if h == it.hash && raw == it.raw => {
                counts.unchanged += 1;
                touch.execute(params![tenant, it.id, pass]).map_err(db)?;
                continue;
            }
            Some(_) => counts.updated += 1,
            None => counts.new += 1,
        }
        let mut values: Vec<&dyn rusqlite::ToSql> = vec![&tenant, &it.id];
        for v in &it.cols {
            values.push(v);
        }
        values.push(&it.raw);
        values.push(&it.hash);
        values.push(&pass);
        values.push(&now);
        put.execute(values.as_slice()).map_err(db)?;
    }
    Ok(counts)
}

//! PostgreSQL: a few connections for data, and one session-held connection for tenant
//! claims (`pg_try_advisory_lock`): when a worker dies its session ends and its locks go
//! with it, so another worker picks its tenants up on its next pass.
//!
//! Connections take libpq's `sslmode` and `sslrootcert` from the URL (`pg_tls`): TLS when
//! the server offers it by default, `sslmode=verify-full&sslrootcert=ca.pem` to check the
//! server's certificate and name.

use super::common::{
    Checkpoint, Counts, LogEntry, Rows, TenantCheck, TenantScores, json_list, pending, redact_url,
};
use crate::entity::{ColKind, Entity, Item, fnv};
use crate::error::SyncError;
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::Mutex;
use tokio_postgres::Client;

const DATA_CONNECTIONS: usize = 4;
/// The advisory lock taken while migrating, so two workers starting together do not
/// both create the tables.
const MIGRATION_LOCK: i64 = 0x6d64_6570_6d69_6772; // "mdepmigr"

/// A PostgreSQL store.
pub struct Pg {
    data: Vec<Mutex<Client>>,
    next: AtomicUsize,
    locks: Mutex<Client>,
}

fn db(e: tokio_postgres::Error) -> SyncError {
    let mut s = format!("PostgreSQL: {e}");
    if let Some(d) = e.as_db_error() {
        s = format!("PostgreSQL: {} ({})", d.message(), d.code().code());
    } else if let Some(src) = std::error::Error::source(&e) {
        s.push_str(&format!(": {src}"));
    }
    SyncError::Store(s)
}

async fn connect_one(url: &str) -> Result<Client, SyncError> {
    let (wire, tls) = super::pg_tls::split(url)?;
    let (client, conn) = tokio_postgres::connect(&wire, super::pg_tls::connector(&tls)?)
        .await
        .map_err(|e| {
            let mut s = format!("cannot connect to {}: {e}", redact_url(url));
            let mut src = std::error::Error::source(&e);
            while let Some(cause) = src {
                s.push_str(&format!(": {cause}"));
                src = cause.source();
            }
            if tls.mode == super::pg_tls::SslMode::Disable
                && (s.contains("SSL off") || s.contains("no encryption"))
            {
                s.push_str(" (the server asks for TLS: drop sslmode=disable, or use sslmode=verify-full&sslrootcert=CA.pem)");
            } else if s.contains("certificate") || s.contains("Certificate") {
                s.push_str(" (sslmode=verify-ca checks that the server's certificate is signed by the CA in sslrootcert; verify-full also that it names the host)");
            } else if tls.mode != super::pg_tls::SslMode::Disable && s.contains("TLS") {
                s.push_str(" (the server does not offer TLS: enable ssl on it, or use sslmode=prefer)");
            }
            SyncError::Store(s)
        })?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "PostgreSQL connection closed");
        }
    });
    Ok(client)
}

/// The lock key of a tenant: one 64-bit space shared by every worker.
fn lock_key(tenant: &str) -> i64 {
    fnv(&format!("mdep-sync:{}", tenant.to_ascii_lowercase()))
}

impl Pg {
    /// Connects and migrates.
    pub async fn connect(url: &str) -> Result<Self, SyncError> {
        let mut data = Vec::with_capacity(DATA_CONNECTIONS);
        for _ in 0..DATA_CONNECTIONS {
            data.push(Mutex::new(connect_one(url).await?));
        }
        let locks = Mutex::new(connect_one(url).await?);
        let pg = Self {
            data,
            next: AtomicUsize::new(0),
            locks,
        };
        pg.migrate().await?;
        Ok(pg)
    }

    /// Connects with every transaction read-only, without migrating.
    pub async fn connect_read_only(url: &str) -> Result<Self, SyncError> {
        let c = connect_one(url).await?;
        c.batch_execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            .await
            .map_err(db)?;
        let l = connect_one(url).await?;
        Ok(Self {
            data: vec![Mutex::new(c)],
            next: AtomicUsize::new(0),
            locks: Mutex::new(l),
        })
    }

    async fn client(&self) -> tokio::sync::MutexGuard<'_, Client> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.data.len();
        self.data[i].lock().await
    }

    async fn migrate(&self) -> Result<(), SyncError> {
        let mut c = self.client().await;
        let tx = c.transaction().await.map_err(db)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(db)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)",
        )
        .await
        .map_err(db)?;
        let have: i64 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_migrations",
                &[],
            )
            .await
            .map_err(db)?
            .get(0);
        for (v, name, stmts) in pending(have, true)? {
            for s in stmts {
                tx.batch_execute(&s)
                    .await
                    .map_err(|e| SyncError::Store(format!("migration {v}: {e}")))?;
            }
            tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, now())",
                &[&v, &name],
            )
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    pub(super) async fn schema_version(&self) -> Result<i64, SyncError> {
        let c = self.client().await;
        let exists: bool = c
            .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
            .await
            .map_err(db)?
            .get(0);
        if !exists {
            return Ok(0);
        }
        Ok(c.query_one(
            "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_migrations",
            &[],
        )
        .await
        .map_err(db)?
        .get(0))
    }

    pub(super) async fn set_tenant(
        &self,
        tenant: &str,
        name: &str,
        tags: &[String],
    ) -> Result<(), SyncError> {
        self.client()
            .await
            .execute(
                "INSERT INTO tenants (tenant, name, tags, updated_at) VALUES ($1, $2, $3, now())
                 ON CONFLICT (tenant) DO UPDATE SET name = excluded.name, tags = excluded.tags,
                   updated_at = excluded.updated_at",
                &[&tenant, &name, &json_list(tags)],
            )
            .await
            .map_err(db)?;
        Ok(())
    }

    pub(super) async fn record_check(&self, ch: &TenantCheck) -> Result<(), SyncError> {
        self.client()
            .await
            .execute(
                "INSERT INTO tenant_checks (tenant, name, checked_at, ready, status, missing_roles,
                   graph_missing_roles, token_expires, aadsts, hint)
                 VALUES ($1, $2, now(), $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (tenant) DO UPDATE SET name = excluded.name, checked_at = excluded.checked_at,
                   ready = excluded.ready, status = excluded.status, missing_roles = excluded.missing_roles,
                   graph_missing_roles = excluded.graph_missing_roles, token_expires = excluded.token_expires,
                   aadsts = excluded.aadsts, hint = excluded.hint",
                &[
                    &ch.tenant,
                    &ch.name,
                    &i64::from(ch.ready),
                    &ch.status,
                    &json_list(&ch.missing_roles),
                    &json_list(&ch.graph_missing_roles),
                    &ch.token_expires,
                    &ch.aadsts.map(i64::from),
                    &ch.hint,
                ],
            )
            .await
            .map_err(db)?;
        Ok(())
    }

    pub(super) async fn set_scores(
        &self,
        tenant: &str,
        sc: &TenantScores,
    ) -> Result<(), SyncError> {
        self.client()
            .await
            .execute(
                "INSERT INTO tenant_scores (tenant, exposure_score, configuration_score, updated_at, message)
                 VALUES ($1, $2, $3, now(), $4)
                 ON CONFLICT (tenant) DO UPDATE SET exposure_score = excluded.exposure_score,
                   configuration_score = excluded.configuration_score, updated_at = excluded.updated_at,
                   message = excluded.message",
                &[&tenant, &sc.exposure, &sc.configuration, &sc.message],
            )
            .await
            .map_err(db)?;
        Ok(())
    }

    pub(super) async fn checkpoint(
        &self,
        tenant: &str,
        e: Entity,
    ) -> Result<Checkpoint, SyncError> {
        let row = self
            .client()
            .await
            .query_opt(
                "SELECT cursor_time, cursor_skip, pass_id, pass_full,
                        to_char(last_complete AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')
                 FROM sync_state WHERE tenant = $1 AND entity = $2",
                &[&tenant, &e.name()],
            )
            .await
            .map_err(db)?;
        Ok(row.map_or_else(Checkpoint::default, |r| Checkpoint {
            cursor: r.get(0),
            skip: r.get(1),
            pass_id: r.get(2),
            pass_full: r.get::<_, i64>(3) != 0,
            last_complete: r.get(4),
        }))
    }

    pub(super) async fn apply_page(
        &self,
        tenant: &str,
        e: Entity,
        items: Vec<Item>,
        cp: &Checkpoint,
    ) -> Result<Counts, SyncError> {
        let mut c = self.client().await;
        let tx = c.transaction().await.map_err(db)?;
        let ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
        let known: std::collections::HashMap<String, i64> = tx
            .query(
                &format!(
                    "SELECT id, raw_hash FROM {} WHERE tenant = $1 AND id = ANY($2)",
                    e.table()
                ),
                &[&tenant, &ids],
            )
            .await
            .map_err(db)?
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let cols = e.columns();
        let n = cols.len();
        let names: Vec<&str> = cols.iter().map(|c| c.name).collect();
        let ph: Vec<String> = cols
            .iter()
            .enumerate()
            .map(|(i, c)| match c.kind {
                ColKind::Time => format!("${}::text::timestamptz", i + 3),
                ColKind::Json => format!("${}::text::jsonb", i + 3),
                ColKind::Text => format!("${}::text", i + 3),
            })
            .collect();
        let sets: Vec<String> = names
            .iter()
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        let insert = tx
            .prepare(&format!(
                "INSERT INTO {t} (tenant, id, {cols}, raw, raw_hash, seen_pass, first_synced, last_synced)
                 VALUES ($1, $2, {ph}, ${r}::text::jsonb, ${h}, ${p}::text, now(), now())
                 ON CONFLICT (tenant, id) DO UPDATE SET {sets}, raw = excluded.raw, raw_hash = excluded.raw_hash,
                   seen_pass = excluded.seen_pass, last_synced = excluded.last_synced",
                t = e.table(),
                cols = names.join(", "),
                ph = ph.join(", "),
                r = n + 3,
                h = n + 4,
                p = n + 5,
                sets = sets.join(", "),
            ))
            .await
            .map_err(db)?;
        let pass = cp.pass_id.clone();
        let mut counts = Counts::default();
        let mut same: Vec<&str> = Vec::new();
        let mut writes = Vec::new();
        for it in &items {
            match known.get(&it.id) {
                Some(h) if *h == it.hash => {
                    counts.unchanged += 1;
                    same.push(&it.id);
                    continue;
                }
                Some(_) => counts.updated += 1,
                None => counts.new += 1,
            }
            let mut values: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&tenant, &it.id];
            for v in &it.cols {
                values.push(v);
            }
            values.push(&it.raw);
            values.push(&it.hash);
            values.push(&pass);
            writes.push(values);
        }
        // Pipelined: the statements go out together and the answers come back in order.
        futures_util::future::try_join_all(writes.iter().map(|v| tx.execute(&insert, v)))
            .await
            .map_err(db)?;
        if !same.is_empty() {
            tx.execute(
                &format!(
                    "UPDATE {} SET seen_pass = $3 WHERE tenant = $1 AND id = ANY($2)",
                    e.table()
                ),
                &[&tenant, &same, &pass],
            )
            .await
            .map_err(db)?;
        }
        write_checkpoint(&tx, tenant, e, cp).await?;
        tx.commit().await.map_err(db)?;
        Ok(counts)
    }

    pub(super) async fn finish_pass(
        &self,
        tenant: &str,
        e: Entity,
        cp: &Checkpoint,
        delete_unseen: Option<&str>,
    ) -> Result<u64, SyncError> {
        let mut c = self.client().await;
        let tx = c.transaction().await.map_err(db)?;
        let mut deleted = 0;
        if let Some(p) = delete_unseen {
            deleted = tx
                .execute(
                    &format!(
                        "DELETE FROM {} WHERE tenant = $1 AND (seen_pass IS NULL OR seen_pass <> $2)",
                        e.table()
                    ),
                    &[&tenant, &p],
                )
                .await
                .map_err(db)?;
        }
        write_checkpoint(&tx, tenant, e, cp).await?;
        tx.commit().await.map_err(db)?;
        Ok(deleted)
    }

    pub(super) async fn claim(&self, tenant: &str) -> Result<bool, SyncError> {
        Ok(self
            .locks
            .lock()
            .await
            .query_one("SELECT pg_try_advisory_lock($1)", &[&lock_key(tenant)])
            .await
            .map_err(db)?
            .get(0))
    }

    pub(super) async fn release(&self, tenant: &str) -> Result<(), SyncError> {
        self.locks
            .lock()
            .await
            .query_one("SELECT pg_advisory_unlock($1)", &[&lock_key(tenant)])
            .await
            .map_err(db)?;
        Ok(())
    }

    pub(super) async fn log_start(&self, tenant: &str, worker: &str) -> Result<i64, SyncError> {
        Ok(self
            .client()
            .await
            .query_one(
                "INSERT INTO sync_log (tenant, worker, started_at) VALUES ($1, $2, clock_timestamp()) RETURNING id",
                &[&tenant, &worker],
            )
            .await
            .map_err(db)?
            .get(0))
    }

    pub(super) async fn log_finish(&self, id: i64, en: &LogEntry) -> Result<(), SyncError> {
        self.client()
            .await
            .execute(
                "UPDATE sync_log SET finished_at = clock_timestamp(), new_rows = $2, updated_rows = $3,
                 unchanged_rows = $4, deleted_rows = $5, errors = $6, message = $7 WHERE id = $1",
                &[
                    &id,
                    &(en.counts.new as i64),
                    &(en.counts.updated as i64),
                    &(en.counts.unchanged as i64),
                    &(en.counts.deleted as i64),
                    &(en.errors as i64),
                    &en.message,
                ],
            )
            .await
            .map_err(db)?;
        Ok(())
    }

    pub(super) async fn query(&self, sql: &str, params: &[String]) -> Result<Rows, SyncError> {
        let sql = sql.trim().trim_end_matches(';');
        let mut c = self.client().await;
        // Every type as JSON, whatever a SELECT returns: the row as an array. Parsed
        // outside the transaction, which a parse error would abort.
        let wrapped = format!(
            "SELECT (SELECT json_agg(j.value ORDER BY j.n) FROM json_each(row_to_json(q)) WITH ORDINALITY AS j(key, value, n))::text FROM ({sql}) q"
        );
        let select = c.prepare(&wrapped).await;
        let tx = c
            .build_transaction()
            .read_only(true)
            .start()
            .await
            .map_err(db)?;
        let ps: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
            .iter()
            .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync))
            .collect();
        let mut columns = Vec::new();
        let mut out = Vec::new();
        match select {
            Ok(_) => {
                let st = tx
                    .prepare(sql)
                    .await
                    .map_err(|e| SyncError::Query(pg_message(&e)))?;
                columns = st.columns().iter().map(|c| c.name().to_owned()).collect();
                let rows = tx
                    .query(&wrapped, &ps)
                    .await
                    .map_err(|e| SyncError::Query(pg_message(&e)))?;
                for r in rows {
                    let text: Option<String> = r.get(0);
                    let v: Value = match text {
                        Some(t) => {
                            serde_json::from_str(&t).map_err(|e| SyncError::Query(e.to_string()))?
                        }
                        None => Value::Array(vec![]),
                    };
                    out.push(match v {
                        Value::Array(a) => a,
                        other => vec![other],
                    });
                }
            }
            // Not a SELECT (SHOW, EXPLAIN, or a write the read-only transaction refuses):
            // run it as it is, values as text.
            Err(_) if params.is_empty() => {
                use tokio_postgres::SimpleQueryMessage;
                let msgs = tx
                    .simple_query(sql)
                    .await
                    .map_err(|e| SyncError::Query(pg_message(&e)))?;
                for m in msgs {
                    match m {
                        SimpleQueryMessage::RowDescription(cols) if columns.is_empty() => {
                            columns = cols.iter().map(|c| c.name().to_owned()).collect();
                        }
                        SimpleQueryMessage::Row(r) => {
                            if columns.is_empty() {
                                columns = r.columns().iter().map(|c| c.name().to_owned()).collect();
                            }
                            out.push(
                                (0..r.len())
                                    .map(|i| {
                                        r.get(i)
                                            .map_or(Value::Null, |s| Value::String(s.to_owned()))
                                    })
                                    .collect(),
                            );
                        }
                        _ => {}
                    }
                }
            }
            Err(e) => return Err(SyncError::Query(pg_message(&e))),
        }
        tx.rollback().await.map_err(db)?;
        Ok(Rows { columns, rows: out })
    }
}

fn pg_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => d.message().to_owned(),
        None => e.to_string(),
    }
}

async fn write_checkpoint(
    tx: &tokio_postgres::Transaction<'_>,
    tenant: &str,
    e: Entity,
    cp: &Checkpoint,
) -> Result<(), SyncError> {
    tx.execute(
        "INSERT INTO sync_state (tenant, entity, cursor_time, cursor_skip, pass_id, pass_full, last_complete, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7::text::timestamptz, now())
         ON CONFLICT (tenant, entity) DO UPDATE SET cursor_time = excluded.cursor_time,
           cursor_skip = excluded.cursor_skip, pass_id = excluded.pass_id, pass_full = excluded.pass_full,
           last_complete = excluded.last_complete, updated_at = excluded.updated_at",
        &[
            &tenant,
            &e.name(),
            &cp.cursor,
            &cp.skip,
            &cp.pass_id,
            &i64::from(cp.pass_full),
            &cp.last_complete,
        ],
    )
    .await
    .map_err(db)?;
    Ok(())
}

//! A database made by version 1 of the schema is migrated in place to the current one
//! and keeps its rows, on SQLite and on a throwaway PostgreSQL server (the harness of
//! the CLI's tests, shared rather than copied).

use super::common::{SCHEMA_VERSION, schema_v1};
use super::{Location, Store, TenantCheck, TenantScores};
use serde_json::{Value, json};

#[path = "../../../mdep-cli/tests/pg/mod.rs"]
mod pg;

/// What a version-1 database holds before the migration: a tenant and an alert.
fn v1_rows(pg: bool) -> Vec<String> {
    let now = if pg {
        "now()"
    } else {
        "'2026-11-01T00:00:00.000000Z'"
    };
    let raw = if pg {
        "'{\"id\":\"da1\"}'::jsonb"
    } else {
        "'{\"id\":\"da1\"}'"
    };
    vec![
        format!(
            "INSERT INTO tenants (tenant, name, updated_at) VALUES ('contoso.onmicrosoft.com', 'Contoso', {now})"
        ),
        format!(
            "INSERT INTO alerts (tenant, id, severity, raw, raw_hash, first_synced, last_synced) VALUES ('contoso.onmicrosoft.com', 'da1', 'High', {raw}, 7, {now}, {now})"
        ),
    ]
}

/// Checks the migrated store: version 2, the old rows, and the new tables working.
async fn assert_migrated(store: &Store) {
    assert_eq!(store.schema_version().await.expect("version"), 2);
    assert_eq!(SCHEMA_VERSION, 2);
    let q = |sql: &'static str| async move { store.query(sql, &[]).await.expect(sql).rows };
    assert_eq!(
        q("SELECT tenant, name, tags FROM tenants").await,
        vec![vec![
            json!("contoso.onmicrosoft.com"),
            json!("Contoso"),
            json!("[]")
        ]],
        "the v1 tenant is kept, its tags empty"
    );
    assert_eq!(
        q("SELECT id, severity FROM alerts").await,
        vec![vec![json!("da1"), json!("High")]]
    );
    assert_eq!(
        q("SELECT version, name FROM schema_migrations ORDER BY version").await,
        vec![
            vec![json!(1), json!("tables, checkpoints, sync log and views")],
            vec![json!(2), json!("tenant tags, permission checks and scores")]
        ]
    );
    store
        .set_tenant(
            "contoso.onmicrosoft.com",
            "Contoso",
            &["eu".into(), "gold".into()],
        )
        .await
        .expect("tags");
    assert_eq!(
        q("SELECT tags FROM tenants").await,
        vec![vec![json!("[\"eu\",\"gold\"]")]]
    );
    let mut check = TenantCheck {
        tenant: "contoso.onmicrosoft.com".into(),
        name: "Contoso".into(),
        ready: false,
        status: "AADSTS700016".into(),
        missing_roles: vec!["Alert.Read.All".into()],
        graph_missing_roles: vec![],
        token_expires: None,
        aadsts: Some(700016),
        hint: Some("consent".into()),
    };
    store.record_check(&check).await.expect("check");
    check.ready = true;
    check.status = "ready".into();
    check.missing_roles.clear();
    check.aadsts = None;
    check.hint = None;
    check.token_expires = Some("2026-12-04T03:00:00Z".into());
    store.record_check(&check).await.expect("re-check");
    assert_eq!(
        q("SELECT tenant, name, ready, status, missing_roles, graph_missing_roles, token_expires, aadsts, hint FROM tenant_checks").await,
        vec![vec![
            json!("contoso.onmicrosoft.com"),
            json!("Contoso"),
            json!(1),
            json!("ready"),
            json!("[]"),
            json!("[]"),
            json!("2026-12-04T03:00:00Z"),
            Value::Null,
            Value::Null
        ]],
        "a re-check replaces the row"
    );
    let scores = TenantScores {
        exposure: Some(41.5),
        configuration: None,
        message: Some("configurationScore: 403".into()),
    };
    store
        .set_scores("contoso.onmicrosoft.com", &scores)
        .await
        .expect("scores");
    assert_eq!(
        q("SELECT exposure_score, configuration_score, message, updated_at IS NOT NULL AS stamped FROM tenant_scores").await,
        vec![vec![json!(41.5), Value::Null, json!("configurationScore: 403"), if store.is_postgres() { json!(true) } else { json!(1) }]]
    );
}

#[tokio::test]
async fn a_version_1_sqlite_database_migrates_in_place_and_keeps_its_rows() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("v1.db");
    {
        let c = rusqlite::Connection::open(&path).expect("open");
        c.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL);
             INSERT INTO schema_migrations VALUES (1, 'tables, checkpoints, sync log and views', '2026-11-01T00:00:00.000000Z');",
        )
        .expect("migrations table");
        for s in schema_v1(false).into_iter().chain(v1_rows(false)) {
            c.execute(&s, []).expect(&s);
        }
    }
    let loc = Location::Sqlite(path);
    let before = Store::open_read_only(&loc).await.expect("read-only");
    assert_eq!(before.schema_version().await.expect("v"), 1);
    drop(before);
    let store = Store::open(&loc).await.expect("migrate");
    assert_migrated(&store).await;
    drop(store);
    // Opening again migrates nothing more.
    let again = Store::open(&loc).await.expect("reopen");
    assert_eq!(again.schema_version().await.expect("v"), 2);
}

#[tokio::test]
async fn a_version_1_postgres_database_migrates_in_place_and_keeps_its_rows() {
    let server = tokio::task::spawn_blocking(pg::Postgres::start)
        .await
        .expect("server");
    let url = server.url("v1");
    {
        let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(conn);
        c.batch_execute(
            "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL);
             INSERT INTO schema_migrations VALUES (1, 'tables, checkpoints, sync log and views', now());",
        )
        .await
        .expect("migrations table");
        for s in schema_v1(true).into_iter().chain(v1_rows(true)) {
            c.batch_execute(&s).await.expect(&s);
        }
    }
    let loc = Location::Postgres(url);
    let store = Store::open(&loc).await.expect("migrate");
    assert_migrated(&store).await;
    drop(store);
    let again = Store::open(&loc).await.expect("reopen");
    assert_eq!(again.schema_version().await.expect("v"), 2);
}

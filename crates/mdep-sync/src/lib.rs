//! Multi-tenant sync of Microsoft Defender for Endpoint data into a local database.
//!
//! [`sync_all`] reads every chosen tenant's alerts, machines, machine actions and
//! indicators through [`mdep_api::Client`] (its per-tenant quota limiter, retries and
//! paging) and upserts them on (tenant, id) into a [`Store`]: SQLite in WAL mode by
//! default, or PostgreSQL shared by several workers. Alerts and machines are incremental
//! on `lastUpdateTime` and `lastSeen`; every page is committed together with its
//! checkpoint, so a process killed at any moment loses and duplicates nothing. The
//! schema, views and checkpoints are described in `docs/store.md`; [`view`] reads them
//! back as `mdep db` does.

pub mod engine;
pub mod entity;
pub mod error;
pub mod store;
pub mod view;

pub use engine::{
    NoProgress, Progress, SyncOptions, TenantReport, read_scores, sync_all, sync_tenant, tenant_key,
};
pub use entity::Entity;
pub use error::SyncError;
pub use store::{Counts, Location, Rows, Store, TenantCheck, TenantScores};

//! What can go wrong syncing.

/// A sync or store failure.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// A call to MDE failed (after the client's retries).
    #[error(transparent)]
    Api(#[from] mdep_api::ApiError),
    /// The database failed.
    #[error("{0}")]
    Store(String),
    /// A read-only query was refused or failed.
    #[error("query failed: {0}")]
    Query(String),
    /// Bad input from the user.
    #[error("{0}")]
    Usage(String),
}

impl SyncError {
    /// A hint a person can act on, when there is one.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Api(e) => e.hint().map(str::to_owned),
            Self::Store(s) if s.contains("database is locked") => Some(
                "another process holds the SQLite database: wait for it, or give each worker its own --db"
                    .into(),
            ),
            _ => None,
        }
    }
}

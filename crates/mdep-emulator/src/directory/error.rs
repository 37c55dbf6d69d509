//! Why a directory change was refused.

/// Why a directory change was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DirectoryError {
    /// Something named does not exist.
    #[error("{kind} '{id}' not found")]
    NotFound {
        /// What kind of object.
        kind: &'static str,
        /// Its id as given.
        id: String,
    },
    /// The object exists already.
    #[error("{0}")]
    Conflict(String),
    /// The input is invalid.
    #[error("{0}")]
    Invalid(String),
}

pub(crate) fn invalid(msg: impl Into<String>) -> DirectoryError {
    DirectoryError::Invalid(msg.into())
}

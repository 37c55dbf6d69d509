#![doc = include_str!("../README.md")]

pub mod entity;
pub mod error;
pub mod fanout;
pub mod graph;
pub mod mde;
pub mod query;
pub mod regions;
pub mod tenant;
pub mod transport;
mod wire;

pub use error::ApiError;
pub use fanout::{TenantResult, fan_out};
pub use graph::GraphClient;
pub use mde::actions::{ActionOutcome, ResponseAction};
pub use mde::response::{AlertByReference, LibraryUpload};
pub use query::Query;
pub use tenant::Tenant;
pub use transport::client::Client;
pub use transport::limit::{self as limit, Bucket, Limiter, Limits};
pub use transport::options::{ClientOptions, Dialect, RetryPolicy, user_agent};

/// The client and its options at their earlier path (they live in [`transport`] now).
pub mod client {
    pub use crate::tenant::Tenant;
    pub use crate::transport::client::{Client, Counters};
    pub use crate::transport::options::{ClientOptions, Dialect, RetryPolicy, user_agent};
}

/// Response actions at their earlier path (they live in [`mde::actions`] now).
pub mod actions {
    pub use crate::mde::actions::{ActionOutcome, ResponseAction};
    pub use crate::transport::url::path_segment;
}

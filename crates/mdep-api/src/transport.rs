//! The transport, below both dialects: URLs, request bodies (JSON or a multipart form),
//! the options a client runs with, the per-tenant limiter, one call with its token and
//! retries, error answers decoded into [`crate::ApiError`] in the sending API's words,
//! and `@odata.nextLink` paging. The MDE calls ([`crate::mde`]) and the Graph calls
//! ([`crate::graph`]) are thin layers over it.

pub mod client;
pub mod decode;
pub mod form;
pub mod limit;
pub mod options;
mod page;
pub mod paging;
pub mod url;

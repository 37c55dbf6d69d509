//! The path every API command runs along: which tenants (`select`), the OData options
//! of lists (`query`), the call across the tenants (`fanout`, with `progress` on
//! stderr), the rows on stdout (`output`) and the exit code (`exit`).

pub mod exit;
pub mod fanout;
pub mod output;
pub mod progress;
pub mod query;
pub mod select;
pub mod triage;

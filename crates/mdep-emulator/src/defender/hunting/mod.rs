//! Advanced hunting: `POST /api/advancedqueries/run` with the KQL subset of [`kql`] over
//! four tables made from the tenant's data: `DeviceInfo` (one row per device),
//! `AlertInfo` (per alert), `AlertEvidence` (per evidence, plus the device) and a minimal
//! `DeviceProcessEvents` (the processes in alert evidence). The answer has `Stats`,
//! `Schema` and `Results` (`mde-api.md` §4.7); a query outside the subset is 400 naming
//! what is not supported. Its own quota: 45 calls a minute per tenant by default.

mod eval;
mod handler;
pub mod kql;
mod licence;
mod meter;
mod ops;
mod tables;
mod typing;
mod value;

pub use handler::run_query;
pub use licence::unlicensed;
pub use meter::metered;

pub use ops::{last_30_days, run, run_in};
pub use tables::process_event;
pub use value::{MAX_ROWS, Table, Ty, V, bad, cell};

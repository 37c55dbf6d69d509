//! The MDE API (`api.securitycenter.microsoft.com`, `mde-api.md` §4): its calls as
//! methods of [`crate::Client`], each a thin layer over the transport — reads as a table
//! of paths and entity types, the calls that change something, and response actions
//! that a lost answer never duplicates.

pub mod actions;
pub mod assessment;
pub mod reads;
pub mod response;
pub mod updates;

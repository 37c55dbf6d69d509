//! Pure types shared by the mdep toolkit and the emulator; no I/O lives here.
//!
//! - [`permissions`]: the WindowsDefenderATP application and its application roles.
//! - [`cloud`]: clouds, their sign-in and API hosts, and the regional API hosts.
//! - [`aadsts`]: the Entra ID error codes of the client-credentials and consent flows,
//!   with the OAuth `error` value, HTTP status and a hint a person can act on.
//! - [`licence`]: the Defender product a tenant is licensed for (advanced hunting or not).
//! - [`odata`]: the OData `$filter` syntax tree the MDE API takes, with parser and renderer.

pub mod aadsts;
pub mod cloud;
pub mod licence;
pub mod odata;
pub mod permissions;

pub use cloud::{Cloud, Region};
pub use licence::Licence;
pub use permissions::{AppRole, MDE_RESOURCES, WINDOWS_DEFENDER_ATP_APP_ID};

//! Entity collections, written once for both APIs: each entity set (MDE's alerts,
//! machines, machine actions, indicators, investigations, software, vulnerabilities and
//! files; Graph's alerts_v2 and incidents) plugs in its fields and rules, and gets the
//! rest from here — the role check, the caller's tenant only, OData `$filter`, `$top`,
//! `$skip`, `$orderby`, `$select` and `$count` ([`crate::defender::query`]), get by id,
//! PATCH, and the API's envelope and error bodies ([`crate::request::api::Api`]).
//!
//! - [`set`]: what an entity set declares ([`set::Collection`], [`set::Patch`]);
//! - [`serve`]: the handlers over any of them;
//! - [`body`]: reading request bodies by field rules, in the API's error words.

pub mod body;
pub mod serve;
pub mod set;

//! The layer below both APIs' handlers: who is calling and where the request came in,
//! and how each API answers.
//!
//! - [`token`]: bearer tokens verified once and cached; [`auth`]: the caller, checked on
//!   every request; [`guard`]: the gate in front of each API's routes.
//! - [`error`]: MDE's error body; [`graph_error`]: Graph's error envelope and the request
//!   ids every Graph response carries.
//! - [`envelope`]: the OData envelope both APIs answer in; [`api`]: what sets one API
//!   apart from the other, implemented by [`mde::Mde`] and [`graph::Graph`];
//!   [`call`]: what a handler of either API works with.
//! - [`throttle`]: per (tenant, app) quotas; [`faults`]: the faults in force;
//!   [`inject`]: the middleware that applies them.

pub mod api;
pub mod auth;
pub mod call;
pub mod cpu;
pub mod envelope;
pub mod error;
pub mod faults;
pub mod graph;
pub mod graph_error;
pub mod guard;
pub mod inject;
pub mod mde;
pub mod throttle;
pub mod token;

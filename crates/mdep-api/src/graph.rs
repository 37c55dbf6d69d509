//! Microsoft Graph's security API for any number of tenants (`graph-security.md`): the
//! [`GraphClient`] over the transport, and the entities it reads; [`apps`]: the
//! application API that registers the partner app.

pub mod apps;
pub mod client;
pub mod entity;

pub use crate::transport::decode::graph_error;
pub use client::{ALERTS_PAGE, GRAPH_LIMITS, GraphClient, INCIDENTS_PAGE};
pub use entity::{GraphAlert, GraphCollection, HuntingColumn, HuntingResults, Incident};

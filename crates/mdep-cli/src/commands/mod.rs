//! The API commands, one module per command family; each parses its own arguments and
//! runs on the shared path in `crate::run`.

pub mod actions;
pub mod alerts;
pub mod api;
pub mod app;
pub mod hunt;
pub mod incidents;
pub mod indicators;
pub mod library;
pub mod machines;
pub mod regions;
pub mod response;
pub mod tvm;

//! What a tenant's data is made from, and what is made.

use serde_json::Value;
use uuid::Uuid;

/// What a tenant's data is made from.
#[derive(Debug, Clone)]
pub struct Recipe {
    /// Tenant id (becomes `aadTenantId` and seeds the generator).
    pub tenant: Uuid,
    /// The tenant's verified domain (names devices and users).
    pub domain: String,
    /// Devices to make.
    pub devices: u32,
    /// Alerts to make (none when there are no devices to raise them on).
    pub alerts: u32,
    /// Seed.
    pub seed: u64,
    /// Every generated time lies before it: the tenant's creation, or the scenario's
    /// `clock`.
    pub anchor: time::OffsetDateTime,
}

/// A tenant's Defender data.
#[derive(Debug, Clone, Default)]
pub struct Generated {
    /// Machines.
    pub machines: Vec<Value>,
    /// Alerts, each with its full `evidence`.
    pub alerts: Vec<Value>,
    /// Users (the alert `user` shape).
    pub users: Vec<Value>,
    /// Logon users per machine id (the `logonusers` shape).
    pub logons: Vec<(String, Value)>,
    /// Past machine actions.
    pub actions: Vec<Value>,
    /// Indicators.
    pub indicators: Vec<Value>,
}

//! The deterministic data generator: a tenant's devices, alerts with evidence, logon
//! users, past machine actions and indicators, made from its `devices`, `alerts` and
//! `seed` (scenario) and its id, so the same tenant and seed always give the same data.
//!
//! Shapes, enums and formats follow `mde-api.md` §5 and `samples/`: 40-hex machine ids,
//! GUID action ids, `da<ticks>_<n>` alert ids, times with 7-digit fractions. Every time
//! lies before the recipe's `anchor` (the tenant's creation, or the scenario's `clock`),
//! so a new tenant's data is recent and the same anchor and seed give the same data.
//!
//! Each part draws from one generator in a fixed order (users, machines, alerts,
//! actions, indicators), so that order is part of the data.

mod actions;
mod alerts;
mod files;
mod indicators;
mod machines;
mod model;
mod rng;
mod users;

pub use actions::{ActionFields, action_json};
pub use files::file_profile;
pub use indicators::{IndicatorFields, indicator_json};
pub use model::{Generated, Recipe};
pub use rng::{ANCHOR, MAX_OBJECTS, Rng, mixed_seed, ticks, ts0, ts7};

/// Generates a tenant's data.
pub fn generate(recipe: &Recipe) -> Generated {
    let mut rng = Rng::new(mixed_seed(recipe.tenant, recipe.seed));
    let devices = recipe.devices.min(MAX_OBJECTS) as usize;
    let alerts = if devices == 0 {
        0
    } else {
        recipe.alerts.min(MAX_OBJECTS) as usize
    };
    let label = recipe.domain.split('.').next().unwrap_or("contoso");
    let mut people = users::People::new(&mut rng, devices, label, recipe.anchor);
    let machines = machines::machines(&mut rng, devices, label, &mut people, recipe.anchor);
    let logons = machines
        .iter()
        .map(|m| {
            let id = m.json["id"].as_str().unwrap_or_default().to_owned();
            let list = m.users.iter().map(|u| people.logon_json(&people.users[*u]));
            (id, serde_json::Value::Array(list.collect()))
        })
        .collect();
    let alerts = alerts::alerts(&mut rng, recipe, alerts, &machines, &people);
    let actions = actions::past_actions(&mut rng, recipe, &machines);
    let indicators = if devices > 0 {
        indicators::tools_indicators(&mut rng, recipe.anchor)
    } else {
        Vec::new()
    };
    Generated {
        users: people.users.iter().map(|u| people.user_json(u)).collect(),
        machines: machines.into_iter().map(|m| m.json).collect(),
        alerts,
        logons,
        actions,
        indicators,
    }
}

#[cfg(test)]
mod tests;

//! A tenant's Defender data in memory, loaded from the store or generated on first use,
//! and written through to the store on every change.

use super::generate::{self, Recipe};
use crate::request::error::MdeError;
use crate::store::{DefenderRow, Store};
use serde_json::{Value, json};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

/// What a tenant's data is kept in and generated from: the emulator's store, and the
/// tenant's settings in the directory.
pub trait Backing {
    /// The store every change is written through to.
    fn store(&self) -> MutexGuard<'_, Store>;
    /// What the tenant's data is generated from; `None` for a tenant that does not exist.
    fn recipe(&self, tenant: Uuid) -> Option<Recipe>;
}

impl<T: Backing + ?Sized> Backing for Arc<T> {
    fn store(&self) -> MutexGuard<'_, Store> {
        T::store(self)
    }
    fn recipe(&self, tenant: Uuid) -> Option<Recipe> {
        T::recipe(self, tenant)
    }
}

/// Read access to a tenant's data.
pub fn read(d: &RwLock<TenantData>) -> RwLockReadGuard<'_, TenantData> {
    d.read().unwrap_or_else(|p| p.into_inner())
}

/// Write access to a tenant's data.
pub fn write(d: &RwLock<TenantData>) -> RwLockWriteGuard<'_, TenantData> {
    d.write().unwrap_or_else(|p| p.into_inner())
}

/// A tenant's data.
#[derive(Debug, Default)]
pub struct TenantData {
    /// The tenant.
    pub tenant: Uuid,
    /// Machines, in listing order.
    pub machines: Vec<Value>,
    machine_ix: HashMap<String, usize>,
    /// Alerts with `evidence` emptied (listing order: newest first).
    pub alerts: Vec<Value>,
    /// Each alert's evidence (a JSON array), aligned with `alerts`.
    pub evidence: Vec<Value>,
    /// Each alert serialised as lists show it (no evidence), aligned with `alerts`: lists
    /// are the hot path, and copying text is much cheaper than serialising values.
    pub alert_text: Vec<String>,
    alert_ix: HashMap<String, usize>,
    /// Users by lower-case id (`domain\name`).
    pub users: HashMap<String, Value>,
    /// Logon users per lower-case machine id.
    pub logons: HashMap<String, Value>,
    /// Machine actions, newest first.
    pub actions: Vec<Value>,
    /// Indicators, oldest first.
    pub indicators: Vec<Value>,
    /// The next indicator id.
    pub next_indicator: u64,
    /// What Microsoft Graph's incident updates set that no alert holds (custom tags,
    /// status, description, …), by incident id.
    pub incidents: HashMap<String, Value>,
    /// Investigations started through `startInvestigation`, oldest first (those the
    /// generated alerts started are derived from the alerts).
    pub investigations: Vec<Value>,
    /// The live response library, in upload order.
    pub library: Vec<Value>,
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_owned()
}

fn storage(e: impl std::fmt::Display) -> MdeError {
    tracing::error!(error = %e, "Defender data storage failure");
    MdeError::internal()
}

impl TenantData {
    fn build(tenant: Uuid, g: generate::Generated) -> Self {
        let mut d = TenantData {
            tenant,
            ..Default::default()
        };
        for m in g.machines {
            d.machine_ix
                .insert(id_of(&m).to_ascii_lowercase(), d.machines.len());
            d.machines.push(m);
        }
        for mut a in g.alerts {
            let ev = a
                .get_mut("evidence")
                .map(|e| std::mem::replace(e, json!([])))
                .unwrap_or_else(|| json!([]));
            d.alert_ix.insert(id_of(&a), d.alerts.len());
            d.alert_text.push(a.to_string());
            d.alerts.push(a);
            d.evidence.push(ev);
        }
        for u in g.users {
            d.users.insert(id_of(&u).to_ascii_lowercase(), u);
        }
        for (m, list) in g.logons {
            d.logons.insert(m.to_ascii_lowercase(), list);
        }
        d.actions = g.actions;
        d.actions.sort_by(|a, b| {
            b["creationDateTimeUtc"]
                .as_str()
                .cmp(&a["creationDateTimeUtc"].as_str())
        });
        d.indicators = g.indicators;
        d.indicators
            .sort_by_key(|i| i["id"].as_str().and_then(|s| s.parse::<u64>().ok()));
        d.next_indicator = d
            .indicators
            .iter()
            .filter_map(|i| i["id"].as_str().and_then(|s| s.parse::<u64>().ok()))
            .max()
            .map_or(1, |m| m + 1);
        d
    }

    /// A machine by id (case-insensitive) or by computer DNS name.
    pub fn machine_index(&self, id_or_name: &str) -> Option<usize> {
        self.machine_ix
            .get(&id_or_name.to_ascii_lowercase())
            .copied()
            .or_else(|| {
                self.machines.iter().position(|m| {
                    m["computerDnsName"]
                        .as_str()
                        .is_some_and(|n| n.eq_ignore_ascii_case(id_or_name))
                })
            })
    }

    /// An alert's index by id.
    pub fn alert_index(&self, id: &str) -> Option<usize> {
        self.alert_ix.get(id).copied()
    }

    /// An alert with its evidence.
    pub fn alert_full(&self, i: usize) -> Value {
        let mut a = self.alerts[i].clone();
        a["evidence"] = self.evidence[i].clone();
        a
    }

    /// Writes alert `i` (with its evidence) to the store, after a change.
    pub fn persist_alert(&mut self, emu: &impl Backing, i: usize) -> Result<(), MdeError> {
        self.alert_text[i] = self.alerts[i].to_string();
        let a = self.alert_full(i);
        emu.store()
            .defender_put(self.tenant, "alert", &id_of(&a), i as i64, &a.to_string())
            .map_err(storage)
    }

    /// Adds `devices` new machines and `alerts` new alerts, generated as the scenario's
    /// are but stamped `now` (first/last seen; created, events and last update), and
    /// stores them. New alerts go on the new machines, or on existing ones when no
    /// machine is added. Returns the new machine ids and alert ids.
    pub fn add_generated(
        &mut self,
        emu: &impl Backing,
        domain: &str,
        devices: u32,
        alerts: u32,
        seed: u64,
        now: OffsetDateTime,
    ) -> Result<(Vec<String>, Vec<String>), MdeError> {
        let make_devices = if devices == 0 && alerts > 0 {
            1
        } else {
            devices
        };
        let g = generate::generate(&Recipe {
            tenant: self.tenant,
            domain: domain.to_owned(),
            devices: make_devices,
            alerts,
            seed,
            anchor: now,
        });
        let stamp = json!(generate::ts7(now));
        let mut new_machines = Vec::new();
        if devices > 0 {
            for mut m in g.machines.iter().cloned() {
                let id = id_of(&m);
                if self.machine_ix.contains_key(&id.to_ascii_lowercase()) {
                    continue;
                }
                m["firstSeen"] = stamp.clone();
                m["lastSeen"] = stamp.clone();
                let i = self.machines.len();
                self.machine_ix.insert(id.to_ascii_lowercase(), i);
                self.machines.push(m);
                self.persist_machine(emu, i)?;
                new_machines.push(id);
            }
        }
        let mut new_alerts = Vec::new();
        for (k, mut a) in g.alerts.into_iter().enumerate() {
            let id = id_of(&a);
            if self.alert_ix.contains_key(&id) {
                continue;
            }
            if devices == 0 && !self.machines.is_empty() {
                let m = &self.machines[k % self.machines.len()];
                a["machineId"] = m["id"].clone();
                a["computerDnsName"] = m["computerDnsName"].clone();
            }
            for key in [
                "alertCreationTime",
                "firstEventTime",
                "lastEventTime",
                "lastUpdateTime",
            ] {
                a[key] = stamp.clone();
            }
            if !a["resolvedTime"].is_null() {
                a["resolvedTime"] = stamp.clone();
            }
            let ev = a
                .get_mut("evidence")
                .map(|e| std::mem::replace(e, json!([])))
                .unwrap_or_else(|| json!([]));
            let i = self.alerts.len();
            self.alert_ix.insert(id.clone(), i);
            self.alert_text.push(String::new());
            self.alerts.push(a);
            self.evidence.push(ev);
            self.persist_alert(emu, i)?;
            new_alerts.push(id);
        }
        Ok((new_machines, new_alerts))
    }

    /// Adds an alert (after the others) with its evidence, and stores it. Returns its
    /// index.
    pub fn add_alert(
        &mut self,
        emu: &impl Backing,
        a: Value,
        evidence: Value,
    ) -> Result<usize, MdeError> {
        let i = self.alerts.len();
        self.alert_ix.insert(id_of(&a), i);
        self.alert_text.push(String::new());
        self.alerts.push(a);
        self.evidence.push(evidence);
        self.persist_alert(emu, i)?;
        Ok(i)
    }

    /// Adds an investigation started through the API, and stores it.
    pub fn add_investigation(&mut self, emu: &impl Backing, v: Value) -> Result<(), MdeError> {
        let id = id_of(&v);
        let seq = id.parse::<i64>().unwrap_or(0);
        emu.store()
            .defender_put(self.tenant, "investigation", &id, seq, &v.to_string())
            .map_err(storage)?;
        self.investigations.push(v);
        Ok(())
    }

    /// Adds or replaces a live response library file (by name, any case), and stores it.
    pub fn put_library(&mut self, emu: &impl Backing, f: Value) -> Result<(), MdeError> {
        let key = f["fileName"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        emu.store()
            .defender_put(self.tenant, "library", &key, 0, &f.to_string())
            .map_err(storage)?;
        let same =
            |x: &Value| x["fileName"].as_str().map(str::to_ascii_lowercase) == Some(key.clone());
        match self.library.iter().position(same) {
            Some(i) => self.library[i] = f,
            None => self.library.push(f),
        }
        Ok(())
    }

    /// Deletes a live response library file (by name, any case).
    pub fn delete_library(&mut self, emu: &impl Backing, name: &str) -> Result<(), MdeError> {
        let key = name.to_ascii_lowercase();
        emu.store()
            .defender_delete(self.tenant, "library", &key)
            .map_err(storage)?;
        self.library
            .retain(|x| x["fileName"].as_str().map(str::to_ascii_lowercase) != Some(key.clone()));
        Ok(())
    }

    /// Writes machine `i` to the store.
    pub fn persist_machine(&self, emu: &impl Backing, i: usize) -> Result<(), MdeError> {
        let m = &self.machines[i];
        emu.store()
            .defender_put(self.tenant, "machine", &id_of(m), i as i64, &m.to_string())
            .map_err(storage)
    }

    /// Adds a machine action (newest first) and stores it.
    pub fn add_action(&mut self, emu: &impl Backing, a: Value) -> Result<(), MdeError> {
        emu.store()
            .defender_put(self.tenant, "action", &id_of(&a), 0, &a.to_string())
            .map_err(storage)?;
        self.actions.insert(0, a);
        Ok(())
    }

    /// Replaces machine action `i` and stores it.
    pub fn replace_action(
        &mut self,
        emu: &impl Backing,
        i: usize,
        a: Value,
    ) -> Result<(), MdeError> {
        emu.store()
            .defender_put(self.tenant, "action", &id_of(&a), 0, &a.to_string())
            .map_err(storage)?;
        if let Some(slot) = self.actions.get_mut(i) {
            *slot = a;
        }
        Ok(())
    }

    /// Inserts or replaces an indicator and stores it.
    pub fn put_indicator(&mut self, emu: &impl Backing, ind: Value) -> Result<(), MdeError> {
        let id = id_of(&ind);
        let seq = id.parse::<i64>().unwrap_or(0);
        emu.store()
            .defender_put(self.tenant, "indicator", &id, seq, &ind.to_string())
            .map_err(storage)?;
        match self.indicators.iter().position(|i| id_of(i) == id) {
            Some(p) => self.indicators[p] = ind,
            None => self.indicators.push(ind),
        }
        Ok(())
    }

    /// Replaces what an incident update set, and stores it.
    pub fn put_incident(&mut self, emu: &impl Backing, id: &str, v: Value) -> Result<(), MdeError> {
        emu.store()
            .defender_put(self.tenant, "incident", id, 0, &v.to_string())
            .map_err(storage)?;
        self.incidents.insert(id.to_owned(), v);
        Ok(())
    }

    /// Deletes an indicator.
    pub fn delete_indicator(&mut self, emu: &impl Backing, id: &str) -> Result<(), MdeError> {
        emu.store()
            .defender_delete(self.tenant, "indicator", id)
            .map_err(storage)?;
        self.indicators.retain(|i| id_of(i) != id);
        Ok(())
    }
}

fn parse_ts(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// MDE's 400 `ActiveRequestAlreadyExists` saying `why` when machine `machine_id` has an
/// action of type `kind` still Pending or InProgress as of `now`.
pub fn refuse_if_running(
    actions: &[Value],
    machine_id: &str,
    kind: &str,
    (now, seconds): (OffsetDateTime, u32),
    why: impl FnOnce() -> String,
) -> Result<(), crate::request::error::MdeError> {
    let running = actions.iter().any(|a| {
        a["machineId"] == machine_id
            && a["type"] == kind
            && matches!(
                action_view(a, now, seconds)["status"].as_str(),
                Some("Pending" | "InProgress")
            )
    });
    if running {
        return Err(crate::request::error::MdeError::bad(
            "ActiveRequestAlreadyExists",
            why(),
        ));
    }
    Ok(())
}

/// A machine action as of `now`: an action the emulator created moves from Pending to
/// InProgress at half of `seconds` and to Succeeded at `seconds`.
pub fn action_view(a: &Value, now: OffsetDateTime, seconds: u32) -> Cow<'_, Value> {
    if a["status"] != "Pending" {
        return Cow::Borrowed(a);
    }
    let Some(created) = a["creationDateTimeUtc"].as_str().and_then(parse_ts) else {
        return Cow::Borrowed(a);
    };
    let total = time::Duration::seconds(i64::from(seconds));
    let half = total / 2;
    let elapsed = now - created;
    let (status, at) = if elapsed >= total {
        ("Succeeded", created + total)
    } else if elapsed >= half {
        ("InProgress", created + half)
    } else {
        return Cow::Borrowed(a);
    };
    let mut v = a.clone();
    v["status"] = json!(status);
    v["lastUpdateDateTimeUtc"] = json!(generate::ts7(at));
    // Live response commands run one after another over the InProgress half.
    if status == "Succeeded"
        && let Some(cmds) = v["commands"].as_array_mut()
    {
        let n = cmds.len().max(1) as i32;
        for (k, c) in cmds.iter_mut().enumerate() {
            let k = k as i32;
            c["commandStatus"] = json!("Completed");
            c["startTime"] = json!(generate::ts7(created + half + (total - half) * k / n));
            c["endTime"] = json!(generate::ts7(created + half + (total - half) * (k + 1) / n));
        }
    }
    Cow::Owned(v)
}

/// Loads a tenant's data from the store, or generates and stores it.
pub fn load_or_generate(emu: &impl Backing, tenant: Uuid) -> Result<TenantData, MdeError> {
    let recipe = emu
        .recipe(tenant)
        .ok_or_else(|| MdeError::not_found("Tenant", &tenant.to_string()))?;
    let generated = emu.store().defender_generated(tenant).map_err(storage)?;
    if generated {
        let rows = emu.store().defender_load(tenant).map_err(storage)?;
        let mut g = generate::Generated::default();
        let mut incidents = HashMap::new();
        let mut investigations = Vec::new();
        let mut library = Vec::new();
        for (kind, text) in rows {
            let v: Value = serde_json::from_str(&text).map_err(storage)?;
            match kind.as_str() {
                "machine" => g.machines.push(v),
                "alert" => g.alerts.push(v),
                "user" => g.users.push(v),
                "logons" => {
                    let m = v["machineId"].as_str().unwrap_or_default().to_owned();
                    g.logons.push((m, v["value"].clone()));
                }
                "action" => g.actions.push(v),
                "indicator" => g.indicators.push(v),
                "incident" => {
                    let id = v["id"].as_str().unwrap_or_default().to_owned();
                    incidents.insert(id, v);
                }
                "investigation" => investigations.push(v),
                "library" => library.push(v),
                other => tracing::warn!(kind = other, "unknown Defender row kind ignored"),
            }
        }
        let mut d = TenantData::build(tenant, g);
        d.incidents = incidents;
        d.investigations = investigations;
        d.library = library;
        return Ok(d);
    }
    let g = generate::generate(&recipe);
    let mut rows: Vec<DefenderRow> = Vec::new();
    let mut push = |kind: &'static str, list: &[Value]| {
        for (i, v) in list.iter().enumerate() {
            rows.push((kind, id_of(v), i as i64, v.to_string()));
        }
    };
    push("machine", &g.machines);
    push("alert", &g.alerts);
    push("user", &g.users);
    push("action", &g.actions);
    push("indicator", &g.indicators);
    for (i, (m, list)) in g.logons.iter().enumerate() {
        rows.push((
            "logons",
            m.clone(),
            i as i64,
            json!({"machineId": m, "value": list}).to_string(),
        ));
    }
    let now = OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default();
    emu.store()
        .defender_put_all(tenant, &rows, &now)
        .map_err(storage)?;
    Ok(TenantData::build(tenant, g))
}

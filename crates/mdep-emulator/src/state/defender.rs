//! The Defender half's state: the settings a scenario may change, the token cache both
//! APIs share, the quotas and faults in force, and each tenant's data in memory (loaded
//! on first use, the least recently used idle tenant's dropped past a cap).

use crate::defender::data::{Backing, TenantData, load_or_generate};
use crate::defender::query::MAX_TOP;
use crate::request::cpu::{CpuLimits, CpuMeter};
use crate::request::error::MdeError;
use crate::request::faults::Faults;
use crate::request::throttle::{Limits, Throttle};
use crate::request::token::TokenCache;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use uuid::Uuid;

/// Defender settings a scenario may change (`docs/scenario.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefenderSettings {
    /// Call quotas per (tenant, app).
    pub limits: Limits,
    /// Advanced hunting quotas per tenant.
    pub hunting_limits: Limits,
    /// Advanced hunting execution-time limits per tenant.
    pub hunting_cpu: CpuLimits,
    /// Microsoft Graph security API quotas per (tenant, app) for alerts_v2 and incidents.
    pub graph_limits: Limits,
    /// Microsoft Graph `runHuntingQuery` quotas per tenant.
    pub graph_hunting_limits: Limits,
    /// Most items per page before `@odata.nextLink`.
    pub page_size: usize,
    /// Seconds a response action takes from Pending to Succeeded (half of it Pending,
    /// half InProgress); 0 completes at once.
    pub action_seconds: u32,
    /// Tenants whose data is kept in memory; past it the least recently used idle
    /// tenant's is dropped (its data is in the store, and is loaded again on its next call).
    pub tenants_in_memory: usize,
    /// The instant new tenants' generated data lies before (scenario `clock`); when
    /// absent, each tenant's creation time.
    pub clock: Option<time::OffsetDateTime>,
}

impl Default for DefenderSettings {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            hunting_limits: Limits {
                per_minute: 45,
                per_hour: 1500,
            },
            hunting_cpu: CpuLimits::default(),
            // 150 requests a minute per app per tenant for security alerts (graph-security.md
            // §4.1, [G:tl]); no hourly quota is documented.
            graph_limits: Limits {
                per_minute: 150,
                per_hour: u32::MAX,
            },
            // "at least 45 calls per minute per tenant" (graph-security.md §2.6).
            graph_hunting_limits: Limits {
                per_minute: 45,
                per_hour: u32::MAX,
            },
            page_size: MAX_TOP,
            action_seconds: 60,
            tenants_in_memory: DEFAULT_TENANTS_IN_MEMORY,
            clock: None,
        }
    }
}

/// Tenants whose data stays in memory unless a scenario says otherwise (a generated
/// tenant with the default 30 alerts takes well under a megabyte).
pub const DEFAULT_TENANTS_IN_MEMORY: usize = 1_000;

/// One tenant's place in memory: empty until its data is loaded. Loading happens under
/// the slot's own lock, so tenants load in parallel and a tenant loads once.
type Slot = Arc<Mutex<Option<Arc<RwLock<TenantData>>>>>;

/// The tenants loaded in memory, with when each was last used.
#[derive(Debug, Default)]
struct Loaded {
    map: HashMap<Uuid, (Slot, u64)>,
    clock: u64,
}

/// Whether nothing holds this tenant: no caller has its slot (so no one can hand out its
/// data) and no request still holds its data. Called under the map's lock, which is the
/// only place a slot is handed out, so the answer cannot change before the caller acts.
fn idle(slot: &Slot) -> bool {
    Arc::strong_count(slot) == 1
        && slot
            .try_lock()
            .is_ok_and(|d| d.as_ref().is_none_or(|d| Arc::strong_count(d) == 1))
}

impl Loaded {
    /// Drops least recently used tenants until at most `cap` remain, skipping any that a
    /// request still holds (dropping those could lose a change made after the reload).
    fn trim(&mut self, cap: usize) {
        while self.map.len() > cap {
            let oldest = self
                .map
                .iter()
                .filter(|(_, (slot, _))| idle(slot))
                .min_by_key(|(_, (_, used))| *used)
                .map(|(t, _)| *t);
            match oldest {
                Some(t) => {
                    self.map.remove(&t);
                }
                None => break,
            }
        }
    }
}

/// The Defender half's state: settings, the token cache, quotas and each tenant's data.
#[derive(Debug, Default)]
pub struct DefenderState {
    settings: RwLock<DefenderSettings>,
    tokens: TokenCache,
    throttle: Throttle,
    hunting: Throttle,
    hunting_cpu: CpuMeter,
    graph: Throttle,
    graph_hunting: Throttle,
    faults: Faults,
    tenants: Mutex<Loaded>,
}

impl DefenderState {
    /// Settings in force.
    pub fn settings(&self) -> DefenderSettings {
        *self.settings.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces the settings.
    pub fn set_settings(&self, s: DefenderSettings) {
        *self.settings.write().unwrap_or_else(|p| p.into_inner()) = s;
    }

    /// The faults in force.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The call quotas.
    pub fn throttle(&self) -> &Throttle {
        &self.throttle
    }

    /// The advanced hunting quotas (per tenant).
    pub fn hunting_throttle(&self) -> &Throttle {
        &self.hunting
    }

    /// The advanced hunting execution time used (per tenant).
    pub fn hunting_cpu(&self) -> &CpuMeter {
        &self.hunting_cpu
    }

    /// The Microsoft Graph security API quotas (per tenant and app).
    pub fn graph_throttle(&self) -> &Throttle {
        &self.graph
    }

    /// The Microsoft Graph `runHuntingQuery` quotas (per tenant).
    pub fn graph_hunting_throttle(&self) -> &Throttle {
        &self.graph_hunting
    }

    /// The verified-token cache both APIs share.
    pub fn tokens(&self) -> &TokenCache {
        &self.tokens
    }

    /// A tenant's data: loaded from the store, or generated on first use.
    pub fn data(
        &self,
        emu: &impl Backing,
        tenant: Uuid,
    ) -> Result<Arc<RwLock<TenantData>>, MdeError> {
        let cap = self.settings().tenants_in_memory.max(1);
        let slot = {
            let mut loaded = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
            loaded.clock += 1;
            let now = loaded.clock;
            match loaded.map.get_mut(&tenant) {
                Some((slot, used)) => {
                    *used = now;
                    slot.clone()
                }
                None => {
                    // Every change to a tenant's data is written through to the store, so
                    // a tenant dropped here comes back the same from `load_or_generate`.
                    loaded.trim(cap.saturating_sub(1));
                    let slot = Slot::default();
                    loaded.map.insert(tenant, (slot.clone(), now));
                    slot
                }
            }
        };
        // The map's lock is released: other tenants are served (and loaded) meanwhile.
        let mut place = slot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(d) = place.as_ref() {
            return Ok(d.clone());
        }
        // A failed load leaves the slot empty; the next call tries again.
        let d = Arc::new(RwLock::new(load_or_generate(emu, tenant)?));
        *place = Some(d.clone());
        Ok(d)
    }

    /// How many tenants' data is in memory now.
    pub fn tenants_loaded(&self) -> usize {
        self.tenants
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map
            .values()
            .filter(|(slot, _)| slot.lock().unwrap_or_else(|p| p.into_inner()).is_some())
            .count()
    }
}

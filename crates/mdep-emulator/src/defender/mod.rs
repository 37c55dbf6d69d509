//! Defender for Endpoint: the MDE REST API a partner calls with a token from the Entra
//! half, under `/api` and `/api/v1.0` (`mde-api.md` §4–§6).
//!
//! - [`auth`]: the resource server's token checks; [`throttle`]: per (tenant, app) quotas.
//! - [`generate`]: the deterministic per-tenant data; [`data`]: that data in memory,
//!   written through to the store.
//! - [`query`]: OData query options; [`error`]: MDE's error bodies; [`faults`]: fault
//!   injection for testing clients.
//! - [`alerts`], [`machines`], [`actions`], [`indicators`], [`hunting`], [`intel`],
//!   [`investigations`], [`live`]: the endpoints.

pub mod actions;
pub mod alerts;
pub mod auth;
pub mod data;
pub mod error;
pub mod faults;
pub mod generate;
pub mod hunting;
pub mod indicators;
pub mod intel;
pub mod investigations;
pub mod live;
pub mod machines;
pub mod query;
pub mod throttle;

use crate::{AppState, CountedTenant};
use auth::{Caller, TokenCache};
use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use data::TenantData;
use error::MdeError;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use throttle::{Limits, Throttle};
use uuid::Uuid;

/// Defender settings a scenario may change (`docs/scenario.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefenderSettings {
    /// Call quotas per (tenant, app).
    pub limits: Limits,
    /// Advanced hunting quotas per tenant.
    pub hunting_limits: Limits,
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
}

impl Default for DefenderSettings {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            hunting_limits: Limits {
                per_minute: 45,
                per_hour: 1500,
            },
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
            page_size: query::MAX_TOP,
            action_seconds: 60,
            tenants_in_memory: DEFAULT_TENANTS_IN_MEMORY,
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
    graph: Throttle,
    graph_hunting: Throttle,
    faults: faults::Faults,
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
    pub fn faults(&self) -> &faults::Faults {
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
        emu: &crate::Emulator,
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
        let d = Arc::new(RwLock::new(data::load_or_generate(emu, tenant)?));
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

/// Read access to a tenant's data.
pub fn read(d: &RwLock<TenantData>) -> std::sync::RwLockReadGuard<'_, TenantData> {
    d.read().unwrap_or_else(|p| p.into_inner())
}

/// Write access to a tenant's data.
pub fn write(d: &RwLock<TenantData>) -> std::sync::RwLockWriteGuard<'_, TenantData> {
    d.write().unwrap_or_else(|p| p.into_inner())
}

/// Where a request came in: its origin and API prefix (for `@odata.context` and next
/// links) and its raw query string.
#[derive(Debug, Clone)]
pub struct Req {
    /// `https://host:port`.
    pub origin: String,
    /// `/api` or `/api/v1.0`.
    pub prefix: &'static str,
    /// The path as requested.
    pub path: String,
    /// The raw query string.
    pub query: Option<String>,
}

impl Req {
    /// `@odata.context` for `fragment` (e.g. `Alerts`, `Alerts/$entity`).
    pub fn context(&self, fragment: &str) -> String {
        format!("{}{}/$metadata#{fragment}", self.origin, self.prefix)
    }
}

impl FromRequestParts<AppState> for Req {
    type Rejection = MdeError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, MdeError> {
        let uri = original_uri(parts);
        let path = uri.path().to_owned();
        let prefix = if path.to_ascii_lowercase().starts_with("/api/v1.0/") {
            "/api/v1.0"
        } else {
            "/api"
        };
        Ok(Self {
            origin: crate::entra::origin(state, &uri, &parts.headers),
            prefix,
            path,
            query: uri.query().map(str::to_owned),
        })
    }
}

/// The URI the client asked for: nested routers see the path without their prefix
/// (`/api`, `/v1.0`), and links and contexts are built from the original.
pub(crate) fn original_uri(parts: &Parts) -> axum::http::Uri {
    parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map_or_else(|| parts.uri.clone(), |o| o.0.clone())
}

/// A JSON response from text already serialised, with `content_type` and
/// `OData-Version: 4.0`.
pub(crate) fn odata_response(
    status: StatusCode,
    body: String,
    content_type: &'static str,
) -> Response {
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert("OData-Version", HeaderValue::from_static("4.0"));
    resp
}

/// MDE's content type for JSON.
const MDE_JSON: &str =
    "application/json; odata.metadata=minimal; odata.streaming=true; charset=utf-8";

/// A JSON response with MDE's OData headers.
pub fn json(status: StatusCode, body: &Value) -> Response {
    json_text(status, body.to_string())
}

/// A JSON response from text already serialised.
pub fn json_text(status: StatusCode, body: String) -> Response {
    odata_response(status, body, MDE_JSON)
}

/// A collection written from serialised items: the same document [`collection`] makes.
pub fn collection_text<'a>(
    req: &Req,
    fragment: &str,
    items: impl Iterator<Item = &'a str>,
    count: Option<usize>,
    next: Option<String>,
) -> String {
    let quote = |s: &str| Value::String(s.to_owned()).to_string();
    let mut out = String::with_capacity(64 * 1024);
    out.push_str("{\"@odata.context\":");
    out.push_str(&quote(&req.context(fragment)));
    if let Some(n) = count {
        out.push_str(",\"@odata.count\":");
        out.push_str(&n.to_string());
    }
    out.push_str(",\"value\":[");
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(item);
    }
    out.push(']');
    if let Some(q) = next {
        out.push_str(",\"@odata.nextLink\":");
        out.push_str(&quote(&format!("{}{}?{q}", req.origin, req.path)));
    }
    out.push('}');
    out
}

/// One entity with its `@odata.context` first.
pub fn entity(req: &Req, fragment: &str, v: Value) -> Value {
    let mut m = Map::new();
    m.insert(
        "@odata.context".into(),
        Value::String(req.context(fragment)),
    );
    if let Value::Object(o) = v {
        m.extend(o);
    }
    Value::Object(m)
}

/// A collection: `@odata.context`, `value`, and `@odata.nextLink` when more remain.
pub fn collection(req: &Req, fragment: &str, page: query::Page) -> Value {
    let mut m = Map::new();
    m.insert(
        "@odata.context".into(),
        Value::String(req.context(fragment)),
    );
    if let Some(n) = page.count {
        m.insert("@odata.count".into(), Value::from(n));
    }
    m.insert("value".into(), Value::Array(page.items));
    if let Some(q) = page.next {
        m.insert(
            "@odata.nextLink".into(),
            Value::String(format!("{}{}?{q}", req.origin, req.path)),
        );
    }
    Value::Object(m)
}

/// Result type of the endpoints.
pub type ApiResult = Result<Response, MdeError>;

/// Every request: authenticate, then count against the quota; the caller goes into the
/// request's extensions and the tenant onto the response for the counters.
async fn guard(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let def = state.emu.defender();
    let caller = match auth::authenticate(&state.emu, &def.tokens, auth.as_deref()) {
        Ok(c) => c,
        Err(e) => return MdeError::from(e).into_response(),
    };
    let tenant = CountedTenant(caller.tenant.to_string());
    let mut resp = match def
        .throttle
        .admit(caller.tenant, caller.app, def.settings().limits)
    {
        Ok(()) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Err(e) => e.into_response(),
    };
    resp.extensions_mut().insert(tenant);
    resp
}

fn api(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/alerts", get(alerts::list))
        .route("/alerts/batchUpdate", post(alerts::batch_update))
        .route("/alerts/{id}", get(alerts::get_one).patch(alerts::update))
        .route("/alerts/{id}/machine", get(alerts::machine))
        .route("/alerts/{id}/files", get(alerts::files))
        .route("/alerts/{id}/ips", get(alerts::ips))
        .route("/alerts/{id}/domains", get(alerts::domains))
        .route("/alerts/{id}/user", get(alerts::user))
        .route("/machines", get(machines::list))
        .route("/machines/findbytag", get(machines::find_by_tag))
        .route(
            "/machines/AddOrRemoveTagForMultipleMachines",
            post(machines::tags_for_many),
        )
        .route(
            "/machines/{id}",
            get(machines::get_one).patch(machines::update),
        )
        .route(
            "/machines/{id}/setDeviceValue",
            post(machines::set_device_value),
        )
        .route("/machines/{id}/logonusers", get(machines::logon_users))
        .route("/machines/{id}/alerts", get(machines::alerts))
        .route("/machines/{id}/tags", post(machines::tags))
        .route("/machines/{id}/isolate", post(actions::isolate))
        .route("/machines/{id}/unisolate", post(actions::unisolate))
        .route(
            "/machines/{id}/restrictCodeExecution",
            post(actions::restrict),
        )
        .route(
            "/machines/{id}/unrestrictCodeExecution",
            post(actions::unrestrict),
        )
        .route("/machines/{id}/runAntiVirusScan", post(actions::scan))
        .route(
            "/machines/{id}/collectInvestigationPackage",
            post(actions::collect),
        )
        .route("/machines/{id}/offboard", post(actions::offboard))
        .route(
            "/machines/{id}/StopAndQuarantineFile",
            post(actions::stop_and_quarantine),
        )
        .route("/machineactions", get(actions::list))
        .route("/machineactions/{id}", get(actions::get_one))
        .route("/machineactions/{id}/cancel", post(actions::cancel))
        .route("/machineactions/{id}/{op}", get(live::result_link))
        .route("/machines/{id}/runliveresponse", post(live::run))
        .route(
            "/indicators",
            get(indicators::list).post(indicators::submit),
        )
        .route("/indicators/import", post(indicators::import))
        .route("/indicators/BatchDelete", post(indicators::batch_delete))
        .route("/files/{id}/alerts", get(alerts::file_alerts))
        .route("/ips/{ip}/alerts", get(alerts::ip_alerts))
        .route("/domains/{domain}/alerts", get(alerts::domain_alerts))
        .route("/users/{id}/alerts", get(alerts::user_alerts))
        .route("/files/{id}/machines", get(machines::file_machines))
        .route("/domains/{domain}/machines", get(machines::domain_machines))
        .route("/users/{id}/machines", get(machines::user_machines))
        .route("/advancedqueries/run", post(hunting::run_query))
        .route("/files/{id}", get(intel::file))
        .route("/files/{id}/stats", get(intel::file_stats))
        .route("/ips/{ip}/stats", get(intel::ip_stats))
        .route("/domains/{domain}/stats", get(intel::domain_stats))
        .route("/exposureScore", get(intel::exposure_score))
        .route("/configurationScore", get(intel::configuration_score))
        .route("/machines/{id}/software", get(intel::machine_software))
        .route(
            "/machines/{id}/vulnerabilities",
            get(intel::machine_vulnerabilities),
        )
        .route("/investigations", get(investigations::list))
        .route("/investigations/{id}", get(investigations::get_one))
        .route("/vulnerabilities", get(intel::vulnerabilities))
        .route("/Software", get(intel::software))
        .route("/software", get(intel::software))
        .route(
            "/indicators/{id}",
            axum::routing::delete(indicators::delete),
        )
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .fallback(axum::routing::any(unknown).with_state(state))
}

/// Any other path under the API: 401 without a valid token, else 404 with MDE's body.
async fn unknown(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    axum::extract::OriginalUri(uri): axum::extract::OriginalUri,
) -> Response {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let def = state.emu.defender();
    match auth::authenticate(&state.emu, &def.tokens, auth) {
        Err(e) => MdeError::from(e).into_response(),
        Ok(c) => {
            let mut r = MdeError::not_found("Resource", uri.path()).into_response();
            r.extensions_mut()
                .insert(CountedTenant(c.tenant.to_string()));
            r
        }
    }
}

/// The MDE routes under `/api` and `/api/v1.0`.
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/live-response/{tenant}/{action}/{index}",
            get(live::download),
        )
        .nest("/api", api(state.clone()))
        .nest("/api/v1.0", api(state))
}

/// Parses a JSON object body, or MDE's 400.
pub fn body_object(body: &[u8]) -> Result<Map<String, Value>, MdeError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(MdeError::invalid_body(
            "Request body is incorrect: expected a JSON object.",
        )),
        Err(e) => Err(MdeError::invalid_body(format!(
            "Request body is incorrect: {e}."
        ))),
    }
}

/// A string body parameter (case-sensitive name, as MDE reads them).
pub fn str_param<'a>(
    body: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, MdeError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(MdeError::invalid_body(format!(
            "Request body is incorrect: '{name}' must be a string."
        ))),
    }
}

/// The one tenant a caller sees.
pub fn caller_data(state: &AppState, c: &Caller) -> Result<Arc<RwLock<TenantData>>, MdeError> {
    state.emu.defender().data(&state.emu, c.tenant)
}

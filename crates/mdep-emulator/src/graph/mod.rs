//! Microsoft Graph's security API on the emulator's listener, under `/v1.0` and `/beta`
//! (`graph-security.md` §2 and §4): `runHuntingQuery`, `alerts_v2` and `incidents`, over
//! the same per-tenant Defender data as `/api` — an alert updated on one side is updated
//! on the other.
//!
//! - [`error`]: Graph's error envelope; every response carries `request-id` and
//!   `client-request-id`.
//! - [`alerts`]: an MDE alert in Graph's schema; [`incidents`]: alerts grouped by their
//!   incident id; [`hunting`]: the KQL subset engine of the MDE side.
//! - Tokens must be for Microsoft Graph (`aud` `https://graph.microsoft.com`, with or
//!   without the slash, or Graph's app id); quotas: 150 calls a minute per app and
//!   tenant on alerts and incidents, 45 hunting calls a minute per tenant.

pub mod alerts;
pub mod error;
pub mod hunting;
pub mod incidents;

use crate::defender::auth::{self, Caller};
use crate::defender::query::Page;
use crate::{AppState, CountedTenant};
use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use error::GraphError;
use mdep_model::permissions::Api;
use serde_json::{Map, Value};
use uuid::Uuid;

/// Result type of the endpoints.
pub type GraphResult = Result<Response, GraphError>;

/// Where a Graph request came in.
#[derive(Debug, Clone)]
pub struct GraphReq {
    /// `https://host:port`.
    pub origin: String,
    /// `v1.0` or `beta`.
    pub version: &'static str,
    /// The path as requested.
    pub path: String,
    /// The raw query string.
    pub query: Option<String>,
}

impl GraphReq {
    /// `@odata.context` for `fragment` (e.g. `security/alerts_v2`).
    pub fn context(&self, fragment: &str) -> String {
        format!("{}/{}/$metadata#{fragment}", self.origin, self.version)
    }

    /// The absolute URL of this path with query string `q`.
    pub fn link(&self, q: &str) -> String {
        format!("{}{}?{q}", self.origin, self.path)
    }
}

impl FromRequestParts<AppState> for GraphReq {
    type Rejection = GraphError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, GraphError> {
        let uri = crate::defender::original_uri(parts);
        let path = uri.path().to_owned();
        let version = if path.starts_with("/beta/") {
            "beta"
        } else {
            "v1.0"
        };
        Ok(Self {
            origin: crate::entra::origin(state, &uri, &parts.headers),
            version,
            path,
            query: uri.query().map(str::to_owned),
        })
    }
}

/// Passes when the caller holds one of `accepted`; else Graph's 403.
pub fn require(c: &Caller, accepted: &[&str]) -> Result<(), GraphError> {
    if accepted.iter().any(|r| c.has(r)) {
        Ok(())
    } else {
        Err(GraphError::missing_roles(accepted, &c.roles))
    }
}

/// A JSON response with Graph's OData headers (`graph-security.md` §2.7).
pub fn json(status: StatusCode, body: &Value) -> Response {
    crate::defender::odata_response(
        status,
        body.to_string(),
        "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8",
    )
}

/// One entity with its `@odata.context` first.
pub fn entity(req: &GraphReq, fragment: &str, v: Value) -> Value {
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

/// A collection: `@odata.context`, `@odata.count` when asked, `value`, and
/// `@odata.nextLink` when more remain.
pub fn collection(req: &GraphReq, fragment: &str, page: Page) -> Value {
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
        m.insert("@odata.nextLink".into(), Value::String(req.link(&q)));
    }
    Value::Object(m)
}

/// Parses a JSON object body, or Graph's 400.
pub fn body_object(body: &[u8]) -> Result<Map<String, Value>, GraphError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(GraphError::bad_request(
            "The request body must be a JSON object.",
        )),
        Err(e) => Err(GraphError::bad_request(format!(
            "The request body is not valid JSON: {e}."
        ))),
    }
}

/// The ids of a Graph response: a fresh `request-id`, and the client's
/// `client-request-id` when it sent a usable one (else the same as `request-id`).
fn request_ids(headers: &axum::http::HeaderMap) -> (String, String) {
    let request_id = Uuid::new_v4().to_string();
    let client = headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty() && s.len() <= 100)
        .map_or_else(|| request_id.clone(), str::to_owned);
    (request_id, client)
}

fn set_ids(resp: &mut Response, request_id: &str, client: &str) {
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(client) {
        h.insert("client-request-id", v);
    }
}

/// A Graph error answered before the request reaches the Graph routes (an injected
/// fault), with the ids and envelope the routes would give.
pub(crate) fn error_response(e: &GraphError, headers: &axum::http::HeaderMap) -> Response {
    let (request_id, client) = request_ids(headers);
    let mut resp = e.render(&request_id, &client);
    set_ids(&mut resp, &request_id, &client);
    resp
}

/// Whether `path` is one of Graph's (`/v1.0/…`, `/beta/…`).
pub(crate) fn is_graph_path(path: &str) -> bool {
    path.starts_with("/v1.0/") || path.starts_with("/beta/")
}

/// Gives every response `request-id` and `client-request-id` (the client's, when it sent
/// a usable one), and writes them into the error envelope.
async fn envelope(req: Request, next: Next) -> Response {
    let (request_id, client) = request_ids(req.headers());
    let mut resp = next.run(req).await;
    if let Some(e) = resp.extensions_mut().remove::<GraphError>() {
        let ext = std::mem::take(resp.extensions_mut());
        resp = e.render(&request_id, &client);
        resp.extensions_mut().extend(ext);
    }
    set_ids(&mut resp, &request_id, &client);
    resp
}

/// Every request: authenticate for Graph, then count against the quota that applies
/// (hunting per tenant, everything else per tenant and app).
async fn guard(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let authz = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let def = state.emu.defender();
    let caller =
        match auth::authenticate_for(&state.emu, def.tokens(), authz.as_deref(), Api::Graph) {
            Ok(c) => c,
            Err(e) => return GraphError::from(e).into_response(),
        };
    let tenant = CountedTenant(caller.tenant.to_string());
    let settings = def.settings();
    let hunting = req
        .uri()
        .path()
        .to_ascii_lowercase()
        .ends_with("runhuntingquery");
    let admitted = if hunting {
        def.graph_hunting_throttle()
            .admit(caller.tenant, Uuid::nil(), settings.graph_hunting_limits)
            .map_err(|mut e| {
                e.message = e.message.replace(
                    "for this application in this tenant",
                    "for hunting queries in this tenant",
                );
                e
            })
    } else {
        def.graph_throttle()
            .admit(caller.tenant, caller.app, settings.graph_limits)
    };
    let mut resp = match admitted {
        Ok(()) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Err(e) => GraphError::from(e).into_response(),
    };
    resp.extensions_mut().insert(tenant);
    resp
}

/// Any other path under `/v1.0` or `/beta`: 401 without a valid Graph token, else 400
/// as Graph answers an unknown segment.
async fn unknown(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    axum::extract::OriginalUri(uri): axum::extract::OriginalUri,
) -> Response {
    let authz = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let def = state.emu.defender();
    match auth::authenticate_for(&state.emu, def.tokens(), authz, Api::Graph) {
        Err(e) => GraphError::from(e).into_response(),
        Ok(c) => {
            let mut r = GraphError::bad_request(format!(
                "Resource not found for the segment '{}'. The emulator serves security/runHuntingQuery, security/alerts_v2 and security/incidents.",
                crate::defender::error::truncate(uri.path().rsplit('/').next().unwrap_or(""))
            ))
            .into_response();
            r.extensions_mut()
                .insert(CountedTenant(c.tenant.to_string()));
            r
        }
    }
}

fn api(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/security/runHuntingQuery", post(hunting::run))
        .route(
            "/security/microsoft.graph.security.runHuntingQuery",
            post(hunting::run),
        )
        .route("/security/alerts_v2", get(alerts::list))
        .route(
            "/security/alerts_v2/{id}",
            get(alerts::get_one).patch(alerts::update),
        )
        .route("/security/incidents", get(incidents::list))
        .route(
            "/security/incidents/{id}",
            get(incidents::get_one).patch(incidents::update),
        )
        .route("/security/incidents/{id}/alerts", get(incidents::alerts))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .fallback(axum::routing::any(unknown).with_state(state))
        .layer(axum::middleware::from_fn(envelope))
}

/// The Graph routes under `/v1.0` and `/beta`.
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .nest("/v1.0", api(state.clone()))
        .nest("/beta", api(state))
}

/// The lowerCamelCase form Graph's enums use (`TruePositive` → `truePositive`).
pub fn lower_camel(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

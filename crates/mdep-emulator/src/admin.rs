//! The admin API under `/_emulator/`, behind the admin key (`Authorization: Bearer …`):
//! create tenants, register apps, manage secrets, certificates and permissions, grant or
//! revoke consent, rotate signing keys, and list state; read and reset request counters
//! and MDE quotas; add and remove injected faults.

use crate::AppState;
use crate::directory::{DirectoryError, NewApp, NewTenant};
use crate::state::StateError;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

/// An admin API failure: `{"error":{"code":…,"message":…}}` with the right status.
#[derive(Debug)]
pub struct AdminError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl AdminError {
    fn bad(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "BadRequest",
            message: message.into(),
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response()
    }
}

impl From<StateError> for AdminError {
    fn from(e: StateError) -> Self {
        match e {
            StateError::Directory(DirectoryError::NotFound { .. }) => Self {
                status: StatusCode::NOT_FOUND,
                code: "NotFound",
                message: e.to_string(),
            },
            StateError::Directory(DirectoryError::Conflict(_)) => Self {
                status: StatusCode::CONFLICT,
                code: "Conflict",
                message: e.to_string(),
            },
            StateError::Directory(DirectoryError::Invalid(_)) => Self::bad(e.to_string()),
            other => {
                tracing::error!(error = %other, "admin API storage failure");
                Self {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    code: "InternalError",
                    message: "the emulator could not store the change; see its log".into(),
                }
            }
        }
    }
}

type Result<T> = std::result::Result<T, AdminError>;

/// A call naming one object in its path (an app, a tenant).
type OneId = (State<AppState>, Path<String>);

/// A call naming two objects in its path (an app and one of its keys, a consent).
type TwoIds = (State<AppState>, Path<(String, String)>);

fn json_body<T: DeserializeOwned>(body: &Bytes) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| AdminError::bad(format!("invalid JSON body: {e}")))
}

fn id(s: &str, what: &str) -> Result<Uuid> {
    Uuid::try_parse(s).map_err(|_| AdminError::bad(format!("{what} '{s}' is not a GUID")))
}

fn created(v: Value) -> Response {
    (StatusCode::CREATED, axum::Json(v)).into_response()
}

async fn require_admin_key(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match presented {
        Some(k) if state.emu.settings().admin_key.matches(k) => next.run(req).await,
        _ => {
            let mut r = AdminError {
                status: StatusCode::UNAUTHORIZED,
                code: "Unauthorized",
                message: "the admin API needs 'Authorization: Bearer <admin_key>' (the key is in ready.json and the start banner)".into(),
            }
            .into_response();
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            r
        }
    }
}

/// The admin routes.
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/_emulator/state", get(state_view))
        .route("/_emulator/tenants", post(create_tenant))
        .route("/_emulator/apps", post(register_app))
        .route("/_emulator/apps/{app}/secrets", post(add_secret))
        .route("/_emulator/apps/{app}/secrets/{key}", delete(remove_secret))
        .route("/_emulator/apps/{app}/certificates", post(add_certificate))
        .route(
            "/_emulator/apps/{app}/certificates/{key}",
            delete(remove_certificate),
        )
        .route("/_emulator/apps/{app}/permissions", post(add_permission))
        .route(
            "/_emulator/apps/{app}/permissions/{permission}",
            delete(remove_permission),
        )
        .route("/_emulator/consents", post(grant_consent))
        .route("/_emulator/consents/{tenant}/{app}", delete(revoke_consent))
        .route("/_emulator/keys/rotate", post(rotate_keys))
        .route("/_emulator/counters", get(counters).delete(reset_counters))
        .route(
            "/_emulator/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/_emulator/faults/{id}", delete(remove_fault))
        .route("/_emulator/quotas", delete(reset_quotas))
        .route(
            "/_emulator/tenants/{tenant}/defender/alerts",
            post(add_alerts),
        )
        .route(
            "/_emulator/tenants/{tenant}/defender/machines",
            post(add_machines),
        )
        .route_layer(middleware::from_fn_with_state(state, require_admin_key))
}

fn tenant_json(t: &crate::directory::Tenant) -> Value {
    json!({
        "id": t.id, "name": t.name, "domain": t.domain, "admin": {"user": t.admin.user},
        "devices": t.devices, "alerts": t.alerts, "seed": t.seed,
    })
}

fn app_json(a: &crate::directory::App) -> Value {
    json!({
        "client_id": a.client_id, "name": a.name, "home_tenant": a.home_tenant,
        "multi_tenant": a.multi_tenant, "redirect_uris": a.redirect_uris, "permissions": a.permissions,
        "secrets": a.secrets.iter().map(|s| json!({"key_id": s.key_id, "hint": s.hint, "expires": s.expires.map(rfc3339)})).collect::<Vec<_>>(),
        "certificates": a.certificates.iter().map(cert_json).collect::<Vec<_>>(),
    })
}

fn cert_json(c: &crate::directory::Certificate) -> Value {
    json!({"key_id": c.key_id, "thumbprint_sha1": c.thumbprint_sha1, "thumbprint_sha256": c.thumbprint_sha256, "subject": c.subject, "not_after": rfc3339(c.not_after)})
}

fn sp_json(sp: &crate::directory::ServicePrincipal) -> Value {
    json!({"tenant": sp.tenant, "app": sp.app, "object_id": sp.object_id, "roles": sp.roles, "consented": rfc3339(sp.consented)})
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

async fn state_view(State(state): State<AppState>) -> Response {
    let emu = &state.emu;
    let dir = emu.directory();
    let keys = emu.keys();
    let now = OffsetDateTime::now_utc();
    let grace = emu.settings().key_grace;
    let defender = emu.defender().settings();
    let published: Vec<&str> = keys
        .published(now, grace)
        .map(|k| k.stored.kid.as_str())
        .collect();
    axum::Json(json!({
        "tenants": dir.tenants.values().map(tenant_json).collect::<Vec<_>>(),
        "apps": dir.apps.values().map(app_json).collect::<Vec<_>>(),
        "service_principals": dir.service_principals.values().map(sp_json).collect::<Vec<_>>(),
        "keys": keys.keys.iter().map(|k| json!({
            "kid": k.stored.kid, "status": k.stored.status, "created": rfc3339(k.stored.created),
            "retired": k.stored.retired.map(rfc3339), "published": published.contains(&k.stored.kid.as_str()),
        })).collect::<Vec<_>>(),
        "settings": {
            "token_lifetime_minutes": emu.settings().token_lifetime.whole_minutes(),
            "key_grace_minutes": grace.whole_minutes(),
        },
        "defender": {
            "mde_calls_per_minute": defender.limits.per_minute,
            "mde_calls_per_hour": defender.limits.per_hour,
            "hunting_calls_per_minute": defender.hunting_limits.per_minute,
            "hunting_calls_per_hour": defender.hunting_limits.per_hour,
            "mde_page_size": defender.page_size,
            "graph_calls_per_minute": defender.graph_limits.per_minute,
            "graph_hunting_calls_per_minute": defender.graph_hunting_limits.per_minute,
            "machine_action_seconds": defender.action_seconds,
            "faults": emu.defender().faults().list().len(),
        }
    }))
    .into_response()
}

async fn create_tenant(State(state): State<AppState>, body: Bytes) -> Result<Response> {
    let req: NewTenant = json_body(&body)?;
    let t = state.emu.create_tenant(req)?;
    Ok(created(tenant_json(&t)))
}

async fn register_app(State(state): State<AppState>, body: Bytes) -> Result<Response> {
    let req: NewApp = json_body(&body)?;
    let a = state.emu.register_app(req)?;
    Ok(created(app_json(&a)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSecret {
    #[serde(default, with = "time::serde::rfc3339::option")]
    expires: Option<OffsetDateTime>,
}

async fn add_secret((State(state), Path(app)): OneId, body: Bytes) -> Result<Response> {
    let app = id(&app, "app")?;
    let req: NewSecret = if body.is_empty() {
        NewSecret { expires: None }
    } else {
        json_body(&body)?
    };
    let (s, value) = state.emu.add_secret(app, None, req.expires)?;
    Ok(created(
        json!({"key_id": s.key_id, "value": value, "hint": s.hint, "expires": s.expires.map(rfc3339)}),
    ))
}

async fn remove_secret((State(state), Path((app, key))): TwoIds) -> Result<Response> {
    state
        .emu
        .remove_secret(id(&app, "app")?, id(&key, "secret")?)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewCertificate {
    pem: String,
}

async fn add_certificate((State(state), Path(app)): OneId, body: Bytes) -> Result<Response> {
    let app = id(&app, "app")?;
    let req: NewCertificate = json_body(&body)?;
    let c = state.emu.add_certificate(app, req.pem.as_bytes())?;
    Ok(created(cert_json(&c)))
}

async fn remove_certificate((State(state), Path((app, key))): TwoIds) -> Result<Response> {
    state
        .emu
        .remove_certificate(id(&app, "app")?, id(&key, "certificate")?)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPermission {
    permission: String,
}

async fn add_permission((State(state), Path(app)): OneId, body: Bytes) -> Result<Response> {
    let req: NewPermission = json_body(&body)?;
    let a = state
        .emu
        .add_permission(id(&app, "app")?, &req.permission)?;
    Ok(axum::Json(app_json(&a)).into_response())
}

async fn remove_permission((State(state), Path((app, permission))): TwoIds) -> Result<Response> {
    let a = state.emu.remove_permission(id(&app, "app")?, &permission)?;
    Ok(axum::Json(app_json(&a)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewConsent {
    tenant: Uuid,
    app: Uuid,
    #[serde(default)]
    roles: Option<Vec<String>>,
}

async fn grant_consent(State(state): State<AppState>, body: Bytes) -> Result<Response> {
    let req: NewConsent = json_body(&body)?;
    let sp = state.emu.grant_consent(req.tenant, req.app, req.roles)?;
    Ok(created(sp_json(&sp)))
}

async fn revoke_consent((State(state), Path((tenant, app))): TwoIds) -> Result<Response> {
    state
        .emu
        .revoke_consent(id(&tenant, "tenant")?, id(&app, "app")?)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn rotate_keys(State(state): State<AppState>) -> Result<Response> {
    let active = state.emu.rotate_keys()?;
    let keys = state.emu.keys();
    let published: Vec<String> = keys
        .published(OffsetDateTime::now_utc(), state.emu.settings().key_grace)
        .map(|k| k.stored.kid.clone())
        .collect();
    Ok(axum::Json(json!({"active_kid": active, "published": published})).into_response())
}

async fn counters(State(state): State<AppState>) -> Response {
    let list: Vec<Value> = state
        .emu
        .counters()
        .into_iter()
        .map(|(k, n)| json!({"tenant": k.tenant, "method": k.method, "route": k.route, "status": k.status, "count": n}))
        .collect();
    axum::Json(json!({ "counters": list })).into_response()
}

async fn reset_counters(State(state): State<AppState>) -> Response {
    state.emu.reset_counters();
    StatusCode::NO_CONTENT.into_response()
}

async fn list_faults(State(state): State<AppState>) -> Response {
    axum::Json(json!({ "faults": state.emu.defender().faults().list() })).into_response()
}

async fn add_fault(State(state): State<AppState>, body: Bytes) -> Result<Response> {
    let spec: crate::defender::faults::FaultSpec = json_body(&body)?;
    let f = state
        .emu
        .defender()
        .faults()
        .add(spec)
        .map_err(AdminError::bad)?;
    Ok(created(serde_json::to_value(f).unwrap_or_default()))
}

async fn clear_faults(State(state): State<AppState>) -> Response {
    state.emu.defender().faults().clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn remove_fault(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response> {
    let n: u64 = id
        .parse()
        .map_err(|_| AdminError::bad(format!("fault id '{id}' is not a number")))?;
    if state.emu.defender().faults().remove(n) {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(AdminError {
            status: StatusCode::NOT_FOUND,
            code: "NotFound",
            message: format!("fault {n} not found"),
        })
    }
}

async fn reset_quotas(State(state): State<AppState>) -> Response {
    state.emu.defender().throttle().reset();
    state.emu.defender().hunting_throttle().reset();
    state.emu.defender().hunting_cpu().reset();
    state.emu.defender().graph_throttle().reset();
    state.emu.defender().graph_hunting_throttle().reset();
    StatusCode::NO_CONTENT.into_response()
}

/// `{"count": N}` for the Defender data endpoints.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AddCount {
    count: u32,
}

fn add_defender(state: &AppState, tenant: &str, body: &Bytes, machines: bool) -> Result<Response> {
    let tenant = id(tenant, "tenant")?;
    let n: AddCount = json_body(body)?;
    if n.count == 0 || n.count > 10_000 {
        return Err(AdminError::bad("count must be between 1 and 10000"));
    }
    let domain = {
        let dir = state.emu.directory();
        match dir.tenants.get(&tenant) {
            Some(t) => t.domain.clone(),
            None => {
                return Err(AdminError {
                    status: StatusCode::NOT_FOUND,
                    code: "NotFound",
                    message: format!("no tenant {tenant}"),
                });
            }
        }
    };
    let internal = |_| AdminError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        code: "InternalError",
        message: "the emulator could not store the change; see its log".into(),
    };
    let data = state
        .emu
        .defender()
        .data(&state.emu, tenant)
        .map_err(internal)?;
    let now = OffsetDateTime::now_utc();
    // A fresh seed each call, so each call adds objects not seen before.
    let seed = now.unix_timestamp_nanos() as u64 ^ u64::from(n.count).rotate_left(32);
    let (devices, alerts) = if machines { (n.count, 0) } else { (0, n.count) };
    let (m, a) = crate::defender::write(&data)
        .add_generated(&state.emu, &domain, devices, alerts, seed, now)
        .map_err(internal)?;
    Ok(created(
        json!({"tenant": tenant, "machines": m, "alerts": a}),
    ))
}

async fn add_alerts((State(state), Path(tenant)): OneId, body: Bytes) -> Result<Response> {
    add_defender(&state, &tenant, &body, false)
}

async fn add_machines((State(state), Path(tenant)): OneId, body: Bytes) -> Result<Response> {
    add_defender(&state, &tenant, &body, true)
}

//! Graph's application API (`graph-security.md` §5): `POST`, `GET` (with
//! `$filter=displayName eq '…'` or `appId eq '…'`) and `PATCH` on `/applications`, by
//! object id or `/applications(appId='…')`, and `addPassword`, `removePassword`, `addKey`.
//!
//! An app lives in the caller's tenant (the token's `tid`) and no other tenant sees it;
//! it is the same directory app a scenario registers, so admin consent and tokens work
//! for it at once. Reads take `Application.Read.All` or `Application.ReadWrite.All`,
//! changes `Application.ReadWrite.All`.

use super::app_body::{app_json, key_json, password_json, read_app, read_key, read_password};
use super::objects::{self, ListQuery, READ, WRITE, bad_request, from_state, not_found};
use super::proof;
use crate::AppState;
use crate::directory::App;
use crate::directory::registration::{AppChanges, KeyChange};
use crate::request::api::Api;
use crate::request::call::Call;
use crate::request::graph::{Graph, GraphResult};
use crate::request::graph_error::GraphError;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use serde_json::Value;
use uuid::Uuid;

/// Which application a path names: `/applications/{id}` (object id) or
/// `/applications(appId='{appId}')`.
#[derive(Debug, Clone)]
pub enum AppRef {
    /// By object id.
    Id(String),
    /// By application (client) id.
    AppId(String),
}

impl AppRef {
    /// Parses the key form `applications(appId='…')` (the quotes optional, names in any case).
    pub fn keyed(segment: &str) -> Option<Self> {
        let lower = segment.to_ascii_lowercase();
        let inner = lower
            .strip_prefix("applications(appid=")?
            .strip_suffix(')')?;
        let start = segment.len() - 1 - inner.len();
        let raw = &segment[start..segment.len() - 1];
        let raw = raw
            .strip_prefix('\'')
            .and_then(|r| r.strip_suffix('\''))
            .unwrap_or(raw);
        Some(Self::AppId(raw.to_owned()))
    }

    fn id(&self) -> &str {
        match self {
            Self::Id(s) | Self::AppId(s) => s,
        }
    }
}

impl FromRequestParts<AppState> for AppRef {
    type Rejection = GraphError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, GraphError> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| bad_request("The path names no application."))?;
        for (name, value) in &params {
            let value = percent_decode(value);
            match name {
                "id" => return Ok(Self::Id(value)),
                "key" => {
                    return Self::keyed(&value).ok_or_else(|| Graph::unknown(parts.uri.path()));
                }
                _ => {}
            }
        }
        Err(Graph::unknown(parts.uri.path()))
    }
}

fn percent_decode(s: &str) -> String {
    form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map_or_else(|| s.to_owned(), |(_, v)| v.into_owned())
}

/// The app `r` names in the caller's tenant, or 404 (another tenant's app is not there).
pub fn resolve(call: &Call<Graph>, r: &AppRef) -> Result<App, GraphError> {
    let dir = call.state.emu.directory();
    let found = Uuid::try_parse(r.id()).ok().and_then(|id| match r {
        AppRef::Id(_) => dir.apps.values().find(|a| a.object_id() == id).cloned(),
        AppRef::AppId(_) => dir.apps.get(&id).cloned(),
    });
    found
        .filter(|a| a.home_tenant == call.caller.tenant)
        .ok_or_else(|| not_found(r.id()))
}

fn publisher_domain(call: &Call<Graph>, a: &App) -> String {
    call.state
        .emu
        .directory()
        .tenants
        .get(&a.home_tenant)
        .map(|t| t.domain.clone())
        .unwrap_or_default()
}

fn object(body: &Bytes) -> Result<serde_json::Map<String, Value>, GraphError> {
    Graph::body_object(body).map_err(|e| bad_request(e.message))
}

/// `POST /applications`: 201 with the application (inline passwords with their values).
pub async fn create(call: Call<Graph>, body: Bytes) -> GraphResult {
    objects::require(&call, WRITE)?;
    let b = read_app(&object(&body)?, true)?;
    let (a, fresh) = call
        .state
        .emu
        .create_application(
            call.caller.tenant,
            b.name.unwrap_or_default(),
            b.changes,
            b.passwords,
        )
        .map_err(from_state)?;
    let v = app_json(&a, &publisher_domain(&call, &a), &fresh);
    Ok(call.entity(StatusCode::CREATED, "applications/$entity", v))
}

/// `GET /applications`: the caller's tenant's apps, by `displayName`, `appId` or `id`.
pub async fn list(call: Call<Graph>) -> GraphResult {
    objects::require(&call, READ)?;
    let q = ListQuery::parse(call.req.query.as_deref(), &["displayName", "appId", "id"])?;
    let mut apps: Vec<App> = call
        .state
        .emu
        .directory()
        .apps
        .values()
        .filter(|a| a.home_tenant == call.caller.tenant)
        .filter(|a| {
            q.admits(|p| match p {
                "displayName" => Some(a.name.clone()),
                "appId" => Some(a.client_id.to_string()),
                "id" => Some(a.object_id().to_string()),
                _ => None,
            })
        })
        .cloned()
        .collect();
    apps.sort_by_key(|a| a.created);
    let items = apps
        .iter()
        .map(|a| app_json(a, &publisher_domain(&call, a), &[]))
        .collect();
    Ok(call.all("applications", q.shape(items)))
}

/// `GET /applications/{id}`.
pub async fn get(call: Call<Graph>, r: AppRef) -> GraphResult {
    objects::require(&call, READ)?;
    let q = ListQuery::parse(call.req.query.as_deref(), &[])?;
    let a = resolve(&call, &r)?;
    let v = objects::select(
        app_json(&a, &publisher_domain(&call, &a), &[]),
        q.select.as_deref(),
    );
    Ok(call.ok("applications/$entity", v))
}

/// `PATCH /applications/{id}`: 204.
pub async fn update(call: Call<Graph>, r: AppRef, body: Bytes) -> GraphResult {
    objects::require(&call, WRITE)?;
    let a = resolve(&call, &r)?;
    let mut b = read_app(&object(&body)?, false)?;
    b.changes.name = b.name;
    call.state
        .emu
        .update_application(a.client_id, b.changes)
        .map_err(from_state)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /applications/{id}/addPassword`: 200 with the password and its value.
pub async fn add_password(call: Call<Graph>, r: AppRef, body: Bytes) -> GraphResult {
    objects::require(&call, WRITE)?;
    let a = resolve(&call, &r)?;
    let p = if body.iter().all(u8::is_ascii_whitespace) {
        Default::default()
    } else {
        read_password(
            object(&body)?
                .get("passwordCredential")
                .unwrap_or(&Value::Null),
        )?
    };
    let (s, value) = call
        .state
        .emu
        .add_password(a.client_id, p)
        .map_err(from_state)?;
    Ok(call.ok(
        "microsoft.graph.passwordCredential",
        password_json(&s, Some(&value)),
    ))
}

fn key_id(body: &serde_json::Map<String, Value>) -> Result<Uuid, GraphError> {
    body.get("keyId")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::try_parse(s).ok())
        .ok_or_else(|| {
            bad_request("Property 'keyId' is required: the GUID of the credential to remove.")
        })
}

/// `POST /applications/{id}/removePassword` `{"keyId"}`: 204.
pub async fn remove_password(call: Call<Graph>, r: AppRef, body: Bytes) -> GraphResult {
    objects::require(&call, WRITE)?;
    let a = resolve(&call, &r)?;
    let id = key_id(&object(&body)?)?;
    call.state
        .emu
        .remove_secret(a.client_id, id)
        .map_err(from_state)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /applications/{id}/addKey` `{keyCredential, passwordCredential: null, proof}`:
/// 200 with the key credential. The proof must be signed by one of the app's
/// certificates ([`proof`]).
pub async fn add_key(call: Call<Graph>, r: AppRef, body: Bytes) -> GraphResult {
    objects::require(&call, WRITE)?;
    let a = resolve(&call, &r)?;
    let b = object(&body)?;
    if b.get("passwordCredential").is_some_and(|p| !p.is_null()) {
        return Err(bad_request(
            "passwordCredential is served for keys of type 'X509CertAndPassword' only; send null with an AsymmetricX509Cert.",
        ));
    }
    let new = read_key(b.get("keyCredential").unwrap_or(&Value::Null))?;
    if matches!(new, KeyChange::Keep(_)) {
        return Err(bad_request(
            "keyCredential needs 'key' (the certificate, base64 DER).",
        ));
    }
    let p = b
        .get("proof")
        .and_then(Value::as_str)
        .ok_or_else(|| bad_request("Property 'proof' is required: a JWT signed with one of the application's certificates."))?;
    proof::verify(&a, p)?;
    let before: Vec<Uuid> = a.certificates.iter().map(|c| c.key_id).collect();
    let mut keys: Vec<KeyChange> = before.iter().copied().map(KeyChange::Keep).collect();
    keys.push(new);
    let after = call
        .state
        .emu
        .update_application(
            a.client_id,
            AppChanges {
                certificates: Some(keys),
                ..AppChanges::default()
            },
        )
        .map_err(from_state)?;
    let added = after
        .certificates
        .iter()
        .find(|c| !before.contains(&c.key_id))
        .map(key_json)
        .unwrap_or(Value::Null);
    Ok(call.ok("microsoft.graph.keyCredential", added))
}

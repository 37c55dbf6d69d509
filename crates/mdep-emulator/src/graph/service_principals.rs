//! Graph's service principals (`graph-security.md` §5,
//! `samples-graph/serviceprincipal_*.json`): `POST /servicePrincipals {appId}`, `GET`
//! with `$filter=appId eq '…'`, and `appRoleAssignedTo` on a resource's service
//! principal — granting an app role there is the portal's "Grant admin consent" for
//! that role, in the caller's tenant only.
//!
//! Every tenant has the service principals of WindowsDefenderATP and Microsoft Graph,
//! with their application roles; an app's appears when it is created here or when an
//! administrator consents.

use super::objects::{
    self, ASSIGN, ListQuery, READ, WRITE, bad_request, datetime, from_state, not_found,
};
use crate::crypto;
use crate::directory::{App, Directory, DirectoryError, ServicePrincipal};
use crate::request::call::Call;
use crate::request::graph::{Graph, GraphResult};
use crate::request::graph_error::GraphError;
use crate::state::StateError;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use mdep_model::permissions::{self, Api};
use serde_json::{Value, json};
use uuid::Uuid;

/// The tenant Microsoft's first-party apps belong to (their `appOwnerOrganizationId`).
const MICROSOFT_TENANT: &str = "f8cdef31-a31e-4b4a-93e4-5f571e91255a";

/// The object id of a resource's service principal in `tenant`: WindowsDefenderATP's is
/// the tenant's; Microsoft Graph's is derived from the tenant id, so it is stable.
pub fn resource_sp_id(dir: &Directory, tenant: Uuid, api: Api) -> Option<Uuid> {
    let t = dir.tenants.get(&tenant)?;
    Some(match api {
        Api::Mde => t.defender_sp_object_id,
        Api::Graph => {
            let mut seed = tenant.as_bytes().to_vec();
            seed.extend_from_slice(b"microsoft-graph-service-principal");
            let mut b = [0u8; 16];
            b.copy_from_slice(&crypto::sha256(&seed)[..16]);
            uuid::Builder::from_random_bytes(b).into_uuid()
        }
    })
}

fn resource_json(id: Uuid, api: Api) -> Value {
    let roles: Vec<Value> = api
        .roles()
        .iter()
        .map(|r| {
            json!({
                "allowedMemberTypes": ["Application"],
                "description": r.description,
                "displayName": r.display_name,
                "id": r.id,
                "isEnabled": true,
                "origin": "Application",
                "value": r.value,
            })
        })
        .collect();
    sp_json(SpView {
        id,
        app_id: api.app_id(),
        name: api.name(),
        owner: MICROSOFT_TENANT,
        publisher: "Microsoft Services",
        reply_urls: &[],
        app_roles: roles,
    })
}

struct SpView<'a> {
    id: Uuid,
    app_id: &'a str,
    name: &'a str,
    owner: &'a str,
    publisher: &'a str,
    reply_urls: &'a [String],
    app_roles: Vec<Value>,
}

/// The keys of `serviceprincipal_create_response.json`.
fn sp_json(v: SpView<'_>) -> Value {
    json!({
        "id": v.id.to_string(),
        "deletedDateTime": null,
        "accountEnabled": true,
        "appDisplayName": v.name,
        "appId": v.app_id,
        "appOwnerOrganizationId": v.owner,
        "appRoleAssignmentRequired": false,
        "displayName": v.name,
        "homepage": null,
        "logoutUrl": null,
        "publisherName": v.publisher,
        "replyUrls": v.reply_urls,
        "servicePrincipalNames": [v.app_id],
        "tags": [],
        "addIns": [],
        "appRoles": v.app_roles,
        "info": {
            "termsOfServiceUrl": null,
            "supportUrl": null,
            "privacyStatementUrl": null,
            "marketingUrl": null,
            "logoUrl": null
        },
        "keyCredentials": [],
        "oauth2PermissionScopes": [],
        "passwordCredentials": []
    })
}

fn app_sp_json(dir: &Directory, sp: &ServicePrincipal, a: &App) -> Value {
    let publisher = dir
        .tenants
        .get(&a.home_tenant)
        .map_or_else(String::new, |t| t.name.clone());
    sp_json(SpView {
        id: sp.object_id,
        app_id: &a.client_id.to_string(),
        name: &a.name,
        owner: &a.home_tenant.to_string(),
        publisher: &publisher,
        reply_urls: &a.redirect_uris,
        app_roles: Vec::new(),
    })
}

/// Every service principal the caller's tenant holds: the two resources, then apps'.
fn all_in_tenant(dir: &Directory, tenant: Uuid) -> Vec<Value> {
    let mut out: Vec<Value> = [Api::Mde, Api::Graph]
        .into_iter()
        .filter_map(|api| resource_sp_id(dir, tenant, api).map(|id| resource_json(id, api)))
        .collect();
    let mut sps: Vec<&ServicePrincipal> = dir
        .service_principals
        .values()
        .filter(|sp| sp.tenant == tenant)
        .collect();
    sps.sort_by_key(|sp| sp.consented);
    for sp in sps {
        if let Some(a) = dir.apps.get(&sp.app) {
            out.push(app_sp_json(dir, sp, a));
        }
    }
    out
}

/// `GET /servicePrincipals`, with `$filter` on `appId`, `displayName` or `id`.
pub async fn list(call: Call<Graph>) -> GraphResult {
    objects::require(&call, READ)?;
    let q = ListQuery::parse(call.req.query.as_deref(), &["appId", "displayName", "id"])?;
    let items: Vec<Value> = {
        let dir = call.state.emu.directory();
        all_in_tenant(&dir, call.caller.tenant)
            .into_iter()
            .filter(|v| q.admits(|p| v.get(p).and_then(Value::as_str).map(str::to_owned)))
            .collect()
    };
    Ok(call.all("servicePrincipals", q.shape(items)))
}

/// `GET /servicePrincipals/{id}`.
pub async fn get(call: Call<Graph>, Path(id): Path<String>) -> GraphResult {
    objects::require(&call, READ)?;
    let dir = call.state.emu.directory();
    let found = all_in_tenant(&dir, call.caller.tenant)
        .into_iter()
        .find(|v| {
            v["id"]
                .as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case(&id))
        });
    drop(dir);
    let v = found.ok_or_else(|| not_found(&id))?;
    Ok(call.ok("servicePrincipals/$entity", v))
}

/// `POST /servicePrincipals {"appId"}`: 201 with the new service principal, in the
/// caller's tenant.
pub async fn create(call: Call<Graph>, body: Bytes) -> GraphResult {
    objects::require(&call, WRITE)?;
    let b = <Graph as crate::request::api::Api>::body_object(&body)
        .map_err(|e| bad_request(e.message))?;
    let app_id = objects::string_prop(&b, "appId", "ServicePrincipal")?;
    if let Some(k) = b.keys().find(|k| !k.starts_with('@') && *k != "appId") {
        return Err(bad_request(format!(
            "Property '{k}' is not kept by the emulator on service principals: send appId only."
        )));
    }
    let client_id = Uuid::try_parse(&app_id)
        .map_err(|_| bad_request(format!("appId '{app_id}' is not a GUID.")))?;
    if [Api::Mde, Api::Graph]
        .iter()
        .any(|a| a.app_id() == client_id.to_string())
    {
        return Err(exists());
    }
    let sp = call
        .state
        .emu
        .create_service_principal(call.caller.tenant, client_id)
        .map_err(|e| match e {
            StateError::Directory(DirectoryError::Conflict(_)) => exists(),
            StateError::Directory(DirectoryError::NotFound { .. }) => bad_request(format!(
                "The appId '{app_id}' of the service principal does not reference a valid application object."
            )),
            other => from_state(other),
        })?;
    let v = {
        let dir = call.state.emu.directory();
        let a = dir.apps.get(&client_id).ok_or_else(|| not_found(&app_id))?;
        app_sp_json(&dir, &sp, a)
    };
    Ok(call.entity(StatusCode::CREATED, "servicePrincipals/$entity", v))
}

fn exists() -> GraphError {
    GraphError::new(
        StatusCode::CONFLICT,
        "Request_MultipleObjectsWithSameKeyValue",
        "The service principal cannot be created, updated, or restored because the service principal name is already in use.",
    )
}

/// Which resource (WindowsDefenderATP or Graph) has service principal `id` in `tenant`.
fn resource_of(dir: &Directory, tenant: Uuid, id: &str) -> Option<(Api, Uuid)> {
    let id = Uuid::try_parse(id).ok()?;
    [Api::Mde, Api::Graph]
        .into_iter()
        .find(|api| resource_sp_id(dir, tenant, *api) == Some(id))
        .map(|api| (api, id))
}

/// An assignment's id: the principal's id bytes then 16 bytes of the resource and role,
/// base64url (the form of `serviceprincipal_approleassignedto_response.json`'s `id`).
fn assignment_id(principal: Uuid, resource: Uuid, role_id: &str) -> String {
    let mut seed = resource.as_bytes().to_vec();
    seed.extend_from_slice(role_id.as_bytes());
    let mut bytes = principal.to_bytes_le().to_vec();
    bytes.extend_from_slice(&crypto::sha256(&seed)[..16]);
    crypto::b64url(&bytes)
}

fn assignment_json(
    dir: &Directory,
    sp: &ServicePrincipal,
    api: Api,
    resource: Uuid,
    role: &str,
) -> Option<Value> {
    let r = api.role(role)?;
    let name = dir
        .apps
        .get(&sp.app)
        .map(|a| a.name.clone())
        .unwrap_or_default();
    Some(json!({
        "id": assignment_id(sp.object_id, resource, r.id),
        "deletedDateTime": null,
        "appRoleId": r.id,
        "createdDateTime": datetime(sp.consented),
        "principalDisplayName": name,
        "principalId": sp.object_id.to_string(),
        "principalType": "ServicePrincipal",
        "resourceDisplayName": api.name(),
        "resourceId": resource.to_string(),
    }))
}

/// `GET /servicePrincipals/{id}/appRoleAssignedTo`: who holds the resource's roles in
/// the caller's tenant (nobody holds an app's own roles: apps here define none).
pub async fn assigned_to(call: Call<Graph>, Path(id): Path<String>) -> GraphResult {
    objects::require(&call, READ)?;
    let tenant = call.caller.tenant;
    let items: Vec<Value> = {
        let dir = call.state.emu.directory();
        match resource_of(&dir, tenant, &id) {
            Some((api, resource)) => dir
                .service_principals
                .values()
                .filter(|sp| sp.tenant == tenant)
                .flat_map(|sp| {
                    sp.roles
                        .iter()
                        .filter_map(|r| assignment_json(&dir, sp, api, resource, r))
                        .collect::<Vec<_>>()
                })
                .collect(),
            None if dir.service_principals.values().any(|sp| {
                sp.tenant == tenant && sp.object_id.to_string().eq_ignore_ascii_case(&id)
            }) =>
            {
                Vec::new()
            }
            None => return Err(not_found(&id)),
        }
    };
    Ok(call.all(
        &format!("servicePrincipals('{id}')/appRoleAssignedTo"),
        items,
    ))
}

fn uuid_prop(b: &serde_json::Map<String, Value>, name: &str) -> Result<Uuid, GraphError> {
    b.get(name)
        .and_then(Value::as_str)
        .and_then(|s| Uuid::try_parse(s).ok())
        .ok_or_else(|| bad_request(format!("Property '{name}' is required and must be a GUID.")))
}

/// `POST /servicePrincipals/{id}/appRoleAssignedTo {principalId, resourceId, appRoleId}`:
/// grants the role to the principal in the caller's tenant; 201 with the assignment.
pub async fn assign(call: Call<Graph>, Path(id): Path<String>, body: Bytes) -> GraphResult {
    objects::require(&call, ASSIGN)?;
    objects::require(&call, READ)?;
    let b = <Graph as crate::request::api::Api>::body_object(&body)
        .map_err(|e| bad_request(e.message))?;
    let (principal, resource_id, role_id) = (
        uuid_prop(&b, "principalId")?,
        uuid_prop(&b, "resourceId")?,
        uuid_prop(&b, "appRoleId")?,
    );
    let tenant = call.caller.tenant;
    let (api, resource, app) = {
        let dir = call.state.emu.directory();
        let (api, resource) = resource_of(&dir, tenant, &id).ok_or_else(|| {
            if dir.service_principals.values().any(|sp| sp.tenant == tenant && sp.object_id.to_string() == id) {
                bad_request(format!(
                    "Service principal {id} defines no app roles: the emulator's resources are WindowsDefenderATP ({}) and Microsoft Graph ({}).",
                    permissions::WINDOWS_DEFENDER_ATP_APP_ID,
                    permissions::GRAPH_APP_ID
                ))
            } else {
                not_found(&id)
            }
        })?;
        if resource_id != resource {
            return Err(bad_request(format!(
                "resourceId {resource_id} must be the service principal of the path, {resource}."
            )));
        }
        let sp = dir
            .service_principals
            .values()
            .find(|sp| sp.tenant == tenant && sp.object_id == principal)
            .ok_or_else(|| not_found(&principal.to_string()))?;
        (api, resource, sp.app)
    };
    let role = api
        .roles()
        .iter()
        .find(|r| Uuid::try_parse(r.id).ok() == Some(role_id))
        .ok_or_else(|| bad_request("Permission being assigned was not found on application"))?;
    let sp = call
        .state
        .emu
        .assign_role(tenant, app, role.value)
        .map_err(|e| match e {
            StateError::Directory(DirectoryError::Conflict(_)) => {
                bad_request("Permission being assigned already exists on the object")
            }
            other => from_state(other),
        })?;
    let v = {
        let dir = call.state.emu.directory();
        assignment_json(&dir, &sp, api, resource, role.value).unwrap_or(Value::Null)
    };
    Ok(call.entity(
        StatusCode::CREATED,
        &format!("servicePrincipals('{id}')/appRoleAssignedTo/$entity"),
        v,
    ))
}

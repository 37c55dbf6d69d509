//! OpenID discovery documents, JWKS and instance discovery (`entra-oauth.md` §5).
//! Documents asked for by domain name the tenant by GUID, as Entra's do, since MSAL
//! derives its cache realm from the token endpoint's first path segment.

use super::error::{EntraError, RequestContext};
use crate::AppState;
use crate::directory::{TenantAlias, TenantRef};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use mdep_model::aadsts;
use serde_json::{Value, json};
use std::collections::HashMap;
use time::OffsetDateTime;

fn discovery_response(body: Value) -> Response {
    let mut r = (StatusCode::OK, body.to_string()).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=86400, private"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    r
}

/// The tenant segment for a discovery document: the GUID for a real tenant, the alias
/// for `common`/`organizations`/`consumers`, or an `invalid_tenant` error.
fn tenant_segment(
    state: &AppState,
    tenant: &str,
    ctx: &RequestContext,
) -> Result<String, Box<Response>> {
    match state.emu.directory().resolve(tenant) {
        TenantRef::Known(id) => Ok(id.to_string()),
        TenantRef::Alias(a) => Ok(match a {
            TenantAlias::Common => "common",
            TenantAlias::Organizations => "organizations",
            TenantAlias::Consumers => "consumers",
        }
        .to_owned()),
        TenantRef::Unknown => Err(EntraError::new(
            aadsts::TENANT_NOT_FOUND,
            format!(
                "Tenant '{}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.",
                super::token::truncate(tenant)
            ),
        )
        .with_error("invalid_tenant")
        .into_response_with(ctx)
        .into()),
        TenantRef::Malformed => Err(EntraError::new(
            aadsts::INVALID_TENANT_IDENTIFIER,
            format!(
                "Specified tenant identifier '{}' is neither a valid DNS name, nor a valid external domain.",
                super::token::truncate(tenant)
            ),
        )
        .with_error("invalid_tenant")
        .into_response_with(ctx)
        .into()),
    }
}

fn is_alias(seg: &str) -> bool {
    matches!(seg, "common" | "organizations" | "consumers")
}

/// `GET /{tenant}/.well-known/openid-configuration` (v1).
pub async fn openid_v1(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let o = super::origin(&state, &uri, &headers);
    let ctx = RequestContext::new(&headers, o.clone());
    let t = match tenant_segment(&state, &tenant, &ctx) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let issuer = if is_alias(&t) {
        "https://sts.windows.net/{tenantid}/".to_owned()
    } else {
        format!("https://sts.windows.net/{t}/")
    };
    discovery_response(json!({
        "token_endpoint": format!("{o}/{t}/oauth2/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{o}/common/discovery/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "token id_token", "token"],
        "scopes_supported": ["openid"],
        "issuer": issuer,
        "microsoft_multi_refresh_token": true,
        "authorization_endpoint": format!("{o}/{t}/oauth2/authorize"),
        "device_authorization_endpoint": format!("{o}/{t}/oauth2/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{o}/{t}/oauth2/logout"),
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "amr", "nonce", "email", "given_name", "family_name", "nickname"],
        "check_session_iframe": format!("{o}/{t}/oauth2/checksession"),
        "userinfo_endpoint": format!("{o}/{t}/openid/userinfo"),
        "kerberos_endpoint": format!("{o}/{t}/kerberos"),
        "tenant_region_scope": if is_alias(&t) { Value::Null } else { json!("WW") },
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net"
    }))
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
pub async fn openid_v2(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let o = super::origin(&state, &uri, &headers);
    let ctx = RequestContext::new(&headers, o.clone());
    let t = match tenant_segment(&state, &tenant, &ctx) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let issuer = if is_alias(&t) {
        format!("{o}/{{tenantid}}/v2.0")
    } else {
        format!("{o}/{t}/v2.0")
    };
    discovery_response(json!({
        "token_endpoint": format!("{o}/{t}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{o}/{t}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": issuer,
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "authorization_endpoint": format!("{o}/{t}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{o}/{t}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{o}/{t}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
        "kerberos_endpoint": format!("{o}/{t}/kerberos"),
        "tenant_region_scope": if is_alias(&t) { Value::Null } else { json!("WW") },
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net"
    }))
}

fn key_set(state: &AppState, issuer: Option<String>) -> Response {
    let emu = &state.emu;
    let keys = emu.keys();
    let list: Vec<Value> = keys
        .published(OffsetDateTime::now_utc(), emu.settings().key_grace)
        .map(|k| k.jwk(issuer.as_deref()))
        .collect();
    discovery_response(json!({ "keys": list }))
}

/// `GET /{tenant}/discovery/keys` (v1 key set, no `issuer`).
pub async fn keys_v1(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let ctx = RequestContext::new(&headers, super::origin(&state, &uri, &headers));
    if let Err(r) = tenant_segment(&state, &tenant, &ctx) {
        return *r;
    }
    key_set(&state, None)
}

/// `GET /{tenant}/discovery/v2.0/keys` (v2 key set, with `issuer`).
pub async fn keys_v2(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let o = super::origin(&state, &uri, &headers);
    let ctx = RequestContext::new(&headers, o.clone());
    let t = match tenant_segment(&state, &tenant, &ctx) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let issuer = if is_alias(&t) {
        format!("{o}/{{tenantid}}/v2.0")
    } else {
        format!("{o}/{t}/v2.0")
    };
    key_set(&state, Some(issuer))
}

/// `GET /discovery/keys`.
pub async fn keys_v1_common(State(state): State<AppState>) -> Response {
    key_set(&state, None)
}

/// `GET /discovery/v2.0/keys`.
pub async fn keys_v2_common(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let o = super::origin(&state, &uri, &headers);
    key_set(&state, Some(format!("{o}/{{tenantid}}/v2.0")))
}

/// `GET /common/discovery/instance?api-version=…&authorization_endpoint=…` (§5.3).
pub async fn instance(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let o = super::origin(&state, &uri, &headers);
    let ctx = RequestContext::new(&headers, o.clone());
    if !tenant.eq_ignore_ascii_case("common") {
        return EntraError::new(
            aadsts::TENANT_NOT_FOUND,
            "Instance discovery is served at /common/discovery/instance.",
        )
        .with_error("invalid_request")
        .into_response_with(&ctx);
    }
    let host = o
        .split_once("://")
        .map_or(o.as_str(), |(_, h)| h)
        .to_owned();
    if let Some(ep) = q.get("authorization_endpoint") {
        let ep_host = ep
            .strip_prefix("https://")
            .or_else(|| ep.strip_prefix("http://"))
            .and_then(|r| r.split('/').next())
            .unwrap_or("");
        let known = ep_host.eq_ignore_ascii_case(&host)
            || ep_host.split(':').next() == host.split(':').next()
                && ["localhost", "127.0.0.1"].contains(&ep_host.split(':').next().unwrap_or(""));
        if !known {
            return EntraError::new(aadsts::INVALID_INSTANCE, "Unknown or invalid instance.")
                .into_response_with(&ctx);
        }
    }
    let api_version = q
        .get("api-version")
        .cloned()
        .unwrap_or_else(|| "1.1".into());
    discovery_response(json!({
        "tenant_discovery_endpoint": format!("{o}/organizations/v2.0/.well-known/openid-configuration"),
        "api-version": api_version,
        "metadata": [{
            "preferred_network": host,
            "preferred_cache": host,
            "aliases": [host],
        }]
    }))
}

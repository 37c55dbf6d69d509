//! OpenID discovery documents, JWKS and instance discovery (`entra-oauth.md` §5).
//! Documents asked for by domain name the tenant by GUID, as Entra's do, since MSAL
//! derives its cache realm from the token endpoint's first path segment.

use super::error::{EntraError, insert_static};
use super::request::{Call, truncate};
use crate::AppState;
use crate::directory::{TenantAlias, TenantRef};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use mdep_model::aadsts;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use time::OffsetDateTime;

fn discovery_response(body: Value) -> Response {
    let mut r = (StatusCode::OK, body.to_string()).into_response();
    insert_static(
        r.headers_mut(),
        &[
            (header::CONTENT_TYPE, "application/json; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=86400, private"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
    );
    r
}

/// The tenant segment for a discovery document: the GUID for a real tenant, the alias
/// for `common`/`organizations`/`consumers`, or an `invalid_tenant` error.
fn tenant_segment(call: &Call, tenant: &str) -> Result<String, Box<Response>> {
    let ctx = &call.ctx;
    match call.state.emu.directory().resolve(tenant) {
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
                truncate(tenant)
            ),
        )
        .with_error("invalid_tenant")
        .into_response_with(ctx)
        .into()),
        TenantRef::Malformed => Err(EntraError::new(
            aadsts::INVALID_TENANT_IDENTIFIER,
            format!(
                "Specified tenant identifier '{}' is neither a valid DNS name, nor a valid external domain.",
                truncate(tenant)
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

/// The v2 issuer for tenant segment `t` (a template for the aliases).
fn v2_issuer(o: &str, t: &str) -> String {
    if is_alias(t) {
        format!("{o}/{{tenantid}}/v2.0")
    } else {
        format!("{o}/{t}/v2.0")
    }
}

/// What the v1 and v2 OpenID documents differ in; the rest they share, in this order.
struct OpenIdVersion {
    /// The endpoints' path under the tenant: `oauth2` or `oauth2/v2.0`.
    oauth2: &'static str,
    response_types: &'static [&'static str],
    scopes: &'static [&'static str],
    /// The claims after the ones both versions list ([`CLAIMS`]).
    claims: &'static [&'static str],
}

/// The claims both documents start `claims_supported` with.
const CLAIMS: [&str; 11] = [
    "sub",
    "iss",
    "cloud_instance_name",
    "cloud_instance_host_name",
    "cloud_graph_host_name",
    "msgraph_host",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "acr",
];

const OPENID_V1: OpenIdVersion = OpenIdVersion {
    oauth2: "oauth2",
    response_types: &[
        "code",
        "id_token",
        "code id_token",
        "token id_token",
        "token",
    ],
    scopes: &["openid"],
    claims: &[
        "amr",
        "nonce",
        "email",
        "given_name",
        "family_name",
        "nickname",
    ],
};

const OPENID_V2: OpenIdVersion = OpenIdVersion {
    oauth2: "oauth2/v2.0",
    response_types: &["code", "id_token", "code id_token", "id_token token"],
    scopes: &["openid", "profile", "email", "offline_access"],
    claims: &[
        "nonce",
        "preferred_username",
        "name",
        "tid",
        "ver",
        "at_hash",
        "c_hash",
        "email",
    ],
};

/// An OpenID configuration document for tenant segment `t`. `after_issuer` and
/// `after_claims` hold the fields only one version has, at the place Entra puts them.
fn openid_document(
    o: &str,
    t: &str,
    v: &OpenIdVersion,
    jwks_uri: String,
    issuer: String,
    after_issuer: Vec<(&str, Value)>,
    after_claims: Vec<(&str, Value)>,
) -> Value {
    let endpoint = |name: &str| json!(format!("{o}/{t}/{}/{name}", v.oauth2));
    let mut doc = Map::new();
    let mut put = |k: &str, val: Value| {
        doc.insert(k.to_owned(), val);
    };
    put("token_endpoint", endpoint("token"));
    put(
        "token_endpoint_auth_methods_supported",
        json!([
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic"
        ]),
    );
    put("jwks_uri", json!(jwks_uri));
    put(
        "response_modes_supported",
        json!(["query", "fragment", "form_post"]),
    );
    put("subject_types_supported", json!(["pairwise"]));
    put("id_token_signing_alg_values_supported", json!(["RS256"]));
    put("response_types_supported", json!(v.response_types));
    put("scopes_supported", json!(v.scopes));
    put("issuer", json!(issuer));
    after_issuer.into_iter().for_each(|(k, val)| put(k, val));
    put("authorization_endpoint", endpoint("authorize"));
    put("device_authorization_endpoint", endpoint("devicecode"));
    put("http_logout_supported", json!(true));
    put("frontchannel_logout_supported", json!(true));
    put("end_session_endpoint", endpoint("logout"));
    put("claims_supported", json!([&CLAIMS[..], v.claims].concat()));
    after_claims.into_iter().for_each(|(k, val)| put(k, val));
    put("kerberos_endpoint", json!(format!("{o}/{t}/kerberos")));
    put(
        "tenant_region_scope",
        if is_alias(t) {
            Value::Null
        } else {
            json!("WW")
        },
    );
    put("cloud_instance_name", json!("microsoftonline.com"));
    put("cloud_graph_host_name", json!("graph.windows.net"));
    put("msgraph_host", json!("graph.microsoft.com"));
    put("rbac_url", json!("https://pas.windows.net"));
    Value::Object(doc)
}

/// `GET /{tenant}/.well-known/openid-configuration` (v1).
pub async fn openid_v1(call: Call, Path(tenant): Path<String>) -> Response {
    let t = match tenant_segment(&call, &tenant) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let o = &call.origin;
    let issuer = if is_alias(&t) {
        "https://sts.windows.net/{tenantid}/".to_owned()
    } else {
        format!("https://sts.windows.net/{t}/")
    };
    discovery_response(openid_document(
        o,
        &t,
        &OPENID_V1,
        format!("{o}/common/discovery/keys"),
        issuer,
        vec![("microsoft_multi_refresh_token", json!(true))],
        vec![
            (
                "check_session_iframe",
                json!(format!("{o}/{t}/oauth2/checksession")),
            ),
            (
                "userinfo_endpoint",
                json!(format!("{o}/{t}/openid/userinfo")),
            ),
        ],
    ))
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
pub async fn openid_v2(call: Call, Path(tenant): Path<String>) -> Response {
    let t = match tenant_segment(&call, &tenant) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let o = &call.origin;
    discovery_response(openid_document(
        o,
        &t,
        &OPENID_V2,
        format!("{o}/{t}/discovery/v2.0/keys"),
        v2_issuer(o, &t),
        vec![
            ("request_uri_parameter_supported", json!(false)),
            (
                "userinfo_endpoint",
                json!("https://graph.microsoft.com/oidc/userinfo"),
            ),
        ],
        Vec::new(),
    ))
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
pub async fn keys_v1(call: Call, Path(tenant): Path<String>) -> Response {
    match tenant_segment(&call, &tenant) {
        Ok(_) => key_set(&call.state, None),
        Err(r) => *r,
    }
}

/// `GET /{tenant}/discovery/v2.0/keys` (v2 key set, with `issuer`).
pub async fn keys_v2(call: Call, Path(tenant): Path<String>) -> Response {
    match tenant_segment(&call, &tenant) {
        Ok(t) => key_set(&call.state, Some(v2_issuer(&call.origin, &t))),
        Err(r) => *r,
    }
}

/// `GET /discovery/keys`.
pub async fn keys_v1_common(State(state): State<AppState>) -> Response {
    key_set(&state, None)
}

/// `GET /discovery/v2.0/keys`.
pub async fn keys_v2_common(call: Call) -> Response {
    let issuer = format!("{}/{{tenantid}}/v2.0", call.origin);
    key_set(&call.state, Some(issuer))
}

/// `GET /common/discovery/instance?api-version=…&authorization_endpoint=…` (§5.3).
pub async fn instance(
    call: Call,
    Path(tenant): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (o, ctx) = (&call.origin, &call.ctx);
    if !tenant.eq_ignore_ascii_case("common") {
        return EntraError::new(
            aadsts::TENANT_NOT_FOUND,
            "Instance discovery is served at /common/discovery/instance.",
        )
        .with_error("invalid_request")
        .into_response_with(ctx);
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
                .into_response_with(ctx);
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

//! The client-credentials token endpoints: `POST /{tenant}/oauth2/token` (v1, `resource=`)
//! and `POST /{tenant}/oauth2/v2.0/token` (v2, `scope=<resource>/.default`).
//!
//! Request, response and error shapes: `entra-oauth.md` §1–§4; the claims MDE sees:
//! `mde-api.md` §7.

use super::assertion::{self, AssertionCheck};
use super::error::EntraError;
use super::request::Call;
pub use super::request::truncate;
use crate::AppState;
use crate::crypto;
use crate::directory::{Directory, TenantAlias, TenantRef};
use axum::body::{Body, Bytes};
use axum::extract::Path;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use mdep_model::aadsts;
use mdep_model::permissions::{
    Api, GRAPH_APP_ID, canonical_graph_resource, canonical_mde_resource,
};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

/// Largest token request body accepted (1 MiB).
pub const MAX_BODY: usize = 1 << 20;

/// Which token endpoint was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `/oauth2/token`.
    V1,
    /// `/oauth2/v2.0/token`.
    V2,
}

/// `GET` on a token endpoint (AADSTS900561).
pub async fn token_get(call: Call) -> Response {
    EntraError::new(
        aadsts::ENDPOINT_POST_ONLY,
        "The endpoint only accepts POST requests. Received a GET request.",
    )
    .into_response_with(&call.ctx)
}

/// v1 token endpoint.
pub async fn token_v1(call: Call, Path(tenant): Path<String>, body: Body) -> Response {
    token(call, tenant, body, Version::V1).await
}

/// v2 token endpoint.
pub async fn token_v2(call: Call, Path(tenant): Path<String>, body: Body) -> Response {
    token(call, tenant, body, Version::V2).await
}

async fn token(call: Call, tenant: String, body: Body, version: Version) -> Response {
    let Call {
        state,
        headers,
        origin,
        ctx,
    } = call;
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return EntraError::new(
                aadsts::REQUEST_TOO_LARGE,
                "The request body is too large: token requests are limited to 1 MiB.",
            )
            .into_response_with(&ctx);
        }
    };
    let req = TokenRequest {
        tenant: &tenant,
        headers: &headers,
        body: &bytes,
        version,
        origin: &origin,
    };
    let mut response = match issue(&state, req) {
        Ok(resp) => {
            let mut r = resp.into_response();
            ctx.decorate(r.headers_mut());
            r
        }
        Err(e) => e.into_response_with(&ctx),
    };
    // Count the request under the tenant's GUID, however the path named it.
    if let TenantRef::Known(id) = state.emu.directory().resolve(&tenant) {
        response
            .extensions_mut()
            .insert(crate::CountedTenant(id.to_string()));
    }
    response
}

/// A token request as received.
pub struct TokenRequest<'a> {
    /// The `{tenant}` path segment.
    pub tenant: &'a str,
    /// Request headers.
    pub headers: &'a HeaderMap,
    /// The form body.
    pub body: &'a Bytes,
    /// Endpoint version.
    pub version: Version,
    /// The caller's origin.
    pub origin: &'a str,
}

struct Form<'a> {
    pairs: Vec<(std::borrow::Cow<'a, str>, std::borrow::Cow<'a, str>)>,
}

impl Form<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_ref())
            .filter(|v| !v.is_empty())
    }
}

fn missing(param: &str) -> EntraError {
    EntraError::new(
        aadsts::MISSING_PARAMETER,
        format!("The request body must contain the following parameter: '{param}'."),
    )
}

/// How the client proved itself (`appidacr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// Client secret: `appidacr` "1".
    Secret,
    /// Certificate assertion: `appidacr` "2".
    Certificate,
}

#[derive(Serialize)]
struct Claims<'a> {
    aud: &'a str,
    iss: &'a str,
    iat: i64,
    nbf: i64,
    exp: i64,
    aio: String,
    app_displayname: &'a str,
    appid: String,
    appidacr: &'static str,
    idp: &'a str,
    oid: String,
    rh: String,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    roles: &'a [String],
    sub: String,
    tenant_region_scope: &'static str,
    tid: String,
    uti: String,
    ver: &'static str,
}

/// The success body: v1 numbers as strings, v2 as integers and no `scope`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum TokenResponse {
    /// v1 shape.
    V1 {
        /// `Bearer`.
        token_type: &'static str,
        /// Seconds, as a string.
        expires_in: String,
        /// Seconds, as a string.
        ext_expires_in: String,
        /// Epoch seconds, as a string.
        expires_on: String,
        /// Epoch seconds, as a string.
        not_before: String,
        /// The resource as requested.
        resource: String,
        /// The JWT.
        access_token: String,
    },
    /// v2 shape.
    V2 {
        /// `Bearer`.
        token_type: &'static str,
        /// Seconds.
        expires_in: i64,
        /// Seconds.
        ext_expires_in: i64,
        /// The JWT.
        access_token: String,
    },
}

impl IntoResponse for TokenResponse {
    fn into_response(self) -> Response {
        let body = match &self {
            // The hot path, written directly: a JWT is base64url and dots, nothing to
            // escape, so serde's per-byte escaping scan of ~1.3 kB buys nothing.
            Self::V2 {
                token_type,
                expires_in,
                ext_expires_in,
                access_token,
            } if needs_no_json_escape(access_token) => format!(
                r#"{{"token_type":"{token_type}","expires_in":{expires_in},"ext_expires_in":{ext_expires_in},"access_token":"{access_token}"}}"#
            ),
            _ => serde_json::to_string(&self).unwrap_or_default(),
        };
        (
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            body,
        )
            .into_response()
    }
}

/// Nothing a JSON string needs escaped (`"`, `\`, control characters). A fold without
/// early exit, so the compiler vectorizes it: a byte-by-byte scan costs as much as the
/// escaping it avoids.
fn needs_no_json_escape(s: &str) -> bool {
    !s.bytes().fold(false, |bad, b| {
        bad | (b == b'"') | (b == b'\\') | (b < 0x20)
    })
}

fn resource_from_scope(scope: &str) -> Result<String, EntraError> {
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    let mut resource: Option<String> = None;
    for s in &scopes {
        let Some(r) = s.strip_suffix("/.default") else {
            return Err(EntraError::new(
                aadsts::SCOPE_NOT_DEFAULT,
                format!(
                    "The provided value for scope {s} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
                ),
            ));
        };
        if r.is_empty() {
            return Err(invalid_scope(scope));
        }
        match &resource {
            Some(prev) if !prev.eq_ignore_ascii_case(r) => return Err(invalid_scope(scope)),
            _ => resource = Some(r.to_owned()),
        }
    }
    resource.ok_or_else(|| missing("scope"))
}

fn invalid_scope(scope: &str) -> EntraError {
    EntraError::new(
        aadsts::INVALID_SCOPE,
        format!(
            "The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid."
        ),
    )
}

fn tenant_label(dir: &Directory, id: Uuid) -> String {
    dir.tenants
        .get(&id)
        .map_or_else(|| id.to_string(), |t| t.name.clone())
}

/// Checks a token request and, when every rule holds, issues the token.
pub fn issue(state: &AppState, req: TokenRequest<'_>) -> Result<TokenResponse, EntraError> {
    let emu = &state.emu;
    // Resolve the tenant first: a bad authority fails whatever the body says.
    let tenant_ref = emu.directory().resolve(req.tenant);
    match tenant_ref {
        TenantRef::Malformed => {
            return Err(EntraError::new(
                aadsts::INVALID_TENANT_IDENTIFIER,
                format!(
                    "Specified tenant identifier '{}' is neither a valid DNS name, nor a valid external domain.",
                    req.tenant
                ),
            ));
        }
        TenantRef::Unknown => return Err(tenant_not_found(req.tenant)),
        TenantRef::Alias(TenantAlias::Common | TenantAlias::Consumers) => {
            return Err(EntraError::new(
                aadsts::GRANT_NOT_ON_COMMON,
                "The grant type is not supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint.",
            ));
        }
        _ => {}
    }
    let content_type = req
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let is_form = content_type.split(';').next().is_some_and(|m| {
        m.trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    });
    // A body that is not a form carries no parameters at all (Entra answers 900144).
    let form = Form {
        pairs: if is_form {
            form_urlencoded::parse(req.body).collect()
        } else {
            Vec::new()
        },
    };
    let grant_type = form
        .get("grant_type")
        .ok_or_else(|| missing("grant_type"))?;
    if grant_type != "client_credentials" {
        return Err(EntraError::new(
            aadsts::UNSUPPORTED_GRANT_TYPE,
            format!(
                "The app requested an unsupported grant type '{}'.",
                truncate(grant_type)
            ),
        ));
    }
    let basic = basic_credentials(req.headers)?;
    let client_id_raw = match (form.get("client_id"), &basic) {
        (Some(id), Some((bid, _))) if id != bid => {
            return Err(EntraError::new(
                aadsts::INVALID_CLIENT_SECRET,
                "The client_id in the body does not match the one in the Authorization header.",
            ));
        }
        (Some(id), _) => id.to_owned(),
        (None, Some((bid, _))) => bid.clone(),
        (None, None) => return Err(missing("client_id")),
    };
    let requested_resource = match req.version {
        Version::V1 => form
            .get("resource")
            .ok_or_else(|| missing("resource"))?
            .to_owned(),
        Version::V2 => {
            if form.get("resource").is_some() {
                return Err(EntraError::new(
                    aadsts::RESOURCE_PARAMETER_ON_V2,
                    "The 'resource' request parameter isn't supported.",
                ));
            }
            resource_from_scope(form.get("scope").ok_or_else(|| missing("scope"))?)?
        }
    };
    let client_id = Uuid::try_parse(&client_id_raw).ok();
    // Snapshot what the checks need, then let go of the lock before any crypto.
    let (tid, app, sp, tenant_name, domain) = {
        let dir = emu.directory();
        let app = client_id.and_then(|id| dir.apps.get(&id)).cloned();
        let tid = match tenant_ref {
            TenantRef::Known(t) => t,
            // /organizations: the app's own tenant.
            _ => match &app {
                Some(a) => a.home_tenant,
                None => return Err(app_not_found(&client_id_raw, req.tenant)),
            },
        };
        let sp = app
            .as_ref()
            .and_then(|a| dir.service_principals.get(&(tid, a.client_id)).cloned());
        let domain = dir.tenants.get(&tid).map(|t| t.domain.clone());
        (tid, app, sp, tenant_label(&dir, tid), domain)
    };
    let (Some(app), Some(sp)) = (app, sp) else {
        return Err(app_not_found(&client_id_raw, req.tenant));
    };
    let appid = app.client_id.to_string();
    let secret = match (form.get("client_secret"), &basic) {
        (Some(_), Some(_)) => {
            return Err(EntraError::new(
                aadsts::MISSING_CLIENT_CREDENTIAL,
                "The request must contain exactly one client credential: send the secret either in the body or in the Authorization header.",
            ));
        }
        (Some(s), None) => Some(s.to_owned()),
        (None, Some((_, s))) => Some(s.clone()),
        (None, None) => None,
    };
    let assertion_type = form.get("client_assertion_type");
    let assertion_value = form.get("client_assertion");
    let auth = match (secret, assertion_type, assertion_value) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(EntraError::new(
                aadsts::MISSING_CLIENT_CREDENTIAL,
                "The request body must contain only one of the following parameters: 'client_assertion' or 'client_secret'.",
            ));
        }
        (Some(secret), None, None) => {
            check_secret(state, &app, &secret)?;
            ClientAuth::Secret
        }
        (None, Some(kind), value) => {
            if kind != assertion::JWT_BEARER {
                return Err(EntraError::new(
                    aadsts::INVALID_CLIENT_ASSERTION_TYPE,
                    format!(
                        "Invalid client assertion type '{}'. Expected '{}'.",
                        truncate(kind),
                        assertion::JWT_BEARER
                    ),
                ));
            }
            let value = value.ok_or_else(|| missing("client_assertion"))?;
            assertion::verify(
                state,
                &AssertionCheck {
                    app: &app,
                    assertion: value,
                    origin: req.origin,
                    tenant_segment: req.tenant,
                    tid,
                    domain,
                },
            )?;
            ClientAuth::Certificate
        }
        (None, None, Some(_)) => return Err(missing("client_assertion_type")),
        (None, None, None) => {
            return Err(EntraError::new(
                aadsts::MISSING_CLIENT_CREDENTIAL,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            ));
        }
    };
    let Some(api) = Api::of_resource(&requested_resource) else {
        return Err(EntraError::new(
            aadsts::RESOURCE_NOT_FOUND,
            format!(
                "The resource principal named {} was not found in the tenant named {tenant_name}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.",
                truncate(&requested_resource)
            ),
        ));
    };
    let aud = match api {
        // v1 tokens carry the resource as requested in `aud` (entra-oauth.md §4.2), without
        // a trailing slash; canonical spelling keeps the audience check on the API side exact.
        Api::Mde => {
            let aud = requested_resource.trim_end_matches('/');
            canonical_mde_resource(aud).unwrap_or(aud).to_owned()
        }
        // Graph (graph-security.md §3): v2 `.default` gives the host without a slash; v1
        // `resource=` keeps the spelling requested (`https://graph.microsoft.com/` keeps
        // its slash); the app id stays the app id.
        Api::Graph => {
            let canonical = canonical_graph_resource(&requested_resource).unwrap_or_default();
            match req.version {
                Version::V1 if canonical != GRAPH_APP_ID => {
                    if requested_resource.ends_with('/') {
                        format!("{canonical}/")
                    } else {
                        canonical.to_owned()
                    }
                }
                _ => canonical.to_owned(),
            }
        }
    };
    // The roles of the token's resource only.
    let roles: Vec<String> = sp
        .roles
        .iter()
        .filter(|r| api.role(r).is_some())
        .cloned()
        .collect();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let lifetime = emu.settings().token_lifetime.whole_seconds();
    let iat = now - 300;
    let exp = now + lifetime;
    let iss = format!("https://sts.windows.net/{tid}/");
    // One draw for the three random claims: aio (42 bytes), rh (40), uti (16).
    let random = crypto::random_bytes::<98>();
    let claims = Claims {
        aud: &aud,
        iss: &iss,
        iat,
        nbf: iat,
        exp,
        aio: crypto::b64(&random[..42]),
        app_displayname: &app.name,
        appid,
        appidacr: match auth {
            ClientAuth::Secret => "1",
            ClientAuth::Certificate => "2",
        },
        idp: &iss,
        oid: sp.object_id.to_string(),
        rh: format!("0.A{}.", crypto::b64url(&random[42..82])),
        roles: &roles,
        sub: sp.object_id.to_string(),
        tenant_region_scope: "WW",
        tid: tid.to_string(),
        uti: crypto::b64url(&random[82..]),
        ver: "1.0",
    };
    let key =
        emu.keys().active().cloned().ok_or_else(|| {
            EntraError::new(aadsts::TENANT_NOT_FOUND, "No signing key is active.")
        })?;
    let payload = serde_json::to_vec(&claims).unwrap_or_default();
    let mut jwt = String::with_capacity(1200);
    jwt.push_str(key.jwt_header_b64());
    jwt.push('.');
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode_string(payload, &mut jwt);
    let sig = key.sign_rs256(jwt.as_bytes());
    jwt.push('.');
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode_string(sig, &mut jwt);
    let expires_in = lifetime - 1;
    Ok(match req.version {
        Version::V1 => TokenResponse::V1 {
            token_type: "Bearer",
            expires_in: expires_in.to_string(),
            ext_expires_in: expires_in.to_string(),
            expires_on: exp.to_string(),
            not_before: iat.to_string(),
            resource: requested_resource,
            access_token: jwt,
        },
        Version::V2 => TokenResponse::V2 {
            token_type: "Bearer",
            expires_in,
            ext_expires_in: expires_in,
            access_token: jwt,
        },
    })
}

fn tenant_not_found(t: &str) -> EntraError {
    EntraError::new(
        aadsts::TENANT_NOT_FOUND,
        format!(
            "Tenant '{}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.",
            truncate(t)
        ),
    )
}

/// AADSTS700016 for an app that has no service principal in the tenant.
pub fn app_not_found(client_id: &str, tenant: &str) -> EntraError {
    EntraError::new(
        aadsts::APP_NOT_FOUND_IN_DIRECTORY,
        format!(
            "Application with identifier '{}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
            truncate(client_id),
            truncate(tenant)
        ),
    )
}

fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, EntraError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = || {
        EntraError::new(
            aadsts::INVALID_CLIENT_SECRET,
            "The Authorization header is not valid HTTP Basic credentials (base64 of url-encoded client_id:client_secret).",
        )
    };
    let value = value.to_str().map_err(|_| bad())?;
    let Some((scheme, rest)) = value.split_once(' ') else {
        return Err(bad());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad());
    }
    let decoded = crypto::b64_decode(rest.trim()).ok_or_else(bad)?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    // RFC 6749 §2.3.1: both parts are form-url-encoded before base64.
    let dec = |s: &str| -> String {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((dec(id), dec(secret))))
}

fn check_secret(
    state: &AppState,
    app: &crate::directory::App,
    presented: &str,
) -> Result<(), EntraError> {
    let now = OffsetDateTime::now_utc();
    let hasher = state.emu.hasher();
    let mut matched_expired = false;
    for s in &app.secrets {
        if hasher.verify(presented, &s.hash) {
            match s.expires {
                Some(exp) if exp <= now => matched_expired = true,
                _ => return Ok(()),
            }
        }
    }
    let all_expired = !app.secrets.is_empty()
        && app
            .secrets
            .iter()
            .all(|s| s.expires.is_some_and(|e| e <= now));
    if matched_expired || all_expired {
        return Err(EntraError::new(
            aadsts::EXPIRED_CLIENT_SECRET,
            format!(
                "The provided client secret keys for app '{}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.",
                app.client_id
            ),
        ));
    }
    Err(EntraError::new(
        aadsts::INVALID_CLIENT_SECRET,
        format!(
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.",
            app.client_id
        ),
    ))
}

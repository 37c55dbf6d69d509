//! Admin consent as real web pages: the seed's link
//! `/common/oauth2/authorize?prompt=consent&client_id=…&response_type=code&sso_reload=true`
//! (also per tenant, `/organizations`, `prompt=admin_consent`), `/{tenant}/adminconsent` and
//! `/{tenant}/v2.0/adminconsent` (`entra-oauth.md` §6). The administrator signs in, sees the
//! app, its publisher and each permission by display name, and accepts or cancels.

use super::request::truncate;
use crate::AppState;
use crate::crypto;
use crate::directory::{App, TenantAlias, TenantRef};
use crate::state::{ConsentFlow, ConsentSession};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use mdep_model::aadsts::{self, Aadsts};
use mdep_model::permissions;
use std::collections::HashMap;
use uuid::Uuid;

type Params = Query<HashMap<String, String>>;

/// What a consent link carries: the `{tenant}` segment and the query.
type Link = (State<AppState>, Path<String>, Params);

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{{font-family:"Segoe UI",system-ui,sans-serif;background:#f2f2f2;margin:0}}
.box{{background:#fff;max-width:440px;margin:60px auto;padding:44px;box-shadow:0 2px 6px rgba(0,0,0,.2)}}
.brand{{font-weight:600;color:#737373;margin-bottom:16px}}
h1{{font-size:24px;font-weight:600;margin:0 0 12px}}
input[type=text],input[type=email],input[type=password]{{width:100%;box-sizing:border-box;padding:6px 0;border:0;border-bottom:1px solid #666;font-size:15px;margin:8px 0 16px}}
.buttons{{text-align:right;margin-top:24px}}
button{{min-width:108px;padding:6px 12px;font-size:15px;border:1px solid #8c8c8c;background:#ccc;cursor:pointer;margin-left:6px}}
button.primary{{background:#0067b8;color:#fff;border-color:#0067b8}}
.error{{color:#e81123;margin:8px 0}}
.perm{{border-top:1px solid #e6e6e6;padding:8px 0}}
.perm small{{color:#666}}
.muted{{color:#666;font-size:13px}}
code{{font-size:12px}}
</style></head><body><div class="box"><div class="brand">Microsoft Entra ID (mdep emulator)</div>
{body}
</div></body></html>"#,
        title = esc(title)
    );
    let mut r = (status, Html(html)).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

/// An error page, never a redirect (for errors that make the redirect URI untrustworthy).
fn error_page_for(code: Aadsts, message: &str) -> Response {
    let trace = Uuid::new_v4();
    page(
        StatusCode::from_u16(code.status).unwrap_or(StatusCode::BAD_REQUEST),
        "Sign in to your account",
        &format!(
            r#"<h1>Sorry, but we're having trouble signing you in.</h1>
<p class="error" id="errorCode">AADSTS{}: {}</p>
<p class="muted">{}</p>
<p class="muted">Request Id: {trace}</p>"#,
            code.code,
            esc(message),
            esc(code.hint)
        ),
    )
}

/// `GET /error?code=N`: what an `error_uri` points to.
pub async fn error_page(Query(q): Params) -> Response {
    let code = q
        .get("code")
        .and_then(|c| c.parse::<u32>().ok())
        .and_then(aadsts::lookup);
    match code {
        Some(c) => page(
            StatusCode::OK,
            "Error code lookup",
            &format!(
                "<h1>AADSTS{}</h1><p><code>{}</code> (HTTP {})</p><p>{}</p>",
                c.code,
                esc(c.error),
                c.status,
                esc(c.hint)
            ),
        ),
        None => page(
            StatusCode::NOT_FOUND,
            "Error code lookup",
            "<h1>Unknown error code</h1>",
        ),
    }
}

/// Appends query parameters to a redirect URI.
fn redirect_to(uri: &str, params: &[(&str, &str)]) -> Response {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        ser.append_pair(k, v);
    }
    let q = ser.finish();
    let sep = if uri.contains('?') { '&' } else { '?' };
    let location = format!("{uri}{sep}{q}");
    let mut r = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    r
}

fn param<'a>(q: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    q.get(name).map(String::as_str).filter(|v| !v.is_empty())
}

/// `GET /{tenant}/oauth2/authorize` and `/oauth2/v2.0/authorize`.
pub async fn authorize((State(state), Path(tenant), Query(q)): Link) -> Response {
    if param(&q, "response_type").is_none() {
        return error_page_for(
            aadsts::MISSING_PARAMETER,
            "The request body must contain the following parameter: 'response_type'.",
        );
    }
    if param(&q, "response_type") != Some("code") {
        return error_page_for(
            aadsts::UNSUPPORTED_GRANT_TYPE,
            &format!(
                "The emulator's authorize endpoint serves admin consent with response_type=code; '{}' is not supported.",
                truncate(param(&q, "response_type").unwrap_or(""))
            ),
        );
    }
    start(state, tenant, q, ConsentFlow::Authorize)
}

/// `GET /{tenant}/adminconsent`.
pub async fn admin_consent_v1((State(state), Path(tenant), Query(q)): Link) -> Response {
    start(state, tenant, q, ConsentFlow::AdminConsentV1)
}

/// `GET /{tenant}/v2.0/adminconsent`.
pub async fn admin_consent_v2((State(state), Path(tenant), Query(q)): Link) -> Response {
    start(state, tenant, q, ConsentFlow::AdminConsentV2)
}

fn start(
    state: AppState,
    tenant: String,
    q: HashMap<String, String>,
    flow: ConsentFlow,
) -> Response {
    let emu = &state.emu;
    let Some(client_id_raw) = param(&q, "client_id") else {
        return error_page_for(
            aadsts::MISSING_PARAMETER,
            "The request body must contain the following parameter: 'client_id'.",
        );
    };
    let tenant_hint = match emu.directory().resolve(&tenant) {
        TenantRef::Known(id) => Some(id),
        TenantRef::Alias(TenantAlias::Common | TenantAlias::Organizations) => None,
        TenantRef::Alias(TenantAlias::Consumers) => {
            return error_page_for(
                aadsts::USER_NOT_FOUND,
                "Admin consent needs a work account: /consumers is for personal Microsoft accounts.",
            );
        }
        TenantRef::Unknown => {
            return error_page_for(
                aadsts::TENANT_NOT_FOUND,
                &format!(
                    "Tenant '{}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.",
                    truncate(&tenant)
                ),
            );
        }
        TenantRef::Malformed => {
            return error_page_for(
                aadsts::INVALID_TENANT_IDENTIFIER,
                &format!(
                    "Specified tenant identifier '{}' is neither a valid DNS name, nor a valid external domain.",
                    truncate(&tenant)
                ),
            );
        }
    };
    let app = Uuid::try_parse(client_id_raw)
        .ok()
        .and_then(|id| emu.directory().apps.get(&id).cloned());
    let Some(app) = app else {
        return error_page_for(
            aadsts::APP_NOT_FOUND_IN_DIRECTORY,
            &format!(
                "Application with identifier '{}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
                truncate(client_id_raw),
                truncate(&tenant)
            ),
        );
    };
    let redirect_uri = match param(&q, "redirect_uri") {
        Some(uri) => {
            if !app.redirect_uris.iter().any(|r| r == uri) {
                return error_page_for(
                    aadsts::REDIRECT_URI_MISMATCH,
                    &format!(
                        "The redirect URI '{}' specified in the request does not match the redirect URIs configured for the application '{}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.",
                        truncate(uri),
                        app.client_id
                    ),
                );
            }
            uri.to_owned()
        }
        None => match app.redirect_uris.first() {
            Some(u) => u.clone(),
            None => {
                return error_page_for(
                    aadsts::NO_REPLY_ADDRESS,
                    &format!(
                        "No reply address is registered for the application '{}'.",
                        app.client_id
                    ),
                );
            }
        },
    };
    let scope = if flow == ConsentFlow::AdminConsentV2 {
        match param(&q, "scope") {
            Some(s) => {
                for one in s.split_whitespace() {
                    let resource = one.strip_suffix("/.default");
                    if resource.is_none_or(|r| permissions::Api::of_resource(r).is_none()) {
                        return error_page_for(
                            aadsts::INVALID_SCOPE,
                            &format!(
                                "The provided value for the input parameter 'scope' is not valid. The scope {} is not valid: application permissions are requested with <resource>/.default, here https://api.securitycenter.microsoft.com/.default or https://graph.microsoft.com/.default.",
                                truncate(one)
                            ),
                        );
                    }
                }
                Some(s.to_owned())
            }
            None => None,
        }
    } else {
        None
    };
    let session = ConsentSession {
        flow,
        app: app.client_id,
        tenant_hint,
        signed_in: None,
        redirect_uri,
        state: param(&q, "state").map(|s| s.chars().take(2048).collect()),
        scope,
        created: std::time::Instant::now(),
    };
    let sid = emu.start_session(session);
    sign_in_page(&tenant, &sid, &app, None, "")
}

fn sign_in_page(
    tenant: &str,
    sid: &str,
    app: &App,
    error: Option<(Aadsts, &str)>,
    login: &str,
) -> Response {
    let err = error
        .map(|(c, m)| {
            format!(
                r#"<p class="error" id="passwordError">AADSTS{}: {}</p>"#,
                c.code,
                esc(m)
            )
        })
        .unwrap_or_default();
    page(
        StatusCode::OK,
        "Sign in to your account",
        &format!(
            r#"<h1>Sign in</h1>
<p class="muted">to continue to <b>{app}</b></p>
{err}
<form method="post" action="/{tenant}/login">
<input type="hidden" name="session" value="{sid}">
<label for="i0116">Email</label>
<input type="email" id="i0116" name="login" value="{login}" autocomplete="username" required>
<label for="i0118">Password</label>
<input type="password" id="i0118" name="passwd" autocomplete="current-password" required>
<div class="buttons"><button type="submit" class="primary" id="idSIButton9">Sign in</button></div>
</form>"#,
            app = esc(&app.name),
            tenant = esc(&urlencode_segment(tenant)),
            sid = esc(sid),
            login = esc(login),
        ),
    )
}

fn urlencode_segment(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn form_map(body: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

fn session_expired() -> Response {
    error_page_for(
        aadsts::MISSING_PARAMETER,
        "The sign-in session is missing or has expired (15 minutes). Open the consent link again.",
    )
}

/// `POST /{tenant}/login`: the administrator's sign-in.
pub async fn sign_in(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let emu = &state.emu;
    let f = form_map(&body);
    let Some(sid) = f.get("session") else {
        return session_expired();
    };
    let Some(mut session) = emu.session(sid) else {
        return session_expired();
    };
    let Some(app) = emu.directory().apps.get(&session.app).cloned() else {
        return session_expired();
    };
    let login = f
        .get("login")
        .map(|s| s.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let password = f.get("passwd").map(String::as_str).unwrap_or("");
    let found = {
        let dir = emu.directory();
        login
            .split_once('@')
            .and_then(|(_, d)| dir.domains.get(d).copied())
            .and_then(|tid| dir.tenants.get(&tid).cloned())
    };
    let tenant_obj = match found {
        Some(t) if t.admin.user == login && session.tenant_hint.is_none_or(|h| h == t.id) => t,
        _ => {
            let dir_name = session
                .tenant_hint
                .and_then(|h| emu.directory().tenants.get(&h).map(|t| t.name.clone()))
                .unwrap_or_else(|| "this".into());
            let msg = format!(
                "The user account {} does not exist in the {} directory. To sign into this application, the account must be added to the directory.",
                truncate(&login),
                dir_name
            );
            return sign_in_page(
                &tenant,
                sid,
                &app,
                Some((aadsts::USER_NOT_FOUND, &msg)),
                &login,
            );
        }
    };
    if !crypto::verify_password(password, &tenant_obj.admin.password_hash) {
        return sign_in_page(
            &tenant,
            sid,
            &app,
            Some((
                aadsts::INVALID_CREDENTIALS,
                "Error validating credentials due to invalid username or password.",
            )),
            &login,
        );
    }
    if !app.multi_tenant && app.home_tenant != tenant_obj.id {
        emu.end_session(sid);
        return error_page_for(
            aadsts::APP_NOT_MULTI_TENANT,
            &format!(
                "Application '{}'({}) is not configured as a multi-tenant application. Usage of the /common endpoint is not supported for such applications created after '10/15/2018'. Use a tenant-specific endpoint or configure the application to be multi-tenant.",
                app.client_id, app.name
            ),
        );
    }
    session.signed_in = Some(tenant_obj.id);
    emu.update_session(sid, session);
    let publisher = emu
        .directory()
        .tenants
        .get(&app.home_tenant)
        .map(|t| format!("{} ({})", t.name, t.domain))
        .unwrap_or_else(|| app.home_tenant.to_string());
    let perms: String = app
        .permissions
        .iter()
        .map(|p| {
            let api = permissions::Api::of_role(p);
            let display = api
                .and_then(|a| a.role(p))
                .map_or(p.as_str(), |r| r.display_name);
            let resource = api.map_or("unknown resource", permissions::Api::name);
            format!(
                r#"<div class="perm"><b>{}</b> <small>({}, {}, application permission)</small></div>"#,
                esc(display),
                esc(p),
                esc(resource)
            )
        })
        .collect();
    let perms = if perms.is_empty() {
        r#"<div class="perm">No Defender for Endpoint or Microsoft Graph permissions (the app asks for none).</div>"#
            .to_owned()
    } else {
        perms
    };
    page(
        StatusCode::OK,
        "Permissions requested",
        &format!(
            r#"<p class="muted">{user}</p>
<h1>Permissions requested</h1>
<p><b id="appName">{app}</b><br><span class="muted">Publisher: <span id="publisher">{publisher}</span> (unverified)<br>App ID: <code>{client_id}</code></span></p>
<p>This app would like to:</p>
<div id="permissions">{perms}</div>
<p class="muted">If you accept, this app will get access to the specified resources for all users in your organization ({org}). No one else will be prompted to review these permissions.</p>
<form method="post" action="/{tenant}/consent">
<input type="hidden" name="session" value="{sid}">
<div class="buttons">
<button type="submit" name="action" value="cancel" id="idBtn_Cancel">Cancel</button>
<button type="submit" name="action" value="accept" class="primary" id="idBtn_Accept">Accept</button>
</div></form>"#,
            user = esc(&tenant_obj.admin.user),
            app = esc(&app.name),
            publisher = esc(&publisher),
            client_id = app.client_id,
            org = esc(&tenant_obj.name),
            tenant = esc(&urlencode_segment(&tenant)),
            sid = esc(sid),
        ),
    )
}

/// `POST /{tenant}/consent`: Accept or Cancel.
pub async fn decide(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let emu = &state.emu;
    let f = form_map(&body);
    let Some(sid) = f.get("session") else {
        return session_expired();
    };
    let Some(session) = emu.session(sid) else {
        return session_expired();
    };
    let Some(tid) = session.signed_in else {
        return session_expired();
    };
    let action = f.get("action").map(String::as_str);
    if !matches!(action, Some("accept" | "cancel")) {
        return error_page_for(
            aadsts::MISSING_PARAMETER,
            "The request must contain the parameter 'action' (accept or cancel).",
        );
    }
    emu.end_session(sid);
    let tid_s = tid.to_string();
    let mut params: Vec<(&str, &str)> = Vec::new();
    let code;
    let session_state;
    if action == Some("cancel") {
        match session.flow {
            // The legacy endpoint's documented denial (v2-oauth2-client-creds-grant-flow.md).
            ConsentFlow::AdminConsentV1 => {
                params.push(("error", "permission_denied"));
                params.push(("error_description", "The admin canceled the request"));
            }
            ConsentFlow::Authorize | ConsentFlow::AdminConsentV2 => {
                params.push(("error", "access_denied"));
                params.push(("error_subcode", "cancel"));
                params.push((
                    "error_description",
                    "AADSTS65004: User declined to consent to access the app.",
                ));
            }
        }
        if let Some(s) = &session.state {
            params.push(("state", s));
        }
        return redirect_to(&session.redirect_uri, &params);
    }
    if let Err(e) = emu.grant_consent(tid, session.app, None) {
        return error_page_for(aadsts::APP_NOT_MULTI_TENANT, &e.to_string());
    }
    match session.flow {
        ConsentFlow::Authorize => {
            code = crypto::random_token::<32>();
            session_state = Uuid::new_v4().to_string();
            params.push(("code", &code));
            params.push(("admin_consent", "True"));
            params.push(("tenant", &tid_s));
            params.push(("session_state", &session_state));
        }
        ConsentFlow::AdminConsentV1 => {
            params.push(("admin_consent", "True"));
            params.push(("tenant", &tid_s));
        }
        ConsentFlow::AdminConsentV2 => {
            params.push(("admin_consent", "True"));
            params.push(("tenant", &tid_s));
            params.push((
                "scope",
                session
                    .scope
                    .as_deref()
                    .unwrap_or("https://api.securitycenter.microsoft.com/.default"),
            ));
        }
    }
    if let Some(s) = &session.state {
        params.push(("state", s));
    }
    redirect_to(&session.redirect_uri, &params)
}

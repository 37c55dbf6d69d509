//! The `application` resource in Graph's JSON (`samples-graph/application_create_response.json`,
//! `application_create_with_password_response.json`, `application_addPassword_response.json`):
//! request bodies read into directory changes, and apps, passwords and certificates
//! written back. Properties the emulator does not keep are accepted only empty, so a
//! client never believes something was set that was not.

use super::objects::{bad_request, datetime, parse_datetime, string_prop};
use crate::crypto;
use crate::directory::registration::{AppChanges, KeyChange, NewPassword};
use crate::directory::{App, Certificate, Secret};
use crate::request::error::truncate;
use crate::request::graph_error::GraphError;
use mdep_model::permissions::{self, Api};
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// `signInAudience` of a multi-tenant app (what the partner flow needs).
pub const MULTIPLE_ORGS: &str = "AzureADMultipleOrgs";
/// `signInAudience` of a single-tenant app (Graph's default).
pub const MY_ORG: &str = "AzureADMyOrg";

/// Properties of the application resource the emulator does not keep: accepted when
/// empty (null, false, "", [] or an object of those), refused otherwise.
const NOT_KEPT: &[&str] = &[
    "deletedDateTime",
    "isFallbackPublicClient",
    "applicationTemplateId",
    "identifierUris",
    "isDeviceOnlyAuthSupported",
    "groupMembershipClaims",
    "optionalClaims",
    "addIns",
    "samlMetadataUrl",
    "tags",
    "tokenEncryptionKeyId",
    "api",
    "appRoles",
    "publicClient",
    "spa",
    "info",
    "parentalControlSettings",
    "description",
    "notes",
    "disabledByMicrosoftStatus",
];

/// Read-only properties: refused in a body unless null.
const READ_ONLY: &[&str] = &["id", "appId", "createdDateTime", "publisherDomain"];

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.values().all(is_empty),
        _ => false,
    }
}

/// An application body read: the display name, the changes, and (on create) the
/// passwords to add.
#[derive(Debug, Default)]
pub struct AppBody {
    /// `displayName`.
    pub name: Option<String>,
    /// Everything else that changes.
    pub changes: AppChanges,
    /// Inline `passwordCredentials` (create only).
    pub passwords: Vec<NewPassword>,
}

/// Reads a create (`POST /applications`) or update (`PATCH`) body.
pub fn read_app(body: &Map<String, Value>, create: bool) -> Result<AppBody, GraphError> {
    let mut out = AppBody::default();
    for (k, v) in body {
        match k.as_str() {
            _ if k.starts_with('@') => {}
            "displayName" => out.name = Some(string_prop(body, k, "Application")?),
            "signInAudience" => {
                out.changes.multi_tenant = Some(match v.as_str() {
                    Some(MULTIPLE_ORGS) => true,
                    Some(MY_ORG) => false,
                    _ => {
                        return Err(bad_request(format!(
                            "Invalid value specified for property 'signInAudience' of resource 'Application': '{}'. The emulator has work and school accounts only: use {MY_ORG} or {MULTIPLE_ORGS}.",
                            truncate(&v.to_string())
                        )));
                    }
                });
            }
            "web" => out.changes.redirect_uris = read_web(v)?,
            "requiredResourceAccess" => out.changes.permissions = Some(read_access(v)?),
            "keyCredentials" => out.changes.certificates = Some(read_keys(v)?),
            "passwordCredentials" if create => {
                let list = v.as_array().ok_or_else(|| {
                    bad_request("Property 'passwordCredentials' must be a collection.")
                })?;
                for p in list {
                    out.passwords.push(read_password(p)?);
                }
            }
            "passwordCredentials" => {
                if !is_empty(v) {
                    return Err(bad_request(
                        "Updating passwordCredentials with PATCH is not supported: use POST /applications/{id}/addPassword and removePassword.",
                    ));
                }
            }
            _ if READ_ONLY.contains(&k.as_str()) => {
                if !v.is_null() {
                    return Err(bad_request(format!("Property '{k}' is read-only.")));
                }
            }
            _ if NOT_KEPT.contains(&k.as_str()) => {
                if !is_empty(v) {
                    return Err(bad_request(format!(
                        "Property '{k}' is not kept by the emulator: send it empty or leave it out (it keeps displayName, signInAudience, web.redirectUris, requiredResourceAccess, keyCredentials and passwords)."
                    )));
                }
            }
            _ => {
                return Err(bad_request(format!(
                    "Invalid property '{}': it does not exist on type 'microsoft.graph.application'.",
                    truncate(k)
                )));
            }
        }
    }
    if create && out.name.is_none() {
        return Err(bad_request(
            "Invalid value specified for property 'displayName' of resource 'Application'.",
        ));
    }
    Ok(out)
}

fn read_web(v: &Value) -> Result<Option<Vec<String>>, GraphError> {
    let Some(o) = v.as_object() else {
        return if v.is_null() {
            Ok(None)
        } else {
            Err(bad_request("Property 'web' must be an object."))
        };
    };
    let mut uris = None;
    for (k, v) in o {
        match k.as_str() {
            _ if k.starts_with('@') => {}
            "redirectUris" => {
                let list = v
                    .as_array()
                    .filter(|a| a.iter().all(Value::is_string))
                    .ok_or_else(|| {
                        bad_request("Property 'web.redirectUris' must be a collection of strings.")
                    })?;
                uris = Some(
                    list.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect(),
                );
            }
            _ if is_empty(v) => {}
            _ => {
                return Err(bad_request(format!(
                    "Property 'web.{}' is not kept by the emulator: send it empty or leave it out.",
                    truncate(k)
                )));
            }
        }
    }
    Ok(uris)
}

/// `requiredResourceAccess` into role values: application permissions (`Role`) of
/// WindowsDefenderATP and Microsoft Graph, by their app-role ids.
fn read_access(v: &Value) -> Result<Vec<String>, GraphError> {
    let list = v
        .as_array()
        .ok_or_else(|| bad_request("Property 'requiredResourceAccess' must be a collection."))?;
    // application-update: "No more than 50 resource services (APIs) can be configured",
    // 400 permissions in all (`graph-security.md` §5).
    if list.len() > 50 {
        return Err(bad_request(
            "No more than 50 resource services (APIs) can be configured.",
        ));
    }
    let mut perms = Vec::new();
    for entry in list {
        let resource = entry
            .get("resourceAppId")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                bad_request("Each requiredResourceAccess entry needs 'resourceAppId'.")
            })?;
        let api = [Api::Mde, Api::Graph]
            .into_iter()
            .find(|a| a.app_id().eq_ignore_ascii_case(resource))
            .ok_or_else(|| {
                bad_request(format!(
                    "Resource application '{}' is not one the emulator knows: it serves WindowsDefenderATP ({}) and Microsoft Graph ({}).",
                    truncate(resource),
                    permissions::WINDOWS_DEFENDER_ATP_APP_ID,
                    permissions::GRAPH_APP_ID
                ))
            })?;
        let access = entry
            .get("resourceAccess")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                bad_request(
                    "Each requiredResourceAccess entry needs a 'resourceAccess' collection.",
                )
            })?;
        for a in access {
            let id = a.get("id").and_then(Value::as_str).unwrap_or("");
            let kind = a.get("type").and_then(Value::as_str).unwrap_or("");
            if kind != "Role" {
                return Err(bad_request(format!(
                    "resourceAccess type '{}' of {id} is not served: the emulator has application permissions only (type 'Role').",
                    truncate(kind)
                )));
            }
            let role = api
                .roles()
                .iter()
                .find(|r| r.id.eq_ignore_ascii_case(id))
                .ok_or_else(|| {
                    bad_request(format!(
                        "'{}' is not an app role id of {} ({}).",
                        truncate(id),
                        api.name(),
                        api.app_id()
                    ))
                })?;
            perms.push(role.value.to_owned());
        }
    }
    if perms.len() > 400 {
        return Err(bad_request(
            "The total number of required permissions must not exceed 400.",
        ));
    }
    Ok(perms)
}

fn read_keys(v: &Value) -> Result<Vec<KeyChange>, GraphError> {
    let list = v
        .as_array()
        .ok_or_else(|| bad_request("Property 'keyCredentials' must be a collection."))?;
    list.iter().map(read_key).collect()
}

/// One `keyCredential`: an X.509 certificate (`AsymmetricX509Cert`, `Verify`) whose
/// `key` is the base64 DER (`graph-security.md` §5: "only provide the public key value"),
/// or one of the app's by `keyId` with no `key`.
pub fn read_key(v: &Value) -> Result<KeyChange, GraphError> {
    let o = v
        .as_object()
        .ok_or_else(|| bad_request("Each keyCredential must be an object."))?;
    let kind = o.get("type").and_then(Value::as_str).unwrap_or("");
    let usage = o.get("usage").and_then(Value::as_str).unwrap_or("");
    if kind != "AsymmetricX509Cert" || usage != "Verify" {
        return Err(bad_request(format!(
            "keyCredential type '{}' with usage '{}' is not served: use type 'AsymmetricX509Cert' and usage 'Verify' with the public certificate.",
            truncate(kind),
            truncate(usage)
        )));
    }
    let key_id = match o.get("keyId") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(
            Uuid::try_parse(s)
                .map_err(|_| bad_request(format!("keyId '{}' is not a GUID.", truncate(s))))?,
        ),
        Some(_) => return Err(bad_request("keyId must be a GUID string.")),
    };
    match o.get("key") {
        None | Some(Value::Null) => key_id.map(KeyChange::Keep).ok_or_else(|| {
            bad_request("A keyCredential needs 'key' (the certificate, base64 DER).")
        }),
        Some(Value::String(b64)) => {
            let der = crypto::b64_any_decode(b64)
                .filter(|d| !d.is_empty())
                .ok_or_else(|| {
                    bad_request("keyCredential 'key' must be the certificate in base64.")
                })?;
            Ok(KeyChange::New {
                der,
                key_id,
                display_name: o
                    .get("displayName")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            })
        }
        Some(_) => Err(bad_request("keyCredential 'key' must be a base64 string.")),
    }
}

/// One `passwordCredential` to add: `displayName`, `startDateTime`, `endDateTime`; Graph
/// makes the value (`secretText` cannot be chosen).
pub fn read_password(v: &Value) -> Result<NewPassword, GraphError> {
    let Some(o) = v.as_object() else {
        return if v.is_null() {
            Ok(NewPassword::default())
        } else {
            Err(bad_request("passwordCredential must be an object."))
        };
    };
    if o.get("secretText").is_some_and(|s| !s.is_null()) {
        return Err(bad_request(
            "secretText cannot be set: Graph generates the password and returns it once.",
        ));
    }
    Ok(NewPassword {
        display_name: o
            .get("displayName")
            .and_then(Value::as_str)
            .map(str::to_owned),
        start: o
            .get("startDateTime")
            .map(|v| parse_datetime("startDateTime", v))
            .transpose()?
            .flatten(),
        end: o
            .get("endDateTime")
            .map(|v| parse_datetime("endDateTime", v))
            .transpose()?
            .flatten(),
    })
}

/// A password credential; `secret` only right after it was made.
pub fn password_json(s: &Secret, secret: Option<&str>) -> Value {
    json!({
        "customKeyIdentifier": null,
        "displayName": s.display_name,
        "endDateTime": s.expires.map(datetime),
        "hint": s.hint,
        "keyId": s.key_id.to_string(),
        "secretText": secret,
        "startDateTime": s.start.map(datetime),
    })
}

/// A certificate credential (the key itself is not returned on reads).
pub fn key_json(c: &Certificate) -> Value {
    json!({
        "customKeyIdentifier": c.thumbprint_sha1,
        "displayName": c.display_name.clone().unwrap_or_else(|| c.subject.clone()),
        "endDateTime": datetime(c.not_after),
        "key": null,
        "keyId": c.key_id.to_string(),
        "startDateTime": c.not_before.map(datetime),
        "type": "AsymmetricX509Cert",
        "usage": "Verify",
    })
}

/// `requiredResourceAccess` from an app's role values, WindowsDefenderATP's first.
pub fn access_json(perms: &[String]) -> Value {
    let mut out = Vec::new();
    for api in [Api::Mde, Api::Graph] {
        let access: Vec<Value> = perms
            .iter()
            .filter_map(|p| api.role(p))
            .map(|r| json!({"id": r.id, "type": "Role"}))
            .collect();
        if !access.is_empty() {
            out.push(json!({"resourceAppId": api.app_id(), "resourceAccess": access}));
        }
    }
    Value::Array(out)
}

/// An application, with the values of passwords just made (`fresh`).
pub fn app_json(a: &App, publisher_domain: &str, fresh: &[(Secret, String)]) -> Value {
    let passwords: Vec<Value> = a
        .secrets
        .iter()
        .map(|s| {
            let value = fresh
                .iter()
                .find(|(f, _)| f.key_id == s.key_id)
                .map(|(_, v)| v.as_str());
            password_json(s, value)
        })
        .collect();
    json!({
        "id": a.object_id().to_string(),
        "deletedDateTime": null,
        "isFallbackPublicClient": null,
        "appId": a.client_id.to_string(),
        "applicationTemplateId": null,
        "identifierUris": [],
        "createdDateTime": datetime(a.created),
        "description": null,
        "disabledByMicrosoftStatus": null,
        "displayName": a.name,
        "isDeviceOnlyAuthSupported": null,
        "groupMembershipClaims": null,
        "optionalClaims": null,
        "addIns": [],
        "publisherDomain": publisher_domain,
        "samlMetadataUrl": null,
        "signInAudience": if a.multi_tenant { MULTIPLE_ORGS } else { MY_ORG },
        "tags": [],
        "tokenEncryptionKeyId": null,
        "api": {
            "requestedAccessTokenVersion": null,
            "acceptMappedClaims": null,
            "knownClientApplications": [],
            "oauth2PermissionScopes": [],
            "preAuthorizedApplications": []
        },
        "appRoles": [],
        "publicClient": {"redirectUris": []},
        "info": {
            "termsOfServiceUrl": null,
            "supportUrl": null,
            "privacyStatementUrl": null,
            "marketingUrl": null,
            "logoUrl": null
        },
        "keyCredentials": a.certificates.iter().map(key_json).collect::<Vec<_>>(),
        "parentalControlSettings": {"countriesBlockedForMinors": [], "legalAgeGroupRule": "Allow"},
        "passwordCredentials": passwords,
        "requiredResourceAccess": access_json(&a.permissions),
        "web": {
            "redirectUris": a.redirect_uris,
            "homePageUrl": null,
            "logoutUrl": null,
            "implicitGrantSettings": {
                "enableIdTokenIssuance": false,
                "enableAccessTokenIssuance": false
            }
        }
    })
}

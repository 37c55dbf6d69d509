//! Microsoft Graph's application API (`graph-security.md` §5), in the partner's home
//! tenant: the app registration (`/applications`), its passwords, its service principal
//! and the app role assignments that grant its permissions there.

use super::client::GraphClient;
use crate::error::ApiError;
use crate::tenant::Tenant;
use crate::transport::url::{path_segment, query_value};
use mdep_auth::Secret;
use reqwest::Method;
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

/// `signInAudience` of a multi-tenant app: what the partner flow needs.
pub const MULTIPLE_ORGS: &str = "AzureADMultipleOrgs";

/// An app registration (the fields mdep reads of Graph's `application`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    /// Object id.
    pub id: String,
    /// Application (client) id.
    pub app_id: String,
    /// Display name.
    pub display_name: String,
    /// Who may sign in (`AzureADMultipleOrgs` for a partner app).
    #[serde(default)]
    pub sign_in_audience: Option<String>,
    /// Passwords (values are never read back).
    #[serde(default)]
    pub password_credentials: Vec<PasswordCredential>,
    /// Certificates.
    #[serde(default)]
    pub key_credentials: Vec<KeyCredential>,
    /// Required permissions by resource.
    #[serde(default)]
    pub required_resource_access: Vec<RequiredResourceAccess>,
    /// The Web platform.
    #[serde(default)]
    pub web: Option<Web>,
}

impl Application {
    /// The app-role ids required on `resource_app_id`.
    pub fn role_ids(&self, resource_app_id: &str) -> Vec<String> {
        self.required_resource_access
            .iter()
            .filter(|r| r.resource_app_id.eq_ignore_ascii_case(resource_app_id))
            .flat_map(|r| r.resource_access.iter())
            .filter(|a| a.kind == "Role")
            .map(|a| a.id.to_ascii_lowercase())
            .collect()
    }

    /// Every resource the app lists, with the app-role ids it requires there (as
    /// [`required_access`] takes them back).
    pub fn role_access(&self) -> Vec<(String, Vec<String>)> {
        self.required_resource_access
            .iter()
            .map(|r| {
                let ids = r.resource_access.iter().filter(|a| a.kind == "Role");
                (
                    r.resource_app_id.clone(),
                    ids.map(|a| a.id.clone()).collect(),
                )
            })
            .collect()
    }

    /// Registered redirect URIs.
    pub fn redirect_uris(&self) -> &[String] {
        self.web.as_ref().map_or(&[], |w| &w.redirect_uris)
    }
}

/// The Web platform of an app.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Web {
    /// Redirect URIs.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
}

/// The permissions required on one resource.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequiredResourceAccess {
    /// The resource's app id.
    pub resource_app_id: String,
    /// Role or scope ids.
    #[serde(default)]
    pub resource_access: Vec<ResourceAccess>,
}

/// One required permission.
#[derive(Debug, Clone, Deserialize)]
pub struct ResourceAccess {
    /// App-role (or scope) id.
    pub id: String,
    /// `Role` (application) or `Scope` (delegated).
    #[serde(rename = "type")]
    pub kind: String,
}

fn secret_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(Secret::new))
}

/// A password credential; `secret_text` only in the answer that made it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordCredential {
    /// Its id.
    pub key_id: String,
    /// Description.
    #[serde(default)]
    pub display_name: Option<String>,
    /// First characters of the value.
    #[serde(default)]
    pub hint: Option<String>,
    /// The value (never printed).
    #[serde(default, deserialize_with = "secret_text")]
    pub secret_text: Option<Secret>,
    /// Start of validity.
    #[serde(default)]
    pub start_date_time: Option<String>,
    /// End of validity.
    #[serde(default)]
    pub end_date_time: Option<String>,
}

/// A certificate credential.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyCredential {
    /// Its id.
    pub key_id: String,
    /// The SHA-1 thumbprint, as the portal shows it.
    #[serde(default)]
    pub custom_key_identifier: Option<String>,
    /// Description.
    #[serde(default)]
    pub display_name: Option<String>,
    /// End of validity.
    #[serde(default)]
    pub end_date_time: Option<String>,
}

/// A service principal (the fields mdep reads).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    /// Object id.
    pub id: String,
    /// The app it stands for.
    pub app_id: String,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The application roles it defines (a resource's).
    #[serde(default)]
    pub app_roles: Vec<AppRoleDefinition>,
}

/// An application role a resource defines.
#[derive(Debug, Clone, Deserialize)]
pub struct AppRoleDefinition {
    /// Its id.
    pub id: String,
    /// Its value (what a token's `roles` carries).
    #[serde(default)]
    pub value: Option<String>,
}

/// An app role granted to a principal on a resource.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRoleAssignment {
    /// Its id.
    pub id: String,
    /// The role.
    pub app_role_id: String,
    /// Who holds it.
    pub principal_id: String,
    /// On which resource.
    pub resource_id: String,
}

#[derive(Deserialize)]
struct List<T> {
    value: Vec<T>,
}

/// What a new app is registered with (`POST /applications`).
#[derive(Debug, Clone, Default)]
pub struct NewApplication {
    /// Display name.
    pub display_name: String,
    /// Web redirect URIs.
    pub redirect_uris: Vec<String>,
    /// `(resource app id, app-role ids)` of the application permissions it needs.
    pub roles: Vec<(String, Vec<String>)>,
    /// Certificates (base64 DER) to register with it.
    pub certificates: Vec<String>,
}

/// The `requiredResourceAccess` body for `(resource app id, role ids)` pairs.
pub fn required_access(roles: &[(String, Vec<String>)]) -> Value {
    Value::Array(
        roles
            .iter()
            .filter(|(_, ids)| !ids.is_empty())
            .map(|(resource, ids)| {
                json!({
                    "resourceAppId": resource,
                    "resourceAccess": ids.iter().map(|id| json!({"id": id, "type": "Role"})).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

/// A `keyCredential` for a certificate (base64 DER), as `PATCH` takes it.
pub fn key_credential(der_b64: &str) -> Value {
    json!({"type": "AsymmetricX509Cert", "usage": "Verify", "key": der_b64})
}

fn eq_filter(property: &str, value: &str) -> String {
    format!(
        "$filter={}",
        query_value(&format!("{property} eq '{}'", value.replace('\'', "''")))
    )
}

impl GraphClient {
    fn dir(&self, rest: &str) -> String {
        format!("/{}/{rest}", self.version())
    }

    fn app_path(&self, id: &str) -> String {
        self.dir(&format!("applications/{}", path_segment(id)))
    }

    /// `GET /applications?$filter=displayName eq '…'`: the tenant's apps of that name.
    pub async fn applications_named(
        &self,
        t: &Tenant,
        name: &str,
    ) -> Result<Vec<Application>, ApiError> {
        let path = format!(
            "{}?{}",
            self.dir("applications"),
            eq_filter("displayName", name)
        );
        Ok(self
            .client()
            .get::<List<Application>>(t, &path)
            .await?
            .value)
    }

    /// `GET /applications(appId='…')`.
    pub async fn application_by_app_id(
        &self,
        t: &Tenant,
        app_id: &str,
    ) -> Result<Application, ApiError> {
        let path = self.dir(&format!("applications(appId='{}')", path_segment(app_id)));
        self.client().get(t, &path).await
    }

    /// `POST /applications`: a multi-tenant app with the permissions and certificates of
    /// `new`.
    pub async fn create_application(
        &self,
        t: &Tenant,
        new: &NewApplication,
    ) -> Result<Application, ApiError> {
        let mut body = json!({
            "displayName": new.display_name,
            "signInAudience": MULTIPLE_ORGS,
            "web": {"redirectUris": new.redirect_uris},
            "requiredResourceAccess": required_access(&new.roles),
        });
        if !new.certificates.is_empty() {
            body["keyCredentials"] =
                Value::Array(new.certificates.iter().map(|c| key_credential(c)).collect());
        }
        self.client()
            .send_json(t, Method::POST, &self.dir("applications"), &body)
            .await
    }

    /// `PATCH /applications/{id}` with `changes` (Graph answers 204).
    pub async fn update_application(
        &self,
        t: &Tenant,
        id: &str,
        changes: &Value,
    ) -> Result<(), ApiError> {
        self.client()
            .raw(t, Method::PATCH, &self.app_path(id), Some(changes))
            .await
            .map(drop)
    }

    /// `POST /applications/{id}/addPassword`: a new password valid until `end` (RFC 3339);
    /// its value is in `secret_text`, the only time Graph gives it.
    pub async fn add_password(
        &self,
        t: &Tenant,
        id: &str,
        display_name: &str,
        end: &str,
    ) -> Result<PasswordCredential, ApiError> {
        let body = json!({"passwordCredential": {"displayName": display_name, "endDateTime": end}});
        let path = format!("{}/addPassword", self.app_path(id));
        self.client().send_json(t, Method::POST, &path, &body).await
    }

    /// `POST /applications/{id}/removePassword`.
    pub async fn remove_password(
        &self,
        t: &Tenant,
        id: &str,
        key_id: &str,
    ) -> Result<(), ApiError> {
        let path = format!("{}/removePassword", self.app_path(id));
        self.client()
            .raw(t, Method::POST, &path, Some(&json!({"keyId": key_id})))
            .await
            .map(drop)
    }

    /// `GET /servicePrincipals?$filter=appId eq '…'`: the app's service principal in the
    /// tenant, if it has one.
    pub async fn service_principal(
        &self,
        t: &Tenant,
        app_id: &str,
    ) -> Result<Option<ServicePrincipal>, ApiError> {
        let path = format!(
            "{}?{}",
            self.dir("servicePrincipals"),
            eq_filter("appId", app_id)
        );
        let list: List<ServicePrincipal> = self.client().get(t, &path).await?;
        Ok(list.value.into_iter().next())
    }

    /// `POST /servicePrincipals {appId}`.
    pub async fn create_service_principal(
        &self,
        t: &Tenant,
        app_id: &str,
    ) -> Result<ServicePrincipal, ApiError> {
        self.client()
            .send_json(
                t,
                Method::POST,
                &self.dir("servicePrincipals"),
                &json!({"appId": app_id}),
            )
            .await
    }

    fn assigned_path(&self, resource: &str) -> String {
        self.dir(&format!(
            "servicePrincipals/{}/appRoleAssignedTo",
            path_segment(resource)
        ))
    }

    /// `GET /servicePrincipals/{resource}/appRoleAssignedTo`.
    pub async fn role_assignments(
        &self,
        t: &Tenant,
        resource: &str,
    ) -> Result<Vec<AppRoleAssignment>, ApiError> {
        let list: List<AppRoleAssignment> =
            self.client().get(t, &self.assigned_path(resource)).await?;
        Ok(list.value)
    }

    /// `POST /servicePrincipals/{resource}/appRoleAssignedTo`: grants `role` to `principal`
    /// (the portal's "Grant admin consent", one role at a time).
    pub async fn assign_role(
        &self,
        t: &Tenant,
        resource: &str,
        principal: &str,
        role: &str,
    ) -> Result<AppRoleAssignment, ApiError> {
        let body = json!({"principalId": principal, "resourceId": resource, "appRoleId": role});
        self.client()
            .send_json(t, Method::POST, &self.assigned_path(resource), &body)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_quote_names_as_odata_literals() {
        assert_eq!(
            eq_filter("displayName", "O'Neil SOC"),
            "$filter=displayName%20eq%20'O''Neil%20SOC'"
        );
    }

    #[test]
    fn required_access_lists_roles_per_resource_and_skips_empty_ones() {
        let v = required_access(&[
            (
                "fc780465-2017-40d4-a0c5-307022471b92".into(),
                vec!["a".into()],
            ),
            ("00000003-0000-0000-c000-000000000000".into(), vec![]),
        ]);
        assert_eq!(
            v,
            json!([{"resourceAppId": "fc780465-2017-40d4-a0c5-307022471b92",
                    "resourceAccess": [{"id": "a", "type": "Role"}]}])
        );
    }

    #[test]
    fn a_new_password_keeps_its_value_secret_in_debug() {
        let p: PasswordCredential = serde_json::from_value(json!({
            "keyId": "k", "secretText": "s3cr3t-value", "hint": "s3c"
        }))
        .expect("parse");
        assert_eq!(
            p.secret_text.as_ref().map(Secret::expose),
            Some("s3cr3t-value")
        );
        assert!(!format!("{p:?}").contains("s3cr3t-value"));
    }
}

//! Response calls that are not machine actions (`mde-api.md` §4.3, §4.5, §4.9): starting
//! an automated investigation, raising an alert from an advanced hunting event, and the
//! link to a collected investigation package; the live response library.
//!
//! Both create something on every arrival (a second investigation, or a second event
//! merged into the alert), so a lost answer is not resent: it ends in
//! [`ApiError::Uncertain`], and the caller looks (`investigations`, `alerts`) before
//! trying again. A library upload whose answer is lost is not sent again either: the
//! library is read, and the file is the answer when it holds these very bytes.

use crate::entity::{Alert, Collection, Investigation, LibraryFile};
use crate::error::ApiError;
use crate::tenant::Tenant;
use crate::transport::client::Client;
use crate::transport::form::Multipart;
use crate::transport::url::path_segment;
use reqwest::Method;
use serde_json::json;

/// What `POST /api/alerts/CreateAlertByReference` takes: every field is required.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertByReference {
    /// The event's `Timestamp`, as advanced hunting returned it.
    pub event_time: String,
    /// The event's `ReportId`.
    pub report_id: String,
    /// The event's `DeviceId`.
    pub machine_id: String,
    /// `Low`, `Medium` or `High`.
    pub severity: String,
    /// The alert's title; an open alert with the same title on the device takes the event.
    pub title: String,
    /// The alert's description.
    pub description: String,
    /// What to do about it.
    pub recommended_action: String,
    /// `General`, `CommandAndControl`, `Collection`, … (`mde-api.md` §4.3).
    pub category: String,
}

/// What `POST /api/libraryfiles` uploads (`upload-library.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryUpload {
    /// The file name in the library, as `RunScript` and `PutFile` will name it.
    pub file_name: String,
    /// The content.
    pub bytes: Vec<u8>,
    /// `Description`.
    pub description: String,
    /// `HasParameters`: whether the script takes parameters.
    pub has_parameters: bool,
    /// `ParametersDescription`.
    pub parameters_description: Option<String>,
    /// `OverrideIfExists`: replace a file of the same name.
    pub override_if_exists: bool,
}

/// The largest file the live response library takes (`upload-library.md`: 20 MB).
pub const LIBRARY_MAX_BYTES: usize = 20 * 1024 * 1024;

impl LibraryUpload {
    /// The form Microsoft documents: `file`, `Description`, `ParametersDescription`,
    /// `HasParameters`, `OverrideIfExists`.
    pub fn form(&self) -> Multipart {
        let mut f = Multipart::new()
            .file("file", &self.file_name, self.bytes.clone())
            .text("Description", &self.description);
        if let Some(p) = &self.parameters_description {
            f = f.text("ParametersDescription", p);
        }
        f.text("HasParameters", bool_text(self.has_parameters))
            .text("OverrideIfExists", bool_text(self.override_if_exists))
    }

    /// The SHA-256 of the content, lowercase hex, as the library lists it.
    fn sha256(&self) -> String {
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &self.bytes);
        d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }
}

fn bool_text(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

impl Client {
    /// `POST /api/machines/{id}/startInvestigation` with `{"Comment"}`: the new automated
    /// investigation (Alert.ReadWrite.All; 50 calls an hour). The device is named by its
    /// id or its computer name.
    pub async fn start_investigation(
        &self,
        t: &Tenant,
        machine: &str,
        comment: &str,
    ) -> Result<Investigation, ApiError> {
        let id = self.machine_id(t, machine).await?;
        let path = format!("/api/machines/{}/startInvestigation", path_segment(&id));
        self.send_json(t, Method::POST, &path, &json!({"Comment": comment}))
            .await
    }

    /// `POST /api/alerts/CreateAlertByReference`: the alert raised from an advanced
    /// hunting event, or the open one it was merged into (Alert.ReadWrite.All; 15 calls
    /// a minute). An event that does not exist is [`ApiError`] with code
    /// `ResourceNotFound`.
    pub async fn create_alert_by_reference(
        &self,
        t: &Tenant,
        alert: &AlertByReference,
    ) -> Result<Alert, ApiError> {
        let body = serde_json::to_value(alert).map_err(|e| ApiError::Invalid(e.to_string()))?;
        self.send_json(t, Method::POST, "/api/alerts/CreateAlertByReference", &body)
            .await
    }

    /// `GET /api/machineactions/{id}/getPackageUri`: a short-lived link to the
    /// investigation package a `CollectInvestigationPackage` action collected
    /// (`ResourceNotFound` until the action has succeeded; 2 calls a minute, 120 an hour).
    pub async fn package_uri(&self, t: &Tenant, action_id: &str) -> Result<String, ApiError> {
        let path = format!(
            "/api/machineactions/{}/getPackageUri",
            path_segment(action_id)
        );
        let v: serde_json::Value = self.get(t, &path).await?;
        v["value"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ApiError::Invalid(format!("{path}: the answer has no link")))
    }

    /// `GET /api/libraryfiles`: the live response library (Library.Manage).
    pub async fn library_files(&self, t: &Tenant) -> Result<Vec<LibraryFile>, ApiError> {
        let c: Collection<LibraryFile> = self.get(t, "/api/libraryfiles").await?;
        Ok(c.value)
    }

    /// `POST /api/libraryfiles` (Library.Manage): the file as the library holds it. A file
    /// over 20 MB is refused before it is sent ([`ApiError::Invalid`]); a name already
    /// there is refused (`BadRequest`) unless `override_if_exists`. When the
    /// answer is lost, the library is read: a file of that name with this content is the
    /// answer; otherwise [`ApiError::Uncertain`], and the upload is not sent again.
    pub async fn upload_library_file(
        &self,
        t: &Tenant,
        file: &LibraryUpload,
    ) -> Result<LibraryFile, ApiError> {
        if file.bytes.len() > LIBRARY_MAX_BYTES {
            return Err(ApiError::Invalid(format!(
                "{} is {} bytes: the live response library takes files up to 20 MB",
                file.file_name,
                file.bytes.len()
            )));
        }
        match self.send_form(t, "/api/libraryfiles", &file.form()).await {
            Err(ApiError::Uncertain { tenant, message }) => {
                let sha = file.sha256();
                let found = self.library_files(t).await?.into_iter().find(|f| {
                    f.file_name.eq_ignore_ascii_case(&file.file_name)
                        && f.sha256
                            .as_deref()
                            .is_some_and(|s| s.eq_ignore_ascii_case(&sha))
                });
                match found {
                    Some(f) => {
                        tracing::info!(tenant = %t.name, file = %f.file_name, "the answer was lost but the library holds the file; not sending it again");
                        Ok(f)
                    }
                    None => Err(ApiError::Uncertain { tenant, message }),
                }
            }
            done => done,
        }
    }

    /// `DELETE /api/libraryfiles/{fileName}` (Library.Manage); a name not in the library
    /// is [`ApiError`] with code `ResourceNotFound`.
    pub async fn delete_library_file(&self, t: &Tenant, file_name: &str) -> Result<(), ApiError> {
        let path = format!("/api/libraryfiles/{}", path_segment(file_name));
        self.raw(t, Method::DELETE, &path, None).await.map(|_| ())
    }
}

//! The MDE calls that change something (`mde-api.md` §4.3–4.6): alert updates one by
//! one or in a batch, device tags, cancelling a machine action, and custom indicators.

use crate::entity::{
    Alert, AlertUpdate, Collection, ImportResult, Indicator, Machine, MachineAction,
};
use crate::error::ApiError;
use crate::tenant::Tenant;
use crate::transport::client::Client;
use crate::transport::url::path_segment;
use reqwest::Method;
use serde_json::{Value, json};

/// Indicators per `POST /api/indicators/import` (MDE's limit).
const IMPORT_BATCH: usize = 500;

/// An alert update as the JSON body MDE takes.
fn update_body(update: &AlertUpdate) -> Result<Value, ApiError> {
    serde_json::to_value(update).map_err(|e| ApiError::Invalid(e.to_string()))
}

impl Client {
    /// `PATCH /api/alerts/{id}`.
    pub async fn update_alert(
        &self,
        t: &Tenant,
        id: &str,
        update: &AlertUpdate,
    ) -> Result<Alert, ApiError> {
        let path = format!("/api/alerts/{}", path_segment(id));
        self.send_json(t, Method::PATCH, &path, &update_body(update)?)
            .await
    }

    /// `POST /api/alerts/batchUpdate` (10 calls a minute).
    pub async fn batch_update_alerts(
        &self,
        t: &Tenant,
        ids: &[String],
        update: &AlertUpdate,
    ) -> Result<(), ApiError> {
        let mut body = update_body(update)?;
        if let Some(o) = body.as_object_mut() {
            o.insert("alertIds".into(), json!(ids));
        }
        self.raw(t, Method::POST, "/api/alerts/batchUpdate", Some(&body))
            .await
            .map(|_| ())
    }

    /// `POST /api/machines/{id}/tags` (`Add` or `Remove`); the device as it is after.
    pub async fn tag_machine(
        &self,
        t: &Tenant,
        id: &str,
        tag: &str,
        add: bool,
    ) -> Result<Machine, ApiError> {
        let body = json!({"Value": tag, "Action": if add { "Add" } else { "Remove" }});
        let path = format!("/api/machines/{}/tags", path_segment(id));
        self.send_json(t, Method::POST, &path, &body).await
    }

    /// `POST /api/machineactions/{id}/cancel`.
    pub async fn cancel_action(
        &self,
        t: &Tenant,
        id: &str,
        comment: &str,
    ) -> Result<MachineAction, ApiError> {
        let path = format!("/api/machineactions/{}/cancel", path_segment(id));
        self.send_json(t, Method::POST, &path, &json!({"Comment": comment}))
            .await
    }

    /// `POST /api/indicators` (submit or update).
    pub async fn submit_indicator(&self, t: &Tenant, body: &Value) -> Result<Indicator, ApiError> {
        self.send_json(t, Method::POST, "/api/indicators", body)
            .await
    }

    /// `POST /api/indicators/import`, in batches of 500 (MDE's limit).
    pub async fn import_indicators(
        &self,
        t: &Tenant,
        indicators: &[Value],
    ) -> Result<Vec<ImportResult>, ApiError> {
        let mut out = Vec::with_capacity(indicators.len());
        for batch in indicators.chunks(IMPORT_BATCH) {
            let body = json!({ "Indicators": batch });
            let page: Collection<ImportResult> = self
                .send_json(t, Method::POST, "/api/indicators/import", &body)
                .await?;
            out.extend(page.value);
        }
        Ok(out)
    }

    /// `DELETE /api/indicators/{id}`.
    pub async fn delete_indicator(&self, t: &Tenant, id: &str) -> Result<(), ApiError> {
        let path = format!("/api/indicators/{}", path_segment(id));
        self.raw(t, Method::DELETE, &path, None).await.map(|_| ())
    }
}

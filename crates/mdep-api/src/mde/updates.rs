//! The MDE calls that change something (`mde-api.md` §4.3–4.6): alert updates one by
//! one or in a batch, device tags, cancelling a machine action, and custom indicators.
//!
//! What happens when an answer is lost (a 5xx, a timeout, a dropped connection after the
//! request was sent) differs per call, so that none is carried out twice:
//! - `POST /api/indicators` and `/api/indicators/import` submit *or update* by
//!   `indicatorValue` (§4.6): sent again, the indicator is the same one.
//! - `PATCH /api/alerts/{id}`: setting a field twice is harmless but a `comment` would be
//!   added twice, so the alert is read first; when it already shows the update, that is
//!   the answer, and the PATCH is sent again only when it does not.
//! - Batch updates, tags and cancelling end in [`ApiError::Uncertain`]: the caller
//!   decides (a batch can hold comments; a second cancel is refused).

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

/// Whether `alert` shows `update`: every field it sets has that value (as MDE echoes
/// them, whatever the case), and its comment is among the alert's comments.
pub(crate) fn shows(alert: &Alert, update: &AlertUpdate) -> bool {
    let same = |want: &Option<String>, have: &Option<String>| {
        want.as_ref()
            .is_none_or(|w| have.as_ref().is_some_and(|h| h.eq_ignore_ascii_case(w)))
    };
    same(&update.status, &alert.status)
        && same(&update.assigned_to, &alert.assigned_to)
        && same(&update.classification, &alert.classification)
        && same(&update.determination, &alert.determination)
        && update.comment.as_ref().is_none_or(|c| {
            alert
                .comments
                .iter()
                .any(|x| x["comment"].as_str() == Some(c))
        })
}

impl Client {
    /// `PATCH /api/alerts/{id}`; when the answer is lost, the alert as it is if it shows
    /// the update, else the update sent again (see the module).
    pub async fn update_alert(
        &self,
        t: &Tenant,
        id: &str,
        update: &AlertUpdate,
    ) -> Result<Alert, ApiError> {
        let path = format!("/api/alerts/{}", path_segment(id));
        let body = update_body(update)?;
        let policy = self.options().retry;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (tenant, message) = match self.send_json(t, Method::PATCH, &path, &body).await {
                Err(ApiError::Uncertain { tenant, message }) => (tenant, message),
                done => return done,
            };
            let now = self.alert(t, id).await?;
            if shows(&now, update) {
                tracing::info!(tenant = %t.name, alert = %now.id, "the answer was lost but the alert shows the update; not sending it again");
                return Ok(now);
            }
            if attempt >= policy.max_attempts {
                return Err(ApiError::Uncertain { tenant, message });
            }
            tracing::info!(tenant = %t.name, %message, "the alert does not show the update; sending it again");
            tokio::time::sleep(policy.backoff(attempt)).await;
        }
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

    /// `POST /api/indicators` (submit or update by `indicatorValue`: sent again when the
    /// answer is lost).
    pub async fn submit_indicator(&self, t: &Tenant, body: &Value) -> Result<Indicator, ApiError> {
        self.send_json_repeatable(t, Method::POST, "/api/indicators", body)
            .await
    }

    /// `POST /api/indicators/import`, in batches of 500 (MDE's limit); each batch submits
    /// or updates, so it is sent again when its answer is lost.
    pub async fn import_indicators(
        &self,
        t: &Tenant,
        indicators: &[Value],
    ) -> Result<Vec<ImportResult>, ApiError> {
        let mut out = Vec::with_capacity(indicators.len());
        for batch in indicators.chunks(IMPORT_BATCH) {
            let body = json!({ "Indicators": batch });
            let page: Collection<ImportResult> = self
                .send_json_repeatable(t, Method::POST, "/api/indicators/import", &body)
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

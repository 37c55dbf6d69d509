//! Response calls that are not machine actions (`mde-api.md` §4.3, §4.5, §4.9): starting
//! an automated investigation and raising an alert from an advanced hunting event.
//!
//! Both create something on every arrival (a second investigation, or a second event
//! merged into the alert), so a lost answer is not resent: it ends in
//! [`ApiError::Uncertain`], and the caller looks (`investigations`, `alerts`) before
//! trying again.

use crate::entity::Investigation;
use crate::error::ApiError;
use crate::tenant::Tenant;
use crate::transport::client::Client;
use crate::transport::url::path_segment;
use reqwest::Method;
use serde_json::json;

impl Client {
    /// `POST /api/machines/{id}/startInvestigation` with `{"Comment"}`: the new automated
    /// investigation (Alert.ReadWrite.All; 50 calls an hour).
    pub async fn start_investigation(
        &self,
        t: &Tenant,
        machine_id: &str,
        comment: &str,
    ) -> Result<Investigation, ApiError> {
        let path = format!(
            "/api/machines/{}/startInvestigation",
            path_segment(machine_id)
        );
        self.send_json(t, Method::POST, &path, &json!({"Comment": comment}))
            .await
    }
}

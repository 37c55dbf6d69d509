//! The rest of the documented calls (`mde-api.md` §4.3–4.10) beyond the ones the
//! commands use most: alert relations, device relations and tags, cancellation,
//! files, IPs, domains, users, investigations, vulnerabilities, software,
//! recommendations and scores.

use crate::actions::path_segment;
use crate::client::{Client, Tenant};
use crate::entity::{
    Alert, Collection, File, Investigation, Machine, MachineAction, Recommendation, Score,
    Software, Stats, User, Vulnerability,
};
use crate::error::ApiError;
use crate::query::Query;
use futures_util::Stream;
use reqwest::Method;
use serde_json::{Value, json};

impl Client {
    /// `GET /api/alerts/{id}/machine`.
    pub async fn alert_machine(&self, t: &Tenant, id: &str) -> Result<Machine, ApiError> {
        self.get(t, &format!("/api/alerts/{}/machine", path_segment(id)))
            .await
    }

    /// `GET /api/alerts/{id}/user`.
    pub async fn alert_user(&self, t: &Tenant, id: &str) -> Result<User, ApiError> {
        self.get(t, &format!("/api/alerts/{}/user", path_segment(id)))
            .await
    }

    /// `GET /api/alerts/{id}/files`.
    pub async fn alert_files(&self, t: &Tenant, id: &str) -> Result<Vec<File>, ApiError> {
        let c: Collection<File> = self
            .get(t, &format!("/api/alerts/{}/files", path_segment(id)))
            .await?;
        Ok(c.value)
    }

    /// `GET /api/alerts/{id}/ips`: `{"id": "<ip>"}` objects.
    pub async fn alert_ips(&self, t: &Tenant, id: &str) -> Result<Vec<Value>, ApiError> {
        let c: Collection<Value> = self
            .get(t, &format!("/api/alerts/{}/ips", path_segment(id)))
            .await?;
        Ok(c.value)
    }

    /// `GET /api/alerts/{id}/domains`: `{"host": "<domain>"}` objects.
    pub async fn alert_domains(&self, t: &Tenant, id: &str) -> Result<Vec<Value>, ApiError> {
        let c: Collection<Value> = self
            .get(t, &format!("/api/alerts/{}/domains", path_segment(id)))
            .await?;
        Ok(c.value)
    }

    /// `POST /api/alerts/batchUpdate` (10 calls a minute).
    pub async fn batch_update_alerts(
        &self,
        t: &Tenant,
        ids: &[String],
        update: &crate::entity::AlertUpdate,
    ) -> Result<(), ApiError> {
        let mut body =
            serde_json::to_value(update).map_err(|e| ApiError::Invalid(e.to_string()))?;
        if let Some(o) = body.as_object_mut() {
            o.insert("alertIds".into(), json!(ids));
        }
        self.raw(t, Method::POST, "/api/alerts/batchUpdate", Some(&body))
            .await
            .map(|_| ())
    }

    /// `GET /api/machines/{id}/alerts`.
    pub async fn machine_alerts(&self, t: &Tenant, id: &str) -> Result<Vec<Alert>, ApiError> {
        let c: Collection<Alert> = self
            .get(t, &format!("/api/machines/{}/alerts", path_segment(id)))
            .await?;
        Ok(c.value)
    }

    /// `GET /api/machines/{id}/logonusers`.
    pub async fn logon_users(&self, t: &Tenant, id: &str) -> Result<Vec<User>, ApiError> {
        let c: Collection<User> = self
            .get(t, &format!("/api/machines/{}/logonusers", path_segment(id)))
            .await?;
        Ok(c.value)
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
        self.send_json(
            t,
            Method::POST,
            &format!("/api/machines/{}/tags", path_segment(id)),
            &body,
        )
        .await
    }

    /// `POST /api/machineactions/{id}/cancel`.
    pub async fn cancel_action(
        &self,
        t: &Tenant,
        id: &str,
        comment: &str,
    ) -> Result<MachineAction, ApiError> {
        self.send_json(
            t,
            Method::POST,
            &format!("/api/machineactions/{}/cancel", path_segment(id)),
            &json!({"Comment": comment}),
        )
        .await
    }

    /// `GET /api/files/{sha1-or-sha256}`.
    pub async fn file(&self, t: &Tenant, hash: &str) -> Result<File, ApiError> {
        self.get(t, &format!("/api/files/{}", path_segment(hash)))
            .await
    }

    /// `GET /api/files/{hash}/stats`.
    pub async fn file_stats(&self, t: &Tenant, hash: &str) -> Result<Stats, ApiError> {
        self.get(t, &format!("/api/files/{}/stats", path_segment(hash)))
            .await
    }

    /// `GET /api/ips/{ip}/stats`.
    pub async fn ip_stats(&self, t: &Tenant, ip: &str) -> Result<Stats, ApiError> {
        self.get(t, &format!("/api/ips/{}/stats", path_segment(ip)))
            .await
    }

    /// `GET /api/domains/{domain}/stats`.
    pub async fn domain_stats(&self, t: &Tenant, domain: &str) -> Result<Stats, ApiError> {
        self.get(t, &format!("/api/domains/{}/stats", path_segment(domain)))
            .await
    }

    /// `GET /api/users/{name}/alerts` (the account name, not the UPN).
    pub async fn user_alerts(&self, t: &Tenant, user: &str) -> Result<Vec<Alert>, ApiError> {
        let c: Collection<Alert> = self
            .get(t, &format!("/api/users/{}/alerts", path_segment(user)))
            .await?;
        Ok(c.value)
    }

    /// `GET /api/investigations`, every page.
    pub fn investigations(
        &self,
        t: &Tenant,
        q: &Query,
    ) -> impl Stream<Item = Result<Investigation, ApiError>> + Send + use<> {
        self.list(t, "/api/investigations", q)
    }

    /// `GET /api/vulnerabilities`, every page (MDE caps its `$top` at 8,000).
    pub fn vulnerabilities(
        &self,
        t: &Tenant,
        q: &Query,
    ) -> impl Stream<Item = Result<Vulnerability, ApiError>> + Send + use<> {
        self.list(t, "/api/vulnerabilities", q)
    }

    /// `GET /api/Software`, every page.
    pub fn software(
        &self,
        t: &Tenant,
        q: &Query,
    ) -> impl Stream<Item = Result<Software, ApiError>> + Send + use<> {
        self.list(t, "/api/Software", q)
    }

    /// `GET /api/recommendations`, every page.
    pub fn recommendations(
        &self,
        t: &Tenant,
        q: &Query,
    ) -> impl Stream<Item = Result<Recommendation, ApiError>> + Send + use<> {
        self.list(t, "/api/recommendations", q)
    }

    /// `GET /api/exposureScore`.
    pub async fn exposure_score(&self, t: &Tenant) -> Result<Score, ApiError> {
        self.get(t, "/api/exposureScore").await
    }

    /// `GET /api/configurationScore`.
    pub async fn configuration_score(&self, t: &Tenant) -> Result<Score, ApiError> {
        self.get(t, "/api/configurationScore").await
    }
}

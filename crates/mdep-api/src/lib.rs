#![doc = include_str!("../README.md")]

pub mod actions;
pub mod calls;
pub mod client;
pub mod entity;
pub mod error;
pub mod fanout;
pub mod graph;
pub mod limit;
pub mod paging;
pub mod query;

pub use actions::{ActionOutcome, ResponseAction};
pub use client::{Client, ClientOptions, Dialect, RetryPolicy, Tenant, user_agent};
pub use error::ApiError;
pub use fanout::{TenantResult, fan_out};
pub use graph::GraphClient;
pub use limit::{Bucket, Limiter, Limits};
pub use query::Query;

use actions::path_segment;
use entity::{
    Alert, AlertUpdate, Collection, HuntingResponse, ImportResult, Indicator, Machine,
    MachineAction,
};
use futures_util::Stream;
use reqwest::Method;
use serde_json::{Value, json};

impl Client {
    /// `GET /api/alerts`, every page.
    pub fn alerts(
        &self,
        t: &Tenant,
        q: &Query,
    ) -> impl Stream<Item = Result<Alert, ApiError>> + Send + use<> {
        self.list(t, "/api/alerts", q)
    }

    /// `GET /api/alerts/{id}`.
    pub async fn alert(&self, t: &Tenant, id: &str) -> Result<Alert, ApiError> {
        self.get(t, &format!("/api/alerts/{}", path_segment(id)))
            .await
    }

    /// `PATCH /api/alerts/{id}`.
    pub async fn update_alert(
        &self,
        t: &Tenant,
        id: &str,
        update: &AlertUpdate,
    ) -> Result<Alert, ApiError> {
        let body = serde_json::to_value(update).map_err(|e| ApiError::Invalid(e.to_string()))?;
        self.send_json(
            t,
            Method::PATCH,
            &format!("/api/alerts/{}", path_segment(id)),
            &body,
        )
        .await
    }

    /// `GET /api/machines`, every page.
    pub fn machines(
        &self,
        t: &Tenant,
        q: &Query,
    ) -> impl Stream<Item = Result<Machine, ApiError>> + Send + use<> {
        self.list(t, "/api/machines", q)
    }

    /// `GET /api/machines/{id}` (id or computer name).
    pub async fn machine(&self, t: &Tenant, id: &str) -> Result<Machine, ApiError> {
        self.get(t, &format!("/api/machines/{}", path_segment(id)))
            .await
    }

    /// `GET /api/machines/findbytag`.
    pub async fn machines_by_tag(
        &self,
        t: &Tenant,
        tag: &str,
        starts_with: bool,
    ) -> Result<Vec<Machine>, ApiError> {
        let url = self.url(
            "/api/machines/findbytag",
            &[
                ("tag".to_owned(), tag.to_owned()),
                ("useStartsWithFilter".to_owned(), starts_with.to_string()),
            ],
        );
        Ok(self.get::<Collection<Machine>>(t, &url).await?.value)
    }

    /// `GET /api/machineactions`, every page.
    pub fn machine_actions(
        &self,
        t: &Tenant,
        q: &Query,
    ) -> impl Stream<Item = Result<MachineAction, ApiError>> + Send + use<> {
        self.list(t, "/api/machineactions", q)
    }

    /// `GET /api/machineactions/{id}`.
    pub async fn machine_action(&self, t: &Tenant, id: &str) -> Result<MachineAction, ApiError> {
        self.get(t, &format!("/api/machineactions/{}", path_segment(id)))
            .await
    }

    /// `GET /api/indicators`, every page.
    pub fn indicators(
        &self,
        t: &Tenant,
        q: &Query,
    ) -> impl Stream<Item = Result<Indicator, ApiError>> + Send + use<> {
        self.list(t, "/api/indicators", q)
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
        for batch in indicators.chunks(500) {
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
        self.raw(
            t,
            Method::DELETE,
            &format!("/api/indicators/{}", path_segment(id)),
            None,
        )
        .await
        .map(|_| ())
    }

    /// `POST /api/advancedqueries/run`, counted against the hunting quota.
    pub async fn hunt(&self, t: &Tenant, query: &str) -> Result<HuntingResponse, ApiError> {
        self.send_json(
            t,
            Method::POST,
            "/api/advancedqueries/run",
            &json!({ "Query": query }),
        )
        .await
    }
}

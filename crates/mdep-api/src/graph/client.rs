//! Microsoft Graph's security API (`graph.microsoft.com/v1.0/security`,
//! `graph-security.md`) for any number of tenants: `runHuntingQuery` (the successor of
//! `/api/advancedqueries/run`), `alerts_v2` and `incidents`, a thin layer over the
//! transport with a Graph token per tenant from the same broker, Graph's quotas, page
//! sizes and error envelope.

use super::entity::{GraphAlert, HuntingResults, Incident};
use crate::error::ApiError;
use crate::query::Query;
use crate::tenant::Tenant;
use crate::transport::client::Client;
use crate::transport::limit::Limits;
use crate::transport::options::{ClientOptions, Dialect};
use crate::transport::url::path_segment;
use futures_util::Stream;
use mdep_auth::TokenBroker;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::sync::Arc;

/// Graph's quotas as the client keeps them per tenant: 150 calls a minute on security
/// alerts and incidents (per app and tenant, `graph-security.md` §4.1) and 45 hunting
/// calls a minute (per tenant, §2.6); no hourly quota is documented.
pub const GRAPH_LIMITS: Limits = Limits {
    per_minute: 150,
    per_hour: 0,
    hunting_per_minute: 45,
    hunting_per_hour: 0,
};

/// Items per `alerts_v2` request (the documented ceiling of the older alerts API,
/// `graph-security.md` §4.1).
pub const ALERTS_PAGE: u64 = 1000;
/// Items per `incidents` request: Graph refuses `$top` above 50.
pub const INCIDENTS_PAGE: u64 = 50;

impl ClientOptions {
    /// Options for Microsoft Graph at `base_url` (the host, without `/v1.0`), with tokens
    /// for `resource`: Graph's quotas and error envelope.
    pub fn graph(base_url: &str, resource: &str) -> Self {
        let mut o = Self::new(base_url);
        o.resource = Some(resource.to_owned());
        o.dialect = Dialect::Graph;
        o.limits = Some(GRAPH_LIMITS);
        o.page_size = ALERTS_PAGE;
        o
    }

    /// Graph options from the configuration file: `graph_base`/`graph_resource` (else the
    /// cloud's Graph host), `[api]`'s User-Agent, retries and Graph limits.
    pub fn graph_from_config(c: &mdep_auth::Config) -> Self {
        let mde = Self::from_config(c);
        let mut o = Self::graph(&c.graph_base(), &c.graph_resource());
        o.user_agent = mde.user_agent;
        o.retry = mde.retry;
        o.limits = Some(Limits {
            per_minute: c
                .api
                .graph_calls_per_minute
                .unwrap_or(GRAPH_LIMITS.per_minute),
            hunting_per_minute: c
                .api
                .graph_hunting_calls_per_minute
                .unwrap_or(GRAPH_LIMITS.hunting_per_minute),
            ..GRAPH_LIMITS
        });
        o
    }
}

/// Microsoft Graph's security API for any number of tenants. Cheap to clone.
#[derive(Clone)]
pub struct GraphClient {
    client: Client,
    version: &'static str,
}

impl GraphClient {
    /// A Graph client; `opts` from [`ClientOptions::graph`] or
    /// [`ClientOptions::graph_from_config`].
    pub fn new(http: reqwest::Client, broker: Arc<TokenBroker>, opts: ClientOptions) -> Self {
        Self {
            client: Client::new(http, broker, opts),
            version: "v1.0",
        }
    }

    /// Calls `/beta` instead of `/v1.0`.
    pub fn beta(mut self) -> Self {
        self.version = "beta";
        self
    }

    /// The underlying client (options, counters).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// `v1.0` or `beta`.
    pub fn version(&self) -> &'static str {
        self.version
    }

    fn path(&self, rest: &str) -> String {
        format!("/{}/security/{rest}", self.version)
    }

    /// The path of one item of `collection` (`alerts_v2`, `incidents`).
    fn item(&self, collection: &str, id: &str) -> String {
        self.path(&format!("{collection}/{}", path_segment(id)))
    }

    /// `PATCH` an item of `collection` with `changes`; the item as it is after.
    async fn patch<T: DeserializeOwned>(
        &self,
        t: &Tenant,
        collection: &str,
        id: &str,
        changes: &Value,
    ) -> Result<T, ApiError> {
        let path = self.item(collection, id);
        self.client
            .send_json(t, Method::PATCH, &path, changes)
            .await
    }

    /// `POST /security/runHuntingQuery` with `Query` and, when given, `Timespan` (ISO 8601:
    /// `P30D`, `start/end`, …). Counted against the hunting quota; retried like a read.
    pub async fn hunt(
        &self,
        t: &Tenant,
        query: &str,
        timespan: Option<&str>,
    ) -> Result<HuntingResults, ApiError> {
        let mut body = json!({ "Query": query });
        if let Some(ts) = timespan {
            body["Timespan"] = json!(ts);
        }
        self.client
            .send_json(t, Method::POST, &self.path("runHuntingQuery"), &body)
            .await
    }

    /// `GET /beta/security/getRunHuntingQuery(query='…',timespan='…')`: the function form
    /// of [`GraphClient::hunt`] for callers that may only GET (`graph-security.md` §2.4,
    /// documented on beta). The same answer, role and quota; the query is an OData string
    /// literal (quotes doubled) and percent-encoded, as the page asks.
    pub async fn hunt_get(
        &self,
        t: &Tenant,
        query: &str,
        timespan: Option<&str>,
    ) -> Result<HuntingResults, ApiError> {
        let mut args = format!("query='{}'", odata_literal(query));
        if let Some(ts) = timespan {
            args.push_str(&format!(",timespan='{}'", odata_literal(ts)));
        }
        let path = format!("/beta/security/getRunHuntingQuery({args})");
        self.client.get(t, &path).await
    }

    /// `GET /security/alerts_v2`, every page.
    pub fn alerts(
        &self,
        t: &Tenant,
        q: &Query,
    ) -> impl Stream<Item = Result<GraphAlert, ApiError>> + Send + use<> {
        self.client
            .list_paged(t, &self.path("alerts_v2"), q, ALERTS_PAGE)
    }

    /// `GET /security/alerts_v2/{id}`.
    pub async fn alert(&self, t: &Tenant, id: &str) -> Result<GraphAlert, ApiError> {
        self.client.get(t, &self.item("alerts_v2", id)).await
    }

    /// `PATCH /security/alerts_v2/{id}` with `status`, `assignedTo`, `classification`,
    /// `determination`.
    pub async fn update_alert(
        &self,
        t: &Tenant,
        id: &str,
        changes: &Value,
    ) -> Result<GraphAlert, ApiError> {
        self.patch(t, "alerts_v2", id, changes).await
    }

    /// `GET /security/incidents` (50 a request), every page; `expand_alerts` adds
    /// `$expand=alerts`.
    pub fn incidents(
        &self,
        t: &Tenant,
        q: &Query,
        expand_alerts: bool,
    ) -> impl Stream<Item = Result<Incident, ApiError>> + Send + use<> {
        let mut q = q.clone();
        if expand_alerts && !q.expand.iter().any(|e| e.eq_ignore_ascii_case("alerts")) {
            q.expand.push("alerts".into());
        }
        self.client
            .list_paged(t, &self.path("incidents"), &q, INCIDENTS_PAGE)
    }

    /// `GET /security/incidents/{id}`, with its alerts when `expand_alerts`.
    pub async fn incident(
        &self,
        t: &Tenant,
        id: &str,
        expand_alerts: bool,
    ) -> Result<Incident, ApiError> {
        let mut path = self.item("incidents", id);
        if expand_alerts {
            path.push_str("?$expand=alerts");
        }
        self.client.get(t, &path).await
    }

    /// `PATCH /security/incidents/{id}` with `status`, `assignedTo`, `classification`,
    /// `determination`, `customTags`, …
    pub async fn update_incident(
        &self,
        t: &Tenant,
        id: &str,
        changes: &Value,
    ) -> Result<Incident, ApiError> {
        self.patch(t, "incidents", id, changes).await
    }
}

/// The content of an OData string literal in a URL: `'` doubled, then percent-encoded
/// as one path segment.
fn odata_literal(s: &str) -> String {
    path_segment(&s.replace('\'', "''"))
}

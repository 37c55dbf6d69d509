//! The Microsoft Graph security API for any number of tenants (`graph-security.md`):
//! `runHuntingQuery` (the successor of `/api/advancedqueries/run`), `alerts_v2` and
//! `incidents` — on the same [`Client`] machinery as the MDE API (per-tenant limiter,
//! 429/`Retry-After`, backoff, `@odata.nextLink` paging) with a Graph token per tenant
//! from the same broker, Graph's quotas and Graph's error envelope.

use crate::actions::path_segment;
use crate::client::{Client, ClientOptions, Dialect, Tenant};
use crate::error::ApiError;
use crate::limit::Limits;
use crate::query::Query;
use futures_util::Stream;
use mdep_auth::TokenBroker;
use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value, json};
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

/// Graph's error envelope, `innerError` or `innererror` (both spellings are documented).
#[derive(Debug, Deserialize)]
struct Envelope {
    error: EnvelopeError,
}

#[derive(Debug, Deserialize)]
struct EnvelopeError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default, rename = "innerError", alias = "innererror")]
    inner: Option<Map<String, Value>>,
}

/// An error answer as [`ApiError::Graph`], from Graph's envelope or, failing that, the
/// status.
pub fn graph_error(t: &Tenant, status: u16, body: &[u8]) -> ApiError {
    match serde_json::from_slice::<Envelope>(body) {
        Ok(e) => ApiError::Graph {
            tenant: t.name.clone(),
            status,
            code: e.error.code,
            message: e.error.message,
            request_id: e
                .error
                .inner
                .as_ref()
                .and_then(|i| i.get("request-id"))
                .and_then(Value::as_str)
                .map(str::to_owned),
        },
        Err(_) => ApiError::Graph {
            tenant: t.name.clone(),
            status,
            code: reqwest::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("Error")
                .replace(' ', ""),
            message: String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned(),
            request_id: None,
        },
    }
}

/// A column of a hunting answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HuntingColumn {
    /// Column name.
    pub name: String,
    /// Kusto type name (`DateTime`, `String`, …).
    #[serde(rename = "type")]
    pub kind: String,
}

/// `huntingQueryResults`: `schema` and `results`, read with any casing of those keys and
/// of `name`/`type` (Microsoft's own examples use both, `graph-security.md` §2.3).
#[derive(Debug, Clone, Default, Serialize)]
pub struct HuntingResults {
    /// `@odata.context`, when sent.
    #[serde(rename = "@odata.context", skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Columns.
    pub schema: Vec<HuntingColumn>,
    /// Rows, as objects keyed by column.
    pub results: Vec<Map<String, Value>>,
}

fn get_ci<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    m.get(key).or_else(|| {
        m.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

impl<'de> Deserialize<'de> for HuntingResults {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let m = Map::<String, Value>::deserialize(d)?;
        let schema = match get_ci(&m, "schema") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(cols)) => cols
                .iter()
                .map(|c| {
                    let c = c
                        .as_object()
                        .ok_or_else(|| D::Error::custom("a schema column is not an object"))?;
                    let text = |k: &str| {
                        get_ci(c, k)
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned()
                    };
                    Ok(HuntingColumn {
                        name: text("name"),
                        kind: text("type"),
                    })
                })
                .collect::<Result<_, D::Error>>()?,
            Some(_) => return Err(D::Error::custom("schema is not an array")),
        };
        let results = match get_ci(&m, "results") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(rows)) => rows
                .iter()
                .map(|r| {
                    r.as_object()
                        .cloned()
                        .ok_or_else(|| D::Error::custom("a result row is not an object"))
                })
                .collect::<Result<_, D::Error>>()?,
            Some(_) => return Err(D::Error::custom("results is not an array")),
        };
        Ok(Self {
            context: m
                .get("@odata.context")
                .and_then(Value::as_str)
                .map(str::to_owned),
            schema,
            results,
        })
    }
}

/// A string the service may send as a number.
fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    })
}

fn null_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A Graph security alert (`microsoft.graph.security.alert`), every field optional and
/// the ones not named kept in `extra`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphAlert {
    /// Alert id (for Defender for Endpoint alerts, MDE's alert id).
    #[serde(default)]
    pub id: String,
    /// The incident it belongs to.
    #[serde(default, deserialize_with = "lenient_string")]
    pub incident_id: Option<String>,
    /// new, inProgress, resolved.
    #[serde(default)]
    pub status: Option<String>,
    /// unknown, informational, low, medium, high.
    #[serde(default)]
    pub severity: Option<String>,
    /// unknown, falsePositive, truePositive, informationalExpectedActivity.
    #[serde(default)]
    pub classification: Option<String>,
    /// Why.
    #[serde(default)]
    pub determination: Option<String>,
    /// microsoftDefenderForEndpoint, …
    #[serde(default)]
    pub service_source: Option<String>,
    /// antivirus, customDetection, …
    #[serde(default)]
    pub detection_source: Option<String>,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// MITRE category.
    #[serde(default)]
    pub category: Option<String>,
    /// Owner.
    #[serde(default)]
    pub assigned_to: Option<String>,
    /// Created.
    #[serde(default)]
    pub created_date_time: Option<String>,
    /// Last update.
    #[serde(default)]
    pub last_update_date_time: Option<String>,
    /// Resolved.
    #[serde(default)]
    pub resolved_date_time: Option<String>,
    /// The tenant.
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// Evidence, as sent.
    #[serde(default, deserialize_with = "null_default")]
    pub evidence: Vec<Value>,
    /// Everything else.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A Graph security incident (`microsoft.graph.security.incident`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Incident {
    /// Incident id.
    #[serde(default, deserialize_with = "lenient_string")]
    pub id: Option<String>,
    /// Name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// active, resolved, inProgress, redirected, awaitingAction.
    #[serde(default)]
    pub status: Option<String>,
    /// unknown, informational, low, medium, high.
    #[serde(default)]
    pub severity: Option<String>,
    /// Classification.
    #[serde(default)]
    pub classification: Option<String>,
    /// Determination.
    #[serde(default)]
    pub determination: Option<String>,
    /// Owner.
    #[serde(default)]
    pub assigned_to: Option<String>,
    /// Created.
    #[serde(default)]
    pub created_date_time: Option<String>,
    /// Last update.
    #[serde(default)]
    pub last_update_date_time: Option<String>,
    /// Tags set by people.
    #[serde(default, deserialize_with = "null_default")]
    pub custom_tags: Vec<String>,
    /// The alerts, with `$expand=alerts`.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub alerts: Vec<GraphAlert>,
    /// Everything else.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A collection page of Graph.
#[derive(Debug, Clone, Deserialize)]
pub struct GraphCollection<T> {
    /// The items.
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
    /// The next page.
    #[serde(rename = "@odata.nextLink", default)]
    pub next_link: Option<String>,
}

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

    fn path(&self, rest: &str) -> String {
        format!("/{}/security/{rest}", self.version)
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
        self.client
            .get(t, &self.path(&format!("alerts_v2/{}", path_segment(id))))
            .await
    }

    /// `PATCH /security/alerts_v2/{id}` with `status`, `assignedTo`, `classification`,
    /// `determination`.
    pub async fn update_alert(
        &self,
        t: &Tenant,
        id: &str,
        changes: &Value,
    ) -> Result<GraphAlert, ApiError> {
        self.client
            .send_json(
                t,
                Method::PATCH,
                &self.path(&format!("alerts_v2/{}", path_segment(id))),
                changes,
            )
            .await
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
        let mut path = self.path(&format!("incidents/{}", path_segment(id)));
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
        self.client
            .send_json(
                t,
                Method::PATCH,
                &self.path(&format!("incidents/{}", path_segment(id))),
                changes,
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Tenant {
        Tenant {
            name: "Contoso".into(),
            id: "contoso.onmicrosoft.com".into(),
        }
    }

    #[test]
    fn the_envelope_becomes_a_typed_error_with_a_hint() {
        let e = graph_error(
            &t(),
            401,
            br#"{"error":{"code":"InvalidAuthenticationToken","message":"Access token validation failure. Invalid audience.","innerError":{"date":"2026-01-01T00:00:00","request-id":"r-1","client-request-id":"c-1"}}}"#,
        );
        assert_eq!(e.code(), Some("InvalidAuthenticationToken"));
        assert_eq!(e.status(), Some(401));
        assert!(e.to_string().contains("(request-id r-1)"), "{e}");
        assert!(e.hint().is_some_and(|h| h.contains("graph_resource")));
        let e = graph_error(
            &t(),
            400,
            br#"{"error":{"code":"","message":"The limit of '50' for Top query has been exceeded. The value from the incoming request is '100'.","innererror":{"request-id":"r-2"}}}"#,
        );
        assert_eq!(e.code(), Some(""));
        assert!(e.to_string().contains("(no code)"), "{e}");
        assert!(e.hint().is_some_and(|h| h.contains("50")));
        let e = graph_error(&t(), 503, b"<html>down</html>");
        assert_eq!(e.code(), Some("ServiceUnavailable"));
    }

    #[test]
    fn hunting_results_read_any_casing() {
        let v: HuntingResults = serde_json::from_str(
            r#"{"Schema":[{"Name":"A","Type":"String"}],"Results":[{"A":"x"}]}"#,
        )
        .expect("pascal");
        assert_eq!(v.schema[0].name, "A");
        assert_eq!(v.schema[0].kind, "String");
        assert_eq!(v.results.len(), 1);
        assert!(serde_json::from_str::<HuntingResults>(r#"{"schema":3}"#).is_err());
    }
}

//! The Microsoft Graph security entities as they come over the wire
//! (`graph-security.md`): hunting answers read with any casing, alerts (`alerts_v2`) and
//! incidents, every field optional and the ones not named kept in `extra`.

use crate::entity::Collection;
use crate::wire::{lenient_string, null_default};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

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

/// A collection page of Graph: the OData collection MDE pages with too.
pub type GraphCollection<T> = Collection<T>;

#[cfg(test)]
mod tests {
    use super::*;

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

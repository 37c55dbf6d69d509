//! Every response in Microsoft Graph's documented samples (`fixtures/graph/`, see its
//! README for provenance) parses with the Graph client's types.

use mdep_api::graph::{GraphAlert, GraphCollection, HuntingResults, Incident, graph_error};
use mdep_api::{ApiError, Tenant};
use serde_json::{Map, Value};
use std::path::Path;

fn dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/graph")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_graph_sample_response_parses() {
    let t = Tenant {
        name: "Contoso".into(),
        id: "contoso.onmicrosoft.com".into(),
    };
    let mut checked = 0;
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .expect("fixtures")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    for name in &names {
        let text = read(name);
        if name.contains("_request") {
            continue;
        }
        match name.trim_end_matches(".json") {
            n if n.starts_with("runHuntingQuery_response")
                || n.starts_with("getRunHuntingQuery") =>
            {
                let v: HuntingResults =
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(!v.schema.is_empty() && !v.results.is_empty(), "{name}");
                assert!(
                    v.schema
                        .iter()
                        .all(|c| !c.name.is_empty() && !c.kind.is_empty()),
                    "{name}"
                );
            }
            "alerts_v2_list_response" => {
                let v: GraphCollection<GraphAlert> =
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
                let a = &v.value[0];
                assert_eq!(a.id, "da637551227677560813_-961444813");
                assert_eq!(a.incident_id.as_deref(), Some("28282"));
                assert_eq!(a.severity.as_deref(), Some("low"));
                assert_eq!(a.evidence.len(), 4);
                assert!(a.extra.contains_key("systemTags"));
            }
            n if n.starts_with("incidents_list_response") => {
                let v: GraphCollection<Incident> =
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(
                    v.value[0].id.is_some() && v.value[0].status.is_some(),
                    "{name}"
                );
            }
            n if n.starts_with("graph_error") => {
                let e = graph_error(&t, 429, text.as_bytes());
                assert!(
                    matches!(&e, ApiError::Graph { code, message, .. } if !code.is_empty() && !message.is_empty()),
                    "{name}: {e:?}"
                );
            }
            n if n.starts_with("token_") => {
                let v: Map<String, Value> =
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(v["token_type"], "Bearer");
                assert!(v["access_token"].is_string() && v["expires_in"].is_number());
            }
            n if n.starts_with("application_") || n.starts_with("serviceprincipal_") => {
                // Directory objects: no client type; they must be JSON objects.
                let v: Map<String, Value> =
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(!v.is_empty(), "{name}");
            }
            other => panic!("{other}: a new sample; say how it parses in tests/graph_samples.rs"),
        }
        checked += 1;
    }
    assert!(checked >= 15, "{checked} responses checked");
}

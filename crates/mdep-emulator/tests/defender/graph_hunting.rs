//! Graph's `getRunHuntingQuery` (`graph-security.md` §2.4): the hunting query as a function
//! call in the URL, answered as `runHuntingQuery` answers.

use super::graph::{keys, sample};
use super::*;
use serde_json::json;

/// An OData string literal's content (quotes doubled), percent-encoded as the page asks.
fn literal(s: &str) -> String {
    s.replace('\'', "''")
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The path of `getRunHuntingQuery(query='…',timespan='…')`.
fn get_path(version: &str, query: &str, timespan: &str) -> String {
    format!(
        "/{version}/security/getRunHuntingQuery(query='{}',timespan='{}')",
        literal(query),
        literal(timespan)
    )
}

#[tokio::test]
async fn get_run_hunting_query_answers_as_run_hunting_query() {
    let e = demu();
    let g = e.graph_token(CONTOSO).await;
    // The page's example query (samples-graph/getRunHuntingQuery_beta_response.json).
    let q = "AlertInfo | project Timestamp, Title | take 2";
    let r = e
        .graph("GET", &get_path("beta", q, "P30D"), Some(&g), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let s = sample("getRunHuntingQuery_beta_response");
    assert_eq!(keys(&v), keys(&s));
    assert_eq!(v["schema"], s["schema"], "the example's columns and types");
    let rows = v["results"].as_array().expect("results");
    assert_eq!(rows.len(), 2);
    for row in rows {
        assert_eq!(keys(row), keys(&s["results"][0]));
    }
    assert!(
        v["@odata.context"]
            .as_str()
            .is_some_and(|c| c.ends_with("$metadata#microsoft.graph.security.huntingQueryResults"))
    );
    let post = e
        .graph(
            "POST",
            "/beta/security/runHuntingQuery",
            Some(&g),
            Some(json!({"Query": q, "Timespan": "P30D"})),
        )
        .await
        .json();
    assert_eq!(post["results"], v["results"], "the same rows as the POST");

    // A quote in the query is doubled, as in any OData string literal; v1.0 too.
    let q2 = "DeviceInfo | where DeviceName != \"it's\" | count";
    assert!(get_path("v1.0", q2, "P30D").contains("it%27%27s"));
    let r = e
        .graph("GET", &get_path("v1.0", q2, "P30D"), Some(&g), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let devices = r.json()["results"][0]["Count"].clone();
    assert_eq!(devices, json!(12), "{}", r.text());
    // A window with nothing in it.
    let r = e
        .graph(
            "GET",
            &get_path("beta", "AlertInfo | count", "2001-01-01T00:00:00Z/P1D"),
            Some(&g),
            None,
        )
        .await;
    assert_eq!(r.json()["results"][0]["Count"], json!(0), "{}", r.text());
}

#[tokio::test]
async fn get_run_hunting_query_errors_in_graphs_envelope() {
    let e = demu();
    let g = e.graph_token(CONTOSO).await;
    e.graph(
        "GET",
        "/beta/security/getRunHuntingQuery(query='AlertInfo",
        Some(&g),
        None,
    )
    .await
    .graph_error(400, "BadRequest");
    e.graph(
        "GET",
        &get_path("beta", "AlertInfo | take 1", "yesterday"),
        Some(&g),
        None,
    )
    .await
    .graph_error(400, "BadRequest");
    e.graph(
        "GET",
        &get_path("beta", "Nope | take 1", "P1D"),
        Some(&g),
        None,
    )
    .await
    .graph_error(400, "BadRequest");
    e.graph("GET", "/beta/security/somethingElse", Some(&g), None)
        .await
        .graph_error(400, "BadRequest");
    // The role of runHuntingQuery.
    let t = e
        .graph_token_with(CONTOSO, &["SecurityAlert.Read.All"])
        .await;
    let msg = e
        .graph(
            "GET",
            &get_path("beta", "AlertInfo | take 1", "P1D"),
            Some(&t),
            None,
        )
        .await
        .graph_error(403, "Forbidden");
    assert!(msg.contains("ThreatHunting.Read.All"), "{msg}");
}

fn times(v: &Value, key: &str) -> Vec<String> {
    v["value"]
        .as_array()
        .expect("value")
        .iter()
        .map(|x| x[key].as_str().expect(key).to_owned())
        .collect()
}

#[tokio::test]
async fn select_and_orderby_on_graph_alerts_and_incidents() {
    let e = demu();
    let g = e.graph_token(CONTOSO).await;
    let r = e
        .graph(
            "GET",
            "/v1.0/security/alerts_v2?$select=id,title&$orderby=createdDateTime asc",
            Some(&g),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let items = v["value"].as_array().expect("value");
    assert_eq!(items.len(), 30);
    for a in items {
        assert_eq!(
            keys(a),
            ["id", "title"].iter().map(|s| (*s).to_owned()).collect()
        );
    }
    let asc = e
        .graph(
            "GET",
            "/v1.0/security/alerts_v2?$select=id,createdDateTime&$orderby=createdDateTime asc",
            Some(&g),
            None,
        )
        .await
        .json();
    let t = times(&asc, "createdDateTime");
    let mut sorted = t.clone();
    sorted.sort();
    assert_eq!(t, sorted, "ascending");
    let ids: Vec<&Value> = items.iter().map(|a| &a["id"]).collect();
    let asc_ids: Vec<&Value> = asc["value"]
        .as_array()
        .expect("value")
        .iter()
        .map(|a| &a["id"])
        .collect();
    assert_eq!(ids, asc_ids, "the order does not depend on $select");
    let desc = e
        .graph(
            "GET",
            "/v1.0/security/alerts_v2?$select=createdDateTime&$orderby=createdDateTime desc",
            Some(&g),
            None,
        )
        .await
        .json();
    let mut rev = sorted.clone();
    rev.reverse();
    assert_eq!(times(&desc, "createdDateTime"), rev);

    let inc = e
        .graph(
            "GET",
            "/v1.0/security/incidents?$select=id,lastUpdateDateTime&$orderby=lastUpdateDateTime desc&$expand=alerts",
            Some(&g),
            None,
        )
        .await;
    assert_eq!(inc.status, 200, "{}", inc.text());
    let inc = inc.json();
    let t = times(&inc, "lastUpdateDateTime");
    let mut want = t.clone();
    want.sort();
    want.reverse();
    assert_eq!(t, want, "descending");
    for i in inc["value"].as_array().expect("value") {
        assert_eq!(
            keys(i),
            ["alerts", "id", "lastUpdateDateTime"]
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            "the expanded alerts stay"
        );
        assert!(!i["alerts"].as_array().expect("alerts").is_empty());
    }

    // Unknown properties are refused in Graph's envelope.
    e.graph(
        "GET",
        "/v1.0/security/alerts_v2?$select=nope",
        Some(&g),
        None,
    )
    .await
    .graph_error(400, "BadRequest");
    e.graph(
        "GET",
        "/v1.0/security/incidents?$orderby=nope desc",
        Some(&g),
        None,
    )
    .await
    .graph_error(400, "BadRequest");
}

//! Advanced hunting over HTTP: the documented example, the KQL subset, its errors, its
//! own quota, and the response shape of Microsoft's samples.

use super::*;
use serde_json::json;

async fn hunt(e: &Emu, t: &str, q: &str) -> Reply {
    e.api(
        "POST",
        "/api/advancedqueries/run",
        Some(t),
        Some(json!({ "Query": q })),
    )
    .await
}

fn rows(v: &Value) -> &Vec<Value> {
    v["Results"].as_array().expect("Results")
}

#[tokio::test]
async fn the_documented_example_runs() {
    let e = demu();
    let t = e.token_with(CONTOSO, &["AdvancedQuery.Read.All"]).await;
    let sample: Value = serde_json::from_str(include_str!(
        "../fixtures/samples/advancedqueries_run_request.json"
    ))
    .expect("sample");
    let r = e
        .api("POST", "/api/advancedqueries/run", Some(&t), Some(sample))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(
        v["Schema"],
        json!([
            {"Name": "Timestamp", "Type": "DateTime"},
            {"Name": "FileName", "Type": "String"},
            {"Name": "InitiatingProcessFileName", "Type": "String"},
            {"Name": "DeviceId", "Type": "String"}
        ])
    );
    assert!(rows(&v).len() <= 2);
    for row in rows(&v) {
        assert_eq!(row["InitiatingProcessFileName"], "powershell.exe");
    }
    let all = hunt(
        &e,
        &t,
        "DeviceProcessEvents | where InitiatingProcessFileName =~ 'POWERSHELL.EXE' | count",
    )
    .await
    .json();
    assert!(
        rows(&all)[0]["Count"].as_i64().expect("count") > 0,
        "the generator starts processes from powershell: {all}"
    );
}

#[tokio::test]
async fn where_project_extend_summarize_order_take() {
    let e = demu();
    let t = e
        .token_with(CONTOSO, &["AdvancedQuery.Read.All", "Alert.Read.All"])
        .await;
    let alerts = e.api("GET", "/api/alerts", Some(&t), None).await.json();
    let alerts = alerts["value"].as_array().expect("alerts");
    let high = alerts.iter().filter(|a| a["severity"] == "High").count() as i64;

    let v = hunt(&e, &t, "AlertInfo | where Severity == 'High' | count")
        .await
        .json();
    assert_eq!(rows(&v)[0]["Count"], high);
    let v = hunt(
        &e,
        &t,
        "AlertInfo | summarize n = count() by Severity | order by n desc",
    )
    .await
    .json();
    assert_eq!(
        v["Schema"],
        json!([{"Name": "Severity", "Type": "String"}, {"Name": "n", "Type": "Int64"}])
    );
    let total: i64 = rows(&v).iter().map(|r| r["n"].as_i64().expect("n")).sum();
    assert_eq!(total, 30);
    let ns: Vec<i64> = rows(&v)
        .iter()
        .map(|r| r["n"].as_i64().expect("n"))
        .collect();
    let mut sorted = ns.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(ns, sorted);
    let v = hunt(&e, &t, "DeviceInfo | where OSPlatform startswith 'windows' | extend Name = toupper(DeviceName) | project DeviceId, Name | take 3").await.json();
    assert!(rows(&v).len() <= 3);
    for r in rows(&v) {
        assert_eq!(r.as_object().map(|o| o.len()), Some(2));
        assert!(r["Name"].as_str().is_some_and(|n| n == n.to_uppercase()));
    }
    let v = hunt(&e, &t, "AlertEvidence | where EntityType in ('File', 'Process') and isnotempty(SHA1) | summarize dcount(AlertId) by EntityType").await.json();
    assert!(rows(&v).iter().all(|r| r["dcount_AlertId"] == 30), "{v}");
    let v = hunt(&e, &t, "AlertInfo | where Timestamp > ago(3650d) and Timestamp < now() | top 2 by Timestamp | project AlertId, Timestamp").await.json();
    assert_eq!(rows(&v).len(), 2);
    assert!(rows(&v)[0]["Timestamp"].as_str() >= rows(&v)[1]["Timestamp"].as_str());
    let v = hunt(
        &e,
        &t,
        "AlertInfo | summarize count() by bin(Timestamp, 1d) | sort by Timestamp asc",
    )
    .await
    .json();
    assert_eq!(
        v["Schema"][0],
        json!({"Name": "Timestamp", "Type": "DateTime"})
    );
    assert!(rows(&v).iter().all(|r| {
        r["Timestamp"]
            .as_str()
            .is_some_and(|s| s.contains("T00:00:00.0000000Z"))
    }));
    let v = hunt(&e, &t, "DeviceInfo | distinct OSPlatform")
        .await
        .json();
    assert!(!rows(&v).is_empty());
    let stats = &hunt(&e, &t, "DeviceInfo | take 1").await.json()["Stats"];
    assert!(
        stats["ExecutionTime"].is_number()
            && stats["dataset_statistics"][0]["table_row_count"] == 1
    );
}

#[tokio::test]
async fn unsupported_and_malformed_queries_are_400() {
    let e = demu();
    let t = e.token_with(CONTOSO, &["AdvancedQuery.Read.All"]).await;
    for (q, needle) in [
        ("DeviceInfo | join (AlertInfo) on DeviceId", "'join'"),
        ("DeviceInfo | mv-expand x", "'mv-expand'"),
        ("EmailEvents | take 1", "'EmailEvents'"),
        ("DeviceInfo | where Nope == 1", "'Nope'"),
        ("DeviceInfo | where OSPlatform == 'x", "unterminated"),
        ("DeviceInfo | project toupper()", "expects 1"),
        ("DeviceInfo | where parse_json(OSPlatform)", "parse_json"),
        (
            "DeviceInfo | where Timestamp > datetime(yesterday)",
            "datetime",
        ),
        ("", "empty"),
    ] {
        let msg = hunt(&e, &t, q).await.mde_error(400, "BadRequest");
        assert!(msg.contains(needle), "{q}: {msg}");
    }
    e.api(
        "POST",
        "/api/advancedqueries/run",
        Some(&t),
        Some(json!({"query": "DeviceInfo"})),
    )
    .await
    .mde_error(400, "MissingRequiredParameter");
    let no_role = e.token_with(CONTOSO, &["Alert.ReadWrite.All"]).await;
    hunt(&e, &no_role, "DeviceInfo")
        .await
        .mde_error(403, "Forbidden");
}

#[tokio::test]
async fn hunting_has_its_own_quota_per_tenant() {
    let e = emu_from(&scenario(
        "hunting_calls_per_minute = 2\nmde_calls_per_minute = 1000",
    ));
    let t = e
        .token_with(CONTOSO, &["AdvancedQuery.Read.All", "Alert.Read.All"])
        .await;
    for _ in 0..2 {
        assert_eq!(hunt(&e, &t, "DeviceInfo | count").await.status, 200);
    }
    let r = hunt(&e, &t, "DeviceInfo | count").await;
    assert!(
        r.mde_error(429, "TooManyRequests")
            .contains("advanced hunting")
    );
    assert!(r.headers.contains_key("retry-after"));
    assert_eq!(
        e.api("GET", "/api/alerts", Some(&t), None).await.status,
        200,
        "other calls go on"
    );
}

#[tokio::test]
async fn response_matches_the_samples() {
    let e = demu();
    let t = e.token_with(CONTOSO, &["AdvancedQuery.Read.All"]).await;
    let v = hunt(&e, &t, "DeviceProcessEvents | project Timestamp, FileName, InitiatingProcessFileName, DeviceId | take 2").await.json();
    let sample: Value = serde_json::from_str(include_str!(
        "../fixtures/samples/advancedqueries_run_response.json"
    ))
    .expect("sample");
    assert_eq!(v["Schema"], sample["Schema"]);
    let keys = |o: &Value| {
        o.as_object()
            .map(|m| m.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
    };
    assert_eq!(keys(&rows(&v)[0]), keys(&sample["Results"][0]));
    let ts = rows(&v)[0]["Timestamp"].as_str().expect("ts");
    assert_eq!(
        ts.len(),
        sample["Results"][0]["Timestamp"]
            .as_str()
            .expect("ts")
            .len(),
        "7-digit fractions: {ts}"
    );
    let xdr: Value = serde_json::from_str(include_str!(
        "../fixtures/samples/xdr_advancedhunting_run_response_with_stats.json"
    ))
    .expect("sample");
    assert_eq!(keys(&v), keys(&xdr), "Stats, Schema, Results");
    let shape = |s: &Value| -> Vec<String> {
        fn walk(prefix: &str, v: &Value, out: &mut Vec<String>) {
            if let Value::Object(m) = v {
                for (k, x) in m {
                    walk(&format!("{prefix}.{k}"), x, out);
                }
            } else if let Value::Array(a) = v {
                if let Some(f) = a.first() {
                    walk(&format!("{prefix}[]"), f, out);
                }
            } else {
                out.push(format!(
                    "{prefix}:{}",
                    if v.is_number() {
                        "number"
                    } else if v.is_string() {
                        "string"
                    } else {
                        "other"
                    }
                ));
            }
        }
        let mut out = Vec::new();
        walk("Stats", s, &mut out);
        out.sort();
        out
    };
    assert_eq!(shape(&v["Stats"]), shape(&xdr["Stats"]));
}

#[tokio::test]
async fn data_is_recent_so_ago_7d_finds_it_and_the_30_day_window_holds() {
    let e = demu();
    let t = e
        .token_with(CONTOSO, &["AdvancedQuery.Read.All", "Alert.Read.All"])
        .await;
    // The alerts raised in the last 7 days, by the alerts API.
    let alerts = e.api("GET", "/api/alerts", Some(&t), None).await.json();
    let week_ago = time::OffsetDateTime::now_utc() - time::Duration::days(7);
    let recent = alerts["value"]
        .as_array()
        .expect("alerts")
        .iter()
        .filter(|a| {
            let at = time::OffsetDateTime::parse(
                a["alertCreationTime"].as_str().expect("time"),
                &time::format_description::well_known::Rfc3339,
            )
            .expect("time");
            at > week_ago
        })
        .count();
    assert!(recent > 0, "a fresh tenant has alerts from this week");
    let q = "AlertInfo | where Timestamp > ago(7d) | count";
    let v = hunt(&e, &t, q).await.json();
    assert_eq!(rows(&v)[0]["Count"], recent, "{v}");

    // Anchored to a fixed clock 40 days back, MDE's hunting sees nothing (data from the
    // last 30 days only), while the alerts API still lists them.
    let clock = (time::OffsetDateTime::now_utc() - time::Duration::days(40))
        .replace_nanosecond(0)
        .expect("ns")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format");
    let old = emu_from(&scenario(&format!(
        "clock = \"{clock}\"\nmde_calls_per_minute = 100000"
    )));
    let t = old
        .token_with(CONTOSO, &["AdvancedQuery.Read.All", "Alert.Read.All"])
        .await;
    let v = hunt(&old, &t, "AlertInfo | count").await.json();
    assert_eq!(rows(&v)[0]["Count"], 0, "{v}");
    let listed = old.api("GET", "/api/alerts", Some(&t), None).await.json();
    assert!(!listed["value"].as_array().expect("alerts").is_empty());
}

#[test]
fn a_clock_that_is_not_a_date_is_refused_where_it_stands() {
    let err = mdep_emulator::scenario::Scenario::parse(
        &scenario("clock = \"yesterday\""),
        std::path::Path::new("c.toml"),
    )
    .expect_err("refused");
    let m = err.to_string();
    assert!(
        m.contains("c.toml:") && m.contains("clock must be an RFC 3339"),
        "{m}"
    );
}

#[tokio::test]
async fn the_execution_time_quota_trips_with_tiny_limits() {
    let q = "DeviceInfo | take 1";
    // The hour's execution time: the first query uses it up, the second is refused.
    let e = emu_from(&scenario(
        "mde_calls_per_minute = 100000\nhunting_cpu_ms_per_hour = 0",
    ));
    let t = e.token_with(CONTOSO, &["AdvancedQuery.Read.All"]).await;
    assert_eq!(hunt(&e, &t, q).await.status, 200);
    let r = hunt(&e, &t, q).await;
    let msg = r.mde_error(429, "TooManyRequests");
    assert!(msg.contains("CPU") && msg.contains("per hour"), "{msg}");
    let wait: u64 = r
        .headers
        .get("retry-after")
        .and_then(|h| h.to_str().ok())
        .and_then(|s| s.parse().ok())
        .expect("Retry-After");
    assert!((1..=3600).contains(&wait), "{wait}");
    // Per tenant: Woodgrove still runs queries.
    let w = e.token_with(WOODGROVE, &["AdvancedQuery.Read.All"]).await;
    assert_eq!(hunt(&e, &w, q).await.status, 200);

    // The day's.
    let e = emu_from(&scenario(
        "mde_calls_per_minute = 100000\nhunting_cpu_ms_per_day = 0",
    ));
    let t = e.token_with(CONTOSO, &["AdvancedQuery.Read.All"]).await;
    assert_eq!(hunt(&e, &t, q).await.status, 200);
    let msg = hunt(&e, &t, q).await.mde_error(429, "TooManyRequests");
    assert!(msg.contains("per day"), "{msg}");

    // One request's.
    let e = emu_from(&scenario(
        "mde_calls_per_minute = 100000\nhunting_cpu_ms_per_request = 0",
    ));
    let t = e.token_with(CONTOSO, &["AdvancedQuery.Read.All"]).await;
    let msg = hunt(&e, &t, q).await.mde_error(429, "TooManyRequests");
    assert!(msg.contains("one request"), "{msg}");

    // The documented limits leave ordinary use alone.
    let e = demu();
    let t = e.token_with(CONTOSO, &["AdvancedQuery.Read.All"]).await;
    for _ in 0..5 {
        assert_eq!(hunt(&e, &t, q).await.status, 200);
    }
}

#[tokio::test]
async fn graph_and_mde_hunting_draw_on_one_execution_time_budget() {
    let q = "DeviceInfo | take 1";
    // MDE uses up the hour: Graph's runHuntingQuery is refused in Graph's envelope.
    let e = emu_from(&scenario(
        "mde_calls_per_minute = 100000\nhunting_cpu_ms_per_hour = 0",
    ));
    let t = e.token_with(CONTOSO, &["AdvancedQuery.Read.All"]).await;
    let g = e
        .graph_token_with(CONTOSO, &["ThreatHunting.Read.All"])
        .await;
    assert_eq!(hunt(&e, &t, q).await.status, 200);
    let r = graph_hunt(&e, &g, q).await;
    let msg = r.graph_error(429, "TooManyRequests");
    assert!(msg.contains("CPU") && msg.contains("per hour"), "{msg}");
    assert!(r.headers.get("retry-after").is_some(), "Retry-After");
    // Graph's getRunHuntingQuery too.
    e.graph(
        "GET",
        "/beta/security/getRunHuntingQuery(query='DeviceInfo%20%7C%20take%201')",
        Some(&g),
        None,
    )
    .await
    .graph_error(429, "TooManyRequests");

    // Graph uses up the hour: MDE is refused.
    let e = emu_from(&scenario(
        "mde_calls_per_minute = 100000\nhunting_cpu_ms_per_hour = 0",
    ));
    let t = e.token_with(CONTOSO, &["AdvancedQuery.Read.All"]).await;
    let g = e
        .graph_token_with(CONTOSO, &["ThreatHunting.Read.All"])
        .await;
    assert_eq!(graph_hunt(&e, &g, q).await.status, 200);
    let msg = hunt(&e, &t, q).await.mde_error(429, "TooManyRequests");
    assert!(msg.contains("per hour"), "{msg}");
    // One request's limit on Graph.
    let e = emu_from(&scenario(
        "mde_calls_per_minute = 100000\nhunting_cpu_ms_per_request = 0",
    ));
    let g = e
        .graph_token_with(CONTOSO, &["ThreatHunting.Read.All"])
        .await;
    let msg = graph_hunt(&e, &g, q)
        .await
        .graph_error(429, "TooManyRequests");
    assert!(msg.contains("one request"), "{msg}");
}

async fn graph_hunt(e: &Emu, g: &str, q: &str) -> Reply {
    e.graph(
        "POST",
        "/v1.0/security/runHuntingQuery",
        Some(g),
        Some(json!({ "Query": q })),
    )
    .await
}

//! Microsoft Graph's security API on the emulator: Graph tokens and their audiences,
//! refusal across audiences, the error envelope, runHuntingQuery against the legacy
//! hunting endpoint, alerts_v2 and incidents against Microsoft's documented payloads
//! (`tests/fixtures/graph/`), OData paging, shared updates, roles, isolation and quotas.

use super::*;
use serde_json::json;
use std::collections::BTreeSet;

const GRAPH: &str = "https://graph.microsoft.com";

pub(crate) fn sample(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/graph/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub(crate) fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

impl Emu {
    /// A token for `resource` by the v1 or v2 endpoint.
    pub(crate) async fn graph_token_for(&self, tenant: &str, v1: bool, resource: &str) -> String {
        let (path, key, value) = if v1 {
            (
                format!("/{tenant}/oauth2/token"),
                "resource",
                resource.to_owned(),
            )
        } else {
            (
                format!("/{tenant}/oauth2/v2.0/token"),
                "scope",
                format!("{}/.default", resource.trim_end_matches('/')),
            )
        };
        let r = self
            .post_form(
                &path,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", APP),
                    ("client_secret", SECRET),
                    (key, &value),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["access_token"].as_str().expect("token").to_owned()
    }

    pub(crate) async fn graph_token(&self, tenant: &str) -> String {
        self.graph_token_for(tenant, false, GRAPH).await
    }

    /// Grants `APP` exactly `roles` (MDE and Graph) in `tenant`; returns a Graph token.
    pub(crate) async fn graph_token_with(&self, tenant: &str, roles: &[&str]) -> String {
        self.state
            .grant_consent(
                tenant.parse().expect("tenant"),
                APP.parse().expect("app"),
                Some(roles.iter().map(|r| (*r).to_owned()).collect()),
            )
            .expect("consent");
        self.graph_token(tenant).await
    }

    pub(crate) async fn graph(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let uri = path.replace(' ', "%20").replace('\'', "%27");
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "graph.localhost");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        self.send(req.body(body).expect("request")).await
    }
}

impl Reply {
    /// Asserts Graph's error envelope with this status and code; returns the message.
    pub(crate) fn graph_error(&self, status: u16, code: &str) -> String {
        let v = self.json();
        assert_eq!(self.status.as_u16(), status, "status; body: {v}");
        assert_eq!(v["error"]["code"], code, "code; body: {v}");
        let inner = &v["error"]["innerError"];
        let rid = self.headers["request-id"].to_str().expect("request-id");
        assert_eq!(inner["request-id"], rid, "{v}");
        assert_eq!(
            inner["client-request-id"],
            self.headers["client-request-id"]
                .to_str()
                .expect("client-request-id"),
            "{v}"
        );
        let date = inner["date"].as_str().expect("date");
        assert!(
            date.len() == 19 && date.as_bytes()[10] == b'T',
            "date: {date}"
        );
        // The documented envelope's keys (graph_error_doc_example.json), plus the ids.
        let doc = sample("graph_error_doc_example");
        assert!(keys(&doc["error"]).is_subset(&keys(&v["error"])), "{v}");
        assert!(
            keys(&doc["error"]["innerError"]).is_subset(&keys(inner)),
            "{v}"
        );
        v["error"]["message"].as_str().expect("message").to_owned()
    }
}

#[tokio::test]
async fn graph_tokens_carry_the_documented_audiences_and_only_graph_roles() {
    let e = demu();
    let (_, v2) = decode(&e.graph_token(CONTOSO).await);
    assert_eq!(v2["aud"], GRAPH);
    assert_eq!(v2["ver"], "1.0");
    assert_eq!(v2["iss"], format!("https://sts.windows.net/{CONTOSO}/"));
    let roles: BTreeSet<&str> = v2["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(roles, GRAPH_ROLES.iter().copied().collect());
    let (_, v1) = decode(
        &e.graph_token_for(CONTOSO, true, "https://graph.microsoft.com/")
            .await,
    );
    assert_eq!(v1["aud"], "https://graph.microsoft.com/");
    let (_, guid) = decode(
        &e.graph_token_for(CONTOSO, false, "00000003-0000-0000-c000-000000000000")
            .await,
    );
    assert_eq!(guid["aud"], "00000003-0000-0000-c000-000000000000");
    let (_, mde) = decode(&e.token(CONTOSO).await);
    assert!(
        mde["roles"]
            .as_array()
            .expect("roles")
            .iter()
            .all(|r| !GRAPH_ROLES.contains(&r.as_str().unwrap_or_default())),
        "{mde}"
    );
    // Each audience form opens the Graph API.
    for (v1, res) in [
        (false, GRAPH),
        (true, "https://graph.microsoft.com/"),
        (true, "00000003-0000-0000-c000-000000000000"),
    ] {
        let t = e.graph_token_for(CONTOSO, v1, res).await;
        let r = e
            .graph("GET", "/v1.0/security/alerts_v2?$top=1", Some(&t), None)
            .await;
        assert_eq!(r.status, 200, "{res}: {}", r.text());
    }
}

#[tokio::test]
async fn each_api_refuses_the_others_token_with_its_own_error() {
    let e = demu();
    let graph = e.graph_token(CONTOSO).await;
    let mde = e.token(CONTOSO).await;
    let r = e.api("GET", "/api/alerts", Some(&graph), None).await;
    let m = r.mde_error(401, "Unauthorized");
    assert!(m.contains("audience 'https://graph.microsoft.com'"), "{m}");
    let r = e
        .graph("GET", "/v1.0/security/alerts_v2", Some(&mde), None)
        .await;
    let m = r.graph_error(401, "InvalidAuthenticationToken");
    assert!(
        m.starts_with("Access token validation failure. Invalid audience."),
        "{m}"
    );
    let r = e
        .graph(
            "POST",
            "/v1.0/security/runHuntingQuery",
            Some(&mde),
            Some(json!({"Query": "AlertInfo | take 1"})),
        )
        .await;
    r.graph_error(401, "InvalidAuthenticationToken");
    let r = e.graph("GET", "/v1.0/security/incidents", None, None).await;
    let m = r.graph_error(401, "InvalidAuthenticationToken");
    assert!(m.starts_with("Access token is empty."), "{m}");
    assert!(r.headers.contains_key("www-authenticate"));
}

#[tokio::test]
async fn errors_echo_the_clients_request_id() {
    let e = demu();
    let t = e.graph_token(CONTOSO).await;
    let r = e
        .send(
            Request::get("/beta/security/alerts_v2/nope")
                .header("host", "graph.localhost")
                .header("authorization", format!("Bearer {t}"))
                .header("client-request-id", "b7d3b7b2-0000-4000-8000-000000000001")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    r.graph_error(404, "NotFound");
    assert_eq!(
        r.headers["client-request-id"],
        "b7d3b7b2-0000-4000-8000-000000000001"
    );
    let r = e
        .graph("GET", "/v1.0/security/nothing", Some(&t), None)
        .await;
    r.graph_error(400, "BadRequest");
}

async fn legacy(e: &Emu, t: &str, q: &str) -> Value {
    let r = e
        .api(
            "POST",
            "/api/advancedqueries/run",
            Some(t),
            Some(json!({ "Query": q })),
        )
        .await;
    assert_eq!(r.status, 200, "{q}: {}", r.text());
    r.json()
}

#[tokio::test]
async fn run_hunting_query_returns_the_legacy_endpoints_rows() {
    let e = demu();
    let mde = e
        .token_with(
            CONTOSO,
            &["AdvancedQuery.Read.All", "ThreatHunting.Read.All"],
        )
        .await;
    let graph = e.graph_token(CONTOSO).await;
    let queries = [
        "AlertInfo | project Timestamp, AlertId, Title, Severity | order by Timestamp desc",
        "DeviceInfo | summarize n = count() by OSPlatform | order by n desc",
        "DeviceProcessEvents | where InitiatingProcessFileName =~ 'powershell.exe' | project Timestamp, FileName, InitiatingProcessFileName | take 5",
        "AlertEvidence | where EntityType == 'File' | count",
    ];
    let paths = [
        "/v1.0/security/runHuntingQuery",
        "/beta/security/runHuntingQuery",
        "/v1.0/security/microsoft.graph.security.runHuntingQuery",
    ];
    for (n, q) in queries.iter().enumerate() {
        let old = legacy(&e, &mde, q).await;
        // `Query` as v1.0 documents it, `query` as the 2022 beta page and SDKs send it.
        let key = if n % 2 == 0 { "Query" } else { "query" };
        let r = e
            .graph(
                "POST",
                paths[n % paths.len()],
                Some(&graph),
                Some(json!({ key: q })),
            )
            .await;
        assert_eq!(r.status, 200, "{q}: {}", r.text());
        let new = r.json();
        assert_eq!(new["results"], old["Results"], "{q}");
        assert!(!new["results"].as_array().expect("rows").is_empty(), "{q}");
        let old_schema: Vec<(Value, Value)> = old["Schema"]
            .as_array()
            .expect("Schema")
            .iter()
            .map(|c| (c["Name"].clone(), c["Type"].clone()))
            .collect();
        let new_schema: Vec<(Value, Value)> = new["schema"]
            .as_array()
            .expect("schema")
            .iter()
            .map(|c| (c["name"].clone(), c["type"].clone()))
            .collect();
        assert_eq!(new_schema, old_schema, "{q}");
        // Graph's shape: the documented example's keys and no `Stats`.
        assert_eq!(keys(&new), keys(&sample("runHuntingQuery_response")));
        assert!(
            new["@odata.context"]
                .as_str()
                .expect("context")
                .ends_with("$metadata#microsoft.graph.security.huntingQueryResults")
        );
    }
}

#[tokio::test]
async fn run_hunting_query_applies_timespan_and_refuses_bad_input() {
    let e = demu();
    let t = e.graph_token(CONTOSO).await;
    let run = |body: Value| {
        let e = &e;
        let t = t.clone();
        async move {
            e.graph(
                "POST",
                "/v1.0/security/runHuntingQuery",
                Some(&t),
                Some(body),
            )
            .await
        }
    };
    let all = run(json!({"Query": "AlertInfo | count"})).await.json();
    let n = all["results"][0]["Count"].as_i64().expect("count");
    assert!(n > 0);
    // The generated data lies in the 30 days before the tenant was made (just now): a
    // window ending 31 days ago holds nothing, a wide one around now everything.
    let day = |d: i64| {
        (time::OffsetDateTime::now_utc() + time::Duration::days(d))
            .replace_nanosecond(0)
            .expect("ns")
            .format(&time::format_description::well_known::Rfc3339)
            .expect("format")
    };
    let none = run(json!({"Query": "AlertInfo | count", "Timespan": format!("P1D/{}", day(-31))}))
        .await
        .json();
    assert_eq!(none["results"][0]["Count"], 0, "{none}");
    let wide = run(json!({"Query": "AlertInfo | count", "Timespan": format!("P3650D/{}", day(1))}))
        .await
        .json();
    assert_eq!(wide["results"][0]["Count"], n, "{wide}");
    let m = run(json!({"Query": "AlertInfo | count", "Timespan": "last week"}))
        .await
        .graph_error(400, "BadRequest");
    assert!(m.contains("ISO 8601"), "{m}");
    run(json!({"Timespan": "P1D"}))
        .await
        .graph_error(400, "BadRequest");
    let m = run(json!({"Query": "NoSuchTable | take 1"}))
        .await
        .graph_error(400, "BadRequest");
    assert!(m.contains("Failed to resolve table"), "{m}");
}

#[tokio::test]
async fn alerts_v2_match_the_documented_alert() {
    let e = demu();
    let t = e.graph_token(CONTOSO).await;
    let r = e
        .graph("GET", "/v1.0/security/alerts_v2", Some(&t), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.headers["content-type"]
            .to_str()
            .expect("type")
            .starts_with("application/json;odata.metadata=minimal")
    );
    let v = r.json();
    let doc = sample("alerts_v2_list_response");
    assert!(keys(&doc).is_subset(&keys(&v)), "{}", v["@odata.context"]);
    let want = &doc["value"][0];
    let list = v["value"].as_array().expect("value");
    assert_eq!(list.len(), 30, "every alert of the tenant");
    for a in list {
        assert_eq!(keys(a), keys(want), "alert keys: {a}");
    }
    // Evidence of the kinds in the sample has the sample's keys.
    let mut seen = BTreeSet::new();
    for a in list {
        for ev in a["evidence"].as_array().expect("evidence") {
            let ty = ev["@odata.type"].as_str().expect("type");
            if let Some(doc_ev) = want["evidence"]
                .as_array()
                .expect("evidence")
                .iter()
                .find(|d| d["@odata.type"] == ty)
            {
                assert_eq!(keys(ev), keys(doc_ev), "{ty}");
                seen.insert(ty.to_owned());
            }
        }
    }
    for ty in ["deviceEvidence", "fileEvidence", "processEvidence"] {
        assert!(
            seen.contains(&format!("#microsoft.graph.security.{ty}")),
            "{ty} compared"
        );
    }
    // The same alert as /api/alerts, in Graph's words.
    let mde = e.token(CONTOSO).await;
    let m = e.api("GET", "/api/alerts", Some(&mde), None).await.json();
    let first = &m["value"][0];
    let g = list
        .iter()
        .find(|a| a["id"] == first["id"])
        .expect("same id");
    assert_eq!(g["title"], first["title"]);
    assert_eq!(g["incidentId"], first["incidentId"].to_string());
    assert_eq!(g["createdDateTime"], first["alertCreationTime"]);
    assert_eq!(
        g["severity"],
        first["severity"]
            .as_str()
            .expect("severity")
            .to_ascii_lowercase()
    );
    let one = e
        .graph(
            "GET",
            &format!("/v1.0/security/alerts_v2/{}", g["id"].as_str().expect("id")),
            Some(&t),
            None,
        )
        .await
        .json();
    assert_eq!(one["title"], g["title"]);
    assert!(
        one["@odata.context"]
            .as_str()
            .expect("context")
            .ends_with("$entity")
    );
}

#[tokio::test]
async fn incidents_match_the_documented_incident_and_expand_alerts() {
    let e = demu();
    let t = e.graph_token(CONTOSO).await;
    let v = e
        .graph("GET", "/v1.0/security/incidents?$top=50", Some(&t), None)
        .await
        .json();
    let doc = sample("incidents_list_response");
    assert!(keys(&doc).is_subset(&keys(&v)), "{v}");
    let list = v["value"].as_array().expect("value");
    assert!(!list.is_empty());
    for i in list {
        assert_eq!(keys(i), keys(&doc["value"][0]), "{i}");
    }
    let x = e
        .graph(
            "GET",
            "/v1.0/security/incidents?$top=5&$expand=alerts",
            Some(&t),
            None,
        )
        .await
        .json();
    let alerts_doc = sample("alerts_v2_list_response");
    let mut expanded = 0;
    for i in x["value"].as_array().expect("value") {
        let mut k = keys(&doc["value"][0]);
        k.insert("alerts".into());
        assert_eq!(keys(i), k);
        for a in i["alerts"].as_array().expect("alerts") {
            assert_eq!(a["incidentId"], i["id"]);
            assert_eq!(keys(a), keys(&alerts_doc["value"][0]));
            expanded += 1;
        }
    }
    assert!(expanded >= 5);
    // Every alert belongs to exactly one incident.
    let a = e
        .graph("GET", "/v1.0/security/alerts_v2", Some(&t), None)
        .await
        .json();
    let mut from_incidents = Vec::new();
    let mut next = Some("/v1.0/security/incidents?$expand=alerts&$top=50".to_owned());
    let mut pages = 0;
    while let Some(path) = next {
        let p = e.graph("GET", &path, Some(&t), None).await.json();
        for i in p["value"].as_array().expect("value") {
            for a in i["alerts"].as_array().expect("alerts") {
                from_incidents.push(a["id"].as_str().expect("id").to_owned());
            }
        }
        next = p["@odata.nextLink"]
            .as_str()
            .map(|l| l.trim_start_matches("https://graph.localhost").to_owned());
        pages += 1;
    }
    assert!(pages >= 1);
    let mut all: Vec<String> = a["value"]
        .as_array()
        .expect("value")
        .iter()
        .map(|a| a["id"].as_str().expect("id").to_owned())
        .collect();
    all.sort();
    from_incidents.sort();
    assert_eq!(from_incidents, all);
    let id = list[0]["id"].as_str().expect("id");
    let one = e
        .graph(
            "GET",
            &format!("/v1.0/security/incidents/{id}?$expand=alerts"),
            Some(&t),
            None,
        )
        .await
        .json();
    assert_eq!(one["id"], id);
    assert!(!one["alerts"].as_array().expect("alerts").is_empty());
}

#[tokio::test]
async fn incidents_refuse_top_over_50_as_graph_does() {
    let e = demu();
    let t = e.graph_token(CONTOSO).await;
    let r = e
        .graph("GET", "/v1.0/security/incidents?$top=100", Some(&t), None)
        .await;
    // The captured refusal: 400, an empty code and this message (graph-security.md §4.1).
    let m = r.graph_error(400, "");
    assert_eq!(
        m,
        "The limit of '50' for Top query has been exceeded. The value from the incoming request is '100'."
    );
    let r = e
        .graph("GET", "/v1.0/security/incidents?$top=51", Some(&t), None)
        .await;
    assert_eq!(r.status, 400);
    let r = e
        .graph(
            "GET",
            "/v1.0/security/incidents?$expand=evidence",
            Some(&t),
            None,
        )
        .await;
    r.graph_error(400, "BadRequest");
}

#[tokio::test]
async fn alerts_v2_filter_top_skip_and_next_link() {
    let e = emu_from(&scenario("mde_page_size = 7"));
    let t = e.graph_token(CONTOSO).await;
    let mut ids = Vec::new();
    let mut next = Some("/v1.0/security/alerts_v2".to_owned());
    while let Some(path) = next {
        let p = e.graph("GET", &path, Some(&t), None).await;
        assert_eq!(p.status, 200, "{path}: {}", p.text());
        let p = p.json();
        let page = p["value"].as_array().expect("value");
        assert!(page.len() <= 7);
        ids.extend(page.iter().map(|a| a["id"].clone()));
        next = p["@odata.nextLink"].as_str().map(|l| {
            assert!(
                l.starts_with("https://graph.localhost/v1.0/security/alerts_v2?"),
                "{l}"
            );
            l.trim_start_matches("https://graph.localhost").to_owned()
        });
    }
    assert_eq!(ids.len(), 30);
    let high = e
        .graph(
            "GET",
            "/v1.0/security/alerts_v2?$filter=severity eq 'high'",
            Some(&t),
            None,
        )
        .await
        .json();
    let high = high["value"].as_array().expect("value");
    assert!(!high.is_empty() && high.iter().all(|a| a["severity"] == "high"));
    let skip = e
        .graph(
            "GET",
            "/v1.0/security/alerts_v2?$top=3&$skip=2",
            Some(&t),
            None,
        )
        .await
        .json();
    assert_eq!(
        skip["value"]
            .as_array()
            .expect("value")
            .iter()
            .map(|a| a["id"].clone())
            .collect::<Vec<_>>(),
        ids[2..5].to_vec()
    );
    let r = e
        .graph(
            "GET",
            "/v1.0/security/alerts_v2?$filter=title eq 'x'",
            Some(&t),
            None,
        )
        .await;
    r.graph_error(400, "BadRequest");
}

#[tokio::test]
async fn updates_are_shared_between_alerts_v2_and_the_mde_api() {
    let e = demu();
    let t = e.graph_token(CONTOSO).await;
    let mde = e.token(CONTOSO).await;
    let list = e
        .graph(
            "GET",
            "/v1.0/security/alerts_v2?$filter=status eq 'new'",
            Some(&t),
            None,
        )
        .await
        .json();
    let id = list["value"][0]["id"]
        .as_str()
        .expect("a new alert")
        .to_owned();
    let r = e
        .graph(
            "PATCH",
            &format!("/v1.0/security/alerts_v2/{id}"),
            Some(&t),
            Some(json!({"status": "inProgress", "assignedTo": "soc@fabrikam.com", "classification": "truePositive", "determination": "malware"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "inProgress");
    let m = e
        .api("GET", &format!("/api/alerts/{id}"), Some(&mde), None)
        .await
        .json();
    assert_eq!(
        (
            &m["status"],
            &m["assignedTo"],
            &m["classification"],
            &m["determination"]
        ),
        (
            &json!("InProgress"),
            &json!("soc@fabrikam.com"),
            &json!("TruePositive"),
            &json!("Malware")
        )
    );
    let r = e
        .api(
            "PATCH",
            &format!("/api/alerts/{id}"),
            Some(&mde),
            Some(json!({"status": "Resolved"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let g = e
        .graph(
            "GET",
            &format!("/v1.0/security/alerts_v2/{id}"),
            Some(&t),
            None,
        )
        .await
        .json();
    assert_eq!(g["status"], "resolved");
    assert!(g["resolvedDateTime"].is_string());
    let r = e
        .graph(
            "PATCH",
            &format!("/v1.0/security/alerts_v2/{id}"),
            Some(&t),
            Some(json!({"status": "done"})),
        )
        .await;
    let m = r.graph_error(400, "BadRequest");
    assert!(m.contains("new, inProgress, resolved"), "{m}");
    let r = e
        .graph(
            "PATCH",
            &format!("/v1.0/security/alerts_v2/{id}"),
            Some(&t),
            Some(json!({"title": "x"})),
        )
        .await;
    r.graph_error(400, "BadRequest");
}

#[tokio::test]
async fn updating_an_incident_updates_its_alerts_and_keeps_its_tags() {
    let e = demu();
    let t = e.graph_token(CONTOSO).await;
    let mde = e.token(CONTOSO).await;
    let list = e
        .graph(
            "GET",
            "/v1.0/security/incidents?$filter=status eq 'active'&$expand=alerts&$top=1",
            Some(&t),
            None,
        )
        .await
        .json();
    let inc = &list["value"][0];
    let id = inc["id"].as_str().expect("an active incident").to_owned();
    let r = e
        .graph(
            "PATCH",
            &format!("/v1.0/security/incidents/{id}"),
            Some(&t),
            Some(json!({"status": "resolved", "customTags": ["Demo"], "classification": "falsePositive", "determination": "notMalicious", "resolvingComment": "benign"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["status"], "resolved");
    assert_eq!(v["customTags"], json!(["Demo"]));
    assert_eq!(v["classification"], "falsePositive");
    assert_eq!(v["resolvingComment"], "benign");
    assert_eq!(v["lastModifiedBy"], format!("API-App:{APP}"));
    for a in inc["alerts"].as_array().expect("alerts") {
        let aid = a["id"].as_str().expect("id");
        let m = e
            .api("GET", &format!("/api/alerts/{aid}"), Some(&mde), None)
            .await
            .json();
        assert_eq!(m["status"], "Resolved", "{m}");
        assert_eq!(m["determination"], "Clean", "{m}");
    }
    let again = e
        .graph(
            "GET",
            &format!("/v1.0/security/incidents/{id}"),
            Some(&t),
            None,
        )
        .await
        .json();
    assert_eq!(again["customTags"], json!(["Demo"]));
    let r = e
        .graph(
            "PATCH",
            &format!("/v1.0/security/incidents/{id}"),
            Some(&t),
            Some(json!({"status": "active"})),
        )
        .await;
    assert_eq!(r.json()["status"], "active");
    let r = e
        .graph(
            "PATCH",
            &format!("/v1.0/security/incidents/{id}"),
            Some(&t),
            Some(json!({"priorityScore": 1})),
        )
        .await;
    r.graph_error(400, "BadRequest");
}

#[tokio::test]
async fn roles_and_tenants_are_enforced() {
    let e = demu();
    let read_alerts = e
        .graph_token_with(CONTOSO, &["SecurityAlert.Read.All"])
        .await;
    let r = e
        .graph("GET", "/v1.0/security/incidents", Some(&read_alerts), None)
        .await;
    let m = r.graph_error(403, "Forbidden");
    assert!(m.contains("SecurityIncident.Read.All"), "{m}");
    let r = e
        .graph(
            "POST",
            "/v1.0/security/runHuntingQuery",
            Some(&read_alerts),
            Some(json!({"Query": "AlertInfo | take 1"})),
        )
        .await;
    r.graph_error(403, "Forbidden");
    let list = e
        .graph(
            "GET",
            "/v1.0/security/alerts_v2?$top=1",
            Some(&read_alerts),
            None,
        )
        .await
        .json();
    let id = list["value"][0]["id"].as_str().expect("id").to_owned();
    let r = e
        .graph(
            "PATCH",
            &format!("/v1.0/security/alerts_v2/{id}"),
            Some(&read_alerts),
            Some(json!({"status": "resolved"})),
        )
        .await;
    r.graph_error(403, "Forbidden");
    // Woodgrove's token does not see Contoso's alert.
    let w = e.graph_token(WOODGROVE).await;
    let r = e
        .graph(
            "GET",
            &format!("/v1.0/security/alerts_v2/{id}"),
            Some(&w),
            None,
        )
        .await;
    r.graph_error(404, "NotFound");
}

#[tokio::test]
async fn graph_quotas_answer_429_with_retry_after() {
    let e = emu_from(&scenario(
        "graph_calls_per_minute = 3\ngraph_hunting_calls_per_minute = 2",
    ));
    let t = e.graph_token(CONTOSO).await;
    for _ in 0..3 {
        let r = e
            .graph("GET", "/v1.0/security/alerts_v2?$top=1", Some(&t), None)
            .await;
        assert_eq!(r.status, 200);
    }
    let r = e
        .graph("GET", "/v1.0/security/incidents?$top=1", Some(&t), None)
        .await;
    r.graph_error(429, "TooManyRequests");
    let secs: u64 = r.headers["retry-after"]
        .to_str()
        .expect("retry-after")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&secs));
    // Hunting has its own quota, per tenant.
    for _ in 0..2 {
        let r = e
            .graph(
                "POST",
                "/v1.0/security/runHuntingQuery",
                Some(&t),
                Some(json!({"Query": "AlertInfo | take 1"})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let r = e
        .graph(
            "POST",
            "/v1.0/security/runHuntingQuery",
            Some(&t),
            Some(json!({"Query": "AlertInfo | take 1"})),
        )
        .await;
    let m = r.graph_error(429, "TooManyRequests");
    assert!(m.contains("hunting"), "{m}");
    // Another tenant has its own quotas.
    let w = e.graph_token(WOODGROVE).await;
    let r = e
        .graph("GET", "/v1.0/security/alerts_v2?$top=1", Some(&w), None)
        .await;
    assert_eq!(r.status, 200);
    let s = e.admin("GET", "/_emulator/state", None).await.json();
    assert_eq!(s["defender"]["graph_calls_per_minute"], 3);
}

/// Faults injected on Graph paths answer as Graph does: its envelope with the request's
/// ids, its codes, `Retry-After` as set.
#[tokio::test]
async fn injected_faults_on_graph_paths_answer_in_graphs_envelope() {
    let e = demu();
    let t = e.graph_token(CONTOSO).await;
    let r = e
        .admin(
            "POST",
            "/_emulator/faults",
            Some(json!({"path": "/v1.0/security/*", "status": 503, "retry_after": 4, "count": 1})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let client_id = "c0ffee00-0000-4000-8000-000000000042";
    let r = e
        .send(
            Request::get("/v1.0/security/alerts_v2?$top=1")
                .header("host", "graph.localhost")
                .header("authorization", format!("Bearer {t}"))
                .header("client-request-id", client_id)
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    let m = r.graph_error(503, "ServiceNotAvailable");
    assert!(m.contains("Injected fault"), "{m}");
    assert_eq!(r.headers["retry-after"], "4");
    assert_eq!(r.headers["client-request-id"], client_id);
    // `count = 1`: the next call is served.
    let r = e
        .graph("GET", "/v1.0/security/alerts_v2?$top=1", Some(&t), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());

    for (status, code) in [(429, "TooManyRequests"), (500, "UnknownError")] {
        let r = e
            .admin(
                "POST",
                "/_emulator/faults",
                Some(json!({"path": "/beta/security/*", "status": status, "retry_after": 2, "count": 1})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let r = e
            .graph("GET", "/beta/security/incidents", Some(&t), None)
            .await;
        r.graph_error(status, code);
        assert_eq!(r.headers["retry-after"], "2");
    }
}

#[test]
fn scenario_keys_graph_permissions_refuse_what_is_not_graphs() {
    let base = scenario("");
    let bad = base.replacen(
        "graph_permissions = [",
        "graph_permissions = [\"Alert.Read.All\", ",
        1,
    );
    let err = mdep_emulator::scenario::Scenario::parse(&bad, std::path::Path::new("s.toml"))
        .expect_err("MDE role under graph_permissions")
        .to_string();
    assert!(
        err.contains("s.toml:")
            && err.contains("'Alert.Read.All' is not a Microsoft Graph application permission"),
        "{err}"
    );
    let bad = base.replacen(
        "permissions = [",
        "permissions = [\"ThreatHunting.Read.All\", ",
        1,
    );
    let err = mdep_emulator::scenario::Scenario::parse(&bad, std::path::Path::new("s.toml"))
        .expect_err("Graph role under permissions")
        .to_string();
    assert!(err.contains("list it under graph_permissions"), "{err}");
}

#[tokio::test]
async fn hunting_is_refused_where_the_licence_leaves_it_out_on_both_apis() {
    for (licence, product) in [
        ("defender-for-business", "Microsoft Defender for Business"),
        ("mde-p1", "Microsoft Defender for Endpoint Plan 1"),
    ] {
        let text = scenario("mde_calls_per_minute = 100000").replace(
            "name = \"Woodgrove\"",
            &format!("name = \"Woodgrove\"\nlicence = \"{licence}\""),
        );
        let e = emu_from(&text);
        let q = json!({"Query": "AlertInfo | count"});
        // MDE: 403 DisabledFeature ("Tenant feature isn't enabled", mde-api.md §6.3).
        let g = e
            .graph_token_with(
                WOODGROVE,
                &[
                    "AdvancedQuery.Read.All",
                    "ThreatHunting.Read.All",
                    "Alert.Read.All",
                ],
            )
            .await;
        let t = e.token(WOODGROVE).await;
        let r = e
            .api(
                "POST",
                "/api/advancedqueries/run",
                Some(&t),
                Some(q.clone()),
            )
            .await;
        let m = r.mde_error(403, "DisabledFeature");
        assert!(m.contains("not included in") && m.contains(product), "{m}");
        // Graph: 403 Forbidden in Graph's envelope, naming the product.
        let r = e
            .graph(
                "POST",
                "/v1.0/security/runHuntingQuery",
                Some(&g),
                Some(q.clone()),
            )
            .await;
        let m = r.graph_error(403, "Forbidden");
        assert!(m.contains("not included in") && m.contains(product), "{m}");
        // The roles are checked first: no role, the role's 403.
        let t = e.token_with(WOODGROVE, &["Alert.Read.All"]).await;
        let r = e
            .api(
                "POST",
                "/api/advancedqueries/run",
                Some(&t),
                Some(q.clone()),
            )
            .await;
        assert!(
            r.mde_error(403, "Forbidden")
                .contains("AdvancedQuery.Read.All")
        );
        // A Plan 2 tenant (the default) of the same emulator hunts.
        let g = e.graph_token(CONTOSO).await;
        let r = e
            .graph("POST", "/v1.0/security/runHuntingQuery", Some(&g), Some(q))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        // Other endpoints are not affected by the licence.
        let t = e.token_with(WOODGROVE, &["Alert.Read.All"]).await;
        let r = e.api("GET", "/api/alerts", Some(&t), None).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
}

#[test]
fn an_unknown_licence_is_refused_where_it_stands() {
    let text = scenario("").replace(
        "name = \"Woodgrove\"",
        "name = \"Woodgrove\"\nlicence = \"e5\"",
    );
    let err = mdep_emulator::scenario::Scenario::parse(&text, std::path::Path::new("s.toml"))
        .and_then(|s| {
            let state = mdep_emulator::Emulator::open(None, s.open_options()).expect("emulator");
            s.apply(&state).map(|_| ())
        })
        .expect_err("refused");
    let m = err.to_string();
    assert!(
        m.contains("s.toml:") && m.contains("unknown licence 'e5'"),
        "{m}"
    );
}

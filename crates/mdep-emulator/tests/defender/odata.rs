//! OData over HTTP: filters on documented fields, paging by `@odata.nextLink` with a
//! configurable page size, `$expand`, `$select`, `$orderby`, and 400s (never 500s) for
//! what does not parse.

use super::*;

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn filters_on_documented_fields() {
    let e = demu();
    let t = e.token(CONTOSO).await;
    let all = e.api("GET", "/api/alerts", Some(&t), None).await.json();
    let all = all["value"].as_array().expect("list").clone();
    let count = |pred: &dyn Fn(&Value) -> bool| all.iter().filter(|a| pred(a)).count();
    for (filter, expected) in [
        ("status eq 'New'", count(&|a| a["status"] == "New")),
        (
            "severity eq 'High' or severity eq 'Medium'",
            count(&|a| a["severity"] == "High" || a["severity"] == "Medium"),
        ),
        (
            "severity in ('High', 'Medium') and status ne 'Resolved'",
            count(&|a| {
                (a["severity"] == "High" || a["severity"] == "Medium") && a["status"] != "Resolved"
            }),
        ),
        (
            "(status eq 'New') and (category eq 'Execution')",
            count(&|a| a["status"] == "New" && a["category"] == "Execution"),
        ),
        (
            "alertCreationTime ge 2026-10-15T00:00:00Z",
            count(&|a| {
                a["alertCreationTime"]
                    .as_str()
                    .is_some_and(|s| s >= "2026-10-15")
            }),
        ),
        (
            "investigationId eq null",
            count(&|a| a["investigationId"].is_null()),
        ),
    ] {
        let r = e
            .api(
                "GET",
                &format!("/api/alerts?$filter={}", enc(filter)),
                Some(&t),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{filter}: {}", r.text());
        assert_eq!(
            r.json()["value"].as_array().map(Vec::len),
            Some(expected),
            "{filter}"
        );
    }
    // The documented '+' spelling of spaces.
    let r = e
        .api(
            "GET",
            "/api/machines?$filter=riskScore+eq+'High'",
            Some(&t),
            None,
        )
        .await
        .json();
    for m in r["value"].as_array().expect("list") {
        assert_eq!(m["riskScore"], "High");
    }
    let tagged = e
        .api(
            "GET",
            &format!(
                "/api/machines?$filter={}",
                enc("machineTags/any(tag: tag eq 'VIP')")
            ),
            Some(&t),
            None,
        )
        .await;
    assert_eq!(tagged.status, 200, "{}", tagged.text());
}

#[tokio::test]
async fn bad_queries_are_400_with_mde_body() {
    let e = demu();
    let t = e.token(CONTOSO).await;
    for (query, needle) in [
        ("$filter=title eq 'x'", "'title'"),
        ("$filter=status eqq 'New'", "Syntax error at position 7"),
        ("$filter=status eq 'New", "unterminated"),
        ("$filter=(((", "Syntax error"),
        (
            "$filter=alertCreationTime gt 'last week'",
            "Edm.DateTimeOffset",
        ),
        ("$top=10001", "10000"),
        ("$top=abc", "$top"),
        ("$skip=-3", "$skip"),
        ("$orderby=nonsense desc", "'nonsense'"),
        ("$select=id,nope", "'nope'"),
        ("$expand=machine", "'machine'"),
        ("$apply=groupby((status))", "'$apply'"),
    ] {
        let r = e
            .api(
                "GET",
                &format!(
                    "/api/alerts?{}",
                    query.replace(' ', "%20").replace('\'', "%27")
                ),
                Some(&t),
                None,
            )
            .await;
        let msg = r.mde_error(400, "ODataError");
        assert!(msg.contains(needle), "{query}: {msg}");
    }
    e.api("GET", "/api/machines?$expand=evidence", Some(&t), None)
        .await
        .mde_error(400, "ODataError");
    e.api(
        "GET",
        &format!("/api/machineactions?$filter={}", enc("severity eq 'High'")),
        Some(&t),
        None,
    )
    .await
    .mde_error(400, "ODataError");
    // Whatever the bytes, the answer is a 200 or a 400.
    for junk in [
        "%00",
        "%FF%FE",
        "$filter=%27%27%27",
        "$filter=a/any(",
        "$top=99999999999999999999",
        "$filter=not",
        "&&&==",
        "$filter=",
    ] {
        let r = e
            .api("GET", &format!("/api/alerts?{junk}"), Some(&t), None)
            .await;
        assert!(
            r.status == 200 || r.status == 400,
            "{junk}: {} {}",
            r.status,
            r.text()
        );
    }
}

#[tokio::test]
async fn next_links_walk_every_page() {
    let e = emu_from(&scenario(
        "mde_page_size = 4\nmde_calls_per_minute = 100000\nmde_calls_per_hour = 1000000",
    ));
    let t = e.token(CONTOSO).await;
    let mut url =
        "/api/alerts?$filter=status+ne+'Unknown'&$orderby=alertCreationTime+desc".to_owned();
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let r = e.api("GET", &url, Some(&t), None).await;
        assert_eq!(r.status, 200, "{url}: {}", r.text());
        let v = r.json();
        let items = v["value"].as_array().expect("list");
        assert!(items.len() <= 4);
        seen.extend(items.iter().map(|a| {
            a["alertCreationTime"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        }));
        pages += 1;
        match v["@odata.nextLink"].as_str() {
            Some(next) => {
                url = next
                    .strip_prefix("https://api.securitycenter.localhost")
                    .expect("absolute link to the same host")
                    .to_owned();
            }
            None => break,
        }
    }
    assert_eq!((seen.len(), pages), (30, 8));
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "order holds across pages");

    // $top caps the total; pages stop there.
    let v = e
        .api("GET", "/api/alerts?$top=6", Some(&t), None)
        .await
        .json();
    let next = v["@odata.nextLink"].as_str().expect("more within $top");
    assert!(
        next.contains("%24top=2") && next.contains("%24skip=4"),
        "{next}"
    );
    let path = next
        .strip_prefix("https://api.securitycenter.localhost")
        .expect("host");
    let v = e.api("GET", path, Some(&t), None).await.json();
    assert_eq!(v["value"].as_array().map(Vec::len), Some(2));
    assert!(v.get("@odata.nextLink").is_none());
}

#[tokio::test]
async fn expand_select_and_order() {
    let e = demu();
    let t = e.token(CONTOSO).await;
    let v = e
        .api(
            "GET",
            "/api/alerts?$top=10&$expand=evidence",
            Some(&t),
            None,
        )
        .await
        .json();
    let items = v["value"].as_array().expect("list");
    assert_eq!(items.len(), 10);
    assert!(
        items
            .iter()
            .all(|a| !a["evidence"].as_array().expect("evidence").is_empty())
    );
    let v = e
        .api(
            "GET",
            "/api/machines?$select=id,computerDnsName&$orderby=computerDnsName",
            Some(&t),
            None,
        )
        .await
        .json();
    let items = v["value"].as_array().expect("list");
    assert!(
        items
            .iter()
            .all(|m| m.as_object().map(|o| o.len()) == Some(2))
    );
    let names: Vec<&str> = items
        .iter()
        .filter_map(|m| m["computerDnsName"].as_str())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    let v = e
        .api("GET", "/api/alerts?$count=true&$top=1", Some(&t), None)
        .await
        .json();
    assert_eq!(v["@odata.count"], 30);
}

#[tokio::test]
async fn whole_alerts_are_the_same_through_every_path() {
    // Lists of whole alerts are written from cached text; with $select they are built
    // from values. Both must say the same, before and after an update.
    let e = demu();
    let t = e.token(CONTOSO).await;
    let all = "id,incidentId,investigationId,assignedTo,severity,status,classification,determination,investigationState,detectionSource,detectorId,category,threatFamilyName,title,description,alertCreationTime,firstEventTime,lastEventTime,lastUpdateTime,resolvedTime,machineId,computerDnsName,rbacGroupName,aadTenantId,threatName,mitreTechniques,relatedUser,loggedOnUsers,comments,evidence";
    for round in 0..2 {
        let fast = e
            .api("GET", "/api/alerts?$top=7&$skip=3", Some(&t), None)
            .await
            .json();
        let slow = e
            .api(
                "GET",
                &format!("/api/alerts?$top=7&$skip=3&$select={all}"),
                Some(&t),
                None,
            )
            .await
            .json();
        assert_eq!(fast, slow, "round {round}");
        let id = first(&fast)["id"].as_str().expect("id").to_owned();
        let r = e
            .api(
                "PATCH",
                &format!("/api/alerts/{id}"),
                Some(&t),
                Some(serde_json::json!({"status": "InProgress", "comment": "x"})),
            )
            .await;
        assert_eq!(r.status, 200);
        let again = e
            .api("GET", "/api/alerts?$top=7&$skip=3", Some(&t), None)
            .await
            .json();
        assert_eq!(
            first(&again)["status"],
            "InProgress",
            "the cached text follows updates"
        );
    }
}

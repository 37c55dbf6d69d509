//! Files, IPs and domains, the exposure score, and the TVM lists: derived from the
//! tenant's data, shaped as Microsoft's samples.

use super::*;

#[tokio::test]
async fn profiles_and_statistics_follow_the_evidence() {
    let e = demu();
    let t = e
        .token_with(
            CONTOSO,
            &[
                "Alert.Read.All",
                "File.Read.All",
                "Ip.Read.All",
                "Url.Read.All",
                "Score.Read.All",
                "Software.Read.All",
                "Vulnerability.Read.All",
            ],
        )
        .await;
    let alerts = e
        .api("GET", "/api/alerts?$expand=evidence", Some(&t), None)
        .await
        .json();
    let evidence: Vec<Value> = alerts["value"]
        .as_array()
        .expect("alerts")
        .iter()
        .flat_map(|a| a["evidence"].as_array().cloned().unwrap_or_default())
        .collect();
    let file = evidence
        .iter()
        .find(|x| x["entityType"] == "File")
        .expect("a file");
    let sha1 = file["sha1"].as_str().expect("sha1");
    let sha256 = file["sha256"].as_str().expect("sha256");
    let by1 = e
        .api("GET", &format!("/api/files/{sha1}"), Some(&t), None)
        .await
        .json();
    let by256 = e
        .api("GET", &format!("/api/files/{sha256}"), Some(&t), None)
        .await
        .json();
    assert_eq!(by1, by256);
    assert_eq!(by1["sha256"], sha256);
    e.api(
        "GET",
        &format!("/api/files/{}", "0".repeat(40)),
        Some(&t),
        None,
    )
    .await
    .mde_error(404, "ResourceNotFound");
    e.api("GET", "/api/files/xyz", Some(&t), None)
        .await
        .mde_error(400, "InvalidHashValue");
    let stats = e
        .api(
            "GET",
            &format!("/api/files/{sha1}/stats?lookBackHours=48"),
            Some(&t),
            None,
        )
        .await
        .json();
    assert!(stats["organizationPrevalence"].as_u64().expect("n") >= 1);
    assert_eq!(stats["topFileNames"][0], file["fileName"]);
    e.api(
        "GET",
        &format!("/api/files/{sha1}/stats?lookBackHours=9999"),
        Some(&t),
        None,
    )
    .await
    .mde_error(400, "InvalidInput");

    let ip = evidence
        .iter()
        .find_map(|x| x["ipAddress"].as_str())
        .expect("an IP");
    let s = e
        .api("GET", &format!("/api/ips/{ip}/stats"), Some(&t), None)
        .await
        .json();
    assert!(s["organizationPrevalence"].as_u64().expect("n") >= 1);
    let none = e
        .api("GET", "/api/ips/192.0.2.200/stats", Some(&t), None)
        .await
        .json();
    assert_eq!(none["organizationPrevalence"], 0);
    assert!(none["orgFirstSeen"].is_null());
    e.api("GET", "/api/ips/999.1.1.1/stats", Some(&t), None)
        .await
        .mde_error(400, "InvalidIpAddress");
    let host = evidence
        .iter()
        .find_map(|x| x["url"].as_str())
        .expect("a URL");
    let s = e
        .api("GET", &format!("/api/domains/{host}/stats"), Some(&t), None)
        .await
        .json();
    assert!(s["organizationPrevalence"].as_u64().expect("n") >= 1);
    e.api("GET", "/api/domains/not_a_domain/stats", Some(&t), None)
        .await
        .mde_error(400, "InvalidDomainName");

    let score = e
        .api("GET", "/api/exposureScore", Some(&t), None)
        .await
        .json();
    let x = score["score"].as_f64().expect("score");
    assert!((0.0..=100.0).contains(&x));
    let sw = e
        .api(
            "GET",
            "/api/Software?$filter=vendor eq 'microsoft'",
            Some(&t),
            None,
        )
        .await
        .json();
    assert!(
        sw["value"]
            .as_array()
            .expect("list")
            .iter()
            .all(|s| s["vendor"] == "microsoft")
    );
    let v = e
        .api(
            "GET",
            "/api/vulnerabilities?$filter=severity ge 'High'&$orderby=cvssV3 desc",
            Some(&t),
            None,
        )
        .await
        .json();
    let list = v["value"].as_array().expect("list");
    assert!(!list.is_empty());
    assert!(
        list.iter()
            .all(|x| x["severity"] == "High" || x["severity"] == "Critical")
    );
    e.api("GET", "/api/vulnerabilities?$top=8001", Some(&t), None)
        .await
        .mde_error(400, "ODataError");
    assert_eq!(
        e.api("GET", "/api/vulnerabilities?$top=8000", Some(&t), None)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn per_device_software_adds_up_to_the_tenant_list() {
    let e = demu();
    let t = e
        .token_with(
            CONTOSO,
            &[
                "Machine.Read.All",
                "Software.Read.All",
                "Vulnerability.Read.All",
                "Score.Read.All",
            ],
        )
        .await;
    let machines = e.api("GET", "/api/machines", Some(&t), None).await.json();
    let mut per_product: std::collections::HashMap<String, i64> = Default::default();
    for m in machines["value"].as_array().expect("machines") {
        let id = m["id"].as_str().expect("id");
        let sw = e
            .api(
                "GET",
                &format!("/api/machines/{id}/software"),
                Some(&t),
                None,
            )
            .await
            .json();
        for s in sw["value"].as_array().expect("software") {
            *per_product
                .entry(s["id"].as_str().expect("id").to_owned())
                .or_default() += 1;
        }
        let v = e
            .api(
                "GET",
                &format!("/api/machines/{id}/vulnerabilities"),
                Some(&t),
                None,
            )
            .await;
        assert_eq!(v.status, 200, "{}", v.text());
    }
    let all = e.api("GET", "/api/Software", Some(&t), None).await.json();
    for s in all["value"].as_array().expect("software") {
        assert_eq!(
            Some(&s["exposedMachines"].as_i64().expect("n")),
            per_product.get(s["id"].as_str().expect("id")),
            "{s}"
        );
    }
    e.api("GET", "/api/machines/nope/software", Some(&t), None)
        .await
        .mde_error(404, "ResourceNotFound");
    let score = e
        .api("GET", "/api/configurationScore", Some(&t), None)
        .await
        .json();
    assert!((0..=1000).contains(&score["score"].as_i64().expect("score")));
}

//! Vulnerability management (`mde-api.md` §4.4, §4.8): find by IP, recommendations,
//! software, vulnerabilities by machine, the assessment exports and remediation tasks,
//! derived from the tenant's generated software/CVE table and shaped as Microsoft's
//! samples.

use super::*;
use std::collections::BTreeSet;

/// The keys of an object.
fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().expect("an object").keys().cloned().collect()
}

/// The keys of the first item of fixture `name` (a list sample).
fn sample_keys(name: &str) -> BTreeSet<String> {
    let path = format!(
        "{}/tests/fixtures/samples/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture"))
        .expect("fixture json");
    keys(first(&v))
}

#[tokio::test]
async fn find_by_ip_answers_devices_seen_with_the_address_around_the_time() {
    let e = demu();
    let t = e.token_with(CONTOSO, &["Machine.Read.All"]).await;
    let all = e.api("GET", "/api/machines", Some(&t), None).await.json();
    let m = first(&all);
    let ip = m["lastIpAddress"].as_str().expect("ip");
    let seen = m["lastSeen"].as_str().expect("lastSeen");
    let at = time::OffsetDateTime::parse(seen, &time::format_description::well_known::Rfc3339)
        .expect("time");
    let fmt = |t: time::OffsetDateTime| {
        t.replace_nanosecond(0)
            .expect("ns")
            .format(&time::format_description::well_known::Rfc3339)
            .expect("fmt")
    };
    let near = fmt(at + time::Duration::minutes(10));
    let r = e
        .api(
            "GET",
            &format!("/api/machines/findbyip(ip='{ip}',timestamp={near})"),
            Some(&t),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert!(
        v["@odata.context"]
            .as_str()
            .expect("ctx")
            .ends_with("#Machines")
    );
    let ids: Vec<&Value> = v["value"]
        .as_array()
        .expect("value")
        .iter()
        .map(|x| &x["id"])
        .collect();
    assert!(ids.contains(&&m["id"]), "{v}");
    assert!(
        v["value"]
            .as_array()
            .expect("value")
            .iter()
            .all(|x| x["lastIpAddress"] == ip)
    );
    // 20 minutes after the last sighting: outside the ±15 minute window.
    let later = fmt(at + time::Duration::minutes(20));
    let v = e
        .api(
            "GET",
            &format!("/api/machines/findbyip(ip='{ip}',timestamp={later})"),
            Some(&t),
            None,
        )
        .await
        .json();
    assert!(
        !v["value"]
            .as_array()
            .expect("value")
            .iter()
            .any(|x| x["id"] == m["id"]),
        "{v}"
    );
    // Older than 30 days, a bad address, a bad time.
    let old = fmt(time::OffsetDateTime::now_utc() - time::Duration::days(31));
    e.api(
        "GET",
        &format!("/api/machines/findbyip(ip='{ip}',timestamp={old})"),
        Some(&t),
        None,
    )
    .await
    .mde_error(400, "InvalidInput");
    e.api(
        "GET",
        &format!("/api/machines/findbyip(ip='10.0.0.999',timestamp={near})"),
        Some(&t),
        None,
    )
    .await
    .mde_error(400, "InvalidIpAddress");
    e.api(
        "GET",
        &format!("/api/machines/findbyip(ip='{ip}',timestamp=yesterday)"),
        Some(&t),
        None,
    )
    .await
    .mde_error(400, "InvalidInput");
    // Another tenant's devices are not found through it.
    let w = e.token_with(WOODGROVE, &["Machine.Read.All"]).await;
    let v = e
        .api(
            "GET",
            &format!("/api/machines/findbyip(ip='{ip}',timestamp={near})"),
            Some(&w),
            None,
        )
        .await
        .json();
    assert!(
        !v["value"]
            .as_array()
            .expect("value")
            .iter()
            .any(|x| x["id"] == m["id"])
    );
    // The machine by id still answers.
    let id = m["id"].as_str().expect("id");
    let r = e
        .api("GET", &format!("/api/machines/{id}"), Some(&t), None)
        .await;
    assert_eq!(r.json()["id"], id);
}

/// A token with every TVM role.
async fn tvm_token(e: &Emu, tenant: &str) -> String {
    e.token_with(
        tenant,
        &[
            "Machine.Read.All",
            "Software.Read.All",
            "Vulnerability.Read.All",
            "SecurityRecommendation.Read.All",
            "RemediationTasks.Read.All",
        ],
    )
    .await
}

/// GET `path`, 200, as JSON.
async fn get(e: &Emu, t: &str, path: &str) -> Value {
    let r = e.api("GET", path, Some(t), None).await;
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.json()
}

/// The items of a list answer.
fn items(v: &Value) -> &Vec<Value> {
    v["value"].as_array().expect("value")
}

#[tokio::test]
async fn recommendations_follow_the_vulnerable_software() {
    let e = demu();
    let t = tvm_token(&e, CONTOSO).await;
    let list = get(&e, &t, "/api/recommendations").await;
    assert!(
        list["@odata.context"]
            .as_str()
            .expect("ctx")
            .ends_with("#Recommendations")
    );
    let recs = items(&list);
    assert!(!recs.is_empty());
    assert_eq!(keys(&recs[0]), sample_keys("recommendations_list.json"));
    let software = get(&e, &t, "/api/Software").await;
    // One recommendation per vulnerable product on some device, with its counts.
    let vulnerable: Vec<&Value> = items(&software)
        .iter()
        .filter(|s| s["weaknesses"].as_u64() > Some(0))
        .collect();
    assert_eq!(recs.len(), vulnerable.len());
    for r in recs {
        let s = vulnerable
            .iter()
            .find(|s| format!("va-_-{}", s["id"].as_str().expect("id")) == r["id"])
            .expect("its software");
        assert_eq!(r["exposedMachinesCount"], s["exposedMachines"]);
        assert_eq!(r["weaknesses"], s["weaknesses"]);
        assert_eq!(r["remediationType"], "Update");
        assert!(
            !r["recommendedVersion"]
                .as_str()
                .expect("version")
                .is_empty()
        );
    }
    let r = &recs[0];
    let id = r["id"].as_str().expect("id");
    assert_eq!(
        get(&e, &t, &format!("/api/recommendations/{id}")).await["id"],
        id
    );
    let sw = get(&e, &t, &format!("/api/recommendations/{id}/software")).await;
    assert_eq!(
        format!("va-_-{}", items(&sw)[0]["id"].as_str().expect("id")),
        id
    );
    let vulns = get(
        &e,
        &t,
        &format!("/api/recommendations/{id}/vulnerabilities"),
    )
    .await;
    assert_eq!(
        items(&vulns).len() as u64,
        r["weaknesses"].as_u64().expect("n")
    );
    assert_eq!(
        keys(&items(&vulns)[0]),
        sample_keys("vulnerabilities_list.json")
    );
    let refs = get(
        &e,
        &t,
        &format!("/api/recommendations/{id}/machineReferences"),
    )
    .await;
    let refs = items(&refs);
    assert_eq!(
        refs.len() as u64,
        r["exposedMachinesCount"].as_u64().expect("n")
    );
    assert_eq!(
        keys(&refs[0]),
        ["computerDnsName", "id", "osPlatform", "rbacGroupName"]
            .map(String::from)
            .into_iter()
            .collect()
    );
    // Each exposed device lists it among its own recommendations.
    let mid = refs[0]["id"].as_str().expect("machine");
    let mine = get(&e, &t, &format!("/api/machines/{mid}/recommendations")).await;
    assert!(items(&mine).iter().any(|x| x["id"] == id));
    // $filter on documented fields; others are 400.
    let vendor = r["vendor"].as_str().expect("vendor");
    let f = get(
        &e,
        &t,
        &format!("/api/recommendations?$filter=vendor eq '{vendor}'"),
    )
    .await;
    assert!(!items(&f).is_empty() && items(&f).iter().all(|x| x["vendor"] == vendor));
    let f = get(&e, &t, "/api/recommendations?$filter=severityScore ge 9").await;
    assert!(
        items(&f)
            .iter()
            .all(|x| x["severityScore"].as_f64() >= Some(9.0))
    );
    e.api(
        "GET",
        "/api/recommendations?$filter=weaknesses eq 1",
        Some(&t),
        None,
    )
    .await
    .mde_error(400, "ODataError");
    // 404s in MDE's body.
    for p in [
        "/api/recommendations/va-_-nobody-_-nothing",
        "/api/recommendations/va-_-nobody-_-nothing/software",
        "/api/recommendations/va-_-nobody-_-nothing/machineReferences",
        "/api/recommendations/va-_-nobody-_-nothing/vulnerabilities",
        "/api/machines/nosuchmachine/recommendations",
    ] {
        e.api("GET", p, Some(&t), None)
            .await
            .mde_error(404, "ResourceNotFound");
    }
    // Another tenant's device is not found through this tenant.
    let w = tvm_token(&e, WOODGROVE).await;
    e.api(
        "GET",
        &format!("/api/machines/{mid}/recommendations"),
        Some(&w),
        None,
    )
    .await
    .mde_error(404, "ResourceNotFound");
}

#[tokio::test]
async fn software_vulnerabilities_and_missing_kbs_agree_with_the_inventory() {
    let e = demu();
    let t = tvm_token(&e, CONTOSO).await;
    let software = get(&e, &t, "/api/Software").await;
    let all = items(&software);
    let edge = all
        .iter()
        .find(|s| s["weaknesses"].as_u64() > Some(0))
        .expect("a vulnerable product");
    let id = edge["id"].as_str().expect("id");
    assert_eq!(&get(&e, &t, &format!("/api/Software/{id}")).await["id"], id);
    let dist = get(&e, &t, &format!("/api/Software/{id}/distributions")).await;
    assert!(
        dist["@odata.context"]
            .as_str()
            .expect("ctx")
            .ends_with("#Distributions")
    );
    assert_eq!(
        keys(&items(&dist)[0]),
        sample_keys("software_distributions.json")
    );
    let installs: u64 = items(&dist)
        .iter()
        .map(|x| x["installations"].as_u64().expect("n"))
        .sum();
    assert_eq!(installs, edge["exposedMachines"].as_u64().expect("n"));
    let refs = get(&e, &t, &format!("/api/Software/{id}/machineReferences")).await;
    assert_eq!(items(&refs).len() as u64, installs);
    let mid = items(&refs)[0]["id"].as_str().expect("machine").to_owned();
    let vulns = get(&e, &t, &format!("/api/Software/{id}/vulnerabilities")).await;
    assert_eq!(
        items(&vulns).len() as u64,
        edge["weaknesses"].as_u64().expect("n")
    );
    assert_eq!(
        keys(&items(&vulns)[0]),
        sample_keys("vulnerabilities_list.json")
    );

    // One CVE, its devices, and the (device, CVE) pairs.
    let cve = items(&vulns)[0]["id"].as_str().expect("cve").to_owned();
    let one = get(&e, &t, &format!("/api/vulnerabilities/{cve}")).await;
    assert_eq!(one["id"], cve.as_str());
    assert_eq!(
        keys(&one).len(),
        keys(&items(&vulns)[0]).len() + 1,
        "and @odata.context"
    );
    let on = get(
        &e,
        &t,
        &format!("/api/vulnerabilities/{cve}/machineReferences"),
    )
    .await;
    assert_eq!(
        items(&on).len() as u64,
        one["exposedMachines"].as_u64().expect("n")
    );
    let pairs = get(
        &e,
        &t,
        &format!("/api/vulnerabilities/machinesVulnerabilities?$filter=cveId eq '{cve}'"),
    )
    .await;
    assert_eq!(
        keys(&items(&pairs)[0]),
        sample_keys("vulnerabilities_machinesvulnerabilities.json")
    );
    let mut a: Vec<&Value> = items(&pairs).iter().map(|p| &p["machineId"]).collect();
    let mut b: Vec<&Value> = items(&on).iter().map(|m| &m["id"]).collect();
    a.sort_by_key(|v| v.as_str());
    b.sort_by_key(|v| v.as_str());
    assert_eq!(a, b);
    let mine = get(
        &e,
        &t,
        &format!("/api/vulnerabilities/machinesVulnerabilities?$filter=machineId eq '{mid}'"),
    )
    .await;
    let direct = get(&e, &t, &format!("/api/machines/{mid}/vulnerabilities")).await;
    assert_eq!(items(&mine).len(), items(&direct).len());
    e.api(
        "GET",
        "/api/vulnerabilities/machinesVulnerabilities?$filter=exposedMachines eq 1",
        Some(&t),
        None,
    )
    .await
    .mde_error(400, "ODataError");

    // Missing KBs: the products with a security update, per device and per product.
    let with_kb = get(
        &e,
        &t,
        "/api/vulnerabilities/machinesVulnerabilities?$filter=fixingKbId ne null",
    )
    .await;
    let pair = items(&with_kb).first().expect("a device missing a KB");
    let kb = pair["fixingKbId"].as_str().expect("kb");
    let m = pair["machineId"].as_str().expect("machine");
    let kbs = get(&e, &t, &format!("/api/machines/{m}/getmissingkbs")).await;
    let k = items(&kbs).iter().find(|x| x["id"] == kb).expect("its KB");
    assert_eq!(keys(k), sample_keys("machines_getmissingkbs.json"));
    let product = format!(
        "{}-_-{}",
        pair["productVendor"].as_str().expect("vendor"),
        pair["productName"].as_str().expect("name")
    );
    let by_product = get(&e, &t, &format!("/api/Software/{product}/getmissingkbs")).await;
    assert_eq!(items(&by_product)[0]["id"], kb);
    assert_eq!(
        items(&by_product)[0]["machineMissedOn"],
        k["machineMissedOn"]
    );

    // 404s in MDE's body; another tenant's device is not found.
    for p in [
        "/api/Software/nobody-_-nothing",
        "/api/Software/nobody-_-nothing/distributions",
        "/api/Software/nobody-_-nothing/machineReferences",
        "/api/Software/nobody-_-nothing/vulnerabilities",
        "/api/Software/nobody-_-nothing/getmissingkbs",
        "/api/machines/nosuchmachine/getmissingkbs",
        "/api/vulnerabilities/CVE-1999-0001",
        "/api/vulnerabilities/CVE-1999-0001/machineReferences",
    ] {
        e.api("GET", p, Some(&t), None)
            .await
            .mde_error(404, "ResourceNotFound");
    }
    let w = tvm_token(&e, WOODGROVE).await;
    e.api(
        "GET",
        &format!("/api/machines/{mid}/getmissingkbs"),
        Some(&w),
        None,
    )
    .await
    .mde_error(404, "ResourceNotFound");
}

#[tokio::test]
async fn assessment_by_machine_pages_with_next_links() {
    let e = demu();
    let t = tvm_token(&e, CONTOSO).await;
    let whole = get(&e, &t, "/api/machines/SoftwareVulnerabilitiesByMachine").await;
    assert!(
        whole["@odata.context"]
            .as_str()
            .expect("ctx")
            .ends_with("#Collection(microsoft.windowsDefenderATP.api.AssetVulnerability)")
    );
    assert!(whole.get("@odata.nextLink").is_none());
    let all = items(&whole).clone();
    assert!(all.len() > 5);
    let sample = sample_keys("machines_softwarevulnerabilitiesbymachine_page.json");
    assert!(all.iter().all(|r| keys(r) == sample));
    // Rows agree with the per-device vulnerabilities.
    let mid = all[0]["deviceId"].as_str().expect("device");
    let direct = get(&e, &t, &format!("/api/machines/{mid}/vulnerabilities")).await;
    let cves = all
        .iter()
        .filter(|r| r["deviceId"] == mid && !r["cveId"].is_null())
        .count();
    assert_eq!(cves, items(&direct).len());
    // Page by 5, following the links, to the same rows.
    let mut got = Vec::new();
    let mut path = "/api/machines/SoftwareVulnerabilitiesByMachine?pageSize=5".to_owned();
    loop {
        let page = get(&e, &t, &path).await;
        assert!(items(&page).len() <= 5);
        got.extend(items(&page).iter().cloned());
        match page["@odata.nextLink"].as_str() {
            Some(next) => {
                assert!(next.contains("$skiptoken="), "{next}");
                path = next
                    .strip_prefix("https://api.securitycenter.localhost")
                    .expect("same host")
                    .to_owned();
            }
            None => break,
        }
    }
    assert_eq!(got, all);
    for bad in [
        "pageSize=0",
        "pageSize=200001",
        "pageSize=x",
        "$skiptoken=nonsense",
    ] {
        e.api(
            "GET",
            &format!("/api/machines/SoftwareVulnerabilitiesByMachine?{bad}"),
            Some(&t),
            None,
        )
        .await
        .mde_error(400, "InvalidInput");
    }
}

#[tokio::test]
async fn assessment_export_links_download_gzipped_json_lines() {
    let e = demu();
    let t = tvm_token(&e, CONTOSO).await;
    let v = get(
        &e,
        &t,
        "/api/machines/SoftwareVulnerabilitiesExport?sasValidHours=2",
    )
    .await;
    let sample: Value = serde_json::from_str(include_str!(
        "../fixtures/samples/machines_softwarevulnerabilitiesexport_files.json"
    ))
    .expect("sample");
    assert_eq!(keys(&v), keys(&sample));
    let files = v["exportFiles"].as_array().expect("files");
    assert!(!files.is_empty());
    let link = files[0].as_str().expect("link");
    let path = link
        .strip_prefix("https://api.securitycenter.localhost")
        .expect("served by the emulator");
    // No bearer token: the link is the credential.
    let r = e.get(path).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&r.body[..]), &mut text)
        .expect("gzip");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let whole = get(&e, &t, "/api/machines/SoftwareVulnerabilitiesByMachine").await;
    assert_eq!(&lines, items(&whole));
    // A changed signature or a tampered path is refused.
    let forged = path.replace("sig=", "sig=x");
    assert_eq!(e.get(&forged).await.status, 403);
    let other = path.replace(CONTOSO, WOODGROVE);
    assert_eq!(e.get(&other).await.status, 403);
    // sasValidHours at most 6.
    for bad in ["0", "7", "x"] {
        e.api(
            "GET",
            &format!("/api/machines/SoftwareVulnerabilitiesExport?sasValidHours={bad}"),
            Some(&t),
            None,
        )
        .await
        .mde_error(400, "InvalidInput");
    }
}

#[tokio::test]
async fn assessment_exports_have_their_own_quotas() {
    let e = demu();
    let t = tvm_token(&e, CONTOSO).await;
    for (path, per_minute) in [
        (
            "/api/machines/SoftwareVulnerabilitiesByMachine?pageSize=1",
            30,
        ),
        ("/api/machines/SoftwareVulnerabilitiesExport", 5),
    ] {
        for _ in 0..per_minute {
            assert_eq!(e.api("GET", path, Some(&t), None).await.status, 200);
        }
        e.api("GET", path, Some(&t), None)
            .await
            .mde_error(429, "TooManyRequests");
    }
}

#[tokio::test]
async fn remediation_tasks_target_the_recommendations_devices() {
    let e = demu();
    let t = tvm_token(&e, CONTOSO).await;
    let list = get(&e, &t, "/api/remediationTasks").await;
    assert!(
        list["@odata.context"]
            .as_str()
            .expect("ctx")
            .ends_with("#RemediationTasks")
    );
    let tasks = items(&list).clone();
    assert!(!tasks.is_empty());
    let sample = sample_keys("remediationtasks_list.json");
    assert!(tasks.iter().all(|x| keys(x) == sample));
    // Deterministic: the same tasks again.
    assert_eq!(
        &get(&e, &t, "/api/remediationtasks").await["value"],
        &list["value"]
    );
    let recs = get(&e, &t, "/api/recommendations").await;
    for task in &tasks {
        let rec = items(&recs)
            .iter()
            .find(|r| r["id"] == format!("va-_-{}", task["productId"].as_str().expect("product")))
            .expect("a recommendation for its product");
        assert_eq!(task["targetDevices"], rec["exposedMachinesCount"]);
        assert_eq!(task["recommendedVersion"], rec["recommendedVersion"]);
        assert!(task["fixedDevices"].as_u64() <= task["targetDevices"].as_u64());
        let id = task["id"].as_str().expect("id");
        assert_eq!(
            &get(&e, &t, &format!("/api/remediationTasks/{id}")).await["id"],
            id
        );
        let refs = get(
            &e,
            &t,
            &format!("/api/remediationTasks/{id}/machineReferences"),
        )
        .await;
        assert_eq!(
            Some(items(&refs).len() as u64),
            task["targetDevices"].as_u64()
        );
    }
    let active = get(&e, &t, "/api/remediationTasks?$filter=status eq 'Active'").await;
    assert!(items(&active).iter().all(|x| x["status"] == "Active"));
    let created = tasks[0]["createdOn"].as_str().expect("createdOn");
    let since = get(
        &e,
        &t,
        &format!("/api/remediationTasks?$filter=createdOn ge {created}"),
    )
    .await;
    assert!(items(&since).iter().any(|x| x["id"] == tasks[0]["id"]));
    e.api(
        "GET",
        "/api/remediationTasks?$filter=priority eq 'High'",
        Some(&t),
        None,
    )
    .await
    .mde_error(400, "ODataError");
    let nobody = "00000000-0000-0000-0000-000000000000";
    for p in [
        format!("/api/remediationTasks/{nobody}"),
        format!("/api/remediationTasks/{nobody}/machineReferences"),
    ] {
        e.api("GET", &p, Some(&t), None)
            .await
            .mde_error(404, "ResourceNotFound");
    }
    // Another tenant's task is not found.
    let w = tvm_token(&e, WOODGROVE).await;
    let id = tasks[0]["id"].as_str().expect("id");
    e.api(
        "GET",
        &format!("/api/remediationTasks/{id}"),
        Some(&w),
        None,
    )
    .await
    .mde_error(404, "ResourceNotFound");
}

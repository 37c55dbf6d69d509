//! The assessment exports beyond software vulnerabilities (`get-assessment-*.md`,
//! `export-certificate-inventory-assessment.md`): each JSON method's rows have the key
//! set of Microsoft's example, page by `pageSize` through next links, are refused
//! without the documented role, and count against their own quota; each files method
//! links to gzip'd JSON lines holding the same rows.

use super::*;
use std::collections::BTreeSet;

/// One assessment: JSON path, its sample, files path and sample, a role that reads it.
struct Case {
    json: &'static str,
    sample: &'static str,
    files: Option<(&'static str, &'static str)>,
    role: &'static str,
}

const CASES: &[Case] = &[
    Case {
        json: "/api/machines/SoftwareVulnerabilitiesByMachine",
        sample: "machines_softwarevulnerabilitiesbymachine_page",
        files: Some((
            "/api/machines/SoftwareVulnerabilitiesExport",
            "machines_softwarevulnerabilitiesexport_files",
        )),
        role: "Vulnerability.Read.All",
    },
    Case {
        json: "/api/machines/SecureConfigurationsAssessmentByMachine",
        sample: "machines_secureconfigurationsassessmentbymachine_page",
        files: Some((
            "/api/machines/SecureConfigurationsAssessmentExport",
            "machines_secureconfigurationsassessmentexport_files",
        )),
        role: "Vulnerability.Read.All",
    },
    Case {
        json: "/api/machines/SoftwareInventoryByMachine",
        sample: "machines_softwareinventorybymachine_page",
        files: Some((
            "/api/machines/SoftwareInventoryExport",
            "machines_softwareinventoryexport_files",
        )),
        role: "Software.Read.All",
    },
    Case {
        json: "/api/machines/SoftwareInventoryNoProductCodeByMachine",
        sample: "machines_softwareinventorynoproductcodebymachine_page",
        files: Some((
            "/api/machines/SoftwareInventoryNonCpeExport",
            "machines_softwareinventorynoncpeexport_files",
        )),
        role: "Software.Read.All",
    },
    Case {
        json: "/api/Machines/BrowserExtensionsInventoryByMachine",
        sample: "machines_browserextensionsinventorybymachine_page",
        files: Some((
            "/api/machines/browserextensionsinventoryExport",
            "machines_browserextensionsinventoryexport_files",
        )),
        role: "Software.Read.All",
    },
    Case {
        json: "/api/machines/CertificateAssessmentByMachine",
        sample: "machines_certificateassessmentbymachine_page",
        files: Some((
            "/api/machines/certificateAssessmentExport",
            "machines_certificateassessmentexport_files",
        )),
        role: "Vulnerability.Read.All",
    },
];

fn sample(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/samples/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("json")
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().expect("an object").keys().cloned().collect()
}

fn rows(v: &Value) -> &Vec<Value> {
    v["value"].as_array().expect("value")
}

async fn get(e: &Emu, t: &str, path: &str) -> Value {
    let r = e.api("GET", path, Some(t), None).await;
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.json()
}

/// Every row of `path`, `size` at a time, following the next links.
async fn paged(e: &Emu, t: &str, path: &str, size: usize) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut next = format!("{path}{sep}pageSize={size}");
    let mut got = Vec::new();
    loop {
        let page = get(e, t, &next).await;
        assert!(rows(&page).len() <= size);
        got.extend(rows(&page).iter().cloned());
        match page["@odata.nextLink"].as_str() {
            Some(link) => {
                next = link
                    .strip_prefix("https://api.securitycenter.localhost")
                    .expect("same host")
                    .to_owned();
            }
            None => return got,
        }
    }
}

/// The rows of a downloaded export file.
fn gunzip(body: &[u8]) -> Vec<Value> {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(body), &mut text)
        .expect("gzip");
    text.lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

#[tokio::test]
async fn every_assessment_has_the_documented_rows_pages_and_files() {
    let e = demu();
    for c in CASES {
        let t = e.token_with(CONTOSO, &[c.role]).await;
        let whole = get(&e, &t, c.json).await;
        let entity = sample(c.sample)["@odata.context"]
            .as_str()
            .and_then(|s| s.rsplit('.').next())
            .expect("entity")
            .to_owned();
        assert!(
            whole["@odata.context"]
                .as_str()
                .expect("context")
                .ends_with(&entity),
            "{}: {}",
            c.json,
            whole["@odata.context"]
        );
        let all = rows(&whole).clone();
        assert!(all.len() > 3, "{}: {} rows", c.json, all.len());
        let want = keys(&sample(c.sample)["value"][0]);
        for r in &all {
            assert_eq!(keys(r), want, "{}: {r}", c.json);
        }
        // Deterministic, in lower case too, and the same rows page by page.
        assert_eq!(rows(&get(&e, &t, &c.json.to_ascii_lowercase()).await), &all);
        let size = all.len().div_ceil(4);
        assert_eq!(paged(&e, &t, c.json, size).await, all, "{}", c.json);
        // Another tenant has other devices.
        let w = e.token_with(WOODGROVE, &[c.role]).await;
        assert_ne!(rows(&get(&e, &w, c.json).await), &all, "{}", c.json);
        // Refused without its role, in MDE's body.
        let none = e.token_with(CONTOSO, &["Machine.Read.All"]).await;
        let msg = e
            .api("GET", c.json, Some(&none), None)
            .await
            .mde_error(403, "Forbidden");
        assert!(msg.contains(c.role), "{msg}");
        for bad in ["pageSize=0", "$top=0", "$top=x"] {
            e.api("GET", &format!("{}?{bad}", c.json), Some(&t), None)
                .await
                .mde_error(400, "InvalidInput");
        }
        // `$top`: the first rows, no next link, whatever the page size.
        let top = get(&e, &t, &format!("{}?$top=3&pageSize=2", c.json)).await;
        assert_eq!(rows(&top)[..], all[..3], "{}", c.json);
        assert!(top.get("@odata.nextLink").is_none(), "{top}");

        let Some((files, files_sample)) = c.files else {
            continue;
        };
        let v = get(&e, &t, files).await;
        assert_eq!(keys(&v), keys(&sample(files_sample)), "{files}");
        let mut lines = Vec::new();
        for link in v["exportFiles"].as_array().expect("files") {
            let path = link
                .as_str()
                .and_then(|l| l.strip_prefix("https://api.securitycenter.localhost"))
                .expect("served by the emulator");
            let r = e.get(path).await;
            assert_eq!(r.status, 200, "{path}: {}", r.text());
            lines.extend(gunzip(&r.body));
            assert_eq!(e.get(&path.replace("sig=", "sig=x")).await.status, 403);
        }
        assert_eq!(lines, all, "{files}");
        e.api("GET", files, Some(&none), None)
            .await
            .mde_error(403, "Forbidden");
        e.api("GET", &format!("{files}?sasValidHours=25"), Some(&t), None)
            .await
            .mde_error(400, "InvalidInput");
    }
}

#[tokio::test]
async fn the_non_cpe_and_certificate_links_may_last_a_day_the_others_six_hours() {
    let e = demu();
    let t = e
        .token_with(CONTOSO, &["Software.Read.All", "Vulnerability.Read.All"])
        .await;
    for (path, max) in [
        ("/api/machines/SoftwareInventoryNonCpeExport", 24),
        ("/api/machines/CertificateAssessmentExport", 24),
        ("/api/machines/SoftwareInventoryExport", 6),
        ("/api/machines/SecureConfigurationsAssessmentExport", 6),
    ] {
        get(&e, &t, &format!("{path}?sasValidHours={max}")).await;
        e.api(
            "GET",
            &format!("{path}?sasValidHours={}", max + 1),
            Some(&t),
            None,
        )
        .await
        .mde_error(400, "InvalidInput");
    }
}

#[tokio::test]
async fn each_assessment_method_has_its_own_quota() {
    let e = demu();
    let t = e
        .token_with(CONTOSO, &["Software.Read.All", "Vulnerability.Read.All"])
        .await;
    for c in CASES.iter().skip(1) {
        let json = format!("{}?pageSize=1", c.json);
        for _ in 0..30 {
            get(&e, &t, &json).await;
        }
        e.api("GET", &json, Some(&t), None)
            .await
            .mde_error(429, "TooManyRequests");
        let (files, _) = c.files.expect("files");
        for _ in 0..5 {
            get(&e, &t, files).await;
        }
        e.api("GET", files, Some(&t), None)
            .await
            .mde_error(429, "TooManyRequests");
    }
}

fn since(days: i64) -> String {
    (time::OffsetDateTime::now_utc() - time::Duration::days(days))
        .replace_nanosecond(0)
        .expect("ns")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("fmt")
}

#[tokio::test]
async fn vulnerability_changes_are_new_updated_or_fixed_since_a_time() {
    let e = demu();
    let t = e.token_with(CONTOSO, &["Vulnerability.Read.All"]).await;
    let path = "/api/machines/SoftwareVulnerabilityChangesByMachine";
    e.api("GET", path, Some(&t), None)
        .await
        .mde_error(400, "InvalidInput");
    for bad in [since(15), "yesterday".to_owned()] {
        e.api("GET", &format!("{path}?sinceTime={bad}"), Some(&t), None)
            .await
            .mde_error(400, "InvalidInput");
    }
    let fortnight = format!("{path}?sinceTime={}", since(14).replace('+', "%2B"));
    let all = rows(&get(&e, &t, &fortnight).await).clone();
    assert!(all.len() > 3, "{} changes", all.len());
    let want = keys(&sample("machines_softwarevulnerabilitychangesbymachine_page")["value"][0]);
    assert!(all.iter().all(|r| keys(r) == want));
    // The next links keep sinceTime.
    assert_eq!(paged(&e, &t, &fortnight, all.len().div_ceil(4)).await, all);
    // New and Updated rows are rows of the full export; Fixed ones are not.
    let full = rows(&get(&e, &t, "/api/machines/SoftwareVulnerabilitiesByMachine").await).clone();
    let ids: BTreeSet<&str> = full.iter().filter_map(|r| r["id"].as_str()).collect();
    let mut seen = BTreeSet::new();
    for r in &all {
        let status = r["status"].as_str().expect("status");
        seen.insert(status);
        let id = r["id"].as_str().expect("id");
        match status {
            "New" | "Updated" => assert!(ids.contains(id), "{r}"),
            "Fixed" => assert!(!ids.contains(id), "{r}"),
            other => panic!("status {other}"),
        }
    }
    assert!(seen.contains("Fixed") && seen.contains("New"), "{seen:?}");
    // A later sinceTime answers the changes of its period and after, no more.
    let recent = rows(&get(&e, &t, &format!("{path}?sinceTime={}", &since(3)[..10])).await).clone();
    assert!(recent.len() < all.len());
    let from = since(3)[..10].to_owned();
    assert!(
        recent
            .iter()
            .all(|r| r["eventTimestamp"].as_str().expect("time") >= from.as_str())
    );
    assert!(recent.iter().all(|r| all.contains(r)));
    // No files method for the changes: a device id nobody has.
    let m = e
        .token_with(CONTOSO, &["Vulnerability.Read.All", "Machine.Read.All"])
        .await;
    e.api(
        "GET",
        "/api/machines/SoftwareVulnerabilityChangesExport",
        Some(&m),
        None,
    )
    .await
    .mde_error(404, "ResourceNotFound");
}

#[tokio::test]
async fn every_assessment_page_and_file_list_conforms_to_microsofts_example() {
    let e = demu();
    let t = e
        .token_with(CONTOSO, &["Software.Read.All", "Vulnerability.Read.All"])
        .await;
    let changes = format!(
        "/api/machines/SoftwareVulnerabilityChangesByMachine?sinceTime={}",
        &since(14)[..10]
    );
    let mut pages = vec![(
        changes,
        "machines_softwarevulnerabilitychangesbymachine_page",
    )];
    pages.extend(CASES.iter().map(|c| (c.json.to_owned(), c.sample)));
    for (path, name) in pages {
        let sep = if path.contains('?') { '&' } else { '?' };
        let page = get(&e, &t, &format!("{path}{sep}pageSize=2")).await;
        super::fidelity::check(name, &page, &super::fidelity::NONE);
    }
    for (path, name) in CASES.iter().filter_map(|c| c.files) {
        super::fidelity::check(name, &get(&e, &t, path).await, &super::fidelity::NONE);
    }
}

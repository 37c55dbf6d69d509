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

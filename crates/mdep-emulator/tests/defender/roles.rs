//! The role matrix: every endpoint with each role it accepts (not 403) and with every
//! other role (403 with MDE's message naming what is missing).

use super::*;
use serde_json::json;

const ALERT_READ: &[&str] = &["Alert.Read.All", "Alert.ReadWrite.All"];
const MACHINE_READ: &[&str] = &["Machine.Read.All", "Machine.ReadWrite.All"];
const TI: &[&str] = &["Ti.ReadWrite", "Ti.ReadWrite.All"];
const CANCEL: &[&str] = &[
    "Machine.Isolate",
    "Machine.RestrictExecution",
    "Machine.Scan",
    "Machine.CollectForensics",
    "Machine.LiveResponse",
    "Machine.Offboard",
    "Machine.StopAndQuarantine",
];

/// Every role of the catalog.
fn catalog() -> Vec<&'static str> {
    mdep_model::permissions::APP_ROLES
        .iter()
        .map(|r| r.value)
        .collect()
}

struct Row {
    method: &'static str,
    path: String,
    body: Option<Value>,
    accepted: &'static [&'static str],
    /// The success status; `None` when it depends on what the role can see.
    ok: Option<u16>,
}

fn row(
    method: &'static str,
    path: String,
    body: Option<Value>,
    accepted: &'static [&'static str],
    ok: Option<u16>,
) -> Row {
    Row {
        method,
        path,
        body,
        accepted,
        ok,
    }
}

#[tokio::test]
async fn every_endpoint_with_and_without_its_permission() {
    let e = demu();
    let mut s = e.state.defender().settings();
    s.action_seconds = 0;
    e.state.defender().set_settings(s);
    let admin = e.token(CONTOSO).await;
    let alerts = e.api("GET", "/api/alerts", Some(&admin), None).await.json();
    let aid = first(&alerts)["id"].as_str().expect("alert id").to_owned();
    let machines = e
        .api(
            "GET",
            "/api/machines?$filter=startswith(osPlatform,'Windows')",
            Some(&admin),
            None,
        )
        .await
        .json();
    let mid = first(&machines)["id"]
        .as_str()
        .expect("machine id")
        .to_owned();
    let acts = e
        .api("GET", "/api/machineactions", Some(&admin), None)
        .await
        .json();
    let acid = first(&acts)["id"].as_str().expect("action id").to_owned();
    let inds = e
        .api("GET", "/api/indicators", Some(&admin), None)
        .await
        .json();
    let iid = first(&inds)["id"]
        .as_str()
        .expect("indicator id")
        .to_owned();
    let comment = || Some(json!({"Comment": "role matrix"}));
    let lib = e.token_with(CONTOSO, &["Library.Manage"]).await;
    let up = e.upload(&lib, "a.ps1", "Write-Output 1", &[]).await;
    assert_eq!(up.status, 200, "{}", up.text());
    let sha1 = e
        .api("GET", &format!("/api/alerts/{aid}"), Some(&admin), None)
        .await
        .json()["evidence"]
        .as_array()
        .and_then(|ev| {
            ev.iter()
                .find_map(|x| x["sha1"].as_str().map(str::to_owned))
        })
        .expect("a hash in the evidence");
    let submit = json!({"indicatorValue": "198.51.100.7", "indicatorType": "IpAddress", "action": "Alert", "title": "t", "description": "d"});
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("ns")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("now");
    let mut rows = vec![
        row("GET", "/api/alerts".into(), None, ALERT_READ, Some(200)),
        row(
            "GET",
            "/api/remediationTasks".into(),
            None,
            &["RemediationTasks.Read.All"],
            Some(200),
        ),
        row(
            "GET",
            "/api/remediationTasks/00000000-0000-0000-0000-000000000000".into(),
            None,
            &["RemediationTasks.Read.All"],
            None,
        ),
        row(
            "GET",
            "/api/remediationTasks/00000000-0000-0000-0000-000000000000/machineReferences".into(),
            None,
            &["RemediationTasks.Read.All"],
            None,
        ),
        row(
            "GET",
            "/api/machines/SoftwareVulnerabilitiesByMachine".into(),
            None,
            &["Vulnerability.Read.All"],
            Some(200),
        ),
        row(
            "GET",
            "/api/machines/SoftwareVulnerabilitiesExport".into(),
            None,
            &["Vulnerability.Read.All"],
            Some(200),
        ),
        row(
            "GET",
            "/api/Software/google-_-chrome".into(),
            None,
            &["Software.Read.All"],
            None,
        ),
        row(
            "GET",
            "/api/Software/google-_-chrome/distributions".into(),
            None,
            &["Software.Read.All"],
            None,
        ),
        row(
            "GET",
            "/api/Software/google-_-chrome/machineReferences".into(),
            None,
            &["Software.Read.All"],
            None,
        ),
        row(
            "GET",
            "/api/Software/google-_-chrome/vulnerabilities".into(),
            None,
            &["Vulnerability.Read.All"],
            None,
        ),
        row(
            "GET",
            "/api/Software/microsoft-_-.net_framework/getmissingkbs".into(),
            None,
            &["Software.Read.All"],
            None,
        ),
        row(
            "GET",
            format!("/api/machines/{mid}/getmissingkbs"),
            None,
            &["Software.Read.All"],
            Some(200),
        ),
        row(
            "GET",
            "/api/vulnerabilities/CVE-2024-0519".into(),
            None,
            &["Vulnerability.Read.All"],
            Some(200),
        ),
        row(
            "GET",
            "/api/vulnerabilities/CVE-2024-0519/machineReferences".into(),
            None,
            &["Vulnerability.Read.All"],
            Some(200),
        ),
        row(
            "GET",
            "/api/vulnerabilities/machinesVulnerabilities".into(),
            None,
            &["Vulnerability.Read.All"],
            Some(200),
        ),
        row(
            "GET",
            "/api/recommendations".into(),
            None,
            &["SecurityRecommendation.Read.All"],
            Some(200),
        ),
        row(
            "GET",
            "/api/recommendations/va-_-google-_-chrome".into(),
            None,
            &["SecurityRecommendation.Read.All"],
            None,
        ),
        row(
            "GET",
            "/api/recommendations/va-_-google-_-chrome/software".into(),
            None,
            &["SecurityRecommendation.Read.All"],
            None,
        ),
        row(
            "GET",
            "/api/recommendations/va-_-google-_-chrome/machineReferences".into(),
            None,
            &["SecurityRecommendation.Read.All"],
            None,
        ),
        row(
            "GET",
            "/api/recommendations/va-_-google-_-chrome/vulnerabilities".into(),
            None,
            &["SecurityRecommendation.Read.All"],
            None,
        ),
        row(
            "GET",
            format!("/api/machines/{mid}/recommendations"),
            None,
            &["SecurityRecommendation.Read.All"],
            Some(200),
        ),
        row(
            "GET",
            format!("/api/machines/findbyip(ip='10.1.2.3',timestamp={now})"),
            None,
            MACHINE_READ,
            Some(200),
        ),
        row(
            "GET",
            format!("/api/alerts/{aid}"),
            None,
            ALERT_READ,
            Some(200),
        ),
        row(
            "PATCH",
            format!("/api/alerts/{aid}"),
            Some(json!({"comment": "seen"})),
            &["Alert.ReadWrite.All"],
            Some(200),
        ),
        row(
            "GET",
            format!("/api/alerts/{aid}/machine"),
            None,
            MACHINE_READ,
            Some(200),
        ),
        row(
            "GET",
            format!("/api/alerts/{aid}/files"),
            None,
            &["File.Read.All"],
            Some(200),
        ),
        row(
            "GET",
            format!("/api/alerts/{aid}/ips"),
            None,
            &["Ip.Read.All"],
            Some(200),
        ),
        row(
            "GET",
            format!("/api/alerts/{aid}/domains"),
            None,
            &["Url.Read.All"],
            Some(200),
        ),
        row(
            "GET",
            format!("/api/alerts/{aid}/user"),
            None,
            &["User.Read.All"],
            Some(200),
        ),
        row("GET", "/api/machines".into(), None, MACHINE_READ, Some(200)),
        row(
            "GET",
            format!("/api/machines/{mid}"),
            None,
            MACHINE_READ,
            Some(200),
        ),
        row(
            "GET",
            "/api/machines/findbytag?tag=VIP".into(),
            None,
            MACHINE_READ,
            Some(200),
        ),
        row(
            "GET",
            format!("/api/machines/{mid}/logonusers"),
            None,
            &["User.Read.All"],
            Some(200),
        ),
        row(
            "GET",
            format!("/api/machines/{mid}/alerts"),
            None,
            ALERT_READ,
            Some(200),
        ),
        row(
            "POST",
            format!("/api/machines/{mid}/tags"),
            Some(json!({"Value": "matrix", "Action": "Add"})),
            &["Machine.ReadWrite.All"],
            Some(200),
        ),
        row(
            "POST",
            format!("/api/machines/{mid}/isolate"),
            comment(),
            &["Machine.Isolate"],
            Some(201),
        ),
        row(
            "POST",
            format!("/api/machines/{mid}/unisolate"),
            comment(),
            &["Machine.Isolate"],
            Some(201),
        ),
        row(
            "POST",
            format!("/api/machines/{mid}/restrictCodeExecution"),
            comment(),
            &["Machine.RestrictExecution"],
            Some(201),
        ),
        row(
            "POST",
            format!("/api/machines/{mid}/unrestrictCodeExecution"),
            comment(),
            &["Machine.RestrictExecution"],
            Some(201),
        ),
        row(
            "POST",
            format!("/api/machines/{mid}/runAntiVirusScan"),
            Some(json!({"Comment": "c", "ScanType": "Quick"})),
            &["Machine.Scan"],
            Some(201),
        ),
        row(
            "POST",
            format!("/api/machines/{mid}/collectInvestigationPackage"),
            comment(),
            &["Machine.CollectForensics"],
            Some(201),
        ),
        row(
            "POST",
            format!("/api/machines/{mid}/StopAndQuarantineFile"),
            Some(json!({"Comment": "c", "Sha1": "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"})),
            &["Machine.StopAndQuarantine"],
            Some(201),
        ),
        row(
            "POST",
            format!("/api/machines/{mid}/offboard"),
            comment(),
            &["Machine.Offboard"],
            Some(201),
        ),
        row(
            "GET",
            "/api/machineactions".into(),
            None,
            MACHINE_READ,
            Some(200),
        ),
        row(
            "GET",
            format!("/api/machineactions/{acid}"),
            None,
            MACHINE_READ,
            Some(200),
        ),
        row("GET", "/api/indicators".into(), None, TI, Some(200)),
        row(
            "POST",
            "/api/indicators".into(),
            Some(submit.clone()),
            TI,
            Some(200),
        ),
        row(
            "POST",
            "/api/indicators/import".into(),
            Some(json!({"Indicators": [submit]})),
            TI,
            Some(200),
        ),
        // Ti.ReadWrite sees only its own indicators: the generated one is 404 for it.
        row("DELETE", format!("/api/indicators/{iid}"), None, TI, None),
        row(
            "POST",
            "/api/machines/AddOrRemoveTagForMultipleMachines".into(),
            Some(json!({"Value": "m", "Action": "Add", "MachineIds": [mid]})),
            &["Machine.ReadWrite.All"],
            Some(200),
        ),
        row(
            "PATCH",
            format!("/api/machines/{mid}"),
            Some(json!({"deviceValue": "High"})),
            &["Machine.ReadWrite.All"],
            Some(200),
        ),
        row(
            "POST",
            format!("/api/machines/{mid}/setDeviceValue"),
            Some(json!({"DeviceValue": "Normal"})),
            &["Machine.ReadWrite.All"],
            Some(200),
        ),
        row(
            "GET",
            format!("/api/files/{sha1}/machines"),
            None,
            MACHINE_READ,
            Some(200),
        ),
        row(
            "GET",
            "/api/domains/example.com/machines".into(),
            None,
            MACHINE_READ,
            Some(200),
        ),
        row(
            "GET",
            "/api/users/alex/machines".into(),
            None,
            &["Machine.ReadWrite.All"],
            Some(200),
        ),
        row(
            "GET",
            "/api/configurationScore".into(),
            None,
            &["Score.Read.All"],
            Some(200),
        ),
        row(
            "GET",
            format!("/api/machines/{mid}/software"),
            None,
            &["Software.Read.All"],
            Some(200),
        ),
        row(
            "GET",
            format!("/api/machines/{mid}/vulnerabilities"),
            None,
            &["Vulnerability.Read.All"],
            Some(200),
        ),
        row(
            "POST",
            format!("/api/machines/{mid}/runliveresponse"),
            Some(
                json!({"Comment": "c", "Commands": [{"type": "RunScript", "params": [{"key": "ScriptName", "value": "a.ps1"}]}]}),
            ),
            &["Machine.LiveResponse"],
            Some(201),
        ),
        row(
            "GET",
            format!("/api/machineactions/{acid}/GetLiveResponseResultDownloadLink(index=0)"),
            None,
            MACHINE_READ,
            None,
        ),
        row(
            "GET",
            "/api/investigations".into(),
            None,
            ALERT_READ,
            Some(200),
        ),
        row(
            "GET",
            format!("/api/investigations/{aid}"),
            None,
            ALERT_READ,
            None,
        ),
        row(
            "POST",
            "/api/alerts/batchUpdate".into(),
            Some(json!({"alertIds": [aid], "comment": "batch"})),
            &["Alert.ReadWrite.All"],
            Some(200),
        ),
        row(
            "GET",
            format!("/api/files/{sha1}/alerts"),
            None,
            ALERT_READ,
            Some(200),
        ),
        row(
            "GET",
            "/api/ips/10.1.2.3/alerts".into(),
            None,
            ALERT_READ,
            Some(200),
        ),
        row(
            "GET",
            "/api/domains/example.com/alerts".into(),
            None,
            &["Alert.ReadWrite.All"],
            Some(200),
        ),
        row(
            "GET",
            "/api/users/alex/alerts".into(),
            None,
            ALERT_READ,
            Some(200),
        ),
        // Already done (zero-second actions): 400, but past the role check.
        row(
            "POST",
            format!("/api/machineactions/{acid}/cancel"),
            comment(),
            CANCEL,
            None,
        ),
        row(
            "POST",
            "/api/indicators/BatchDelete".into(),
            Some(json!({"IndicatorIds": ["1"]})),
            TI,
            None,
        ),
        row(
            "GET",
            format!("/api/files/{sha1}"),
            None,
            &["File.Read.All"],
            Some(200),
        ),
        row(
            "GET",
            format!("/api/files/{sha1}/stats"),
            None,
            &["File.Read.All"],
            Some(200),
        ),
        row(
            "GET",
            "/api/ips/10.1.2.3/stats".into(),
            None,
            &["Ip.Read.All"],
            Some(200),
        ),
        row(
            "GET",
            "/api/domains/example.com/stats".into(),
            None,
            &["Url.Read.All"],
            Some(200),
        ),
        row(
            "GET",
            "/api/exposureScore".into(),
            None,
            &["Score.Read.All"],
            Some(200),
        ),
        row(
            "GET",
            "/api/exposureScore/ByMachineGroups".into(),
            None,
            &["Score.Read.All"],
            Some(200),
        ),
        row(
            "GET",
            "/api/vulnerabilities".into(),
            None,
            &["Vulnerability.Read.All"],
            Some(200),
        ),
        row(
            "GET",
            "/api/Software".into(),
            None,
            &["Software.Read.All"],
            Some(200),
        ),
        row(
            "POST",
            format!("/api/machines/{mid}/startInvestigation"),
            comment(),
            &["Alert.ReadWrite.All"],
            Some(201),
        ),
        // No such event: 404, but past the role check.
        row(
            "POST",
            "/api/alerts/CreateAlertByReference".into(),
            Some(
                json!({"machineId": mid, "severity": "Low", "title": "t", "description": "d", "recommendedAction": "r", "eventTime": "2020-01-01T00:00:00Z", "reportId": "1", "category": "Exploit"}),
            ),
            &["Alert.ReadWrite.All"],
            None,
        ),
        // Not an investigation package, or not collected yet: past the role check.
        row(
            "GET",
            format!("/api/machineactions/{acid}/getPackageUri"),
            None,
            MACHINE_READ,
            None,
        ),
        row(
            "GET",
            "/api/libraryfiles".into(),
            None,
            &["Library.Manage"],
            Some(200),
        ),
        // Not multipart: 400, but past the role check.
        row(
            "POST",
            "/api/libraryfiles".into(),
            Some(json!({})),
            &["Library.Manage"],
            Some(400),
        ),
        row(
            "DELETE",
            "/api/libraryfiles/none.ps1".into(),
            None,
            &["Library.Manage"],
            Some(404),
        ),
        row(
            "POST",
            "/api/advancedqueries/run".into(),
            Some(json!({"Query": "DeviceInfo | take 1"})),
            &["AdvancedQuery.Read.All"],
            Some(200),
        ),
    ];
    // The other assessment exports (`get-assessment-*.md`): the changes without
    // `sinceTime` are a 400, past the role check.
    for (path, role, ok) in [
        (
            "SoftwareVulnerabilityChangesByMachine",
            "Vulnerability.Read.All",
            400,
        ),
        (
            "SecureConfigurationsAssessmentByMachine",
            "Vulnerability.Read.All",
            200,
        ),
        (
            "SecureConfigurationsAssessmentExport",
            "Vulnerability.Read.All",
            200,
        ),
        ("SoftwareInventoryByMachine", "Software.Read.All", 200),
        ("SoftwareInventoryExport", "Software.Read.All", 200),
        (
            "SoftwareInventoryNoProductCodeByMachine",
            "Software.Read.All",
            200,
        ),
        ("SoftwareInventoryNonCpeExport", "Software.Read.All", 200),
        (
            "BrowserExtensionsInventoryByMachine",
            "Software.Read.All",
            200,
        ),
        ("BrowserExtensionsInventoryExport", "Software.Read.All", 200),
        (
            "CertificateAssessmentByMachine",
            "Vulnerability.Read.All",
            200,
        ),
        ("CertificateAssessmentExport", "Vulnerability.Read.All", 200),
    ] {
        let accepted: &'static [&'static str] = match role {
            "Software.Read.All" => &["Software.Read.All"],
            _ => &["Vulnerability.Read.All"],
        };
        rows.push(row(
            "GET",
            format!("/api/machines/{path}"),
            None,
            accepted,
            Some(ok),
        ));
    }
    let all = catalog();
    for r in &rows {
        for role in r.accepted {
            let t = e.token_with(CONTOSO, &[role]).await;
            let reply = e.api(r.method, &r.path, Some(&t), r.body.clone()).await;
            let code = reply.status.as_u16();
            assert!(
                code != 401 && code != 403,
                "{} {} with {role}: {}",
                r.method,
                r.path,
                reply.text()
            );
            if let Some(ok) = r.ok {
                assert_eq!(
                    code,
                    ok,
                    "{} {} with {role}: {}",
                    r.method,
                    r.path,
                    reply.text()
                );
            }
        }
        let others: Vec<&str> = all
            .iter()
            .copied()
            .filter(|x| !r.accepted.contains(x))
            .collect();
        let t = e.token_with(CONTOSO, &others).await;
        let reply = e.api(r.method, &r.path, Some(&t), r.body.clone()).await;
        let msg = reply.mde_error(403, "Forbidden");
        assert!(
            msg.contains(r.accepted[0]),
            "{} {}: {msg}",
            r.method,
            r.path
        );
        let t = e.token_with(CONTOSO, &[]).await;
        let reply = e.api(r.method, &r.path, Some(&t), r.body.clone()).await;
        reply.mde_error(403, "Forbidden");
    }
    // The versioned prefix is the same API.
    let t = e.token_with(CONTOSO, &["Alert.Read.All"]).await;
    assert_eq!(
        e.api("GET", "/api/v1.0/alerts", Some(&t), None)
            .await
            .status,
        200
    );
    e.api("GET", "/api/v1.0/machines", Some(&t), None)
        .await
        .mde_error(403, "Forbidden");
}

#[tokio::test]
async fn roles_come_from_the_token_not_the_directory() {
    let e = demu();
    let t = e.other_token(CONTOSO).await;
    let msg = e
        .api("GET", "/api/alerts", Some(&t), None)
        .await
        .mde_error(403, "Forbidden");
    assert!(
        msg.contains("Score.Read.All"),
        "the message lists the roles held: {msg}"
    );
    // Consent that adds a role does not change a token already issued.
    e.state
        .grant_consent(
            CONTOSO.parse().expect("t"),
            OTHER_APP.parse().expect("a"),
            Some(vec!["Alert.Read.All".into()]),
        )
        .expect("consent");
    e.api("GET", "/api/alerts", Some(&t), None)
        .await
        .mde_error(403, "Forbidden");
    let fresh = e.other_token(CONTOSO).await;
    assert_eq!(
        e.api("GET", "/api/alerts", Some(&fresh), None).await.status,
        200
    );
}

//! Response actions: the machine action each creates, its progress over time, the
//! duplicate rule, and the body checks.

use super::*;
use serde_json::json;

async fn windows_machine(e: &Emu, t: &str) -> String {
    let list = e
        .api(
            "GET",
            "/api/machines?$filter=startswith(osPlatform,'Windows')",
            Some(t),
            None,
        )
        .await
        .json();
    first(&list)["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn an_action_goes_pending_in_progress_succeeded() {
    let e = demu();
    let mut s = e.state.defender().settings();
    // Wide windows, so a slow machine still sees each state.
    s.action_seconds = 6;
    e.state.defender().set_settings(s);
    let t = e.token(CONTOSO).await;
    let mid = windows_machine(&e, &t).await;
    let r = e
        .api(
            "POST",
            &format!("/api/v1.0/machines/{mid}/isolate"),
            Some(&t),
            Some(json!({"Comment": "contain", "IsolationType": "Selective"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let a = r.json();
    assert_eq!(
        a["@odata.context"],
        "https://api.securitycenter.localhost/api/v1.0/$metadata#MachineActions/$entity"
    );
    assert_eq!(
        (a["type"].clone(), a["status"].clone(), a["scope"].clone()),
        (json!("Isolate"), json!("Pending"), json!("Selective"))
    );
    assert_eq!(a["machineId"], mid.as_str());
    assert_eq!(a["requestor"], APP);
    assert_eq!(a["requestorComment"], "contain");
    let id = a["id"].as_str().expect("id").to_owned();
    assert!(uuid::Uuid::try_parse(&id).is_ok());

    let dup = e
        .api(
            "POST",
            &format!("/api/machines/{mid}/isolate"),
            Some(&t),
            Some(json!({"Comment": "again"})),
        )
        .await;
    let msg = dup.mde_error(400, "ActiveRequestAlreadyExists");
    assert!(msg.contains("already in progress"), "{msg}");
    // Another kind of action on the same machine is not a duplicate.
    let scan = e
        .api(
            "POST",
            &format!("/api/machines/{mid}/runAntiVirusScan"),
            Some(&t),
            Some(json!({"Comment": "scan", "ScanType": "Full"})),
        )
        .await;
    assert_eq!(scan.status, 201, "{}", scan.text());

    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    let mid_way = e
        .api("GET", &format!("/api/machineactions/{id}"), Some(&t), None)
        .await
        .json();
    assert_eq!(mid_way["status"], "InProgress");
    e.api(
        "POST",
        &format!("/api/machines/{mid}/isolate"),
        Some(&t),
        Some(json!({"Comment": "again"})),
    )
    .await
    .mde_error(400, "ActiveRequestAlreadyExists");
    tokio::time::sleep(std::time::Duration::from_millis(3000)).await;
    let done = e
        .api("GET", &format!("/api/machineactions/{id}"), Some(&t), None)
        .await
        .json();
    assert_eq!(done["status"], "Succeeded");
    assert!(done["lastUpdateDateTimeUtc"].as_str() > done["creationDateTimeUtc"].as_str());
    let listed = e
        .api(
            "GET",
            &format!("/api/machineactions?$filter=id eq {id} and status eq 'Succeeded'"),
            Some(&t),
            None,
        )
        .await
        .json();
    assert_eq!(
        listed["value"].as_array().map(Vec::len),
        Some(1),
        "filters see the current status"
    );
    let again = e
        .api(
            "POST",
            &format!("/api/machines/{mid}/isolate"),
            Some(&t),
            Some(json!({"Comment": "again"})),
        )
        .await;
    assert_eq!(again.status, 201, "done: a new one is allowed");
}

#[tokio::test]
async fn every_action_kind_and_its_body_rules() {
    let e = demu();
    let mut s = e.state.defender().settings();
    s.action_seconds = 0;
    e.state.defender().set_settings(s);
    let t = e.token(CONTOSO).await;
    let mid = windows_machine(&e, &t).await;
    let sha1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9";
    for (path, body, kind, scope) in [
        ("isolate", json!({"Comment": "c"}), "Isolate", json!("Full")),
        (
            "unisolate",
            json!({"Comment": "c"}),
            "Unisolate",
            Value::Null,
        ),
        (
            "restrictCodeExecution",
            json!({"Comment": "c"}),
            "RestrictCodeExecution",
            Value::Null,
        ),
        (
            "unrestrictCodeExecution",
            json!({"Comment": "c"}),
            "UnrestrictCodeExecution",
            Value::Null,
        ),
        (
            "runAntiVirusScan",
            json!({"Comment": "c", "ScanType": "Quick"}),
            "RunAntiVirusScan",
            json!("Quick"),
        ),
        (
            "collectInvestigationPackage",
            json!({"Comment": "c"}),
            "CollectInvestigationPackage",
            Value::Null,
        ),
        (
            "StopAndQuarantineFile",
            json!({"Comment": "c", "Sha1": sha1}),
            "StopAndQuarantineFile",
            Value::Null,
        ),
        ("offboard", json!({"Comment": "c"}), "Offboard", Value::Null),
    ] {
        let r = e
            .api(
                "POST",
                &format!("/api/machines/{mid}/{path}"),
                Some(&t),
                Some(body),
            )
            .await;
        assert_eq!(r.status, 201, "{path}: {}", r.text());
        let a = r.json();
        assert_eq!(a["type"], kind, "{path}");
        assert_eq!(a["scope"], scope, "{path}");
        assert_eq!(
            a["status"], "Succeeded",
            "{path}: zero seconds completes at once"
        );
        if kind == "StopAndQuarantineFile" {
            assert_eq!(
                a["relatedFileInfo"],
                json!({"fileIdentifier": sha1, "fileIdentifierType": "Sha1"})
            );
        }
    }
    for (path, body, code) in [
        ("isolate", json!({}), "MissingRequiredParameter"),
        (
            "isolate",
            json!({"comment": "lower-case names are not read"}),
            "MissingRequiredParameter",
        ),
        (
            "isolate",
            json!({"Comment": "c", "IsolationType": "Partial"}),
            "InvalidInput",
        ),
        (
            "runAntiVirusScan",
            json!({"Comment": "c"}),
            "MissingRequiredParameter",
        ),
        (
            "runAntiVirusScan",
            json!({"Comment": "c", "ScanType": "Deep"}),
            "InvalidInput",
        ),
        (
            "StopAndQuarantineFile",
            json!({"Comment": "c"}),
            "MissingRequiredParameter",
        ),
        (
            "StopAndQuarantineFile",
            json!({"Comment": "c", "Sha1": "xyz"}),
            "InvalidHashValue",
        ),
    ] {
        e.api(
            "POST",
            &format!("/api/machines/{mid}/{path}"),
            Some(&t),
            Some(body),
        )
        .await
        .mde_error(400, code);
    }
    let linux = e
        .api(
            "GET",
            "/api/machines?$filter=osPlatform in ('Linux', 'macOS')",
            Some(&t),
            None,
        )
        .await
        .json();
    if let Some(other) = linux["value"].as_array().and_then(|v| v.first()) {
        let id = other["id"].as_str().expect("id");
        e.api(
            "POST",
            &format!("/api/machines/{id}/offboard"),
            Some(&t),
            Some(json!({"Comment": "c"})),
        )
        .await
        .mde_error(400, "OsPlatformNotSupported");
    }
    e.api("GET", &format!("/api/machineactions/{mid}"), Some(&t), None)
        .await
        .mde_error(400, "BadRequest");
    e.api(
        "GET",
        "/api/machineactions/5382f7ea-7557-4ab7-9782-d50480024a4e",
        Some(&t),
        None,
    )
    .await
    .mde_error(404, "ResourceNotFound");
    let all = e
        .api(
            "GET",
            &format!(
                "/api/machineactions?$filter=machineId eq '{mid}'&$orderby=creationDateTimeUtc desc"
            ),
            Some(&t),
            None,
        )
        .await
        .json();
    assert!(all["value"].as_array().expect("list").len() >= 8);
    assert_eq!(first(&all)["type"], "Offboard", "newest first");
}

#[tokio::test]
async fn a_pending_action_can_be_cancelled_once() {
    let e = demu();
    let mut s = e.state.defender().settings();
    s.action_seconds = 3600;
    e.state.defender().set_settings(s);
    let t = e.token(CONTOSO).await;
    let mid = windows_machine(&e, &t).await;
    let a = e
        .api(
            "POST",
            &format!("/api/machines/{mid}/collectInvestigationPackage"),
            Some(&t),
            Some(json!({"Comment": "collect"})),
        )
        .await
        .json();
    let id = a["id"].as_str().expect("id");
    let r = e
        .api(
            "POST",
            &format!("/api/machineactions/{id}/cancel"),
            Some(&t),
            Some(json!({"Comment": "wrong device"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let c = r.json();
    assert_eq!(c["status"], "Cancelled");
    assert_eq!(c["cancellationComment"], "wrong device");
    assert_eq!(c["cancellationRequestor"], APP);
    assert!(c["cancellationDateTimeUtc"].is_string());
    let got = e
        .api("GET", &format!("/api/machineactions/{id}"), Some(&t), None)
        .await
        .json();
    assert_eq!(got["status"], "Cancelled");
    e.api(
        "POST",
        &format!("/api/machineactions/{id}/cancel"),
        Some(&t),
        Some(json!({"Comment": "again"})),
    )
    .await
    .mde_error(400, "BadRequest");
    e.api(
        "POST",
        &format!("/api/machineactions/{id}/cancel"),
        Some(&t),
        Some(json!({})),
    )
    .await
    .mde_error(400, "MissingRequiredParameter");
    let again = e
        .api(
            "POST",
            &format!("/api/machines/{mid}/collectInvestigationPackage"),
            Some(&t),
            Some(json!({"Comment": "collect"})),
        )
        .await;
    assert_eq!(again.status, 201, "a cancelled action is not in progress");
}

#[tokio::test]
async fn live_response_runs_commands_and_links_their_results() {
    let e = demu();
    let mut s = e.state.defender().settings();
    s.action_seconds = 4;
    e.state.defender().set_settings(s);
    let t = e
        .token_with(
            CONTOSO,
            &["Machine.LiveResponse", "Machine.Read.All", "Library.Manage"],
        )
        .await;
    let mid = windows_machine(&e, &t).await;
    let body = json!({
        "Commands": [
            {"type": "RunScript", "params": [{"key": "ScriptName", "value": "minidump.ps1"}, {"key": "Args", "value": "OfficeClickToRun"}]},
            {"type": "GetFile", "params": [{"key": "Path", "value": "C:\\windows\\TEMP\\OfficeClickToRun.dmp.zip"}]},
            {"type": "PutFile", "params": [{"key": "FileName", "value": "tool.exe"}]}
        ],
        "Comment": "Testing Live Response API"
    });
    // RunScript runs library scripts only.
    let msg = e
        .api(
            "POST",
            &format!("/api/machines/{mid}/runliveresponse"),
            Some(&t),
            Some(body.clone()),
        )
        .await
        .mde_error(400, "InvalidInput");
    assert!(msg.contains("library"), "{msg}");
    let up = e
        .upload(&t, "minidump.ps1", "param($p)", &[("Description", "dump")])
        .await;
    assert_eq!(up.status, 200, "{}", up.text());
    // PutFile puts library files only.
    let msg = e
        .api(
            "POST",
            &format!("/api/machines/{mid}/runliveresponse"),
            Some(&t),
            Some(body.clone()),
        )
        .await
        .mde_error(400, "InvalidInput");
    assert!(
        msg.contains("FileName 'tool.exe'") && msg.contains("library"),
        "{msg}"
    );
    let up = e.upload(&t, "tool.exe", "MZ", &[]).await;
    assert_eq!(up.status, 200, "{}", up.text());
    let r = e
        .api(
            "POST",
            &format!("/api/machines/{mid}/runliveresponse"),
            Some(&t),
            Some(body.clone()),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let a = r.json();
    assert_eq!(
        (a["type"].clone(), a["status"].clone()),
        (json!("LiveResponse"), json!("Pending"))
    );
    assert_eq!(a["commands"][0]["commandStatus"], "Created");
    assert_eq!(a["commands"][1]["command"]["type"], "GetFile");
    let id = a["id"].as_str().expect("id").to_owned();
    e.api(
        "POST",
        &format!("/api/machines/{mid}/runliveresponse"),
        Some(&t),
        Some(body),
    )
    .await
    .mde_error(400, "ActiveRequestAlreadyExists");
    let link = format!("/api/machineactions/{id}/GetLiveResponseResultDownloadLink(index=0)");
    e.api("GET", &link, Some(&t), None)
        .await
        .mde_error(404, "ResourceNotFound");

    tokio::time::sleep(std::time::Duration::from_millis(4100)).await;
    let done = e
        .api("GET", &format!("/api/machineactions/{id}"), Some(&t), None)
        .await
        .json();
    assert_eq!(done["status"], "Succeeded");
    assert!(
        done["commands"]
            .as_array()
            .expect("commands")
            .iter()
            .all(|c| c["commandStatus"] == "Completed" && c["endTime"].is_string())
    );
    let v = e.api("GET", &link, Some(&t), None).await.json();
    let url = v["value"].as_str().expect("url");
    let path = url
        .strip_prefix("https://api.securitycenter.localhost")
        .expect("same host");
    let script = e.api("GET", path, None, None).await;
    assert_eq!(script.status, 200, "{}", script.text());
    let out = script.json();
    assert_eq!(
        (out["script_name"].clone(), out["exit_code"].clone()),
        (json!("minidump.ps1"), json!(0))
    );
    let tampered = path.replace("/0?", "/1?");
    assert_eq!(
        e.api("GET", &tampered, None, None).await.status,
        403,
        "the signature covers the index"
    );
    let file_link = e
        .api(
            "GET",
            &format!("/api/machineactions/{id}/GetLiveResponseResultDownloadLink(index=1)"),
            Some(&t),
            None,
        )
        .await
        .json();
    let file_path = file_link["value"]
        .as_str()
        .and_then(|u| u.strip_prefix("https://api.securitycenter.localhost"))
        .expect("url")
        .to_owned();
    let file = e.api("GET", &file_path, None, None).await;
    assert!(file.text().contains("OfficeClickToRun.dmp.zip"));
    e.api(
        "GET",
        &format!("/api/machineactions/{id}/GetLiveResponseResultDownloadLink(index=2)"),
        Some(&t),
        None,
    )
    .await
    .mde_error(400, "InvalidInput");
    e.api(
        "POST",
        &format!("/api/machines/{mid}/runliveresponse"),
        Some(&t),
        Some(json!({"Comment": "c", "Commands": [{"type": "Format", "params": []}]})),
    )
    .await
    .mde_error(400, "InvalidInput");
    e.api(
        "POST",
        &format!("/api/machines/{mid}/runliveresponse"),
        Some(&t),
        Some(json!({"Comment": "c", "Commands": [{"type": "GetFile", "params": []}]})),
    )
    .await
    .mde_error(400, "MissingRequiredParameter");
}

//! Alerts with their evidence, raised on a tenant's machines.

use super::machines::Machine;
use super::model::Recipe;
use super::rng::{Rng, ticks, ts7};
use super::users::People;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

struct AlertKind {
    title: &'static str,
    category: &'static str,
    source: &'static str,
    family: Option<&'static str>,
    mitre: &'static [&'static str],
    description: &'static str,
    file: (&'static str, &'static str),
    url: Option<&'static str>,
}

const ALERT_KINDS: &[AlertKind] = &[
    AlertKind {
        title: "Suspicious 'Meterpreter' behavior was detected",
        category: "SuspiciousActivity",
        source: "WindowsDefenderAv",
        family: Some("Meterpreter"),
        mitre: &[],
        description: "Malware and unwanted software are undesirable applications that perform annoying, disruptive, or harmful actions on affected machines.",
        file: ("payload.exe", "C:\\Users\\Public\\Downloads"),
        url: Some("c2.example-bad.net"),
    },
    AlertKind {
        title: "Low-reputation arbitrary code executed by signed executable",
        category: "Execution",
        source: "WindowsDefenderAtp",
        family: None,
        mitre: &["T1064", "T1085", "T1220"],
        description: "Binaries signed by Microsoft can be used to run low-reputation arbitrary code. This technique hides the execution of malicious code within a trusted process.",
        file: ("suspicious.dll", "c:\\temp"),
        url: None,
    },
    AlertKind {
        title: "Suspicious PowerShell command line",
        category: "Execution",
        source: "WindowsDefenderAtp",
        family: None,
        mitre: &["T1059.001"],
        description: "A suspicious PowerShell activity was observed on the machine. This behavior may indicate that PowerShell was used during installation, exploration, or in some cases in lateral movement activities.",
        file: ("stage2.ps1", "C:\\Windows\\Temp"),
        url: Some("downloads.example-bad.net"),
    },
    AlertKind {
        title: "'Mimikatz' credential theft tool was detected",
        category: "CredentialAccess",
        source: "WindowsDefenderAv",
        family: Some("Mimikatz"),
        mitre: &["T1003.001"],
        description: "Readily available tools, such as hacking programs, can be used by unauthorized individuals to spy on users.",
        file: ("mimi.exe", "C:\\ProgramData"),
        url: None,
    },
    AlertKind {
        title: "Ransomware behavior detected in the file system",
        category: "Ransomware",
        source: "WindowsDefenderAv",
        family: Some("Conti"),
        mitre: &["T1486"],
        description: "Defender detected file system activity typical of ransomware encrypting files.",
        file: ("locker.exe", "C:\\Users\\Public"),
        url: None,
    },
    AlertKind {
        title: "Suspicious scheduled task",
        category: "Persistence",
        source: "WindowsDefenderAtp",
        family: None,
        mitre: &["T1053.005"],
        description: "A scheduled task was created that runs a binary from an unusual location.",
        file: ("updater.exe", "C:\\Users\\Public\\Libraries"),
        url: None,
    },
    AlertKind {
        title: "Connection to a custom network indicator",
        category: "CommandAndControl",
        source: "CustomerTI",
        family: None,
        mitre: &["T1071"],
        description: "A connection was made to an address that matches a custom indicator of compromise.",
        file: ("svchost.exe", "C:\\Windows\\System32"),
        url: Some("beacon.example-bad.org"),
    },
    AlertKind {
        title: "An active 'Emotet' malware was blocked",
        category: "Malware",
        source: "WindowsDefenderAv",
        family: Some("Emotet"),
        mitre: &[],
        description: "Malware was detected and blocked before it could run.",
        file: ("invoice.doc.exe", "C:\\Users\\Public\\Downloads"),
        url: None,
    },
];

const INVESTIGATION_STATES: &[&str] = &[
    "Queued",
    "Running",
    "SuccessfullyRemediated",
    "Benign",
    "PendingApproval",
    "UnsupportedAlertType",
];

/// Evidence with every key MDE returns, all null.
fn evidence(entity_type: &str, at: OffsetDateTime) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("entityType".into(), json!(entity_type));
    m.insert("evidenceCreationTime".into(), json!(ts7(at)));
    for k in [
        "sha1",
        "sha256",
        "fileName",
        "filePath",
        "processId",
        "processCommandLine",
        "processCreationTime",
        "parentProcessId",
        "parentProcessCreationTime",
        "parentProcessFileName",
        "parentProcessFilePath",
        "ipAddress",
        "url",
        "registryKey",
        "registryHive",
        "registryValueType",
        "registryValue",
        "accountName",
        "domainName",
        "userSid",
        "aadUserId",
        "userPrincipalName",
        "detectionStatus",
    ] {
        m.insert(k.into(), Value::Null);
    }
    m
}

/// Hashes for a file name, stable per tenant seed.
fn file_hashes(rng: &mut Rng) -> (String, String) {
    (rng.hex(40), rng.hex(64))
}

/// `count` alerts on `machines`, naming the users who log on to them, newest first.
pub fn alerts(
    rng: &mut Rng,
    recipe: &Recipe,
    count: usize,
    machines: &[Machine],
    people: &People,
) -> Vec<Value> {
    let devices = machines.len();
    let mut out = Vec::with_capacity(count);
    let detector_ids: Vec<Uuid> = ALERT_KINDS.iter().map(|_| rng.guid()).collect();
    let mut incident = 1000 + rng.below(9000) as i64;
    for _ in 0..count {
        let mi = rng.below(devices as u64) as usize;
        let m = &machines[mi].json;
        let ki = rng.below(ALERT_KINDS.len() as u64) as usize;
        let kind = &ALERT_KINDS[ki];
        let created = rng.before(recipe.anchor, 60, 86_400 * 30);
        let first = rng.before(created, 1, 300);
        let last = first + time::Duration::nanoseconds(rng.below(2_000_000_000) as i64 / 100 * 100);
        let updated = created
            + time::Duration::nanoseconds(rng.below(5_000_000_000) as i64 / 100 * 100 + 100);
        let id = format!("da{}_{}", ticks(created), rng.next_u64() as i32);
        let severity = *rng.pick(&[
            "Informational",
            "Low",
            "Low",
            "Medium",
            "Medium",
            "Medium",
            "High",
            "High",
        ]);
        let status = *rng.pick(&["New", "New", "New", "InProgress", "Resolved"]);
        let (classification, determination, resolved, assigned) = match status {
            "Resolved" => {
                let (c, d) = *rng.pick(&[
                    ("TruePositive", "Malware"),
                    ("TruePositive", "MultiStagedAttack"),
                    ("InformationalExpectedActivity", "SecurityTesting"),
                    ("FalsePositive", "Clean"),
                ]);
                (
                    json!(c),
                    json!(d),
                    json!(ts7(updated)),
                    json!(format!("secop@{}", recipe.domain)),
                )
            }
            "InProgress" => (
                Value::Null,
                Value::Null,
                Value::Null,
                json!(format!("secop@{}", recipe.domain)),
            ),
            _ => (Value::Null, Value::Null, Value::Null, Value::Null),
        };
        incident += rng.below(3) as i64;
        let inv_state = *rng.pick(INVESTIGATION_STATES);
        let investigation = if inv_state == "UnsupportedAlertType" {
            Value::Null
        } else {
            json!(100_000 + rng.below(900_000))
        };
        let related = machines[mi].users.first().map(|u| &people.users[*u]);
        let machine_id = m["id"].clone();
        let mut ev = Vec::new();
        let ev_time = created + time::Duration::milliseconds(700);
        if let Some(u) = related {
            let name = &u.name;
            let mut e = evidence("User", ev_time);
            e.insert("accountName".into(), json!(name));
            e.insert(
                "domainName".into(),
                json!(people.domain.to_ascii_uppercase()),
            );
            e.insert("userSid".into(), json!(people.sid(u)));
            e.insert("aadUserId".into(), json!(rng.guid()));
            e.insert(
                "userPrincipalName".into(),
                json!(format!("{name}@{}", recipe.domain)),
            );
            ev.push(Value::Object(e));
        }
        let (fname, fpath) = kind.file;
        let (sha1, sha256) = file_hashes(rng);
        let (psha1, psha256) = file_hashes(rng);
        let pid = 1000 + rng.below(30_000) as i64;
        let mut p = evidence("Process", ev_time);
        p.insert("sha1".into(), json!(psha1));
        p.insert("sha256".into(), json!(psha256));
        p.insert("fileName".into(), json!("rundll32.exe"));
        p.insert("filePath".into(), json!("C:\\Windows\\System32"));
        p.insert("processId".into(), json!(pid));
        p.insert(
            "processCommandLine".into(),
            json!(format!("rundll32.exe {fpath}\\{fname},Run")),
        );
        p.insert("processCreationTime".into(), json!(ts7(first)));
        p.insert(
            "parentProcessId".into(),
            json!(pid - 1 - rng.below(900) as i64),
        );
        p.insert(
            "parentProcessCreationTime".into(),
            json!(ts7(first - time::Duration::milliseconds(60))),
        );
        let (parent, parent_path) = *rng.pick(&[
            ("explorer.exe", "C:\\Windows"),
            (
                "powershell.exe",
                "C:\\Windows\\System32\\WindowsPowerShell\\v1.0",
            ),
            ("cmd.exe", "C:\\Windows\\System32"),
            (
                "winword.exe",
                "C:\\Program Files\\Microsoft Office\\root\\Office16",
            ),
        ]);
        p.insert("parentProcessFileName".into(), json!(parent));
        p.insert("parentProcessFilePath".into(), json!(parent_path));
        p.insert("detectionStatus".into(), json!("Detected"));
        ev.push(Value::Object(p));
        let mut f = evidence("File", ev_time);
        f.insert("sha1".into(), json!(sha1));
        f.insert("sha256".into(), json!(sha256));
        f.insert("fileName".into(), json!(fname));
        f.insert("filePath".into(), json!(fpath));
        f.insert(
            "detectionStatus".into(),
            json!(*rng.pick(&["Detected", "Blocked", "Prevented"])),
        );
        ev.push(Value::Object(f));
        if let Some(host) = kind.url {
            let ip = format!(
                "{}.{}.{}.{}",
                23 + rng.below(180),
                rng.below(256),
                rng.below(256),
                1 + rng.below(254)
            );
            let mut i = evidence("Ip", ev_time);
            i.insert("ipAddress".into(), json!(ip));
            ev.push(Value::Object(i));
            let mut u = evidence("Url", ev_time);
            u.insert("url".into(), json!(host));
            ev.push(Value::Object(u));
        }
        let comments = if rng.chance(20) {
            json!([{
                "comment": "Looked at the process tree; escalating.",
                "createdBy": format!("secop@{}", recipe.domain),
                "createdTime": ts7(updated),
            }])
        } else {
            json!([])
        };
        out.push(json!({
            "id": id,
            "incidentId": incident,
            "investigationId": investigation,
            "assignedTo": assigned,
            "severity": severity,
            "status": status,
            "classification": classification,
            "determination": determination,
            "investigationState": inv_state,
            "detectionSource": kind.source,
            "detectorId": detector_ids[ki],
            "category": kind.category,
            "threatFamilyName": kind.family,
            "title": kind.title,
            "description": kind.description,
            "alertCreationTime": ts7(created),
            "firstEventTime": ts7(first),
            "lastEventTime": ts7(last),
            "lastUpdateTime": ts7(updated),
            "resolvedTime": resolved,
            "machineId": machine_id,
            "computerDnsName": m["computerDnsName"],
            "rbacGroupName": m["rbacGroupName"],
            "aadTenantId": recipe.tenant,
            "threatName": kind.family.map(|f| format!("Trojan:Win32/{f}")),
            "mitreTechniques": kind.mitre,
            "relatedUser": related.map(|u| json!({"userName": u.name, "domainName": people.domain.to_ascii_uppercase()})),
            "loggedOnUsers": related.map_or_else(Vec::new, |u| vec![json!({"accountName": u.name, "domainName": people.domain.to_ascii_uppercase()})]),
            "comments": comments,
            "evidence": ev,
        }));
    }
    out.sort_by(|a, b| {
        b["alertCreationTime"]
            .as_str()
            .cmp(&a["alertCreationTime"].as_str())
    });
    out
}

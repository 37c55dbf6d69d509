//! The four tables, made from a tenant's data. Each table is a list of columns: a name,
//! a type, and how the column's value comes out of one source row (a machine, an
//! alert, a piece of evidence).

use super::value::{Table, Ty, V, time_of};
use crate::defender::data::TenantData;
use serde_json::{Value, json};

fn s(v: &Value) -> V {
    v.as_str().map_or(V::Null, |x| V::Str(x.to_owned()))
}

fn t(v: &Value) -> V {
    v.as_str().and_then(time_of).map_or(V::Null, V::Time)
}

fn i(v: &Value) -> V {
    v.as_i64().map_or(V::Null, V::Int)
}

const STR: Ty = Ty::Str;

/// A column over source rows of type `R`.
type Col<R> = (&'static str, Ty, fn(&R) -> V);

/// A table of `cols` with one row per source row.
fn build<R>(cols: &[Col<R>], sources: impl IntoIterator<Item = R>) -> Table {
    Table {
        cols: cols
            .iter()
            .map(|(n, ty, _)| ((*n).to_owned(), *ty))
            .collect(),
        rows: sources
            .into_iter()
            .map(|r| cols.iter().map(|(_, _, get)| get(&r)).collect())
            .collect(),
    }
}

/// The `ServiceSource` of every alert.
fn service_source() -> V {
    V::Str("Microsoft Defender for Endpoint".into())
}

/// The `DetectionSource` for an alert's API `detectionSource`.
fn detection_source(a: &Value) -> V {
    V::Str(
        match a["detectionSource"].as_str().unwrap_or_default() {
            "WindowsDefenderAv" => "Antivirus",
            "WindowsDefenderAtp" => "EDR",
            "CustomerTI" => "Custom TI",
            "CustomDetection" => "Custom detection",
            "WindowsDefenderSmartScreen" => "SmartScreen",
            "AutomatedInvestigation" => "Automated investigation",
            _ => "EDR",
        }
        .into(),
    )
}

/// One `AlertEvidence` row: an alert's device, or one piece of its evidence.
struct Evidence<'a> {
    alert: &'a Value,
    entity: &'a str,
    role: &'static str,
    /// The evidence (null for the device row).
    e: &'a Value,
}

/// One `DeviceProcessEvents` row: a process in the evidence of the `n`th alert.
struct Process<'a> {
    n: usize,
    alert: &'a Value,
    e: &'a Value,
}

/// The `DeviceProcessEvents` rows: the processes in alert evidence, `ReportId` one more
/// than the alert's position.
fn processes(d: &TenantData) -> impl Iterator<Item = Process<'_>> {
    d.alerts
        .iter()
        .zip(&d.evidence)
        .enumerate()
        .flat_map(|(n, (alert, ev))| {
            evidence_of(ev)
                .iter()
                .filter(|e| e["entityType"] == "Process")
                .map(move |e| Process { n, alert, e })
        })
}

/// The `DeviceProcessEvents` event with this `ReportId`, `DeviceId` (any case) and
/// `Timestamp` (nanoseconds since the epoch): the alert it comes from (its position) and
/// the process evidence it is.
pub fn process_event<'a>(
    d: &'a TenantData,
    report_id: i64,
    device_id: &str,
    at: i128,
) -> Option<(usize, &'a Value)> {
    processes(d)
        .find(|p| {
            p.n as i64 + 1 == report_id
                && p.alert["machineId"]
                    .as_str()
                    .is_some_and(|m| m.eq_ignore_ascii_case(device_id))
                && p.e["processCreationTime"].as_str().and_then(time_of) == Some(at)
        })
        .map(|p| (p.n, p.e))
}

/// The evidence columns of an alert's device row.
static NULL: Value = Value::Null;

fn evidence_of(ev: &Value) -> &[Value] {
    ev.as_array().map_or(&[][..], Vec::as_slice)
}

/// The table called `name`, if the emulator has it.
pub fn table(name: &str, d: &TenantData) -> Option<Table> {
    Some(match name {
        "DeviceInfo" => build::<&Value>(
            &[
                ("Timestamp", Ty::Time, |m| t(&m["lastSeen"])),
                ("DeviceId", STR, |m| s(&m["id"])),
                ("DeviceName", STR, |m| s(&m["computerDnsName"])),
                ("ClientVersion", STR, |m| s(&m["agentVersion"])),
                ("PublicIP", STR, |m| s(&m["lastExternalIpAddress"])),
                ("OSArchitecture", STR, |m| s(&m["osArchitecture"])),
                ("OSPlatform", STR, |m| s(&m["osPlatform"])),
                ("OSBuild", Ty::Int, |m| i(&m["osBuild"])),
                ("OSVersion", STR, |m| s(&m["osVersion"])),
                ("IsAzureADJoined", Ty::Bool, |m| {
                    m["isAadJoined"].as_bool().map_or(V::Null, V::Bool)
                }),
                ("AadDeviceId", STR, |m| s(&m["aadDeviceId"])),
                ("MachineGroup", STR, |m| s(&m["rbacGroupName"])),
                ("OnboardingStatus", STR, |m| s(&m["onboardingStatus"])),
                ("ExposureLevel", STR, |m| s(&m["exposureLevel"])),
            ],
            &d.machines,
        ),
        "AlertInfo" => build::<&Value>(
            &[
                ("Timestamp", Ty::Time, |a| t(&a["alertCreationTime"])),
                ("AlertId", STR, |a| s(&a["id"])),
                ("Title", STR, |a| s(&a["title"])),
                ("Category", STR, |a| s(&a["category"])),
                ("Severity", STR, |a| s(&a["severity"])),
                ("ServiceSource", STR, |_| service_source()),
                ("DetectionSource", STR, |a| detection_source(a)),
                ("AttackTechniques", STR, |a| {
                    V::Str(a["mitreTechniques"].to_string())
                }),
            ],
            &d.alerts,
        ),
        "AlertEvidence" => build::<Evidence<'_>>(
            &[
                ("Timestamp", Ty::Time, |r| t(&r.alert["alertCreationTime"])),
                ("AlertId", STR, |r| s(&r.alert["id"])),
                ("Title", STR, |r| s(&r.alert["title"])),
                ("Categories", STR, |r| {
                    V::Str(json!([r.alert["category"]]).to_string())
                }),
                ("AttackTechniques", STR, |r| {
                    V::Str(r.alert["mitreTechniques"].to_string())
                }),
                ("ServiceSource", STR, |_| service_source()),
                ("DetectionSource", STR, |r| detection_source(r.alert)),
                ("EntityType", STR, |r| V::Str(r.entity.into())),
                ("EvidenceRole", STR, |r| V::Str(r.role.into())),
                ("DeviceId", STR, |r| s(&r.alert["machineId"])),
                ("DeviceName", STR, |r| s(&r.alert["computerDnsName"])),
                ("FileName", STR, |r| s(&r.e["fileName"])),
                ("FolderPath", STR, |r| s(&r.e["filePath"])),
                ("SHA1", STR, |r| s(&r.e["sha1"])),
                ("SHA256", STR, |r| s(&r.e["sha256"])),
                ("ProcessCommandLine", STR, |r| s(&r.e["processCommandLine"])),
                ("RemoteIP", STR, |r| s(&r.e["ipAddress"])),
                ("RemoteUrl", STR, |r| s(&r.e["url"])),
                ("AccountName", STR, |r| s(&r.e["accountName"])),
                ("AccountDomain", STR, |r| s(&r.e["domainName"])),
                ("AccountSid", STR, |r| s(&r.e["userSid"])),
                ("AccountObjectId", STR, |r| s(&r.e["aadUserId"])),
                ("AccountUpn", STR, |r| s(&r.e["userPrincipalName"])),
            ],
            d.alerts.iter().zip(&d.evidence).flat_map(|(alert, ev)| {
                let device = Evidence {
                    alert,
                    entity: "Machine",
                    role: "Impacted",
                    e: &NULL,
                };
                let pieces = evidence_of(ev).iter().map(move |e| {
                    let entity = e["entityType"].as_str().unwrap_or_default();
                    let role = if entity == "User" {
                        "Impacted"
                    } else {
                        "Related"
                    };
                    Evidence {
                        alert,
                        entity,
                        role,
                        e,
                    }
                });
                std::iter::once(device).chain(pieces)
            }),
        ),
        "DeviceProcessEvents" => build::<Process<'_>>(
            &[
                ("Timestamp", Ty::Time, |r| t(&r.e["processCreationTime"])),
                ("DeviceId", STR, |r| s(&r.alert["machineId"])),
                ("DeviceName", STR, |r| s(&r.alert["computerDnsName"])),
                ("ActionType", STR, |_| V::Str("ProcessCreated".into())),
                ("FileName", STR, |r| s(&r.e["fileName"])),
                ("FolderPath", STR, |r| s(&r.e["filePath"])),
                ("SHA1", STR, |r| s(&r.e["sha1"])),
                ("SHA256", STR, |r| s(&r.e["sha256"])),
                ("ProcessId", Ty::Int, |r| i(&r.e["processId"])),
                ("ProcessCommandLine", STR, |r| s(&r.e["processCommandLine"])),
                ("AccountDomain", STR, |r| {
                    s(&r.alert["relatedUser"]["domainName"])
                }),
                ("AccountName", STR, |r| {
                    s(&r.alert["relatedUser"]["userName"])
                }),
                ("InitiatingProcessFileName", STR, |r| {
                    s(&r.e["parentProcessFileName"])
                }),
                ("InitiatingProcessFolderPath", STR, |r| {
                    s(&r.e["parentProcessFilePath"])
                }),
                ("InitiatingProcessId", Ty::Int, |r| {
                    i(&r.e["parentProcessId"])
                }),
                ("ReportId", Ty::Int, |r| V::Int(r.n as i64 + 1)),
            ],
            processes(d),
        ),
        _ => return None,
    })
}

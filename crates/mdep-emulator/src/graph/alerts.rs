//! `GET/PATCH /security/alerts_v2`: each MDE alert of the tenant in Graph's `alert` schema
//! (`graph-security.md` §4.1; keys as in the documented list response, fixture
//! `alerts_v2_list_response.json`). The id is MDE's alert id, so an update here is an
//! update of `/api/alerts/{id}` and the other way round.

use crate::collection::body::Fields;
use crate::collection::set::{Get, Patch};
use crate::defender::data::TenantData;
use crate::defender::query::{EntitySet, Field, Kind, Page};
use crate::request::call::Call;
use crate::request::graph::{Graph, lower_camel};
use crate::request::graph_error::GraphError;
use serde_json::{Map, Value, json};
use std::borrow::Cow;

/// Roles that read alerts.
pub const READ: &[&str] = &["SecurityAlert.Read.All", "SecurityAlert.ReadWrite.All"];
/// Roles that update alerts.
pub const WRITE: &[&str] = &["SecurityAlert.ReadWrite.All"];

/// `alertStatus`.
pub const STATUSES: &[&str] = &["unknown", "new", "inProgress", "resolved"];
/// `alertSeverity`.
pub const SEVERITIES: &[&str] = &["unknown", "informational", "low", "medium", "high"];
/// `alertClassification`.
pub const CLASSIFICATIONS: &[&str] = &[
    "unknown",
    "falsePositive",
    "truePositive",
    "informationalExpectedActivity",
];
/// `alertDetermination`.
pub const DETERMINATIONS: &[&str] = &[
    "unknown",
    "apt",
    "malware",
    "securityPersonnel",
    "securityTesting",
    "unwantedSoftware",
    "other",
    "multiStagedAttack",
    "compromisedAccount",
    "phishing",
    "maliciousUserActivity",
    "notMalicious",
    "notEnoughDataToValidate",
    "confirmedActivity",
    "lineOfBusinessApplication",
];

/// MDE determinations and their Graph names where they differ by more than case.
const DETERMINATION_NAMES: &[(&str, &str)] = &[
    ("CompromisedUser", "compromisedAccount"),
    ("ConfirmedUserActivity", "confirmedActivity"),
    ("Clean", "notMalicious"),
    ("InsufficientData", "notEnoughDataToValidate"),
];

/// The alert entity set for `$filter` (the properties the list page documents).
pub static ALERTS_V2: EntitySet = EntitySet {
    name: "microsoft.graph.security.alert",
    filterable: &[
        Field {
            key: "assignedTo",
            kind: Kind::Str,
        },
        Field {
            key: "classification",
            kind: Kind::Enum(CLASSIFICATIONS),
        },
        Field {
            key: "determination",
            kind: Kind::Enum(DETERMINATIONS),
        },
        Field {
            key: "createdDateTime",
            kind: Kind::Time,
        },
        Field {
            key: "lastUpdateDateTime",
            kind: Kind::Time,
        },
        Field {
            key: "severity",
            kind: Kind::Enum(SEVERITIES),
        },
        Field {
            key: "serviceSource",
            kind: Kind::Str,
        },
        Field {
            key: "status",
            kind: Kind::Enum(STATUSES),
        },
        Field {
            key: "incidentId",
            kind: Kind::Str,
        },
    ],
    // `$select`: the alert's properties (alerts_v2_list_response.json).
    properties: &[
        "id",
        "providerAlertId",
        "incidentId",
        "status",
        "severity",
        "classification",
        "determination",
        "serviceSource",
        "detectionSource",
        "detectorId",
        "tenantId",
        "title",
        "description",
        "recommendedActions",
        "category",
        "assignedTo",
        "alertWebUrl",
        "incidentWebUrl",
        "actorDisplayName",
        "threatDisplayName",
        "threatFamilyName",
        "mitreTechniques",
        "createdDateTime",
        "lastUpdateDateTime",
        "resolvedDateTime",
        "firstActivityDateTime",
        "lastActivityDateTime",
        "comments",
        "evidence",
        "systemTags",
    ],
    expands_evidence: false,
    // Not documented for alerts_v2; 2,000 is the largest page partner integrations are
    // known to have used (graph-security.md §4.1).
    max_top: 2000,
};

fn graph_status(s: &str) -> String {
    match s {
        "New" | "InProgress" | "Resolved" => lower_camel(s),
        _ => "unknown".into(),
    }
}

/// MDE severity → Graph (`UnSpecified` is `unknown`).
pub fn graph_severity(s: &str) -> String {
    match s {
        "Informational" | "Low" | "Medium" | "High" => lower_camel(s),
        _ => "unknown".into(),
    }
}

fn graph_classification(v: &Value) -> String {
    v.as_str().map_or_else(|| "unknown".into(), lower_camel)
}

fn graph_determination(v: &Value) -> String {
    match v.as_str() {
        None => "unknown".into(),
        Some(d) => DETERMINATION_NAMES
            .iter()
            .find(|(m, _)| *m == d)
            .map_or_else(|| lower_camel(d), |(_, g)| (*g).to_owned()),
    }
}

fn mde_determination(g: &str) -> Option<&'static str> {
    Some(match g {
        "unknown" => return None,
        "compromisedAccount" => "CompromisedUser",
        "confirmedActivity" => "ConfirmedUserActivity",
        "notMalicious" => "Clean",
        "notEnoughDataToValidate" => "InsufficientData",
        "multiStagedAttack" => "MultiStagedAttack",
        "maliciousUserActivity" => "MaliciousUserActivity",
        "malware" => "Malware",
        "phishing" => "Phishing",
        "unwantedSoftware" => "UnwantedSoftware",
        "securityTesting" => "SecurityTesting",
        "lineOfBusinessApplication" => "LineOfBusinessApplication",
        // No MDE counterpart (apt, securityPersonnel, other).
        _ => "Other",
    })
}

fn detection_source(s: &str) -> String {
    match s {
        "WindowsDefenderAv" => "antivirus".into(),
        "WindowsDefenderAtp" | "EDR" => "microsoftDefenderForEndpoint".into(),
        "WindowsDefenderSmartScreen" => "smartScreen".into(),
        "CustomerTI" => "customTi".into(),
        other => lower_camel(other),
    }
}

fn file_details(sha1: &Value, sha256: &Value, name: &Value, path: &Value) -> Value {
    json!({
        "sha1": sha1, "sha256": sha256, "fileName": name, "filePath": path,
        "fileSize": null, "filePublisher": null, "signer": null, "issuer": null,
    })
}

fn user_account(e: &Value) -> Value {
    json!({
        "accountName": e["accountName"], "domainName": e["domainName"], "userSid": e["userSid"],
        "azureAdUserId": e["aadUserId"], "userPrincipalName": e["userPrincipalName"],
        "displayName": e["accountName"],
    })
}

fn common(kind: &str, created: &Value) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        "@odata.type".into(),
        json!(format!("#microsoft.graph.security.{kind}")),
    );
    m.insert("createdDateTime".into(), created.clone());
    m.insert("verdict".into(), json!("unknown"));
    m.insert("remediationStatus".into(), json!("none"));
    m.insert("remediationStatusDetails".into(), Value::Null);
    m
}

fn tail(mut m: Map<String, Value>) -> Value {
    m.insert("roles".into(), json!([]));
    m.insert("detailedRoles".into(), json!([]));
    m.insert("tags".into(), json!([]));
    Value::Object(m)
}

fn device_evidence(machine: &Value, created: &Value) -> Value {
    let dns = machine["computerDnsName"].as_str().unwrap_or_default();
    let (host, domain) = dns.split_once('.').unwrap_or((dns, ""));
    let mut m = common("deviceEvidence", created);
    let ips: Vec<Value> = machine["ipAddresses"]
        .as_array()
        .map(|xs| xs.iter().map(|x| x["ipAddress"].clone()).collect())
        .unwrap_or_default();
    for (k, v) in [
        ("firstSeenDateTime", machine["firstSeen"].clone()),
        ("mdeDeviceId", machine["id"].clone()),
        ("azureAdDeviceId", machine["aadDeviceId"].clone()),
        ("deviceDnsName", json!(dns)),
        ("hostName", json!(host)),
        ("ntDomain", Value::Null),
        ("dnsDomain", json!(domain)),
        ("osPlatform", machine["osPlatform"].clone()),
        ("osBuild", machine["osBuild"].clone()),
        ("version", machine["version"].clone()),
        (
            "healthStatus",
            json!(lower_camel(
                machine["healthStatus"].as_str().unwrap_or("Unknown")
            )),
        ),
        (
            "riskScore",
            json!(lower_camel(machine["riskScore"].as_str().unwrap_or("None"))),
        ),
        ("rbacGroupId", machine["rbacGroupId"].clone()),
        ("rbacGroupName", machine["rbacGroupName"].clone()),
        (
            "onboardingStatus",
            json!(lower_camel(
                machine["onboardingStatus"].as_str().unwrap_or("Onboarded")
            )),
        ),
        ("defenderAvStatus", json!("unknown")),
        ("ipInterfaces", Value::Array(ips)),
        ("loggedOnUsers", json!([])),
    ] {
        m.insert(k.into(), v);
    }
    let mut v = tail(m);
    v["roles"] = json!(["compromised"]);
    v["detailedRoles"] = json!(["Main device"]);
    v["tags"] = machine["machineTags"].clone();
    v["vmMetadata"] = Value::Null;
    v
}

fn evidence(e: &Value, device: &Value) -> Option<Value> {
    let created = &e["evidenceCreationTime"];
    let status = e["detectionStatus"]
        .as_str()
        .map_or(Value::Null, |s| json!(lower_camel(s)));
    let mut m;
    match e["entityType"].as_str()? {
        "File" => {
            m = common("fileEvidence", created);
            m.insert("detectionStatus".into(), status);
            m.insert("mdeDeviceId".into(), device.clone());
            m.insert(
                "fileDetails".into(),
                file_details(&e["sha1"], &e["sha256"], &e["fileName"], &e["filePath"]),
            );
        }
        "Process" => {
            m = common("processEvidence", created);
            for (k, v) in [
                ("processId", &e["processId"]),
                ("parentProcessId", &e["parentProcessId"]),
                ("processCommandLine", &e["processCommandLine"]),
                ("processCreationDateTime", &e["processCreationTime"]),
                (
                    "parentProcessCreationDateTime",
                    &e["parentProcessCreationTime"],
                ),
            ] {
                m.insert(k.into(), v.clone());
            }
            m.insert("detectionStatus".into(), status);
            m.insert("mdeDeviceId".into(), device.clone());
            m.insert(
                "imageFile".into(),
                file_details(&e["sha1"], &e["sha256"], &e["fileName"], &e["filePath"]),
            );
            m.insert(
                "parentProcessImageFile".into(),
                file_details(
                    &Value::Null,
                    &Value::Null,
                    &e["parentProcessFileName"],
                    &e["parentProcessFilePath"],
                ),
            );
            m.insert("userAccount".into(), user_account(e));
        }
        "Ip" => {
            m = common("ipEvidence", created);
            m.insert("ipAddress".into(), e["ipAddress"].clone());
            m.insert("countryLetterCode".into(), Value::Null);
        }
        "Url" => {
            m = common("urlEvidence", created);
            m.insert("url".into(), e["url"].clone());
        }
        "User" => {
            m = common("userEvidence", created);
            m.insert("userAccount".into(), user_account(e));
        }
        "Registry" | "RegistryKey" | "RegistryValue" => {
            m = common("registryKeyEvidence", created);
            m.insert("registryKey".into(), e["registryKey"].clone());
            m.insert("registryHive".into(), e["registryHive"].clone());
        }
        _ => return None,
    }
    Some(tail(m))
}

/// Alert `i` of `d` in Graph's schema.
pub fn to_graph(d: &TenantData, i: usize) -> Value {
    let a = &d.alerts[i];
    let id = a["id"].as_str().unwrap_or_default();
    let tenant = d.tenant;
    let incident = match &a["incidentId"] {
        Value::Number(n) => json!(n.to_string()),
        Value::String(s) => json!(s),
        _ => Value::Null,
    };
    let machine = a["machineId"]
        .as_str()
        .and_then(|m| d.machine_index(m))
        .map(|m| &d.machines[m]);
    let mut ev: Vec<Value> = Vec::new();
    if let Some(m) = machine {
        ev.push(device_evidence(m, &a["alertCreationTime"]));
    }
    if let Some(xs) = d.evidence[i].as_array() {
        ev.extend(xs.iter().filter_map(|e| evidence(e, &a["machineId"])));
    }
    let comments: Vec<Value> = a["comments"]
        .as_array()
        .map(|xs| {
            xs.iter()
                .map(|c| {
                    json!({
                        "comment": c["comment"],
                        "createdByDisplayName": c["createdBy"],
                        "createdDateTime": c["createdTime"],
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    json!({
        "@odata.type": "#microsoft.graph.security.alert",
        "id": id,
        "providerAlertId": id,
        "incidentId": incident,
        "status": graph_status(a["status"].as_str().unwrap_or_default()),
        "severity": graph_severity(a["severity"].as_str().unwrap_or_default()),
        "classification": graph_classification(&a["classification"]),
        "determination": graph_determination(&a["determination"]),
        "serviceSource": "microsoftDefenderForEndpoint",
        "detectionSource": detection_source(a["detectionSource"].as_str().unwrap_or_default()),
        "detectorId": a["detectorId"],
        "tenantId": tenant.to_string(),
        "title": a["title"],
        "description": a["description"],
        "recommendedActions": "Review the device timeline for activity before and after the alert, look for the same artifacts on other devices, and contain the device if the activity is confirmed.",
        "category": a["category"],
        "assignedTo": a["assignedTo"],
        "alertWebUrl": format!("https://security.microsoft.com/alerts/{id}?tid={tenant}"),
        "incidentWebUrl": incident.as_str().map(|n| format!("https://security.microsoft.com/incidents/{n}?tid={tenant}")),
        "actorDisplayName": null,
        "threatDisplayName": a["threatName"],
        "threatFamilyName": a["threatFamilyName"],
        "mitreTechniques": a["mitreTechniques"],
        "createdDateTime": a["alertCreationTime"],
        "lastUpdateDateTime": a["lastUpdateTime"],
        "resolvedDateTime": a["resolvedTime"],
        "firstActivityDateTime": a["firstEventTime"],
        "lastActivityDateTime": a["lastEventTime"],
        "comments": comments,
        "evidence": ev,
        "systemTags": [],
    })
}

crate::entity_set! {
/// Graph's `alerts_v2`: the tenant's MDE alerts in Graph's schema.
AlertsV2: Graph = &ALERTS_V2, "security/alerts_v2", "Alert", READ;
fn items(_, d) {
    (0..d.alerts.len())
        .map(|i| Cow::Owned(to_graph(d, i)))
        .collect()
}
}

impl Get for AlertsV2 {
    fn find(_: &Call<Graph>, d: &TenantData, id: &str) -> Option<Value> {
        d.alert_index(id).map(|i| to_graph(d, i))
    }
}

impl Patch for AlertsV2 {
    const WRITE: &'static [&'static str] = WRITE;
    type Change = Change;

    fn change(body: &Map<String, Value>) -> Result<Change, GraphError> {
        let change = Change::parse(body)?;
        if change.is_empty() {
            return Err(GraphError::bad_request(
                "Give at least one of status, assignedTo, classification, determination.",
            ));
        }
        Ok(change)
    }

    fn apply(
        call: &Call<Graph>,
        d: &mut TenantData,
        id: &str,
        change: Change,
    ) -> Result<Value, GraphError> {
        let i = d
            .alert_index(id)
            .ok_or_else(|| GraphError::not_found("Alert", id))?;
        let now = crate::defender::generate::ts7(time::OffsetDateTime::now_utc());
        change.apply(&mut d.alerts[i], &now);
        d.persist_alert(&call.state.emu, i)?;
        Ok(to_graph(d, i))
    }
}

/// An update of alerts in Graph's terms: `status`, `assignedTo`, `classification`,
/// `determination` (the properties the alert update method takes).
#[derive(Debug, Default)]
pub struct Change {
    status: Option<&'static str>,
    assigned: Option<Option<String>>,
    classification: Option<Option<&'static str>>,
    determination: Option<Option<&'static str>>,
}

/// The properties an alert update takes.
pub const UPDATABLE: &[&str] = &["status", "assignedTo", "classification", "determination"];

impl Change {
    /// Parses the alert properties of `body`.
    pub fn parse(body: &Map<String, Value>) -> Result<Self, GraphError> {
        let f = Fields::<Graph>::new(body, UPDATABLE, &[])?;
        let status = f.one_of("status", &["new", "inProgress", "resolved"])?;
        let assigned = if f.is_null("assignedTo") {
            Some(None)
        } else {
            f.str("assignedTo")?.map(|s| Some(s.to_owned()))
        };
        let classification = f
            .one_of("classification", CLASSIFICATIONS)?
            .map(|c| (c != "unknown").then(|| mde_classification(c)));
        let determination = f
            .one_of("determination", DETERMINATIONS)?
            .map(mde_determination);
        Ok(Self {
            status: status.map(|s| match s {
                "new" => "New",
                "inProgress" => "InProgress",
                _ => "Resolved",
            }),
            assigned,
            classification,
            determination,
        })
    }

    /// True when nothing would change.
    pub fn is_empty(&self) -> bool {
        self.status.is_none()
            && self.assigned.is_none()
            && self.classification.is_none()
            && self.determination.is_none()
    }

    /// Applies the change to MDE alert `a` (the shared store's form).
    pub fn apply(&self, a: &mut Value, now: &str) {
        if let Some(s) = self.status {
            crate::defender::alerts::set_status(a, s, now);
        }
        if let Some(x) = &self.assigned {
            a["assignedTo"] = json!(x);
        }
        if let Some(c) = self.classification {
            a["classification"] = json!(c);
        }
        if let Some(d) = self.determination {
            a["determination"] = json!(d);
        }
        a["lastUpdateTime"] = json!(now);
    }
}

fn mde_classification(g: &str) -> &'static str {
    match g {
        "falsePositive" => "FalsePositive",
        "truePositive" => "TruePositive",
        _ => "InformationalExpectedActivity",
    }
}

/// A page of Graph alerts (for incidents' `$expand=alerts`).
pub fn page_of(items: Vec<Value>) -> Page {
    Page {
        items,
        count: None,
        next: None,
    }
}

//! The rows of the device assessments, from the tenant's devices: secure configuration
//! (`machines_secureconfigurationsassessmentbymachine_page.json`), browser extensions
//! (`machines_browserextensionsinventorybymachine_page.json`) and certificates
//! (`machines_certificateassessmentbymachine_page.json`).

use super::fields::{device_rng, millis};
use crate::defender::data::TenantData;
use crate::defender::tvm::catalog::{CATALOG, installed, seed};
use serde_json::{Value, json};
use time::OffsetDateTime;

/// One security configuration: id, category, subcategory, impact (1–10), name, the
/// platform it applies to, whether applying it affects users.
struct Configuration {
    id: &'static str,
    category: &'static str,
    subcategory: &'static str,
    impact: u8,
    name: &'static str,
    platform: &'static str,
    user_impact: bool,
}

/// The configurations assessed, as the docs' example names them (the first four) and
/// Defender Antivirus's own.
const CONFIGURATIONS: &[Configuration] = &[
    Configuration {
        id: "scid-10000",
        category: "Network",
        subcategory: "",
        impact: 5,
        name: "Disable insecure administration protocol - Telnet",
        platform: "Windows",
        user_impact: false,
    },
    Configuration {
        id: "scid-20000",
        category: "Security controls",
        subcategory: "Onboard Devices",
        impact: 9,
        name: "Onboard devices to Microsoft Defender for Endpoint",
        platform: "",
        user_impact: false,
    },
    Configuration {
        id: "scid-39",
        category: "OS",
        subcategory: "",
        impact: 5,
        name: "Enable 'Domain member: Digitally sign secure channel data (when possible)'",
        platform: "Windows",
        user_impact: false,
    },
    Configuration {
        id: "scid-6093",
        category: "Security controls",
        subcategory: "Antivirus",
        impact: 5,
        name: "Enable Microsoft Defender Antivirus real-time behavior monitoring for Linux",
        platform: "Linux",
        user_impact: false,
    },
    Configuration {
        id: "scid-2011",
        category: "Security controls",
        subcategory: "Antivirus",
        impact: 9,
        name: "Update Microsoft Defender Antivirus definitions",
        platform: "",
        user_impact: false,
    },
    Configuration {
        id: "scid-2090",
        category: "Security controls",
        subcategory: "Attack Surface Reduction",
        impact: 7,
        name: "Block executable content from email client and webmail",
        platform: "Windows",
        user_impact: true,
    },
];

/// Every row of the secure configuration assessment: one per device and configuration.
/// A device is onboarded (it is in `/api/machines`), its definitions are up to date when
/// `defenderAvStatus` says so, the other settings vary by device.
pub fn configurations(d: &TenantData, _now: OffsetDateTime) -> Vec<Value> {
    let seed = seed(d);
    let mut out = Vec::new();
    for m in &d.machines {
        let mid = m["id"].as_str().unwrap_or_default();
        let os = m["osPlatform"].as_str().unwrap_or_default();
        let mut rng = device_rng(seed, mid, "sca");
        for c in CONFIGURATIONS {
            let applicable = os.starts_with(c.platform);
            let compliant = match c.id {
                "scid-20000" => true,
                "scid-2011" => m["defenderAvStatus"] == "Updated",
                _ => rng.chance(60),
            };
            out.push(json!({
                "deviceId": mid,
                "rbacGroupName": m["rbacGroupName"],
                "deviceName": m["computerDnsName"],
                "osPlatform": os,
                "osVersion": m["osVersion"],
                "timestamp": millis(&m["lastSeen"]),
                "configurationId": c.id,
                "configurationCategory": c.category,
                "configurationSubcategory": c.subcategory,
                "configurationImpact": c.impact,
                "isCompliant": applicable && compliant,
                "isApplicable": applicable,
                "isExpectedUserImpact": c.user_impact,
                "configurationName": c.name,
                "recommendationReference": format!("sca-_-{}", c.id),
            }));
        }
    }
    out
}

/// One browser extension: the browser (a catalog product name), its store id, name,
/// description, version, risk, and its permissions (id, required, risk).
type Extension = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, bool, &'static str)],
);

const EXTENSIONS: &[Extension] = &[
    (
        "chrome",
        "dkpejdfnpdkhifgbancbammdijojoffk",
        "Logitech Smooth Scrolling",
        "Buttery-smooth scrolling for Logitech mice and touchpads.",
        "6.65.62",
        "High",
        &[
            ("tabs", true, "High"),
            ("http://*/*", true, "High"),
            ("https://*/*", true, "High"),
        ],
    ),
    (
        "chrome",
        "cjpalhdlnbpafiamejdnhcphjbkeiagm",
        "uBlock Origin",
        "Finally, an efficient blocker. Easy on CPU and memory.",
        "1.55.0",
        "Medium",
        &[("storage", true, "Low"), ("webRequest", true, "Medium")],
    ),
    (
        "edge",
        "odfafepnkmbhccpbejgmiehpchacaeak",
        "uBlock Origin",
        "Finally, an efficient blocker. Easy on CPU and memory.",
        "1.55.0",
        "Medium",
        &[("storage", true, "Low"), ("webRequest", true, "Medium")],
    ),
];

/// Every row of the browser extensions assessment: for a device with Chrome or Edge
/// (from the catalog), some of that browser's extensions. The keys are PascalCase, as
/// the docs' example writes them.
pub fn extensions(d: &TenantData, _now: OffsetDateTime) -> Vec<Value> {
    let seed = seed(d);
    let mut out = Vec::new();
    for m in &d.machines {
        let mid = m["id"].as_str().unwrap_or_default();
        let browsers: Vec<&str> = installed(mid, seed)
            .into_iter()
            .map(|k| CATALOG[k].name)
            .collect();
        let mut rng = device_rng(seed, mid, "extensions");
        for (browser, id, name, description, version, risk, permissions) in EXTENSIONS {
            if !browsers.contains(browser) || !rng.chance(60) {
                continue;
            }
            let installed_at = m["firstSeen"]
                .as_str()
                .and_then(|s| s.get(..19))
                .map(|s| format!("{s}.000Z"));
            out.push(json!({
                "DeviceId": mid,
                "DeviceName": m["computerDnsName"],
                "RbacGroupId": m["rbacGroupId"],
                "RbacGroupName": m["rbacGroupName"],
                "InstallationTime": installed_at,
                "BrowserName": browser,
                "ExtensionId": id,
                "ExtensionName": name,
                "ExtensionDescription": description,
                "ExtensionVersion": version,
                "ExtensionRisk": risk,
                "IsActivated": rng.chance(80),
                "Permissions": permissions
                    .iter()
                    .map(|(p, required, r)| json!({"Id": p, "IsRequired": required, "Risk": r}))
                    .collect::<Vec<_>>(),
            }));
        }
    }
    out
}

/// Every row of the certificate assessment: each device holds its own certificate
/// (issued by the tenant's root, under `LocalMachine\My`) and the tenant's root (under
/// `LocalMachine\Root`, self-signed). `subjectObject`/`issuerObject` are null, as in the
/// docs' example: Microsoft does not document their shape.
pub fn certificates(d: &TenantData, _now: OffsetDateTime) -> Vec<Value> {
    let seed = seed(d);
    let mut root = device_rng(seed, "", "root-ca");
    let (root_thumb, root_serial) = (root.hex(40).to_uppercase(), root.hex(32).to_uppercase());
    let mut out = Vec::new();
    for m in &d.machines {
        let mid = m["id"].as_str().unwrap_or_default();
        let mut rng = device_rng(seed, mid, "certificates");
        let (thumb, serial) = (rng.hex(40).to_uppercase(), rng.hex(32).to_uppercase());
        let first = m["firstSeen"].as_str().unwrap_or_default();
        let not_before = first.get(..19).map(|s| format!("{s}Z"));
        let not_after = first.get(..4).and_then(|y| y.parse::<i32>().ok()).map(|y| {
            format!(
                "{}{}Z",
                y + 1,
                first.get(4..19).unwrap_or("-01-01T00:00:00")
            )
        });
        let row = |thumb: &str, store: &str, serial: &str, ca: bool, before, after| {
            json!({
                "deviceId": mid,
                "deviceName": m["computerDnsName"],
                "thumbprint": thumb,
                "path": format!("LocalMachine\\{store}\\{thumb}"),
                "signatureAlgorithm": if ca { "sha384ECDSA" } else { "sha256RSA" },
                "keyLength": if ca { 384 } else { 2048 },
                "notAfter": after,
                "notBefore": before,
                "subjectType": if ca { "CA" } else { "End entity" },
                "serialNumber": serial,
                "subjectObject": null,
                "issuerObject": null,
                "keyUsageArray": if ca {
                    json!(["KeyCertSign", "CrlSign"])
                } else {
                    json!(["DigitalSignature", "KeyEncipherment"])
                },
                "extendedKeyUsageArray": if ca {
                    Value::Null
                } else {
                    json!(["Client Authentication"])
                },
                "isSelfSigned": ca,
                "rbacGroupId": m["rbacGroupId"],
                "rbacGroupName": m["rbacGroupName"],
            })
        };
        out.push(row(
            &thumb,
            "My",
            &serial,
            false,
            json!(not_before),
            json!(not_after),
        ));
        out.push(row(
            &root_thumb,
            "Root",
            &root_serial,
            true,
            json!("2020-01-01T00:00:00Z"),
            json!("2040-01-01T00:00:00Z"),
        ));
    }
    out
}

//! A tenant's machines.

use super::rng::{Rng, ts7};
use super::users::People;
use serde_json::{Value, json};

const OS: &[(&str, &str, &str, i64, &str)] = &[
    ("Windows10", "22H2", "10.0.19045", 19045, "64-bit"),
    ("Windows11", "23H2", "10.0.22631", 22631, "64-bit"),
    ("Windows11", "24H2", "10.0.26100", 26100, "64-bit"),
    ("WindowsServer2019", "1809", "10.0.17763", 17763, "64-bit"),
    ("WindowsServer2022", "21H2", "10.0.20348", 20348, "64-bit"),
    ("Linux", "22.04", "22.04", 0, "64-bit"),
    ("macOS", "14.5", "14.5", 0, "64-bit"),
];

const GROUPS: &[(i64, &str)] = &[
    (0, "UnassignedGroup"),
    (140, "Workstations"),
    (141, "Servers"),
    (142, "Finance"),
];

/// A machine and the users who log on to it.
pub struct Machine {
    /// The machine in MDE's shape.
    pub json: Value,
    /// Indexes into [`People::users`].
    pub users: Vec<usize>,
}

/// `devices` machines of the domain called `label`, each with some of `people` logging
/// on to it (noted on the users too).
pub fn machines(
    rng: &mut Rng,
    devices: usize,
    label: &str,
    people: &mut People,
    anchor: time::OffsetDateTime,
) -> Vec<Machine> {
    let mut out = Vec::with_capacity(devices);
    for _ in 0..devices {
        let id = rng.hex(40);
        let (os, version, os_version, build, arch) = *rng.pick(OS);
        let prefix = match os {
            "WindowsServer2019" | "WindowsServer2022" => "srv",
            "Linux" => "lnx",
            "macOS" => "mac",
            _ => "desktop",
        };
        let dns = format!("{prefix}-{}.{label}.local", rng.hex(6));
        let first = rng.before(anchor, 86_400 * 30, 86_400 * 400);
        let last = rng.before(anchor, 0, 86_400 * 3);
        let (group_id, group_name) = *rng.pick(GROUPS);
        let health = *rng.pick(&[
            "Active",
            "Active",
            "Active",
            "Active",
            "Inactive",
            "ImpairedCommunication",
            "NoSensorData",
        ]);
        let risk = *rng.pick(&["None", "Informational", "Low", "Medium", "High"]);
        let exposure = *rng.pick(&["None", "Low", "Medium", "High"]);
        let value = *rng.pick(&["Normal", "Normal", "Normal", "Low", "High"]);
        let aad = os.starts_with("Windows") && rng.chance(70);
        let ip = format!(
            "10.{}.{}.{}",
            rng.below(256),
            rng.below(256),
            1 + rng.below(254)
        );
        let ext = format!(
            "20.{}.{}.{}",
            rng.below(256),
            rng.below(256),
            1 + rng.below(254)
        );
        let mac = rng.hex(12).to_ascii_uppercase();
        let tags: Vec<&str> = if rng.chance(30) {
            vec![*rng.pick(&["VIP", "Finance", "Lab", "Kiosk"])]
        } else {
            Vec::new()
        };
        let agent = format!(
            "10.8{}.{}.{}",
            700 + rng.below(99),
            build.max(1),
            1000 + rng.below(8000)
        );
        let m = json!({
            "id": id,
            "computerDnsName": dns,
            "firstSeen": ts7(first),
            "lastSeen": ts7(last),
            "osPlatform": os,
            "version": version,
            "osProcessor": "x64",
            "lastIpAddress": ip,
            "lastExternalIpAddress": ext,
            "osBuild": if build == 0 { Value::Null } else { json!(build) },
            "healthStatus": health,
            "deviceValue": value,
            "rbacGroupId": group_id,
            "rbacGroupName": group_name,
            "riskScore": risk,
            "exposureLevel": exposure,
            "isAadJoined": aad,
            "aadDeviceId": if aad { json!(rng.guid()) } else { Value::Null },
            "machineTags": tags,
            "ipAddresses": [
                {"ipAddress": ip, "macAddress": mac, "type": "Ethernet", "operationalStatus": "Up"}
            ],
            "onboardingStatus": "Onboarded",
            "osArchitecture": arch,
            "osVersion": os_version,
            "agentVersion": agent,
            "defenderAvStatus": *rng.pick(&["Updated", "Updated", "Updated", "NotUpdated"]),
            "managedBy": *rng.pick(&["Intune", "MicrosoftDefenderForEndpoint", "Unknown"]),
            "managedByStatus": "Success",
            "isPotentialDuplication": false,
            "mergedIntoMachineId": null,
            "isExcluded": false,
            "exclusionReason": null,
            "vmMetadata": null,
        });
        let mut users = Vec::new();
        let n_users = people.users.len();
        if n_users > 0 {
            for _ in 0..(1 + rng.below(3)) {
                let u = rng.below(n_users as u64) as usize;
                if !users.contains(&u) {
                    users.push(u);
                    people.users[u]
                        .machines
                        .push(m["id"].as_str().unwrap_or_default().to_owned());
                }
            }
        }
        out.push(Machine { json: m, users });
    }
    out
}

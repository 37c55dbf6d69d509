//! The deterministic data generator: a tenant's devices, alerts with evidence, logon
//! users, past machine actions and indicators, made from its `devices`, `alerts` and
//! `seed` (scenario) and its id, so the same tenant and seed always give the same data.
//!
//! Shapes, enums and formats follow `mde-api.md` §5 and `samples/`: 40-hex machine ids,
//! GUID action ids, `da<ticks>_<n>` alert ids, times with 7-digit fractions. Every time
//! lies before [`ANCHOR`], a fixed instant, so that data does not depend on the day it
//! was made.

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::{datetime, format_description};
use uuid::Uuid;

/// The instant generated data is anchored to: everything happened before it.
pub const ANCHOR: OffsetDateTime = datetime!(2026-11-01 00:00:00 UTC);

/// Largest device or alert count generated per tenant.
pub const MAX_OBJECTS: u32 = 100_000;

/// A small, fast, seedable generator (SplitMix64): the data must not change when a
/// dependency's generator does.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `pct`/100.
    pub fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }

    /// One element.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// `n` lower-case hex digits.
    pub fn hex(&mut self, n: usize) -> String {
        const HEX: &[u8] = b"0123456789abcdef";
        (0..n)
            .map(|_| HEX[self.below(16) as usize] as char)
            .collect()
    }

    /// A random (version 4 shaped) GUID.
    pub fn guid(&mut self) -> Uuid {
        let hi = u128::from(self.next_u64());
        let lo = u128::from(self.next_u64());
        uuid::Builder::from_random_bytes(((hi << 64) | lo).to_be_bytes()).into_uuid()
    }

    /// An instant `min..max` seconds before `t`, with a 100 ns resolution like .NET's.
    pub fn before(&mut self, t: OffsetDateTime, min: i64, max: i64) -> OffsetDateTime {
        let secs = min + self.below((max - min).max(1) as u64) as i64;
        let ticks = self.below(10_000_000) as i64;
        t - time::Duration::seconds(secs) - time::Duration::nanoseconds(ticks * 100)
    }
}

/// `2021-01-26T20:33:57.7220239Z`: MDE's timestamps, 7-digit fractions.
pub fn ts7(t: OffsetDateTime) -> String {
    t.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:7]Z"
    ))
    .unwrap_or_default()
}

/// `2019-12-08T06:33:39Z`: user first/last seen, whole seconds.
pub fn ts0(t: OffsetDateTime) -> String {
    t.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
    ))
    .unwrap_or_default()
}

/// .NET ticks (100 ns since 0001-01-01), as alert ids carry them.
fn ticks(t: OffsetDateTime) -> i128 {
    t.unix_timestamp_nanos() / 100 + 621_355_968_000_000_000
}

/// What a tenant's data is made from.
#[derive(Debug, Clone)]
pub struct Recipe {
    /// Tenant id (becomes `aadTenantId` and seeds the generator).
    pub tenant: Uuid,
    /// The tenant's verified domain (names devices and users).
    pub domain: String,
    /// Devices to make.
    pub devices: u32,
    /// Alerts to make (none when there are no devices to raise them on).
    pub alerts: u32,
    /// Seed.
    pub seed: u64,
}

/// A tenant's Defender data.
#[derive(Debug, Clone, Default)]
pub struct Generated {
    /// Machines.
    pub machines: Vec<Value>,
    /// Alerts, each with its full `evidence`.
    pub alerts: Vec<Value>,
    /// Users (the alert `user` shape).
    pub users: Vec<Value>,
    /// Logon users per machine id (the `logonusers` shape).
    pub logons: Vec<(String, Value)>,
    /// Past machine actions.
    pub actions: Vec<Value>,
    /// Indicators.
    pub indicators: Vec<Value>,
}

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

const NAMES: &[&str] = &[
    "alex", "blair", "casey", "dana", "eli", "frankie", "gray", "harper", "jordan", "kai", "lee",
    "morgan", "noel", "parker", "quinn", "riley", "sam", "taylor",
];

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

/// The seed actually used: the scenario's seed mixed with the tenant id.
pub fn mixed_seed(tenant: Uuid, seed: u64) -> u64 {
    // Each part goes through the generator before it is mixed with the next, so no
    // choice of seed cancels the tenant id out (seed `i` with a tenant id ending in `i`
    // must not give every tenant the same data).
    let (hi, lo) = tenant.as_u64_pair();
    let s = Rng::new(seed).next_u64();
    let h = Rng::new(s ^ hi).next_u64();
    Rng::new(h ^ lo).next_u64()
}

/// Generates a tenant's data.
pub fn generate(recipe: &Recipe) -> Generated {
    let mut rng = Rng::new(mixed_seed(recipe.tenant, recipe.seed));
    let devices = recipe.devices.min(MAX_OBJECTS) as usize;
    let alerts = if devices == 0 {
        0
    } else {
        recipe.alerts.min(MAX_OBJECTS) as usize
    };
    let label = recipe
        .domain
        .split('.')
        .next()
        .unwrap_or("contoso")
        .to_owned();
    let mut g = Generated::default();

    // Users.
    let n_users = if devices == 0 { 0 } else { devices / 2 + 1 }.min(5000);
    let sid_base = format!(
        "S-1-5-21-{}-{}-{}",
        rng.below(900_000_000) + 100_000_000,
        rng.below(900_000_000) + 100_000_000,
        rng.below(900_000_000) + 100_000_000
    );
    let mut user_machines: Vec<Vec<String>> = vec![Vec::new(); n_users];
    let mut user_meta = Vec::with_capacity(n_users);
    for i in 0..n_users {
        let base = NAMES[i % NAMES.len()];
        let name = if i < NAMES.len() {
            base.to_owned()
        } else {
            format!("{base}{}", i / NAMES.len())
        };
        let first = rng.before(ANCHOR, 86_400 * 60, 86_400 * 400);
        let last = rng.before(ANCHOR, 0, 86_400 * 5);
        let admin = rng.chance(10);
        let logon = *rng.pick(&["Interactive", "Network", "RemoteInteractive"]);
        user_meta.push((name, first, last, admin, logon, 1000 + i as u64));
    }

    // Machines.
    let mut machine_users: Vec<Vec<usize>> = Vec::with_capacity(devices);
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
        let first = rng.before(ANCHOR, 86_400 * 30, 86_400 * 400);
        let last = rng.before(ANCHOR, 0, 86_400 * 3);
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
        if n_users > 0 {
            for _ in 0..(1 + rng.below(3)) {
                let u = rng.below(n_users as u64) as usize;
                if !users.contains(&u) {
                    users.push(u);
                    user_machines[u].push(m["id"].as_str().unwrap_or_default().to_owned());
                }
            }
        }
        machine_users.push(users);
        g.machines.push(m);
    }
    let domain_label = label.to_ascii_lowercase();
    for (i, (name, first, last, admin, logon, rid)) in user_meta.iter().enumerate() {
        let ms = &user_machines[i];
        g.users.push(json!({
            "id": format!("{domain_label}\\{name}"),
            "accountName": name,
            "accountDomain": domain_label,
            "accountSid": format!("{sid_base}-{rid}"),
            "firstSeen": ts0(*first),
            "lastSeen": ts0(*last),
            "mostPrevalentMachineId": ms.first(),
            "leastPrevalentMachineId": ms.last(),
            "logonTypes": logon,
            "logOnMachinesCount": ms.len(),
            "isDomainAdmin": admin,
            "isOnlyNetworkUser": *logon == "Network",
        }));
    }
    for (m, users) in g.machines.iter().zip(&machine_users) {
        let id = m["id"].as_str().unwrap_or_default().to_owned();
        let list: Vec<Value> = users
            .iter()
            .map(|u| {
                let (name, first, last, admin, logon, _) = &user_meta[*u];
                json!({
                    "id": format!("{domain_label}\\{name}"),
                    "accountName": name,
                    "accountDomain": domain_label,
                    "firstSeen": ts0(*first),
                    "lastSeen": ts0(*last),
                    "logonTypes": logon,
                    "isDomainAdmin": admin,
                    "isOnlyNetworkUser": *logon == "Network",
                })
            })
            .collect();
        g.logons.push((id, Value::Array(list)));
    }

    // Alerts.
    let detector_ids: Vec<Uuid> = ALERT_KINDS.iter().map(|_| rng.guid()).collect();
    let mut incident = 1000 + rng.below(9000) as i64;
    for _ in 0..alerts {
        let mi = rng.below(devices as u64) as usize;
        let m = &g.machines[mi];
        let ki = rng.below(ALERT_KINDS.len() as u64) as usize;
        let kind = &ALERT_KINDS[ki];
        let created = rng.before(ANCHOR, 60, 86_400 * 30);
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
        let users = &machine_users[mi];
        let related = users.first().map(|u| &user_meta[*u]);
        let machine_id = m["id"].clone();
        let mut ev = Vec::new();
        let ev_time = created + time::Duration::milliseconds(700);
        if let Some((name, _, _, _, _, rid)) = related {
            let mut e = evidence("User", ev_time);
            e.insert("accountName".into(), json!(name));
            e.insert(
                "domainName".into(),
                json!(domain_label.to_ascii_uppercase()),
            );
            e.insert("userSid".into(), json!(format!("{sid_base}-{rid}")));
            e.insert("aadUserId".into(), json!(rng.guid()));
            e.insert(
                "userPrincipalName".into(),
                json!(format!("{name}@{}", recipe.domain)),
            );
            ev.push(Value::Object(e));
        }
        let (fname, fpath) = kind.file;
        let (sha1, sha256) = file_hashes(&mut rng);
        let (psha1, psha256) = file_hashes(&mut rng);
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
        g.alerts.push(json!({
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
            "relatedUser": related.map(|(name, ..)| json!({"userName": name, "domainName": domain_label.to_ascii_uppercase()})),
            "loggedOnUsers": related.map_or_else(Vec::new, |(name, ..)| vec![json!({"accountName": name, "domainName": domain_label.to_ascii_uppercase()})]),
            "comments": comments,
            "evidence": ev,
        }));
    }
    g.alerts.sort_by(|a, b| {
        b["alertCreationTime"]
            .as_str()
            .cmp(&a["alertCreationTime"].as_str())
    });

    // Past machine actions.
    const KINDS: &[(&str, Option<&str>)] = &[
        ("RunAntiVirusScan", Some("Quick")),
        ("RunAntiVirusScan", Some("Full")),
        ("Isolate", Some("Full")),
        ("Unisolate", None),
        ("CollectInvestigationPackage", None),
        ("RestrictCodeExecution", None),
        ("UnrestrictCodeExecution", None),
        ("StopAndQuarantineFile", None),
    ];
    for _ in 0..(devices / 4).min(500) {
        let m = &g.machines[rng.below(devices as u64) as usize];
        let (kind, scope) = *rng.pick(KINDS);
        let created = rng.before(ANCHOR, 86_400, 86_400 * 60);
        let updated = created + time::Duration::seconds(20 + rng.below(300) as i64);
        let file = (kind == "StopAndQuarantineFile")
            .then(|| json!({"fileIdentifier": rng.hex(40), "fileIdentifierType": "Sha1"}));
        g.actions.push(action_json(ActionFields {
            id: rng.guid(),
            kind,
            scope,
            requestor: &format!("analyst@{}", recipe.domain),
            comment: "Response to alert triage",
            status: if rng.chance(90) {
                "Succeeded"
            } else {
                "Failed"
            },
            machine_id: m["id"].as_str().unwrap_or_default(),
            dns: m["computerDnsName"].as_str().unwrap_or_default(),
            created,
            updated,
            file,
        }));
    }
    g.actions.sort_by(|a, b| {
        b["creationDateTimeUtc"]
            .as_str()
            .cmp(&a["creationDateTimeUtc"].as_str())
    });

    // Indicators made by some other tool of the tenant.
    if devices > 0 {
        let owner = rng.guid().to_string();
        let base = 900 + rng.below(100);
        let samples: [(&str, String, &str); 3] = [
            (
                "IpAddress",
                format!("203.0.113.{}", 1 + rng.below(254)),
                "Alert",
            ),
            ("DomainName", "beacon.example-bad.org".to_owned(), "Block"),
            ("FileSha256", rng.hex(64), "BlockAndRemediate"),
        ];
        for (i, (kind, value, action)) in samples.into_iter().enumerate() {
            let created = rng.before(ANCHOR, 86_400, 86_400 * 90);
            g.indicators.push(indicator_json(IndicatorFields {
                id: base + i as u64,
                value: &value,
                kind,
                action,
                application: None,
                source: "SOC Automation",
                source_type: "AadApp",
                created_by: &owner,
                title: &format!("Known bad {kind}"),
                description: "Imported from the SOC's threat feed",
                recommended_actions: Some("Isolate the device and investigate"),
                severity: "High",
                created,
                expiration: None,
                rbac_group_names: Vec::new(),
                generate_alert: action == "Alert",
            }));
        }
    }
    g
}

/// The fields of a machine action.
pub struct ActionFields<'a> {
    /// GUID.
    pub id: Uuid,
    /// `type`.
    pub kind: &'a str,
    /// `scope` (isolation type or scan type).
    pub scope: Option<&'a str>,
    /// `requestor`.
    pub requestor: &'a str,
    /// `requestorComment`.
    pub comment: &'a str,
    /// Status as stored.
    pub status: &'a str,
    /// Machine id.
    pub machine_id: &'a str,
    /// Machine DNS name.
    pub dns: &'a str,
    /// Creation.
    pub created: OffsetDateTime,
    /// Last update.
    pub updated: OffsetDateTime,
    /// `relatedFileInfo`.
    pub file: Option<Value>,
}

/// A machine action in MDE's shape (`machineaction.md`, `samples/machineaction_entity_isolate.json`).
pub fn action_json(a: ActionFields<'_>) -> Value {
    json!({
        "id": a.id,
        "type": a.kind,
        "title": null,
        "requestor": a.requestor,
        "requestorComment": a.comment,
        "status": a.status,
        "machineId": a.machine_id,
        "computerDnsName": a.dns,
        "creationDateTimeUtc": ts7(a.created),
        "lastUpdateDateTimeUtc": ts7(a.updated),
        "cancellationRequestor": null,
        "cancellationComment": null,
        "cancellationDateTimeUtc": null,
        "errorHResult": 0,
        "scope": a.scope,
        "externalID": null,
        "requestSource": "PublicApi",
        "relatedFileInfo": a.file,
        "commands": [],
    })
}

/// The fields of an indicator.
pub struct IndicatorFields<'a> {
    /// Numeric id.
    pub id: u64,
    /// `indicatorValue`.
    pub value: &'a str,
    /// `indicatorType`.
    pub kind: &'a str,
    /// `action`.
    pub action: &'a str,
    /// `application`.
    pub application: Option<&'a str>,
    /// `source` (the creator's display name).
    pub source: &'a str,
    /// `User` or `AadApp`.
    pub source_type: &'a str,
    /// `createdBy` (app id or UPN).
    pub created_by: &'a str,
    /// `title`.
    pub title: &'a str,
    /// `description`.
    pub description: &'a str,
    /// `recommendedActions`.
    pub recommended_actions: Option<&'a str>,
    /// `severity`.
    pub severity: &'a str,
    /// Creation time.
    pub created: OffsetDateTime,
    /// `expirationTime`.
    pub expiration: Option<String>,
    /// `rbacGroupNames`.
    pub rbac_group_names: Vec<String>,
    /// `generateAlert`.
    pub generate_alert: bool,
}

/// An indicator in MDE's shape (`samples/indicators_list.json`, `ti-indicator.md`).
pub fn indicator_json(i: IndicatorFields<'_>) -> Value {
    json!({
        "id": i.id.to_string(),
        "indicatorValue": i.value,
        "indicatorType": i.kind,
        "action": i.action,
        "application": i.application,
        "source": i.source,
        "sourceType": i.source_type,
        "title": i.title,
        "creationTimeDateTimeUtc": ts7(i.created),
        "createdBy": i.created_by,
        "expirationTime": i.expiration,
        "lastUpdateTime": ts7(i.created),
        "lastUpdatedBy": i.source,
        "severity": i.severity,
        "description": i.description,
        "recommendedActions": i.recommended_actions,
        "rbacGroupNames": i.rbac_group_names,
        "rbacGroupIds": [],
        "generateAlert": i.generate_alert,
        "createdByDisplayName": i.source,
        "createdBySource": "PublicApi",
    })
}

/// A file profile for a hash seen in evidence (`samples/alerts_related_files.json`),
/// derived from the hashes so it is stable.
pub fn file_profile(sha1: &str, sha256: &str, name: &str) -> Value {
    let mut seed = 0u64;
    for b in sha1.bytes() {
        seed = seed.wrapping_mul(31).wrapping_add(u64::from(b));
    }
    let mut rng = Rng::new(seed);
    let signed =
        name.eq_ignore_ascii_case("rundll32.exe") || name.eq_ignore_ascii_case("svchost.exe");
    let first = rng.before(ANCHOR, 86_400 * 100, 86_400 * 900);
    let last = rng.before(ANCHOR, 0, 86_400 * 10);
    json!({
        "sha1": sha1,
        "sha256": sha256,
        "md5": rng.hex(32),
        "globalPrevalence": if signed { 1_000_000 + rng.below(9_000_000) } else { 1 + rng.below(40) },
        "globalFirstObserved": ts7(first),
        "globalLastObserved": ts7(last),
        "size": 4096 + rng.below(4_000_000),
        "fileType": null,
        "isPeFile": name.to_ascii_lowercase().ends_with(".exe") || name.to_ascii_lowercase().ends_with(".dll"),
        "filePublisher": if signed { json!("Microsoft Corporation") } else { Value::Null },
        "fileProductName": if signed { json!("Microsoft® Windows® Operating System") } else { Value::Null },
        "signer": if signed { json!("Microsoft Windows") } else { Value::Null },
        "issuer": if signed { json!("Microsoft Windows Production PCA 2011") } else { Value::Null },
        "signerHash": if signed { json!(rng.hex(40)) } else { Value::Null },
        "isValidCertificate": signed,
        "determinationType": if signed { "Clean" } else { "Malware" },
        "determinationValue": if signed { Value::Null } else { json!("Trojan:Win32/Wacatac") },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipe(seed: u64) -> Recipe {
        Recipe {
            tenant: Uuid::from_u128(0x2222),
            domain: "contoso.onmicrosoft.com".into(),
            devices: 20,
            alerts: 30,
            seed,
        }
    }

    #[test]
    fn a_seed_never_cancels_the_tenant_id() {
        let t = |i: u128| Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0000 | i);
        let seeds: std::collections::HashSet<u64> = (0..64u64)
            .map(|i| mixed_seed(t(u128::from(i)), i))
            .collect();
        assert_eq!(seeds.len(), 64);
        assert_ne!(mixed_seed(t(1), 0), mixed_seed(t(0), 1));
    }

    #[test]
    fn same_seed_same_data_other_seed_other_data() {
        let a = generate(&recipe(7));
        let b = generate(&recipe(7));
        assert_eq!(a.machines, b.machines);
        assert_eq!(a.alerts, b.alerts);
        assert_eq!(a.actions, b.actions);
        assert_eq!(a.indicators, b.indicators);
        let c = generate(&recipe(8));
        assert_ne!(a.machines, c.machines);
        let mut other = recipe(7);
        other.tenant = Uuid::from_u128(0x3333);
        assert_ne!(generate(&other).machines[0]["id"], a.machines[0]["id"]);
    }

    #[test]
    fn counts_and_formats() {
        let g = generate(&recipe(1));
        assert_eq!(g.machines.len(), 20);
        assert_eq!(g.alerts.len(), 30);
        assert_eq!(g.logons.len(), 20);
        for m in &g.machines {
            let id = m["id"].as_str().expect("id");
            assert!(
                id.len() == 40 && id.chars().all(|c| c.is_ascii_hexdigit()),
                "{id}"
            );
            let seen = m["lastSeen"].as_str().expect("lastSeen");
            assert_eq!(seen.len(), "2021-01-26T20:33:57.7220239Z".len(), "{seen}");
        }
        for a in &g.alerts {
            let id = a["id"].as_str().expect("id");
            let (ticks, n) = id
                .strip_prefix("da")
                .and_then(|r| r.split_once('_'))
                .expect("da<ticks>_<n>");
            assert_eq!(ticks.len(), 18, "{id}");
            assert!(n.parse::<i32>().is_ok(), "{id}");
            assert!(!a["evidence"].as_array().expect("evidence").is_empty());
        }
        for x in &g.actions {
            assert!(Uuid::try_parse(x["id"].as_str().expect("id")).is_ok());
        }
        assert!(
            generate(&Recipe {
                devices: 0,
                ..recipe(1)
            })
            .alerts
            .is_empty()
        );
    }
}

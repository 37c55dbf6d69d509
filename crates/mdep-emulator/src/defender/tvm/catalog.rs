//! The software catalog the tenant's devices draw from: products with the version the
//! devices run, the version that fixes their CVEs, the security update (KB) that does
//! where Microsoft ships one, and real CVE ids. Which device has which product is a
//! stable function of its id and the tenant, so every TVM answer agrees with the others
//! and with `/api/machines`.

use crate::defender::data::TenantData;
use crate::defender::generate::Rng;
use crate::request::error::MdeError;
use serde_json::{Value, json};

/// One product of the catalog.
pub struct Software {
    /// `microsoft`.
    pub vendor: &'static str,
    /// `edge`.
    pub name: &'static str,
    /// The version every device with it runs.
    pub version: &'static str,
    /// The version that fixes its CVEs (a recommendation's `recommendedVersion`).
    pub fixed: &'static str,
    /// The security update that fixes it: KB number and name.
    pub kb: Option<(&'static str, &'static str)>,
    /// Known CVEs: id, severity, CVSS v3, public exploit.
    pub cves: &'static [(&'static str, &'static str, f64, bool)],
}

impl Software {
    /// `vendor-_-name`, as `/api/Software` ids are written (`software_list.json`).
    pub fn id(&self) -> String {
        format!("{}-_-{}", self.vendor, self.name)
    }

    /// `va-_-vendor-_-name`, as recommendation ids are written (`recommendations_list.json`).
    pub fn recommendation_id(&self) -> String {
        format!("va-_-{}-_-{}", self.vendor, self.name)
    }
}

/// The catalog.
pub const CATALOG: &[Software] = &[
    Software {
        vendor: "microsoft",
        name: "edge",
        version: "120.0.2210.91",
        fixed: "121.0.2277.83",
        kb: None,
        cves: &[
            ("CVE-2024-21388", "High", 8.8, false),
            ("CVE-2023-36562", "Medium", 6.5, false),
        ],
    },
    Software {
        vendor: "microsoft",
        name: ".net_framework",
        version: "4.8.4644.0",
        fixed: "4.8.4682.0",
        kb: Some(("5031005", "October 2023 Security Updates")),
        cves: &[("CVE-2023-36899", "High", 8.8, false)],
    },
    Software {
        vendor: "google",
        name: "chrome",
        version: "120.0.6099.130",
        fixed: "120.0.6099.234",
        kb: None,
        cves: &[
            ("CVE-2024-0519", "High", 8.8, true),
            ("CVE-2023-7024", "High", 8.8, true),
        ],
    },
    Software {
        vendor: "oracle",
        name: "jre",
        version: "8.0.381",
        fixed: "8.0.401",
        kb: None,
        cves: &[("CVE-2024-20918", "High", 7.4, false)],
    },
    Software {
        vendor: "7-zip",
        name: "7-zip",
        version: "23.01",
        fixed: "24.07",
        kb: None,
        cves: &[("CVE-2024-11477", "High", 7.8, true)],
    },
    Software {
        vendor: "openssl",
        name: "openssl",
        version: "3.0.7",
        fixed: "3.0.8",
        kb: None,
        cves: &[
            ("CVE-2023-0286", "High", 7.4, false),
            ("CVE-2022-3602", "High", 7.5, true),
        ],
    },
    Software {
        vendor: "zoom",
        name: "zoom",
        version: "5.15.5",
        fixed: "5.16.5",
        kb: None,
        cves: &[("CVE-2023-39216", "Critical", 9.6, false)],
    },
    Software {
        vendor: "microsoft",
        name: "office",
        version: "16.0.17029.20068",
        fixed: "16.0.17029.20068",
        kb: None,
        cves: &[],
    },
];

/// Which catalog entries a device has: a stable function of its id.
pub fn installed(machine_id: &str, seed: u64) -> Vec<usize> {
    let mut h = seed;
    for b in machine_id.bytes() {
        h = h.wrapping_mul(0x100_0000_01b3).wrapping_add(u64::from(b));
    }
    let mut rng = Rng::new(h);
    (0..CATALOG.len()).filter(|_| rng.chance(40)).collect()
}

/// The tenant's seed for [`installed`].
pub fn seed(d: &TenantData) -> u64 {
    d.tenant.as_u64_pair().0
}

/// How many of the tenant's devices have each catalog entry.
pub fn exposure(d: &TenantData) -> Vec<usize> {
    let mut counts = vec![0; CATALOG.len()];
    for m in &d.machines {
        for i in installed(m["id"].as_str().unwrap_or_default(), seed(d)) {
            counts[i] += 1;
        }
    }
    counts
}

/// The tenant's devices that have catalog entry `k`.
pub fn machines_with(d: &TenantData, k: usize) -> impl Iterator<Item = &Value> {
    let seed = seed(d);
    d.machines
        .iter()
        .filter(move |m| installed(m["id"].as_str().unwrap_or_default(), seed).contains(&k))
}

/// The catalog entries on one device of the tenant, with its index, or MDE's 404.
pub fn device_software(d: &TenantData, id: &str) -> Result<(usize, Vec<usize>), MdeError> {
    let i = crate::defender::machines::find(d, id)?;
    let mid = d.machines[i]["id"].as_str().unwrap_or_default();
    Ok((i, installed(mid, seed(d))))
}

/// The catalog entry with software id `id` (`vendor-_-name`, any case), or MDE's 404.
pub fn by_id(id: &str) -> Result<usize, MdeError> {
    CATALOG
        .iter()
        .position(|s| s.id().eq_ignore_ascii_case(id))
        .ok_or_else(|| MdeError::not_found("Software", id))
}

/// The catalog entry a CVE belongs to, or MDE's 404.
pub fn by_cve(cve: &str) -> Result<(usize, usize), MdeError> {
    CATALOG
        .iter()
        .enumerate()
        .find_map(|(k, s)| {
            s.cves
                .iter()
                .position(|c| c.0.eq_ignore_ascii_case(cve))
                .map(|j| (k, j))
        })
        .ok_or_else(|| MdeError::not_found("Vulnerability", cve))
}

/// A MachineRef (`get-machines-by-vulnerability.md`): `{id, computerDnsName,
/// osPlatform, rbacGroupName}`.
pub fn machine_ref(m: &Value) -> Value {
    json!({
        "id": m["id"],
        "computerDnsName": m["computerDnsName"],
        "osPlatform": m["osPlatform"],
        "rbacGroupName": m["rbacGroupName"],
    })
}

/// Software entry `s` on `n` devices, as `/api/Software` shows it (`software_list.json`).
pub fn software_item(s: &Software, n: usize) -> Value {
    json!({
        "id": s.id(),
        "name": s.name,
        "vendor": s.vendor,
        "weaknesses": s.cves.len(),
        "publicExploit": s.cves.iter().any(|c| c.3),
        "activeAlert": false,
        "exposedMachines": n,
        "impactScore": s.cves.iter().map(|c| c.2).sum::<f64>() * n as f64 / 100.0,
    })
}

/// CVE `k` of `s`, on `n` devices, as `/api/vulnerabilities` shows it
/// (`vulnerabilities_list.json`).
pub fn vulnerability_item(s: &Software, k: usize, n: usize) -> Value {
    let (id, severity, cvss, public) = s.cves[k];
    let year: i32 = id.get(4..8).and_then(|y| y.parse().ok()).unwrap_or(2024);
    let published = format!("{year}-{:02}-{:02}T00:00:00Z", 1 + (k * 5) % 12, 8 + k);
    json!({
        "id": id,
        "name": id,
        "description": format!("A vulnerability in {} {} could allow an attacker to run code or read data on an affected device.", s.vendor, s.name),
        "severity": severity,
        "cvssV3": cvss,
        "cvssVector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H",
        "exposedMachines": n,
        "publishedOn": published,
        "updatedOn": published,
        "publicExploit": public,
        "exploitVerified": public,
        "exploitInKit": false,
        "exploitTypes": if public { json!(["RemoteCodeExecution"]) } else { json!([]) },
        "exploitUris": [],
        "CveSupportability": "supported",
    })
}

/// Every CVE of `s`, on `n` devices.
pub fn vulnerability_items(s: &Software, n: usize) -> Vec<Value> {
    (0..s.cves.len())
        .map(|k| vulnerability_item(s, k, n))
        .collect()
}

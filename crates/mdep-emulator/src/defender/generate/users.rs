//! The users who log on to a tenant's machines.

use super::rng::{Rng, ts0};
use serde_json::{Value, json};
use time::OffsetDateTime;

const NAMES: &[&str] = &[
    "alex", "blair", "casey", "dana", "eli", "frankie", "gray", "harper", "jordan", "kai", "lee",
    "morgan", "noel", "parker", "quinn", "riley", "sam", "taylor",
];

/// A user who logs on to some machines.
pub struct User {
    /// `accountName`.
    pub name: String,
    /// `firstSeen`.
    pub first: time::OffsetDateTime,
    /// `lastSeen`.
    pub last: time::OffsetDateTime,
    /// `isDomainAdmin`.
    pub admin: bool,
    /// `logonTypes`.
    pub logon: &'static str,
    /// The last part of the user's SID.
    pub rid: u64,
    /// Ids of the machines the user logs on to, most prevalent first.
    pub machines: Vec<String>,
}

/// A tenant's users and what names them.
pub struct People {
    /// `S-1-5-21-a-b-c`, the domain's SID the users' SIDs extend.
    pub sid_base: String,
    /// The domain's short name, lower case.
    pub domain: String,
    /// The users.
    pub users: Vec<User>,
}

impl People {
    /// Users for `devices` machines of the domain called `label`.
    pub fn new(rng: &mut Rng, devices: usize, label: &str, anchor: OffsetDateTime) -> Self {
        let n_users = if devices == 0 { 0 } else { devices / 2 + 1 }.min(5000);
        let sid_base = format!(
            "S-1-5-21-{}-{}-{}",
            rng.below(900_000_000) + 100_000_000,
            rng.below(900_000_000) + 100_000_000,
            rng.below(900_000_000) + 100_000_000
        );
        let users = (0..n_users)
            .map(|i| {
                let base = NAMES[i % NAMES.len()];
                let name = if i < NAMES.len() {
                    base.to_owned()
                } else {
                    format!("{base}{}", i / NAMES.len())
                };
                let first = rng.before(anchor, 86_400 * 60, 86_400 * 400);
                let last = rng.before(anchor, 0, 86_400 * 5);
                let admin = rng.chance(10);
                let logon = *rng.pick(&["Interactive", "Network", "RemoteInteractive"]);
                User {
                    name,
                    first,
                    last,
                    admin,
                    logon,
                    rid: 1000 + i as u64,
                    machines: Vec::new(),
                }
            })
            .collect();
        Self {
            sid_base,
            domain: label.to_ascii_lowercase(),
            users,
        }
    }

    /// A user's SID.
    pub fn sid(&self, u: &User) -> String {
        format!("{}-{}", self.sid_base, u.rid)
    }

    /// A user in the alert `user` shape.
    pub fn user_json(&self, u: &User) -> Value {
        json!({
            "id": format!("{}\\{}", self.domain, u.name),
            "accountName": u.name,
            "accountDomain": self.domain,
            "accountSid": self.sid(u),
            "firstSeen": ts0(u.first),
            "lastSeen": ts0(u.last),
            "mostPrevalentMachineId": u.machines.first(),
            "leastPrevalentMachineId": u.machines.last(),
            "logonTypes": u.logon,
            "logOnMachinesCount": u.machines.len(),
            "isDomainAdmin": u.admin,
            "isOnlyNetworkUser": u.logon == "Network",
        })
    }

    /// A user in the `logonusers` shape: the `user` shape without the SID and the
    /// machine counts.
    pub fn logon_json(&self, u: &User) -> Value {
        const USER_ONLY: [&str; 4] = [
            "accountSid",
            "mostPrevalentMachineId",
            "leastPrevalentMachineId",
            "logOnMachinesCount",
        ];
        let mut v = self.user_json(u);
        if let Value::Object(m) = &mut v {
            m.retain(|k, _| !USER_ONLY.contains(&k.as_str()));
        }
        v
    }
}

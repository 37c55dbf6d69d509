//! The Defender product a customer tenant is licensed for, and what it leaves out.
//!
//! Microsoft's API pages apply to Defender for Endpoint Plan 1, Plan 2 and Defender for
//! Business, but "Advanced hunting capabilities are not included in Defender for
//! Business" (`mde-api.md` §1.1, exposed-apis-list); Plan 1 has no advanced hunting
//! either (it is a Plan 2 capability).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A tenant's Defender licence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Licence {
    /// Microsoft Defender for Endpoint Plan 2: every API, advanced hunting included.
    #[default]
    MdeP2,
    /// Microsoft Defender for Endpoint Plan 1: no advanced hunting.
    MdeP1,
    /// Microsoft Defender for Business: no advanced hunting.
    DefenderForBusiness,
}

impl Licence {
    /// Every licence.
    pub const ALL: [Licence; 3] = [Licence::MdeP2, Licence::MdeP1, Licence::DefenderForBusiness];

    /// The name in scenario files (`mde-p2`, `mde-p1`, `defender-for-business`).
    pub fn key(self) -> &'static str {
        match self {
            Licence::MdeP2 => "mde-p2",
            Licence::MdeP1 => "mde-p1",
            Licence::DefenderForBusiness => "defender-for-business",
        }
    }

    /// The product's name.
    pub fn product(self) -> &'static str {
        match self {
            Licence::MdeP2 => "Microsoft Defender for Endpoint Plan 2",
            Licence::MdeP1 => "Microsoft Defender for Endpoint Plan 1",
            Licence::DefenderForBusiness => "Microsoft Defender for Business",
        }
    }

    /// Whether advanced hunting (MDE's `/api/advancedqueries/run`, Graph's
    /// `runHuntingQuery`) is included.
    pub fn includes_hunting(self) -> bool {
        self == Licence::MdeP2
    }
}

impl fmt::Display for Licence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl FromStr for Licence {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Licence::ALL
            .into_iter()
            .find(|l| l.key() == s)
            .ok_or_else(|| {
                format!("unknown licence '{s}': use mde-p2, mde-p1 or defender-for-business")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_only_plan_2_hunts() {
        for l in Licence::ALL {
            assert_eq!(l.key().parse::<Licence>(), Ok(l));
            assert_eq!(
                serde_json::to_value(l).expect("json"),
                serde_json::Value::String(l.key().into())
            );
        }
        assert!(Licence::MdeP2.includes_hunting());
        assert!(!Licence::MdeP1.includes_hunting());
        assert!(!Licence::DefenderForBusiness.includes_hunting());
        assert!(matches!("e5".parse::<Licence>(), Err(m) if m.contains("defender-for-business")));
        assert_eq!(Licence::default(), Licence::MdeP2);
    }
}

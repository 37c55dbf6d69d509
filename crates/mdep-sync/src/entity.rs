//! What is synced: the four MDE collections, their API paths, watermark fields and the
//! typed columns extracted beside the raw JSON.

use serde_json::Value;
use std::fmt;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// One synced collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entity {
    /// `GET /api/alerts`, incremental on `lastUpdateTime`.
    Alerts,
    /// `GET /api/machines`, incremental on `lastSeen`.
    Machines,
    /// `GET /api/machineactions`, a full pass each run.
    MachineActions,
    /// `GET /api/indicators`, a full pass each run.
    Indicators,
}

/// How a typed column is read from the JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColKind {
    /// Text as given (numbers and booleans as their JSON text).
    Text,
    /// A date-time, normalised to `YYYY-MM-DDTHH:MM:SS.ffffffZ` so text order is time order.
    Time,
    /// A JSON array or object, kept as JSON text.
    Json,
}

/// A typed column: its name and the JSON property it comes from.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Column name (snake case).
    pub name: &'static str,
    /// JSON property (MDE's camel case).
    pub key: &'static str,
    /// How it is read.
    pub kind: ColKind,
}

const fn c(name: &'static str, key: &'static str, kind: ColKind) -> Column {
    Column { name, key, kind }
}

use ColKind::{Json, Text, Time};

const ALERT_COLS: &[Column] = &[
    c("incident_id", "incidentId", Text),
    c("severity", "severity", Text),
    c("status", "status", Text),
    c("classification", "classification", Text),
    c("determination", "determination", Text),
    c("category", "category", Text),
    c("title", "title", Text),
    c("assigned_to", "assignedTo", Text),
    c("detection_source", "detectionSource", Text),
    c("machine_id", "machineId", Text),
    c("computer_dns_name", "computerDnsName", Text),
    c("alert_creation_time", "alertCreationTime", Time),
    c("first_event_time", "firstEventTime", Time),
    c("last_event_time", "lastEventTime", Time),
    c("last_update_time", "lastUpdateTime", Time),
    c("resolved_time", "resolvedTime", Time),
];

const MACHINE_COLS: &[Column] = &[
    c("computer_dns_name", "computerDnsName", Text),
    c("os_platform", "osPlatform", Text),
    c("os_version", "version", Text),
    c("health_status", "healthStatus", Text),
    c("onboarding_status", "onboardingStatus", Text),
    c("risk_score", "riskScore", Text),
    c("exposure_level", "exposureLevel", Text),
    c("last_ip_address", "lastIpAddress", Text),
    c("last_external_ip_address", "lastExternalIpAddress", Text),
    c("rbac_group_name", "rbacGroupName", Text),
    c("aad_device_id", "aadDeviceId", Text),
    c("machine_tags", "machineTags", Json),
    c("first_seen", "firstSeen", Time),
    c("last_seen", "lastSeen", Time),
];

const ACTION_COLS: &[Column] = &[
    c("type", "type", Text),
    c("status", "status", Text),
    c("machine_id", "machineId", Text),
    c("computer_dns_name", "computerDnsName", Text),
    c("requestor", "requestor", Text),
    c("requestor_comment", "requestorComment", Text),
    c("creation_time", "creationDateTimeUtc", Time),
    c("last_update_time", "lastUpdateDateTimeUtc", Time),
];

const INDICATOR_COLS: &[Column] = &[
    c("indicator_value", "indicatorValue", Text),
    c("indicator_type", "indicatorType", Text),
    c("action", "action", Text),
    c("severity", "severity", Text),
    c("title", "title", Text),
    c("created_by", "createdBy", Text),
    c("creation_time", "creationTimeDateTimeUtc", Time),
    c("expiration_time", "expirationTime", Time),
    c("last_update_time", "lastUpdateTime", Time),
];

impl Entity {
    /// Every entity, in sync order.
    pub const ALL: [Entity; 4] = [
        Entity::Alerts,
        Entity::Machines,
        Entity::MachineActions,
        Entity::Indicators,
    ];

    /// The name `--entities` takes and checkpoints carry.
    pub fn name(self) -> &'static str {
        match self {
            Self::Alerts => "alerts",
            Self::Machines => "machines",
            Self::MachineActions => "machineactions",
            Self::Indicators => "indicators",
        }
    }

    /// Reads a name given to `--entities`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "alerts" | "alert" => Some(Self::Alerts),
            "machines" | "machine" | "devices" => Some(Self::Machines),
            "machineactions" | "machine_actions" | "actions" => Some(Self::MachineActions),
            "indicators" | "indicator" => Some(Self::Indicators),
            _ => None,
        }
    }

    /// The table rows go to.
    pub fn table(self) -> &'static str {
        match self {
            Self::Alerts => "alerts",
            Self::Machines => "machines",
            Self::MachineActions => "machine_actions",
            Self::Indicators => "indicators",
        }
    }

    /// The API path listed.
    pub fn path(self) -> &'static str {
        match self {
            Self::Alerts => "/api/alerts",
            Self::Machines => "/api/machines",
            Self::MachineActions => "/api/machineactions",
            Self::Indicators => "/api/indicators",
        }
    }

    /// The property an incremental run filters and orders on, if any. Alerts and
    /// machines document `lastUpdateTime` and `lastSeen` as filterable (`mde-api.md`
    /// §4.3, §4.4); actions and indicators are small and read whole each run.
    pub fn watermark(self) -> Option<&'static str> {
        match self {
            Self::Alerts => Some("lastUpdateTime"),
            Self::Machines => Some("lastSeen"),
            Self::MachineActions | Self::Indicators => None,
        }
    }

    /// The typed columns.
    pub fn columns(self) -> &'static [Column] {
        match self {
            Self::Alerts => ALERT_COLS,
            Self::Machines => MACHINE_COLS,
            Self::MachineActions => ACTION_COLS,
            Self::Indicators => INDICATOR_COLS,
        }
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Parses `alerts,machines`.
pub fn parse_list(s: &str) -> Result<Vec<Entity>, String> {
    let mut out = Vec::new();
    for part in s.split(',').filter(|p| !p.trim().is_empty()) {
        let e = Entity::parse(part).ok_or_else(|| {
            format!("unknown entity '{part}': use alerts, machines, machineactions or indicators")
        })?;
        if !out.contains(&e) {
            out.push(e);
        }
    }
    if out.is_empty() {
        return Err("no entities given: use alerts, machines, machineactions or indicators".into());
    }
    Ok(out)
}

/// A parsed date-time in the store's text form: microseconds, UTC, `Z`.
pub fn norm_time(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
        ))
        .unwrap_or_default()
}

/// Parses an MDE date-time (RFC 3339, any fraction up to 7 digits).
pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// One item ready for the store.
#[derive(Debug, Clone)]
pub struct Item {
    /// `id`.
    pub id: String,
    /// The JSON as the API sent it.
    pub raw: String,
    /// A hash of `raw`, to tell updated from unchanged.
    pub hash: i64,
    /// Typed columns, aligned with [`Entity::columns`].
    pub cols: Vec<Option<String>>,
}

/// FNV-1a, 64 bits: stable across builds and platforms, unlike `DefaultHasher`.
pub fn fnv(s: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h as i64
}

impl Item {
    /// The item for `v`, or `None` when it has no `id`.
    pub fn from_json(e: Entity, v: &Value) -> Option<Self> {
        let id = match &v["id"] {
            Value::String(s) if !s.is_empty() => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return None,
        };
        let raw = v.to_string();
        let cols = e
            .columns()
            .iter()
            .map(|c| match (&v[c.key], c.kind) {
                (Value::Null, _) => None,
                (Value::String(s), ColKind::Time) => {
                    Some(parse_time(s).map_or_else(|| s.clone(), norm_time))
                }
                (Value::String(s), _) => Some(s.clone()),
                (other, _) => Some(other.to_string()),
            })
            .collect();
        Some(Self {
            id,
            hash: fnv(&raw),
            raw,
            cols,
        })
    }

    /// The watermark value of this item, if the entity has one and the item carries it.
    pub fn watermark(&self, e: Entity) -> Option<OffsetDateTime> {
        let key = e.watermark()?;
        let i = e.columns().iter().position(|c| c.key == key)?;
        self.cols[i].as_deref().and_then(parse_time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn times_are_normalised_so_text_order_is_time_order() {
        let a = Item::from_json(
            Entity::Alerts,
            &json!({"id": "a", "lastUpdateTime": "2026-10-01T12:00:00Z", "severity": "High"}),
        )
        .expect("item");
        let b = Item::from_json(
            Entity::Alerts,
            &json!({"id": "b", "lastUpdateTime": "2026-10-01T12:00:00.1234567Z"}),
        )
        .expect("item");
        let i = Entity::Alerts
            .columns()
            .iter()
            .position(|c| c.name == "last_update_time")
            .expect("col");
        assert_eq!(a.cols[i].as_deref(), Some("2026-10-01T12:00:00.000000Z"));
        assert_eq!(b.cols[i].as_deref(), Some("2026-10-01T12:00:00.123456Z"));
        assert!(a.cols[i] < b.cols[i]);
        assert_eq!(a.cols[1].as_deref(), Some("High"));
        assert!(Item::from_json(Entity::Alerts, &json!({"title": "no id"})).is_none());
    }

    #[test]
    fn entity_lists_parse() {
        assert_eq!(
            parse_list("alerts, machines,alerts"),
            Ok(vec![Entity::Alerts, Entity::Machines])
        );
        assert!(parse_list("alerts,users").is_err());
        assert!(parse_list("").is_err());
    }
}

//! Indicators: MDE's shape, and those some other tool of the tenant made.

use super::rng::{Rng, ts7};
use serde_json::{Value, json};
use time::OffsetDateTime;

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

/// The indicators some other tool of the tenant made.
pub fn tools_indicators(rng: &mut Rng, anchor: time::OffsetDateTime) -> Vec<Value> {
    let mut out = Vec::new();
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
        let created = rng.before(anchor, 86_400, 86_400 * 90);
        out.push(indicator_json(IndicatorFields {
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
    out
}

//! MDE entities (`mde-api.md` §5) as they come over the wire, and the OData collection
//! both APIs page with. Every type keeps the fields it does not name in `extra`, so
//! nothing the service adds is lost, and every named field is optional or defaulted
//! because the service omits them freely.

pub use crate::wire::Extra;
use crate::wire::{lenient_string, null_default};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A collection: `{"@odata.context", "value": [...], "@odata.nextLink"?}`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Collection<T> {
    /// `@odata.context`.
    #[serde(rename = "@odata.context", skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// The items of this page.
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
    /// The next page, when the service says there is one.
    #[serde(rename = "@odata.nextLink", skip_serializing_if = "Option::is_none")]
    pub next_link: Option<String>,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Extra,
}

/// MDE's error body: `{"error": {"code", "message", "target"}}` (§6.3).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The inside of [`ErrorBody`].
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ErrorDetail {
    /// `BadRequest`, `ActiveRequestAlreadyExists`, `TooManyRequests`, …
    #[serde(default)]
    pub code: String,
    /// Free text.
    #[serde(default)]
    pub message: String,
    /// The tracking id to quote to support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Extra,
}

macro_rules! entity {
    (
        $(#[$doc:meta])*
        $name:ident { $( $(#[$fdoc:meta])* $field:ident : $ty:ty = $json:literal $(, $attr:meta)? ; )* }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, Deserialize, Serialize)]
        pub struct $name {
            $(
                $(#[$fdoc])*
                #[serde(rename = $json, default $(, $attr)?)]
                pub $field: $ty,
            )*
            /// Fields this type does not name, kept as they came.
            #[serde(flatten)]
            pub extra: Extra,
        }
    };
}

entity! {
    /// An alert (§5.1).
    Alert {
        /// `da637472900382838869_1364969609`.
        id: String = "id";
        /// Incident.
        incident_id: Option<i64> = "incidentId";
        /// Automated investigation.
        investigation_id: Option<i64> = "investigationId";
        /// Its state.
        investigation_state: Option<String> = "investigationState";
        /// Owner.
        assigned_to: Option<String> = "assignedTo";
        /// UnSpecified, Informational, Low, Medium, High.
        severity: Option<String> = "severity";
        /// Unknown, New, InProgress, Resolved.
        status: Option<String> = "status";
        /// TruePositive, InformationalExpectedActivity, FalsePositive.
        classification: Option<String> = "classification";
        /// Why.
        determination: Option<String> = "determination";
        /// WindowsDefenderAtp, CustomerTI, …
        detection_source: Option<String> = "detectionSource";
        /// Detector GUID.
        detector_id: Option<String> = "detectorId";
        /// Execution, SuspiciousActivity, …
        category: Option<String> = "category";
        /// Threat family.
        threat_family_name: Option<String> = "threatFamilyName";
        /// Title.
        title: Option<String> = "title";
        /// Description.
        description: Option<String> = "description";
        /// Created (UTC, as sent).
        alert_creation_time: Option<String> = "alertCreationTime";
        /// First event.
        first_event_time: Option<String> = "firstEventTime";
        /// Last event.
        last_event_time: Option<String> = "lastEventTime";
        /// Last update.
        last_update_time: Option<String> = "lastUpdateTime";
        /// Resolved.
        resolved_time: Option<String> = "resolvedTime";
        /// The device.
        machine_id: Option<String> = "machineId";
        /// The device's name.
        computer_dns_name: Option<String> = "computerDnsName";
        /// Device group.
        rbac_group_name: Option<String> = "rbacGroupName";
        /// The tenant the alert belongs to.
        aad_tenant_id: Option<String> = "aadTenantId";
        /// MITRE techniques.
        mitre_techniques: Vec<String> = "mitreTechniques", deserialize_with = "null_default";
        /// Threat name (`mde-api.md` §5.1).
        threat_name: Option<String> = "threatName";
        /// `{userName, domainName}`.
        related_user: Option<Value> = "relatedUser";
        /// `[{accountName, domainName}]`: not in Microsoft's table, seen in live data
        /// (`mde-api.md` §5.1).
        /// Absent when the service does not send it.
        logged_on_users: Option<Vec<Value>> = "loggedOnUsers", skip_serializing_if = "Option::is_none";
        /// `{comment, createdBy, createdTime}`.
        comments: Vec<Value> = "comments", deserialize_with = "null_default";
        /// Only with `$expand=evidence`.
        evidence: Option<Vec<Value>> = "evidence", skip_serializing_if = "Option::is_none";
    }
}

entity! {
    /// The body of `PATCH /api/alerts/{id}` (§4.3); unset fields are not sent.
    AlertUpdate {
        /// New, InProgress, Resolved.
        status: Option<String> = "status", skip_serializing_if = "Option::is_none";
        /// Owner.
        assigned_to: Option<String> = "assignedTo", skip_serializing_if = "Option::is_none";
        /// TruePositive, InformationalExpectedActivity, FalsePositive.
        classification: Option<String> = "classification", skip_serializing_if = "Option::is_none";
        /// Determination.
        determination: Option<String> = "determination", skip_serializing_if = "Option::is_none";
        /// A comment to add.
        comment: Option<String> = "comment", skip_serializing_if = "Option::is_none";
    }
}

entity! {
    /// A device (§5.2).
    Machine {
        /// 40 hex characters.
        id: String = "id";
        /// Name.
        computer_dns_name: Option<String> = "computerDnsName";
        /// First seen.
        first_seen: Option<String> = "firstSeen";
        /// Last full report.
        last_seen: Option<String> = "lastSeen";
        /// Windows10, Linux, …
        os_platform: Option<String> = "osPlatform";
        /// OS version.
        version: Option<String> = "version";
        /// OS build.
        os_build: Option<i64> = "osBuild";
        /// Internal IP.
        last_ip_address: Option<String> = "lastIpAddress";
        /// External IP.
        last_external_ip_address: Option<String> = "lastExternalIpAddress";
        /// Active, Inactive, …
        health_status: Option<String> = "healthStatus";
        /// onboarded, CanBeOnboarded, …
        onboarding_status: Option<String> = "onboardingStatus";
        /// Device group.
        rbac_group_name: Option<String> = "rbacGroupName";
        /// Device group id (a number in JSON, documented as a string).
        rbac_group_id: Option<String> = "rbacGroupId", deserialize_with = "lenient_string";
        /// None, Informational, Low, Medium, High.
        risk_score: Option<String> = "riskScore";
        /// None, Low, Medium, High.
        exposure_level: Option<String> = "exposureLevel";
        /// Normal, Low, High.
        device_value: Option<String> = "deviceValue";
        /// Entra device id.
        aad_device_id: Option<String> = "aadDeviceId";
        /// Tags.
        machine_tags: Vec<String> = "machineTags", deserialize_with = "null_default";
        /// `{ipAddress, macAddress, type, operationalStatus}`.
        ip_addresses: Option<Vec<Value>> = "ipAddresses", skip_serializing_if = "Option::is_none";
    }
}

entity! {
    /// A machine action (§5.3): what a response action created.
    MachineAction {
        /// GUID.
        id: String = "id";
        /// Isolate, Unisolate, RunAntiVirusScan, …
        kind: String = "type";
        /// Full/Selective, Quick/Full.
        scope: Option<String> = "scope";
        /// Who asked (UPN or app id).
        requestor: Option<String> = "requestor";
        /// The comment given.
        requestor_comment: Option<String> = "requestorComment";
        /// Pending, InProgress, Succeeded, Failed, TimeOut, Cancelled.
        status: String = "status";
        /// The device.
        machine_id: Option<String> = "machineId";
        /// The device's name.
        computer_dns_name: Option<String> = "computerDnsName";
        /// Created.
        creation_date_time_utc: Option<String> = "creationDateTimeUtc";
        /// Updated (the list examples call it `lastUpdateTimeUtc`: see [`MachineAction::last_update`]).
        last_update_date_time_utc: Option<String> = "lastUpdateDateTimeUtc", skip_serializing_if = "Option::is_none";
    }
}

impl MachineAction {
    /// True once the action will not change again.
    pub fn is_final(&self) -> bool {
        !matches!(self.status.as_str(), "Pending" | "InProgress")
    }

    /// The last update, under either of the names the docs use.
    pub fn last_update(&self) -> Option<&str> {
        self.last_update_date_time_utc
            .as_deref()
            .or_else(|| self.extra.get("lastUpdateTimeUtc")?.as_str())
    }
}

entity! {
    /// A custom indicator (§5.4).
    Indicator {
        /// `"995"` (numbers are read as text).
        id: Option<String> = "id", deserialize_with = "lenient_string";
        /// The hash, IP, domain or URL.
        indicator_value: Option<String> = "indicatorValue";
        /// FileSha1, FileSha256, FileMd5, CertificateThumbprint, IpAddress, DomainName, Url.
        indicator_type: Option<String> = "indicatorType";
        /// Warn, Block, Audit, Alert, AlertAndBlock, BlockAndRemediate, Allowed.
        action: Option<String> = "action";
        /// Application.
        application: Option<String> = "application";
        /// Title.
        title: Option<String> = "title";
        /// Description.
        description: Option<String> = "description";
        /// Informational, Low, Medium, High.
        severity: Option<String> = "severity";
        /// Expiry.
        expiration_time: Option<String> = "expirationTime";
        /// Created.
        creation_time_date_time_utc: Option<String> = "creationTimeDateTimeUtc";
        /// Creator (UPN or app id).
        created_by: Option<String> = "createdBy";
        /// Recommended actions.
        recommended_actions: Option<String> = "recommendedActions";
        /// Device groups.
        rbac_group_names: Vec<String> = "rbacGroupNames", deserialize_with = "null_default";
        /// Alert on match.
        generate_alert: Option<bool> = "generateAlert";
    }
}

entity! {
    /// One line of `POST /api/indicators/import`'s answer.
    ImportResult {
        /// The indicator id.
        id: Option<String> = "id", deserialize_with = "lenient_string";
        /// The indicator value.
        indicator: Option<String> = "indicator";
        /// Whether it failed.
        is_failed: bool = "isFailed";
        /// Why.
        failure_reason: Option<String> = "failureReason";
    }
}

entity! {
    /// A column of an advanced hunting answer.
    HuntingColumn {
        /// Column name.
        name: String = "Name";
        /// Kusto type.
        kind: String = "Type";
    }
}

entity! {
    /// `POST /api/advancedqueries/run`'s answer (§4.7).
    HuntingResponse {
        /// Execution statistics (live answers only).
        stats: Option<Value> = "Stats", skip_serializing_if = "Option::is_none";
        /// Columns.
        schema: Vec<HuntingColumn> = "Schema";
        /// Rows, as objects keyed by column.
        results: Vec<Map<String, Value>> = "Results";
    }
}

entity! {
    /// A user (§5.5).
    User {
        /// `contoso\user1`.
        id: Option<String> = "id";
        /// Account name.
        account_name: Option<String> = "accountName";
        /// Domain.
        account_domain: Option<String> = "accountDomain";
        /// SID.
        account_sid: Option<String> = "accountSid";
        /// First seen.
        first_seen: Option<String> = "firstSeen";
        /// Last seen.
        last_seen: Option<String> = "lastSeen";
    }
}

entity! {
    /// A file (§5.5).
    File {
        /// SHA-1.
        sha1: Option<String> = "sha1";
        /// SHA-256.
        sha256: Option<String> = "sha256";
        /// Size in bytes.
        size: Option<i64> = "size";
        /// Publisher.
        file_publisher: Option<String> = "filePublisher";
        /// Malware, Clean, …
        determination_type: Option<String> = "determinationType";
    }
}

entity! {
    /// Prevalence statistics of a file, IP or domain.
    Stats {
        /// Devices in the organization that saw it.
        organization_prevalence: Option<i64> = "organizationPrevalence";
        /// First seen in the organization.
        org_first_seen: Option<String> = "orgFirstSeen";
        /// Last seen in the organization.
        org_last_seen: Option<String> = "orgLastSeen";
    }
}

entity! {
    /// An automated investigation (§4.9).
    Investigation {
        /// Id.
        id: Option<String> = "id", deserialize_with = "lenient_string";
        /// Running, Benign, …
        state: Option<String> = "state";
        /// Started.
        start_time: Option<String> = "startTime";
        /// Ended.
        end_time: Option<String> = "endTime";
        /// The device.
        machine_id: Option<String> = "machineId";
        /// The alert that started it.
        triggering_alert_id: Option<String> = "triggeringAlertId";
    }
}

entity! {
    /// A vulnerability (§5.5).
    Vulnerability {
        /// CVE id.
        id: Option<String> = "id";
        /// Name.
        name: Option<String> = "name";
        /// Low, Medium, High, Critical.
        severity: Option<String> = "severity";
        /// CVSS v3.
        cvss_v3: Option<f64> = "cvssV3";
        /// Devices exposed.
        exposed_machines: Option<i64> = "exposedMachines";
        /// Public exploit.
        public_exploit: Option<bool> = "publicExploit";
    }
}

entity! {
    /// A software inventory item (§5.5).
    Software {
        /// `vendor-_-name`.
        id: Option<String> = "id";
        /// Name.
        name: Option<String> = "name";
        /// Vendor.
        vendor: Option<String> = "vendor";
        /// Weaknesses.
        weaknesses: Option<i64> = "weaknesses";
        /// Devices exposed.
        exposed_machines: Option<i64> = "exposedMachines";
    }
}

entity! {
    /// A security recommendation (§4.8).
    Recommendation {
        /// Id.
        id: Option<String> = "id";
        /// Name.
        recommendation_name: Option<String> = "recommendationName";
        /// Severity score.
        severity_score: Option<f64> = "severityScore";
        /// Devices exposed.
        exposed_machines_count: Option<i64> = "exposedMachinesCount";
    }
}

entity! {
    /// An exposure or configuration score (§4.8).
    Score {
        /// The score.
        score: Option<f64> = "score";
        /// When.
        time: Option<String> = "time";
        /// Device group.
        rbac_group_name: Option<String> = "rbacGroupName";
    }
}

entity! {
    /// A single string answer (`{"value": "<url>"}`): package and live response links.
    Link {
        /// The URL.
        value: Option<String> = "value";
    }
}

entity! {
    /// The answer of an export "via files" call: links to download.
    ExportFiles {
        /// SAS URLs of the files.
        export_files: Vec<String> = "exportFiles";
        /// When the export was made.
        generated_time: Option<String> = "generatedTime";
    }
}

entity! {
    /// A live response library file (§4.5).
    LibraryFile {
        /// The file name, as `RunScript` and `PutFile` name it.
        file_name: String = "fileName";
        /// SHA-256 of the content.
        sha256: Option<String> = "sha256";
        /// Description.
        description: Option<String> = "description";
        /// Whether the script takes parameters.
        has_parameters: Option<bool> = "hasParameters";
        /// What the parameters are.
        parameters_description: Option<String> = "parametersDescription";
        /// Uploaded.
        creation_time: Option<String> = "creationTime";
        /// Last replaced.
        last_updated_time: Option<String> = "lastUpdatedTime";
        /// Who uploaded it.
        created_by: Option<String> = "createdBy";
    }
}

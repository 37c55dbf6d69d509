//! The WindowsDefenderATP resource application and its application roles.
//!
//! Source: `mde-api.md` §3 (role values, display names and ids from a public dump of
//! `Get-MgServicePrincipal -Filter "DisplayName eq 'WindowsDefenderATP'"`, cross-checked
//! against two other public tables) and §2.1–2.2 for the app id and resource URIs.

use serde::Serialize;

/// App (client) id of the WindowsDefenderATP first-party application.
pub const WINDOWS_DEFENDER_ATP_APP_ID: &str = "fc780465-2017-40d4-a0c5-307022471b92";

/// Display name of the WindowsDefenderATP application.
pub const WINDOWS_DEFENDER_ATP_NAME: &str = "WindowsDefenderATP";

/// Resource identifiers a client-credentials request may name for the MDE API
/// (`resource=` on v1, `scope=<resource>/.default` on v2), `mde-api.md` §2.2.
/// The app id GUID is accepted too (see [`is_mde_resource`]).
pub const MDE_RESOURCES: &[&str] = &[
    "https://api.securitycenter.microsoft.com",
    "https://api.security.microsoft.com",
    "https://securitycenter.onmicrosoft.com/windowsatpservice",
];

/// True when `resource` names the WindowsDefenderATP API: one of [`MDE_RESOURCES`]
/// (compared without a trailing slash, scheme and host case-insensitively) or its app id.
pub fn is_mde_resource(resource: &str) -> bool {
    canonical_mde_resource(resource).is_some()
}

/// The canonical spelling of an MDE resource identifier, if `resource` is one.
pub fn canonical_mde_resource(resource: &str) -> Option<&'static str> {
    let trimmed = resource.trim_end_matches('/');
    if trimmed.eq_ignore_ascii_case(WINDOWS_DEFENDER_ATP_APP_ID) {
        return Some(WINDOWS_DEFENDER_ATP_APP_ID);
    }
    MDE_RESOURCES
        .iter()
        .copied()
        .find(|r| r.eq_ignore_ascii_case(trimmed))
}

/// One application role (application permission) of WindowsDefenderATP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AppRole {
    /// The value carried in a token's `roles` claim, e.g. `Alert.Read.All`.
    pub value: &'static str,
    /// The name the consent page and the portal show, e.g. `Read all alerts`.
    pub display_name: &'static str,
    /// The app role id.
    pub id: &'static str,
    /// What the role allows.
    pub description: &'static str,
}

macro_rules! roles {
    ($($value:literal, $display:literal, $id:literal, $desc:literal;)*) => {
        /// Every application role of WindowsDefenderATP (`mde-api.md` §3).
        pub const APP_ROLES: &[AppRole] = &[
            $(AppRole { value: $value, display_name: $display, id: $id, description: $desc },)*
        ];
    };
}

roles! {
    "Alert.Read.All", "Read all alerts", "71fe6b80-7034-4028-9ed8-0f316df9c3ff", "Allows the app to read any alert";
    "Alert.ReadWrite.All", "Read and write all alerts", "0f7000ec-157b-497f-b70e-ef0b0584f140", "Allows the app to create or update any alert";
    "Machine.Read.All", "Read all machine profiles", "ea8291d3-4b9a-44b5-bc3a-6cea3026dc79", "Allows the app to read all machine profiles, including the commands that were sent to each machine";
    "Machine.ReadWrite.All", "Read and write all machine information", "aa027352-232b-4ed4-b963-a705fc4d6d2c", "Allows the app to create machine records and read or update any machine record";
    "Machine.Isolate", "Isolate machine", "7e4e1300-e1b9-4102-88ba-f0cb6e6d5974", "Allows the app to isolate a machine";
    "Machine.RestrictExecution", "Restrict code execution", "96b6b35d-074d-4e2d-b167-8d68d9269648", "Allows the app to restrict code execution on a machine according to policy";
    "Machine.Scan", "Scan machine", "a86d9824-b2b6-45f8-b042-16bc4922ed4e", "Allows the app to scan a machine";
    "Machine.CollectForensics", "Collect forensics", "15405ab2-2103-4a3c-ad80-e829841cedcc", "Allows the app to collect forensics from a machine";
    "Machine.LiveResponse", "Run live response on a specific machine", "1629b959-c0af-42a1-92f0-f6162060bdf1", "Allows the app to run a live response on a specific machine";
    "Machine.Offboard", "Offboard machine", "594435bf-36dd-4548-83bd-1bdafe157d7a", "Allows the app to offboard a machine from the service";
    "Machine.StopAndQuarantine", "Stop and quarantine file", "96e72b5e-7e68-4171-aad1-3937599e4751", "Allows the app to stop a file running on a machine and quarantine that file";
    "AdvancedQuery.Read.All", "Run advanced queries", "93489bf5-0fbc-4f2d-b901-33f2fe08ff05", "Allows the app to run advanced queries";
    "Ti.ReadWrite", "Read and write IOCs belonging to the app", "a8bc2240-f96a-46a1-bad5-6a960b7327a1", "Allows the app to create IOCs and to read or update IOCs it created";
    "Ti.ReadWrite.All", "Read and write all IOCs", "fc511a58-3adf-4d71-af24-00f13e35e479", "Allows the app to manage all IOCs of the tenant";
    "Ti.Read.All", "Read all IOCs", "528ca142-c849-4a5b-935e-10b8b9c38a84", "Allows the app to read all IOCs";
    "File.Read.All", "Read file profiles", "8788f1a9-beca-4e26-ba58-10513f3b896f", "Allows the app to read all file profiles";
    "Ip.Read.All", "Read IP address profiles", "47bf842d-354b-49ef-b741-3a6dd815bc13", "Allows the app to read all IP address profiles";
    "Url.Read.All", "Read URL profiles", "721af526-ffa8-42d7-9b84-1a56244dd99d", "Allows the app to read all URL profiles";
    "User.Read.All", "Read user profiles", "a833834a-4cf1-4732-8acf-bbcfa13fb610", "Allows the app to read all user profiles";
    "Vulnerability.Read.All", "Read TVM vulnerability information", "41269fc5-d04d-4bfd-bce7-43a51cea049a", "Allows the app to read any TVM vulnerability information";
    "Software.Read.All", "Read TVM software information", "37f71c98-d198-41ae-964d-2c49aab74926", "Allows the app to read any TVM software information";
    "SecurityRecommendation.Read.All", "Read TVM security recommendations", "6443965c-7dd2-4cfd-b38f-bb7772bee163", "Allows the app to read any TVM security recommendation";
    "Score.Read.All", "Read TVM score", "02b005dd-f804-43b4-8fc7-078460413f74", "Allows the app to read any TVM score";
    "RemediationTasks.Read.All", "Read all remediation tasks", "6a33eedf-ba73-4e5a-821b-f057ef63853a", "Allows the app to read all remediation tasks";
    "SecurityConfiguration.Read.All", "Read all security configurations", "227f2ea0-c2c2-4428-b7af-9ff40f1a720e", "Allows the app to read all security configurations";
    "SecurityConfiguration.ReadWrite.All", "Read and write all security configurations", "e5e05709-32a3-4c85-89c8-67596eb94f24", "Allows the app to read and write all security configurations";
    "SecurityBaselinesAssessment.Read.All", "Read all security baselines assessment information", "e870c0c1-c1a2-41ca-948e-a33912d2d3f0", "Allows the app to read all security baselines assessment information";
    "Library.Manage", "Manage live response library files", "41d209c7-2511-4fc9-b899-8008a3976f09", "Allows the app to manage live response library files";
    "Event.Write", "Write timeline events", "84ddd701-5fac-4c30-b0ad-aa73a67bea1a", "Allows the app to create events in the machine timeline";
    "IntegrationConfiguration.ReadWrite", "Read and Write Integration settings", "7c6f6912-60e9-4fcd-bb2a-c25bc35e8c59", "Allows the app to read and modify integration settings between itself and the service";
}

/// Looks an application role up by its value, case-sensitively as Entra does.
pub fn app_role(value: &str) -> Option<&'static AppRole> {
    APP_ROLES.iter().find(|r| r.value == value)
}

/// App id of Microsoft Graph, the same in every cloud (`graph-security.md` §3).
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// Display name of the Microsoft Graph resource application.
pub const GRAPH_NAME: &str = "Microsoft Graph";

/// Microsoft Graph's resource URIs per cloud (`graph-security.md` §3, national clouds
/// table): global and GCC, GCC High, DoD, China (21Vianet).
pub const GRAPH_RESOURCES: &[&str] = &[
    "https://graph.microsoft.com",
    "https://graph.microsoft.us",
    "https://dod-graph.microsoft.us",
    "https://microsoftgraph.chinacloudapi.cn",
];

/// The canonical spelling of a Microsoft Graph resource identifier (one of
/// [`GRAPH_RESOURCES`] without a trailing slash, or [`GRAPH_APP_ID`]), if `resource` is one.
pub fn canonical_graph_resource(resource: &str) -> Option<&'static str> {
    let trimmed = resource.trim_end_matches('/');
    if trimmed.eq_ignore_ascii_case(GRAPH_APP_ID) {
        return Some(GRAPH_APP_ID);
    }
    GRAPH_RESOURCES
        .iter()
        .copied()
        .find(|r| r.eq_ignore_ascii_case(trimmed))
}

/// True when `resource` names Microsoft Graph (see [`canonical_graph_resource`]).
pub fn is_graph_resource(resource: &str) -> bool {
    canonical_graph_resource(resource).is_some()
}

/// The Microsoft Graph application roles mdep knows: the security API's
/// (`graph-security.md` §2.5 and §4.1 for the values and ids — ids from public dumps of
/// the commercial cloud's Graph service principal; display names and descriptions as the
/// Graph permissions reference shows them for application permissions), then the
/// directory roles that register apps and grant their permissions (`graph-security.md`
/// §5, ids from the same dumps).
pub const GRAPH_APP_ROLES: &[AppRole] = &[
    AppRole {
        value: "ThreatHunting.Read.All",
        display_name: "Run hunting queries",
        id: "dd98c7f5-2d42-42d3-a0e4-633161547251",
        description: "Allows the app to run hunting queries, without a signed-in user.",
    },
    AppRole {
        value: "SecurityAlert.Read.All",
        display_name: "Read all security alerts",
        id: "472e4a4d-bb4a-4026-98d1-0b0d74cb74a5",
        description: "Allows the app to read all security alerts, without a signed-in user.",
    },
    AppRole {
        value: "SecurityAlert.ReadWrite.All",
        display_name: "Read and write to all security alerts",
        id: "ed4fca05-be46-441f-9803-1873825f8fdb",
        description: "Allows the app to read and write to all security alerts, without a signed-in user.",
    },
    AppRole {
        value: "SecurityIncident.Read.All",
        display_name: "Read all security incidents",
        id: "45cc0394-e837-488b-a098-1918f48d186c",
        description: "Allows the app to read all security incidents, without a signed-in user.",
    },
    AppRole {
        value: "SecurityIncident.ReadWrite.All",
        display_name: "Read and write to all security incidents",
        id: "34bf0e97-1971-4929-b999-9e2442d941d7",
        description: "Allows the app to read and write to all security incidents, without a signed-in user.",
    },
    AppRole {
        value: "Application.Read.All",
        display_name: "Read all applications",
        id: "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
        description: "Allows the app to read all applications and service principals without a signed-in user.",
    },
    AppRole {
        value: "Application.ReadWrite.All",
        display_name: "Read and write all applications",
        id: "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
        description: "Allows the app to create, read, update and delete applications and service principals without a signed-in user.",
    },
    AppRole {
        value: "AppRoleAssignment.ReadWrite.All",
        display_name: "Manage app permission grants and app role assignments",
        id: "06b708a9-e830-4db3-a914-8e69da51d44f",
        description: "Allows the app to manage permission grants for application permissions to any API (including Microsoft Graph) and application assignments for any app, without a signed-in user.",
    },
];

/// The Microsoft Graph role that creates and changes app registrations.
pub const APPLICATION_READWRITE_ALL: &str = "Application.ReadWrite.All";

/// Looks a Microsoft Graph application role up by its value (case-sensitive).
pub fn graph_app_role(value: &str) -> Option<&'static AppRole> {
    GRAPH_APP_ROLES.iter().find(|r| r.value == value)
}

/// The resource applications whose roles an app can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Api {
    /// WindowsDefenderATP (the MDE API).
    Mde,
    /// Microsoft Graph (the security API).
    Graph,
}

impl Api {
    /// The resource's application roles.
    pub fn roles(self) -> &'static [AppRole] {
        match self {
            Api::Mde => APP_ROLES,
            Api::Graph => GRAPH_APP_ROLES,
        }
    }

    /// The resource application's display name.
    pub fn name(self) -> &'static str {
        match self {
            Api::Mde => WINDOWS_DEFENDER_ATP_NAME,
            Api::Graph => GRAPH_NAME,
        }
    }

    /// The resource application's app id.
    pub fn app_id(self) -> &'static str {
        match self {
            Api::Mde => WINDOWS_DEFENDER_ATP_APP_ID,
            Api::Graph => GRAPH_APP_ID,
        }
    }

    /// Which API a resource identifier names, if any.
    pub fn of_resource(resource: &str) -> Option<Api> {
        if is_mde_resource(resource) {
            Some(Api::Mde)
        } else if is_graph_resource(resource) {
            Some(Api::Graph)
        } else {
            None
        }
    }

    /// Which API defines role `value` (the two catalogs share no value).
    pub fn of_role(value: &str) -> Option<Api> {
        if app_role(value).is_some() {
            Some(Api::Mde)
        } else if graph_app_role(value).is_some() {
            Some(Api::Graph)
        } else {
            None
        }
    }

    /// The role's catalog entry on this API.
    pub fn role(self, value: &str) -> Option<&'static AppRole> {
        self.roles().iter().find(|r| r.value == value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_has_unique_values_and_ids() {
        let mut values: Vec<_> = APP_ROLES.iter().map(|r| r.value).collect();
        let mut ids: Vec<_> = APP_ROLES.iter().map(|r| r.id).collect();
        values.sort_unstable();
        ids.sort_unstable();
        values.dedup();
        ids.dedup();
        assert_eq!(values.len(), APP_ROLES.len());
        assert_eq!(ids.len(), APP_ROLES.len());
    }

    #[test]
    fn looks_up_roles_and_resources() {
        assert_eq!(
            app_role("Alert.Read.All").map(|r| r.display_name),
            Some("Read all alerts")
        );
        assert!(app_role("alert.read.all").is_none());
        assert!(is_mde_resource("https://api.securitycenter.microsoft.com/"));
        assert!(is_mde_resource("FC780465-2017-40D4-A0C5-307022471B92"));
        assert!(!is_mde_resource("https://graph.microsoft.com"));
    }

    #[test]
    fn graph_catalog_is_apart_from_mde() {
        for r in GRAPH_APP_ROLES {
            assert!(app_role(r.value).is_none(), "{} is in both", r.value);
            assert!(APP_ROLES.iter().all(|m| m.id != r.id));
            assert_eq!(Api::of_role(r.value), Some(Api::Graph));
        }
        assert_eq!(Api::of_role("Alert.Read.All"), Some(Api::Mde));
        assert_eq!(
            canonical_graph_resource("HTTPS://graph.microsoft.com/"),
            Some("https://graph.microsoft.com")
        );
        assert_eq!(
            Api::of_resource("00000003-0000-0000-c000-000000000000"),
            Some(Api::Graph)
        );
        assert_eq!(
            Api::of_resource("https://dod-graph.microsoft.us"),
            Some(Api::Graph)
        );
        assert_eq!(Api::of_resource("https://graph.windows.net"), None);
    }
}

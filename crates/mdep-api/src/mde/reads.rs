//! The MDE API's reads (`mde-api.md` §4.3–4.10) as a table: each row is a method of
//! [`Client`] — a `list` streams every page, an `item` is one entity by id, `related`
//! the collection an item points to, a `document` a single answer without an id — and
//! after the table, the reads that take more than an id (`findbytag`, advanced hunting).

use crate::entity::{
    Alert, Collection, File, HuntingResponse, Indicator, Investigation, Machine, MachineAction,
    Recommendation, Score, Software, Stats, User, Vulnerability,
};
use crate::error::ApiError;
use crate::query::Query;
use crate::tenant::Tenant;
use crate::transport::client::Client;
use crate::transport::url::path_segment;
use futures_util::Stream;
use reqwest::Method;
use serde_json::{Value, json};

/// Methods of [`Client`] from rows `kind name(arg) -> Type = "path";`, where a `{}` in
/// the path is the argument, encoded as one path segment.
macro_rules! reads {
    () => {};
    ($(#[$doc:meta])* list $name:ident -> $ty:ty = $path:literal; $($rest:tt)*) => {
        $(#[$doc])*
        pub fn $name(
            &self,
            t: &Tenant,
            q: &Query,
        ) -> impl Stream<Item = Result<$ty, ApiError>> + Send + use<> {
            self.list(t, $path, q)
        }
        reads! { $($rest)* }
    };
    ($(#[$doc:meta])* item $name:ident($arg:ident) -> $ty:ty = $path:literal; $($rest:tt)*) => {
        $(#[$doc])*
        pub async fn $name(&self, t: &Tenant, $arg: &str) -> Result<$ty, ApiError> {
            self.get(t, &format!($path, path_segment($arg))).await
        }
        reads! { $($rest)* }
    };
    ($(#[$doc:meta])* related $name:ident($arg:ident) -> Vec<$ty:ty> = $path:literal; $($rest:tt)*) => {
        $(#[$doc])*
        pub async fn $name(&self, t: &Tenant, $arg: &str) -> Result<Vec<$ty>, ApiError> {
            let c: Collection<$ty> = self.get(t, &format!($path, path_segment($arg))).await?;
            Ok(c.value)
        }
        reads! { $($rest)* }
    };
    ($(#[$doc:meta])* document $name:ident -> $ty:ty = $path:literal; $($rest:tt)*) => {
        $(#[$doc])*
        pub async fn $name(&self, t: &Tenant) -> Result<$ty, ApiError> {
            self.get(t, $path).await
        }
        reads! { $($rest)* }
    };
}

impl Client {
    reads! {
        /// `GET /api/alerts`, every page.
        list alerts -> Alert = "/api/alerts";
        /// `GET /api/alerts/{id}`.
        item alert(id) -> Alert = "/api/alerts/{}";
        /// `GET /api/alerts/{id}/machine`.
        item alert_machine(id) -> Machine = "/api/alerts/{}/machine";
        /// `GET /api/alerts/{id}/user`.
        item alert_user(id) -> User = "/api/alerts/{}/user";
        /// `GET /api/alerts/{id}/files`.
        related alert_files(id) -> Vec<File> = "/api/alerts/{}/files";
        /// `GET /api/alerts/{id}/ips`: `{"id": "<ip>"}` objects.
        related alert_ips(id) -> Vec<Value> = "/api/alerts/{}/ips";
        /// `GET /api/alerts/{id}/domains`: `{"host": "<domain>"}` objects.
        related alert_domains(id) -> Vec<Value> = "/api/alerts/{}/domains";

        /// `GET /api/machines`, every page.
        list machines -> Machine = "/api/machines";
        /// `GET /api/machines/{id}` (id or computer name).
        item machine(id) -> Machine = "/api/machines/{}";
        /// `GET /api/machines/{id}/alerts`.
        related machine_alerts(id) -> Vec<Alert> = "/api/machines/{}/alerts";
        /// `GET /api/machines/{id}/logonusers`.
        related logon_users(id) -> Vec<User> = "/api/machines/{}/logonusers";

        /// `GET /api/machineactions`, every page.
        list machine_actions -> MachineAction = "/api/machineactions";
        /// `GET /api/machineactions/{id}`.
        item machine_action(id) -> MachineAction = "/api/machineactions/{}";

        /// `GET /api/indicators`, every page.
        list indicators -> Indicator = "/api/indicators";

        /// `GET /api/files/{sha1-or-sha256}`.
        item file(hash) -> File = "/api/files/{}";
        /// `GET /api/files/{hash}/stats`.
        item file_stats(hash) -> Stats = "/api/files/{}/stats";
        /// `GET /api/ips/{ip}/stats`.
        item ip_stats(ip) -> Stats = "/api/ips/{}/stats";
        /// `GET /api/domains/{domain}/stats`.
        item domain_stats(domain) -> Stats = "/api/domains/{}/stats";
        /// `GET /api/users/{name}/alerts` (the account name, not the UPN).
        related user_alerts(user) -> Vec<Alert> = "/api/users/{}/alerts";

        /// `GET /api/investigations`, every page.
        list investigations -> Investigation = "/api/investigations";
        /// `GET /api/vulnerabilities`, every page (MDE caps its `$top` at 8,000).
        list vulnerabilities -> Vulnerability = "/api/vulnerabilities";
        /// `GET /api/Software`, every page.
        list software -> Software = "/api/Software";
        /// `GET /api/recommendations`, every page.
        list recommendations -> Recommendation = "/api/recommendations";
        /// `GET /api/Software/{id}` (`vendor-_-product`).
        item software_by_id(id) -> Software = "/api/Software/{}";
        /// `GET /api/Software/{id}/distributions`: `{version, installations,
        /// vulnerabilities}` objects.
        related software_distributions(id) -> Vec<Value> = "/api/Software/{}/distributions";
        /// `GET /api/Software/{id}/machineReferences`.
        related software_machines(id) -> Vec<Value> = "/api/Software/{}/machineReferences";
        /// `GET /api/Software/{id}/vulnerabilities`.
        related software_vulnerabilities(id) -> Vec<Vulnerability> = "/api/Software/{}/vulnerabilities";
        /// `GET /api/Software/{id}/getmissingkbs`: `{id, name, productsNames, url,
        /// machineMissedOn, cveAddressed}` objects.
        related software_missing_kbs(id) -> Vec<Value> = "/api/Software/{}/getmissingkbs";
        /// `GET /api/machines/{id}/getmissingkbs`.
        related machine_missing_kbs(id) -> Vec<Value> = "/api/machines/{}/getmissingkbs";
        /// `GET /api/machines/{id}/software`.
        related machine_software(id) -> Vec<Software> = "/api/machines/{}/software";
        /// `GET /api/machines/{id}/vulnerabilities`.
        related machine_vulnerabilities(id) -> Vec<Vulnerability> = "/api/machines/{}/vulnerabilities";
        /// `GET /api/vulnerabilities/{cveId}`.
        item vulnerability(cve) -> Vulnerability = "/api/vulnerabilities/{}";
        /// `GET /api/vulnerabilities/{cveId}/machineReferences`.
        related vulnerability_machines(cve) -> Vec<Value> = "/api/vulnerabilities/{}/machineReferences";
        /// `GET /api/vulnerabilities/machinesVulnerabilities`, every page: one
        /// `{id, cveId, machineId, fixingKbId, productName, productVendor, productVersion,
        /// severity}` per device and CVE.
        list machines_vulnerabilities -> Value = "/api/vulnerabilities/machinesVulnerabilities";
        /// `GET /api/recommendations/{id}` (`va-_-vendor-_-product`).
        item recommendation(id) -> Recommendation = "/api/recommendations/{}";
        /// `GET /api/recommendations/{id}/software`.
        related recommendation_software(id) -> Vec<Software> = "/api/recommendations/{}/software";
        /// `GET /api/recommendations/{id}/machineReferences`: `{id, computerDnsName,
        /// osPlatform, rbacGroupName}` objects.
        related recommendation_machines(id) -> Vec<Value> = "/api/recommendations/{}/machineReferences";
        /// `GET /api/recommendations/{id}/vulnerabilities`.
        related recommendation_vulnerabilities(id) -> Vec<Vulnerability> = "/api/recommendations/{}/vulnerabilities";
        /// `GET /api/machines/{id}/recommendations`.
        related machine_recommendations(id) -> Vec<Recommendation> = "/api/machines/{}/recommendations";
        /// `GET /api/remediationTasks`, every page.
        list remediation_tasks -> Value = "/api/remediationTasks";
        /// `GET /api/remediationTasks/{id}`.
        item remediation_task(id) -> Value = "/api/remediationTasks/{}";
        /// `GET /api/remediationTasks/{id}/machineReferences`.
        related remediation_task_machines(id) -> Vec<Value> = "/api/remediationTasks/{}/machineReferences";
        /// `GET /api/exposureScore`.
        document exposure_score -> Score = "/api/exposureScore";
        /// `GET /api/configurationScore`.
        document configuration_score -> Score = "/api/configurationScore";
    }

    /// `GET /api/machines/findbytag`.
    pub async fn machines_by_tag(
        &self,
        t: &Tenant,
        tag: &str,
        starts_with: bool,
    ) -> Result<Vec<Machine>, ApiError> {
        let url = self.url(
            "/api/machines/findbytag",
            &[
                ("tag".to_owned(), tag.to_owned()),
                ("useStartsWithFilter".to_owned(), starts_with.to_string()),
            ],
        );
        Ok(self.get::<Collection<Machine>>(t, &url).await?.value)
    }

    /// `GET /api/exposureScore/ByMachineGroups`: one `{time, score, rbacGroupName}` per
    /// device group.
    pub async fn exposure_score_by_groups(&self, t: &Tenant) -> Result<Vec<Score>, ApiError> {
        let path = "/api/exposureScore/ByMachineGroups";
        Ok(self.get::<Collection<Score>>(t, path).await?.value)
    }

    /// `GET /api/machines/findbyip(ip='…',timestamp=…)`: the devices seen with internal
    /// address `ip` within 15 minutes of `at`, which must lie in the past 30 days.
    pub async fn machines_by_ip(
        &self,
        t: &Tenant,
        ip: std::net::IpAddr,
        at: time::OffsetDateTime,
    ) -> Result<Vec<Machine>, ApiError> {
        let at = at
            .to_offset(time::UtcOffset::UTC)
            .replace_nanosecond(0)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default();
        let path = format!("/api/machines/findbyip(ip='{ip}',timestamp={at})");
        Ok(self.get::<Collection<Machine>>(t, &path).await?.value)
    }

    /// `POST /api/advancedqueries/run`, counted against the hunting quota; a POST that
    /// only reads, so retried like a read.
    pub async fn hunt(&self, t: &Tenant, query: &str) -> Result<HuntingResponse, ApiError> {
        self.send_json(
            t,
            Method::POST,
            "/api/advancedqueries/run",
            &json!({ "Query": query }),
        )
        .await
    }
}

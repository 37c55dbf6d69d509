//! Response actions (`mde-api.md` §4.5). A response action is a POST that creates a
//! machine action, so it is never resent blindly: when an answer is lost, the client
//! first looks for an action of the same kind still pending on the device, and a
//! second request while one runs (`ActiveRequestAlreadyExists`) is reported as that
//! running action rather than as an error.

use crate::entity::MachineAction;
use crate::error::ApiError;
use crate::query::{Query, cmp_str};
use crate::tenant::Tenant;
use crate::transport::client::Client;
use futures_util::TryStreamExt;
use mdep_model::odata::CompareOp;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

/// A response action on one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseAction {
    /// Cut the device off the network; `Full` or `Selective`.
    Isolate {
        /// `Full`, `Selective` or `UnManagedDevice`.
        isolation_type: String,
    },
    /// Undo isolation.
    Unisolate,
    /// Antivirus scan; `Quick` or `Full`.
    Scan {
        /// `Quick` or `Full`.
        scan_type: String,
    },
    /// Allow only Microsoft-signed code.
    Restrict,
    /// Undo the restriction.
    Unrestrict,
    /// Collect the investigation package.
    Collect,
    /// Offboard the device (Windows only).
    Offboard,
}

impl ResponseAction {
    /// The path segment after `/api/machines/{id}/`, and the machine action `type` it
    /// creates.
    fn names(&self) -> (&'static str, &'static str) {
        match self {
            Self::Isolate { .. } => ("isolate", "Isolate"),
            Self::Unisolate => ("unisolate", "Unisolate"),
            Self::Scan { .. } => ("runAntiVirusScan", "RunAntiVirusScan"),
            Self::Restrict => ("restrictCodeExecution", "RestrictCodeExecution"),
            Self::Unrestrict => ("unrestrictCodeExecution", "UnrestrictCodeExecution"),
            Self::Collect => ("collectInvestigationPackage", "CollectInvestigationPackage"),
            Self::Offboard => ("offboard", "Offboard"),
        }
    }

    /// The path segment after `/api/machines/{id}/`.
    pub fn segment(&self) -> &'static str {
        self.names().0
    }

    /// The machine action `type` it creates.
    pub fn kind(&self) -> &'static str {
        self.names().1
    }

    /// The request body (parameter names are case-sensitive PascalCase).
    pub fn body(&self, comment: &str) -> Value {
        match self {
            Self::Isolate { isolation_type } => {
                json!({"Comment": comment, "IsolationType": isolation_type})
            }
            Self::Scan { scan_type } => json!({"Comment": comment, "ScanType": scan_type}),
            _ => json!({"Comment": comment}),
        }
    }
}

/// What a response action came to.
#[derive(Debug, Clone)]
pub enum ActionOutcome {
    /// The service created this machine action.
    Created(MachineAction),
    /// An action of the same kind was already running on the device; this one.
    AlreadyRunning(MachineAction),
    /// The answer was lost, and a pending action of the same kind was found: the
    /// request had been carried out, and was not sent again.
    Recovered(MachineAction),
}

impl ActionOutcome {
    /// The machine action, whichever way it came.
    pub fn action(&self) -> &MachineAction {
        match self {
            Self::Created(a) | Self::AlreadyRunning(a) | Self::Recovered(a) => a,
        }
    }

    /// `created`, `already running`, `found after a lost answer`.
    pub fn describe(&self) -> &'static str {
        match self {
            Self::Created(_) => "created",
            Self::AlreadyRunning(_) => "already running",
            Self::Recovered(_) => "found pending after a lost answer",
        }
    }
}

fn is_machine_id(s: &str) -> bool {
    s.len() == 40 && s.chars().all(|c| c.is_ascii_hexdigit())
}

impl Client {
    /// The id of a device named by its id or its computer name.
    pub async fn machine_id(&self, t: &Tenant, machine: &str) -> Result<String, ApiError> {
        if is_machine_id(machine) {
            Ok(machine.to_ascii_lowercase())
        } else {
            Ok(self.machine(t, machine).await?.id)
        }
    }

    /// Sends a response action to a device (id or computer name), safely: see the module.
    pub async fn respond(
        &self,
        t: &Tenant,
        machine: &str,
        action: &ResponseAction,
        comment: &str,
    ) -> Result<ActionOutcome, ApiError> {
        let id = self.machine_id(t, machine).await?;
        let path = format!("/api/machines/{id}/{}", action.segment());
        let body = action.body(comment);
        let policy = self.options().retry;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self
                .send_json::<MachineAction>(t, Method::POST, &path, &body)
                .await
            {
                Ok(a) => return Ok(ActionOutcome::Created(a)),
                Err(e)
                    if e.code() == Some("ActiveRequestAlreadyExists")
                        || e.to_string().contains("already in progress") =>
                {
                    return match self.active_action(t, &id, action.kind()).await? {
                        Some(a) => Ok(ActionOutcome::AlreadyRunning(a)),
                        None => Err(e),
                    };
                }
                Err(ApiError::Uncertain { tenant, message }) => {
                    if let Some(a) = self.active_action(t, &id, action.kind()).await? {
                        tracing::info!(tenant = %t.name, action = %a.id, "the answer was lost but the action exists; not sending it again");
                        return Ok(ActionOutcome::Recovered(a));
                    }
                    if attempt >= policy.max_attempts {
                        return Err(ApiError::Uncertain { tenant, message });
                    }
                    tracing::info!(tenant = %t.name, %message, "no pending action found; sending the request again");
                    tokio::time::sleep(policy.backoff(attempt)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The newest action of `kind` on a device that is still Pending or InProgress.
    pub async fn active_action(
        &self,
        t: &Tenant,
        machine_id: &str,
        kind: &str,
    ) -> Result<Option<MachineAction>, ApiError> {
        let q = Query::new()
            .filter(cmp_str("machineId", CompareOp::Eq, machine_id))
            .filter(cmp_str("type", CompareOp::Eq, kind));
        let mut best: Option<MachineAction> = None;
        let mut s = std::pin::pin!(self.machine_actions(t, &q));
        while let Some(a) = s.try_next().await? {
            if a.is_final() {
                continue;
            }
            if best.as_ref().is_none_or(|b| {
                a.creation_date_time_utc.as_deref().unwrap_or("")
                    > b.creation_date_time_utc.as_deref().unwrap_or("")
            }) {
                best = Some(a);
            }
        }
        Ok(best)
    }

    /// Follows a machine action until it is final, calling `progress` on each change
    /// of status; gives up after `timeout`.
    pub async fn wait_action(
        &self,
        t: &Tenant,
        id: &str,
        every: Duration,
        timeout: Duration,
        mut progress: impl FnMut(&MachineAction),
    ) -> Result<MachineAction, ApiError> {
        let start = tokio::time::Instant::now();
        let mut last = String::new();
        loop {
            let a = self.machine_action(t, id).await?;
            if a.status != last {
                last = a.status.clone();
                progress(&a);
            }
            if a.is_final() {
                return Ok(a);
            }
            if start.elapsed() + every > timeout {
                return Err(ApiError::Unavailable {
                    tenant: t.name.clone(),
                    message: format!(
                        "machine action {id} is still {} after {} s",
                        a.status,
                        timeout.as_secs()
                    ),
                    attempts: 1,
                });
            }
            tokio::time::sleep(every).await;
        }
    }
}

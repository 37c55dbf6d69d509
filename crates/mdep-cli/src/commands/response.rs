//! The response calls that are not machine actions, under the commands of what they act
//! on: `mdep machines investigate` (an automated investigation), `mdep actions
//! package-uri` (the link to a collected investigation package, or the package) and
//! `mdep alerts create` (an alert from an advanced hunting event).

use crate::context::Output;
use crate::run::fanout::{call, each, fixed};
use crate::run::output::print_one;
use crate::run::select::{Api, Targets};
use anyhow::{Context as _, Result, bail};
use clap::Args;
use mdep_api::AlertByReference;
use mdep_api::entity::{Alert, Investigation};
use serde_json::json;
use std::path::PathBuf;

/// `mdep machines investigate`.
#[derive(Debug, Args)]
pub struct InvestigateArgs {
    /// Device id or computer name.
    pub machine: String,
    /// Why (MDE requires a comment).
    #[arg(long)]
    pub comment: String,
    #[command(flatten)]
    pub targets: Targets,
}

/// `mdep actions package-uri`.
#[derive(Debug, Args)]
pub struct PackageUriArgs {
    /// The id of a succeeded CollectInvestigationPackage machine action.
    pub id: String,
    /// Download the package (a zip) into this file instead of printing the link; one
    /// tenant only.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub targets: Targets,
}

/// `mdep alerts create`: every field is required, as MDE requires it.
#[derive(Debug, Args)]
pub struct CreateAlertArgs {
    /// The event's DeviceId.
    #[arg(long)]
    pub machine: String,
    /// The alert's severity.
    #[arg(long, value_parser = ["Low", "Medium", "High"])]
    pub severity: String,
    /// The alert's title; an open alert with this title on the device takes the event.
    #[arg(long)]
    pub title: String,
    /// The alert's description.
    #[arg(long)]
    pub description: String,
    /// What to do about it.
    #[arg(long)]
    pub recommended_action: String,
    /// The alert's category.
    #[arg(long, value_parser = CATEGORIES)]
    pub category: String,
    /// The event's Timestamp (RFC 3339), as advanced hunting returned it.
    #[arg(long, value_parser = rfc3339)]
    pub event_time: String,
    /// The event's ReportId.
    #[arg(long, value_parser = clap::value_parser!(i64).range(0..))]
    pub report_id: i64,
    #[command(flatten)]
    pub targets: Targets,
}

/// `category` values of `POST /api/alerts/CreateAlertByReference` (`mde-api.md` §4.3).
const CATEGORIES: [&str; 16] = [
    "General",
    "CommandAndControl",
    "Collection",
    "CredentialAccess",
    "DefenseEvasion",
    "Discovery",
    "Exfiltration",
    "Exploit",
    "Execution",
    "InitialAccess",
    "LateralMovement",
    "Malware",
    "Persistence",
    "PrivilegeEscalation",
    "Ransomware",
    "SuspiciousActivity",
];

/// An RFC 3339 time, kept as written: MDE matches it against the event's Timestamp.
fn rfc3339(s: &str) -> Result<String, String> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|_| s.to_owned())
        .map_err(|e| format!("'{s}' is not an RFC 3339 time such as 2026-12-01T08:00:00Z ({e})"))
}

/// `mdep machines investigate`: one investigation per tenant chosen.
pub async fn investigate(a: InvestigateArgs, api: &Api, out: Output) -> Result<()> {
    let start = |t| {
        let (c, m, comment) = (api.client.clone(), a.machine.clone(), a.comment.clone());
        async move { c.start_investigation(&t, &m, &comment).await }
    };
    let rows = |i: &Investigation| each(std::slice::from_ref(i));
    let what = |i: &Investigation| {
        format!(
            "investigation {} {}",
            i.id.as_deref().unwrap_or_default(),
            i.state.as_deref().unwrap_or_default()
        )
    };
    call(
        api,
        &a.targets,
        start,
        out,
        fixed(INVESTIGATION_COLS),
        rows,
        what,
    )
    .await
}

/// `mdep actions package-uri`: the link, or with `--out` the package it points to.
pub async fn package_uri(a: PackageUriArgs, api: &Api, out: Output) -> Result<()> {
    let Some(file) = a.out else {
        let link = |t| {
            let (c, id) = (api.client.clone(), a.id.clone());
            async move { c.package_uri(&t, &id).await.map(|l| (id, l)) }
        };
        let rows = |(id, l): &(String, String)| Ok(vec![json!({"action": id, "packageUri": l})]);
        let columns = fixed(&[("ACTION", "action"), ("PACKAGE URI", "packageUri")]);
        return call(api, &a.targets, link, out, columns, rows, |_| "link".into()).await;
    };
    let mut tenants = api.tenants(&a.targets)?;
    if tenants.len() != 1 {
        bail!(
            "--out downloads from one tenant; {} are chosen: say which with --tenant NAME",
            tenants.len()
        );
    }
    let t = tenants.remove(0);
    let link = api.client.package_uri(&t, &a.id).await?;
    let zip = api.client.fetch_signed(&t, &link).await?;
    std::fs::write(&file, &zip).with_context(|| format!("writing {}", file.display()))?;
    eprintln!(
        "{}: investigation package of {} written to {} ({} bytes)",
        t.name,
        a.id,
        file.display(),
        zip.len()
    );
    let row = json!({"action": a.id, "file": file.display().to_string(), "bytes": zip.len()});
    print_one(
        out,
        &t.name,
        &row,
        &[("ACTION", "action"), ("FILE", "file"), ("BYTES", "bytes")],
    )
}

/// `mdep alerts create`: the alert raised (or the open one that took the event), per
/// tenant chosen.
pub async fn create_alert(
    a: CreateAlertArgs,
    api: &Api,
    out: Output,
    cols: &[(&str, &str)],
) -> Result<()> {
    let req = AlertByReference {
        event_time: a.event_time,
        report_id: a.report_id.to_string(),
        machine_id: a.machine,
        severity: a.severity,
        title: a.title,
        description: a.description,
        recommended_action: a.recommended_action,
        category: a.category,
    };
    let create = |t| {
        let (c, req) = (api.client.clone(), req.clone());
        async move { c.create_alert_by_reference(&t, &req).await }
    };
    let rows = |x: &Alert| each(std::slice::from_ref(x));
    let what = |x: &Alert| format!("alert {}", x.id);
    call(api, &a.targets, create, out, fixed(cols), rows, what).await
}

const INVESTIGATION_COLS: &[(&str, &str)] = &[
    ("INVESTIGATION", "id"),
    ("STATE", "state"),
    ("DEVICE", "machineId"),
    ("STARTED", "startTime"),
    ("ALERT", "triggeringAlertId"),
];

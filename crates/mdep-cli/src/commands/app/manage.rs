//! `mdep app show`, `mdep app secret rotate`, `mdep app permission add|remove` on the
//! configured partner app.

use super::session::{Session, explain, grant_home, required_values, role};
use crate::context::{Global, Output, table};
use crate::run::output::print_json;
use anyhow::{Context as _, Result};
use mdep_api::graph::apps::required_access;
use mdep_auth::config::edit::{CredentialRef, set_partner_app};
use serde_json::json;
use time::OffsetDateTime;

pub async fn show(s: &Session, g: &Global) -> Result<()> {
    let app = s
        .configured_app()
        .await
        .map_err(|e| e.context("mdep app show"))?;
    let (mde, graph) = required_values(&app);
    match g.output {
        Output::Table => {
            println!("{} {}", app.display_name, app.app_id);
            println!("  object id:      {}", app.id);
            println!(
                "  sign-in:        {}",
                app.sign_in_audience.as_deref().unwrap_or("?")
            );
            println!("  redirect URIs:  {}", app.redirect_uris().join(", "));
            println!("  WindowsDefenderATP: {}", mde.join(", "));
            println!(
                "  Microsoft Graph:    {}",
                if graph.is_empty() {
                    "none".into()
                } else {
                    graph.join(", ")
                }
            );
            let rows: Vec<Vec<String>> = app
                .password_credentials
                .iter()
                .map(|p| {
                    vec![
                        "secret".into(),
                        p.key_id.clone(),
                        p.hint.clone().map(|h| format!("{h}…")).unwrap_or_default(),
                        p.end_date_time.clone().unwrap_or_default(),
                    ]
                })
                .chain(app.key_credentials.iter().map(|k| {
                    vec![
                        "certificate".into(),
                        k.key_id.clone(),
                        k.custom_key_identifier.clone().unwrap_or_default(),
                        k.end_date_time.clone().unwrap_or_default(),
                    ]
                }))
                .collect();
            print!(
                "{}",
                table(
                    &["CREDENTIAL", "KEY ID", "HINT/THUMBPRINT", "EXPIRES"],
                    &rows
                )
            );
            Ok(())
        }
        _ => print_json(&json!({
            "client_id": app.app_id,
            "object_id": app.id,
            "display_name": app.display_name,
            "sign_in_audience": app.sign_in_audience,
            "redirect_uris": app.redirect_uris(),
            "permissions": mde,
            "graph_permissions": graph,
            "secrets": app.password_credentials.iter().map(|p| json!({"key_id": p.key_id, "hint": p.hint, "end": p.end_date_time})).collect::<Vec<_>>(),
            "certificates": app.key_credentials.iter().map(|k| json!({"key_id": k.key_id, "thumbprint": k.custom_key_identifier, "end": k.end_date_time})).collect::<Vec<_>>(),
        })),
    }
}

pub async fn rotate(s: &Session, g: &Global, keep_old: Option<u32>, years: u32) -> Result<()> {
    let app = s.configured_app().await?;
    let now = OffsetDateTime::now_utc();
    let (key_id, file, end) = s.new_secret(&app, years).await?;
    let client_id = app.app_id.parse().context("appId is not a GUID")?;
    set_partner_app(
        &s.loaded.path,
        client_id,
        Some(&CredentialRef::SecretFile(file.clone())),
        None,
    )?;
    let old: Vec<&str> = app
        .password_credentials
        .iter()
        .map(|p| p.key_id.as_str())
        .collect();
    let kept_until = keep_old.map(|d| (now + time::Duration::days(i64::from(d))).date());
    if kept_until.is_none() {
        for k in &old {
            s.graph
                .remove_password(&s.home, &app.id, k)
                .await
                .map_err(explain)?;
        }
    }
    match g.output {
        Output::Table => {
            println!(
                "new secret {} (valid until {end}) written to {}",
                key_id,
                file.display()
            );
            match kept_until {
                Some(d) if !old.is_empty() => println!(
                    "kept {} old secret(s) until {d}: run `mdep app secret rotate` after that day to remove them",
                    old.len()
                ),
                _ => println!(
                    "removed {} old secret(s)",
                    if kept_until.is_some() { 0 } else { old.len() }
                ),
            }
            Ok(())
        }
        _ => print_json(&json!({
            "key_id": key_id,
            "secret_file": file,
            "end": end,
            "removed": if kept_until.is_some() { Vec::new() } else { old.clone() },
            "kept": if kept_until.is_some() { old.clone() } else { Vec::new() },
            "kept_until": kept_until.map(|d| d.to_string()),
        })),
    }
}

pub async fn permission(s: &Session, g: &Global, value: &str, add: bool) -> Result<()> {
    let (api, r) = role(value)?;
    let app = s.configured_app().await?;
    let mut access = app.role_access();
    let has = app
        .role_ids(api.app_id())
        .contains(&r.id.to_ascii_lowercase());
    let changed = has != add;
    if changed {
        match access
            .iter_mut()
            .find(|(res, _)| res.eq_ignore_ascii_case(api.app_id()))
        {
            Some((_, ids)) if add => ids.push(r.id.to_owned()),
            Some((_, ids)) => ids.retain(|i| !i.eq_ignore_ascii_case(r.id)),
            None => access.push((api.app_id().to_owned(), vec![r.id.to_owned()])),
        }
        let body = json!({"requiredResourceAccess": required_access(&access)});
        s.graph
            .update_application(&s.home, &app.id, &body)
            .await
            .map_err(explain)?;
    }
    let app = s.graph.application_by_app_id(&s.home, &app.app_id).await?;
    let mut granted = false;
    let mut warning = None;
    if add && let Some(sp) = s.graph.service_principal(&s.home, &app.app_id).await? {
        match grant_home(s, &sp.id, api, &[r.id.to_owned()]).await {
            Ok(g) => granted = !g.is_empty(),
            Err(e) => warning = Some(format!("could not grant {value} in the home tenant: {e}")),
        }
    }
    let (mde, graph) = required_values(&app);
    let client_id = app.app_id.parse().context("appId is not a GUID")?;
    set_partner_app(&s.loaded.path, client_id, None, Some((&mde, &graph)))?;
    if let Some(w) = &warning {
        eprintln!("warning: {w}");
    }
    match g.output {
        Output::Table => {
            let what = match (changed, add) {
                (false, true) => format!("{value} is required already"),
                (false, false) => format!("{value} was not required"),
                (true, true) => format!("{value} added ({})", api.name()),
                (true, false) => format!(
                    "{value} removed ({}); customers keep it until they consent again",
                    api.name()
                ),
            };
            println!("{what}");
            if granted {
                println!("  granted in the home tenant");
            }
            if changed && add {
                println!(
                    "  customers must consent again: `mdep tenants check` shows who, `mdep consent-url --tenant NAME` gives the link"
                );
            }
            Ok(())
        }
        _ => print_json(
            &json!({"role": value, "api": api.name(), "changed": changed, "granted_in_home_tenant": granted, "warning": warning}),
        ),
    }
}

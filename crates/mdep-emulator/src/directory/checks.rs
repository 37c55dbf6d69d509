//! The rules a directory value must follow: domains, redirect URIs and permission values.

use super::error::{DirectoryError, invalid};
use mdep_model::permissions::{self, WINDOWS_DEFENDER_ATP_APP_ID};

/// True when `s` is a plausible verified domain name.
pub fn valid_domain(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    s.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|l| l.chars().all(|c| c.is_ascii_alphabetic()))
}

/// Checks a redirect URI as Entra does for the Web platform: absolute `https`, or `http`
/// only for `localhost`/`127.0.0.1`; no fragment.
pub fn check_redirect_uri(uri: &str) -> Result<(), DirectoryError> {
    let lower = uri.to_ascii_lowercase();
    let rest = if let Some(rest) = lower.strip_prefix("https://") {
        rest
    } else if let Some(rest) = lower.strip_prefix("http://") {
        let host = rest.split(['/', '?']).next().unwrap_or("");
        let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
        if host != "localhost" && host != "127.0.0.1" {
            return Err(invalid(format!(
                "redirect URI '{uri}' must use https (http is allowed only for localhost)"
            )));
        }
        rest
    } else {
        return Err(invalid(format!(
            "redirect URI '{uri}' must be an absolute https URL"
        )));
    };
    if rest.is_empty() || rest.starts_with('/') || uri.contains('#') || uri.len() > 256 {
        return Err(invalid(format!(
            "redirect URI '{uri}' is not valid: it needs a host, no fragment, 256 characters at most"
        )));
    }
    if uri.chars().any(|c| c.is_control() || c == ' ') {
        return Err(invalid(format!(
            "redirect URI '{uri}' contains spaces or control characters"
        )));
    }
    Ok(())
}

/// Checks permission values against the WindowsDefenderATP and Microsoft Graph catalogs
/// (an app's permissions and a service principal's roles hold both; the catalogs share
/// no value, so each role names its resource).
pub fn check_permissions(perms: &[String]) -> Result<(), DirectoryError> {
    for p in perms {
        if permissions::Api::of_role(p).is_none() {
            return Err(invalid(format!(
                "'{p}' is not an application permission of WindowsDefenderATP ({WINDOWS_DEFENDER_ATP_APP_ID}) or of Microsoft Graph ({}: {})",
                permissions::GRAPH_APP_ID,
                graph_role_names()
            )));
        }
    }
    Ok(())
}

fn graph_role_names() -> String {
    permissions::GRAPH_APP_ROLES
        .iter()
        .map(|r| r.value)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks permission values against the WindowsDefenderATP catalog only.
pub fn check_mde_permissions(perms: &[String]) -> Result<(), DirectoryError> {
    for p in perms {
        if permissions::app_role(p).is_none() {
            let hint = if permissions::graph_app_role(p).is_some() {
                " (it is a Microsoft Graph permission: list it under graph_permissions)"
            } else {
                ""
            };
            return Err(invalid(format!(
                "'{p}' is not an application permission of WindowsDefenderATP ({WINDOWS_DEFENDER_ATP_APP_ID}){hint}"
            )));
        }
    }
    Ok(())
}

/// Checks permission values against the Microsoft Graph security roles only.
pub fn check_graph_permissions(perms: &[String]) -> Result<(), DirectoryError> {
    for p in perms {
        if permissions::graph_app_role(p).is_none() {
            return Err(invalid(format!(
                "'{p}' is not a Microsoft Graph application permission the emulator knows ({}): use one of {}",
                permissions::GRAPH_APP_ID,
                graph_role_names()
            )));
        }
    }
    Ok(())
}

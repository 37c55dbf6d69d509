//! `mdep app create`: the portal's steps 1–4 of Microsoft's partner page in one
//! idempotent command (`graph-security.md` §5): register a multi-tenant app with
//! WindowsDefenderATP (and Graph) application permissions, give it a secret or a
//! certificate, create its service principal in the home tenant and grant its roles
//! there, then point the config at it and print every customer's consent link.

use super::session::{Session, ambiguous, explain, grant_home, required_values, role};
use crate::context::{Global, Output};
use crate::run::output::print_json;
use anyhow::{Context as _, Result, bail};
use clap::Args;
use mdep_api::graph::apps::{
    Application, MULTIPLE_ORGS, NewApplication, key_credential, required_access,
};
use mdep_auth::CertificateCredential;
use mdep_auth::config::edit::{CredentialRef, set_partner_app};
use mdep_auth::consent::ConsentLink;
use mdep_model::permissions::Api;
use serde_json::{Value, json};
use std::path::PathBuf;

/// Where the customers' administrators land after consenting, unless told otherwise
/// (the redirect URI of Microsoft's partner walk-through).
const DEFAULT_REDIRECT: &str = "https://portal.azure.com";

/// `mdep app create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The app's display name (how a second run finds it).
    #[arg(long)]
    pub name: String,
    /// A WindowsDefenderATP application permission (repeat); default the config's required_permissions.
    #[arg(long = "permission", value_name = "ROLE")]
    pub permissions: Vec<String>,
    /// A Microsoft Graph application permission (repeat); default the config's required_graph_permissions.
    #[arg(long = "graph-permission", value_name = "ROLE")]
    pub graph_permissions: Vec<String>,
    /// Where the customers' administrators land after consenting [default: https://portal.azure.com].
    #[arg(long, value_name = "URI")]
    pub redirect_uri: Option<String>,
    /// A PEM with the certificate and its private key: the certificate is registered and the config reads the PEM.
    #[arg(long, value_name = "PEM", conflicts_with = "secret_years")]
    pub certificate: Option<PathBuf>,
    /// Years a new client secret is valid (the secret goes to a 0600 file the config names).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub secret_years: Option<u32>,
    #[command(flatten)]
    pub bootstrap: super::session::Bootstrap,
}

/// The certificate of a PEM as Graph takes it (base64 DER), with its thumbprint.
fn certificate(path: &PathBuf) -> Result<(String, String)> {
    let pem =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let cred = CertificateCredential::from_pem(&pem, Default::default()).with_context(|| {
        format!(
            "{}: a PEM with the certificate and its private key",
            path.display()
        )
    })?;
    let begin = "-----BEGIN CERTIFICATE-----";
    let start = pem.find(begin).context("no CERTIFICATE block")? + begin.len();
    let end = pem[start..]
        .find("-----END CERTIFICATE-----")
        .context("no END CERTIFICATE")?;
    let b64: String = pem[start..start + end].split_whitespace().collect();
    Ok((b64, cred.thumbprint_sha1.clone()))
}

/// `(resource app id, role ids)` for the role values asked for, each checked against its
/// resource's catalog.
fn wanted(mde: &[String], graph: &[String]) -> Result<Vec<(String, Vec<String>)>> {
    let mut out = Vec::new();
    for (api, values) in [(Api::Mde, mde), (Api::Graph, graph)] {
        let mut ids = Vec::new();
        for v in values {
            let (found, r) = role(v)?;
            if found != api {
                bail!(
                    "'{v}' is a {} permission: give it with {}",
                    found.name(),
                    if found == Api::Mde {
                        "--permission"
                    } else {
                        "--graph-permission"
                    }
                );
            }
            ids.push(r.id.to_owned());
        }
        out.push((api.app_id().to_owned(), ids));
    }
    Ok(out)
}

/// What an existing app lacks of `want`, as a PATCH body, with what it changes.
fn missing(
    app: &Application,
    want: &[(String, Vec<String>)],
    redirect: &str,
    cert: Option<&(String, String)>,
) -> (Value, Vec<String>) {
    let mut body = json!({});
    let mut changed = Vec::new();
    if app.sign_in_audience.as_deref() != Some(MULTIPLE_ORGS) {
        body["signInAudience"] = json!(MULTIPLE_ORGS);
        changed.push(format!("signInAudience → {MULTIPLE_ORGS}"));
    }
    if !app.redirect_uris().iter().any(|u| u == redirect) {
        let mut uris = app.redirect_uris().to_vec();
        uris.push(redirect.to_owned());
        body["web"] = json!({"redirectUris": uris});
        changed.push(format!("redirect URI {redirect} added"));
    }
    // Every resource the app lists stays; missing roles are added to theirs.
    let mut access = app.role_access();
    let mut added = 0;
    for (resource, ids) in want {
        let have = app.role_ids(resource);
        for id in ids
            .iter()
            .filter(|i| !have.contains(&i.to_ascii_lowercase()))
        {
            match access
                .iter_mut()
                .find(|(r, _)| r.eq_ignore_ascii_case(resource))
            {
                Some((_, list)) => list.push(id.clone()),
                None => access.push((resource.clone(), vec![id.clone()])),
            }
            added += 1;
        }
    }
    if added > 0 {
        body["requiredResourceAccess"] = required_access(&access);
        changed.push(format!("{added} permission(s) added"));
    }
    if let Some((der, thumb)) = cert
        && !app.key_credentials.iter().any(|k| {
            k.custom_key_identifier
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case(thumb))
        })
    {
        let mut keys: Vec<Value> = app
            .key_credentials
            .iter()
            .map(|k| json!({"type": "AsymmetricX509Cert", "usage": "Verify", "keyId": k.key_id}))
            .collect();
        keys.push(key_credential(der));
        body["keyCredentials"] = Value::Array(keys);
        changed.push(format!("certificate {thumb} added"));
    }
    (body, changed)
}

pub async fn run(args: CreateArgs, g: &Global) -> Result<()> {
    let s = Session::open(g, &args.bootstrap)?;
    let c = s.config();
    let mde = if args.permissions.is_empty() {
        c.required_permissions.clone()
    } else {
        args.permissions.clone()
    };
    let graph = if args.graph_permissions.is_empty() {
        c.required_graph_permissions.clone()
    } else {
        args.graph_permissions.clone()
    };
    let want = wanted(&mde, &graph)?;
    let redirect = args
        .redirect_uri
        .clone()
        .unwrap_or_else(|| DEFAULT_REDIRECT.to_owned());
    let cert = args.certificate.as_ref().map(certificate).transpose()?;

    let found = s
        .graph
        .applications_named(&s.home, &args.name)
        .await
        .map_err(explain)?;
    if found.len() > 1 {
        ambiguous(&args.name, &found)?;
    }
    let (app, created, mut changes) = match found.into_iter().next() {
        None => {
            let new = NewApplication {
                display_name: args.name.clone(),
                redirect_uris: vec![redirect.clone()],
                roles: want.clone(),
                certificates: cert.iter().map(|(d, _)| d.clone()).collect(),
            };
            let app = s
                .graph
                .create_application(&s.home, &new)
                .await
                .map_err(explain)?;
            (app, true, vec!["registered".to_owned()])
        }
        Some(app) => {
            let (body, changed) = missing(&app, &want, &redirect, cert.as_ref());
            if changed.is_empty() {
                (app, false, Vec::new())
            } else {
                s.graph
                    .update_application(&s.home, &app.id, &body)
                    .await
                    .map_err(explain)?;
                let app = s.graph.application_by_app_id(&s.home, &app.app_id).await?;
                (app, false, changed)
            }
        }
    };

    // The home tenant's service principal and its roles: the "Grant admin consent" click.
    let sp = match s.graph.service_principal(&s.home, &app.app_id).await? {
        Some(sp) => sp,
        None => {
            changes.push("service principal created in the home tenant".into());
            s.graph
                .create_service_principal(&s.home, &app.app_id)
                .await?
        }
    };
    let mut warnings = Vec::new();
    for api in [Api::Mde, Api::Graph] {
        match grant_home(&s, &sp.id, api, &app.role_ids(api.app_id())).await {
            Ok(g) if !g.is_empty() => changes.push(format!("{} {} role(s) granted in the home tenant", g.len(), api.name())),
            Ok(_) => {}
            Err(e) => warnings.push(format!(
                "could not grant {} roles in the home tenant ({e}); the bootstrap app needs AppRoleAssignment.ReadWrite.All, or the home tenant's administrator consents by its link",
                api.name()
            )),
        }
    }

    // The credential: the certificate given, or a secret unless the config already
    // reads one of this app's.
    let configured = c
        .partner
        .client_id
        .to_string()
        .eq_ignore_ascii_case(&app.app_id);
    let credential = if let Some(pem) = &args.certificate {
        Some(CredentialRef::Certificate(std::path::absolute(pem)?))
    } else if configured
        && !app.password_credentials.is_empty()
        && c.credential(&s.loaded.path).is_ok()
    {
        None
    } else {
        let (key_id, file, _) = s.new_secret(&app, args.secret_years.unwrap_or(2)).await?;
        changes.push(format!("secret {} written to {}", key_id, file.display()));
        Some(CredentialRef::SecretFile(file))
    };
    let (mde_now, graph_now) = required_values(&app);
    set_partner_app(
        &s.loaded.path,
        app.app_id.parse().context("appId is not a GUID")?,
        credential.as_ref(),
        Some((&mde_now, &graph_now)),
    )?;

    let authority = c.authority();
    let links: Vec<(String, String)> = c
        .tenants
        .iter()
        .map(|t| {
            let url = ConsentLink {
                authority: &authority,
                client_id: &app.app_id,
                tenant: Some(&t.tenant),
                redirect_uri: None,
                state: None,
            }
            .seed();
            (t.name.clone(), url)
        })
        .collect();
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    match g.output {
        Output::Table => {
            let verb = if created {
                "registered"
            } else if changes.is_empty() {
                "unchanged"
            } else {
                "updated"
            };
            println!("{} {} ({verb})", app.display_name, app.app_id);
            for ch in changes.iter().filter(|c| *c != "registered") {
                println!("  {ch}");
            }
            println!("  config: {} points at it", s.loaded.path.display());
            if !links.is_empty() {
                println!("consent links (each customer's Global Administrator opens theirs):");
                for (name, url) in &links {
                    println!("  {name}: {url}");
                }
            }
            Ok(())
        }
        _ => print_json(&json!({
            "client_id": app.app_id,
            "object_id": app.id,
            "created": created,
            "changes": changes,
            "warnings": warnings,
            "consent_links": links.iter().map(|(n, u)| json!({"tenant": n, "url": u})).collect::<Vec<_>>(),
        })),
    }
}

//! `mdep demo`: the whole partner flow of Microsoft's "Partner access through Microsoft
//! Defender for Endpoint APIs" page, on an in-process emulator, in a few seconds.

use crate::context::{relative, table};
use crate::partner::{report, report_table};
use anyhow::{Context, Result, bail};
use clap::Args;
use mdep_auth::config::{TenantEntry, TokenVersion};
use mdep_auth::consent::ConsentLink;
use mdep_auth::{BrokerOptions, ClientCredential, Expectations, Secret, TokenBroker, Validator};
use mdep_emulator::directory::{NewAdmin, NewApp, NewTenant};
use mdep_emulator::server::{ServeOptions, TlsMode, serve};
use mdep_model::Cloud;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Leave the emulator running afterwards, with a config file to try every command.
    #[arg(long)]
    keep_running: bool,
}

const MDE: &str = "https://api.securitycenter.microsoft.com";
/// Microsoft Graph, where advanced hunting moved (`runHuntingQuery`).
const GRAPH: &str = "https://graph.microsoft.com";
/// The Microsoft Graph application permission for `runHuntingQuery`.
const GRAPH_HUNTING: &str = "ThreatHunting.Read.All";
const REDIRECT: &str = "https://portal.azure.com";

struct Customer {
    name: &'static str,
    domain: &'static str,
    password: &'static str,
    devices: u32,
    alerts: u32,
    id: String,
}

fn heading(n: usize, words: &str) {
    println!("\n{n}. {words}");
}

fn note(text: &str) {
    println!("   {text}");
}

/// Drives the consent pages as an administrator would: open the link, sign in, Accept.
async fn consent_via_pages(
    http: &reqwest::Client,
    link: &str,
    user: &str,
    password: &str,
) -> Result<HashMap<String, String>> {
    let session = |html: &str| -> Result<String> {
        let marker = r#"name="session" value=""#;
        let at = html.find(marker).context("the page has no session field")? + marker.len();
        Ok(html[at..].split('"').next().unwrap_or_default().to_owned())
    };
    let origin = link.split('/').take(3).collect::<Vec<_>>().join("/");
    let tenant_seg = link.split('/').nth(3).unwrap_or("common").to_owned();
    let page = http.get(link).send().await?.text().await?;
    let sid = session(&page)?;
    let consent = http
        .post(format!("{origin}/{tenant_seg}/login"))
        .form(&[
            ("session", sid.as_str()),
            ("login", user),
            ("passwd", password),
        ])
        .send()
        .await?
        .text()
        .await?;
    if !consent.contains("idBtn_Accept") {
        bail!("sign-in did not reach the consent page");
    }
    let sid = session(&consent)?;
    let done = http
        .post(format!("{origin}/{tenant_seg}/consent"))
        .form(&[("session", sid.as_str()), ("action", "accept")])
        .send()
        .await?;
    let location = done
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .context("Accept did not redirect")?
        .to_owned();
    let query = location.split_once('?').map_or("", |(_, q)| q);
    Ok(form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect())
}

/// Step 1 as `mdep app create` takes it: the partner's app-management app (holding
/// Application.ReadWrite.All in its home tenant) registers the connector through
/// Microsoft Graph — `POST /applications` (multi-tenant, the roles by their app-role ids),
/// `addPassword`, the home service principal. Returns its client id and secret.
async fn create_app_through_graph(
    emu: &mdep_emulator::Emulator,
    base: &str,
    ca: &std::path::Path,
    home: uuid::Uuid,
    required: &[String],
) -> Result<(String, String)> {
    use mdep_model::permissions::Api;
    let manager = emu.register_app(NewApp {
        client_id: None,
        name: "Fabrikam App Manager".into(),
        home_tenant: home,
        multi_tenant: false,
        redirect_uris: vec![],
        permissions: vec![
            "Application.ReadWrite.All".into(),
            "AppRoleAssignment.ReadWrite.All".into(),
        ],
    })?;
    emu.grant_consent(home, manager.client_id, None)?;
    let (_, manager_secret) = emu.add_secret(manager.client_id, None, None)?;
    let graph = mdep_api::GraphClient::new(
        mdep_auth::http_client(Some(ca)).map_err(anyhow::Error::msg)?,
        TokenBroker::new(
            BrokerOptions::new(
                Cloud::Global,
                base,
                manager.client_id.to_string(),
                ClientCredential::Secret(Secret::new(manager_secret)),
                GRAPH,
                TokenVersion::V2,
            ),
            mdep_auth::http_client(Some(ca)).map_err(anyhow::Error::msg)?,
        ),
        mdep_api::ClientOptions::graph(base, GRAPH),
    );
    let home = mdep_api::Tenant {
        name: "Fabrikam".into(),
        id: home.to_string(),
    };
    let ids = |api: Api, values: &[&str]| -> (String, Vec<String>) {
        let ids = values
            .iter()
            .filter_map(|v| api.role(v).map(|r| r.id.to_owned()))
            .collect();
        (api.app_id().to_owned(), ids)
    };
    let mde: Vec<&str> = required.iter().map(String::as_str).collect();
    let app = graph
        .create_application(
            &home,
            &mdep_api::graph::apps::NewApplication {
                display_name: "Fabrikam SOC Connector".into(),
                redirect_uris: vec![REDIRECT.into()],
                roles: vec![ids(Api::Mde, &mde), ids(Api::Graph, &[GRAPH_HUNTING])],
                certificates: vec![],
            },
        )
        .await
        .context("POST /v1.0/applications")?;
    let end = (time::OffsetDateTime::now_utc() + time::Duration::days(365))
        .format(&time::format_description::well_known::Rfc3339)?;
    let password = graph
        .add_password(&home, &app.id, "mdep demo", &end)
        .await
        .context("addPassword")?;
    graph
        .create_service_principal(&home, &app.app_id)
        .await
        .context("POST /v1.0/servicePrincipals")?;
    let secret = password
        .secret_text
        .context("addPassword gave no secretText")?
        .expose()
        .to_owned();
    Ok((app.app_id, secret))
}

pub async fn run(args: DemoArgs) -> Result<()> {
    let started = Instant::now();
    let dir = tempfile::Builder::new().prefix("mdep-demo-").tempdir()?;
    let running = serve(ServeOptions {
        listen: "127.0.0.1:0".parse()?,
        scenario: None,
        db: None,
        tls: TlsMode::Auto,
        state_dir: dir.path().join("state"),
    })
    .await
    .context("starting the emulator")?;
    let base = running.base_url.clone();
    let ca = running.ca_file.clone().context("no CA")?;
    let emu = running.emulator.clone();
    println!(
        "mdep demo: the partner flow of \"Partner access through Microsoft Defender for Endpoint APIs\","
    );
    println!(
        "on a local emulator of Entra ID and the Defender API at {base} (HTTPS, throw-away CA)."
    );

    // The partner and its customers.
    let partner = emu.create_tenant(NewTenant {
        id: None,
        name: "Fabrikam".into(),
        domain: Some("fabrikam.onmicrosoft.com".into()),
        admin: NewAdmin {
            user: "admin@fabrikam.onmicrosoft.com".into(),
            password: "Fabrikam-Demo-1!".into(),
        },
        devices: 0,
        alerts: 0,
        seed: 0,
        licence: Default::default(),
    })?;
    let mut customers = vec![
        Customer {
            name: "Contoso",
            domain: "contoso.onmicrosoft.com",
            password: "Contoso-Demo-1!",
            devices: 24,
            alerts: 40,
            id: String::new(),
        },
        Customer {
            name: "Woodgrove",
            domain: "woodgrove.onmicrosoft.com",
            password: "Woodgrove-Demo-1!",
            devices: 16,
            alerts: 25,
            id: String::new(),
        },
        Customer {
            name: "Northwind",
            domain: "northwind.onmicrosoft.com",
            password: "Northwind-Demo-1!",
            devices: 10,
            alerts: 12,
            id: String::new(),
        },
    ];
    for (i, c) in customers.iter_mut().enumerate() {
        let t = emu.create_tenant(NewTenant {
            id: None,
            name: c.name.into(),
            domain: Some(c.domain.into()),
            admin: NewAdmin {
                user: format!("admin@{}", c.domain),
                password: c.password.into(),
            },
            devices: c.devices,
            alerts: c.alerts,
            seed: 7 + i as u64,
            licence: Default::default(),
        })?;
        c.id = t.id.to_string();
    }

    heading(1, "Create the multitenant app");
    let required = vec![
        "Alert.Read.All".to_owned(),
        "Machine.Read.All".to_owned(),
        "Machine.Isolate".to_owned(),
    ];
    let (client_id, secret) =
        create_app_through_graph(&emu, &base, &ca, partner.id, &required).await?;
    note(
        "Fabrikam registered \"Fabrikam SOC Connector\" through Microsoft Graph (POST /v1.0/applications,",
    );
    note(&format!(
        "accounts in any organizational directory), application id {client_id}, WindowsDefenderATP application"
    ));
    note(&format!(
        "permissions {}, Microsoft Graph {GRAPH_HUNTING}, and a client secret (addPassword), as `mdep app create` does.",
        required.join(", ")
    ));
    note(&format!(
        "Customers: {}.",
        customers
            .iter()
            .map(|c| format!("{} ({} devices, {} alerts)", c.name, c.devices, c.alerts))
            .collect::<Vec<_>>()
            .join(", ")
    ));

    heading(
        2,
        "Add the application to your customer's tenant. Consent link is of the form:",
    );
    let link = |tenant: Option<&str>, state: Option<&str>| {
        ConsentLink {
            authority: &base,
            client_id: &client_id,
            tenant,
            redirect_uri: None,
            state,
        }
        .seed()
    };
    for c in &customers {
        note(&format!("{:<10} {}", c.name, link(Some(&c.id), None)));
    }
    let pem = std::fs::read(&ca)?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .tls_certs_only([reqwest::Certificate::from_pem(&pem)?])
        .user_agent(concat!(
            "MdePartner-Fabrikam-SOCConnector/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()?;

    heading(
        3,
        "After clicking on the consent link, sign in with the Global Administrator of the customer's tenant and consent the application.",
    );
    for c in customers.iter().take(2) {
        let admin = format!("admin@{}", c.domain);
        let landing =
            consent_via_pages(&http, &link(None, Some(c.name)), &admin, c.password).await?;
        if landing.get("admin_consent").map(String::as_str) != Some("True") {
            bail!(
                "consent for {} did not come back with admin_consent=True: {landing:?}",
                c.name
            );
        }
        note(&format!(
            "{:<10} admin@{} signed in and clicked Accept -> {REDIRECT}?admin_consent=True&tenant={}",
            c.name,
            c.domain,
            landing.get("tenant").map_or("?", String::as_str)
        ));
    }
    note(&format!("{:<10} has not consented yet.", customers[2].name));

    heading(
        4,
        "Get an access token example: use the customer's tenant ID on the token acquisition.",
    );
    // A fresh broker (an empty token cache) is what a new run of `mdep` would have.
    let new_broker = || -> Result<Arc<TokenBroker>> {
        Ok(TokenBroker::new(
            BrokerOptions::new(
                Cloud::Global,
                &base,
                &client_id,
                ClientCredential::Secret(Secret::new(secret.clone())),
                MDE,
                TokenVersion::V2,
            ),
            mdep_auth::http_client(Some(&ca)).map_err(anyhow::Error::msg)?,
        ))
    };
    let broker = new_broker()?;
    let mut tokens = Vec::new();
    for c in &customers {
        match broker.token(&c.id, c.name).await {
            Ok(t) => {
                note(&format!(
                    "{:<10} token ok, expires {}",
                    c.name,
                    relative(t.expires_on)
                ));
                tokens.push((c, t));
            }
            Err(e) => note(&format!("{:<10} {e}", c.name)),
        }
    }

    heading(
        5,
        "Validate the token: confirm you get a 'roles' claim with the desired permissions; the \"tid\" claim is the tenant ID the token belongs to.",
    );
    let validator = Arc::new(Validator::new(
        mdep_auth::http_client(Some(&ca)).map_err(anyhow::Error::msg)?,
        &base,
    ));
    let want = Expectations {
        tenant: None,
        audiences: vec![MDE.into()],
        required_roles: vec![],
        skew: Duration::from_secs(300),
    };
    for (c, t) in &tokens {
        let v = validator
            .validate(
                t.token.expose(),
                &Expectations {
                    tenant: Some(c.id.clone()),
                    ..want.clone()
                },
            )
            .await?;
        note(&format!(
            "{:<10} signature, issuer, audience ok; tid {}; roles {}",
            c.name,
            v.tid().unwrap_or_else(|| "?".into()),
            v.roles().join(", ")
        ));
    }

    heading(
        6,
        "Use the token to access Microsoft Defender for Endpoint API: alerts across all consented tenants.",
    );
    let mut rows = Vec::new();
    for (c, t) in &tokens {
        let resp = http
            .get(format!("{base}/api/alerts?$top=3"))
            .bearer_auth(t.token.expose())
            .send()
            .await?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("GET /api/alerts for {} answered {status}: {body}", c.name);
        }
        for a in body
            .get("value")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let s = |k: &str| a.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
            rows.push(vec![
                c.name.to_owned(),
                s("id"),
                s("severity"),
                s("status"),
                s("title"),
            ]);
        }
    }
    for line in table(&["TENANT", "ALERT", "SEVERITY", "STATUS", "TITLE"], &rows).lines() {
        note(line);
    }
    note(&format!(
        "({} alerts shown: GET /api/alerts?$top=3 with each consented tenant's token)",
        rows.len()
    ));

    heading(
        7,
        "Every time you add permission you must select on Grant consent for the new permission to take effect.",
    );
    emu.add_permission(client_id.parse()?, "Ti.ReadWrite.All")?;
    let mut required_now = required.clone();
    required_now.push("Ti.ReadWrite.All".into());
    note(
        "Fabrikam added Ti.ReadWrite.All (\"Read and write all IOCs\") to the app. The permissions report (`mdep tenants check`):",
    );
    let fresh = new_broker()?;
    let entries: Vec<TenantEntry> = customers
        .iter()
        .map(|c| TenantEntry {
            name: c.name.into(),
            tenant: c.id.clone(),
            tags: vec![],
        })
        .collect();
    let rows = report(
        &fresh,
        validator.clone(),
        want.clone(),
        entries,
        required_now.clone(),
        crate::partner::GraphCheck {
            resource: mdep_model::Cloud::Global.graph_host().to_owned(),
            required: vec![],
        },
    )
    .await?;
    for line in report_table(&rows).lines() {
        note(line);
    }
    let contoso = &customers[0];
    consent_via_pages(
        &http,
        &link(Some(&contoso.id), None),
        &format!("admin@{}", contoso.domain),
        contoso.password,
    )
    .await?;
    let again = new_broker()?;
    let t = again.token(&contoso.id, contoso.name).await?;
    let v = validator
        .validate(
            t.token.expose(),
            &Expectations {
                tenant: Some(contoso.id.clone()),
                required_roles: required_now.clone(),
                ..want.clone()
            },
        )
        .await?;
    note(&format!(
        "Contoso's administrator consented again: its new token carries {}.",
        v.roles().join(", ")
    ));

    heading(
        8,
        "Advanced hunting has moved to Microsoft Graph: the same app and consent, a token for https://graph.microsoft.com, POST /v1.0/security/runHuntingQuery.",
    );
    let graph = mdep_api::GraphClient::new(
        mdep_auth::http_client(Some(&ca)).map_err(anyhow::Error::msg)?,
        new_broker()?,
        mdep_api::ClientOptions::graph(&base, GRAPH),
    );
    let query = "AlertInfo | summarize Alerts = count() by Severity | order by Alerts desc";
    for (c, _) in &tokens {
        let tenant = mdep_api::Tenant {
            name: c.name.into(),
            id: c.id.clone(),
        };
        let r = graph
            .hunt(&tenant, query, None)
            .await
            .with_context(|| format!("runHuntingQuery for {}", c.name))?;
        let mut total = 0;
        let by_severity: Vec<String> = r
            .results
            .iter()
            .map(|row| {
                let n = row.get("Alerts").and_then(Value::as_u64).unwrap_or(0);
                total += n;
                format!(
                    "{} {n}",
                    row.get("Severity").and_then(Value::as_str).unwrap_or("?")
                )
            })
            .collect();
        note(&format!(
            "{:<10} {total} alerts by severity: {}",
            c.name,
            by_severity.join(", ")
        ));
    }
    note(&format!(
        "({query}, with each consented tenant's Graph token)"
    ));

    let elapsed = started.elapsed();
    println!(
        "\nDone in {:.1} s: 3 customer tenants, 2 consented through the consent pages, 1 re-consented.",
        elapsed.as_secs_f64()
    );
    println!("\nNext steps");
    println!(
        "  - with your real tenants: `mdep config init --client-id <your app id>`, `mdep tenants add`, `mdep consent-url`, `mdep tenants check`"
    );
    println!(
        "  - the emulator for your own tests: `mdep emulator serve --scenario examples/scenario.toml` (docs/scenario.md)"
    );
    println!(
        "  - `mdep demo --keep-running` leaves this emulator up with a config to try every command against it"
    );

    if args.keep_running {
        let kept = dir.keep();
        let config = kept.join("config.toml");
        let text = mdep_auth::config::template(Some(&client_id))
            .replace(
                "# authority_host = \"https://127.0.0.1:8443\"",
                &format!("authority_host = \"{base}\""),
            )
            .replace(
                "# api_base = \"https://127.0.0.1:8443\"",
                &format!("api_base = \"{base}\""),
            )
            .replace(
                "# graph_base = \"https://127.0.0.1:8443\"",
                &format!("graph_base = \"{base}\""),
            )
            .replace(
                "# ca_file = \"~/.local/state/mdep/emulator/ca.pem\"",
                &format!("ca_file = \"{}\"", ca.display()),
            )
            .replace(
                "required_permissions = [\"Alert.Read.All\", \"Machine.Read.All\"]",
                &format!("required_permissions = {:?}", required_now),
            );
        let mut text = text;
        for c in &customers {
            text.push_str(&format!(
                "\n[[tenants]]\nname = \"{}\"\ntenant = \"{}\"\n",
                c.name, c.id
            ));
        }
        mdep_auth::config::write_private(&config, &text)?;
        let db = kept.join("mdep.db");
        let ui = overview(&config, &secret, &db).await?;
        println!("\nThe emulator keeps running at {base}. In another shell:");
        println!("  export MDEP_CONFIG={}", config.display());
        println!("  export MDEP_CLIENT_SECRET='{secret}'");
        println!(
            "  export MDEP_EMULATOR_STATE_DIR={}",
            kept.join("state").display()
        );
        println!("  export MDEP_DB=sqlite:{}", db.display());
        println!("  mdep tenants check");
        println!(
            "\nThe customers are synced into {} and the web overview is at\n  {}",
            db.display(),
            ui.link
        );
        println!(
            "Press Ctrl-C to stop it (files stay in {}).",
            kept.display()
        );
        use std::io::Write;
        std::io::stdout().flush()?;
        let _ = tokio::signal::ctrl_c().await;
        ui.shutdown().await?;
    }
    running.shutdown().await;
    Ok(())
}

/// `mdep tenants check` and `mdep sync` of the demo's customers into `db` (this binary,
/// with the demo's configuration), then `mdep ui` over it.
async fn overview(
    config: &std::path::Path,
    secret: &str,
    db: &std::path::Path,
) -> Result<crate::ui_cmd::Running> {
    let exe = std::env::current_exe().context("finding this mdep")?;
    let url = format!("sqlite:{}", db.display());
    for args in [
        vec!["tenants", "check", "--db", url.as_str()],
        vec!["sync", "--all-tenants", "--db", url.as_str()],
    ] {
        let out = tokio::process::Command::new(&exe)
            .args(&args)
            .env("MDEP_CONFIG", config)
            .env("MDEP_CLIENT_SECRET", secret)
            .env_remove("MDEP_DB")
            .output()
            .await
            .with_context(|| format!("running mdep {}", args.join(" ")))?;
        // 3: some tenants are not ready or failed, which the demo shows on purpose.
        if !matches!(out.status.code(), Some(0 | 3)) {
            bail!(
                "mdep {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    crate::ui_cmd::start(
        &mdep_sync::Location::Sqlite(db.to_path_buf()),
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
}

//! `mdep emulator …`: serve the emulator, and drive its admin API.

use crate::run::output::print_json;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use mdep_emulator::server::{self, ServeOptions, TlsMode};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum EmulatorCommand {
    /// Serve the emulator (Entra ID token, discovery and consent endpoints, admin API).
    #[command(
        after_help = "Examples:\n  mdep emulator serve\n  mdep emulator serve --listen 127.0.0.1:0 --scenario examples/scenario.toml --db emulator.db\n  mdep emulator serve --tls off --listen 127.0.0.1:8080"
    )]
    Serve(ServeArgs),
    /// Tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// App registrations, their secrets, certificates and permissions.
    #[command(subcommand)]
    App(AppCommand),
    /// Admin consent: grant or revoke an app in a tenant.
    #[command(subcommand)]
    Consent(ConsentCommand),
    /// Token signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Print the emulator's state (tenants, apps, consents, keys) as JSON.
    #[command(after_help = "Example:\n  mdep emulator state")]
    State(Conn),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TlsArg {
    /// HTTPS with a local CA created once in the state directory.
    Auto,
    /// Plain HTTP (Microsoft clients refuse it; for injected transports and benchmarks).
    Off,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// Scenario file (TOML) with tenants, apps and consents; see docs/scenario.md.
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// SQLite database file; all state survives a restart. In memory when absent.
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,
    /// TLS mode.
    #[arg(long, value_enum, default_value = "auto")]
    tls: TlsArg,
    /// Directory for ca.pem, the server certificate and ready.json.
    #[arg(long, value_name = "DIR", env = "MDEP_EMULATOR_STATE_DIR")]
    state_dir: Option<PathBuf>,
}

/// How to reach a running emulator's admin API.
#[derive(Debug, Args, Clone)]
pub struct Conn {
    /// Base URL of the emulator; read from ready.json in the state directory when absent.
    #[arg(long, env = "MDEP_EMULATOR_URL", global = true)]
    url: Option<String>,
    /// Admin key; read from ready.json when absent.
    #[arg(
        long,
        env = "MDEP_EMULATOR_ADMIN_KEY",
        hide_env_values = true,
        global = true
    )]
    admin_key: Option<String>,
    /// CA certificate to trust; read from ready.json when absent.
    #[arg(long, env = "MDEP_EMULATOR_CA_FILE", global = true)]
    ca_file: Option<PathBuf>,
    /// The emulator's state directory (where ready.json is).
    #[arg(
        long,
        value_name = "DIR",
        env = "MDEP_EMULATOR_STATE_DIR",
        global = true
    )]
    state_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant with its Global Administrator.
    #[command(
        after_help = "Example:\n  mdep emulator tenant add --name Contoso --domain contoso.onmicrosoft.com \\\n      --admin-user admin@contoso.onmicrosoft.com --admin-password 'P@ssw0rd!'"
    )]
    Add {
        /// Display name.
        #[arg(long)]
        name: String,
        /// Tenant id (GUID); generated when absent.
        #[arg(long)]
        id: Option<String>,
        /// Verified domain; <name>.onmicrosoft.com when absent.
        #[arg(long)]
        domain: Option<String>,
        /// The Global Administrator's user principal name.
        #[arg(long)]
        admin_user: String,
        /// The administrator's password.
        #[arg(long, env = "MDEP_EMULATOR_ADMIN_PASSWORD", hide_env_values = true)]
        admin_password: String,
        /// Devices the Defender data generator creates.
        #[arg(long, default_value_t = 0)]
        devices: u32,
        /// Alerts the Defender data generator creates.
        #[arg(long, default_value_t = 0)]
        alerts: u32,
        /// Generator seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// The tenant's Defender licence: mde-p2, mde-p1 or defender-for-business (no
        /// advanced hunting in the last two).
        #[arg(long, default_value = "mde-p2")]
        licence: mdep_model::Licence,
        #[command(flatten)]
        conn: Conn,
    },
    /// Add new alerts to a tenant's Defender data, stamped now (on existing devices).
    #[command(
        after_help = "Example:\n  mdep emulator tenant add-alerts 00000000-0000-4000-8000-000000000001 --count 5"
    )]
    AddAlerts {
        /// Tenant id (GUID).
        tenant: String,
        /// How many (1 to 10000).
        #[arg(long, default_value_t = 1)]
        count: u32,
        #[command(flatten)]
        conn: Conn,
    },
    /// Add new devices to a tenant's Defender data, first and last seen now.
    #[command(
        after_help = "Example:\n  mdep emulator tenant add-machines 00000000-0000-4000-8000-000000000001 --count 2"
    )]
    AddMachines {
        /// Tenant id (GUID).
        tenant: String,
        /// How many (1 to 10000).
        #[arg(long, default_value_t = 1)]
        count: u32,
        #[command(flatten)]
        conn: Conn,
    },
}

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Register an app (multi-tenant unless --single-tenant).
    #[command(
        after_help = "Example:\n  mdep emulator app register --name 'Fabrikam SOC' --home-tenant <GUID> \\\n      --redirect-uri https://portal.azure.com --permission Alert.Read.All"
    )]
    Register {
        /// Display name.
        #[arg(long)]
        name: String,
        /// The publisher's tenant id.
        #[arg(long)]
        home_tenant: String,
        /// Client id (GUID); generated when absent.
        #[arg(long)]
        client_id: Option<String>,
        /// Accounts in this directory only.
        #[arg(long)]
        single_tenant: bool,
        /// Redirect URI (repeatable).
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// WindowsDefenderATP application permission (repeatable).
        #[arg(long = "permission")]
        permissions: Vec<String>,
        #[command(flatten)]
        conn: Conn,
    },
    /// Client secrets.
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Certificate credentials.
    #[command(subcommand)]
    Cert(CertCommand),
    /// Required permissions (tenants must consent again to get new ones).
    #[command(subcommand)]
    Permission(PermissionCommand),
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Add a secret; its value is printed once.
    #[command(
        after_help = "Example:\n  mdep emulator app secret add --app <CLIENT_ID> --expires 2027-12-31T00:00:00Z"
    )]
    Add {
        /// Client id.
        #[arg(long)]
        app: String,
        /// Expiry (RFC 3339); never when absent.
        #[arg(long)]
        expires: Option<String>,
        #[command(flatten)]
        conn: Conn,
    },
    /// Remove a secret by its id.
    #[command(
        after_help = "Example:\n  mdep emulator app secret remove --app <CLIENT_ID> --key-id <SECRET_ID>"
    )]
    Remove {
        /// Client id.
        #[arg(long)]
        app: String,
        /// Secret id.
        #[arg(long)]
        key_id: String,
        #[command(flatten)]
        conn: Conn,
    },
}

#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Upload a certificate's public part (PEM).
    #[command(
        after_help = "Example:\n  mdep emulator app cert add --app <CLIENT_ID> --pem certs/soc.crt"
    )]
    Add {
        /// Client id.
        #[arg(long)]
        app: String,
        /// PEM certificate file.
        #[arg(long)]
        pem: PathBuf,
        #[command(flatten)]
        conn: Conn,
    },
    /// Remove a certificate by its key id.
    #[command(
        after_help = "Example:\n  mdep emulator app cert remove --app <CLIENT_ID> --key-id <KEY_ID>"
    )]
    Remove {
        /// Client id.
        #[arg(long)]
        app: String,
        /// Key id.
        #[arg(long)]
        key_id: String,
        #[command(flatten)]
        conn: Conn,
    },
}

#[derive(Debug, Subcommand)]
pub enum PermissionCommand {
    /// Add a required WindowsDefenderATP application permission.
    #[command(
        after_help = "Example:\n  mdep emulator app permission add --app <CLIENT_ID> --permission Machine.Isolate"
    )]
    Add {
        /// Client id.
        #[arg(long)]
        app: String,
        /// Permission value, e.g. Machine.Isolate.
        #[arg(long)]
        permission: String,
        #[command(flatten)]
        conn: Conn,
    },
    /// Remove a required permission.
    #[command(
        after_help = "Example:\n  mdep emulator app permission remove --app <CLIENT_ID> --permission Machine.Isolate"
    )]
    Remove {
        /// Client id.
        #[arg(long)]
        app: String,
        /// Permission value.
        #[arg(long)]
        permission: String,
        #[command(flatten)]
        conn: Conn,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConsentCommand {
    /// Grant admin consent (as the tenant's administrator clicking Accept would).
    #[command(
        after_help = "Example:\n  mdep emulator consent grant --tenant <TENANT_ID> --app <CLIENT_ID>"
    )]
    Grant {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Client id.
        #[arg(long)]
        app: String,
        /// Roles to grant (repeatable); the app's permissions when absent.
        #[arg(long = "role")]
        roles: Vec<String>,
        #[command(flatten)]
        conn: Conn,
    },
    /// Revoke consent (deletes the service principal: tokens fail with AADSTS700016).
    #[command(
        after_help = "Example:\n  mdep emulator consent revoke --tenant <TENANT_ID> --app <CLIENT_ID>"
    )]
    Revoke {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Client id.
        #[arg(long)]
        app: String,
        #[command(flatten)]
        conn: Conn,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Rotate: the next key signs, the old one stays published for the grace period.
    #[command(after_help = "Example:\n  mdep emulator keys rotate")]
    Rotate(Conn),
}

pub async fn run(cmd: EmulatorCommand) -> Result<()> {
    match cmd {
        EmulatorCommand::Serve(args) => serve(args).await,
        EmulatorCommand::State(conn) => print(admin(&conn, "GET", "/_emulator/state", None).await?),
        EmulatorCommand::Tenant(TenantCommand::Add {
            name,
            id,
            domain,
            admin_user,
            admin_password,
            devices,
            alerts,
            seed,
            licence,
            conn,
        }) => {
            let body = json!({"id": id, "name": name, "domain": domain, "admin": {"user": admin_user, "password": admin_password}, "devices": devices, "alerts": alerts, "seed": seed, "licence": licence});
            print(admin(&conn, "POST", "/_emulator/tenants", Some(strip_nulls(body))).await?)
        }
        EmulatorCommand::Tenant(TenantCommand::AddAlerts {
            tenant,
            count,
            conn,
        }) => add_generated(&conn, &tenant, "alerts", count).await,
        EmulatorCommand::Tenant(TenantCommand::AddMachines {
            tenant,
            count,
            conn,
        }) => add_generated(&conn, &tenant, "machines", count).await,
        EmulatorCommand::App(AppCommand::Register {
            name,
            home_tenant,
            client_id,
            single_tenant,
            redirect_uris,
            permissions,
            conn,
        }) => {
            let body = json!({"client_id": client_id, "name": name, "home_tenant": home_tenant, "multi_tenant": !single_tenant, "redirect_uris": redirect_uris, "permissions": permissions});
            print(admin(&conn, "POST", "/_emulator/apps", Some(strip_nulls(body))).await?)
        }
        EmulatorCommand::App(AppCommand::Secret(SecretCommand::Add { app, expires, conn })) => {
            let v = admin(
                &conn,
                "POST",
                &format!("/_emulator/apps/{}/secrets", seg(&app)),
                Some(strip_nulls(json!({"expires": expires}))),
            )
            .await?;
            eprintln!("The secret's value is shown now only; store it safely.");
            print(v)
        }
        EmulatorCommand::App(AppCommand::Secret(SecretCommand::Remove { app, key_id, conn })) => {
            admin(
                &conn,
                "DELETE",
                &format!("/_emulator/apps/{}/secrets/{}", seg(&app), seg(&key_id)),
                None,
            )
            .await?;
            println!("removed secret {key_id}");
            Ok(())
        }
        EmulatorCommand::App(AppCommand::Cert(CertCommand::Add { app, pem, conn })) => {
            let pem_text = std::fs::read_to_string(&pem)
                .with_context(|| format!("reading {}", pem.display()))?;
            print(
                admin(
                    &conn,
                    "POST",
                    &format!("/_emulator/apps/{}/certificates", seg(&app)),
                    Some(json!({"pem": pem_text})),
                )
                .await?,
            )
        }
        EmulatorCommand::App(AppCommand::Cert(CertCommand::Remove { app, key_id, conn })) => {
            admin(
                &conn,
                "DELETE",
                &format!(
                    "/_emulator/apps/{}/certificates/{}",
                    seg(&app),
                    seg(&key_id)
                ),
                None,
            )
            .await?;
            println!("removed certificate {key_id}");
            Ok(())
        }
        EmulatorCommand::App(AppCommand::Permission(PermissionCommand::Add {
            app,
            permission,
            conn,
        })) => print(
            admin(
                &conn,
                "POST",
                &format!("/_emulator/apps/{}/permissions", seg(&app)),
                Some(json!({"permission": permission})),
            )
            .await?,
        ),
        EmulatorCommand::App(AppCommand::Permission(PermissionCommand::Remove {
            app,
            permission,
            conn,
        })) => print(
            admin(
                &conn,
                "DELETE",
                &format!(
                    "/_emulator/apps/{}/permissions/{}",
                    seg(&app),
                    seg(&permission)
                ),
                None,
            )
            .await?,
        ),
        EmulatorCommand::Consent(ConsentCommand::Grant {
            tenant,
            app,
            roles,
            conn,
        }) => {
            let body = json!({"tenant": tenant, "app": app, "roles": if roles.is_empty() { Value::Null } else { json!(roles) }});
            print(
                admin(
                    &conn,
                    "POST",
                    "/_emulator/consents",
                    Some(strip_nulls(body)),
                )
                .await?,
            )
        }
        EmulatorCommand::Consent(ConsentCommand::Revoke { tenant, app, conn }) => {
            admin(
                &conn,
                "DELETE",
                &format!("/_emulator/consents/{}/{}", seg(&tenant), seg(&app)),
                None,
            )
            .await?;
            println!("revoked consent of app {app} in tenant {tenant}");
            Ok(())
        }
        EmulatorCommand::Keys(KeysCommand::Rotate(conn)) => {
            print(admin(&conn, "POST", "/_emulator/keys/rotate", None).await?)
        }
    }
}

fn seg(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~') {
                vec![c]
            } else {
                format!("%{:02X}", c as u32 & 0xff).chars().collect()
            }
        })
        .collect()
}

fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.into_iter().filter(|(_, v)| !v.is_null()).collect()),
        other => other,
    }
}

/// Adds `count` generated `entity` (alerts or machines) to a tenant's Defender data.
async fn add_generated(conn: &Conn, tenant: &str, entity: &str, count: u32) -> Result<()> {
    let path = format!("/_emulator/tenants/{}/defender/{entity}", seg(tenant));
    print(admin(conn, "POST", &path, Some(json!({ "count": count }))).await?)
}

fn print(v: Value) -> Result<()> {
    print_json(&v)
}

async fn serve(args: ServeArgs) -> Result<()> {
    let state_dir = args.state_dir.unwrap_or_else(server::default_state_dir);
    if let Some(db) = &args.db
        && let Some(parent) = db.parent().filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let opts = ServeOptions {
        listen: args.listen,
        scenario: args.scenario,
        db: args.db.clone(),
        tls: match args.tls {
            TlsArg::Auto => TlsMode::Auto,
            TlsArg::Off => TlsMode::Off,
        },
        state_dir,
    };
    let mut running = server::serve(opts).await.context("starting the emulator")?;
    println!("mdep emulator listening on {}", running.base_url);
    if let Some(ca) = &running.ca_file {
        println!("  CA certificate: {}", ca.display());
    }
    println!("  ready file:     {}", running.ready_file.display());
    println!(
        "  database:       {}",
        args.db.as_ref().map_or_else(
            || "in memory (state is lost on exit; use --db FILE to keep it)".to_owned(),
            |p| p.display().to_string()
        )
    );
    let settings = running.emulator.settings();
    if settings.admin_key_generated {
        println!(
            "  admin key:      {} (generated; also in ready.json)",
            settings.admin_key.expose()
        );
    }
    if let Some(s) = &running.applied {
        println!(
            "  scenario:       {} tenants, {} apps, {} consents applied ({} already present)",
            s.tenants, s.apps, s.consents, s.skipped
        );
    }
    let (tenants, apps) = {
        let d = running.emulator.directory();
        (d.tenants.len(), d.apps.len())
    };
    println!("  directory:      {tenants} tenants, {apps} apps");
    use std::io::Write;
    std::io::stdout().flush()?;
    tokio::select! {
        r = running.wait() => {
            r.context("the emulator stopped")?;
            bail!("the emulator stopped unexpectedly");
        }
        _ = shutdown_signal() => {}
    }
    println!("shutting down");
    running.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

struct Target {
    url: String,
    key: String,
    ca: Option<PathBuf>,
}

fn target(conn: &Conn) -> Result<Target> {
    let ready: Option<Value> = if conn.url.is_none() || conn.admin_key.is_none() {
        let dir = conn
            .state_dir
            .clone()
            .unwrap_or_else(server::default_state_dir);
        let path = dir.join("ready.json");
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!("no --url/--admin-key given and {} cannot be read: is `mdep emulator serve` running with this state directory?", path.display())
        })?;
        Some(
            serde_json::from_str(&text)
                .with_context(|| format!("{} is not valid JSON", path.display()))?,
        )
    } else {
        None
    };
    let from_ready = |k: &str| {
        ready
            .as_ref()
            .and_then(|r| r.get(k))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let url = conn
        .url
        .clone()
        .or_else(|| from_ready("base_url"))
        .context("the emulator URL is unknown (--url)")?;
    let key = conn
        .admin_key
        .clone()
        .or_else(|| from_ready("admin_key"))
        .context("the admin key is unknown (--admin-key)")?;
    let ca = conn
        .ca_file
        .clone()
        .or_else(|| from_ready("ca_file").map(PathBuf::from));
    Ok(Target {
        url: url.trim_end_matches('/').to_owned(),
        key,
        ca,
    })
}

async fn admin(conn: &Conn, method: &str, path: &str, body: Option<Value>) -> Result<Value> {
    let t = target(conn)?;
    let mut builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    if let Some(ca) = &t.ca {
        let pem = std::fs::read(ca).with_context(|| format!("reading CA file {}", ca.display()))?;
        let cert = reqwest::Certificate::from_pem(&pem)
            .with_context(|| format!("{} is not a PEM certificate", ca.display()))?;
        builder = builder.tls_certs_only([cert]);
    }
    let client = builder.build()?;
    let url = format!("{}{path}", t.url);
    let mut req = match method {
        "GET" => client.get(&url),
        "POST" => client.post(&url),
        "DELETE" => client.delete(&url),
        other => bail!("unsupported method {other}"),
    }
    .bearer_auth(&t.key);
    if let Some(b) = body {
        req = req.json(&b);
    } else if method == "POST" {
        req = req.header("content-type", "application/json").body("{}");
    }
    let resp = req.send().await.with_context(|| format!("calling {url}"))?;
    let status = resp.status();
    let text = resp.text().await?;
    if !status.is_success() {
        let msg = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| {
                v.pointer("/error/message")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or(text);
        bail!("the emulator answered {status}: {msg}");
    }
    if text.is_empty() {
        return Ok(Value::Null);
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

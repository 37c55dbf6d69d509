//! Partner commands: `mdep config`, `mdep tenants`, `mdep consent-url`, `mdep token`.

use crate::context::{Global, Output, Partner, read_token, relative, show_time, table};
use crate::run::exit::{NotReady, some_failed};
use crate::run::output::print_json;
use crate::run::select::ApiChoice;
use crate::sync_cmds::DbArg;
use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use mdep_auth::config::{self, TenantEntry};
use mdep_auth::consent::ConsentLink;
use mdep_auth::inspect;
use serde_json::{Value, json};

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Write a commented starting configuration (mode 600).
    #[command(
        after_help = "Example:\n  mdep config init --client-id d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f70"
    )]
    Init {
        /// The partner app's client id.
        #[arg(long)]
        client_id: Option<String>,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Print the configuration file's path.
    #[command(after_help = "Example:\n  mdep config path")]
    Path,
    /// Check the configuration and show the endpoints it resolves to (never the secret).
    #[command(after_help = "Example:\n  mdep config show -o json")]
    Show,
}

#[derive(Debug, Subcommand)]
pub enum TenantsCommand {
    /// Add a customer tenant.
    #[command(
        after_help = "Example:\n  mdep tenants add Contoso --tenant contoso.onmicrosoft.com --tag eu"
    )]
    Add {
        /// A short name for the tenant.
        name: String,
        /// Tenant id (GUID) or verified domain.
        #[arg(long)]
        tenant: String,
        /// Tag (repeatable).
        #[arg(long = "tag")]
        tags: Vec<String>,
    },
    /// Remove a tenant by name, id or domain.
    #[command(after_help = "Example:\n  mdep tenants remove Contoso")]
    Remove {
        /// Name, id or domain.
        name: String,
    },
    /// List configured tenants.
    #[command(after_help = "Example:\n  mdep tenants list -o json")]
    List,
    /// The permissions report: per tenant, token ok or the Entra error explained, roles
    /// granted and missing, token expiry. Exit code 3 when any tenant is not ready.
    /// Each tenant's row is recorded in the local database (`tenant_checks`, see
    /// docs/store.md) unless --no-store is given.
    #[command(
        after_help = "Examples:\n  mdep tenants check\n  mdep tenants check --tag eu -o json\n  mdep tenants check --db postgres://mdep@db.internal/mdep\n  mdep tenants check --no-store"
    )]
    Check(CheckArgs),
}

/// `mdep tenants check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub selection: Selection,
    #[command(flatten)]
    pub db: DbArg,
    /// Do not record the report in the local database.
    #[arg(long)]
    pub no_store: bool,
}

/// Which tenants: all configured when neither `--tenant` nor `--tag` is given.
pub type Selection = crate::run::select::Selection<false>;

#[derive(Debug, Args)]
pub struct ConsentArgs {
    /// The customer tenant (name, id or domain); `common` when absent.
    #[arg(long)]
    tenant: Option<String>,
    /// The v2 `/{tenant}/v2.0/adminconsent` form instead of the seed's link.
    #[arg(long)]
    v2: bool,
    /// Redirect URI registered on the app.
    #[arg(long)]
    redirect_uri: Option<String>,
    /// State echoed back on the redirect.
    #[arg(long)]
    state: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Take a token for a tenant and show its claims and expiry (`--raw` prints the token).
    #[command(
        after_help = "Examples:\n  mdep token get --tenant Contoso\n  mdep token get --tenant Contoso --raw | mdep token validate -\n  mdep token get --tenant Contoso --api graph"
    )]
    Get {
        /// Tenant name, id or domain.
        #[arg(long)]
        tenant: String,
        /// Print only the token itself.
        #[arg(long)]
        raw: bool,
        /// mde (the configured resource) or graph (Microsoft Graph, graph_resource).
        #[arg(long, value_enum, default_value = "mde")]
        api: ApiChoice,
    },
    /// Decode a token's header and claims (no verification), roles and tid first.
    #[command(after_help = "Example:\n  mdep token inspect \"$TOKEN\"")]
    Inspect {
        /// The token, or `-` (or nothing) to read standard input.
        token: Option<String>,
    },
    /// Validate a token through discovery and JWKS: RS256, iss, aud, exp/nbf, tid, roles.
    #[command(
        after_help = "Example:\n  mdep token validate \"$TOKEN\" --tenant Contoso --require Alert.Read.All"
    )]
    Validate {
        /// The token, or `-` (or nothing) to read standard input.
        token: Option<String>,
        /// The tenant it must belong to (name, id or domain).
        #[arg(long)]
        tenant: Option<String>,
        /// A role it must carry (repeatable).
        #[arg(long = "require")]
        require: Vec<String>,
    },
}

pub async fn config(cmd: ConfigCommand, g: &Global) -> Result<()> {
    let path = g.config_path();
    match cmd {
        ConfigCommand::Init { client_id, force } => {
            if let Some(id) = &client_id
                && uuid::Uuid::try_parse(id).is_err()
            {
                bail!(
                    "--client-id '{id}' is not a GUID (the Application (client) ID from the app's Overview page)"
                );
            }
            if path.exists() && !force {
                bail!(
                    "{} exists already (use --force to overwrite it)",
                    path.display()
                );
            }
            config::write_private(&path, &config::template(client_id.as_deref()))?;
            println!("wrote {}", path.display());
            println!(
                "next: set MDEP_CLIENT_SECRET (or edit the credential), then `mdep tenants add NAME --tenant ID-OR-DOMAIN`"
            );
            Ok(())
        }
        ConfigCommand::Path => {
            println!("{}", path.display());
            Ok(())
        }
        ConfigCommand::Show => {
            let l = g.load()?;
            let c = &l.config;
            let p = &c.partner;
            let credential = if p.secret_env.is_some() {
                format!(
                    "client secret from environment variable {}",
                    p.secret_env.as_deref().unwrap_or("")
                )
            } else if let Some(f) = &p.secret_file {
                format!("client secret from file {}", f.display())
            } else if p.client_secret.is_some() {
                "client secret written in the config (move it out)".into()
            } else if let Some(f) = &p.certificate {
                format!("certificate {} ({:?})", f.display(), p.certificate_style)
            } else if let Some(f) = &p.pfx {
                format!("PKCS#12 file {} ({:?})", f.display(), p.certificate_style)
            } else {
                "none".into()
            };
            let v = json!({
                "path": l.path, "client_id": p.client_id, "credential": credential, "cloud": c.cloud.name(),
                "region": c.region.map(mdep_model::Region::name),
                "authority": c.authority(), "api_base": c.api_base(), "resource": c.resource(),
                "graph_base": c.graph_base(), "graph_resource": c.graph_resource(),
                "token_version": format!("{:?}", c.token_version).to_lowercase(),
                "required_permissions": c.required_permissions, "required_graph_permissions": c.required_graph_permissions, "tenants": c.tenants.len(), "warnings": l.warnings,
            });
            match g.output {
                Output::Json | Output::Jsonl | Output::Csv => print_json(&v),
                Output::Table => {
                    for (k, val) in v.as_object().into_iter().flatten() {
                        println!(
                            "{k:<21} {}",
                            match val {
                                Value::String(s) => s.clone(),
                                Value::Null => "-".to_owned(),
                                other => other.to_string(),
                            }
                        );
                    }
                    Ok(())
                }
            }
        }
    }
}

pub async fn tenants(cmd: TenantsCommand, g: &Global) -> Result<()> {
    let path = g.config_path();
    match cmd {
        TenantsCommand::Add { name, tenant, tags } => {
            config::add_tenant(
                &path,
                &TenantEntry {
                    name: name.clone(),
                    tenant: tenant.clone(),
                    tags,
                },
            )?;
            println!(
                "added {name} ({tenant}); its consent link: `mdep consent-url --tenant {name}`"
            );
            Ok(())
        }
        TenantsCommand::Remove { name } => {
            let e = config::remove_tenant(&path, &name)?;
            println!("removed {} ({})", e.name, e.tenant);
            Ok(())
        }
        TenantsCommand::List => {
            let l = g.load()?;
            match g.output {
                Output::Json | Output::Jsonl | Output::Csv => print_json(&json!(
                    l.config
                        .tenants
                        .iter()
                        .map(|t| json!({"name": t.name, "tenant": t.tenant, "tags": t.tags}))
                        .collect::<Vec<_>>()
                )),
                Output::Table => {
                    let rows: Vec<Vec<String>> = l
                        .config
                        .tenants
                        .iter()
                        .map(|t| vec![t.name.clone(), t.tenant.clone(), t.tags.join(",")])
                        .collect();
                    print!("{}", table(&["NAME", "TENANT", "TAGS"], &rows));
                    Ok(())
                }
            }
        }
        TenantsCommand::Check(args) => check(g, args).await,
    }
}

/// One row of the permissions report.
#[derive(Debug, serde::Serialize)]
pub struct CheckRow {
    pub name: String,
    pub tenant: String,
    pub ready: bool,
    pub status: String,
    pub tid: Option<String>,
    pub granted: Vec<String>,
    pub missing: Vec<String>,
    /// Microsoft Graph roles in the tenant's Graph token.
    pub graph_granted: Vec<String>,
    /// `required_graph_permissions` the Graph token lacks.
    pub graph_missing: Vec<String>,
    pub expires: Option<String>,
    pub aadsts: Option<u32>,
    pub hint: Option<String>,
}

impl CheckRow {
    /// The row of a tenant without a valid token: nothing granted, everything missing.
    fn failed(
        t: &TenantEntry,
        status: String,
        aadsts: Option<u32>,
        hint: String,
        required: &[String],
        graph_required: &[String],
    ) -> Self {
        Self {
            name: t.name.clone(),
            tenant: t.tenant.clone(),
            ready: false,
            status,
            tid: None,
            granted: vec![],
            missing: required.to_vec(),
            graph_granted: vec![],
            graph_missing: graph_required.to_vec(),
            expires: None,
            aadsts,
            hint: Some(hint),
        }
    }
}

pub async fn check_rows(p: &Partner, sel: &Selection) -> Result<Vec<CheckRow>> {
    let chosen = p.select(&sel.tenants, &sel.tags)?;
    let required = p.config().required_permissions.clone();
    let validator = std::sync::Arc::new(p.validator());
    let graph = GraphCheck {
        resource: p.config().graph_resource(),
        required: p.config().required_graph_permissions.clone(),
    };
    report(
        &p.broker,
        validator,
        p.expectations(None, vec![]),
        chosen,
        required,
        graph,
    )
    .await
}

/// The Microsoft Graph half of the permissions report: the resource to take a token for
/// and the roles it must carry.
#[derive(Debug, Clone)]
pub struct GraphCheck {
    /// e.g. `https://graph.microsoft.com`.
    pub resource: String,
    /// `required_graph_permissions`.
    pub required: Vec<String>,
}

/// The roles of the tenant's Graph token (read, not validated: a Microsoft Graph token
/// is Graph's to validate), or why there is none.
async fn graph_roles(
    broker: &std::sync::Arc<mdep_auth::TokenBroker>,
    tenant: &TenantEntry,
    resource: &str,
) -> Result<Vec<String>, String> {
    let tok = broker
        .token_for(&tenant.tenant, resource, &tenant.name)
        .await
        .map_err(|e| e.hint().unwrap_or_else(|| e.to_string()))?;
    let d = mdep_auth::inspect::decode(tok.token.expose()).map_err(|e| e.to_string())?;
    Ok(d.roles())
}

/// The permissions report for `tenants`: a token each (in parallel, 16 at a time),
/// validated, with the roles granted and those missing against `required`.
pub async fn report(
    broker: &std::sync::Arc<mdep_auth::TokenBroker>,
    validator: std::sync::Arc<mdep_auth::Validator>,
    expectations: mdep_auth::Expectations,
    chosen: Vec<TenantEntry>,
    required: Vec<String>,
    graph: GraphCheck,
) -> Result<Vec<CheckRow>> {
    let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(16));
    let mut set = tokio::task::JoinSet::new();
    for (i, t) in chosen.into_iter().enumerate() {
        let broker = broker.clone();
        let validator = validator.clone();
        let want = expectations.clone();
        let required = required.clone();
        let limit = limit.clone();
        let graph = graph.clone();
        set.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let graph_roles = graph_roles(&broker, &t, &graph.resource).await;
            let row = match broker.token(&t.tenant, &t.name).await {
                Err(e) => CheckRow::failed(
                    &t,
                    e.aadsts().map_or_else(|| "error".to_owned(), |c| format!("AADSTS{c}")),
                    e.aadsts(),
                    e.hint().unwrap_or_else(|| e.to_string()),
                    &required,
                    &graph.required,
                ),
                Ok(tok) => match validator.validate(tok.token.expose(), &want).await {
                    Err(e) => CheckRow::failed(
                        &t,
                        format!("invalid token ({})", e.check),
                        None,
                        e.to_string(),
                        &required,
                        &graph.required,
                    ),
                    Ok(v) => {
                        let granted = v.roles();
                        let missing: Vec<String> = required.iter().filter(|r| !granted.contains(r)).cloned().collect();
                        let (graph_granted, graph_error) = match graph_roles {
                            Ok(r) => (r, None),
                            Err(e) => (vec![], Some(e)),
                        };
                        let graph_missing: Vec<String> = graph.required.iter().filter(|r| !graph_granted.contains(r)).cloned().collect();
                        let ready = missing.is_empty() && graph_missing.is_empty();
                        CheckRow {
                            name: t.name.clone(),
                            tenant: t.tenant.clone(),
                            ready,
                            status: if ready { "ready".into() } else { "missing roles".into() },
                            tid: v.tid(),
                            granted,
                            hint: (!ready).then(|| match graph_error.filter(|_| !graph_missing.is_empty()) {
                                Some(e) => format!("no Microsoft Graph token: {e}"),
                                None => format!("its Global Administrator must consent again: `mdep consent-url --tenant {}`", t.name),
                            }),
                            missing,
                            graph_granted,
                            graph_missing,
                            expires: Some(tok.expires_on.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()),
                            aadsts: None,
                        }
                    }
                },
            };
            (i, row)
        });
    }
    let mut rows = Vec::new();
    while let Some(r) = set.join_next().await {
        rows.push(r?);
    }
    rows.sort_by_key(|(i, _)| *i);
    Ok(rows.into_iter().map(|(_, r)| r).collect())
}

/// The permissions report as aligned columns, with a hint line per tenant not ready.
pub fn report_table(rows: &[CheckRow]) -> String {
    let dash = |v: &[String]| {
        if v.is_empty() {
            "-".to_owned()
        } else {
            v.join(",")
        }
    };
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let expires = r
                .expires
                .as_deref()
                .and_then(|e| {
                    time::OffsetDateTime::parse(e, &time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .map_or_else(|| "-".into(), relative);
            let mut missing = r.missing.clone();
            missing.extend(r.graph_missing.iter().map(|m| format!("Graph:{m}")));
            vec![
                r.name.clone(),
                r.status.clone(),
                dash(&r.granted),
                dash(&r.graph_granted),
                dash(&missing),
                expires,
            ]
        })
        .collect();
    let mut out = table(
        &[
            "TENANT",
            "STATUS",
            "GRANTED",
            "GRAPH GRANTED",
            "MISSING",
            "TOKEN EXPIRES",
        ],
        &cells,
    );
    for r in rows.iter().filter(|r| !r.ready) {
        if let Some(h) = &r.hint {
            out.push_str(&format!("  {}: {h}\n", r.name));
        }
    }
    out
}

async fn check(g: &Global, args: CheckArgs) -> Result<()> {
    let p = Partner::open(g)?;
    let rows = check_rows(&p, &args.selection).await?;
    match g.output {
        Output::Json | Output::Jsonl | Output::Csv => print_json(&serde_json::to_value(&rows)?)?,
        Output::Table => print!("{}", report_table(&rows)),
    }
    if !args.no_store {
        // The report stands on its own: a store that fails is only a warning.
        if let Err(e) = store_checks(&args.db, g, &p, &rows).await {
            eprintln!("warning: the permissions report was not recorded: {e:#}");
        }
    }
    let not_ready = rows.iter().filter(|r| !r.ready).count();
    some_failed(not_ready, rows.len(), "tenants are not ready")
}

/// Upserts every row of the report into `tenant_checks`, keyed like the synced rows.
async fn store_checks(db: &DbArg, g: &Global, p: &Partner, rows: &[CheckRow]) -> Result<()> {
    let loc = db.location(g, Some(p.config()))?;
    let store = mdep_sync::Store::open(&loc)
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e}", loc.display()))?;
    for r in rows {
        let key = mdep_sync::tenant_key(&mdep_api::Tenant {
            name: r.name.clone(),
            id: r.tenant.clone(),
        });
        let check = mdep_sync::TenantCheck {
            tenant: key,
            name: r.name.clone(),
            ready: r.ready,
            status: r.status.clone(),
            missing_roles: r.missing.clone(),
            graph_missing_roles: r.graph_missing.clone(),
            token_expires: r.expires.clone(),
            aadsts: r.aadsts,
            hint: r.hint.clone(),
        };
        store
            .record_check(&check)
            .await
            .map_err(|e| anyhow::anyhow!("{}: {e}", loc.display()))?;
    }
    Ok(())
}

pub async fn consent_url(args: ConsentArgs, g: &Global) -> Result<()> {
    let l = g.load()?;
    let c = &l.config;
    let tenant = match &args.tenant {
        Some(t) => Some(match c.find_tenant(t) {
            Some(e) => e.tenant.clone(),
            None if config::valid_tenant(t) || matches!(t.as_str(), "common" | "organizations") => {
                t.clone()
            }
            None => bail!("no configured tenant named '{t}' (see `mdep tenants list`)"),
        }),
        None => None,
    };
    let authority = c.authority();
    let client_id = c.partner.client_id.to_string();
    let link = ConsentLink {
        authority: &authority,
        client_id: &client_id,
        tenant: tenant.as_deref(),
        redirect_uri: args.redirect_uri.as_deref(),
        state: args.state.as_deref(),
    };
    let url = if args.v2 {
        link.v2(&c.resource())
    } else {
        link.seed()
    };
    match g.output {
        Output::Json | Output::Jsonl | Output::Csv => {
            print_json(&json!({"url": url, "tenant": tenant}))
        }
        Output::Table => {
            println!("{url}");
            Ok(())
        }
    }
}

/// The roles comma-separated, or `none` when there are none.
fn roles_or(roles: &[String], none: &str) -> String {
    if roles.is_empty() {
        none.to_owned()
    } else {
        roles.join(", ")
    }
}

pub async fn token(cmd: TokenCommand, g: &Global) -> Result<()> {
    match cmd {
        TokenCommand::Get { tenant, raw, api } => {
            let p = Partner::open(g)?;
            let t = p.one(&tenant)?;
            let tok = match api {
                ApiChoice::Mde => p.broker.token(&t.tenant, &t.name).await?,
                ApiChoice::Graph => {
                    let resource = p.config().graph_resource();
                    p.broker.token_for(&t.tenant, &resource, &t.name).await?
                }
            };
            if raw {
                println!("{}", tok.token.expose());
                return Ok(());
            }
            let d = inspect::decode(tok.token.expose())?;
            let v = json!({"tenant": t.name, "tid": d.tid(), "roles": d.roles(), "aud": d.claims.get("aud"), "appid": d.claims.get("appid"), "expires": show_time(tok.expires_on)});
            match g.output {
                Output::Json | Output::Jsonl | Output::Csv => print_json(&v),
                Output::Table => {
                    println!("tenant   {} (tid {})", t.name, d.tid().unwrap_or("?"));
                    println!("roles    {}", roles_or(&d.roles(), "(none granted)"));
                    println!(
                        "aud      {}",
                        d.claims.get("aud").and_then(Value::as_str).unwrap_or("?")
                    );
                    println!("expires  {}", show_time(tok.expires_on));
                    println!("(the token itself is printed only with --raw)");
                    Ok(())
                }
            }
        }
        TokenCommand::Inspect { token } => {
            let d = inspect::decode(&read_token(token)?)?;
            let times: Vec<(String, String)> = ["iat", "nbf", "exp"]
                .iter()
                .filter_map(|c| d.time(c).map(|t| (c.to_string(), show_time(t))))
                .collect();
            match g.output {
                Output::Json | Output::Jsonl | Output::Csv => print_json(
                    &json!({"header": d.header, "claims": d.claims, "times": times.iter().cloned().collect::<std::collections::BTreeMap<_, _>>()}),
                ),
                Output::Table => {
                    println!("tid      {}", d.tid().unwrap_or("(none)"));
                    println!("roles    {}", roles_or(&d.roles(), "(none)"));
                    for (c, t) in &times {
                        println!("{c:<8} {t}");
                    }
                    println!("header   {}", d.header);
                    println!("claims   {}", serde_json::to_string_pretty(&d.claims)?);
                    Ok(())
                }
            }
        }
        TokenCommand::Validate {
            token,
            tenant,
            require,
        } => {
            let token = read_token(token)?;
            let p = Partner::open(g)?;
            let tenant = match tenant {
                Some(t) => Some(p.one(&t)?.tenant),
                None => None,
            };
            let want = p.expectations(tenant, require);
            match p.validator().validate(&token, &want).await {
                Ok(v) => {
                    let roles = v.roles();
                    let tid = v.tid();
                    match g.output {
                        Output::Json | Output::Jsonl | Output::Csv => print_json(
                            &json!({"valid": true, "issuer": v.issuer, "tid": tid, "roles": roles}),
                        ),
                        Output::Table => {
                            println!(
                                "valid: signature (RS256, published key), issuer, audience, lifetime, tenant and roles check out"
                            );
                            println!("tid    {}", tid.as_deref().unwrap_or("?"));
                            println!("roles  {}", roles.join(", "));
                            Ok(())
                        }
                    }
                }
                Err(e) => {
                    if g.output.basic() == Output::Json {
                        print_json(
                            &json!({"valid": false, "check": e.check.to_string(), "detail": e.detail}),
                        )?;
                    }
                    Err(NotReady(format!("invalid token: {e}")).into())
                }
            }
        }
    }
}

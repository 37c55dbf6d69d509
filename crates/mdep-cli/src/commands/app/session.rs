//! Signing in to the partner's home tenant's Microsoft Graph with the bootstrap
//! credential, and what every `mdep app` command does there: find the configured app,
//! map permissions to their catalog entries, grant roles at home.

use crate::context::{Global, expand};
use anyhow::{Context as _, Result, bail};
use clap::Args;
use mdep_api::graph::GraphClient;
use mdep_api::graph::apps::Application;
use mdep_api::transport::options::ClientOptions;
use mdep_api::{ApiError, Tenant};
use mdep_auth::config::{Config, Loaded};
use mdep_auth::{BrokerOptions, ClientCredential, Secret, TokenBroker};
use mdep_model::permissions::{self, Api};
use std::path::PathBuf;

/// How `mdep app` signs in to the home tenant.
#[derive(Debug, Args, Clone)]
pub struct Bootstrap {
    /// A Microsoft Graph token for the home tenant (holding Application.ReadWrite.All) on
    /// standard input (`-`), instead of the config's [bootstrap] app.
    #[arg(long, value_name = "-")]
    pub bootstrap_token: Option<String>,
}

/// Signed in to the home tenant's Microsoft Graph.
pub struct Session {
    pub loaded: Loaded,
    pub graph: GraphClient,
    pub home: Tenant,
}

const NO_BOOTSTRAP: &str = "no bootstrap credential: add a [bootstrap] section (client_id, tenant, and secret_env, secret_file, certificate or pfx) for an app holding Microsoft Graph's Application.ReadWrite.All (and AppRoleAssignment.ReadWrite.All to grant consent) in your home tenant, or pipe a Graph token into --bootstrap-token -";

impl Session {
    pub fn open(g: &Global, b: &Bootstrap) -> Result<Self> {
        let loaded = g.load()?;
        let c = &loaded.config;
        let ca = c.ca_file.as_ref().map(|p| expand(p, &loaded.path));
        let http = mdep_auth::http_client(ca.as_deref()).map_err(anyhow::Error::msg)?;
        let mut opts = ClientOptions::graph_from_config(c);
        let (client_id, credential, home) = match &b.bootstrap_token {
            Some(arg) => {
                let token = crate::context::read_token(Some(arg.clone()))?;
                let tid = mdep_auth::inspect::decode(&token)
                    .context("--bootstrap-token is not a JWT")?
                    .tid()
                    .map(str::to_owned)
                    .context("the bootstrap token has no tenant (tid) claim")?;
                opts.bearer = Some(Secret::new(token));
                // The token is sent as given: this broker is never asked for one.
                (
                    uuid::Uuid::nil().to_string(),
                    ClientCredential::Secret(Secret::new("unused")),
                    tid,
                )
            }
            None => {
                let boot = c.bootstrap.as_ref().context(NO_BOOTSTRAP)?;
                (
                    boot.client_id.to_string(),
                    boot.credential(&loaded.path)?,
                    boot.tenant.clone().context(NO_BOOTSTRAP)?,
                )
            }
        };
        let broker = TokenBroker::new(
            BrokerOptions::new(
                c.cloud,
                c.authority(),
                client_id,
                credential,
                c.graph_resource(),
                c.token_version,
            ),
            http.clone(),
        );
        Ok(Self {
            graph: GraphClient::new(http, broker, opts),
            home: Tenant {
                name: "home tenant".into(),
                id: home,
            },
            loaded,
        })
    }

    pub fn config(&self) -> &Config {
        &self.loaded.config
    }

    /// The configured partner app as Graph has it.
    pub async fn configured_app(&self) -> Result<Application> {
        let id = self.config().partner.client_id.to_string();
        self.graph
            .application_by_app_id(&self.home, &id)
            .await
            .with_context(|| {
                format!(
                    "the configured partner app {id} is not in the home tenant {} (register it with `mdep app create --name NAME`)",
                    self.home.id
                )
            })
    }

    /// A new password for `app`, valid `years`, written (alone, mode 0600) to
    /// [`Session::secret_file`]: its key id, the file and its end (RFC 3339).
    pub async fn new_secret(
        &self,
        app: &Application,
        years: u32,
    ) -> Result<(String, PathBuf, String)> {
        let end = (time::OffsetDateTime::now_utc() + time::Duration::days(365 * i64::from(years)))
            .format(&time::format_description::well_known::Rfc3339)?;
        let pw = self
            .graph
            .add_password(&self.home, &app.id, "mdep", &end)
            .await
            .map_err(explain)?;
        let value = pw
            .secret_text
            .context("Graph returned no secretText for the new password")?;
        let file = self.secret_file(&app.app_id);
        mdep_auth::config::write_private(&file, &format!("{}\n", value.expose()))?;
        Ok((pw.key_id, file, end))
    }

    /// Where the partner app's secret is kept: the config's `secret_file`, else
    /// `<config dir>/<client id>.secret`.
    pub fn secret_file(&self, client_id: &str) -> PathBuf {
        match &self.config().partner.secret_file {
            Some(f) if self.config().partner.client_id.to_string() == client_id => {
                expand(f, &self.loaded.path)
            }
            _ => expand(
                std::path::Path::new(&format!("{client_id}.secret")),
                &self.loaded.path,
            ),
        }
    }
}

/// The catalog entry of a role value, with its resource.
pub fn role(value: &str) -> Result<(Api, &'static permissions::AppRole)> {
    let api = Api::of_role(value).with_context(|| {
        format!(
            "'{value}' is not an application permission of WindowsDefenderATP or of Microsoft Graph that mdep knows (e.g. Alert.Read.All, Machine.Isolate, ThreatHunting.Read.All)"
        )
    })?;
    Ok((api, api.role(value).context("catalog")?))
}

/// The role values an app requires on WindowsDefenderATP and on Microsoft Graph.
pub fn required_values(app: &Application) -> (Vec<String>, Vec<String>) {
    let of = |api: Api| -> Vec<String> {
        let ids = app.role_ids(api.app_id());
        api.roles()
            .iter()
            .filter(|r| ids.contains(&r.id.to_ascii_lowercase()))
            .map(|r| r.value.to_owned())
            .collect()
    };
    (of(Api::Mde), of(Api::Graph))
}

/// Grants `roles` (ids on `api`) to the app's service principal in the home tenant;
/// the roles granted now. Refusals are returned, not raised: the home tenant's
/// administrator can consent by the link instead.
pub async fn grant_home(
    s: &Session,
    principal: &str,
    api: Api,
    roles: &[String],
) -> Result<Vec<String>, ApiError> {
    if roles.is_empty() {
        return Ok(Vec::new());
    }
    let resource = s
        .graph
        .service_principal(&s.home, api.app_id())
        .await?
        .ok_or_else(|| {
            ApiError::Invalid(format!(
                "{} has no service principal in the home tenant",
                api.name()
            ))
        })?;
    let held: Vec<String> = s
        .graph
        .role_assignments(&s.home, &resource.id)
        .await?
        .into_iter()
        .filter(|a| a.principal_id.eq_ignore_ascii_case(principal))
        .map(|a| a.app_role_id.to_ascii_lowercase())
        .collect();
    let mut granted = Vec::new();
    for r in roles
        .iter()
        .filter(|r| !held.contains(&r.to_ascii_lowercase()))
    {
        s.graph
            .assign_role(&s.home, &resource.id, principal, r)
            .await?;
        granted.push(r.clone());
    }
    Ok(granted)
}

/// A Graph refusal, with what to grant the bootstrap app when it was a 403.
pub fn explain(e: ApiError) -> anyhow::Error {
    let text = e.to_string();
    if text.contains("Authorization_RequestDenied") || text.contains("403") {
        anyhow::Error::new(e).context(
            "the bootstrap credential may not change app registrations: grant its app Microsoft Graph's Application.ReadWrite.All (application permission) in the home tenant and consent",
        )
    } else {
        anyhow::Error::new(e)
    }
}

/// A `bail!` for a name that matches several apps.
pub fn ambiguous(name: &str, apps: &[Application]) -> Result<()> {
    let ids: Vec<&str> = apps.iter().map(|a| a.app_id.as_str()).collect();
    bail!(
        "{} apps are named '{name}' in the home tenant ({}): rename all but one, or point the config's [partner] client_id at the right one",
        apps.len(),
        ids.join(", ")
    )
}

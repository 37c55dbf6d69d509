//! What partner commands share: the loaded configuration, its HTTP client, broker and
//! validator, output format and time display.

use anyhow::{Context as _, Result, bail};
use clap::{Args, ValueEnum};
use mdep_auth::config::{Config, Loaded, TenantEntry};
use mdep_auth::{BrokerOptions, Expectations, TokenBroker, Validator};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use time::OffsetDateTime;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Output {
    /// Aligned columns for people.
    #[default]
    Table,
    /// JSON for scripts.
    Json,
    /// One JSON object a line (API lists: rows as they arrive).
    Jsonl,
    /// Comma-separated values with a header line (API lists).
    Csv,
}

impl Output {
    /// Table or JSON, for commands that have no line-oriented form.
    pub fn basic(self) -> Self {
        match self {
            Self::Table => Self::Table,
            _ => Self::Json,
        }
    }
}

/// Options every partner command takes.
#[derive(Debug, Args, Clone)]
pub struct Global {
    /// Configuration file [default: the platform config path, e.g. ~/.config/mdep/config.toml].
    #[arg(long, env = "MDEP_CONFIG", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value = "table", global = true)]
    pub output: Output,
    /// Do not read or write the token cache file.
    #[arg(long, global = true)]
    pub no_token_cache: bool,
}

impl Global {
    /// The config path in force.
    pub fn config_path(&self) -> PathBuf {
        self.config
            .clone()
            .unwrap_or_else(mdep_auth::config::default_path)
    }

    /// Loads the configuration and prints its warnings.
    pub fn load(&self) -> Result<Loaded> {
        let loaded = Config::load(&self.config_path())?;
        for w in &loaded.warnings {
            eprintln!("warning: {w}");
        }
        Ok(loaded)
    }
}

/// Everything a command needs to reach Entra.
pub struct Partner {
    pub loaded: Loaded,
    pub http: reqwest::Client,
    pub broker: Arc<TokenBroker>,
}

pub fn expand(p: &std::path::Path, base: &std::path::Path) -> PathBuf {
    let p = match p.to_str().and_then(|s| s.strip_prefix("~/")) {
        Some(rest) => dirs::home_dir().map_or_else(|| p.to_owned(), |h| h.join(rest)),
        None => p.to_owned(),
    };
    if p.is_relative() {
        base.parent().unwrap_or(std::path::Path::new(".")).join(p)
    } else {
        p
    }
}

/// The config's `ca_file`, `~/` expanded and relative to the config file.
pub fn ca_file(loaded: &Loaded) -> Option<PathBuf> {
    loaded
        .config
        .ca_file
        .as_ref()
        .map(|p| expand(p, &loaded.path))
}

impl Partner {
    pub fn open(g: &Global) -> Result<Self> {
        let loaded = g.load()?;
        let c = &loaded.config;
        let ca = ca_file(&loaded);
        let http = mdep_auth::http_client(ca.as_deref()).map_err(anyhow::Error::msg)?;
        let credential = c.credential(&loaded.path)?;
        let mut opts = BrokerOptions::new(
            c.cloud,
            c.authority(),
            c.partner.client_id.to_string(),
            credential,
            c.resource(),
            c.token_version,
        );
        if !g.no_token_cache {
            opts.cache_file = dirs::cache_dir().map(|d| d.join("mdep").join("tokens.json"));
        }
        let broker = TokenBroker::new(opts, http.clone());
        Ok(Self {
            loaded,
            http,
            broker,
        })
    }

    pub fn config(&self) -> &Config {
        &self.loaded.config
    }

    pub fn validator(&self) -> Validator {
        Validator::new(self.http.clone(), self.config().authority())
    }

    pub fn expectations(&self, tenant: Option<String>, required: Vec<String>) -> Expectations {
        let resource = self.config().resource();
        let mut audiences = vec![resource.clone(), resource.trim_end_matches('/').to_owned()];
        audiences.dedup();
        Expectations {
            tenant,
            audiences,
            required_roles: required,
            skew: Duration::from_secs(300),
        }
    }

    /// Tenants chosen by `--tenant` (names, ids or domains) and `--tag`; all when neither.
    pub fn select(&self, names: &[String], tags: &[String]) -> Result<Vec<TenantEntry>> {
        let c = self.config();
        if c.tenants.is_empty() {
            bail!(
                "no tenants are configured in {}: add one with `mdep tenants add NAME --tenant ID-OR-DOMAIN`",
                self.loaded.path.display()
            );
        }
        let mut out: Vec<TenantEntry> = Vec::new();
        for n in names {
            match c.find_tenant(n) {
                Some(t) => out.push(t.clone()),
                None if mdep_auth::config::valid_tenant(n) => out.push(TenantEntry {
                    name: n.clone(),
                    tenant: n.clone(),
                    tags: vec![],
                }),
                None => bail!("no configured tenant named '{n}' (see `mdep tenants list`)"),
            }
        }
        for tag in tags {
            let tagged: Vec<_> = c
                .tenants
                .iter()
                .filter(|t| t.tags.iter().any(|x| x.eq_ignore_ascii_case(tag)))
                .cloned()
                .collect();
            if tagged.is_empty() {
                bail!("no configured tenant has the tag '{tag}'");
            }
            out.extend(tagged);
        }
        if names.is_empty() && tags.is_empty() {
            out = c.tenants.clone();
        }
        let mut seen = std::collections::HashSet::new();
        out.retain(|t| seen.insert(t.tenant.to_ascii_lowercase()));
        Ok(out)
    }

    /// One tenant by name, id or domain.
    pub fn one(&self, name: &str) -> Result<TenantEntry> {
        Ok(self.select(&[name.to_owned()], &[])?.remove(0))
    }
}

static LOCAL_OFFSET: OnceLock<Option<time::UtcOffset>> = OnceLock::new();

/// Reads the local UTC offset; must run before any thread is started.
pub fn init_local_offset() {
    let _ = LOCAL_OFFSET.set(time::UtcOffset::current_local_offset().ok());
}

/// `2026-11-26 05:12:00 UTC (06:12:00 local, in 59 min)`.
pub fn show_time(t: OffsetDateTime) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let utc = t
        .to_offset(time::UtcOffset::UTC)
        .format(fmt)
        .unwrap_or_default();
    let local = LOCAL_OFFSET
        .get()
        .copied()
        .flatten()
        .and_then(|o| {
            t.to_offset(o)
                .format(time::macros::format_description!(
                    "[hour]:[minute]:[second] [offset_hour sign:mandatory]:[offset_minute]"
                ))
                .ok()
        })
        .map_or_else(|| "local time unknown".to_owned(), |l| format!("{l} local"));
    format!("{utc} UTC ({local}, {})", relative(t))
}

/// `in 59 min` / `3 min ago`.
pub fn relative(t: OffsetDateTime) -> String {
    let secs = (t - OffsetDateTime::now_utc()).whole_seconds();
    let (abs, future) = (secs.unsigned_abs(), secs >= 0);
    let text = if abs < 120 {
        format!("{abs} s")
    } else if abs < 7200 {
        format!("{} min", abs / 60)
    } else {
        format!("{} h", abs / 3600)
    };
    if future {
        format!("in {text}")
    } else {
        format!("{text} ago")
    }
}

/// Prints rows as aligned columns.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        s.trim_end().to_owned()
    };
    let mut out = line(headers.to_vec());
    out.push('\n');
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

/// Reads a token from the argument, or from stdin for `-` or nothing.
pub fn read_token(arg: Option<String>) -> Result<String> {
    match arg.as_deref() {
        Some(t) if t != "-" => Ok(t.trim().to_owned()),
        _ => {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                .context("reading the token from standard input")?;
            let t = s.trim().to_owned();
            if t.is_empty() {
                bail!("no token given: pass it as an argument or on standard input");
            }
            Ok(t)
        }
    }
}

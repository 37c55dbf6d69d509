//! `mdep api`: a raw call with the tenant's token, quotas, retries and paging.

use crate::context::{Global, Output};
use crate::run::fanout::call;
use crate::run::select::{Api, Targets};
use anyhow::{Context as _, Result, bail};
use clap::Args;
use mdep_api::{ApiError, Client, Tenant};
use serde_json::Value;

/// `mdep api`.
#[derive(Debug, Args)]
pub struct RawArgs {
    /// GET, POST, PATCH or DELETE.
    #[arg(value_parser = ["GET", "POST", "PATCH", "DELETE", "get", "post", "patch", "delete"])]
    pub method: String,
    /// Path under the API host, with any query (e.g. /api/alerts?$top=5).
    pub path: String,
    /// JSON request body file (`-` for standard input).
    #[arg(long)]
    pub body: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub targets: Targets,
}

pub async fn run(args: RawArgs, g: &Global) -> Result<()> {
    let method = reqwest::Method::from_bytes(args.method.to_ascii_uppercase().as_bytes())?;
    let body: Option<Value> = match &args.body {
        None => None,
        Some(p) => {
            let text = if p.as_os_str() == "-" {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
                s
            } else {
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?
            };
            Some(serde_json::from_str(&text).context("--body is not JSON")?)
        }
    };
    if !args.path.starts_with('/') {
        bail!("PATH starts with / (e.g. /api/alerts); the host comes from the configuration");
    }
    let api = Api::open(g)?;
    // Answers are whatever JSON the API sends: no table of it.
    let format = if g.output == Output::Table {
        Output::Json
    } else {
        g.output
    };
    let raw = |t| {
        let (c, method, body, path) = (
            api.client.clone(),
            method.clone(),
            body.clone(),
            args.path.clone(),
        );
        async move { raw_one(&c, &t, method, &path, body.as_ref()).await }
    };
    let rows = |v: &Vec<Value>| Ok(v.clone());
    let what = |v: &Vec<Value>| format!("{} items", v.len());
    call(&api, &args.targets, raw, format, |_| Vec::new(), rows, what).await
}

/// One raw call; a collection is followed through its nextLinks and flattened.
async fn raw_one(
    c: &Client,
    t: &Tenant,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Vec<Value>, ApiError> {
    let is_get = method == reqwest::Method::GET;
    let bytes = c.raw(t, method, path, body).await?;
    if bytes.is_empty() {
        return Ok(vec![]);
    }
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| ApiError::Decode {
        tenant: t.name.clone(),
        url: path.to_owned(),
        message: e.to_string(),
    })?;
    let (Value::Array(first), true) = (v["value"].clone(), is_get) else {
        return Ok(vec![v]);
    };
    let mut items = first;
    let mut next = v["@odata.nextLink"].as_str().map(str::to_owned);
    let mut seen = std::collections::HashSet::new();
    while let Some(link) = next.take() {
        if !c.trusted(&link) || !seen.insert(link.clone()) {
            return Err(ApiError::Paging {
                tenant: t.name.clone(),
                message: format!("not following {link} (off the API host, or already read)"),
            });
        }
        let page: Value = c.get(t, &link).await?;
        if let Value::Array(more) = page["value"].clone() {
            items.extend(more);
        }
        next = page["@odata.nextLink"].as_str().map(str::to_owned);
    }
    Ok(items)
}

//! `mdep regions probe`: the round trip to every regional API host of the configured
//! cloud, fastest first; `--write` puts the fastest into the config as `region`.

use crate::context::{Global, Output, ca_file, table};
use crate::run::output::print_json;
use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use mdep_api::regions::{self, HostProbe, ProbeOptions, Report};
use serde_json::{Value, json};
use std::time::Duration;

#[derive(Debug, Subcommand)]
pub enum RegionsCommand {
    /// Time a harmless unauthenticated `GET /api` to each regional API host (one warm-up,
    /// then N samples, the median decides) and show them fastest first.
    #[command(
        after_help = "Examples:\n  mdep regions probe\n  mdep regions probe --samples 9 --write\n  mdep regions probe --json\n\nWith api_base set (the emulator), api_base overrides where requests go; the probe asks that address for each region by name (the Host header).\n\nExit codes: 0 some host answered, 1 none answered (or --write had nothing to write), 2 usage."
    )]
    Probe(ProbeArgs),
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Timed requests per host, after one warm-up request that is not counted.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    samples: u32,
    /// Longest wait for one answer, in seconds; a host slower than that is unreachable.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    timeout: u64,
    /// Set `region = "<fastest>"` in the configuration file (comments and other keys kept).
    #[arg(long)]
    write: bool,
    /// JSON output (the same as `-o json`).
    #[arg(long)]
    json: bool,
}

fn ms(d: Option<Duration>) -> Value {
    d.map_or(Value::Null, |d| {
        json!((d.as_secs_f64() * 10_000.0).round() / 10.0)
    })
}

fn show_ms(d: Option<Duration>) -> String {
    d.map_or_else(String::new, |d| {
        format!("{:.1} ms", d.as_secs_f64() * 1000.0)
    })
}

fn host_json(h: &HostProbe) -> Value {
    json!({
        "name": h.endpoint.name(), "host": h.endpoint.host(), "url": h.url,
        "reachable": h.reachable(), "median_ms": ms(h.median()), "min_ms": ms(h.min()),
        "max_ms": ms(h.max()), "samples_ms": h.samples.iter().map(|d| ms(Some(*d))).collect::<Vec<_>>(),
        "status": h.status, "lost": h.lost, "error": h.error,
    })
}

fn print_table(r: &Report) {
    if r.regional() {
        println!(
            "cloud {}: {} regional API hosts, {} samples each",
            r.cloud,
            r.hosts.len(),
            r.samples
        );
    } else {
        println!(
            "cloud {} has no regional API hosts: probing its API host only, {} samples",
            r.cloud, r.samples
        );
    }
    if let Some(v) = &r.via {
        println!(
            "api_base {v} overrides where requests go; the probe asks that address for each region by name"
        );
    }
    let rows: Vec<Vec<String>> = r
        .hosts
        .iter()
        .map(|h| {
            let status = match (h.reachable(), &h.error) {
                (false, Some(e)) => format!("unreachable: {e}"),
                (false, None) => "unreachable".into(),
                (true, _) if h.lost > 0 => format!(
                    "{} ({} of {} lost)",
                    h.status.unwrap_or_default(),
                    h.lost,
                    r.samples
                ),
                (true, _) => h.status.unwrap_or_default().to_string(),
            };
            vec![
                h.endpoint.name().to_owned(),
                h.endpoint.host(),
                show_ms(h.median()),
                show_ms(h.min()),
                show_ms(h.max()),
                status,
            ]
        })
        .collect();
    print!(
        "{}",
        table(&["NAME", "HOST", "MEDIAN", "MIN", "MAX", "ANSWER"], &rows)
    );
}

pub async fn run(cmd: RegionsCommand, g: &Global) -> Result<()> {
    let RegionsCommand::Probe(args) = cmd;
    let loaded = g.load()?;
    let c = &loaded.config;
    if args.write && c.cloud != mdep_model::Cloud::Global {
        bail!(
            "cloud {} has no regional API hosts, so there is no region to write (region applies to the global cloud only)",
            c.cloud
        );
    }
    let http = regions::client(ca_file(&loaded).as_deref())?;
    let opts = ProbeOptions {
        samples: args.samples as usize,
        timeout: Duration::from_secs(args.timeout),
    };
    let report = regions::probe(&http, c.cloud, c.api_base.as_deref(), &opts).await?;
    let fastest = report.fastest();
    let mut written = None;
    if args.write {
        let Some(region) = report.fastest_region() else {
            bail!(
                "no regional API host answered, so region is not written in {}: check the network, a proxy or ca_file, then probe again",
                loaded.path.display()
            );
        };
        mdep_auth::config::set_region(&loaded.path, region)?;
        written = Some(region);
    }
    if args.json || g.output.basic() == Output::Json {
        print_json(&json!({
            "cloud": report.cloud.name(), "regional": report.regional(), "via": report.via,
            "path": regions::PROBE_PATH, "samples": report.samples,
            "hosts": report.hosts.iter().map(host_json).collect::<Vec<_>>(),
            "fastest": fastest.map(|h| h.endpoint.name()),
            "written": written.map(|r| r.name()),
        }))?;
    } else {
        print_table(&report);
        match (fastest, written) {
            (Some(h), Some(r)) => println!(
                "fastest: {} (median {}); wrote region = \"{}\" to {}",
                h.endpoint.name(),
                show_ms(h.median()),
                r.name(),
                loaded.path.display()
            ),
            (Some(h), None) if report.regional() => println!(
                "fastest: {} (median {}); `mdep regions probe --write` sets it as region",
                h.endpoint.name(),
                show_ms(h.median())
            ),
            (Some(h), None) => println!(
                "{} answered (median {})",
                h.endpoint.host(),
                show_ms(h.median())
            ),
            (None, _) => {}
        }
    }
    if written.is_some() && c.api_base.is_some() {
        eprintln!(
            "note: api_base is set, so requests keep going there; region takes effect once api_base is removed"
        );
    }
    if fastest.is_none() {
        bail!(
            "no API host of cloud {} answered{}: check the network, a proxy or ca_file",
            report.cloud,
            report
                .hosts
                .iter()
                .find_map(|h| h.error.as_deref())
                .map(|e| format!(" (last error: {e})"))
                .unwrap_or_default()
        );
    }
    Ok(())
}

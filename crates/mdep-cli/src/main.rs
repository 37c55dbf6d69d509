//! The `mdep` command: thin glue over the mdep library crates.

mod commands;
mod context;
mod demo;
mod emulator;
mod partner;
mod run;
mod sync_cmds;
mod ui_cmd;

use clap::{Parser, Subcommand};
use commands::{
    actions, alerts, api, app, hunt, incidents, indicators, library, machines, regions, tvm,
};
use run::select::Api;
use std::process::ExitCode;

/// Partner access to Microsoft Defender for Endpoint across customer tenants, and a local
/// emulator of Entra ID to build and test against.
#[derive(Debug, Parser)]
#[command(
    name = "mdep",
    version,
    about,
    after_help = "Examples:\n  mdep config init --client-id <APP_ID>\n  mdep tenants add Contoso --tenant contoso.onmicrosoft.com\n  mdep consent-url --tenant Contoso\n  mdep tenants check\n  mdep emulator serve --listen 127.0.0.1:0 --scenario examples/scenario.toml"
)]
struct Cli {
    #[command(flatten)]
    global: context::Global,
    /// Log what mdep does to standard error (never secrets or tokens).
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The whole partner flow on a local emulator, in seconds: consent, tokens, alerts, re-consent.
    #[command(after_help = "Examples:\n  mdep demo\n  mdep demo --keep-running")]
    Demo(demo::DemoArgs),
    /// The configuration file: create, locate, check.
    #[command(subcommand)]
    Config(partner::ConfigCommand),
    /// Customer tenants: add, remove, list, and the permissions report (`check`).
    #[command(subcommand)]
    Tenants(partner::TenantsCommand),
    /// The partner app itself, through Microsoft Graph: create, show, rotate its secret, change its permissions.
    #[command(subcommand)]
    App(app::AppCommand),
    /// Print the admin-consent link a customer's Global Administrator opens.
    #[command(
        after_help = "Examples:\n  mdep consent-url\n  mdep consent-url --tenant Contoso --v2 --redirect-uri https://portal.azure.com"
    )]
    ConsentUrl(partner::ConsentArgs),
    /// Tokens: get one for a tenant, inspect, validate.
    #[command(subcommand)]
    Token(partner::TokenCommand),
    /// Alerts across tenants: list, get, update, create from a hunting event.
    #[command(subcommand)]
    Alerts(alerts::AlertsCommand),
    /// Incidents across tenants (Microsoft Graph): list, get, update.
    #[command(subcommand)]
    Incidents(incidents::IncidentsCommand),
    /// Devices across tenants: list, get, find by tag or IP address, investigate.
    #[command(subcommand)]
    Machines(machines::MachinesCommand),
    /// Response actions on devices: isolate, unisolate, scan, restrict, unrestrict, collect, offboard.
    #[command(subcommand)]
    Machine(actions::MachineCommand),
    /// Threat and vulnerability management across tenants: recommendations, software,
    /// vulnerabilities, remediation tasks, scores.
    #[command(subcommand)]
    Tvm(tvm::TvmCommand),
    /// Machine actions: list, get, the link to a collected investigation package.
    #[command(subcommand)]
    Actions(actions::ActionsCommand),
    /// Custom indicators: list, add, delete, import.
    #[command(subcommand)]
    Indicators(indicators::IndicatorsCommand),
    /// The live response library across tenants: list, upload, delete.
    #[command(subcommand)]
    Library(library::LibraryCommand),
    /// Run a hunting query in one tenant or many (Microsoft Graph runHuntingQuery; --api mde for the retired MDE endpoint).
    #[command(
        after_help = "Examples:\n  mdep hunt \"DeviceInfo | take 10\" --tenant Contoso\n  mdep hunt --file query.kql --all-tenants -o csv\n  mdep hunt \"AlertInfo | count\" --timespan P7D --tag eu\n  mdep hunt \"DeviceInfo | take 1\" --api mde --tenant Contoso"
    )]
    Hunt(hunt::HuntArgs),
    /// A raw MDE API call with the tenant's token, quotas, retries and paging.
    #[command(
        after_help = "Examples:\n  mdep api GET '/api/alerts?$top=5' --tenant Contoso\n  mdep api POST /api/machines/1e5bc9d7e413ddd7902c2932e418702b84d0cc07/tags --body tag.json --tenant Contoso"
    )]
    Api(api::RawArgs),
    /// Regional API hosts: which answers fastest from here (`probe`, `--write` to use it).
    #[command(subcommand)]
    Regions(regions::RegionsCommand),
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  mdep completions bash > /etc/bash_completion.d/mdep\n  mdep completions zsh > \"${fpath[1]}/_mdep\"\n  mdep completions fish > ~/.config/fish/completions/mdep.fish"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Write man pages (mdep.1 and one per subcommand) generated from the command definitions.
    #[command(after_help = "Example:\n  mdep man --dir /usr/local/share/man/man1")]
    Man {
        /// Directory to write the pages into.
        #[arg(long, default_value = ".")]
        dir: std::path::PathBuf,
    },
    /// Copy alerts, devices, machine actions and indicators of many tenants into a local
    /// database, incrementally; see docs/store.md.
    #[command(
        after_help = "Examples:\n  mdep sync --all-tenants\n  mdep sync --tenant Contoso --entities alerts,machines\n  mdep sync --all-tenants --full\n  mdep sync --all-tenants --db postgres://mdep@db.internal/mdep --follow --interval 5m\n\nExit codes: 0 every tenant synced, 1 error, 2 usage, 3 some tenants failed."
    )]
    Sync(sync_cmds::SyncArgs),
    /// Read the local database: alerts, machines, or any read-only SQL.
    #[command(subcommand)]
    Db(sync_cmds::DbCommand),
    /// Serve a read-only web overview of the local database: tenants, charts, alerts and
    /// devices across every customer; see docs/ui.md.
    #[command(
        after_help = "Examples:\n  mdep ui\n  mdep ui --db postgres://mdep@db.internal/mdep\n  mdep ui --listen 127.0.0.1:8080\n\nIt prints a link with a random access token; opening it logs the browser in (a cookie).\nEvery request without the token is refused (401). Ctrl-C stops it."
    )]
    Ui(ui_cmd::UiArgs),
    /// Run and manage the local Entra ID emulator.
    #[command(subcommand)]
    Emulator(emulator::EmulatorCommand),
}

/// Writes a man page for `mdep` and for every subcommand, recursively.
fn write_man_pages(dir: &std::path::Path) -> anyhow::Result<()> {
    fn walk(
        cmd: &clap::Command,
        name: &str,
        dir: &std::path::Path,
        written: &mut Vec<String>,
    ) -> anyhow::Result<()> {
        let cmd = cmd.clone().name(name.to_owned());
        let mut buf = Vec::new();
        clap_mangen::Man::new(cmd.clone()).render(&mut buf)?;
        let file = dir.join(format!("{name}.1"));
        std::fs::write(&file, buf)?;
        written.push(file.display().to_string());
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            walk(sub, &format!("{name}-{}", sub.get_name()), dir, written)?;
        }
        Ok(())
    }
    std::fs::create_dir_all(dir)?;
    let mut cmd = <Cli as clap::CommandFactory>::command();
    cmd.build();
    let mut written = Vec::new();
    walk(&cmd, "mdep", dir, &mut written)?;
    println!("wrote {} man pages to {}", written.len(), dir.display());
    Ok(())
}

fn main() -> ExitCode {
    context::init_local_offset();
    let cli = Cli::parse();
    // Lets tests check that documented command lines parse, without running them.
    if std::env::var_os("MDEP_PARSE_ONLY").is_some() {
        return ExitCode::SUCCESS;
    }
    let filter = if cli.verbose {
        "warn,mdep=debug,mdep_auth=debug,mdep_emulator=info"
    } else {
        "warn"
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MDEP_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter)),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let g = cli.global;
    let result = runtime.block_on(async {
        match cli.command {
            Command::Demo(args) => demo::run(args).await,
            Command::Completions { shell } => {
                let mut cmd = <Cli as clap::CommandFactory>::command();
                clap_complete::generate(shell, &mut cmd, "mdep", &mut std::io::stdout());
                Ok(())
            }
            Command::Man { dir } => write_man_pages(&dir),
            Command::Config(cmd) => partner::config(cmd, &g).await,
            Command::Tenants(cmd) => partner::tenants(cmd, &g).await,
            Command::App(cmd) => app::run(cmd, &g).await,
            Command::ConsentUrl(args) => partner::consent_url(args, &g).await,
            Command::Token(cmd) => partner::token(cmd, &g).await,
            Command::Emulator(cmd) => emulator::run(cmd).await,
            Command::Alerts(cmd) => alerts::run(cmd, &Api::open(&g)?, g.output).await,
            Command::Incidents(cmd) => incidents::run(cmd, &Api::open(&g)?, g.output).await,
            Command::Machines(cmd) => machines::run(cmd, &Api::open(&g)?, g.output).await,
            Command::Machine(cmd) => actions::respond(cmd, &Api::open(&g)?, g.output).await,
            Command::Actions(cmd) => actions::run(cmd, &Api::open(&g)?, g.output).await,
            Command::Tvm(cmd) => tvm::run(cmd, &Api::open(&g)?, g.output).await,
            Command::Indicators(cmd) => indicators::run(cmd, &Api::open(&g)?, g.output).await,
            Command::Library(cmd) => library::run(cmd, &Api::open(&g)?, g.output).await,
            Command::Hunt(args) => hunt::run(args, &g).await,
            Command::Api(args) => api::run(args, &g).await,
            Command::Regions(cmd) => regions::run(cmd, &g).await,
            Command::Sync(args) => sync_cmds::sync(args, &g).await,
            Command::Db(cmd) => sync_cmds::db(cmd, &g).await,
            Command::Ui(args) => ui_cmd::ui(args, &g).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(io) = e.downcast_ref::<std::io::Error>()
                && io.kind() == std::io::ErrorKind::BrokenPipe
            {
                return ExitCode::SUCCESS;
            }
            if let Some(nr) = e.downcast_ref::<run::exit::NotReady>() {
                eprintln!("{nr}");
                return ExitCode::from(3);
            }
            eprintln!("error: {e}");
            if let Some(h) = e
                .downcast_ref::<mdep_api::ApiError>()
                .and_then(|a| a.hint())
            {
                eprintln!("  hint: {h}");
            }
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            if let Some(h) = e
                .downcast_ref::<mdep_sync::SyncError>()
                .and_then(|s| s.hint())
            {
                eprintln!("  hint: {h}");
            }
            if let Some(auth) = e.downcast_ref::<mdep_auth::AuthError>()
                && let Some(h) = auth.hint().filter(|h| !e.to_string().contains(h.as_str()))
            {
                eprintln!("  hint: {h}");
            }
            ExitCode::FAILURE
        }
    }
}

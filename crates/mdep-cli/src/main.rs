//! The `mdep` command: thin glue over the mdep library crates.

mod emulator;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Partner access to Microsoft Defender for Endpoint across customer tenants, and a local
/// emulator of Entra ID to build and test against.
#[derive(Debug, Parser)]
#[command(
    name = "mdep",
    version,
    about,
    after_help = "Examples:\n  mdep emulator serve --listen 127.0.0.1:0 --scenario examples/scenario.toml\n  mdep emulator state --state-dir ~/.local/state/mdep/emulator"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run and manage the local Entra ID emulator.
    #[command(subcommand)]
    Emulator(emulator::EmulatorCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MDEP_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
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
    let result = runtime.block_on(async {
        match cli.command {
            Command::Emulator(cmd) => emulator::run(cmd).await,
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
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}

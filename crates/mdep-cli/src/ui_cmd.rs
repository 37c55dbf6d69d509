//! `mdep ui`: the web overview of the local database (crate `mdep-ui`), read-only.

use crate::context::Global;
use crate::sync_cmds::DbArg;
use anyhow::{Context as _, Result};
use clap::Args;
use mdep_sync::Location;
use mdep_ui::{AccessToken, Ui};
use std::io::Write as _;
use std::net::SocketAddr;

/// `mdep ui`.
#[derive(Debug, Args)]
pub struct UiArgs {
    /// Address to listen on; port 0 picks a free one. Anything but loopback is
    /// reachable from other machines (the token still guards it).
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub db: DbArg,
}

/// A running UI: its link and the task serving it.
pub struct Running {
    /// `http://ADDR/?token=…`.
    pub link: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), mdep_ui::UiError>>,
}

impl Running {
    /// Stops serving and waits for open requests to finish.
    pub async fn shutdown(self) -> Result<()> {
        let _ = self.stop.send(());
        self.task.await.context("the UI task")??;
        Ok(())
    }
}

/// Opens `loc` read-only and serves the UI on `listen` with a new random token.
pub async fn start(loc: &Location, listen: SocketAddr) -> Result<Running> {
    let token = AccessToken::generate()?;
    let ui = Ui::open(loc, token.clone())
        .await
        .with_context(|| format!("opening the database {}", loc.display()))?;
    if !listen.ip().is_loopback() {
        eprintln!(
            "warning: --listen {listen} is reachable from other machines; anyone with the link reads every tenant's data, over plain HTTP"
        );
    }
    let (listener, bound) = mdep_ui::bind(listen, &token).await?;
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(mdep_ui::serve(listener, ui, async move {
        let _ = stopped.await;
    }));
    Ok(Running {
        link: bound.link,
        stop,
        task,
    })
}

/// `mdep ui`: prints the link, serves until Ctrl-C.
pub async fn ui(args: UiArgs, g: &Global) -> Result<()> {
    let loc = args.db.location(g, None)?;
    let running = start(&loc, args.listen).await?;
    println!("{}", running.link);
    std::io::stdout().flush()?;
    eprintln!(
        "mdep ui: serving {} read-only; open the link above (it logs the browser in). Ctrl-C to stop.",
        loc.display()
    );
    tokio::signal::ctrl_c().await?;
    running.shutdown().await
}

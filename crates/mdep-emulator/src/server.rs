//! Running the emulator: bind, serve HTTP or HTTPS, write `ready.json` once connections
//! are accepted, shut down on request.

use crate::scenario::{ApplySummary, Scenario, ScenarioError};
use crate::state::{Emulator, StateError};
use crate::tls::{self, TlsError};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How the emulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// HTTPS with the local CA (default).
    #[default]
    Auto,
    /// Plain HTTP (for injected transports and benchmarks).
    Off,
}

/// What to start.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to listen on; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Scenario file to load.
    pub scenario: Option<PathBuf>,
    /// SQLite database file; in memory when absent.
    pub db: Option<PathBuf>,
    /// TLS mode.
    pub tls: TlsMode,
    /// Where `ca.pem`, the server certificate and `ready.json` live.
    pub state_dir: PathBuf,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            scenario: None,
            db: None,
            tls: TlsMode::Auto,
            state_dir: default_state_dir(),
        }
    }
}

/// The default state directory: `$XDG_STATE_HOME/mdep/emulator` or
/// `~/.local/state/mdep/emulator`, else `./.mdep-emulator`.
pub fn default_state_dir() -> PathBuf {
    if let Some(s) = std::env::var_os("XDG_STATE_HOME").filter(|s| !s.is_empty()) {
        return PathBuf::from(s).join("mdep").join("emulator");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|s| !s.is_empty()) {
        return PathBuf::from(h)
            .join(".local")
            .join("state")
            .join("mdep")
            .join("emulator");
    }
    PathBuf::from(".mdep-emulator")
}

/// A start-up failure.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The scenario file is wrong.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// State could not be opened.
    #[error(transparent)]
    State(#[from] StateError),
    /// TLS material could not be made.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// Binding or writing files.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// A running emulator.
#[derive(Debug)]
pub struct Running {
    /// `https://127.0.0.1:PORT` (or `http://…`).
    pub base_url: String,
    /// Bound address.
    pub addr: SocketAddr,
    /// The CA file clients should trust (TLS auto).
    pub ca_file: Option<PathBuf>,
    /// `ready.json`'s path.
    pub ready_file: PathBuf,
    /// The state.
    pub emulator: Arc<Emulator>,
    /// What the scenario added.
    pub applied: Option<ApplySummary>,
    handle: axum_server::Handle<SocketAddr>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops accepting, lets in-flight requests finish (up to 5 s), and removes `ready.json`.
    pub async fn shutdown(self) {
        self.handle
            .graceful_shutdown(Some(std::time::Duration::from_secs(5)));
        let _ = self.task.await;
        let _ = std::fs::remove_file(&self.ready_file);
    }

    /// Waits until the server stops by itself (an I/O failure).
    pub async fn wait(&mut self) -> std::io::Result<()> {
        match (&mut self.task).await {
            Ok(r) => r,
            Err(e) => Err(std::io::Error::other(e)),
        }
    }
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> ServeError {
    let context = context.into();
    move |source| ServeError::Io { context, source }
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp)?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(tmp, path)
}

/// Opens the state, applies the scenario, binds and serves. Returns once the socket
/// accepts connections and `ready.json` is written.
pub async fn serve(opts: ServeOptions) -> Result<Running, ServeError> {
    let scenario = match &opts.scenario {
        Some(p) => Some(Scenario::load(p)?),
        None => None,
    };
    let open = scenario
        .as_ref()
        .map(Scenario::open_options)
        .unwrap_or_default();
    let db = opts.db.clone();
    let emulator = tokio::task::spawn_blocking(move || Emulator::open(db.as_deref(), open))
        .await
        .map_err(|e| io("opening the emulator state")(std::io::Error::other(e)))??;
    let applied = match &scenario {
        Some(s) => Some(s.apply(&emulator)?),
        None => None,
    };
    std::fs::create_dir_all(&opts.state_dir).map_err(io(format!(
        "creating state directory {}",
        opts.state_dir.display()
    )))?;
    let listener =
        std::net::TcpListener::bind(opts.listen).map_err(io(format!("binding {}", opts.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(io("reading the bound address"))?;
    let handle = axum_server::Handle::new();
    let (scheme, ca_file, task) = match opts.tls {
        TlsMode::Auto => {
            let dir = opts.state_dir.clone();
            let files = tokio::task::spawn_blocking(move || tls::ensure(&dir))
                .await
                .map_err(|e| io("creating TLS material")(std::io::Error::other(e)))??;
            let config = tls::server_config(&files)?;
            let app = crate::app(emulator.clone(), "https");
            let server = axum_server::from_tcp_rustls(
                listener,
                axum_server::tls_rustls::RustlsConfig::from_config(config),
            )
            .map_err(io("serving"))?
            .handle(handle.clone());
            let task = tokio::spawn(async move { server.serve(app.into_make_service()).await });
            ("https", Some(files.ca_file), task)
        }
        TlsMode::Off => {
            let app = crate::app(emulator.clone(), "http");
            let server = axum_server::from_tcp(listener)
                .map_err(io("serving"))?
                .handle(handle.clone());
            let task = tokio::spawn(async move { server.serve(app.into_make_service()).await });
            ("http", None, task)
        }
    };
    handle.listening().await;
    let host = match addr {
        SocketAddr::V4(a) => a.ip().to_string(),
        SocketAddr::V6(a) => format!("[{}]", a.ip()),
    };
    let host = if host == "0.0.0.0" {
        "127.0.0.1".to_owned()
    } else if host == "[::]" {
        "[::1]".to_owned()
    } else {
        host
    };
    let base_url = format!("{scheme}://{host}:{}", addr.port());
    let ready_file = opts.state_dir.join("ready.json");
    let ready = serde_json::json!({
        "base_url": base_url,
        "ca_file": ca_file.as_ref().map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone())),
        "admin_key": emulator.settings().admin_key.expose(),
    });
    write_private(&ready_file, &format!("{ready:#}\n"))
        .map_err(io(format!("writing {}", ready_file.display())))?;
    Ok(Running {
        base_url,
        addr,
        ca_file,
        ready_file,
        emulator,
        applied,
        handle,
        task,
    })
}

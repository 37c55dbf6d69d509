//! `mdep ui`: a local, read-only web overview of every customer tenant in the store that
//! `mdep sync` keeps (SQLite or PostgreSQL).
//!
//! Every page is rendered on the server ([`maud`] escapes every value it interpolates);
//! the one script and one stylesheet are embedded in the binary, so the app works with
//! no network. [`app`] builds the router, testable without a socket; [`serve`] binds it.
//! Each request needs the access token: given once as `?token=…` in the link `mdep ui`
//! prints, then carried by an `HttpOnly`, `SameSite=Strict` cookie (see [`auth`]).
//!
//! Pages: tenants (consent state, last sync, open alerts, risk, exposure), charts (SVG
//! drawn here), alerts and devices (filters, keyset paging, a detail view), and an
//! export of any table as CSV, JSON or JSON lines, in the formats of `mdep db`.

pub mod auth;
mod charts;
mod controls;
mod error;
mod layout;
mod pages;
pub mod params;
mod queries;

pub use auth::AccessToken;
pub use error::UiError;

use axum::Router;
use axum::routing::get;
use mdep_sync::Store;
use std::net::SocketAddr;
use std::sync::Arc;

/// What every handler shares: the store (opened read-only) and the access token.
pub struct Ui {
    store: Store,
    token: AccessToken,
}

impl Ui {
    /// A UI over `store` (open it with [`Store::open_read_only`]) guarded by `token`.
    pub fn new(store: Store, token: AccessToken) -> Arc<Self> {
        Arc::new(Self { store, token })
    }

    /// Opens the store at `loc` read-only (never migrating it) and checks that its
    /// schema has the tables the pages read.
    pub async fn open(loc: &mdep_sync::Location, token: AccessToken) -> Result<Arc<Self>, UiError> {
        let store = Store::open_read_only(loc).await?;
        let have = store.schema_version().await?;
        if have < mdep_sync::store::SCHEMA_VERSION {
            return Err(UiError::Schema(format!(
                "{} has schema version {have}; the UI needs {}: run `mdep sync` once with this mdep to upgrade it",
                loc.display(),
                mdep_sync::store::SCHEMA_VERSION
            )));
        }
        Ok(Self::new(store, token))
    }

    /// The store the pages read.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Whether the store speaks PostgreSQL's SQL.
    fn pg(&self) -> bool {
        self.store.is_postgres()
    }
}

/// The whole app: pages, assets, and the guards every request passes (query-string
/// size, access token, security headers).
pub fn app(ui: Arc<Ui>) -> Router {
    let pages = Router::new()
        .route("/", get(pages::home))
        .route("/tenants", get(pages::tenants::page))
        .route("/charts", get(pages::charts::page))
        .route("/alerts", get(pages::alerts::list))
        .route("/alerts/{tenant}/{id}", get(pages::alerts::detail))
        .route("/devices", get(pages::devices::list))
        .route("/devices/{tenant}/{id}", get(pages::devices::detail))
        .fallback(pages::not_found)
        .with_state(ui.clone());
    let assets = Router::new().route("/assets/{name}", get(layout::asset));
    auth::guard(pages, assets, ui)
}

/// The address a listener is bound to, and the link (with the token) to print.
#[derive(Debug, Clone)]
pub struct Bound {
    /// The socket address.
    pub addr: SocketAddr,
    /// `http://ADDR/?token=…`: the link that logs a browser in.
    pub link: String,
}

/// Binds `listen` and returns the listener with its link; run it with [`serve`].
pub async fn bind(
    listen: SocketAddr,
    token: &AccessToken,
) -> Result<(tokio::net::TcpListener, Bound), UiError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| UiError::Bind(format!("{listen}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| UiError::Bind(format!("{listen}: {e}")))?;
    let link = format!("http://{addr}/?token={}", token.expose());
    Ok((listener, Bound { addr, link }))
}

/// Serves the app on a bound listener until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    ui: Arc<Ui>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), UiError> {
    axum::serve(listener, app(ui))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| UiError::Bind(e.to_string()))
}

#[cfg(test)]
mod tests;

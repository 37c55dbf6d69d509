//! Every failure of a page as one type: its status and an HTML page saying what to do.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::html;

/// What went wrong serving a page.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    /// A filter or parameter the page cannot take (400).
    #[error("{0}")]
    BadRequest(String),
    /// No valid access token (401).
    #[error("this page needs the access link that `mdep ui` printed")]
    Unauthorized,
    /// No such tenant, alert or device in the store (404).
    #[error("{0}")]
    NotFound(String),
    /// The query string or path is longer than [`crate::params::MAX_QUERY`] (414).
    #[error(
        "the address is longer than {} bytes: narrow the filters",
        crate::params::MAX_QUERY
    )]
    TooLong,
    /// The store failed (500).
    #[error("the database: {0}")]
    Store(#[from] mdep_sync::SyncError),
    /// The database is older than the pages need.
    #[error("{0}")]
    Schema(String),
    /// The listener could not be bound or served.
    #[error("serving the UI: {0}")]
    Bind(String),
}

impl UiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::TooLong => StatusCode::URI_TOO_LONG,
            Self::Store(_) | Self::Schema(_) | Self::Bind(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn hint(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "Change the filter and try again.",
            Self::Unauthorized => {
                "Open the link with ?token=… that `mdep ui` printed when it started; \
                 it sets a cookie for this browser."
            }
            Self::NotFound(_) => "It may not be synced yet: run `mdep sync`.",
            Self::TooLong => "Use fewer or shorter filter values.",
            Self::Store(_) => "Check that the database is reachable and was made by `mdep sync`.",
            Self::Schema(_) | Self::Bind(_) => "",
        }
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = html! {
            (maud::DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    title { "mdep ui: " (status.as_u16()) }
                    link rel="stylesheet" href="/assets/ui.css";
                }
                body {
                    main class="error" {
                        h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("")) }
                        p id="error-message" { (self.to_string()) }
                        p { (self.hint()) }
                        @if status != StatusCode::UNAUTHORIZED {
                            p { a href="/tenants" { "Back to the tenants" } }
                        }
                    }
                }
            }
        };
        (status, Html(body.into_string())).into_response()
    }
}

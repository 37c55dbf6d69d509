//! The pages: one module each, every handler `(State<Arc<Ui>>, query, headers) -> page`.

pub mod alerts;
pub mod charts;
pub mod devices;
mod listing;
pub mod tenants;

use crate::UiError;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use mdep_sync::Rows;
use mdep_sync::view::{RowFormat, write_rows};

/// `GET /`: the tenants page.
pub async fn home() -> Redirect {
    Redirect::to("/tenants")
}

/// Anything else: 404 in the page frame.
pub async fn not_found() -> UiError {
    UiError::NotFound("no such page".into())
}

/// `rows` as a download in `format` (the formats of `mdep db`); `raw_column`, the raw
/// JSON, becomes the object of each JSON row.
pub fn export(rows: &Rows, format: RowFormat, raw_column: Option<&str>, name: &str) -> Response {
    let mut body = Vec::new();
    if let Err(e) = write_rows(&mut body, rows, format, raw_column) {
        return UiError::BadRequest(format!("writing the export: {e}")).into_response();
    }
    let (ext, kind) = match format {
        RowFormat::Csv => ("csv", "text/csv; charset=utf-8"),
        RowFormat::Json => ("json", "application/json"),
        RowFormat::Jsonl => ("jsonl", "application/x-ndjson"),
    };
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}.{ext}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

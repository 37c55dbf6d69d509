//! The OData envelope both APIs answer in: `@odata.context` built on where the request
//! came in, `value` for collections with `@odata.count` when asked and
//! `@odata.nextLink` when more remain, and the `OData-Version: 4.0` header.

use crate::AppState;
use crate::defender::query::Page;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use std::convert::Infallible;
use std::fmt::{Display, Write};

/// Where a request came in: its origin and API root (for `@odata.context` and next
/// links) and its raw query string.
#[derive(Debug, Clone)]
pub struct Req {
    /// `https://host:port`.
    pub origin: String,
    /// `/api`, `/api/v1.0`, `/v1.0` or `/beta`.
    pub root: &'static str,
    /// The path as requested.
    pub path: String,
    /// The raw query string.
    pub query: Option<String>,
}

/// The root a path came in under: `/api/v1.0` or `/api` for MDE, `/beta` or `/v1.0` for
/// Graph.
pub fn root(path: &str) -> &'static str {
    let lower = path.to_ascii_lowercase();
    if lower.starts_with("/api/v1.0/") {
        "/api/v1.0"
    } else if lower.starts_with("/api/") {
        "/api"
    } else if path.starts_with("/beta/") {
        "/beta"
    } else {
        "/v1.0"
    }
}

impl FromRequestParts<AppState> for Req {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        let uri = original_uri(parts);
        let path = uri.path().to_owned();
        Ok(Self {
            origin: crate::entra::request::origin(state, &uri, &parts.headers),
            root: root(&path),
            path,
            query: uri.query().map(str::to_owned),
        })
    }
}

impl Req {
    /// `@odata.context` for `fragment` (e.g. `Alerts`, `security/alerts_v2/$entity`).
    pub fn context(&self, fragment: &str) -> String {
        format!("{}{}/$metadata#{fragment}", self.origin, self.root)
    }

    /// The absolute URL of this path with query string `q`.
    pub fn link(&self, q: &str) -> String {
        format!("{}{}?{q}", self.origin, self.path)
    }

    /// One entity with its `@odata.context` first.
    pub fn entity(&self, fragment: &str, v: Value) -> Value {
        let mut m = Map::new();
        m.insert(
            "@odata.context".into(),
            Value::String(self.context(fragment)),
        );
        if let Value::Object(o) = v {
            m.extend(o);
        }
        Value::Object(m)
    }

    /// A collection document from a page of entities.
    pub fn page(&self, fragment: &str, page: &Page) -> String {
        self.collection(fragment, &page.items, page.count, page.next.as_deref())
    }

    /// A collection document from serialised items: `@odata.context`, `@odata.count`
    /// when given, `value`, and `@odata.nextLink` when a next page's query is given.
    pub fn collection<T: Display>(
        &self,
        fragment: &str,
        items: impl IntoIterator<Item = T>,
        count: Option<usize>,
        next: Option<&str>,
    ) -> String {
        let quote = |s: String| Value::String(s).to_string();
        let mut out = String::with_capacity(64 * 1024);
        out.push_str("{\"@odata.context\":");
        out.push_str(&quote(self.context(fragment)));
        if let Some(n) = count {
            let _ = write!(out, ",\"@odata.count\":{n}");
        }
        out.push_str(",\"value\":[");
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{item}");
        }
        out.push(']');
        if let Some(q) = next {
            out.push_str(",\"@odata.nextLink\":");
            out.push_str(&quote(self.link(q)));
        }
        out.push('}');
        out
    }
}

/// The URI the client asked for: nested routers see the path without their prefix
/// (`/api`, `/v1.0`), and links and contexts are built from the original.
pub fn original_uri(parts: &Parts) -> Uri {
    parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map_or_else(|| parts.uri.clone(), |o| o.0.clone())
}

/// A JSON response from text already serialised, with `content_type` and
/// `OData-Version: 4.0`.
pub fn odata_response(status: StatusCode, body: String, content_type: &'static str) -> Response {
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert("OData-Version", HeaderValue::from_static("4.0"));
    resp
}

/// One entity with its `@odata.context` first.
pub fn entity(req: &Req, fragment: &str, v: Value) -> Value {
    req.entity(fragment, v)
}

/// A collection: `@odata.context`, `@odata.count` when asked, `value`, and
/// `@odata.nextLink` when more remain.
pub fn collection(req: &Req, fragment: &str, page: Page) -> Value {
    let mut m = Map::new();
    m.insert(
        "@odata.context".into(),
        Value::String(req.context(fragment)),
    );
    if let Some(n) = page.count {
        m.insert("@odata.count".into(), Value::from(n));
    }
    m.insert("value".into(), Value::Array(page.items));
    if let Some(q) = page.next {
        m.insert("@odata.nextLink".into(), Value::String(req.link(&q)));
    }
    Value::Object(m)
}

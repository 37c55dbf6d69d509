//! The frame every page shares (navigation, live status), the embedded assets, and the
//! small pieces tables use: sortable headers, the pager, export links, times.

use crate::params::Params;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

const CSS: &str = include_str!("../assets/ui.css");
const JS: &str = include_str!("../assets/live.js");

/// A version of the assets for their links (`?v=…`): a new build with other assets has
/// other links, so browsers may keep them for a year.
static VERSION: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!("{:x}", mdep_sync::entity::fnv(&format!("{CSS}{JS}")) as u64)
});

/// `GET /assets/{name}`: the stylesheet and the script, from the binary.
pub async fn asset(Path(name): Path<String>) -> Response {
    let (body, kind) = match name.as_str() {
        "ui.css" => (CSS, "text/css; charset=utf-8"),
        "live.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    res
}

/// The pages in the navigation: (path, label).
const NAV: [(&str, &str); 4] = [
    ("/tenants", "Tenants"),
    ("/charts", "Charts"),
    ("/alerts", "Alerts"),
    ("/devices", "Devices"),
];

/// A whole page: `title`, the navigation with `active` marked, and `body`.
pub fn frame(title: &str, active: &str, body: Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " · mdep ui" }
                    link rel="stylesheet" href={ "/assets/ui.css?v=" (*VERSION) };
                    script src={ "/assets/live.js?v=" (*VERSION) } defer {}
                }
                body {
                    header class="top" {
                        span class="brand" { "mdep" }
                        nav {
                            @for (href, label) in NAV {
                                @if href == active {
                                    a href=(href) aria-current="page" { (label) }
                                } @else {
                                    a href=(href) { (label) }
                                }
                            }
                        }
                        span id="live-status" class="live" {}
                    }
                    main { (body) }
                }
            }
        }
        .into_string(),
    )
}

/// The element id a live refresh asks for (`mdep-fragment` header), if any.
pub fn fragment(headers: &HeaderMap) -> Option<&str> {
    headers.get("mdep-fragment").and_then(|v| v.to_str().ok())
}

/// A header cell that sorts the table by `key`: a link flipping the direction when the
/// table is already sorted by it, with the current order shown as text and `aria-sort`.
pub fn sort_header(
    p: &Params,
    key: &str,
    label: &str,
    sorted: &str,
    desc: bool,
    num: bool,
) -> Markup {
    let active = sorted == key;
    let next_dir = if active && !desc { "desc" } else { "asc" };
    let aria = match (active, desc) {
        (false, _) => "none",
        (true, true) => "descending",
        (true, false) => "ascending",
    };
    let href = p.with(&[("sort", Some(key)), ("dir", Some(next_dir))]);
    html! {
        th class=[num.then_some("num")] aria-sort=(aria) {
            a href=(href) data-sort=(key) {
                (label)
                @if active { @if desc { " ▼" } @else { " ▲" } }
            }
        }
    }
}

/// Links to this view as CSV, JSON and JSON lines (the formats of `mdep db`).
pub fn exports(p: &Params, path: &str) -> Markup {
    html! {
        p class="exports" {
            "Export this view: "
            @for f in ["csv", "json", "jsonl"] {
                a href={ (path) (p.with(&[("format", Some(f)), ("after", None), ("before", None), ("pos", None)])) }
                    data-export=(f) download { (f.to_uppercase()) }
            }
        }
    }
}

/// A store time (`2026-11-30T10:00:00.000000Z` or RFC 3339) as `2026-11-30 10:00:00Z`.
pub fn when(t: Option<&str>) -> String {
    match t {
        None => String::new(),
        Some(t) => {
            let t = t.trim_end_matches('Z');
            let t = t.split('.').next().unwrap_or(t);
            let t = t.split('+').next().unwrap_or(t);
            format!("{}Z", t.replacen('T', " ", 1))
        }
    }
}

/// 123456 → "123,456".
pub fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A severity with its class (the colour) and its name (readable without colour).
pub fn severity(s: &str) -> Markup {
    html! { span class={ "sev sev-" (s) } { (s) } }
}

/// A path segment, percent-encoded (everything but letters, digits and `-._~`).
pub fn segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A query-string value, form-encoded.
pub fn qv(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

//! The access token and the guards around every page: an oversized query string is
//! refused (414) before anything else; a request without the token (link or cookie)
//! gets 401; every answer carries a strict Content-Security-Policy and no referrer, so
//! the token in the link never leaves in a `Referer`.

use crate::Ui;
use crate::params::MAX_QUERY;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::fmt;
use std::sync::Arc;

/// A random access token: printed once in the link, then kept in a cookie. Never in
/// `Debug` output or logs.
#[derive(Clone)]
pub struct AccessToken(String);

impl AccessToken {
    /// 32 random bytes from the system's generator, base64url.
    pub fn generate() -> Result<Self, crate::UiError> {
        let mut b = [0u8; 32];
        aws_lc_rs::rand::fill(&mut b)
            .map_err(|_| crate::UiError::Bind("no random numbers from the system".into()))?;
        Ok(Self(URL_SAFE_NO_PAD.encode(b)))
    }

    /// A given token (tests, or a token a script chose); at least 16 characters of
    /// base64url.
    pub fn from_text(t: &str) -> Result<Self, crate::UiError> {
        let ok = t.len() >= 16
            && t.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_');
        if ok {
            Ok(Self(t.to_owned()))
        } else {
            Err(crate::UiError::BadRequest(
                "an access token is at least 16 characters of A-Z, a-z, 0-9, - and _".into(),
            ))
        }
    }

    /// The token itself, for the printed link.
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn matches(&self, given: &str) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(self.0.as_bytes(), given.as_bytes())
            .is_ok()
    }

    /// The cookie's name: one per token, so two `mdep ui` on one host (cookies ignore
    /// the port) do not log each other out.
    pub fn cookie_name(&self) -> String {
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, self.0.as_bytes());
        let hex: String = d.as_ref()[..4].iter().map(|b| format!("{b:02x}")).collect();
        format!("mdep_ui_{hex}")
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken([redacted])")
    }
}

/// Wraps the pages in the size check, the token check and the response headers; the
/// assets (no data in them) need no token, so even the 401 page has its style.
pub fn guard(pages: Router, assets: Router, ui: Arc<Ui>) -> Router {
    pages
        .layer(middleware::from_fn_with_state(ui, check_token))
        .merge(assets)
        .layer(middleware::from_fn(size_and_headers))
}

async fn size_and_headers(req: Request, next: Next) -> Response {
    let too_long = req.uri().query().is_some_and(|q| q.len() > MAX_QUERY)
        || req.uri().path().len() > MAX_QUERY;
    let mut res = if too_long {
        crate::UiError::TooLong.into_response()
    } else {
        next.run(req).await
    };
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Pages hold customer data: never cached. The assets say otherwise themselves.
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

fn cookie_token<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

async fn check_token(State(ui): State<Arc<Ui>>, req: Request, next: Next) -> Response {
    let query = req.uri().query().unwrap_or("");
    let given = form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned());
    if let Some(t) = given {
        if !ui.token.matches(&t) {
            return crate::UiError::Unauthorized.into_response();
        }
        // The link's token becomes a cookie; the address bar loses it.
        let rest: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .filter(|(k, _)| k != "token")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let mut to = req.uri().path().to_owned();
        if !rest.is_empty() {
            to.push('?');
            to.push_str(
                &form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(rest)
                    .finish(),
            );
        }
        let cookie = format!(
            "{}={}; HttpOnly; SameSite=Strict; Path=/",
            ui.token.cookie_name(),
            ui.token.expose()
        );
        let mut res = Redirect::to(&to).into_response();
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            res.headers_mut().insert(header::SET_COOKIE, v);
        }
        return res;
    }
    match cookie_token(req.headers(), &ui.token.cookie_name()) {
        Some(c) if ui.token.matches(c) => next.run(req).await,
        _ => crate::UiError::Unauthorized.into_response(),
    }
}

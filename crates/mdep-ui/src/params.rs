//! A page's query string, checked: only the keys the page knows, bounded values, typed
//! readers that name the bad parameter, and links that keep the other filters.

use crate::UiError;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mdep_sync::view::RowFormat;

/// The longest query string (or path) accepted, in bytes; longer ones are answered 414.
pub const MAX_QUERY: usize = 4096;
/// The longest value one parameter may have (characters).
pub const MAX_VALUE: usize = 256;
/// The most parameters one request may carry.
pub const MAX_PAIRS: usize = 64;

/// The non-empty parameters of a request, in order.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Reads `query`, refusing keys not in `allowed`, too many pairs and long values.
    pub fn parse(query: Option<&str>, allowed: &[&str]) -> Result<Self, UiError> {
        let mut pairs = Vec::new();
        for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            if !allowed.contains(&k.as_ref()) {
                return Err(UiError::BadRequest(format!(
                    "unknown parameter '{}': this page takes {}",
                    clip(&k),
                    allowed.join(", ")
                )));
            }
            if v.chars().count() > MAX_VALUE {
                return Err(UiError::BadRequest(format!(
                    "'{k}' is longer than {MAX_VALUE} characters"
                )));
            }
            let v = v.trim();
            if !v.is_empty() {
                pairs.push((k.into_owned(), v.to_owned()));
            }
            if pairs.len() > MAX_PAIRS {
                return Err(UiError::BadRequest(format!(
                    "more than {MAX_PAIRS} parameters"
                )));
            }
        }
        Ok(Self { pairs })
    }

    /// Every value of `key`.
    pub fn all(&self, key: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// The first value of `key`.
    pub fn one(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, each one of `allowed` (any case), in `allowed`'s spelling.
    pub fn choices(&self, key: &str, allowed: &[&str]) -> Result<Vec<String>, UiError> {
        self.all(key)
            .iter()
            .map(|v| {
                allowed
                    .iter()
                    .find(|a| a.eq_ignore_ascii_case(v))
                    .map(|a| (*a).to_owned())
                    .ok_or_else(|| {
                        UiError::BadRequest(format!(
                            "'{key}' is '{}': use one of {}",
                            clip(v),
                            allowed.join(", ")
                        ))
                    })
            })
            .collect()
    }

    /// `key` as one of `allowed`, if given.
    pub fn choice(&self, key: &str, allowed: &[&str]) -> Result<Option<String>, UiError> {
        Ok(self.choices(key, allowed)?.into_iter().next())
    }

    /// `key` as a date (`YYYY-MM-DD`, the start of that day, or the end with
    /// `end_of_day`) or an RFC 3339 time, in the store's text form.
    pub fn time(&self, key: &str, end_of_day: bool) -> Result<Option<String>, UiError> {
        use time::format_description::well_known::Rfc3339;
        let Some(v) = self.one(key) else {
            return Ok(None);
        };
        let bad = || {
            UiError::BadRequest(format!(
                "'{key}' is '{}': give a date (2026-11-30) or an RFC 3339 time",
                clip(v)
            ))
        };
        let t = if v.len() == 10 {
            let d = time::Date::parse(v, time::macros::format_description!("[year]-[month]-[day]"))
                .map_err(|_| bad())?;
            let t = if end_of_day {
                d.with_hms_nano(23, 59, 59, 999_999_000)
                    .map_err(|_| bad())?
            } else {
                d.midnight()
            };
            t.assume_utc()
        } else {
            time::OffsetDateTime::parse(v, &Rfc3339).map_err(|_| bad())?
        };
        Ok(Some(mdep_sync::entity::norm_time(t)))
    }

    /// `key` as a whole number in `lo..=hi`, if given.
    pub fn number(&self, key: &str, lo: u64, hi: u64) -> Result<Option<u64>, UiError> {
        match self.one(key) {
            None => Ok(None),
            Some(v) => match v.parse::<u64>() {
                Ok(n) if (lo..=hi).contains(&n) => Ok(Some(n)),
                _ => Err(UiError::BadRequest(format!(
                    "'{key}' is '{}': give a whole number from {lo} to {hi}",
                    clip(v)
                ))),
            },
        }
    }

    /// `format=csv|json|jsonl`: the export wanted instead of the page.
    pub fn format(&self) -> Result<Option<RowFormat>, UiError> {
        Ok(
            match self.choice("format", &["csv", "json", "jsonl"])?.as_deref() {
                Some("csv") => Some(RowFormat::Csv),
                Some("json") => Some(RowFormat::Json),
                Some("jsonl") => Some(RowFormat::Jsonl),
                _ => None,
            },
        )
    }

    /// `key` as a keyset position written by [`cursor`].
    pub fn cursor(&self, key: &str, parts: usize) -> Result<Option<Vec<String>>, UiError> {
        let Some(v) = self.one(key) else {
            return Ok(None);
        };
        let bad = || UiError::BadRequest(format!("'{key}' is not a position this page wrote"));
        let bytes = URL_SAFE_NO_PAD.decode(v).map_err(|_| bad())?;
        let list: Vec<String> = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        if list.len() == parts {
            Ok(Some(list))
        } else {
            Err(bad())
        }
    }

    /// A query string of these parameters with `set` replacing (or, with `None`,
    /// removing) the keys it names; `?…`, or empty when nothing is left.
    pub fn with(&self, set: &[(&str, Option<&str>)]) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.pairs {
            if !set.iter().any(|(sk, _)| sk == k) {
                s.append_pair(k, v);
            }
        }
        for (k, v) in set {
            if let Some(v) = v {
                s.append_pair(k, v);
            }
        }
        let q = s.finish();
        if q.is_empty() { q } else { format!("?{q}") }
    }
}

/// A keyset position as a parameter value: base64url of the JSON list.
pub fn cursor(parts: &[String]) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(parts).unwrap_or_default())
}

/// A value quoted back in an error, at most 40 characters (the page escapes it).
fn clip(v: &str) -> String {
    let mut s: String = v.chars().take(40).collect();
    if v.chars().count() > 40 {
        s.push('…');
    }
    s
}

//! Fault injection for testing clients: a share of the requests matching a path pattern
//! (and a tenant, and a `Host`) answered 500, 503 or 429 with `Retry-After`, delayed, cut off before
//! they are handled (`drop`), handled and then cut off so the answer is lost
//! (`drop_after`), or handled and answered with a body that stalls (`slow_body_ms`).
//! Faults come from the scenario (`[[faults]]`) and the admin API
//! (`/_emulator/faults`); admin routes are never faulted. [`super::inject`] applies them.

use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use uuid::Uuid;

/// A fault as given by a scenario or the admin API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// Path pattern: `*` matches any run of characters (`/api/alerts*`); default all.
    #[serde(default = "all_paths")]
    pub path: String,
    /// Only requests for this tenant (the token's `tid` on `/api`, the path's tenant on
    /// Entra routes).
    #[serde(default)]
    pub tenant: Option<Uuid>,
    /// Only requests whose `Host` header (port aside, case-insensitive) is this name, so
    /// one address can play several hosts (a latency per regional API host).
    #[serde(default)]
    pub host: Option<String>,
    /// Answer with this status: 500, 503 or 429.
    #[serde(default)]
    pub status: Option<u16>,
    /// `Retry-After` seconds on a 503 or 429 (default 1 for 429).
    #[serde(default)]
    pub retry_after: Option<u64>,
    /// Added latency in milliseconds (alone, or before the status).
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// Cut the connection after the response head, without handling the request.
    #[serde(default)]
    pub drop: bool,
    /// Handle the request (its effect happens), then cut the connection after the
    /// response head: the answer is lost.
    #[serde(default)]
    pub drop_after: bool,
    /// Handle the request, send the response head and the first half of the body, then
    /// stall this many milliseconds before the rest.
    #[serde(default)]
    pub slow_body_ms: Option<u64>,
    /// Share of matching requests affected, 0 to 1 (spread evenly: 0.5 is every second).
    #[serde(default = "whole")]
    pub share: f64,
    /// Affect at most this many requests, then the fault is spent.
    #[serde(default)]
    pub count: Option<u64>,
}

fn all_paths() -> String {
    "*".to_owned()
}

fn whole() -> f64 {
    1.0
}

impl FaultSpec {
    /// Checks the fields make one fault.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(s) = self.status
            && !matches!(s, 429 | 500 | 503)
        {
            return Err(format!("status must be 429, 500 or 503, not {s}"));
        }
        let kinds = [
            self.status.is_some(),
            self.drop,
            self.drop_after,
            self.slow_body_ms.is_some(),
        ];
        match kinds.iter().filter(|k| **k).count() {
            0 if self.latency_ms.is_none() => {
                return Err("give status, drop, drop_after, slow_body_ms or latency_ms".into());
            }
            0 | 1 => {}
            _ => {
                return Err(
                    "give one of status, drop, drop_after and slow_body_ms (latency_ms goes with any)"
                        .into(),
                );
            }
        }
        if !(0.0..=1.0).contains(&self.share) || self.share.is_nan() {
            return Err(format!("share must be 0 to 1, not {}", self.share));
        }
        if self.latency_ms.is_some_and(|l| l > 600_000) {
            return Err("latency_ms must be at most 600000".into());
        }
        if self.slow_body_ms.is_some_and(|l| l == 0 || l > 600_000) {
            return Err("slow_body_ms must be 1 to 600000".into());
        }
        if self.path.is_empty() || !self.path.starts_with(['/', '*']) {
            return Err(format!("path '{}' must start with / or *", self.path));
        }
        if let Some(h) = &self.host
            && (h.is_empty()
                || h.len() > 253
                || !h
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-')))
        {
            return Err(format!(
                "host '{h}' must be a host name alone, without scheme, port or path (eu.api.security.microsoft.com)"
            ));
        }
        Ok(())
    }
}

/// A fault in force.
#[derive(Debug, Clone, Serialize)]
pub struct Fault {
    /// Its id (for `DELETE /_emulator/faults/{id}`).
    pub id: u64,
    /// What it does.
    #[serde(flatten)]
    pub spec: FaultSpec,
    /// Matching requests seen.
    pub matched: u64,
    /// Requests affected.
    pub injected: u64,
}

/// The faults in force.
#[derive(Debug, Default)]
pub struct Faults {
    inner: Mutex<(u64, Vec<Fault>)>,
}

/// Glob match with `*` only.
pub fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &text[first.len()..];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// The name in a `Host` header or an authority, without its port (`[::1]:8443` gives
/// `[::1]`).
pub fn host_name(authority: &str) -> &str {
    let a = authority.trim();
    if a.starts_with('[') {
        return a.find(']').map_or(a, |i| &a[..=i]);
    }
    a.split(':').next().unwrap_or(a)
}

/// What to do to one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Action {
    /// Sleep first.
    pub latency_ms: u64,
    /// Then answer with this status and `Retry-After`.
    pub status: Option<(u16, Option<u64>)>,
    /// Or cut the connection without handling the request.
    pub drop: bool,
    /// Or handle the request and cut the connection after the answer's head.
    pub drop_after: bool,
    /// Or handle the request and stall this long in the middle of the answer's body.
    pub slow_body_ms: Option<u64>,
}

impl Faults {
    /// Adds a fault; returns it.
    pub fn add(&self, spec: FaultSpec) -> Result<Fault, String> {
        spec.validate()?;
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.0 += 1;
        let f = Fault {
            id: g.0,
            spec,
            matched: 0,
            injected: 0,
        };
        g.1.push(f.clone());
        Ok(f)
    }

    /// The faults in force.
    pub fn list(&self) -> Vec<Fault> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .1
            .clone()
    }

    /// Removes one fault; false when there is none with that id.
    pub fn remove(&self, id: u64) -> bool {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let before = g.1.len();
        g.1.retain(|f| f.id != id);
        g.1.len() != before
    }

    /// Removes every fault.
    pub fn clear(&self) {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .1
            .clear();
    }

    /// Decides what happens to a request for `path`, `tenant` and the `Host` it was sent
    /// to (the first matching fault that fires wins).
    pub fn decide(&self, path: &str, tenant: Option<Uuid>, host: Option<&str>) -> Option<Action> {
        let host = host.map(host_name);
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if g.1.is_empty() {
            return None;
        }
        let mut out = None;
        for f in &mut g.1 {
            if !glob(&f.spec.path, path)
                || f.spec.tenant.is_some_and(|t| Some(t) != tenant)
                || f.spec
                    .host
                    .as_deref()
                    .is_some_and(|h| !host.is_some_and(|x| x.eq_ignore_ascii_case(h)))
            {
                continue;
            }
            if f.spec.count.is_some_and(|c| f.injected >= c) {
                continue;
            }
            let n = f.matched as f64;
            f.matched += 1;
            // Evenly spread: fire when the running share crosses a whole number.
            let fires = ((n + 1.0) * f.spec.share).floor() > (n * f.spec.share).floor();
            if fires && out.is_none() {
                f.injected += 1;
                out = Some(Action {
                    latency_ms: f.spec.latency_ms.unwrap_or(0),
                    status: f.spec.status.map(|s| {
                        let ra = f.spec.retry_after.or((s == 429).then_some(1));
                        (s, ra)
                    }),
                    drop: f.spec.drop,
                    drop_after: f.spec.drop_after,
                    slow_body_ms: f.spec.slow_body_ms,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(path: &str) -> FaultSpec {
        FaultSpec {
            path: path.into(),
            tenant: None,
            host: None,
            status: Some(503),
            retry_after: Some(2),
            latency_ms: None,
            drop: false,
            drop_after: false,
            slow_body_ms: None,
            share: 1.0,
            count: None,
        }
    }

    #[test]
    fn globs() {
        assert!(glob("*", "/api/alerts"));
        assert!(glob("/api/alerts*", "/api/alerts/da1_2"));
        assert!(glob("/api/*/isolate", "/api/machines/abc/isolate"));
        assert!(!glob("/api/*/isolate", "/api/machines/abc/unisolate/x"));
        assert!(glob("/api/machines", "/api/machines"));
        assert!(!glob("/api/machines", "/api/machines/1"));
        assert!(glob("*token", "/t/oauth2/v2.0/token"));
    }

    #[test]
    fn share_count_and_tenant() {
        let f = Faults::default();
        let t = Uuid::from_u128(5);
        f.add(FaultSpec {
            share: 0.5,
            count: Some(2),
            tenant: Some(t),
            ..spec("/api/*")
        })
        .expect("valid");
        let hits: Vec<bool> = (0..8)
            .map(|_| f.decide("/api/alerts", Some(t), None).is_some())
            .collect();
        assert_eq!(
            hits,
            [false, true, false, true, false, false, false, false],
            "every second one, twice"
        );
        assert!(
            f.decide("/api/alerts", None, None).is_none(),
            "other tenants spared"
        );
        assert!(f.decide("/x/oauth2/token", Some(t), None).is_none());
        assert_eq!(f.list()[0].injected, 2);
        assert!(f.remove(1) && !f.remove(1));
    }

    #[test]
    fn host_matches_the_name_port_aside_in_any_case() {
        let f = Faults::default();
        f.add(FaultSpec {
            host: Some("eu.api.security.microsoft.com".into()),
            status: None,
            latency_ms: Some(5),
            ..spec("*")
        })
        .expect("valid");
        for sent in [
            "eu.api.security.microsoft.com",
            "EU.api.security.microsoft.com:443",
        ] {
            assert_eq!(
                f.decide("/api", None, Some(sent)).map(|a| a.latency_ms),
                Some(5),
                "{sent}"
            );
        }
        for other in [
            Some("us.api.security.microsoft.com"),
            Some("eu.api.security.microsoft.com.evil"),
            Some("127.0.0.1:8443"),
            None,
        ] {
            assert!(f.decide("/api", None, other).is_none(), "{other:?}");
        }
        assert_eq!(host_name("[::1]:8443"), "[::1]");
        assert_eq!(host_name("localhost"), "localhost");
    }

    #[test]
    fn invalid_specs() {
        for bad in [
            FaultSpec {
                status: Some(404),
                ..spec("*")
            },
            FaultSpec {
                drop: true,
                ..spec("*")
            },
            FaultSpec {
                status: None,
                ..spec("*")
            },
            FaultSpec {
                share: 1.5,
                ..spec("*")
            },
            FaultSpec {
                share: f64::NAN,
                ..spec("*")
            },
            spec("api"),
            FaultSpec {
                drop_after: true,
                ..spec("*")
            },
            FaultSpec {
                status: None,
                drop: true,
                drop_after: true,
                ..spec("*")
            },
            FaultSpec {
                status: None,
                drop_after: true,
                slow_body_ms: Some(10),
                ..spec("*")
            },
            FaultSpec {
                status: None,
                slow_body_ms: Some(0),
                ..spec("*")
            },
            FaultSpec {
                status: None,
                slow_body_ms: Some(600_001),
                ..spec("*")
            },
            FaultSpec {
                host: Some("https://eu.api.security.microsoft.com".into()),
                ..spec("*")
            },
            FaultSpec {
                host: Some("eu.api.security.microsoft.com:443".into()),
                ..spec("*")
            },
            FaultSpec {
                host: Some(String::new()),
                ..spec("*")
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
        for good in [
            FaultSpec {
                status: None,
                drop_after: true,
                ..spec("*")
            },
            FaultSpec {
                status: None,
                slow_body_ms: Some(200),
                latency_ms: Some(5),
                ..spec("*")
            },
        ] {
            assert!(good.validate().is_ok(), "{good:?}");
        }
    }
}

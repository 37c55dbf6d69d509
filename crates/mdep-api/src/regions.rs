//! Which regional API host answers fastest from here: "instead of using
//! api.security.microsoft.com, use a server closer to your geolocation" (`mde-api.md`
//! §1.2). Every regional host of the cloud ([`mdep_model::Region`]) is asked a harmless
//! unauthenticated `GET /api` — the service refuses it with a 401, which is an answer as
//! good as any for timing — once to open the connection (TCP and TLS, not counted), then
//! a number of times, timed to the end of the answer's body; the median decides. Clouds
//! without regional hosts (GCC, GCC High, DoD: `mde-api.md` §1.3) have only their API
//! host to probe.
//!
//! With an `api_base` (the emulator), every request goes to that address, with the
//! region's host name in `Host`: the address is asked for each region by name, and the
//! emulator's `host` faults give each its own latency.

use crate::error::ApiError;
use crate::transport::client::describe;
use mdep_model::{Cloud, Region};
use std::time::{Duration, Instant};

/// The path asked for: the API's root, refused without a token and harmless with one.
pub const PROBE_PATH: &str = "/api";

/// How to probe.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// Timed requests per host, after the warm-up (at least 1).
    pub samples: usize,
    /// Longest wait for one answer; a host that takes longer is unreachable.
    pub timeout: Duration,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        Self {
            samples: 5,
            timeout: Duration::from_secs(10),
        }
    }
}

/// What is probed: a regional host, or the cloud's own API host when it has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// A regional host of the commercial cloud.
    Region(Region),
    /// The cloud's API host (GCC, GCC High, DoD).
    Cloud(Cloud),
}

impl Endpoint {
    /// `eu`, `api-uk`, or the cloud's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Region(r) => r.name(),
            Self::Cloud(c) => c.name(),
        }
    }

    /// The host's base URL (`https://eu.api.security.microsoft.com`).
    pub fn base(self) -> String {
        match self {
            Self::Region(r) => r.api_host(),
            Self::Cloud(c) => c.api_host().to_owned(),
        }
    }

    /// The host name alone (`eu.api.security.microsoft.com`).
    pub fn host(self) -> String {
        self.base()
            .trim_start_matches("https://")
            .trim_end_matches('/')
            .to_owned()
    }
}

/// What is probed for `cloud`: its regional hosts, or its API host when it has none.
pub fn endpoints(cloud: Cloud) -> Vec<Endpoint> {
    match cloud {
        Cloud::Global => Region::ALL.into_iter().map(Endpoint::Region).collect(),
        other => vec![Endpoint::Cloud(other)],
    }
}

/// One host's measurements.
#[derive(Debug, Clone)]
pub struct HostProbe {
    /// What was probed.
    pub endpoint: Endpoint,
    /// The URL requested (the host's own, or `api_base`'s address with the host's name in
    /// `Host`).
    pub url: String,
    /// Round trips of the samples answered, in the order taken.
    pub samples: Vec<Duration>,
    /// The last HTTP status answered.
    pub status: Option<u16>,
    /// Samples without an answer (connection error or timeout).
    pub lost: usize,
    /// The last error: why the host is unreachable, or why samples were lost.
    pub error: Option<String>,
}

impl HostProbe {
    /// At least one sample answered.
    pub fn reachable(&self) -> bool {
        !self.samples.is_empty()
    }

    /// The median round trip (the mean of the middle two for an even count).
    pub fn median(&self) -> Option<Duration> {
        let mut s = self.samples.clone();
        s.sort();
        let n = s.len();
        match n {
            0 => None,
            _ if n % 2 == 1 => Some(s[n / 2]),
            _ => Some((s[n / 2 - 1] + s[n / 2]) / 2),
        }
    }

    /// The fastest round trip.
    pub fn min(&self) -> Option<Duration> {
        self.samples.iter().min().copied()
    }

    /// The slowest round trip.
    pub fn max(&self) -> Option<Duration> {
        self.samples.iter().max().copied()
    }
}

/// A whole probe: the hosts fastest first, the unreachable ones last.
#[derive(Debug, Clone)]
pub struct Report {
    /// The cloud probed.
    pub cloud: Cloud,
    /// Where the requests went instead of each host (`api_base`), if anywhere.
    pub via: Option<String>,
    /// Timed samples asked of each host.
    pub samples: usize,
    /// Every host, fastest median first, unreachable ones last.
    pub hosts: Vec<HostProbe>,
}

impl Report {
    /// Whether the cloud has regional hosts (only the commercial one does).
    pub fn regional(&self) -> bool {
        self.cloud == Cloud::Global
    }

    /// The fastest host that answered.
    pub fn fastest(&self) -> Option<&HostProbe> {
        self.hosts.first().filter(|h| h.reachable())
    }

    /// The fastest region that answered (none for a cloud without regions).
    pub fn fastest_region(&self) -> Option<Region> {
        match self.fastest()?.endpoint {
            Endpoint::Region(r) => Some(r),
            Endpoint::Cloud(_) => None,
        }
    }
}

/// The HTTP client for probing: `mdep_auth::http_client`'s (rustls, the extra CA of
/// `ca_file`), speaking HTTP/1.1 so the `Host` a request names is the one sent.
pub fn client(ca_file: Option<&std::path::Path>) -> Result<reqwest::Client, ApiError> {
    mdep_auth::http_client_builder(ca_file)
        .map_err(ApiError::Invalid)?
        .http1_only()
        .build()
        .map_err(|e| ApiError::Invalid(format!("cannot build the HTTP client: {e}")))
}

/// Fastest median first, unreachable hosts last in the table's order (a stable sort).
fn order(hosts: &mut [HostProbe]) {
    hosts.sort_by_key(|h| (!h.reachable(), h.median()));
}

/// One request, timed to the end of its body: the status, or why there was none.
async fn once(
    http: &reqwest::Client,
    url: &str,
    host: Option<&str>,
    timeout: Duration,
) -> (Duration, Result<u16, String>) {
    let mut req = http.get(url).timeout(timeout);
    if let Some(h) = host {
        req = req.header(reqwest::header::HOST, h);
    }
    let start = Instant::now();
    let answer = async {
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        resp.bytes().await?;
        Ok::<_, reqwest::Error>(status)
    }
    .await;
    (start.elapsed(), answer.map_err(|e| describe(&e)))
}

async fn probe_one(
    http: &reqwest::Client,
    endpoint: Endpoint,
    via: Option<&str>,
    opts: &ProbeOptions,
) -> HostProbe {
    let host = endpoint.host();
    let url = format!(
        "{}{PROBE_PATH}",
        via.map_or_else(|| endpoint.base(), str::to_owned)
    );
    let named = via.map(|_| host.as_str());
    let mut out = HostProbe {
        endpoint,
        url,
        samples: Vec::with_capacity(opts.samples),
        status: None,
        lost: 0,
        error: None,
    };
    // The warm-up opens the connection (TCP, TLS); a host that does not answer it is
    // unreachable and not asked again.
    if let (_, Err(e)) = once(http, &out.url, named, opts.timeout).await {
        out.lost = opts.samples;
        out.error = Some(e);
        return out;
    }
    for _ in 0..opts.samples {
        match once(http, &out.url, named, opts.timeout).await {
            (took, Ok(status)) => {
                out.samples.push(took);
                out.status = Some(status);
            }
            (_, Err(e)) => {
                out.lost += 1;
                out.error = Some(e);
            }
        }
    }
    out
}

/// Probes every API host of `cloud` (its regions, or its one host), all hosts at once
/// and each host's samples one after the other; `api_base` sends every request to that
/// address instead, naming the host in `Host`.
pub async fn probe(
    http: &reqwest::Client,
    cloud: Cloud,
    api_base: Option<&str>,
    opts: &ProbeOptions,
) -> Result<Report, ApiError> {
    if opts.samples == 0 {
        return Err(ApiError::Invalid(
            "the probe needs at least one sample per host".into(),
        ));
    }
    let via = api_base.map(|b| b.trim_end_matches('/').to_owned());
    if let Some(v) = &via {
        let ok = reqwest::Url::parse(v)
            .is_ok_and(|u| u.host_str().is_some() && matches!(u.scheme(), "https" | "http"));
        if !ok {
            return Err(ApiError::Invalid(format!(
                "api_base '{v}' is not an http(s) URL with a host"
            )));
        }
    }
    let jobs = endpoints(cloud)
        .into_iter()
        .map(|e| probe_one(http, e, via.as_deref(), opts));
    let mut hosts = futures_util::future::join_all(jobs).await;
    order(&mut hosts);
    Ok(Report {
        cloud,
        via,
        samples: opts.samples,
        hosts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(endpoint: Endpoint, ms: &[u64]) -> HostProbe {
        HostProbe {
            endpoint,
            url: String::new(),
            samples: ms.iter().map(|m| Duration::from_millis(*m)).collect(),
            status: (!ms.is_empty()).then_some(401),
            lost: 0,
            error: None,
        }
    }

    #[test]
    fn median_min_max() {
        let h = host(Endpoint::Region(Region::Eu), &[30, 10, 20]);
        assert_eq!(h.median(), Some(Duration::from_millis(20)));
        assert_eq!(h.min(), Some(Duration::from_millis(10)));
        assert_eq!(h.max(), Some(Duration::from_millis(30)));
        let even = host(Endpoint::Region(Region::Eu), &[40, 10, 20, 1000]);
        assert_eq!(even.median(), Some(Duration::from_millis(30)));
        assert_eq!(host(Endpoint::Region(Region::Eu), &[]).median(), None);
    }

    #[test]
    fn endpoints_per_cloud() {
        let global = endpoints(Cloud::Global);
        assert_eq!(global.len(), Region::ALL.len());
        assert_eq!(
            Endpoint::Region(Region::Eu).host(),
            "eu.api.security.microsoft.com"
        );
        assert_eq!(
            Endpoint::Region(Region::LegacyUk).host(),
            "api-uk.securitycenter.microsoft.com"
        );
        for c in [Cloud::Gcc, Cloud::GccHigh, Cloud::Dod] {
            assert_eq!(endpoints(c), [Endpoint::Cloud(c)]);
        }
        assert_eq!(
            Endpoint::Cloud(Cloud::Gcc).host(),
            "api-gcc.securitycenter.microsoft.us"
        );
    }

    #[test]
    fn fastest_is_the_first_reachable_region() {
        let mut r = Report {
            cloud: Cloud::Global,
            via: None,
            samples: 3,
            hosts: vec![
                host(Endpoint::Region(Region::Us), &[]),
                host(Endpoint::Region(Region::Uk), &[31, 30, 29]),
                host(Endpoint::Region(Region::Eu), &[5, 6, 50]),
            ],
        };
        order(&mut r.hosts);
        assert_eq!(r.fastest_region(), Some(Region::Eu));
        assert_eq!(r.hosts[2].endpoint, Endpoint::Region(Region::Us));
        r.hosts.retain(|h| !h.reachable());
        assert!(r.fastest().is_none());
        let gcc = Report {
            cloud: Cloud::Gcc,
            via: None,
            samples: 1,
            hosts: vec![host(Endpoint::Cloud(Cloud::Gcc), &[80])],
        };
        assert!(!gcc.regional() && gcc.fastest().is_some());
        assert_eq!(gcc.fastest_region(), None);
    }
}

//! The client against the emulator over HTTPS on 127.0.0.1:0: paging with tiny pages and
//! large tenants, 429/503 storms and dropped connections from the emulator's fault
//! injection, the limiter across a 50-tenant fan-out, and response actions.

use futures_util::{StreamExt, TryStreamExt};
use mdep_api::entity::{Alert, AlertUpdate, Machine, MachineAction};
use mdep_api::{
    ActionOutcome, ApiError, Client, ClientOptions, GraphClient, Limits, Query, ResponseAction,
    Tenant,
};
use mdep_auth::config::TokenVersion;
use mdep_auth::{BrokerOptions, ClientCredential, Secret, TokenBroker};
use mdep_emulator::server::{Running, ServeOptions, serve};
use mdep_model::Cloud;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::Duration;

const PARTNER: &str = "11111111-1111-1111-1111-111111111111";
const APP: &str = "44444444-4444-4444-4444-444444444444";
const SECRET: &str = "abc8Q~0123456789abcdefghijklmnopqrstuvw";
const ADMIN_KEY: &str = "api-test-admin-key-0123456789";
const MDE: &str = "https://api.securitycenter.microsoft.com";

fn tenant_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

/// A scenario with `n` consented customers, each with `devices` and `alerts`.
fn scenario(n: usize, devices: u32, alerts: u32, emulator_keys: &str) -> String {
    let mut s = format!(
        "[emulator]\nadmin_key = \"{ADMIN_KEY}\"\n{emulator_keys}\n\n\
         [[tenants]]\nid = \"{PARTNER}\"\nname = \"Fabrikam\"\ndomain = \"fabrikam.onmicrosoft.com\"\nadmin = {{ user = \"admin@fabrikam.onmicrosoft.com\", password = \"p\" }}\n"
    );
    for i in 0..n {
        s.push_str(&format!(
            "\n[[tenants]]\nid = \"{}\"\nname = \"Customer {i}\"\ndomain = \"customer{i}.onmicrosoft.com\"\nadmin = {{ user = \"admin@customer{i}.onmicrosoft.com\", password = \"p\" }}\ndevices = {devices}\nalerts = {alerts}\nseed = {i}\n",
            tenant_id(i)
        ));
    }
    s.push_str(&format!(
        "\n[[apps]]\nclient_id = \"{APP}\"\nname = \"Fabrikam SOC\"\nhome_tenant = \"{PARTNER}\"\n\
         permissions = [\"Alert.ReadWrite.All\", \"Machine.ReadWrite.All\", \"Machine.Isolate\", \"Machine.Scan\", \"Ti.ReadWrite.All\", \"AdvancedQuery.Read.All\", \"File.Read.All\", \"Ip.Read.All\", \"Url.Read.All\", \"User.Read.All\", \"Machine.CollectForensics\", \"Library.Manage\", \"Vulnerability.Read.All\", \"Software.Read.All\", \"Score.Read.All\", \"SecurityRecommendation.Read.All\", \"RemediationTasks.Read.All\"]\n\
         graph_permissions = [\"ThreatHunting.Read.All\", \"SecurityAlert.ReadWrite.All\", \"SecurityIncident.ReadWrite.All\"]\n\
         secrets = [{{ value = \"{SECRET}\" }}]\n"
    ));
    for i in 0..n {
        s.push_str(&format!(
            "\n[[consents]]\ntenant = \"{}\"\napp = \"{APP}\"\n",
            tenant_id(i)
        ));
    }
    s
}

struct Emu {
    running: Option<Running>,
    base: String,
    ca: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Emu {
    async fn start(scenario: &str) -> Self {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("scenario.toml");
        std::fs::write(&path, scenario).expect("write");
        let running = serve(ServeOptions {
            listen: "127.0.0.1:0".parse().expect("addr"),
            scenario: Some(path),
            state_dir: dir.path().join("state"),
            ..Default::default()
        })
        .await
        .expect("serve");
        let base = running.base_url.clone();
        let ca = running.ca_file.clone().expect("ca");
        Self {
            running: Some(running),
            base,
            ca,
            _dir: dir,
        }
    }

    fn http(&self) -> reqwest::Client {
        mdep_auth::http_client(Some(&self.ca)).expect("client")
    }

    /// A client whose API calls time out after `timeout`.
    fn client_with_timeout(&self, timeout: Duration) -> Client {
        self.client_timed(timeout, |_| {})
    }

    /// [`Emu::client_with_timeout`] with `tune` applied to its options.
    fn client_timed(&self, timeout: Duration, tune: impl FnOnce(&mut ClientOptions)) -> Client {
        let pem = std::fs::read(&self.ca).expect("ca");
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .tls_certs_only([reqwest::Certificate::from_pem(&pem).expect("pem")])
            .build()
            .expect("http");
        let broker = TokenBroker::new(
            BrokerOptions::new(
                Cloud::Global,
                &self.base,
                APP,
                ClientCredential::Secret(Secret::new(SECRET)),
                MDE,
                TokenVersion::V1,
            ),
            self.http(),
        );
        let mut o = ClientOptions::new(&self.base);
        o.retry.base_delay = Duration::from_millis(20);
        o.limits = None;
        tune(&mut o);
        Client::new(http, broker, o)
    }

    /// A client whose API base is `api` (the emulator's when `None`), with `opts` applied.
    fn client_at(&self, api: Option<&str>, tune: impl FnOnce(&mut ClientOptions)) -> Client {
        let broker = TokenBroker::new(
            BrokerOptions::new(
                Cloud::Global,
                &self.base,
                APP,
                ClientCredential::Secret(Secret::new(SECRET)),
                MDE,
                TokenVersion::V1,
            ),
            self.http(),
        );
        let mut o = ClientOptions::new(api.unwrap_or(&self.base));
        o.retry.base_delay = Duration::from_millis(20);
        o.retry.max_delay = Duration::from_millis(200);
        tune(&mut o);
        Client::new(self.http(), broker, o)
    }

    fn client(&self, tune: impl FnOnce(&mut ClientOptions)) -> Client {
        self.client_at(None, tune)
    }

    async fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http()
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(ADMIN_KEY);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("admin");
        let status = r.status();
        let text = r.text().await.expect("text");
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn fault(&self, spec: Value) {
        self.admin(reqwest::Method::POST, "/_emulator/faults", Some(spec))
            .await;
    }

    /// Answers the emulator counted with this status on `/api` routes.
    async fn api_answers(&self, status: u16) -> u64 {
        let v = self
            .admin(reqwest::Method::GET, "/_emulator/counters", None)
            .await;
        v["counters"]
            .as_array()
            .expect("counters")
            .iter()
            .filter(|c| {
                c["status"] == status && c["route"].as_str().is_some_and(|r| r.starts_with("/api"))
            })
            .map(|c| c["count"].as_u64().expect("count"))
            .sum()
    }

    /// Requests the emulator answered 2xx on `method route` (the route as matched, e.g.
    /// `/api/alerts/{id}`), whether or not the answer reached the client.
    async fn handled(&self, method: &str, route: &str) -> u64 {
        let v = self
            .admin(reqwest::Method::GET, "/_emulator/counters", None)
            .await;
        v["counters"]
            .as_array()
            .expect("counters")
            .iter()
            .filter(|c| {
                c["method"] == method
                    && c["route"] == route
                    && c["status"]
                        .as_u64()
                        .is_some_and(|s| (200..300).contains(&s))
            })
            .map(|c| c["count"].as_u64().expect("count"))
            .sum()
    }

    async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
    }
}

fn customer(i: usize) -> Tenant {
    Tenant {
        name: format!("Customer {i}"),
        id: tenant_id(i),
    }
}

const UNLIMITED: &str = "mde_calls_per_minute = 1000000\nmde_calls_per_hour = 100000000";

async fn all_alerts(c: &Client, t: &Tenant, q: &Query) -> Result<Vec<Alert>, ApiError> {
    c.alerts(t, q).try_collect().await
}

fn assert_unique(ids: &[String]) {
    let set: HashSet<_> = ids.iter().collect();
    assert_eq!(set.len(), ids.len(), "no item twice");
}

#[tokio::test]
async fn page_size_one_loses_and_repeats_nothing() {
    let emu = Emu::start(&scenario(
        1,
        20,
        150,
        &format!("{UNLIMITED}\nmde_page_size = 1"),
    ))
    .await;
    let c = emu.client(|o| o.limits = None);
    let t = customer(0);
    let alerts = all_alerts(&c, &t, &Query::new()).await.expect("alerts");
    let ids: Vec<String> = alerts.iter().map(|a| a.id.clone()).collect();
    assert_eq!(ids.len(), 150);
    assert_unique(&ids);
    assert_eq!(
        c.counters()
            .requests
            .load(std::sync::atomic::Ordering::Relaxed),
        150,
        "one request per item, no extra"
    );

    // The client's own windows (7 items) over the emulator's pages (1 item), from
    // $skip 5, capped at 40: exactly items 5..45 of the full list, in order.
    let c7 = emu.client(|o| {
        o.limits = None;
        o.page_size = 7;
    });
    let some = all_alerts(&c7, &t, &Query::new().skip(5).top(40))
        .await
        .expect("alerts");
    assert_eq!(
        some.iter().map(|a| a.id.clone()).collect::<Vec<_>>(),
        ids[5..45].to_vec()
    );
    emu.stop().await;
}

#[tokio::test]
async fn a_10_000_alert_tenant_is_read_whole_in_windows() {
    let emu = Emu::start(&scenario(
        1,
        200,
        10_000,
        &format!("{UNLIMITED}\nmde_page_size = 1000"),
    ))
    .await;
    // Windows of 2,500 the emulator splits into nextLink pages of 1,000.
    let c = emu.client(|o| {
        o.limits = None;
        o.page_size = 2500;
    });
    let t = customer(0);
    let mut n = 0usize;
    let mut ids = HashSet::new();
    let mut s = std::pin::pin!(c.alerts(&t, &Query::new()));
    while let Some(a) = s.try_next().await.expect("page") {
        assert!(ids.insert(a.id), "no alert twice");
        n += 1;
    }
    assert_eq!(n, 10_000);
    // 4 windows × 3 pages, and one empty window that ends the list.
    assert_eq!(
        c.counters()
            .requests
            .load(std::sync::atomic::Ordering::Relaxed),
        13
    );
    emu.stop().await;
}

#[tokio::test]
async fn filters_and_the_machine_calls_reach_the_service() {
    let emu = Emu::start(&scenario(1, 10, 40, UNLIMITED)).await;
    let c = emu.client(|_| {});
    let t = customer(0);
    let high = all_alerts(
        &c,
        &t,
        &Query::new()
            .filter_str("severity eq 'High'")
            .expect("filter"),
    )
    .await
    .expect("alerts");
    let all = all_alerts(&c, &t, &Query::new()).await.expect("alerts");
    assert!(!high.is_empty() && high.len() < all.len());
    assert!(high.iter().all(|a| a.severity.as_deref() == Some("High")));
    let machines: Vec<Machine> = c
        .machines(&t, &Query::new())
        .try_collect()
        .await
        .expect("machines");
    assert_eq!(machines.len(), 10);
    let m = c.machine(&t, &machines[0].id).await.expect("machine");
    assert_eq!(m.computer_dns_name, machines[0].computer_dns_name);
    let missing = c
        .alert(&t, "da000000000000000000_0")
        .await
        .expect_err("404");
    assert_eq!(missing.status(), Some(404));
    assert!(missing.to_string().contains("Customer 0"), "{missing}");
    emu.stop().await;
}

#[tokio::test]
async fn storms_of_429_and_503_and_dropped_connections_lose_nothing() {
    let emu = Emu::start(&scenario(
        1,
        10,
        30,
        &format!("{UNLIMITED}\nmde_page_size = 2"),
    ))
    .await;
    let t = customer(0);
    let clean = emu.client(|o| o.limits = None);
    let expected: Vec<String> = all_alerts(&clean, &t, &Query::new())
        .await
        .expect("alerts")
        .into_iter()
        .map(|a| a.id)
        .collect();
    emu.fault(
        json!({"path": "/api/alerts*", "status": 429, "retry_after": 1, "share": 0.5, "count": 3}),
    )
    .await;
    emu.fault(json!({"path": "/api/alerts*", "status": 503, "share": 0.5, "count": 4}))
        .await;
    emu.fault(json!({"path": "/api/alerts*", "drop": true, "count": 2}))
        .await;
    let c = emu.client(|o| o.limits = None);
    let got: Vec<String> = all_alerts(&c, &t, &Query::new())
        .await
        .expect("alerts despite the faults")
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(got, expected);
    let k = c.counters();
    assert_eq!(k.throttled.load(std::sync::atomic::Ordering::Relaxed), 3);
    assert_eq!(
        k.retries.load(std::sync::atomic::Ordering::Relaxed),
        9,
        "3 + 4 + 2"
    );
    emu.stop().await;
}

#[tokio::test]
async fn errors_that_last_fail_the_tenant_with_a_clear_message() {
    let emu = Emu::start(&scenario(2, 4, 4, UNLIMITED)).await;
    emu.fault(
        json!({"path": "/api/alerts*", "tenant": tenant_id(0), "status": 429, "retry_after": 3600}),
    )
    .await;
    emu.fault(json!({"path": "/api/alerts*", "tenant": tenant_id(1), "status": 503}))
        .await;
    let c = emu.client(|o| {
        o.retry.max_retry_wait = Duration::from_secs(60);
        o.retry.max_attempts = 3;
    });
    let e = all_alerts(&c, &customer(0), &Query::new())
        .await
        .expect_err("throttled");
    assert!(matches!(e, ApiError::Throttled { .. }), "{e:?}");
    assert!(
        e.to_string().contains("Customer 0") && e.to_string().contains("3600 s"),
        "{e}"
    );
    let e = all_alerts(&c, &customer(1), &Query::new())
        .await
        .expect_err("unavailable");
    assert!(
        matches!(e, ApiError::Unavailable { attempts: 3, .. }),
        "{e:?}"
    );
    emu.stop().await;
}

#[tokio::test]
async fn a_50_tenant_fan_out_within_the_limiter_gets_no_429() {
    // The emulator allows 4 calls a minute; each tenant needs 6 (pages of one alert).
    let emu = Emu::start(&scenario(
        50,
        2,
        6,
        "mde_calls_per_minute = 4\nmde_calls_per_hour = 1000\nmde_page_size = 1",
    ))
    .await;
    let c = emu.client(|o| {
        o.limits = Some(Limits {
            per_minute: 4,
            per_hour: 1000,
            ..Limits::default()
        })
    });
    let tenants: Vec<Tenant> = (0..50).map(customer).collect();
    let results = mdep_api::fan_out(&tenants, 50, |t| {
        let c = c.clone();
        async move { all_alerts(&c, &t, &Query::new()).await.map(|v| v.len()) }
    })
    .await;
    for r in &results {
        assert_eq!(
            r.result.as_ref().ok(),
            Some(&6),
            "{}: {:?}",
            r.tenant.name,
            r.result
        );
    }
    assert_eq!(emu.api_answers(200).await, 300);
    assert_eq!(
        emu.api_answers(429).await,
        0,
        "the limiter kept every tenant within its quota"
    );

    // Without the limiter the same work is refused: the check above can fail.
    let bare = emu.client(|o| {
        o.limits = None;
        o.retry.max_retry_wait = Duration::ZERO;
    });
    let e = all_alerts(&bare, &customer(0), &Query::new())
        .await
        .expect_err("over quota");
    assert!(matches!(e, ApiError::Throttled { .. }), "{e:?}");
    assert!(emu.api_answers(429).await > 0);
    emu.stop().await;
}

#[tokio::test]
async fn isolate_is_never_duplicated_and_wait_follows_it_to_the_end() {
    let emu = Emu::start(&scenario(
        1,
        3,
        0,
        &format!("{UNLIMITED}\nmachine_action_seconds = 2"),
    ))
    .await;
    let c = emu.client(|_| {});
    let t = customer(0);
    let machines: Vec<Machine> = c
        .machines(&t, &Query::new())
        .try_collect()
        .await
        .expect("machines");
    let (m0, m1) = (&machines[0], &machines[1]);
    let isolate = ResponseAction::Isolate {
        isolation_type: "Full".into(),
    };

    // The first answer is lost on the way back: nothing pending, so it is sent again.
    emu.fault(
        json!({"path": format!("/api/machines/{}/isolate", m0.id), "drop": true, "count": 1}),
    )
    .await;
    let first = c
        .respond(&t, &m0.id, &isolate, "incident 42")
        .await
        .expect("isolate");
    assert!(matches!(first, ActionOutcome::Created(_)), "{first:?}");

    // Again while it runs: the running action is reported, not an error.
    let again = c
        .respond(&t, &m0.id, &isolate, "incident 42")
        .await
        .expect("reported");
    match &again {
        ActionOutcome::AlreadyRunning(a) => assert_eq!(a.id, first.action().id),
        other => panic!("{other:?}"),
    }

    // A 503 on a POST leaves it unknown whether it was done: the pending action is found.
    emu.fault(
        json!({"path": format!("/api/machines/{}/isolate", m0.id), "status": 503, "count": 1}),
    )
    .await;
    let lost = c
        .respond(&t, &m0.id, &isolate, "incident 42")
        .await
        .expect("found");
    match &lost {
        ActionOutcome::Recovered(a) => assert_eq!(a.id, first.action().id),
        other => panic!("{other:?}"),
    }
    let isolations: Vec<MachineAction> = c
        .machine_actions(
            &t,
            &Query::new()
                .filter_str(&format!("machineId eq '{}' and type eq 'Isolate'", m0.id))
                .expect("filter"),
        )
        .try_collect()
        .await
        .expect("actions");
    assert_eq!(
        isolations.len(),
        1,
        "one isolation, whatever was retried: {isolations:?}"
    );

    // By computer name, and followed to its end.
    let name = m1.computer_dns_name.clone().expect("name");
    let scan = c
        .respond(
            &t,
            &name,
            &ResponseAction::Scan {
                scan_type: "Quick".into(),
            },
            "sweep",
        )
        .await
        .expect("scan");
    let mut seen = Vec::new();
    let done = c
        .wait_action(
            &t,
            &scan.action().id,
            Duration::from_millis(200),
            Duration::from_secs(30),
            |a| seen.push(a.status.clone()),
        )
        .await
        .expect("final");
    assert_eq!(done.status, "Succeeded");
    assert_eq!(seen.first().map(String::as_str), Some("Pending"));
    assert_eq!(seen.last().map(String::as_str), Some("Succeeded"));
    emu.stop().await;
}

#[tokio::test]
async fn hunting_and_indicators() {
    let emu = Emu::start(&scenario(1, 5, 5, UNLIMITED)).await;
    let c = emu.client(|_| {});
    let t = customer(0);
    let r = c.hunt(&t, "DeviceInfo | take 3").await.expect("hunt");
    assert_eq!(r.results.len(), 3);
    assert!(!r.schema.is_empty());
    let before: Vec<mdep_api::entity::Indicator> = c
        .indicators(&t, &Query::new())
        .try_collect()
        .await
        .expect("list");
    let made = c
        .import_indicators(
            &t,
            &[json!({"indicatorValue": "203.0.113.7", "indicatorType": "IpAddress", "action": "Block", "title": "t", "description": "d"})],
        )
        .await
        .expect("import");
    assert_eq!(made.len(), 1);
    assert!(!made[0].is_failed, "{made:?}");
    let id = made[0].id.clone().expect("id");
    c.delete_indicator(&t, &id).await.expect("delete");
    let after: Vec<mdep_api::entity::Indicator> = c
        .indicators(&t, &Query::new())
        .try_collect()
        .await
        .expect("list");
    assert_eq!(after.len(), before.len());
    emu.stop().await;
}

/// A server whose nextLink loops, or points elsewhere.
async fn bad_pager(link_to: &'static str) -> String {
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let me = base.clone();
    let app = axum::Router::new().route(
        "/api/alerts",
        get(move || {
            let link = match link_to {
                "self" => format!("{me}/api/alerts?$skip=1"),
                other => other.to_owned(),
            };
            async move { axum::Json(json!({"value": [{"id": "a1"}], "@odata.nextLink": link})) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

#[tokio::test]
async fn a_looping_or_foreign_next_link_stops_paging() {
    let emu = Emu::start(&scenario(1, 1, 1, UNLIMITED)).await;
    let t = customer(0);
    let looping = bad_pager("self").await;
    let c = emu.client_at(Some(&looping), |o| o.limits = None);
    let mut got = 0;
    let mut s = std::pin::pin!(c.alerts(&t, &Query::new()));
    let err = loop {
        match s.try_next().await {
            Ok(Some(_)) => got += 1,
            Ok(None) => panic!("a looping link must not end quietly"),
            Err(e) => break e,
        }
    };
    assert_eq!(
        got, 2,
        "the first page and the link's page, then the repeat is refused"
    );
    assert!(matches!(err, ApiError::Paging { .. }), "{err:?}");

    let foreign = bad_pager("https://collector.example.net/api/alerts?$skip=1").await;
    let c = emu.client_at(Some(&foreign), |o| o.limits = None);
    let err = all_alerts(&c, &t, &Query::new())
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("off the API host"), "{err}");
    emu.stop().await;
}

#[tokio::test]
async fn relations_tags_intel_and_scores() {
    let emu = Emu::start(&scenario(1, 6, 20, UNLIMITED)).await;
    let c = emu.client(|_| {});
    let t = customer(0);
    let alerts = all_alerts(&c, &t, &Query::new()).await.expect("alerts");
    let a = &alerts[0];
    let m = c.alert_machine(&t, &a.id).await.expect("machine");
    assert_eq!(Some(&m.id), a.machine_id.as_ref());
    assert!(
        c.machine_alerts(&t, &m.id)
            .await
            .expect("alerts")
            .iter()
            .any(|x| x.id == a.id)
    );
    assert!(!c.logon_users(&t, &m.id).await.expect("users").is_empty());
    let files = c.alert_files(&t, &a.id).await.expect("files");
    let sha1 = files[0].sha1.clone().expect("sha1");
    assert_eq!(
        c.file(&t, &sha1).await.expect("file").sha1.as_deref(),
        Some(sha1.as_str())
    );
    assert!(
        c.file_stats(&t, &sha1)
            .await
            .expect("stats")
            .organization_prevalence
            .is_some()
    );
    assert!(
        c.ip_stats(&t, "203.0.113.9")
            .await
            .expect("ip")
            .organization_prevalence
            .is_some()
    );

    let tagged = c
        .tag_machine(&t, &m.id, "bench-x", true)
        .await
        .expect("tag");
    assert!(tagged.machine_tags.iter().any(|x| x == "bench-x"));
    let untagged = c
        .tag_machine(&t, &m.id, "bench-x", false)
        .await
        .expect("untag");
    assert!(!untagged.machine_tags.iter().any(|x| x == "bench-x"));

    assert!(c.exposure_score(&t).await.expect("score").score.is_some());
    let vulns: Vec<mdep_api::entity::Vulnerability> = c
        .vulnerabilities(&t, &Query::new().top(5))
        .try_collect()
        .await
        .expect("vulns");
    assert!(!vulns.is_empty() && vulns.len() <= 5);
    let sw: Vec<mdep_api::entity::Software> = c
        .software(&t, &Query::new())
        .try_collect()
        .await
        .expect("software");
    assert!(!sw.is_empty());
    emu.stop().await;
}

#[tokio::test]
async fn slow_answers_are_waited_for_and_timeouts_retried() {
    let emu = Emu::start(&scenario(
        1,
        4,
        12,
        &format!("{UNLIMITED}\nmde_page_size = 4"),
    ))
    .await;
    let t = customer(0);
    // Slow but within the timeout: waited for, no retry.
    emu.fault(json!({"path": "/api/alerts*", "latency_ms": 300, "count": 2}))
        .await;
    let c = emu.client_with_timeout(Duration::from_secs(2));
    assert_eq!(
        all_alerts(&c, &t, &Query::new())
            .await
            .expect("alerts")
            .len(),
        12
    );
    assert_eq!(
        c.counters()
            .retries
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    // Past the timeout twice: both retried, nothing lost.
    emu.fault(json!({"path": "/api/alerts*", "latency_ms": 3000, "count": 2}))
        .await;
    let c = emu.client_with_timeout(Duration::from_secs(1));
    assert_eq!(
        all_alerts(&c, &t, &Query::new())
            .await
            .expect("alerts")
            .len(),
        12
    );
    assert_eq!(
        c.counters()
            .retries
            .load(std::sync::atomic::Ordering::Relaxed),
        2
    );
    emu.stop().await;
}

#[tokio::test]
async fn a_token_refused_mid_run_is_replaced_once_and_a_lasting_401_fails_clearly() {
    // Grace 0: after a rotation the key that signed the cached token is gone, so the
    // API answers 401 to it, as MDE does once a signing key is rolled out.
    let emu = Emu::start(&scenario(
        2,
        3,
        5,
        &format!("{UNLIMITED}\nkey_grace_minutes = 0"),
    ))
    .await;
    let broker = TokenBroker::new(
        BrokerOptions::new(
            Cloud::Global,
            &emu.base,
            APP,
            ClientCredential::Secret(Secret::new(SECRET)),
            MDE,
            TokenVersion::V1,
        ),
        emu.http(),
    );
    let mut o = ClientOptions::new(&emu.base);
    o.retry.base_delay = Duration::from_millis(20);
    let c = Client::new(emu.http(), broker.clone(), o);
    let t = customer(0);

    assert_eq!(
        all_alerts(&c, &t, &Query::new())
            .await
            .expect("first")
            .len(),
        5
    );
    assert_eq!(broker.requests_sent(), 1);
    let stale = broker.cached(&t.id).expect("cached");

    emu.admin(reqwest::Method::POST, "/_emulator/keys/rotate", None)
        .await;
    assert_eq!(
        all_alerts(&c, &t, &Query::new())
            .await
            .expect("after rotation")
            .len(),
        5,
        "the refused token is replaced and the call goes through"
    );
    assert_eq!(broker.requests_sent(), 2, "exactly one fresh token");
    let fresh = broker.cached(&t.id).expect("fresh");
    assert_ne!(fresh.token.expose(), stale.token.expose());
    assert_eq!(emu.api_answers(401).await, 1);

    // Consent revoked: a fresh token cannot be had, and the tenant fails with
    // Entra's reason instead of looping.
    emu.admin(
        reqwest::Method::DELETE,
        &format!("/_emulator/consents/{}/{APP}", t.id),
        None,
    )
    .await;
    let err = all_alerts(&c, &t, &Query::new())
        .await
        .expect_err("revoked");
    let text = err.to_string();
    assert!(
        text.contains("401") || text.contains("AADSTS"),
        "a clear reason: {text}"
    );
    assert!(
        broker.requests_sent() <= 3,
        "one refresh at most: {}",
        broker.requests_sent()
    );
    assert_eq!(emu.api_answers(401).await, 2, "one retry, not a storm");
    emu.stop().await;
}

const GRAPH: &str = "https://graph.microsoft.com";

impl Emu {
    /// A Graph client on the emulator (tokens for `resource`), with `tune` applied.
    fn graph(&self, resource: &str, tune: impl FnOnce(&mut ClientOptions)) -> GraphClient {
        let broker = TokenBroker::new(
            BrokerOptions::new(
                Cloud::Global,
                &self.base,
                APP,
                ClientCredential::Secret(Secret::new(SECRET)),
                MDE,
                TokenVersion::V2,
            ),
            self.http(),
        );
        let mut o = ClientOptions::graph(&self.base, resource);
        o.retry.base_delay = Duration::from_millis(20);
        o.retry.max_delay = Duration::from_millis(200);
        tune(&mut o);
        GraphClient::new(self.http(), broker, o)
    }

    /// Answers the emulator counted with this status on Graph routes.
    async fn graph_answers(&self, status: u16) -> u64 {
        let v = self
            .admin(reqwest::Method::GET, "/_emulator/counters", None)
            .await;
        v["counters"]
            .as_array()
            .expect("counters")
            .iter()
            .filter(|c| {
                c["status"] == status
                    && c["route"]
                        .as_str()
                        .is_some_and(|r| r.starts_with("/v1.0") || r.starts_with("/beta"))
            })
            .map(|c| c["count"].as_u64().expect("count"))
            .sum()
    }
}

#[tokio::test]
async fn a_graph_fan_out_pages_hunts_and_stays_within_graphs_quotas() {
    // Graph allows 5 calls a minute per tenant here; each tenant needs 5 pages of alerts
    // (9 alerts, 2 a page) and one hunting query, which has its own quota.
    let emu = Emu::start(&scenario(
        20,
        3,
        9,
        "graph_calls_per_minute = 5\ngraph_hunting_calls_per_minute = 1\nmde_page_size = 2",
    ))
    .await;
    let g = emu.graph(GRAPH, |o| {
        o.limits = Some(Limits {
            per_minute: 6,
            per_hour: 0,
            hunting_per_minute: 1,
            hunting_per_hour: 0,
        })
    });
    let tenants: Vec<Tenant> = (0..20).map(customer).collect();
    let results = mdep_api::fan_out(&tenants, 20, |t| {
        let g = g.clone();
        async move {
            let alerts: Vec<_> = g.alerts(&t, &Query::new()).try_collect().await?;
            let ids: Vec<String> = alerts.iter().map(|a| a.id.clone()).collect();
            assert_unique(&ids);
            let h = g.hunt(&t, "AlertInfo | count", None).await?;
            Ok((alerts.len(), h.results[0]["Count"].as_u64()))
        }
    })
    .await;
    for r in &results {
        assert_eq!(
            r.result.as_ref().ok(),
            Some(&(9, Some(9))),
            "{}: {:?}",
            r.tenant.name,
            r.result
        );
    }
    assert_eq!(emu.graph_answers(200).await, 20 * 6);
    assert_eq!(
        emu.graph_answers(429).await,
        0,
        "the limiter kept every tenant within Graph's quotas"
    );
    // Without the limiter the service's quota answers 429, read from Graph's envelope.
    let bare = emu.graph(GRAPH, |o| {
        o.limits = None;
        o.retry.max_retry_wait = Duration::ZERO;
    });
    let e = bare
        .hunt(&customer(0), "AlertInfo | count", None)
        .await
        .expect_err("over the hunting quota");
    assert!(matches!(e, ApiError::Throttled { .. }), "{e:?}");
    assert!(emu.graph_answers(429).await > 0);
    emu.stop().await;
}

#[tokio::test]
async fn graph_incidents_page_by_50_expand_alerts_and_update() {
    let emu = Emu::start(&scenario(1, 20, 120, UNLIMITED)).await;
    let g = emu.graph(GRAPH, |_| {});
    let t = customer(0);
    let incidents: Vec<_> = g
        .incidents(&t, &Query::new(), true)
        .try_collect()
        .await
        .expect("incidents");
    assert!(
        incidents.len() > 50,
        "more than one page: {}",
        incidents.len()
    );
    let in_incidents: usize = incidents.iter().map(|i| i.alerts.len()).sum();
    assert_eq!(in_incidents, 120, "every alert in one incident");
    let ids: Vec<String> = incidents.iter().filter_map(|i| i.id.clone()).collect();
    assert_unique(&ids);
    let id = ids[0].clone();
    let one = g
        .update_incident(
            &t,
            &id,
            &json!({"status": "resolved", "customTags": ["mdep"]}),
        )
        .await
        .expect("update");
    assert_eq!(one.status.as_deref(), Some("resolved"));
    assert_eq!(one.custom_tags, vec!["mdep".to_owned()]);
    let again = g.incident(&t, &id, true).await.expect("get");
    assert!(
        again
            .alerts
            .iter()
            .all(|a| a.status.as_deref() == Some("resolved"))
    );
    // The same alert through the MDE API.
    let mde = emu.client(|_| {});
    let a = mde.alert(&t, &again.alerts[0].id).await.expect("alert");
    assert_eq!(a.status.as_deref(), Some("Resolved"));
    let q = Query::new()
        .filter_str("severity eq 'high'")
        .expect("filter");
    let high: Vec<_> = g.alerts(&t, &q).try_collect().await.expect("alerts");
    assert!(high.iter().all(|a| a.severity.as_deref() == Some("high")));
    emu.stop().await;
}

#[tokio::test]
async fn graph_errors_are_typed_with_codes_and_hints() {
    let emu = Emu::start(&scenario(1, 2, 3, UNLIMITED)).await;
    // A client asking tokens for the MDE API cannot call Graph.
    let wrong = emu.graph(MDE, |_| {});
    let e = wrong
        .alerts(&customer(0), &Query::new())
        .try_collect::<Vec<_>>()
        .await
        .expect_err("MDE token at Graph");
    assert_eq!(e.code(), Some("InvalidAuthenticationToken"), "{e}");
    assert!(e.to_string().contains("Invalid audience"), "{e}");
    assert!(e.hint().is_some(), "{e}");
    let g = emu.graph(GRAPH, |_| {});
    let e = g
        .hunt(&customer(0), "NoSuchTable | take 1", None)
        .await
        .expect_err("bad table");
    assert_eq!(e.code(), Some("BadRequest"), "{e}");
    assert!(
        matches!(
            &e,
            ApiError::Graph {
                request_id: Some(_),
                ..
            }
        ),
        "{e:?}"
    );
    let e = g.alert(&customer(0), "nope").await.expect_err("404");
    assert_eq!(e.status(), Some(404));
    emu.stop().await;
}

#[tokio::test]
async fn graph_calls_ride_out_injected_faults_and_report_lasting_ones_in_graphs_words() {
    let emu = Emu::start(&scenario(1, 2, 30, UNLIMITED)).await;
    let t = customer(0);
    emu.fault(json!({"path": "/v1.0/security/*", "status": 503, "retry_after": 0, "count": 2}))
        .await;
    emu.fault(json!({"path": "/v1.0/security/*", "status": 429, "retry_after": 0, "count": 1}))
        .await;
    let g = emu.graph(GRAPH, |o| o.limits = None);
    let alerts: Vec<_> = g
        .alerts(&t, &Query::new())
        .try_collect()
        .await
        .expect("retried through the faults");
    assert_eq!(alerts.len(), 30);
    assert_eq!(emu.graph_answers(503).await, 2);
    assert_eq!(emu.graph_answers(429).await, 1);
    // A fault that lasts fails the call with Graph's code and the request id to quote.
    emu.fault(json!({"path": "/v1.0/security/*", "status": 503, "retry_after": 0}))
        .await;
    let g = emu.graph(GRAPH, |o| {
        o.limits = None;
        o.retry.max_attempts = 2;
    });
    let e = g.alert(&t, &alerts[0].id).await.expect_err("still failing");
    let ApiError::Unavailable {
        message, attempts, ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(*attempts, 2);
    assert!(
        message.contains("503 ServiceNotAvailable") && message.contains("(request-id "),
        "{message}"
    );
    emu.stop().await;
}

/// Isolations of `machine` the service holds.
async fn isolations(c: &Client, t: &Tenant, machine: &str) -> usize {
    let q = Query::new()
        .filter_str(&format!("machineId eq '{machine}' and type eq 'Isolate'"))
        .expect("filter");
    let found: Vec<MachineAction> = c
        .machine_actions(t, &q)
        .try_collect()
        .await
        .expect("actions");
    found.len()
}

/// Indicators with this value the service holds.
async fn indicators_of(c: &Client, t: &Tenant, value: &str) -> usize {
    let q = Query::new()
        .filter_str(&format!("indicatorValue eq '{value}'"))
        .expect("filter");
    let found: Vec<mdep_api::entity::Indicator> =
        c.indicators(t, &q).try_collect().await.expect("indicators");
    found.len()
}

fn indicator(value: &str) -> Value {
    json!({"indicatorValue": value, "indicatorType": "IpAddress", "action": "Block", "title": "t", "description": "d"})
}

fn times_commented(a: &Alert, text: &str) -> usize {
    a.comments.iter().filter(|c| c["comment"] == text).count()
}

/// The isolation, the indicator and the alert update each carried out once however their
/// answers are lost, read from the emulator's counters and state.
async fn one_of_each(emu: &Emu, c: &Client, t: &Tenant, m: &str, a: &str, tag: &str) {
    let isolate = ResponseAction::Isolate {
        isolation_type: "Full".into(),
    };
    let out = c.respond(t, m, &isolate, tag).await.expect("isolate");
    assert!(matches!(out, ActionOutcome::Recovered(_)), "{tag}: {out:?}");
    assert_eq!(
        emu.handled("POST", "/api/machines/{id}/isolate").await,
        1,
        "{tag}"
    );
    assert_eq!(isolations(c, t, m).await, 1, "{tag}");

    // An upsert: sent again, still one indicator.
    let value = format!("203.0.113.{}", tag.len());
    let made = c
        .submit_indicator(t, &indicator(&value))
        .await
        .expect("indicator");
    assert_eq!(made.indicator_value.as_deref(), Some(value.as_str()));
    assert_eq!(
        emu.handled("POST", "/api/indicators").await,
        2,
        "{tag}: sent twice"
    );
    assert_eq!(indicators_of(c, t, &value).await, 1, "{tag}");

    // The alert is read instead of patched again: one PATCH, one comment.
    let update = AlertUpdate {
        status: Some("InProgress".into()),
        comment: Some(tag.into()),
        ..AlertUpdate::default()
    };
    let after = c.update_alert(t, a, &update).await.expect("update");
    assert_eq!(after.status.as_deref(), Some("InProgress"));
    assert_eq!(times_commented(&after, tag), 1, "{tag}");
    assert_eq!(emu.handled("PATCH", "/api/alerts/{id}").await, 1, "{tag}");
    assert_eq!(
        times_commented(&c.alert(t, a).await.expect("alert"), tag),
        1
    );
}

async fn reset_counters(emu: &Emu) {
    emu.admin(reqwest::Method::DELETE, "/_emulator/counters", None)
        .await;
}

async fn first_machine_and_alert(c: &Client, t: &Tenant) -> (String, String) {
    let machines: Vec<Machine> = c
        .machines(t, &Query::new())
        .try_collect()
        .await
        .expect("machines");
    let alerts = all_alerts(c, t, &Query::new()).await.expect("alerts");
    (machines[0].id.clone(), alerts[0].id.clone())
}

#[tokio::test]
async fn answers_lost_after_the_request_was_carried_out_duplicate_nothing() {
    let emu = Emu::start(&scenario(1, 3, 4, UNLIMITED)).await;
    let c = emu.client(|_| {});
    let t = customer(0);
    let (m, a) = first_machine_and_alert(&c, &t).await;
    for path in [
        "/api/machines/*/isolate",
        "/api/indicators",
        "/api/alerts/*",
    ] {
        emu.fault(json!({"path": path, "drop_after": true, "count": 1}))
            .await;
    }
    reset_counters(&emu).await;
    one_of_each(&emu, &c, &t, &m, &a, "answer dropped").await;

    // A call that cannot be checked or repeated safely ends in a clear error.
    emu.fault(json!({"path": "/api/alerts/batchUpdate", "drop_after": true, "count": 1}))
        .await;
    let update = AlertUpdate {
        comment: Some("batch".into()),
        ..AlertUpdate::default()
    };
    let err = c
        .batch_update_alerts(&t, std::slice::from_ref(&a), &update)
        .await
        .expect_err("lost");
    assert!(matches!(err, ApiError::Uncertain { .. }), "{err:?}");
    assert!(
        err.to_string().contains("may have been carried out"),
        "{err}"
    );
    assert_eq!(emu.handled("POST", "/api/alerts/batchUpdate").await, 1);
    emu.stop().await;
}

#[tokio::test]
async fn stalled_bodies_are_waited_for_and_past_the_timeout_resent_only_where_safe() {
    let emu = Emu::start(&scenario(1, 3, 4, UNLIMITED)).await;
    let c = emu.client_with_timeout(Duration::from_secs(1));
    let t = customer(0);
    let (m, a) = first_machine_and_alert(&c, &t).await;
    let retries = |c: &Client| {
        c.counters()
            .retries
            .load(std::sync::atomic::Ordering::Relaxed)
    };

    // A stall shorter than the timeout: waited for.
    emu.fault(json!({"path": "/api/alerts", "slow_body_ms": 300, "count": 1}))
        .await;
    assert_eq!(
        all_alerts(&c, &t, &Query::new())
            .await
            .expect("alerts")
            .len(),
        4
    );
    assert_eq!(retries(&c), 0);
    // Longer: a read is sent again.
    emu.fault(json!({"path": "/api/alerts", "slow_body_ms": 3000, "count": 1}))
        .await;
    assert_eq!(
        all_alerts(&c, &t, &Query::new())
            .await
            .expect("alerts")
            .len(),
        4
    );
    assert_eq!(retries(&c), 1);

    // Changes: carried out once each.
    for path in [
        "/api/machines/*/isolate",
        "/api/indicators",
        "/api/alerts/*",
    ] {
        emu.fault(json!({"path": path, "slow_body_ms": 3000, "count": 1}))
            .await;
    }
    reset_counters(&emu).await;
    one_of_each(&emu, &c, &t, &m, &a, "answer stalled").await;
    emu.stop().await;
}

/// A page's body cut off halfway, after the pager has already handed out the alerts
/// of its first half: the page is read again, those alerts passed over, and the list
/// comes out whole with none twice.
#[tokio::test]
async fn a_page_cut_off_midway_is_read_again_without_repeating_what_was_handed_out() {
    let emu = Emu::start(&scenario(1, 4, 2_000, UNLIMITED)).await;
    let t = customer(0);
    // Windows of 1,000: the page cut off is a full one, and the next window starts
    // where it really ended.
    let c = emu.client_timed(Duration::from_secs(1), |o| o.page_size = 1_000);
    let whole = all_alerts(&c, &t, &Query::new()).await.expect("alerts");
    assert_eq!(whole.len(), 2_000);
    let retries = |c: &Client| {
        c.counters()
            .retries
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    assert_eq!(retries(&c), 0);

    emu.fault(json!({"path": "/api/alerts", "slow_body_ms": 3000, "count": 1}))
        .await;
    let mut stream = std::pin::pin!(c.alerts(&t, &Query::new()));
    let mut ids = Vec::new();
    while let Some(a) = stream.next().await {
        ids.push(a.expect("alert").id);
        // The first half of the body is there before the stall: alerts come out of it
        // before the read times out.
        if ids.len() == 1 {
            assert_eq!(retries(&c), 0, "the first alert waited for the whole body");
        }
    }
    assert_eq!(retries(&c), 1);
    assert_unique(&ids);
    let before: Vec<String> = whole.into_iter().map(|a| a.id).collect();
    assert_eq!(ids, before, "the same alerts in the same order");
    emu.stop().await;
}

/// Vulnerability management reads through the typed client (`mde-api.md` §4.4, §4.8).
#[tokio::test]
async fn tvm_reads() {
    let emu = Emu::start(&scenario(1, 6, 4, UNLIMITED)).await;
    let c = emu.client(|_| {});
    let t = customer(0);
    let machines: Vec<mdep_api::entity::Machine> = c
        .machines(&t, &Query::new())
        .try_collect()
        .await
        .expect("machines");
    let m = &machines[0];
    let ip: std::net::IpAddr = m
        .last_ip_address
        .as_deref()
        .expect("ip")
        .parse()
        .expect("ip");
    let seen = time::OffsetDateTime::parse(
        m.last_seen.as_deref().expect("seen"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("time");
    let found = c.machines_by_ip(&t, ip, seen).await.expect("findbyip");
    assert!(found.iter().any(|x| x.id == m.id));

    let recs: Vec<mdep_api::entity::Recommendation> = c
        .recommendations(&t, &Query::new())
        .try_collect()
        .await
        .expect("recommendations");
    let r = &recs[0];
    let rid = r.id.clone().expect("id");
    let one = c.recommendation(&t, &rid).await.expect("recommendation");
    assert_eq!(one.id.as_deref(), Some(rid.as_str()));
    assert_eq!(one.exposed_machines_count, r.exposed_machines_count);
    assert_eq!(
        c.recommendation_software(&t, &rid)
            .await
            .expect("software")
            .len(),
        1
    );
    assert!(
        !c.recommendation_vulnerabilities(&t, &rid)
            .await
            .expect("cves")
            .is_empty()
    );
    let refs = c.recommendation_machines(&t, &rid).await.expect("machines");
    let mid = refs[0]["id"].as_str().expect("machine");
    assert!(
        c.machine_recommendations(&t, mid)
            .await
            .expect("mine")
            .iter()
            .any(|x| x.id.as_deref() == Some(rid.as_str()))
    );

    let sw = c.machine_software(&t, mid).await.expect("software");
    let sid = sw[0].id.clone().expect("software id");
    assert_eq!(
        c.software_by_id(&t, &sid).await.expect("one").id.as_deref(),
        Some(sid.as_str())
    );
    assert!(
        !c.software_distributions(&t, &sid)
            .await
            .expect("dist")
            .is_empty()
    );
    assert!(
        c.software_machines(&t, &sid)
            .await
            .expect("refs")
            .iter()
            .any(|m| m["id"] == mid)
    );
    c.software_missing_kbs(&t, &sid).await.expect("kbs");
    c.machine_missing_kbs(&t, mid).await.expect("kbs");
    let cves = c.machine_vulnerabilities(&t, mid).await.expect("cves");
    let cve = cves[0].id.clone().expect("cve");
    assert_eq!(
        c.vulnerability(&t, &cve).await.expect("cve").id.as_deref(),
        Some(cve.as_str())
    );
    assert!(
        c.vulnerability_machines(&t, &cve)
            .await
            .expect("refs")
            .iter()
            .any(|m| m["id"] == mid)
    );
    let pairs: Vec<Value> = c
        .machines_vulnerabilities(
            &t,
            &Query::new()
                .filter_str(&format!("machineId eq '{mid}'"))
                .expect("filter"),
        )
        .try_collect()
        .await
        .expect("pairs");
    assert_eq!(pairs.len(), cves.len());

    let whole = c.assessment_by_machine(&t, None).await.expect("assessment");
    let paged = c.assessment_by_machine(&t, Some(3)).await.expect("paged");
    assert!(whole.len() > 3);
    assert_eq!(whole, paged);
    let export = c.assessment_export(&t, 1).await.expect("export");
    let link = export["exportFiles"][0].as_str().expect("a link");
    assert!(c.trusted(link), "served by the emulator: {link}");

    let tasks: Vec<Value> = c
        .remediation_tasks(&t, &Query::new())
        .try_collect()
        .await
        .expect("tasks");
    for task in &tasks {
        let id = task["id"].as_str().expect("id");
        assert_eq!(c.remediation_task(&t, id).await.expect("task")["id"], id);
        let refs = c.remediation_task_machines(&t, id).await.expect("machines");
        assert_eq!(Some(refs.len() as u64), task["targetDevices"].as_u64());
    }
    emu.stop().await;
}

#[tokio::test]
async fn an_investigation_started_through_the_client_is_listed() {
    let emu = Emu::start(&scenario(1, 3, 3, UNLIMITED)).await;
    let c = emu.client(|_| {});
    let t = customer(0);
    let machines: Vec<Machine> = c
        .machines(&t, &Query::new())
        .try_collect()
        .await
        .expect("machines");
    let m = &machines[0];
    let inv = c
        .start_investigation(&t, &m.id, "suspicious logons")
        .await
        .expect("start");
    assert_eq!(inv.state.as_deref(), Some("Running"));
    assert_eq!(inv.machine_id.as_deref(), Some(m.id.as_str()));
    let id = inv.id.clone().expect("id");
    let listed: Vec<mdep_api::entity::Investigation> = c
        .investigations(&t, &Query::new())
        .try_collect()
        .await
        .expect("list");
    assert!(listed.iter().any(|i| i.id.as_deref() == Some(id.as_str())));
    let err = c
        .start_investigation(&t, "0000000000000000000000000000000000000000", "x")
        .await
        .expect_err("unknown machine");
    assert_eq!(err.code(), Some("ResourceNotFound"), "{err}");
    emu.stop().await;
}

#[tokio::test]
async fn an_alert_by_reference_from_a_hunting_event() {
    let emu = Emu::start(&scenario(1, 3, 4, UNLIMITED)).await;
    let c = emu.client(|_| {});
    let t = customer(0);
    let r = c
        .hunt(
            &t,
            "DeviceProcessEvents | project ReportId, Timestamp, DeviceId | take 1",
        )
        .await
        .expect("hunt");
    let row = &r.results[0];
    let mut req = mdep_api::AlertByReference {
        event_time: row["Timestamp"].as_str().expect("Timestamp").to_owned(),
        report_id: row["ReportId"].to_string(),
        machine_id: row["DeviceId"].as_str().expect("DeviceId").to_owned(),
        severity: "High".into(),
        title: "Raised by the partner".into(),
        description: "from a hunting query".into(),
        recommended_action: "isolate".into(),
        category: "Malware".into(),
    };
    let a = c.create_alert_by_reference(&t, &req).await.expect("create");
    assert_eq!(a.title.as_deref(), Some("Raised by the partner"));
    let again = c.create_alert_by_reference(&t, &req).await.expect("merge");
    assert_eq!(again.id, a.id, "merged into the open alert");
    req.report_id = "999999".into();
    let err = c
        .create_alert_by_reference(&t, &req)
        .await
        .expect_err("no such event");
    assert_eq!(err.code(), Some("ResourceNotFound"), "{err}");
    emu.stop().await;
}

#[tokio::test]
async fn an_investigation_package_link_once_collected() {
    let emu = Emu::start(&scenario(
        1,
        2,
        2,
        &format!("{UNLIMITED}\nmachine_action_seconds = 0"),
    ))
    .await;
    let c = emu.client(|_| {});
    let t = customer(0);
    let machines: Vec<Machine> = c
        .machines(&t, &Query::new())
        .try_collect()
        .await
        .expect("machines");
    let done = c
        .respond(&t, &machines[0].id, &ResponseAction::Collect, "collect")
        .await
        .expect("collect");
    let link = c.package_uri(&t, &done.action().id).await.expect("link");
    assert!(
        link.starts_with(&emu.base),
        "served by the emulator: {link}"
    );
    let zip = c.fetch_signed(&t, &link).await.expect("download");
    assert!(zip.starts_with(b"PK\x03\x04"), "a zip archive");
    // The signature is the credential: a link whose signature is cut off is refused.
    let unsigned = link.split("sig=").next().expect("link");
    assert!(c.fetch_signed(&t, unsigned).await.is_err());
    let err = c
        .fetch_signed(&t, "http://blob.example.net/package.zip?sig=SECRETSIG")
        .await
        .expect_err("plain http off the API host");
    assert!(err.to_string().contains("https"), "{err}");
    assert!(!err.to_string().contains("SECRETSIG"), "{err}");
    // Nothing listens there: the error says so without the link's signature.
    let err = c
        .fetch_signed(&t, "https://127.0.0.1:1/package.zip?sig=SECRETSIG")
        .await
        .expect_err("no server");
    assert!(matches!(err, ApiError::Unavailable { .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("SECRETSIG"), "{err:?}");
    let err = c
        .package_uri(&t, "00000000-0000-0000-0000-000000000000")
        .await
        .expect_err("no such action");
    assert_eq!(err.code(), Some("ResourceNotFound"), "{err}");
    emu.stop().await;
}

#[tokio::test]
async fn the_live_response_library_through_the_client() {
    let emu = Emu::start(&scenario(1, 1, 1, UNLIMITED)).await;
    let c = emu.client(|_| {});
    let t = customer(0);
    assert!(c.library_files(&t).await.expect("list").is_empty());
    let err = c
        .delete_library_file(&t, "missing.ps1")
        .await
        .expect_err("not in the library");
    assert_eq!(err.code(), Some("ResourceNotFound"), "{err}");

    let mut up = script("collect.ps1", b"param($Path)\r\nGet-ChildItem $Path\r\n");
    up.has_parameters = true;
    up.parameters_description = Some("-Path: the folder".into());
    let f = c.upload_library_file(&t, &up).await.expect("upload");
    assert_eq!(f.file_name, "collect.ps1");
    assert_eq!(f.description.as_deref(), Some("lists a folder"));
    assert_eq!(f.has_parameters, Some(true));
    assert_eq!(
        f.parameters_description.as_deref(),
        Some("-Path: the folder")
    );
    assert_eq!(f.sha256.as_deref(), Some(sha256_hex(&up.bytes).as_str()));
    let listed = c.library_files(&t).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (
            &listed[0].file_name,
            &listed[0].sha256,
            &listed[0].creation_time
        ),
        (&f.file_name, &f.sha256, &f.creation_time),
        "listed as uploaded"
    );

    // The same name again: refused, unless it may replace the file.
    up.bytes = b"Get-Date".to_vec();
    let err = c.upload_library_file(&t, &up).await.expect_err("exists");
    assert_eq!(err.code(), Some("BadRequest"), "{err}");
    up.override_if_exists = true;
    let replaced = c.upload_library_file(&t, &up).await.expect("override");
    assert_eq!(
        replaced.sha256.as_deref(),
        Some(sha256_hex(b"Get-Date").as_str())
    );
    assert_eq!(c.library_files(&t).await.expect("list").len(), 1);

    // Over MDE's 20 MB: refused before anything is sent.
    reset_counters(&emu).await;
    let big = script(
        "big.ps1",
        &vec![b'#'; mdep_api::mde::response::LIBRARY_MAX_BYTES + 1],
    );
    let err = c.upload_library_file(&t, &big).await.expect_err("too big");
    assert!(matches!(err, ApiError::Invalid(_)), "{err:?}");
    assert!(err.to_string().contains("20 MB"), "{err}");
    assert_eq!(emu.handled("POST", "/api/libraryfiles").await, 0);

    c.delete_library_file(&t, "collect.ps1")
        .await
        .expect("delete");
    assert!(c.library_files(&t).await.expect("list").is_empty());
    emu.stop().await;
}

/// An upload of `name` with `bytes`, described as "lists a folder".
fn script(name: &str, bytes: &[u8]) -> mdep_api::LibraryUpload {
    mdep_api::LibraryUpload {
        file_name: name.into(),
        bytes: bytes.to_vec(),
        description: "lists a folder".into(),
        has_parameters: false,
        parameters_description: None,
        override_if_exists: false,
    }
}

fn sha256_hex(b: &[u8]) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b);
    d.as_ref().iter().map(|x| format!("{x:02x}")).collect()
}

#[tokio::test]
async fn a_library_upload_is_carried_out_once_whatever_happens_to_its_answer() {
    let emu = Emu::start(&scenario(1, 1, 1, UNLIMITED)).await;
    let c = emu.client(|_| {});
    let t = customer(0);
    let throttled = |c: &Client| {
        c.counters()
            .throttled
            .load(std::sync::atomic::Ordering::Relaxed)
    };

    // Refused with a 429 before it was handled: sent again, the same form, whole.
    emu.fault(json!({"path": "/api/libraryfiles", "status": 429, "retry_after": 0, "count": 1}))
        .await;
    reset_counters(&emu).await;
    let up = script("a.ps1", &[0u8, 13, 10, 45, 45, 255, 1]);
    let f = c.upload_library_file(&t, &up).await.expect("after a 429");
    assert_eq!(f.sha256.as_deref(), Some(sha256_hex(&up.bytes).as_str()));
    assert_eq!(throttled(&c), 1);
    assert_eq!(emu.handled("POST", "/api/libraryfiles").await, 1);

    // Handled, then the answer lost: not sent again; the library shows the file.
    emu.fault(json!({"path": "/api/libraryfiles", "drop_after": true, "count": 1}))
        .await;
    reset_counters(&emu).await;
    let up = script("b.ps1", b"Write-Output b");
    let f = c
        .upload_library_file(&t, &up)
        .await
        .expect("found after a lost answer");
    assert_eq!(f.file_name, "b.ps1");
    assert_eq!(emu.handled("POST", "/api/libraryfiles").await, 1);

    // A 503 may come after the upload was carried out: not sent again, and said so.
    emu.fault(json!({"path": "/api/libraryfiles", "status": 503, "count": 1}))
        .await;
    reset_counters(&emu).await;
    let err = c
        .upload_library_file(&t, &script("c.ps1", b"Write-Output c"))
        .await
        .expect_err("uncertain");
    assert!(matches!(err, ApiError::Uncertain { .. }), "{err:?}");
    assert_eq!(emu.api_answers(503).await, 1, "sent once");
    let names: Vec<String> = c
        .library_files(&t)
        .await
        .expect("list")
        .into_iter()
        .map(|f| f.file_name)
        .collect();
    assert_eq!(names, ["a.ps1", "b.ps1"]);
    emu.stop().await;
}

#[tokio::test]
async fn graph_hunting_by_get_answers_as_the_post() {
    let emu = Emu::start(&scenario(1, 5, 5, UNLIMITED)).await;
    let g = emu.graph(GRAPH, |_| {});
    let t = customer(0);
    // A quote, a pipe, spaces and a slash in the timespan travel as the literal asks.
    let q = "DeviceInfo | where DeviceName != \"it's\" | project DeviceName | take 3";
    let post = g.hunt(&t, q, Some("P30D")).await.expect("post");
    let get = g.hunt_get(&t, q, Some("P30D")).await.expect("get");
    assert_eq!(get.results.len(), 3);
    assert_eq!(get.results, post.results);
    assert_eq!(get.schema, post.schema);
    let none = g
        .hunt_get(&t, "AlertInfo | count", Some("2001-01-01T00:00:00Z/P1D"))
        .await
        .expect("an empty window");
    assert_eq!(none.results[0]["Count"], 0);
    let e = g
        .hunt_get(&t, "NoSuchTable | take 1", None)
        .await
        .expect_err("a bad query");
    assert!(e.to_string().contains("NoSuchTable"), "{e}");
    emu.stop().await;
}

/// Every assessment export through one typed API: JSON pages, and the files, downloaded
/// without a token and gunzipped to the same rows (`get-assessment-*.md`).
#[tokio::test]
async fn every_assessment_by_json_and_by_files() {
    use mdep_api::mde::assessment::{Assessment, download_part};
    let emu = Emu::start(&scenario(1, 6, 2, UNLIMITED)).await;
    let c = emu.client(|_| {});
    let t = customer(0);
    let http = emu.http();
    for a in Assessment::ALL {
        assert_eq!(Assessment::from_name(a.name()), Some(a));
        if a.needs_since() {
            let err = c.assessment(&t, a, None, None).await.expect_err("since");
            assert!(matches!(err, mdep_api::ApiError::Invalid(_)), "{err}");
            let since = time::OffsetDateTime::now_utc() - time::Duration::days(14);
            let rows = c.assessment(&t, a, None, Some(since)).await.expect("rows");
            let paged = c
                .assessment(&t, a, Some(2), Some(since))
                .await
                .expect("paged");
            assert!(!rows.is_empty());
            assert_eq!(rows, paged, "{a}");
            assert!(c.assessment_files(&t, a, None).await.is_err(), "{a}");
            continue;
        }
        let whole = c.assessment(&t, a, None, None).await.expect("rows");
        let paged = c.assessment(&t, a, Some(3), None).await.expect("paged");
        assert!(whole.len() > 3, "{a}: {}", whole.len());
        assert_eq!(whole, paged, "{a}");
        let files = c
            .assessment_files(&t, a, Some(a.max_sas_hours()))
            .await
            .expect("files");
        assert!(files.generated_time.is_some());
        let mut rows = Vec::new();
        for link in &files.export_files {
            let part = download_part(&http, &t, link).await.expect("part");
            assert!(!part.bytes.is_empty());
            rows.extend(part.rows);
        }
        assert_eq!(rows, whole, "{a}");
        let err = c
            .assessment_files(&t, a, Some(a.max_sas_hours() + 1))
            .await
            .expect_err("hours");
        assert!(matches!(err, mdep_api::ApiError::Invalid(_)), "{err}");
        // A forged link is refused by the server and reported as such.
        let forged = files.export_files[0].replace("sig=", "sig=x");
        let err = download_part(&http, &t, &forged).await.expect_err("forged");
        assert!(err.to_string().contains("403"), "{err}");
    }
    emu.stop().await;
}

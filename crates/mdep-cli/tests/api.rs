//! The MDE API commands as a user runs them, against the emulator binary: lists across
//! tenants in every output format, a failing tenant in the summary and exit code 3,
//! filters, response actions followed with --wait, confirmation, hunting, indicators
//! and raw calls; and no token in any output.

mod common;
use common::*;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Stdio};

const PARTNER: &str = "11111111-1111-1111-1111-111111111111";
const APP: &str = "44444444-4444-4444-4444-444444444444";
const SECRET: &str = "abc8Q~0123456789abcdefghijklmnopqrstuvw";
const UNCONSENTED: &str = "99999999-0000-4000-8000-000000000000";

fn tenant_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

/// Three consented customers with 8 devices and 20 alerts each, one that never consented;
/// `licences` gives some customers a licence other than Plan 2; `emulator` adds keys to
/// `[emulator]` (a `clock`).
fn scenario(licences: &[(usize, &str)], emulator: &str) -> String {
    let mut s = format!(
        "[emulator]\n{emulator}\nadmin_key = \"cli-api-test-admin-key-0123456\"\nmde_page_size = 3\nmachine_action_seconds = 1\n\
         mde_calls_per_minute = 100000\nmde_calls_per_hour = 1000000\n\n\
         [[tenants]]\nid = \"{PARTNER}\"\nname = \"Fabrikam\"\ndomain = \"fabrikam.onmicrosoft.com\"\nadmin = {{ user = \"admin@fabrikam.onmicrosoft.com\", password = \"p\" }}\n\n\
         [[tenants]]\nid = \"{UNCONSENTED}\"\nname = \"Woodgrove\"\ndomain = \"woodgrove.onmicrosoft.com\"\nadmin = {{ user = \"admin@woodgrove.onmicrosoft.com\", password = \"p\" }}\n"
    );
    for i in 0..3 {
        s.push_str(&format!(
            "\n[[tenants]]\nid = \"{}\"\nname = \"Customer{i}\"\ndomain = \"customer{i}.onmicrosoft.com\"\nadmin = {{ user = \"admin@customer{i}.onmicrosoft.com\", password = \"p\" }}\ndevices = 8\nalerts = 20\nseed = {i}\n{}",
            tenant_id(i),
            licences
                .iter()
                .find(|(n, _)| *n == i)
                .map(|(_, l)| format!("licence = \"{l}\"\n"))
                .unwrap_or_default()
        ));
    }
    s.push_str(&format!(
        "\n[[apps]]\nclient_id = \"{APP}\"\nname = \"Fabrikam SOC\"\nhome_tenant = \"{PARTNER}\"\n\
         permissions = [\"Alert.ReadWrite.All\", \"Machine.ReadWrite.All\", \"Machine.Isolate\", \"Machine.Scan\", \"Ti.ReadWrite.All\", \"AdvancedQuery.Read.All\", \"Software.Read.All\", \"Vulnerability.Read.All\", \"SecurityRecommendation.Read.All\", \"RemediationTasks.Read.All\", \"Score.Read.All\", \"Library.Manage\", \"Machine.CollectForensics\", \"Machine.LiveResponse\"]\n\
         graph_permissions = [\"ThreatHunting.Read.All\", \"SecurityAlert.ReadWrite.All\", \"SecurityIncident.ReadWrite.All\"]\n\
         secrets = [{{ value = \"{SECRET}\" }}]\n"
    ));
    for i in 0..3 {
        s.push_str(&format!(
            "\n[[consents]]\ntenant = \"{}\"\napp = \"{APP}\"\n",
            tenant_id(i)
        ));
    }
    s
}

struct Env {
    _tmp: tempfile::TempDir,
    config: PathBuf,
    home: PathBuf,
    _server: Server,
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}\n{}", self.stdout, self.stderr))
    }
    fn lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

impl Env {
    fn new() -> Self {
        Self::with(&[], "")
    }

    fn with_licences(licences: &[(usize, &str)]) -> Self {
        Self::with(licences, "")
    }

    fn with(licences: &[(usize, &str)], emulator: &str) -> Self {
        let tmp = tempfile::tempdir().expect("tmp");
        let state = tmp.path().join("state");
        let scenario_file = tmp.path().join("scenario.toml");
        std::fs::write(&scenario_file, scenario(licences, emulator)).expect("scenario");
        let server = start(
            &state,
            &["--scenario", scenario_file.to_str().expect("utf8")],
        );
        let base = server.ready["base_url"].as_str().expect("base").to_owned();
        let home = tmp.path().join("home");
        std::fs::create_dir_all(&home).expect("home");
        let config = tmp.path().join("config.toml");
        let mut text = format!(
            "authority_host = \"{base}\"\napi_base = \"{base}\"\ngraph_base = \"{base}\"\nca_file = \"{}\"\ntoken_version = \"v2\"\n\n\
             [partner]\nclient_id = \"{APP}\"\nsecret_env = \"MDEP_CLIENT_SECRET\"\n\n\
             [api]\ncompany = \"Fabrikam\"\nproduct = \"SOC\"\n",
            state.join("ca.pem").display()
        );
        for i in 0..3 {
            text.push_str(&format!(
                "\n[[tenants]]\nname = \"Customer{i}\"\ntenant = \"{}\"\ntags = [\"ok\"]\n",
                tenant_id(i)
            ));
        }
        text.push_str(&format!(
            "\n[[tenants]]\nname = \"Woodgrove\"\ntenant = \"{UNCONSENTED}\"\n"
        ));
        std::fs::write(&config, text).expect("config");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600))
                .expect("chmod");
        }
        Self {
            _tmp: tmp,
            config,
            home,
            _server: server,
        }
    }

    fn run(&self, args: &[&str]) -> Out {
        self.run_env(args, &[])
    }

    fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Out {
        let out = Command::new(BIN)
            .args(args)
            .envs(env.iter().copied())
            .env("MDEP_CONFIG", &self.config)
            .env("MDEP_CLIENT_SECRET", SECRET)
            .env("HOME", &self.home)
            .env("XDG_CACHE_HOME", self.home.join("cache"))
            .env_remove("MDEP_LOG")
            .stdin(Stdio::null())
            .output()
            .expect("run mdep");
        let o = Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        // A JWT starts with eyJ: no token, whole or in part, is ever printed.
        assert!(
            !o.stdout.contains("eyJ") && !o.stderr.contains("eyJ"),
            "a token was printed"
        );
        assert!(!o.stdout.contains(SECRET) && !o.stderr.contains(SECRET));
        o
    }
}

#[test]
fn alerts_across_tenants_in_every_format() {
    let env = Env::new();
    let rows = env
        .run(&["alerts", "list", "--tag", "ok", "-o", "jsonl"])
        .ok()
        .lines();
    assert_eq!(rows.len(), 60, "20 alerts in each of 3 tenants, pages of 3");
    for i in 0..3 {
        let name = format!("Customer{i}");
        let mine: Vec<_> = rows
            .iter()
            .filter(|r| r["tenant"] == name.as_str())
            .collect();
        assert_eq!(mine.len(), 20, "{name}");
        let ids: std::collections::HashSet<_> =
            mine.iter().map(|r| r["id"].as_str().expect("id")).collect();
        assert_eq!(ids.len(), 20, "no alert twice in {name}");
        assert!(
            mine.iter()
                .all(|r| r["aadTenantId"] == tenant_id(i).as_str())
        );
    }
    // The keys of every row: `tenant` first, then the alert's own fields.
    let first = rows[0].as_object().expect("object");
    assert_eq!(first.keys().next().map(String::as_str), Some("tenant"));

    let json = env
        .run(&["alerts", "list", "--tag", "ok", "-o", "json"])
        .ok();
    assert_eq!(json.json().as_array().expect("array").len(), 60);
    assert!(
        json.stderr.contains("Customer0: 20 rows"),
        "{}",
        json.stderr
    );

    let csv = env
        .run(&["alerts", "list", "--tenant", "Customer1", "-o", "csv"])
        .ok();
    let lines: Vec<&str> = csv.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "tenant,id,severity,status,alertCreationTime,computerDnsName,title"
    );
    assert_eq!(lines.len(), 21);
    assert!(lines[1..].iter().all(|l| l.starts_with("Customer1,")));

    let table = env
        .run(&["alerts", "list", "--tenant", "Customer2", "--top", "4"])
        .ok();
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        [
            "TENANT", "ALERT", "SEVERITY", "STATUS", "CREATED", "DEVICE", "TITLE"
        ]
    );
    assert!(lines[1].starts_with("Customer2  da"), "{}", table.stdout);
    assert_eq!(lines.len(), 5, "a header and --top 4 rows");
}

#[test]
fn a_failing_tenant_is_summarized_and_the_others_still_answer() {
    let env = Env::new();
    let o = env.run(&["alerts", "list", "--all-tenants", "-o", "jsonl"]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert_eq!(
        o.lines().len(),
        60,
        "the consented tenants' rows are all there"
    );
    assert!(o.stderr.contains("Woodgrove: failed:"), "{}", o.stderr);
    assert!(
        o.stderr.contains("AADSTS700016") || o.stderr.contains("consent"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("Customer2: 20 rows"), "{}", o.stderr);
    assert!(o.stderr.contains("1 of 4 tenants failed"), "{}", o.stderr);

    let o = env.run(&["alerts", "list"]);
    assert_eq!(o.code, 1);
    assert!(
        o.stderr.contains("--all-tenants"),
        "several tenants: say how to choose: {}",
        o.stderr
    );
}

#[test]
fn filters_are_checked_and_applied() {
    let env = Env::new();
    let high = env
        .run(&[
            "alerts",
            "list",
            "--tag",
            "ok",
            "--severity",
            "High",
            "-o",
            "jsonl",
        ])
        .ok()
        .lines();
    assert!(!high.is_empty() && high.len() < 60);
    assert!(high.iter().all(|r| r["severity"] == "High"));
    let same = env
        .run(&[
            "alerts",
            "list",
            "--tag",
            "ok",
            "--filter",
            "severity eq 'High'",
            "-o",
            "jsonl",
        ])
        .ok()
        .lines();
    assert_eq!(same.len(), high.len());
    let bad = env.run(&["alerts", "list", "--tag", "ok", "--filter", "severity eq"]);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("--filter"), "{}", bad.stderr);
    // Generated alerts all lie before 2026-11-01: none in the last hour.
    let recent = env
        .run(&[
            "alerts", "list", "--tag", "ok", "--since", "1h", "-o", "json",
        ])
        .ok();
    assert_eq!(recent.json(), serde_json::json!([]));
}

#[test]
fn isolate_with_wait_follows_the_action_to_its_end() {
    let env = Env::new();
    let machines = env
        .run(&["machines", "list", "--tenant", "Customer0", "-o", "json"])
        .ok()
        .json();
    let machines = machines.as_array().expect("array");
    assert_eq!(machines.len(), 8);
    let id = machines[0]["id"].as_str().expect("id");
    let o = env
        .run(&[
            "machine",
            "isolate",
            id,
            "--tenant",
            "Customer0",
            "--comment",
            "incident 42",
            "--wait",
            "--poll",
            "0.2",
            "-o",
            "json",
        ])
        .ok();
    let rows = o.json();
    assert_eq!(rows[0]["status"], "Succeeded", "{}", o.stderr);
    assert_eq!(rows[0]["type"], "Isolate");
    assert_eq!(rows[0]["outcome"], "created");
    assert!(
        o.stderr.contains("Isolate Pending") && o.stderr.contains("Isolate Succeeded"),
        "{}",
        o.stderr
    );

    // Two devices need a confirmation; without a terminal, --yes.
    let (a, b) = (
        machines[1]["id"].as_str().expect("id"),
        machines[2]["id"].as_str().expect("id"),
    );
    let o = env.run(&[
        "machine",
        "isolate",
        a,
        b,
        "--tenant",
        "Customer0",
        "--comment",
        "x",
    ]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("--yes"), "{}", o.stderr);
    let o = env
        .run(&[
            "machine",
            "isolate",
            a,
            b,
            "--tenant",
            "Customer0",
            "--comment",
            "x",
            "--yes",
            "-o",
            "jsonl",
        ])
        .ok();
    assert_eq!(o.lines().len(), 2);
    // Again at once: reported as already running, not an error.
    let o = env
        .run(&[
            "machine",
            "isolate",
            a,
            "--tenant",
            "Customer0",
            "--comment",
            "x",
            "-o",
            "jsonl",
        ])
        .ok();
    assert_eq!(o.lines()[0]["outcome"], "already running", "{}", o.stderr);

    let actions = env
        .run(&[
            "actions",
            "list",
            "--tenant",
            "Customer0",
            "--filter",
            "type eq 'Isolate'",
            "-o",
            "jsonl",
        ])
        .ok()
        .lines();
    assert_eq!(
        actions.len(),
        3,
        "one isolation per device, none duplicated"
    );
}

#[test]
fn hunting_indicators_and_raw_calls() {
    let env = Env::new();
    let h = env
        .run(&["hunt", "DeviceInfo | take 2", "--tag", "ok", "-o", "jsonl"])
        .ok()
        .lines();
    assert_eq!(h.len(), 6);
    let csv = env
        .run(&[
            "hunt",
            "DeviceInfo | take 1 | project DeviceId, DeviceName",
            "--tenant",
            "Customer0",
            "-o",
            "csv",
        ])
        .ok();
    assert_eq!(
        csv.stdout.lines().next(),
        Some("tenant,DeviceId,DeviceName")
    );

    let added = env
        .run(&[
            "indicators",
            "add",
            "--tag",
            "ok",
            "--type",
            "IpAddress",
            "--value",
            "203.0.113.7",
            "--action",
            "Block",
            "--title",
            "C2",
            "--description",
            "incident 42",
            "-o",
            "jsonl",
        ])
        .ok()
        .lines();
    assert_eq!(added.len(), 3);
    let id = added[0]["id"].as_str().expect("id").to_owned();
    let listed = env
        .run(&["indicators", "list", "--tenant", "Customer0", "-o", "jsonl"])
        .ok()
        .lines();
    assert!(listed.iter().any(|i| i["indicatorValue"] == "203.0.113.7"));
    env.run(&["indicators", "delete", &id, "--tenant", "Customer0"])
        .ok();
    let after = env
        .run(&["indicators", "list", "--tenant", "Customer0", "-o", "jsonl"])
        .ok()
        .lines();
    assert_eq!(after.len(), listed.len() - 1);

    let raw = env
        .run(&["api", "GET", "/api/machines", "--tenant", "Customer1"])
        .ok()
        .json();
    assert_eq!(raw.as_array().expect("items, every page").len(), 8);
    let one = env
        .run(&["api", "GET", "/api/alerts?$top=1", "--tenant", "Customer1"])
        .ok()
        .json();
    assert_eq!(one.as_array().expect("array").len(), 1);
    // The TVM paths go through as given: OData function syntax, exports' next links.
    let m = &raw[0];
    let at = m["lastSeen"]
        .as_str()
        .expect("lastSeen")
        .get(..19)
        .expect("time");
    let found = env
        .run(&[
            "api",
            "GET",
            &format!(
                "/api/machines/findbyip(ip='{}',timestamp={at}Z)",
                m["lastIpAddress"].as_str().expect("ip")
            ),
            "--tenant",
            "Customer1",
        ])
        .ok()
        .json();
    assert!(
        found
            .as_array()
            .expect("machines")
            .iter()
            .any(|x| x["id"] == m["id"])
    );
    let whole = env
        .run(&[
            "api",
            "GET",
            "/api/machines/SoftwareVulnerabilitiesByMachine",
            "--tenant",
            "Customer1",
        ])
        .ok()
        .json();
    let paged = env
        .run(&[
            "api",
            "GET",
            "/api/machines/SoftwareVulnerabilitiesByMachine?pageSize=2",
            "--tenant",
            "Customer1",
        ])
        .ok()
        .json();
    assert!(whole.as_array().expect("rows").len() > 2);
    assert_eq!(whole, paged, "every page, through the next links");
    for path in [
        "/api/recommendations",
        "/api/remediationTasks",
        "/api/vulnerabilities/machinesVulnerabilities",
    ] {
        let v = env
            .run(&["api", "GET", path, "--tenant", "Customer1"])
            .ok()
            .json();
        assert!(v.is_array(), "{path}: {v}");
    }
    let missing = env.run(&["api", "GET", "/api/alerts/nope", "--tenant", "Customer1"]);
    assert_eq!(missing.code, 3);
    assert!(missing.stderr.contains("404"), "{}", missing.stderr);
}

#[test]
fn every_api_command_has_an_example_in_its_help() {
    for cmd in [
        &["alerts", "list"][..],
        &["alerts", "get"],
        &["alerts", "update"],
        &["machines", "list"],
        &["machines", "get"],
        &["machines", "find"],
        &["machines", "find-by-ip"],
        &["tvm", "recommendations"],
        &["tvm", "software"],
        &["tvm", "vulnerabilities"],
        &["tvm", "remediation"],
        &["tvm", "scores"],
        &["tvm", "group-scores"],
        &["tvm", "export"],
        &["machine", "isolate"],
        &["machine", "unisolate"],
        &["machine", "scan"],
        &["machine", "restrict"],
        &["machine", "unrestrict"],
        &["machine", "collect"],
        &["machine", "offboard"],
        &["actions", "list"],
        &["actions", "get"],
        &["indicators", "list"],
        &["indicators", "add"],
        &["indicators", "delete"],
        &["indicators", "import"],
        &["library", "list"],
        &["library", "upload"],
        &["library", "delete"],
        &["machines", "investigate"],
        &["actions", "package-uri"],
        &["alerts", "create"],
        &["hunt"],
        &["incidents", "list"],
        &["incidents", "get"],
        &["incidents", "update"],
        &["api"],
    ] {
        let out = Command::new(BIN)
            .args(cmd)
            .arg("--help")
            .output()
            .expect("help");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Example"),
            "{cmd:?} --help has no example:\n{text}"
        );
        assert!(
            text.contains("\n  mdep "),
            "{cmd:?}: the example is a command line"
        );
    }
}

#[test]
fn machines_get_and_find_by_tag() {
    let env = Env::new();
    let all = env
        .run(&["machines", "list", "--tenant", "Customer0", "-o", "json"])
        .ok()
        .json();
    let m = &all[0];
    let name = m["computerDnsName"].as_str().expect("name");
    let got = env
        .run(&[
            "machines",
            "get",
            name,
            "--tenant",
            "Customer0",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(got["id"], m["id"]);
    assert_eq!(got["tenant"], "Customer0");
    let tag = all
        .as_array()
        .expect("array")
        .iter()
        .find_map(|m| {
            m["machineTags"]
                .as_array()
                .and_then(|t| t.first())
                .and_then(Value::as_str)
        })
        .expect("some device has a tag")
        .to_owned();
    let found = env
        .run(&[
            "machines",
            "find",
            "--tag",
            &tag,
            "--tenant",
            "Customer0",
            "-o",
            "jsonl",
        ])
        .ok()
        .lines();
    assert!(!found.is_empty());
    assert!(found.iter().all(|m| {
        m["machineTags"]
            .as_array()
            .expect("tags")
            .iter()
            .any(|t| t == tag.as_str())
    }));
}

/// Splits a command line into words, honouring single and double quotes.
fn words(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quote) = (Vec::new(), String::new(), None::<char>);
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => quote = Some(c),
            (None, ' ') if !cur.is_empty() => out.push(std::mem::take(&mut cur)),
            (None, ' ') => {}
            (None, c) => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[test]
fn the_command_lines_of_docs_api_md_parse() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/api.md"),
    )
    .expect("docs/api.md");
    let mut in_sh = false;
    let mut n = 0;
    for line in text.lines() {
        if line.starts_with("```") {
            in_sh = line.trim() == "```sh";
            continue;
        }
        let Some(rest) = line.strip_prefix("mdep ").filter(|_| in_sh) else {
            continue;
        };
        let out = Command::new(BIN)
            .args(words(rest.split(" # ").next().unwrap_or(rest)))
            .env("MDEP_PARSE_ONLY", "1")
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "docs/api.md: `{line}` does not parse: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        n += 1;
    }
    assert!(n >= 3, "docs/api.md shows commands");
}

#[test]
fn alerts_get_update_and_indicators_import() {
    let env = Env::new();
    let first = env
        .run(&[
            "alerts",
            "list",
            "--tenant",
            "Customer0",
            "--top",
            "1",
            "-o",
            "jsonl",
        ])
        .ok()
        .lines()
        .remove(0);
    let id = first["id"].as_str().expect("id");
    let got = env
        .run(&["alerts", "get", id, "--tenant", "Customer0", "-o", "json"])
        .ok()
        .json();
    assert_eq!(got["id"], id);
    let updated = env
        .run(&[
            "alerts",
            "update",
            id,
            "--tenant",
            "Customer0",
            "--status",
            "Resolved",
            "--classification",
            "FalsePositive",
            "--determination",
            "Clean",
            "--comment",
            "lab test",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(updated["status"], "Resolved");
    assert_eq!(updated["classification"], "FalsePositive");
    let none = env.run(&["alerts", "update", id, "--tenant", "Customer0"]);
    assert_eq!(none.code, 1);
    assert!(none.stderr.contains("nothing to update"), "{}", none.stderr);
    let one = env.run(&["alerts", "get", id]);
    assert_eq!(one.code, 1);
    assert!(one.stderr.contains("--tenant"), "{}", one.stderr);

    let file = env.home.join("iocs.json");
    std::fs::write(
        &file,
        serde_json::json!({"Indicators": [
            {"indicatorValue": "198.51.100.1", "indicatorType": "IpAddress", "action": "Block", "title": "a", "description": "d"},
            {"indicatorValue": "evil.example.com", "indicatorType": "DomainName", "action": "Audit", "title": "b", "description": "d", "generateAlert": true}
        ]})
        .to_string(),
    )
    .expect("write");
    let o = env
        .run(&[
            "indicators",
            "import",
            file.to_str().expect("utf8"),
            "--tag",
            "ok",
            "-o",
            "jsonl",
        ])
        .ok();
    let rows = o.lines();
    assert_eq!(rows.len(), 6, "two indicators in each of three tenants");
    assert!(rows.iter().all(|r| r["isFailed"] == false), "{}", o.stdout);
    assert!(
        o.stderr.contains("Customer1: 2 imported, 0 failed"),
        "{}",
        o.stderr
    );
}

/// Every output format of `alerts list` and `machines list` as a user sees it, kept as
/// snapshots in tests/snapshots/: a change to columns, order, quoting or alignment shows
/// up as a diff to review (`cargo insta review`, or `INSTA_UPDATE=always` and `git diff`).
/// The emulator's data comes from the tenant ids and seeds alone, so it is the same on
/// every run.
#[test]
fn output_formats_match_their_snapshots() {
    // Data anchored to a fixed clock, so the snapshots do not move with the day.
    let env = Env::with(&[], "clock = \"2026-11-01T00:00:00Z\"");
    for format in ["table", "csv", "jsonl", "json"] {
        let out = env
            .run(&[
                "alerts",
                "list",
                "--tenant",
                "Customer2",
                "--top",
                "4",
                "-o",
                format,
            ])
            .ok();
        insta::assert_snapshot!(format!("alerts_list_{format}"), out.stdout);
        let out = env
            .run(&[
                "machines",
                "list",
                "--tenant",
                "Customer0",
                "--top",
                "3",
                "-o",
                format,
            ])
            .ok();
        insta::assert_snapshot!(format!("machines_list_{format}"), out.stdout);
    }
    // Two tenants: rows tagged with their tenant, the per-tenant summary on stderr only.
    let out = env
        .run(&[
            "alerts",
            "list",
            "--tenant",
            "Customer0",
            "--tenant",
            "Customer1",
            "--top",
            "2",
            "-o",
            "csv",
        ])
        .ok();
    let mut lines: Vec<&str> = out.stdout.lines().collect();
    // Tenants answer in any order; their rows keep their own order.
    lines[1..].sort_by_key(|l| l.split(',').next().map(str::to_owned));
    insta::assert_snapshot!("alerts_list_two_tenants_csv", lines.join("\n"));
    insta::assert_snapshot!("alerts_list_two_tenants_stderr", out.stderr);
}

#[test]
fn hunt_uses_graph_and_the_legacy_endpoint_warns_after_its_retirement() {
    let env = Env::new();
    let q = "AlertInfo | project AlertId, Severity | order by AlertId asc";
    let graph = env.run(&["hunt", q, "--tag", "ok", "-o", "jsonl"]).ok();
    assert!(!graph.stderr.contains("warning"), "{}", graph.stderr);
    let before = env
        .run_env(
            &["hunt", q, "--tag", "ok", "--api", "mde", "-o", "jsonl"],
            &[("MDEP_NOW", "2027-01-31T12:00:00Z")],
        )
        .ok();
    assert!(!before.stderr.contains("warning"), "{}", before.stderr);
    assert_eq!(
        graph.lines(),
        before.lines(),
        "both APIs return the same rows"
    );
    assert_eq!(graph.lines().len(), 60);
    let after = env
        .run_env(
            &["hunt", q, "--tag", "ok", "--api", "mde", "-o", "jsonl"],
            &[("MDEP_NOW", "2027-02-01T00:00:01Z")],
        )
        .ok();
    assert_eq!(
        after.stderr.matches("retired on 2027-02-01").count(),
        1,
        "warned once for three tenants: {}",
        after.stderr
    );
    let none = env
        .run(&[
            "hunt",
            "AlertInfo | count",
            "--tenant",
            "Customer0",
            "--timespan",
            "2030-01-01T00:00:00Z/P1D",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(none[0]["Count"], 0);
    let bad = env.run(&[
        "hunt",
        "AlertInfo | count",
        "--tenant",
        "Customer0",
        "--api",
        "mde",
        "--timespan",
        "P1D",
    ]);
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("--timespan"), "{}", bad.stderr);
}

#[test]
fn a_tenant_whose_licence_has_no_hunting_is_reported_and_the_others_answer() {
    let env = Env::with_licences(&[(1, "defender-for-business")]);
    let q = "AlertInfo | project AlertId";
    for api in ["graph", "mde"] {
        let out = env
            .run_env(
                &["hunt", q, "--tag", "ok", "--api", api, "-o", "jsonl"],
                &[("MDEP_NOW", "2027-01-01T00:00:00Z")],
            )
            .ok();
        let rows = out.lines();
        assert_eq!(rows.len(), 40, "{api}: Customer0 and Customer2 answer");
        assert!(rows.iter().all(|r| r["tenant"] != "Customer1"), "{api}");
        assert!(
            out.stderr
                .contains("Customer1: skipped: advanced hunting is not included")
                && out.stderr.contains("Microsoft Defender for Business")
                && out.stderr.contains("Customer0: 20 rows"),
            "{api}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("failed"), "{}", out.stderr);
    }
    let one = env
        .run(&["hunt", q, "--tenant", "Customer1", "-o", "jsonl"])
        .ok();
    assert_eq!(one.stdout, "", "no rows");
    assert!(one.stderr.contains("Customer1: skipped"), "{}", one.stderr);
    // A real failure next to it still fails the run (exit code 3).
    let mixed = env.run(&["hunt", q, "--all-tenants", "-o", "jsonl"]);
    assert_eq!(mixed.code, 3, "{}", mixed.stderr);
    assert!(
        mixed.stderr.contains("Woodgrove: failed"),
        "{}",
        mixed.stderr
    );
    assert!(
        mixed.stderr.contains("Customer1: skipped"),
        "{}",
        mixed.stderr
    );
}

#[test]
fn incidents_and_graph_alerts_across_tenants() {
    let env = Env::new();
    let alerts = env
        .run(&[
            "alerts", "list", "--api", "graph", "--tag", "ok", "-o", "jsonl",
        ])
        .ok()
        .lines();
    assert_eq!(alerts.len(), 60);
    assert!(
        alerts
            .iter()
            .all(|a| a["serviceSource"] == "microsoftDefenderForEndpoint")
    );
    let high = env
        .run(&[
            "alerts",
            "list",
            "--api",
            "graph",
            "--tag",
            "ok",
            "--severity",
            "High",
            "-o",
            "jsonl",
        ])
        .ok()
        .lines();
    assert!(high.iter().all(|a| a["severity"] == "high"));
    let incidents = env
        .run(&[
            "incidents",
            "list",
            "--tag",
            "ok",
            "--alerts",
            "-o",
            "jsonl",
        ])
        .ok()
        .lines();
    let in_incidents: usize = incidents
        .iter()
        .map(|i| i["alerts"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(in_incidents, 60, "every alert in one incident");
    let csv = env
        .run(&["incidents", "list", "--tenant", "Customer1", "-o", "csv"])
        .ok();
    assert_eq!(
        csv.stdout.lines().next(),
        Some("tenant,id,severity,status,assignedTo,createdDateTime,displayName")
    );
    let id = incidents
        .iter()
        .find(|i| i["tenant"] == "Customer0")
        .and_then(|i| i["id"].as_str())
        .expect("an incident")
        .to_owned();
    let updated = env
        .run(&[
            "incidents",
            "update",
            &id,
            "--tenant",
            "Customer0",
            "--status",
            "resolved",
            "--custom-tag",
            "reviewed",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(updated["status"], "resolved");
    assert_eq!(updated["customTags"], serde_json::json!(["reviewed"]));
    let got = env
        .run(&[
            "incidents",
            "get",
            &id,
            "--tenant",
            "Customer0",
            "--alerts",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert!(
        got["alerts"]
            .as_array()
            .expect("alerts")
            .iter()
            .all(|a| a["status"] == "resolved")
    );
    let nothing = env.run(&["incidents", "update", &id, "--tenant", "Customer0"]);
    assert_ne!(nothing.code, 0);
    let top = env
        .run(&["incidents", "list", "--tenant", "Customer0", "--top", "120"])
        .ok();
    assert!(!top.stdout.is_empty(), "paged by 50, never asking for more");
}

#[test]
fn tvm_commands_list_what_the_raw_api_answers() {
    let env = Env::new();
    let ids = |v: &Value, key: &str| -> Vec<String> {
        let mut out: Vec<String> = v
            .as_array()
            .expect("rows")
            .iter()
            .map(|x| x[key].to_string())
            .collect();
        out.sort();
        out
    };
    for (cmd, path) in [
        ("recommendations", "/api/recommendations"),
        ("software", "/api/Software"),
        ("vulnerabilities", "/api/vulnerabilities"),
        ("remediation", "/api/remediationTasks"),
    ] {
        let raw = env
            .run(&["api", "GET", path, "--tenant", "Customer1"])
            .ok()
            .json();
        let listed = env
            .run(&["tvm", cmd, "--tenant", "Customer1", "-o", "json"])
            .ok()
            .json();
        assert!(!ids(&raw, "id").is_empty(), "{path}: {raw}");
        assert_eq!(ids(&listed, "id"), ids(&raw, "id"), "{cmd}: every page");
        assert!(
            listed
                .as_array()
                .expect("rows")
                .iter()
                .all(|x| x["tenant"] == "Customer1"),
            "{cmd}: each row names its tenant"
        );
        // The table names its columns; the failing tenant is in the summary, exit code 3.
        let all = env.run(&["tvm", cmd, "--all-tenants"]);
        assert_eq!(all.code, 3, "{cmd}: {}", all.stderr);
        assert!(all.stderr.contains("Woodgrove"), "{}", all.stderr);
    }
    let scores = env
        .run(&[
            "tvm",
            "scores",
            "--tenant",
            "Customer1",
            "--tenant",
            "Customer2",
            "-o",
            "json",
        ])
        .ok()
        .json();
    let rows = scores.as_array().expect("rows");
    assert_eq!(rows.len(), 2, "{scores}");
    let exposure = env
        .run(&["api", "GET", "/api/exposureScore", "--tenant", "Customer1"])
        .ok()
        .json();
    let configuration = env
        .run(&[
            "api",
            "GET",
            "/api/configurationScore",
            "--tenant",
            "Customer1",
        ])
        .ok()
        .json();
    let c1 = rows
        .iter()
        .find(|r| r["tenant"] == "Customer1")
        .expect("Customer1");
    assert_eq!(
        c1["exposureScore"].as_f64(),
        exposure[0]["score"].as_f64(),
        "{c1} {exposure}"
    );
    assert_eq!(
        c1["configurationScore"].as_f64(),
        configuration[0]["score"].as_f64()
    );
    assert!(c1["exposureScore"].is_number(), "{c1}");
    let groups = env
        .run(&["tvm", "group-scores", "--tenant", "Customer1", "-o", "json"])
        .ok()
        .json();
    let raw = env
        .run(&[
            "api",
            "GET",
            "/api/exposureScore/ByMachineGroups",
            "--tenant",
            "Customer1",
        ])
        .ok()
        .json();
    let names = |v: &Value| -> Vec<Value> {
        v.as_array()
            .expect("rows")
            .iter()
            .map(|g| g["rbacGroupName"].clone())
            .collect()
    };
    assert!(!names(&groups).is_empty(), "{groups}");
    assert_eq!(names(&groups), names(&raw));
}

#[test]
fn machines_find_by_ip_across_tenants() {
    let env = Env::new();
    let raw = env
        .run(&["api", "GET", "/api/machines", "--tenant", "Customer1"])
        .ok()
        .json();
    let m = &raw[0];
    let ip = m["lastIpAddress"].as_str().expect("ip");
    let at = format!(
        "{}Z",
        m["lastSeen"]
            .as_str()
            .expect("lastSeen")
            .get(..19)
            .expect("time")
    );
    let found = env
        .run(&[
            "machines",
            "find-by-ip",
            "--ip",
            ip,
            "--at",
            &at,
            "--tenant",
            "Customer1",
            "-o",
            "json",
        ])
        .ok()
        .json();
    let rows = found.as_array().expect("rows");
    assert!(rows.iter().any(|x| x["id"] == m["id"]), "{found}");
    assert!(rows.iter().all(|x| x["lastIpAddress"] == ip), "{found}");
    // Bad input is refused before any call, naming the flag.
    let bad = env.run(&[
        "machines",
        "find-by-ip",
        "--ip",
        "10.0.0.1.2",
        "--tenant",
        "Customer1",
    ]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("--ip"), "{}", bad.stderr);
    let bad = env.run(&[
        "machines",
        "find-by-ip",
        "--ip",
        ip,
        "--at",
        "yesterday",
        "--tenant",
        "Customer1",
    ]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("RFC 3339"), "{}", bad.stderr);
}

#[test]
fn library_upload_list_run_and_delete() {
    let env = Env::new();
    let dir = tempfile::tempdir().expect("tmp");
    let script = dir.path().join("collect.ps1");
    std::fs::write(&script, "param($Path)\r\nGet-ChildItem $Path\r\n").expect("script");
    let script = script.to_str().expect("utf8");
    let up = env
        .run(&[
            "library",
            "upload",
            script,
            "--tenant",
            "Customer0",
            "--description",
            "lists a folder",
            "--parameters-description",
            "-Path: the folder",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(up[0]["tenant"], "Customer0");
    assert_eq!(up[0]["fileName"], "collect.ps1");
    assert_eq!(up[0]["hasParameters"], true);
    assert_eq!(up[0]["parametersDescription"], "-Path: the folder");

    let listed = env
        .run(&["library", "list", "--tag", "ok", "-o", "jsonl"])
        .ok()
        .lines();
    assert_eq!(listed.len(), 1, "only Customer0's library holds it");
    assert_eq!(listed[0]["tenant"], "Customer0");
    assert_eq!(listed[0]["description"], "lists a folder");
    assert_eq!(listed[0]["sha256"], up[0]["sha256"]);
    let csv = env
        .run(&["library", "list", "--tenant", "Customer0", "-o", "csv"])
        .ok();
    let lines: Vec<&str> = csv.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "tenant,fileName,description,hasParameters,sha256,lastUpdatedTime,createdBy"
    );
    assert!(
        lines[1].starts_with("Customer0,collect.ps1,lists a folder,true,"),
        "{}",
        csv.stdout
    );
    let table = env
        .run(&["library", "list", "--tenant", "Customer0", "-o", "table"])
        .ok();
    assert!(
        table.stdout.starts_with("TENANT") && table.stdout.contains("collect.ps1"),
        "{}",
        table.stdout
    );

    // The same name again: MDE's refusal, the tenant failed, exit 3; --override replaces.
    let again = env.run(&["library", "upload", script, "--tenant", "Customer0"]);
    assert_eq!(again.code, 3, "{}", again.stderr);
    assert!(again.stderr.contains("BadRequest"), "{}", again.stderr);
    assert!(
        again.stderr.contains("OverrideIfExists"),
        "{}",
        again.stderr
    );
    env.run(&[
        "library",
        "upload",
        script,
        "--tenant",
        "Customer0",
        "--override",
    ])
    .ok();

    // A RunScript of the uploaded script is accepted.
    let m = env
        .run(&["machines", "list", "--tenant", "Customer0", "-o", "json"])
        .ok()
        .json()[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let body = dir.path().join("run.json");
    std::fs::write(
        &body,
        r#"{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"collect.ps1"},{"key":"Args","value":"C:\\Temp"}]}],"Comment":"collect"}"#,
    )
    .expect("body");
    let run_script = || {
        env.run(&[
            "api",
            "POST",
            &format!("/api/machines/{m}/runliveresponse"),
            "--body",
            body.to_str().expect("utf8"),
            "--tenant",
            "Customer0",
        ])
    };
    let run = run_script().ok().json();
    let run = &run[0];
    assert_eq!(run["type"], "LiveResponse", "{run}");

    let del = env
        .run(&[
            "library",
            "delete",
            "collect.ps1",
            "--tenant",
            "Customer0",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(del[0]["result"], "deleted");
    let empty = env
        .run(&["library", "list", "--tenant", "Customer0", "-o", "json"])
        .ok()
        .json();
    assert_eq!(empty, serde_json::json!([]));
    // Deleted, the script no longer runs (after the first live response has ended).
    env.run(&[
        "api",
        "POST",
        &format!(
            "/api/machineactions/{}/cancel",
            run["id"].as_str().expect("id")
        ),
        "--body",
        cancel_body(dir.path()).to_str().expect("utf8"),
        "--tenant",
        "Customer0",
    ]);
    let refused = run_script();
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("live response library"),
        "{}",
        refused.stderr
    );
    // A file that is not there: an error before any call, naming it.
    let missing = env.run(&[
        "library",
        "upload",
        "/no/such/script.ps1",
        "--tenant",
        "Customer0",
    ]);
    assert_eq!(missing.code, 1, "{}", missing.stderr);
    assert!(
        missing.stderr.contains("reading /no/such/script.ps1"),
        "{}",
        missing.stderr
    );
    let big = dir.path().join("big.ps1");
    std::fs::write(&big, vec![b'#'; 20 * 1024 * 1024 + 1]).expect("big");
    let big = env.run(&[
        "library",
        "upload",
        big.to_str().expect("utf8"),
        "--tenant",
        "Customer0",
    ]);
    assert_eq!(big.code, 1, "{}", big.stderr);
    assert!(big.stderr.contains("up to 20 MB"), "{}", big.stderr);
    let gone = env.run(&["library", "delete", "collect.ps1", "--tenant", "Customer0"]);
    assert_eq!(gone.code, 3);
    assert!(gone.stderr.contains("ResourceNotFound"), "{}", gone.stderr);
    assert!(
        gone.stderr.contains("hint: no file of that name")
            && gone.stderr.contains("mdep library list"),
        "{}",
        gone.stderr
    );
}

/// A file with `{"Comment": "done"}`, the body of a cancel.
fn cancel_body(dir: &std::path::Path) -> PathBuf {
    let p = dir.join("cancel.json");
    std::fs::write(&p, r#"{"Comment":"done"}"#).expect("body");
    p
}

#[test]
fn investigate_package_uri_and_alert_by_reference() {
    let env = Env::new();
    let m = env
        .run(&["machines", "list", "--tenant", "Customer0", "-o", "json"])
        .ok()
        .json()[0]
        .clone();
    let name = m["computerDnsName"].as_str().expect("name");
    let inv = env
        .run(&[
            "machines",
            "investigate",
            name,
            "--comment",
            "suspicious logons",
            "--tenant",
            "Customer0",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(inv[0]["machineId"], m["id"], "found by computer name");
    let id = inv[0]["id"].as_str().expect("id").to_owned();
    let all = env
        .run(&["api", "GET", "/api/investigations", "--tenant", "Customer0"])
        .ok()
        .json();
    assert!(
        all.as_array()
            .expect("investigations")
            .iter()
            .any(|i| i["id"].as_str() == Some(id.as_str())),
        "{all}"
    );

    // A collected package: its link, and the zip it downloads.
    let m_id = m["id"].as_str().expect("id");
    let collect = env
        .run(&[
            "machine",
            "collect",
            m_id,
            "--tenant",
            "Customer0",
            "--comment",
            "forensics",
            "--wait",
            "--poll",
            "0.2",
            "-o",
            "json",
        ])
        .ok()
        .json();
    let action = collect[0]["id"].as_str().expect("action").to_owned();
    let link = env
        .run(&[
            "actions",
            "package-uri",
            &action,
            "--tenant",
            "Customer0",
            "-o",
            "json",
        ])
        .ok()
        .json();
    let uri = link[0]["packageUri"].as_str().expect("uri");
    assert!(uri.starts_with("https://") && uri.contains("sig="), "{uri}");
    let dir = tempfile::tempdir().expect("tmp");
    let zip = dir.path().join("package.zip");
    env.run(&[
        "actions",
        "package-uri",
        &action,
        "--tenant",
        "Customer0",
        "--out",
        zip.to_str().expect("utf8"),
    ])
    .ok();
    let bytes = std::fs::read(&zip).expect("downloaded");
    assert!(bytes.starts_with(b"PK\x03\x04"), "a zip");
    let none = env.run(&["actions", "package-uri", &action, "--tenant", "Customer1"]);
    assert_eq!(none.code, 3, "an action of another tenant: {}", none.stderr);
    assert!(
        none.stderr.contains("ResourceNotFound") && none.stderr.contains("check --tenant"),
        "{}",
        none.stderr
    );
    let several = env.run(&[
        "actions",
        "package-uri",
        &action,
        "--tag",
        "ok",
        "--out",
        "x.zip",
    ]);
    assert_eq!(several.code, 1);
    assert!(
        several.stderr.contains("--out downloads from one tenant"),
        "{}",
        several.stderr
    );

    // An alert from a hunting event, then read back through the raw API.
    let ev = env
        .run(&[
            "hunt",
            "DeviceProcessEvents | project ReportId, Timestamp, DeviceId | take 1",
            "--api",
            "mde",
            "--tenant",
            "Customer0",
            "-o",
            "json",
        ])
        .ok()
        .json()[0]
        .clone();
    let report = ev["ReportId"].to_string();
    let report = report.trim_matches('"');
    let create = |title: &str| {
        env.run(&[
            "alerts",
            "create",
            "--tenant",
            "Customer0",
            "--machine",
            ev["DeviceId"].as_str().expect("DeviceId"),
            "--event-time",
            ev["Timestamp"].as_str().expect("Timestamp"),
            "--report-id",
            report,
            "--severity",
            "High",
            "--category",
            "Malware",
            "--title",
            title,
            "--description",
            "from hunting",
            "--recommended-action",
            "isolate",
            "-o",
            "json",
        ])
    };
    let made = create("Raised by the partner").ok().json();
    let alert_id = made[0]["id"].as_str().expect("id");
    let got = env
        .run(&[
            "api",
            "GET",
            &format!("/api/alerts/{alert_id}"),
            "--tenant",
            "Customer0",
        ])
        .ok()
        .json();
    assert_eq!(got[0]["id"], alert_id, "{got}");
    assert_eq!(got[0]["title"], "Raised by the partner");
    assert_eq!(got[0]["severity"], "High");
    assert_eq!(got[0]["machineId"], ev["DeviceId"]);

    // Bad input: exit 2, naming the flag.
    for (args, flag) in [
        (
            &[
                "alerts",
                "create",
                "--machine",
                "m",
                "--event-time",
                "yesterday",
                "--report-id",
                "1",
                "--severity",
                "High",
                "--category",
                "Malware",
                "--title",
                "t",
                "--description",
                "d",
                "--recommended-action",
                "r",
            ][..],
            "--event-time",
        ),
        (
            &[
                "alerts",
                "create",
                "--machine",
                "m",
                "--event-time",
                "2026-12-01T08:00:00Z",
                "--report-id",
                "1",
                "--severity",
                "Severe",
                "--category",
                "Malware",
                "--title",
                "t",
                "--description",
                "d",
                "--recommended-action",
                "r",
            ],
            "--severity",
        ),
        (
            &[
                "alerts",
                "create",
                "--machine",
                "m",
                "--event-time",
                "2026-12-01T08:00:00Z",
                "--report-id",
                "1",
                "--severity",
                "High",
                "--category",
                "Malware",
                "--title",
                "t",
                "--description",
                "d",
            ],
            "--recommended-action",
        ),
        (
            &["machines", "investigate", "pc-1", "--tenant", "Customer0"],
            "--comment",
        ),
    ] {
        let o = env.run(args);
        assert_eq!(o.code, 2, "{args:?}: {}", o.stderr);
        assert!(o.stderr.contains(flag), "{args:?}: {}", o.stderr);
    }
}

#[test]
fn tvm_export_rows_and_files_are_what_the_raw_api_answers() {
    let env = Env::new();
    let untagged = |v: &Value| -> Vec<Value> {
        v.as_array()
            .expect("rows")
            .iter()
            .map(|r| {
                assert_eq!(r["tenant"], "Customer1", "{r}");
                let o = r.as_object().expect("row");
                Value::Object(
                    o.iter()
                        .filter(|(k, _)| *k != "tenant")
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                )
            })
            .collect()
    };
    let since = (time::OffsetDateTime::now_utc() - time::Duration::days(14))
        .replace_nanosecond(0)
        .expect("ns")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("time");
    for (name, path) in [
        (
            "software-vulnerabilities",
            "/api/machines/SoftwareVulnerabilitiesByMachine".to_owned(),
        ),
        (
            "vulnerability-changes",
            format!(
                "/api/machines/SoftwareVulnerabilityChangesByMachine?sinceTime={}",
                since.replace(':', "%3A")
            ),
        ),
        (
            "secure-configurations",
            "/api/machines/SecureConfigurationsAssessmentByMachine".to_owned(),
        ),
        (
            "software-inventory",
            "/api/machines/SoftwareInventoryByMachine".to_owned(),
        ),
        (
            "software-inventory-no-cpe",
            "/api/machines/SoftwareInventoryNoProductCodeByMachine".to_owned(),
        ),
        (
            "browser-extensions",
            "/api/machines/BrowserExtensionsInventoryByMachine".to_owned(),
        ),
        (
            "certificates",
            "/api/machines/CertificateAssessmentByMachine".to_owned(),
        ),
    ] {
        let raw = env
            .run(&["api", "GET", &path, "--tenant", "Customer1"])
            .ok()
            .json();
        let raw = untagged(&raw);
        assert!(!raw.is_empty(), "{name}");
        let mut args = vec!["tvm", "export", name, "--tenant", "Customer1"];
        if name == "vulnerability-changes" {
            args.extend(["--since", since.as_str()]);
        }
        let json = env
            .run(&[&args[..], &["--json", "--page-size", "3", "-o", "json"]].concat())
            .ok()
            .json();
        let rows = untagged(&json);
        assert_eq!(rows.len(), raw.len(), "{name}: every page");
        for (a, b) in rows.iter().zip(&raw) {
            assert_eq!(a, b, "{name}");
        }
        // Every output format has a row per row.
        let jsonl = env.run(&[&args[..], &["-o", "jsonl"]].concat()).ok();
        assert_eq!(jsonl.lines().len(), raw.len(), "{name}");
        let csv = env.run(&[&args[..], &["-o", "csv"]].concat()).ok();
        assert_eq!(csv.stdout.lines().count(), raw.len() + 1, "{name}");
        assert!(csv.stdout.starts_with("tenant,"), "{}", csv.stdout);
        let table = env.run(&args).ok();
        assert_eq!(table.stdout.lines().count(), raw.len() + 1, "{name}");
        if name == "vulnerability-changes" {
            let files = env.run(&[&args[..], &["--files", "--out", "x"]].concat());
            assert_ne!(files.code, 0, "no files for the changes");
            let missing = env.run(&["tvm", "export", name, "--tenant", "Customer1"]);
            assert!(missing.stderr.contains("--since"), "{}", missing.stderr);
            continue;
        }
        // The files, downloaded: their rows are the same.
        let dir = env.home.join("exports");
        let dir_s = dir.to_str().expect("utf8");
        let listed = env
            .run(&[&args[..], &["--files", "--out", dir_s, "-o", "json"]].concat())
            .ok()
            .json();
        let mut rows = Vec::new();
        for f in listed.as_array().expect("files") {
            let file = f["file"].as_str().expect("file");
            assert!(
                file.starts_with(&format!("{dir_s}/Customer1/{name}/part-")),
                "{file}"
            );
            let bytes = std::fs::read(file).expect("written");
            assert_eq!(f["bytes"].as_u64(), Some(bytes.len() as u64));
            let part = mdep_api::mde::assessment::gunzip_rows(&bytes).expect("gzip");
            assert_eq!(f["rows"].as_u64(), Some(part.len() as u64));
            rows.extend(part);
        }
        assert_eq!(rows, raw, "{name}: the files hold the rows");
    }
    for wrong in [
        &["--out", "x"][..],
        &["--sas-valid-hours", "2"],
        &["--files", "--out", "x", "--page-size", "2"],
    ] {
        let o = env.run(
            &[
                &["tvm", "export", "certificates", "--tenant", "Customer1"][..],
                wrong,
            ]
            .concat(),
        );
        assert_ne!(o.code, 0, "{wrong:?}: {}", o.stdout);
        assert!(o.stderr.contains("--"), "{}", o.stderr);
    }
    let bad = env.run(&["tvm", "export", "nothing", "--tenant", "Customer1"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(
        bad.stderr.contains("secure-configurations"),
        "{}",
        bad.stderr
    );
}

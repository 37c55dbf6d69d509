//! Fidelity to Microsoft's documented payloads (`tests/fixtures/samples/`): every key of
//! a sample is in the emulator's answer with a value of the same JSON type (a `null` in
//! the sample says only that the property is nullable), date-times stay date-times, and
//! every key the emulator adds is listed here with where MDE documents or returns it.

use super::*;
use serde_json::json;

fn sample(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/samples/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn looks_like_time(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 19
        && b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b'T' || b[10] == b' ')
        && b[13] == b':'
}

/// How a sample is compared.
pub(super) struct Rules<'a> {
    /// Keys the emulator may add: (key, source).
    pub(super) extra: &'a [(&'a str, &'a str)],
    /// Sample key → the emulator's key, where Microsoft's pages disagree on a name.
    pub(super) renamed: &'a [(&'a str, &'a str)],
}

pub(super) const NONE: Rules<'static> = Rules {
    extra: &[],
    renamed: &[],
};

fn conforms(sample: &Value, actual: &Value, at: &str, rules: &Rules<'_>, errors: &mut Vec<String>) {
    match (sample, actual) {
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::Object(s), Value::Object(a)) => {
            for (k, sv) in s {
                let key = rules
                    .renamed
                    .iter()
                    .find(|(from, _)| from == k)
                    .map_or(k.as_str(), |(_, to)| to);
                match a.get(key) {
                    None => errors.push(format!("{at}.{k}: missing")),
                    Some(av) => conforms(sv, av, &format!("{at}.{k}"), rules, errors),
                }
            }
            for k in a.keys() {
                let known = s.contains_key(k)
                    || rules.renamed.iter().any(|(_, to)| to == k)
                    || rules.extra.iter().any(|(x, _)| x == k);
                if !known {
                    errors.push(format!(
                        "{at}.{k}: not in the sample nor listed as a documented extra"
                    ));
                }
            }
        }
        (Value::Array(s), Value::Array(a)) => {
            if let Some(proto) = s.first() {
                for (i, av) in a.iter().enumerate() {
                    conforms(proto, av, &format!("{at}[{i}]"), rules, errors);
                }
            }
        }
        (Value::String(s), Value::String(a)) => {
            if looks_like_time(s) && !looks_like_time(a) {
                errors.push(format!("{at}: '{a}' is not a date-time like '{s}'"));
            }
        }
        (s, a) if kind(s) == kind(a) => {}
        (s, a) => errors.push(format!(
            "{at}: {} in the sample, {} here ({a})",
            kind(s),
            kind(a)
        )),
    }
}

pub(super) fn check(name: &str, actual: &Value, rules: &Rules<'_>) {
    let s = sample(name);
    let mut errors = Vec::new();
    conforms(&s, actual, name, rules, &mut errors);
    // Lists: the sample must show at least one item to compare with, and so must we.
    if let (Some(sv), Some(av)) = (
        s.get("value").and_then(Value::as_array),
        actual.get("value").and_then(Value::as_array),
    ) {
        assert!(
            !sv.is_empty() && !av.is_empty(),
            "{name}: nothing to compare"
        );
    }
    assert!(
        errors.is_empty(),
        "{name} differs:\n{}\nresponse: {actual}",
        errors.join("\n")
    );
}

pub(super) const ALERT_EXTRA: &[(&str, &str)] = &[
    (
        "detectorId",
        "alerts.md property table; alerts_get_by_id.json (added 03.01.2021)",
    ),
    ("loggedOnUsers", "returned live (mde-api.md §5.1)"),
];

const MACHINE_EXTRA: &[(&str, &str)] = &[
    (
        "deviceValue",
        "machine.md; machines_list_filter_riskscore_high_with_ipaddresses.json",
    ),
    (
        "ipAddresses",
        "machine.md (added 15.12.2020); the riskScore sample",
    ),
    ("rbacGroupId", "machine.md; machines_list.json"),
    ("isAadJoined", "machines_list.json"),
    ("onboardingStatus", "machine.md"),
    ("osArchitecture", "machine.md"),
    (
        "type",
        "machine.md ipAddresses: {ipAddress, macAddress, type, operationalStatus}",
    ),
    ("osVersion", "returned live (mde-api.md §5.2)"),
    ("agentVersion", "returned live (mde-api.md §5.2)"),
    ("defenderAvStatus", "returned live (mde-api.md §5.2)"),
    ("managedBy", "returned live (mde-api.md §5.2)"),
    ("managedByStatus", "returned live (mde-api.md §5.2)"),
    ("isPotentialDuplication", "returned live (mde-api.md §5.2)"),
    ("mergedIntoMachineId", "returned live (mde-api.md §5.2)"),
    ("isExcluded", "returned live (mde-api.md §5.2)"),
    ("exclusionReason", "returned live (mde-api.md §5.2)"),
    ("vmMetadata", "returned live (mde-api.md §5.2)"),
];

const ACTION_EXTRA: &[(&str, &str)] = &[
    ("title", "machineaction.md"),
    ("cancellationRequestor", "machineaction.md"),
    ("cancellationComment", "machineaction.md"),
    ("cancellationDateTimeUtc", "machineaction.md"),
    ("errorHResult", "machineaction.md; run-live-response.md"),
    ("externalID", "machineaction.md"),
    ("requestSource", "machineaction.md"),
    ("commands", "machineaction.md"),
    (
        "scope",
        "machineaction.md (absent from the legacy isolate sample)",
    ),
    (
        "computerDnsName",
        "machineaction.md (absent from the legacy isolate sample)",
    ),
];

// The list page writes `lastUpdateTimeUtc`, the entity and get pages
// `lastUpdateDateTimeUtc` (mde-api.md §5.3); the emulator answers with the latter.
const ACTION_RENAMED: &[(&str, &str)] = &[("lastUpdateTimeUtc", "lastUpdateDateTimeUtc")];

const INDICATOR_EXTRA: &[(&str, &str)] = &[
    ("rbacGroupIds", "ti-indicator.md"),
    ("generateAlert", "ti-indicator.md"),
    ("createdBySource", "ti-indicator.md"),
    (
        "createdByDisplayName",
        "get-ti-indicators-collection.md ($filter property)",
    ),
    ("@odata.context", "every OData entity response"),
];

pub(super) fn with_context(
    extra: &[(&'static str, &'static str)],
) -> Vec<(&'static str, &'static str)> {
    let mut v = extra.to_vec();
    v.push(("@odata.context", "every OData entity response"));
    v
}

#[tokio::test]
async fn responses_match_microsofts_samples() {
    let e = demu();
    let mut s = e.state.defender().settings();
    s.action_seconds = 3600;
    e.state.defender().set_settings(s);
    let t = e.token(CONTOSO).await;
    let get = |path: String| {
        let e = &e;
        let t = t.clone();
        async move {
            let r = e.api("GET", &path, Some(&t), None).await;
            assert_eq!(r.status, 200, "{path}: {}", r.text());
            r.json()
        }
    };

    let alerts = get("/api/alerts".into()).await;
    check(
        "alerts_list",
        &alerts,
        &Rules {
            extra: ALERT_EXTRA,
            renamed: &[],
        },
    );
    let expanded = get("/api/alerts?$top=10&$expand=evidence".into()).await;
    check(
        "alerts_list_top10_expand_evidence",
        &expanded,
        &Rules {
            extra: ALERT_EXTRA,
            renamed: &[],
        },
    );
    let aid = first(&alerts)["id"].as_str().expect("id").to_owned();
    let one = get(format!("/api/alerts/{aid}")).await;
    check(
        "alerts_get_by_id",
        &one,
        &Rules {
            extra: &with_context(ALERT_EXTRA),
            renamed: &[],
        },
    );
    // An alert whose evidence has files, IPs and URLs, for the related lists.
    let rich = expanded["value"]
        .as_array()
        .expect("list")
        .iter()
        .find(|a| {
            a["evidence"]
                .as_array()
                .is_some_and(|ev| ev.iter().any(|x| x["entityType"] == "Url"))
        })
        .map(|a| a["id"].as_str().expect("id").to_owned())
        .expect("an alert with URL evidence among the first ten");
    check(
        "alerts_related_files",
        &get(format!("/api/alerts/{rich}/files")).await,
        &NONE,
    );
    check(
        "alerts_related_ips",
        &get(format!("/api/alerts/{rich}/ips")).await,
        &NONE,
    );
    check(
        "alerts_related_domains",
        &get(format!("/api/alerts/{rich}/domains")).await,
        &NONE,
    );
    check(
        "alerts_related_user",
        &get(format!("/api/alerts/{aid}/user")).await,
        &NONE,
    );

    let machines = get("/api/machines".into()).await;
    check(
        "machines_list",
        &machines,
        &Rules {
            extra: MACHINE_EXTRA,
            renamed: &[],
        },
    );
    check(
        "machines_list_filter_riskscore_high_with_ipaddresses",
        &get("/api/machines?$filter=riskScore+ne+'None'".into()).await,
        &Rules {
            extra: MACHINE_EXTRA,
            renamed: &[],
        },
    );
    let mid = first(&machines)["id"].as_str().expect("id").to_owned();
    check(
        "machines_get_by_id",
        &get(format!("/api/machines/{mid}")).await,
        &Rules {
            extra: MACHINE_EXTRA,
            renamed: &[],
        },
    );
    check(
        "machines_logonusers",
        &get(format!("/api/machines/{mid}/logonusers")).await,
        &NONE,
    );

    let windows = get("/api/machines?$filter=startswith(osPlatform,'Windows')".into()).await;
    let wid = first(&windows)["id"].as_str().expect("id").to_owned();
    let r = e
        .api("POST", &format!("/api/machines/{wid}/isolate"), Some(&t), Some(json!({"Comment": "Isolate machine due to alert 1234", "IsolationType": "Selective"})))
        .await;
    assert_eq!(r.status, 201);
    let created = r.json();
    check(
        "machineactions_isolate_response_legacy_docs",
        &created,
        &Rules {
            extra: ACTION_EXTRA,
            renamed: ACTION_RENAMED,
        },
    );
    let r = e
        .api(
            "POST",
            &format!("/api/machines/{wid}/StopAndQuarantineFile"),
            Some(&t),
            Some(json!({"Comment": "c", "Sha1": "a0c659857ccbe457fdaf5fe21d54efdcbf6f6508"})),
        )
        .await;
    assert_eq!(r.status, 201);
    let actions = get("/api/machineactions".into()).await;
    check(
        "machineactions_list",
        &actions,
        &Rules {
            extra: ACTION_EXTRA,
            renamed: ACTION_RENAMED,
        },
    );
    let acid = created["id"].as_str().expect("id");
    let action = get(format!("/api/machineactions/{acid}")).await;
    check(
        "machineactions_get_by_id_isolate",
        &action,
        &Rules {
            extra: ACTION_EXTRA,
            renamed: &[],
        },
    );
    let mut bare = action.clone();
    bare.as_object_mut().expect("obj").remove("@odata.context");
    check(
        "machineaction_entity_isolate",
        &bare,
        &Rules {
            extra: ACTION_EXTRA,
            renamed: &[],
        },
    );

    let submitted = e
        .api(
            "POST",
            "/api/indicators",
            Some(&t),
            Some(sample("indicators_submit_request")),
        )
        .await;
    assert_eq!(submitted.status, 200);
    check(
        "indicator_entity",
        &submitted.json(),
        &Rules {
            extra: INDICATOR_EXTRA,
            renamed: &[],
        },
    );
    check(
        "indicators_list",
        &get("/api/indicators".into()).await,
        &Rules {
            extra: INDICATOR_EXTRA,
            renamed: &[],
        },
    );
    let imported = e
        .api(
            "POST",
            "/api/indicators/import",
            Some(&t),
            Some(sample("indicators_import_request")),
        )
        .await;
    assert_eq!(imported.status, 200);
    check("indicators_import_response", &imported.json(), &NONE);

    let t2 = e
        .token_with(
            CONTOSO,
            &[
                "File.Read.All",
                "Ip.Read.All",
                "Url.Read.All",
                "Score.Read.All",
                "Software.Read.All",
                "Vulnerability.Read.All",
                "Alert.Read.All",
            ],
        )
        .await;
    let get2 = |path: String| {
        let e = &e;
        let t = t2.clone();
        async move {
            let r = e.api("GET", &path, Some(&t), None).await;
            assert_eq!(r.status, 200, "{path}: {}", r.text());
            r.json()
        }
    };
    let ev = one["evidence"].as_array().expect("evidence");
    let file = ev
        .iter()
        .find(|x| x["entityType"] == "File")
        .expect("file evidence");
    let sha1 = file["sha1"].as_str().expect("sha1");
    check(
        "files_get_by_id",
        &get2(format!("/api/files/{sha1}")).await,
        &Rules {
            extra: &[("md5", "files.md; alerts_related_files.json")],
            renamed: &[],
        },
    );
    check(
        "files_stats",
        &get2(format!("/api/files/{sha1}/stats")).await,
        &NONE,
    );
    let rich_alert = get(format!("/api/alerts/{rich}")).await;
    let rich_ev = rich_alert["evidence"].as_array().expect("evidence");
    let ip = rich_ev
        .iter()
        .find_map(|x| x["ipAddress"].as_str())
        .expect("ip");
    let host = rich_ev.iter().find_map(|x| x["url"].as_str()).expect("url");
    check(
        "ips_stats",
        &get2(format!("/api/ips/{ip}/stats")).await,
        &NONE,
    );
    check(
        "domains_stats",
        &get2(format!("/api/domains/{host}/stats")).await,
        &NONE,
    );
    check(
        "score_exposurescore",
        &get2("/api/exposureScore".into()).await,
        &NONE,
    );
    let groups = get2("/api/exposureScore/ByMachineGroups".into()).await;
    check("score_exposurescore_bymachinegroups", &groups, &NONE);
    let listed = groups["value"].as_array().expect("value");
    assert!(!listed.is_empty(), "{groups}");
    for g in listed {
        let s = g["score"].as_f64().expect("score");
        assert!((0.0..=100.0).contains(&s), "{g}");
    }
    check(
        "score_configurationscore",
        &get2("/api/configurationScore".into()).await,
        &NONE,
    );
    check("software_list", &get2("/api/Software".into()).await, &NONE);
    check(
        "vulnerabilities_list",
        &get2("/api/vulnerabilities".into()).await,
        &NONE,
    );

    let inv = get("/api/investigations".into()).await;
    check("investigations_list", &inv, &NONE);
    let iid = first(&inv)["id"].as_str().expect("id").to_owned();
    let mut one_inv = get(format!("/api/investigations/{iid}")).await;
    one_inv
        .as_object_mut()
        .expect("obj")
        .remove("@odata.context");
    check("investigation_entity", &one_inv, &NONE);

    let r = e
        .api("GET", "/api/machines/123123123", Some(&t), None)
        .await;
    assert_eq!(r.status, 404);
    check("errors_resource_not_found", &r.json(), &NONE);
    let r = e
        .api(
            "PATCH",
            &format!("/api/alerts/{aid}"),
            Some(&t),
            Some(json!("text")),
        )
        .await;
    assert_eq!(r.status, 400);
    check("errors_invalid_request_body", &r.json(), &NONE);
}

#[test]
fn the_comparison_catches_differences() {
    let s = json!({"a": 1, "b": "2021-01-26T20:33:57.7220239Z", "c": [{"x": true}], "d": null});
    let mut errors = Vec::new();
    conforms(
        &s,
        &json!({"a": "1", "b": "soon", "c": [{"x": 1}], "d": 5, "e": 0}),
        "s",
        &NONE,
        &mut errors,
    );
    assert_eq!(errors.len(), 4, "{errors:?}");
    let mut errors = Vec::new();
    conforms(
        &s,
        &json!({"b": "2021-01-26T20:33:57Z", "c": [], "d": null}),
        "s",
        &NONE,
        &mut errors,
    );
    assert_eq!(errors, vec!["s.a: missing".to_owned()]);
}

//! Every sample payload of Microsoft's API reference parses into its type, and what the
//! type does not name is kept: written back out, each sample is what came in.
//! The samples are copied from the shared reference (`fixtures/samples/README.md` says
//! where each one comes from and what was edited).

use mdep_api::entity::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::path::Path;

fn dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/samples")
}

/// Equal, reading a missing field as null, `340` as `340.0`, and a number as its text
/// (ids MDE sends either way are kept as text).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<_> = x.keys().chain(y.keys()).collect();
            keys.into_iter().all(|k| {
                same(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                )
            })
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Number(n), Value::String(s)) | (Value::String(s), Value::Number(n)) => {
            n.to_string() == *s
        }
        _ => a == b,
    }
}

fn check<T: DeserializeOwned + Serialize>(name: &str, v: &Value) {
    let parsed: T = serde_json::from_value(v.clone()).unwrap_or_else(|e| {
        panic!(
            "{name} does not parse as {}: {e}",
            std::any::type_name::<T>()
        )
    });
    let back = serde_json::to_value(&parsed).expect("serializes");
    assert!(
        same(v, &back),
        "{name}: written back differs\nin:  {v}\nout: {back}"
    );
}

/// Which type each sample is.
fn parse(name: &str, v: &Value) {
    match name {
        "alerts_list.json" | "alerts_list_top10_expand_evidence.json" => {
            check::<Collection<Alert>>(name, v)
        }
        "alerts_get_by_id.json" => check::<Alert>(name, v),
        "alerts_related_domains.json" | "alerts_related_ips.json" => {
            check::<Collection<Value>>(name, v)
        }
        "alerts_related_files.json" => check::<Collection<File>>(name, v),
        "alerts_related_user.json" => check::<User>(name, v),
        "machines_logonusers.json" => check::<Collection<User>>(name, v),
        "files_get_by_id.json" => check::<File>(name, v),
        "files_stats.json" | "ips_stats.json" | "domains_stats.json" => check::<Stats>(name, v),
        "errors_invalid_request_body.json" | "errors_resource_not_found.json" => {
            check::<ErrorBody>(name, v)
        }
        "indicator_entity.json" => check::<Indicator>(name, v),
        "indicators_list.json" => check::<Collection<Indicator>>(name, v),
        "indicators_submit_request.json" => check::<Indicator>(name, v),
        "indicators_import_request.json" => {
            let list = v["Indicators"].as_array().expect("Indicators");
            assert!(!list.is_empty());
            for i in list {
                check::<Indicator>(name, i);
            }
        }
        "indicators_import_response.json" => check::<Collection<ImportResult>>(name, v),
        "investigation_entity.json" => check::<Investigation>(name, v),
        "investigations_list.json" => check::<Collection<Investigation>>(name, v),
        "machineaction_entity_isolate.json"
        | "machineactions_get_by_id_isolate.json"
        | "machineactions_isolate_response_legacy_docs.json"
        | "machineactions_runliveresponse_response.json" => check::<MachineAction>(name, v),
        "machineactions_list.json" => check::<Collection<MachineAction>>(name, v),
        "machineactions_getliveresponseresultdownloadlink.json" => check::<Link>(name, v),
        "machines_get_by_id.json" => check::<Machine>(name, v),
        "machines_list.json" | "machines_list_filter_riskscore_high_with_ipaddresses.json" => {
            check::<Collection<Machine>>(name, v)
        }
        "machines_softwarevulnerabilitiesexport_files.json" => check::<ExportFiles>(name, v),
        "machines_softwarevulnerabilitiesbymachine_page.json"
        | "vulnerabilities_machinesvulnerabilities.json" => check::<Collection<Value>>(name, v),
        "recommendations_list.json" => check::<Collection<Recommendation>>(name, v),
        "score_configurationscore.json" | "score_exposurescore.json" => check::<Score>(name, v),
        "score_exposurescore_bymachinegroups.json" => check::<Collection<Score>>(name, v),
        "software_list.json" => check::<Collection<Software>>(name, v),
        "vulnerabilities_list.json" => check::<Collection<Vulnerability>>(name, v),
        "advancedqueries_run_request.json" => assert!(v["Query"].is_string(), "{name}"),
        "advancedqueries_run_response.json"
        | "xdr_advancedhunting_run_response_with_stats.json" => check::<HuntingResponse>(name, v),
        other => panic!("{other}: a new sample; say which type it is in tests/samples.rs"),
    }
}

#[test]
fn every_sample_parses_and_keeps_every_field() {
    let mut n = 0;
    for e in std::fs::read_dir(dir()).expect("samples dir") {
        let path = e.expect("entry").path();
        if path.extension().and_then(|x| x.to_str()) != Some("json") {
            continue;
        }
        let name = path
            .file_name()
            .and_then(|x| x.to_str())
            .expect("name")
            .to_owned();
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("read"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        parse(&name, &v);
        n += 1;
    }
    assert!(n >= 40, "only {n} samples found");
}

#[test]
fn typed_fields_are_read_and_unknown_ones_kept() {
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(dir().join("machines_list.json")).expect("read"),
    )
    .expect("json");
    let c: Collection<Machine> = serde_json::from_value(v).expect("parses");
    let m = &c.value[0];
    assert_eq!(m.id, "1e5bc9d7e413ddd7902c2932e418702b84d0cc07");
    assert_eq!(
        m.rbac_group_id.as_deref(),
        Some("140"),
        "a number kept as text"
    );
    let a: MachineAction = serde_json::from_str(
        r#"{"id":"x","type":"Isolate","status":"Pending","brandNewField":{"a":1}}"#,
    )
    .expect("parses");
    assert_eq!(a.kind, "Isolate");
    assert!(!a.is_final());
    assert_eq!(a.extra["brandNewField"]["a"], 1);
}

//! Whatever a client sends in the query string or a hunting query, the answer is a 200
//! or a 400 with MDE's body, never a 500 or a hang.

use super::*;
use proptest::prelude::*;

/// One emulator and token for every case: building them per case would dominate.
fn shared() -> &'static (tokio::runtime::Runtime, Emu, String) {
    static SHARED: std::sync::OnceLock<(tokio::runtime::Runtime, Emu, String)> =
        std::sync::OnceLock::new();
    SHARED.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let (e, t) = rt.block_on(async {
            let e = emu_from(&scenario(
                "mde_calls_per_minute = 1000000\nmde_calls_per_hour = 100000000\nhunting_calls_per_minute = 1000000\nhunting_calls_per_hour = 100000000",
            ));
            let roles = [
                "Alert.ReadWrite.All",
                "Machine.ReadWrite.All",
                "Ti.ReadWrite.All",
                "Vulnerability.Read.All",
                "AdvancedQuery.Read.All",
            ];
            let t = e.token_with(CONTOSO, &roles).await;
            (e, t)
        });
        (rt, e, t)
    })
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn odata_options_never_fail_the_server(
        set in prop::sample::select(vec!["alerts", "machines", "machineactions", "indicators", "investigations", "vulnerabilities"]),
        option in prop::sample::select(vec!["$filter", "$orderby", "$select", "$top", "$skip", "$expand", "$count", "$x"]),
        value in "[a-zA-Z0-9 '()/:,.<>=!~$-]{0,60}",
    ) {
        let (rt, e, t) = shared();
        rt.block_on(async {
            let r = e.api("GET", &format!("/api/{set}?{option}={}", enc(&value)), Some(t), None).await;
            prop_assert!(r.status == 200 || r.status == 400, "{set}?{option}={value}: {} {}", r.status, r.text());
            if r.status == 400 {
                r.mde_error(400, "ODataError");
            }
            Ok(())
        })?;
    }

    #[test]
    fn hunting_queries_never_fail_the_server(
        table in prop::sample::select(vec!["DeviceInfo", "AlertInfo", "AlertEvidence", "DeviceProcessEvents", "Nope"]),
        tail in "[a-zA-Z0-9 |'\"(),=<>!~._-]{0,80}",
    ) {
        let (rt, e, t) = shared();
        rt.block_on(async {
            let q = format!("{table} {tail}");
            let r = e
                .api("POST", "/api/advancedqueries/run", Some(t), Some(serde_json::json!({"Query": q})))
                .await;
            prop_assert!(r.status == 200 || r.status == 400, "{q}: {} {}", r.status, r.text());
            if r.status == 400 {
                r.mde_error(400, "BadRequest");
            }
            Ok(())
        })?;
    }
}

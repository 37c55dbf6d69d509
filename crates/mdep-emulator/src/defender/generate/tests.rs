use super::*;
use uuid::Uuid;

fn recipe(seed: u64) -> Recipe {
    Recipe {
        tenant: Uuid::from_u128(0x2222),
        domain: "contoso.onmicrosoft.com".into(),
        devices: 20,
        alerts: 30,
        seed,
        anchor: ANCHOR,
    }
}

#[test]
fn every_time_lies_before_the_anchor_and_the_anchor_moves_them() {
    let times = |g: &Generated| -> Vec<time::OffsetDateTime> {
        let keys = [
            "alertCreationTime",
            "lastUpdateTime",
            "lastSeen",
            "firstSeen",
            "creationDateTimeUtc",
        ];
        g.alerts
            .iter()
            .chain(&g.machines)
            .chain(&g.actions)
            .chain(&g.indicators)
            .flat_map(|v| keys.iter().filter_map(move |k| v[*k].as_str()))
            .map(|t| {
                time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                    .expect("time")
            })
            .collect()
    };
    let a = generate(&recipe(3));
    let later = ANCHOR + time::Duration::days(400);
    let b = generate(&Recipe {
        anchor: later,
        ..recipe(3)
    });
    let (ta, tb) = (times(&a), times(&b));
    assert!(ta.len() > 50, "{}", ta.len());
    assert!(ta.iter().all(|t| *t < ANCHOR));
    assert!(tb.iter().all(|t| *t < later));
    // The same draws, shifted: the data is the same but for its times.
    for (x, y) in ta.iter().zip(&tb) {
        assert_eq!(*y - *x, time::Duration::days(400));
    }
    assert_eq!(a.machines[0]["id"], b.machines[0]["id"]);
    // Recent: devices seen in the last 3 days, alerts within 30 days.
    assert!(b.machines.iter().all(|m| {
        let seen = time::OffsetDateTime::parse(
            m["lastSeen"].as_str().expect("lastSeen"),
            &time::format_description::well_known::Rfc3339,
        )
        .expect("time");
        later - seen <= time::Duration::days(3)
    }));
}

#[test]
fn a_seed_never_cancels_the_tenant_id() {
    let t = |i: u128| Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0000 | i);
    let seeds: std::collections::HashSet<u64> = (0..64u64)
        .map(|i| mixed_seed(t(u128::from(i)), i))
        .collect();
    assert_eq!(seeds.len(), 64);
    assert_ne!(mixed_seed(t(1), 0), mixed_seed(t(0), 1));
}

#[test]
fn same_seed_same_data_other_seed_other_data() {
    let a = generate(&recipe(7));
    let b = generate(&recipe(7));
    assert_eq!(a.machines, b.machines);
    assert_eq!(a.alerts, b.alerts);
    assert_eq!(a.actions, b.actions);
    assert_eq!(a.indicators, b.indicators);
    let c = generate(&recipe(8));
    assert_ne!(a.machines, c.machines);
    let mut other = recipe(7);
    other.tenant = Uuid::from_u128(0x3333);
    assert_ne!(generate(&other).machines[0]["id"], a.machines[0]["id"]);
}

#[test]
fn counts_and_formats() {
    let g = generate(&recipe(1));
    assert_eq!(g.machines.len(), 20);
    assert_eq!(g.alerts.len(), 30);
    assert_eq!(g.logons.len(), 20);
    for m in &g.machines {
        let id = m["id"].as_str().expect("id");
        assert!(
            id.len() == 40 && id.chars().all(|c| c.is_ascii_hexdigit()),
            "{id}"
        );
        let seen = m["lastSeen"].as_str().expect("lastSeen");
        assert_eq!(seen.len(), "2021-01-26T20:33:57.7220239Z".len(), "{seen}");
    }
    for a in &g.alerts {
        let id = a["id"].as_str().expect("id");
        let (ticks, n) = id
            .strip_prefix("da")
            .and_then(|r| r.split_once('_'))
            .expect("da<ticks>_<n>");
        assert_eq!(ticks.len(), 18, "{id}");
        assert!(n.parse::<i32>().is_ok(), "{id}");
        assert!(!a["evidence"].as_array().expect("evidence").is_empty());
    }
    for x in &g.actions {
        assert!(Uuid::try_parse(x["id"].as_str().expect("id")).is_ok());
    }
    assert!(
        generate(&Recipe {
            devices: 0,
            ..recipe(1)
        })
        .alerts
        .is_empty()
    );
}

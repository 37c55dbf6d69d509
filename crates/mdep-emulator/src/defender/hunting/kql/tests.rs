use super::*;
use proptest::prelude::*;

#[test]
fn parses_the_documented_example() {
    let q = parse("DeviceProcessEvents |where InitiatingProcessFileName =~ 'powershell.exe' |where ProcessCommandLine contains 'appdata'|project Timestamp, FileName, InitiatingProcessFileName, DeviceId|limit 2").expect("parses");
    assert_eq!(q.table, "DeviceProcessEvents");
    assert_eq!(q.ops.len(), 4);
    assert_eq!(q.ops[3], Op::Take(2));
    assert!(matches!(&q.ops[0], Op::Where(Expr::Bin(_, BinOp::EqCi, _))));
}

#[test]
fn operators_and_literals() {
    let q = parse(
        "AlertInfo | where Timestamp > ago(7d) and Severity in ('High', \"Medium\") or not(Title has 'x')
         | extend T = tolower(Title) | summarize n = count(), dcount(DeviceId) by Severity, bin(Timestamp, 1d)
         | order by n desc, Severity asc | top 5 by n | take 3 // done",
    )
    .expect("parses");
    assert_eq!(q.ops.len(), 6);
    let Op::Summarize { aggs, by } = &q.ops[2] else {
        panic!("summarize")
    };
    assert_eq!(aggs[0], (Some("n".into()), Agg::Count));
    assert_eq!(by.len(), 2);
    assert_eq!(
        parse("T | where x > datetime(2024-01-01T10:00:00Z)").map(|q| q.ops.len()),
        Ok(1)
    );
    assert_eq!(parse("T | where x > 1.5h").map(|q| q.ops.len()), Ok(1));
}

#[test]
fn unsupported_operators_are_named() {
    for (q, needle) in [
        ("T | join (U) on Id", "'join'"),
        ("T | mv-expand x", "'mv-expand'"),
        ("T | project-away x", "'project-away'"),
        ("T | frobnicate", "'frobnicate'"),
        ("T | where a matches regex 'x'", "'matches'"),
        ("T | where a + 1 > 2", "arithmetic"),
        ("T | summarize avg(x)", "'avg'"),
    ] {
        let e = parse(q).expect_err(q);
        assert!(e.message.contains(needle), "{q}: {e}");
    }
    for q in [
        "",
        "T |",
        "T | where",
        "T | where (a",
        "T | take x",
        "T | where a == 'x",
        "| T",
    ] {
        assert!(parse(q).is_err(), "{q}");
    }
    let deep = format!("T | where {}a{}", "(".repeat(5000), ")".repeat(5000));
    assert!(parse(&deep).is_err());
}

proptest! {
    #[test]
    fn random_text_never_panics(s in "\\PC{0,200}") {
        let _ = parse(&s);
    }

    #[test]
    fn query_like_text_never_panics(s in "[A-Za-z0-9 |'\"(),=<>!~.@_-]{0,160}") {
        let _ = parse(&s);
    }
}

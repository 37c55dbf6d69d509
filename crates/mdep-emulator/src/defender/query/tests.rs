use super::*;
use proptest::prelude::*;
use serde_json::json;

static SET: EntitySet = EntitySet {
    name: "Thing",
    filterable: &[
        Field {
            key: "id",
            kind: Kind::Str,
        },
        Field {
            key: "severity",
            kind: Kind::Enum(&["Informational", "Low", "Medium", "High"]),
        },
        Field {
            key: "created",
            kind: Kind::Time,
        },
        Field {
            key: "count",
            kind: Kind::Num,
        },
        Field {
            key: "flag",
            kind: Kind::Bool,
        },
        Field {
            key: "aad",
            kind: Kind::Guid,
        },
        Field {
            key: "tags",
            kind: Kind::StrList,
        },
    ],
    properties: &[
        "id", "severity", "created", "count", "flag", "aad", "tags", "extra",
    ],
    expands_evidence: false,
    max_top: MAX_TOP,
};

fn items() -> Vec<Value> {
    vec![
        json!({"id": "a", "severity": "Low", "created": "2024-01-01T10:00:00.1234567Z", "count": 3, "flag": true, "aad": "80FE8FF8-2624-418E-9591-41F0491218F9", "tags": ["VIP"], "extra": 1}),
        json!({"id": "b", "severity": "High", "created": "2024-01-02T10:00:00Z", "count": 10, "flag": false, "aad": null, "tags": [], "extra": 2}),
        json!({"id": "c", "severity": "Medium", "created": "2024-01-03T10:00:00.5Z", "count": 7, "flag": true, "aad": null, "tags": ["Lab", "VIP2"], "extra": 3}),
        json!({"id": "d", "severity": "Informational", "created": null, "count": null, "flag": false, "aad": null, "tags": ["Lab"], "extra": 4}),
    ]
}

fn ids(raw: &str) -> Vec<String> {
    let q = Query::parse(Some(raw), &SET).unwrap_or_else(|e| panic!("{raw}: {}", e.message));
    let data = items();
    q.run(data.iter().map(Cow::Borrowed), 100)
        .items
        .iter()
        .map(|v| v["id"].as_str().unwrap_or("?").to_owned())
        .collect()
}

fn err(raw: &str) -> MdeError {
    Query::parse(Some(raw), &SET).expect_err(raw)
}

#[test]
fn filters_compare_by_type() {
    assert_eq!(ids("$filter=severity eq 'High'"), ["b"]);
    assert_eq!(
        ids("$filter=severity ge 'Medium'"),
        ["b", "c"],
        "enums by rank"
    );
    assert_eq!(
        ids("$filter=created gt 2024-01-01T10:00:00.1234Z"),
        ["a", "b", "c"]
    );
    assert_eq!(ids("$filter=created lt '2024-01-02'"), ["a"]);
    assert_eq!(ids("$filter=count ge 7 and flag eq true"), ["c"]);
    assert_eq!(ids("$filter=count eq null"), ["d"]);
    assert_eq!(
        ids("$filter=count ne null and (id eq 'a' or id eq 'b')"),
        ["a", "b"]
    );
    assert_eq!(ids("$filter=not (flag eq true)"), ["b", "d"]);
    assert_eq!(ids("$filter=id in ('a', 'd', 'zz')"), ["a", "d"]);
    assert_eq!(
        ids("$filter=aad eq 80fe8ff8-2624-418e-9591-41f0491218f9"),
        ["a"]
    );
    assert_eq!(ids("$filter=tags/any(t: t eq 'Lab')"), ["c", "d"]);
    assert_eq!(ids("$filter=tags/any(t: startswith(t, 'VIP'))"), ["a", "c"]);
    assert_eq!(ids("$filter=tags/any()"), ["a", "c", "d"]);
    assert_eq!(ids("$filter=startswith(id,'c')"), ["c"]);
    assert_eq!(
        ids("$filter=SEVERITY eq 'Low'"),
        ["a"],
        "property names ignore case"
    );
}

#[test]
fn unknown_properties_and_wrong_types_are_named() {
    let e = err("$filter=extra eq 1");
    assert_eq!((e.status.as_u16(), e.code), (400, "ODataError"));
    assert!(
        e.message.contains("'extra'") && e.message.contains("Filterable properties: id"),
        "{}",
        e.message
    );
    let e = err("$filter=created gt 'yesterday'");
    assert!(e.message.contains("Edm.DateTimeOffset"), "{}", e.message);
    let e = err("$filter=count eq 'x'");
    assert!(e.message.contains("'count'"), "{}", e.message);
    assert!(err("$filter=tags eq 'x'").message.contains("collection"));
    assert!(
        err("$filter=id/any(x: x eq 'a')")
            .message
            .contains("not one")
    );
    assert!(err("$filter=tags/any(x: y eq 'a')").message.contains("'y'"));
    assert!(
        err("$filter=status eqq 'New'")
            .message
            .contains("position 7")
    );
    assert!(err("$orderby=extra").message.contains("'extra'"));
    assert!(err("$orderby=id sideways").message.contains("sideways"));
    assert!(err("$select=nope").message.contains("'nope'"));
    assert!(err("$expand=evidence").message.contains("evidence"));
    assert!(err("$top=10001").message.contains("limit of '10000'"));
    assert!(err("$top=-1").message.contains("$top"));
    assert!(err("$skip=x").message.contains("$skip"));
    assert!(err("$top=1&$top=2").message.contains("more than once"));
    assert!(
        err("$search=x")
            .message
            .contains("'$search' is not supported")
    );
}

#[test]
fn order_select_and_pages() {
    assert_eq!(ids("$orderby=count desc"), ["b", "c", "a", "d"]);
    assert_eq!(ids("$orderby=severity"), ["d", "a", "c", "b"]);
    assert_eq!(ids("$orderby=created desc&$top=2"), ["c", "b"]);
    assert_eq!(ids("$skip=1&$top=2"), ["b", "c"]);
    assert_eq!(ids("$skip=9"), Vec::<String>::new());
    let q = Query::parse(Some("$select=count,ID"), &SET).expect("select");
    assert_eq!(
        q.project(items()[0].clone()),
        json!({"id": "a", "count": 3})
    );

    let data = items();
    let q = Query::parse(Some("$filter=id ne 'zz'&$top=3"), &SET).expect("query");
    let page = q.run(data.iter().map(Cow::Borrowed), 2);
    assert_eq!(page.items.len(), 2);
    assert_eq!(
        page.next.as_deref(),
        Some("%24filter=id+ne+%27zz%27&%24top=1&%24skip=2"),
        "the next page keeps the filter and what is left of $top"
    );
    let q = Query::parse(Some("$top=2"), &SET).expect("query");
    assert!(
        q.run(data.iter().map(Cow::Borrowed), 2).next.is_none(),
        "$top reached"
    );
    let q = Query::parse(None, &SET).expect("query");
    let page = q.run(data.iter().map(Cow::Borrowed), 3);
    assert_eq!(page.next.as_deref(), Some("%24skip=3"));
    let q = Query::parse(Some("$count=true&$orderby=id&$top=1"), &SET).expect("query");
    let page = q.run(data.iter().map(Cow::Borrowed), 1);
    assert_eq!((page.count, page.items.len()), (Some(4), 1));
    assert!(page.next.is_none());
}

proptest! {
    #[test]
    fn any_query_string_is_an_answer_or_a_400(raw in "\\PC{0,120}") {
        if let Ok(q) = Query::parse(Some(&raw), &SET) {
            let data = items();
            let _ = q.run(data.iter().map(Cow::Borrowed), 2);
        }
    }

    #[test]
    fn filter_shaped_queries_never_panic(
        f in "[a-zA-Z0-9 '()/:,.\\-]{0,80}",
        o in "[a-zA-Z ,]{0,20}",
    ) {
        let raw = format!("$filter={}&$orderby={}", urlencode(&f), urlencode(&o));
        match Query::parse(Some(&raw), &SET) {
            Ok(q) => {
                let data = items();
                let _ = q.run(data.iter().map(Cow::Borrowed), 3);
            }
            Err(e) => prop_assert_eq!(e.status.as_u16(), 400),
        }
    }
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

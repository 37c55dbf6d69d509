use super::*;
use proptest::prelude::*;

fn parse(s: &str) -> Filter {
    Filter::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn cmp(path: &str, op: CompareOp, value: Literal) -> Filter {
    Filter::Compare {
        path: path.into(),
        op,
        value,
    }
}

#[test]
fn parses_the_documented_examples() {
    // mde-api.md §4.1 / exposed-apis-odata-samples.
    assert_eq!(
        parse("riskScore eq 'High'"),
        cmp("riskScore", CompareOp::Eq, Literal::String("High".into()))
    );
    assert_eq!(
        parse("alertCreationTime gt 2018-11-22T00:00:00Z"),
        cmp(
            "alertCreationTime",
            CompareOp::Gt,
            Literal::DateTime("2018-11-22T00:00:00Z".into())
        )
    );
    assert_eq!(
        parse("startswith(computerDnsName,'mymachine')"),
        Filter::Function {
            function: StringFunction::StartsWith,
            path: "computerDnsName".into(),
            value: "mymachine".into()
        }
    );
    assert_eq!(
        parse("machineTags/any(tag: tag eq 'ExampleTag')"),
        Filter::Any {
            path: "machineTags".into(),
            lambda: Some((
                "tag".into(),
                Box::new(cmp(
                    "tag",
                    CompareOp::Eq,
                    Literal::String("ExampleTag".into())
                ))
            ))
        }
    );
    let f = parse("healthStatus ne 'Active' and lastSeen lt 2024-01-01T00:00:00.1234567Z");
    assert!(matches!(f, Filter::And(..)));
    assert_eq!(f.paths(), vec!["healthStatus", "lastSeen"]);
}

#[test]
fn precedence_and_parentheses() {
    let f = parse("a eq 1 or b eq 2 and c eq 3");
    let Filter::Or(_, right) = &f else {
        panic!("or binds loosest: {f:?}")
    };
    assert!(matches!(**right, Filter::And(..)));
    let g = parse("(a eq 1 or b eq 2) and c eq 3");
    assert!(matches!(g, Filter::And(..)));
    assert_eq!(g.to_string(), "(a eq 1 or b eq 2) and c eq 3");
    assert_eq!(
        parse("not (a eq 1)").to_string(),
        "not a eq 1",
        "not binds tighter than a comparison's absence of parentheses needs"
    );
}

#[test]
fn literals() {
    assert_eq!(
        parse("id eq 'it''s'"),
        cmp("id", CompareOp::Eq, Literal::String("it's".into()))
    );
    assert_eq!(parse("n ge -5"), cmp("n", CompareOp::Ge, Literal::Int(-5)));
    assert_eq!(
        parse("n lt 2.5"),
        cmp("n", CompareOp::Lt, Literal::Float(2.5))
    );
    assert_eq!(
        parse("b eq true"),
        cmp("b", CompareOp::Eq, Literal::Bool(true))
    );
    assert_eq!(parse("x eq null"), cmp("x", CompareOp::Eq, Literal::Null));
    assert_eq!(
        parse("aadDeviceId eq 80fe8ff8-2624-418e-9591-41f0491218f9"),
        cmp(
            "aadDeviceId",
            CompareOp::Eq,
            Literal::Guid("80fe8ff8-2624-418e-9591-41f0491218f9".into())
        )
    );
    assert_eq!(
        parse("status in ('New', 'InProgress')"),
        Filter::In {
            path: "status".into(),
            values: vec![
                Literal::String("New".into()),
                Literal::String("InProgress".into())
            ]
        }
    );
    assert_eq!(
        parse("t/any()"),
        Filter::Any {
            path: "t".into(),
            lambda: None
        }
    );
}

#[test]
fn malformed_input_names_the_position() {
    for (input, pos) in [
        ("status eqq 'New'", 7),
        ("status eq 'New", 10),
        ("status eq", 9),
        ("(status eq 'New'", 16),
        ("status eq 'New')", 15),
        ("", 0),
        ("eq eq 1", 0),
        ("'x' eq status", 0),
        ("a eq 1 and", 10),
        ("a in ()", 6),
        ("a eq #", 5),
        ("a eq 12abc", 5),
        ("startswith(a, 1)", 15),
        ("x/any(: x eq 1)", 6),
    ] {
        let e = Filter::parse(input).expect_err(input);
        assert_eq!(e.position, pos, "{input}: {e}");
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("{}a eq 1{}", "(".repeat(10_000), ")".repeat(10_000));
    assert!(Filter::parse(&deep).is_err());
    let nots = format!("{}a eq 1", "not ".repeat(10_000));
    assert!(Filter::parse(&nots).is_err());
    let ok = format!("{}a eq 1{}", "(".repeat(20), ")".repeat(20));
    assert!(Filter::parse(&ok).is_ok());
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        Just(Literal::Null),
        any::<bool>().prop_map(Literal::Bool),
        any::<i64>().prop_map(Literal::Int),
        (-1.0e12f64..1.0e12).prop_map(Literal::Float),
        "[ -~]{0,12}".prop_map(Literal::String),
        Just(Literal::DateTime("2024-05-06T07:08:09.1234567Z".into())),
        Just(Literal::Guid("80fe8ff8-2624-418e-9591-41f0491218f9".into())),
    ]
}

fn path() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9_]{0,8}(/[a-zA-Z][a-zA-Z0-9]{0,5})?".prop_filter("not a keyword", |p| {
        !is_keyword(p)
            && !matches!(p.as_str(), "true" | "false" | "null")
            && !p.ends_with("/any")
            && StringFunction::from_name(p).is_none()
    })
}

fn filter() -> impl Strategy<Value = Filter> {
    let leaf = prop_oneof![
        (
            path(),
            prop_oneof![
                Just(CompareOp::Eq),
                Just(CompareOp::Ne),
                Just(CompareOp::Gt),
                Just(CompareOp::Ge),
                Just(CompareOp::Lt),
                Just(CompareOp::Le)
            ],
            literal()
        )
            .prop_map(|(path, op, value)| Filter::Compare { path, op, value }),
        (path(), proptest::collection::vec(literal(), 1..4))
            .prop_map(|(path, values)| Filter::In { path, values }),
        (path(), "[ -~]{0,8}").prop_map(|(path, value)| Filter::Function {
            function: StringFunction::StartsWith,
            path,
            value
        }),
    ];
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
            inner.clone().prop_map(|a| Filter::Not(Box::new(a))),
            (path(), inner).prop_map(|(p, body)| Filter::Any {
                path: p,
                lambda: Some(("x".into(), Box::new(body)))
            }),
        ]
    })
}

proptest! {
    #[test]
    fn rendering_parses_back_to_the_same_tree(f in filter()) {
        let text = f.to_string();
        let back = Filter::parse(&text);
        prop_assert_eq!(back.as_ref(), Ok(&f), "rendered: {}", text);
    }

    #[test]
    fn random_text_never_panics(s in "\\PC{0,200}") {
        let _ = Filter::parse(&s);
    }

    #[test]
    fn filter_like_text_never_panics(s in "[a-z0-9 '()/:,.\\-]{0,120}") {
        if let Ok(f) = Filter::parse(&s) {
            // Whatever parses renders to something that parses to the same tree.
            prop_assert_eq!(Filter::parse(&f.to_string()), Ok(f));
        }
    }
}

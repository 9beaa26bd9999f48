#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use super::{Selector, SelectorError};

mod props;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Label sets the evaluation table refers to by index.
fn label_sets() -> Vec<BTreeMap<String, String>> {
    vec![
        // 0: nothing
        labels(&[]),
        // 1: a rack-3 route reflector
        labels(&[
            ("rack", "rack-3"),
            ("route-reflector", "true"),
            ("kubernetes.io/hostname", "node-1"),
        ]),
        // 2: prod web tier
        labels(&[("environment", "prod"), ("tier", "web"), ("a", "1")]),
        // 3: staging db tier
        labels(&[
            ("environment", "staging"),
            ("tier", "db"),
            ("b", "2"),
            ("c", "3"),
        ]),
        // 4: odd keys and values
        labels(&[
            ("app-name_x.y", "front end"),
            ("projectcalico.org/namespace", "kube-system"),
            ("quote", "say \"hi\""),
            ("empty", ""),
        ]),
    ]
}

/// (selector, canonical form, indices of the label sets it matches).
const EVAL_CASES: &[(&str, &str, &[usize])] = &[
    ("", "all()", &[0, 1, 2, 3, 4]),
    ("   \t\n", "all()", &[0, 1, 2, 3, 4]),
    ("all()", "all()", &[0, 1, 2, 3, 4]),
    (" all ( ) ", "all()", &[0, 1, 2, 3, 4]),
    ("global()", "global()", &[0, 1, 2, 3, 4]),
    ("!all()", "!all()", &[]),
    ("rack == \"rack-3\"", "rack == \"rack-3\"", &[1]),
    ("rack=='rack-3'", "rack == \"rack-3\"", &[1]),
    ("rack == \"rack-4\"", "rack == \"rack-4\"", &[]),
    ("rack != \"rack-3\"", "rack != \"rack-3\"", &[0, 2, 3, 4]),
    ("has(route-reflector)", "has(route-reflector)", &[1]),
    ("has( route-reflector )", "has(route-reflector)", &[1]),
    (
        "!has(kubernetes.io/hostname)",
        "!has(kubernetes.io/hostname)",
        &[0, 2, 3, 4],
    ),
    ("! ! has(rack)", "!!has(rack)", &[1]),
    ("!rack == \"rack-3\"", "!rack == \"rack-3\"", &[0, 2, 3, 4]),
    (
        "tier in {\"web\", 'db'}",
        "tier in {\"db\", \"web\"}",
        &[2, 3],
    ),
    ("tier in {}", "tier in {}", &[]),
    ("tier not in {}", "tier not in {}", &[0, 1, 2, 3, 4]),
    (
        "tier not in {\"db\"}",
        "tier not in {\"db\"}",
        &[0, 1, 2, 4],
    ),
    ("tier in {\"db\",\"db\"}", "tier in {\"db\"}", &[3]),
    (
        "environment in {\"prod\",\"staging\"} && tier not in {\"db\"}",
        "environment in {\"prod\", \"staging\"} && tier not in {\"db\"}",
        &[2],
    ),
    (
        "environment contains \"tag\"",
        "environment contains \"tag\"",
        &[3],
    ),
    ("rack contains \"\"", "rack contains \"\"", &[1]),
    ("missing contains \"\"", "missing contains \"\"", &[]),
    (
        "environment starts with \"pr\"",
        "environment starts with \"pr\"",
        &[2],
    ),
    (
        "environment ends with \"ing\"",
        "environment ends with \"ing\"",
        &[3],
    ),
    ("missing ends with \"\"", "missing ends with \"\"", &[]),
    (
        "app-name_x.y == 'front end'",
        "app-name_x.y == \"front end\"",
        &[4],
    ),
    (
        "projectcalico.org/namespace == \"kube-system\"",
        "projectcalico.org/namespace == \"kube-system\"",
        &[4],
    ),
    ("quote == 'say \"hi\"'", "quote == 'say \"hi\"'", &[4]),
    ("empty == \"\"", "empty == \"\"", &[4]),
    ("empty != \"\"", "empty != \"\"", &[0, 1, 2, 3]),
    // `&&` binds tighter than `||`.
    (
        "a == \"1\" || b == \"2\" && c == \"3\"",
        "a == \"1\" || b == \"2\" && c == \"3\"",
        &[2, 3],
    ),
    (
        "a == \"1\" || b == \"2\" && c == \"4\"",
        "a == \"1\" || b == \"2\" && c == \"4\"",
        &[2],
    ),
    (
        "(a == \"1\" || b == \"2\") && c == \"4\"",
        "(a == \"1\" || b == \"2\") && c == \"4\"",
        &[],
    ),
    ("!(has(a) || has(b))", "!(has(a) || has(b))", &[0, 1, 4]),
    ("!has(a) && !has(b)", "!has(a) && !has(b)", &[0, 1, 4]),
    (
        "((has(rack)) && ((has(route-reflector))))",
        "has(rack) && has(route-reflector)",
        &[1],
    ),
    (
        "(has(a) && has(b)) && has(c)",
        "has(a) && has(b) && has(c)",
        &[],
    ),
    (
        "has(a) || (has(b) || has(rack))",
        "has(a) || has(b) || has(rack)",
        &[1, 2, 3],
    ),
    // Keywords are only keywords where an operator is expected.
    ("in == \"x\"", "in == \"x\"", &[]),
    ("has != \"x\"", "has != \"x\"", &[0, 1, 2, 3, 4]),
    ("not not in {\"x\"}", "not not in {\"x\"}", &[0, 1, 2, 3, 4]),
];

#[test]
fn evaluates_table() {
    let sets = label_sets();
    for &(text, canonical, expected) in EVAL_CASES {
        let selector = Selector::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(selector.to_string(), canonical, "display of {text:?}");
        assert_eq!(selector.source(), text);
        let reparsed = Selector::parse(canonical).unwrap();
        assert_eq!(reparsed, selector, "reparse of {text:?}");
        let matched: Vec<usize> = (0..sets.len())
            .filter(|&i| selector.matches(&sets[i]))
            .collect();
        assert_eq!(matched, expected, "matches of {text:?}");
        for (i, set) in sets.iter().enumerate() {
            let via_fn = selector.matches_fn(|k| set.get(k).map(String::as_str));
            assert_eq!(via_fn, expected.contains(&i), "matches_fn of {text:?}");
        }
    }
}

/// (selector, column, message).
const ERROR_CASES: &[(&str, usize, &str)] = &[
    ("rack == ", 9, "expected a quoted string after \"==\""),
    (
        "rack == \"rack-3",
        9,
        "unterminated string: expected a closing \"",
    ),
    (
        "rack == 'rack-3",
        9,
        "unterminated string: expected a closing '",
    ),
    (
        "a in {\"x\"",
        10,
        "expected \",\" or \"}\" to continue or close the set",
    ),
    (
        "a in {\"x\" \"y\"}",
        11,
        "expected \",\" or \"}\" to continue or close the set, found a quoted string",
    ),
    ("a in {", 7, "expected a quoted string or \"}\" after \"{\""),
    (
        "a in {\"x\",}",
        11,
        "expected a quoted string after \",\", found \"}\"",
    ),
    (
        "all() x",
        7,
        "expected \"&&\", \"||\" or end of selector, found \"x\"",
    ),
    (
        "a in \"x\"",
        6,
        "expected \"{\" after \"in\", found a quoted string",
    ),
    (
        "a not in (",
        10,
        "expected \"{\" after \"not in\", found \"(\"",
    ),
    (
        "a not \"x\"",
        7,
        "expected \"in\" after \"not\", found a quoted string",
    ),
    (
        "rack",
        5,
        "expected an operator (==, !=, in, not in, contains, starts with, ends with) \
         after label key \"rack\"",
    ),
    (
        "a == b",
        6,
        "expected a quoted string after \"==\", found \"b\"",
    ),
    (
        "a starts \"x\"",
        10,
        "expected \"with\" after \"starts\", found a quoted string",
    ),
    (
        "a ends with",
        12,
        "expected a quoted string after \"ends with\"",
    ),
    (
        "a contains",
        11,
        "expected a quoted string after \"contains\"",
    ),
    ("has(a) & has(b)", 8, "unexpected character '&'"),
    ("has(a) | has(b)", 8, "unexpected character '|'"),
    ("a = \"x\"", 3, "unexpected character '='"),
    ("ä == \"x\"", 1, "unexpected character 'ä'"),
    ("a == \"ä\" #", 10, "unexpected character '#'"),
    (
        "has(a) &&",
        10,
        "expected a label key, \"has(...)\", \"all()\", \"!\" or \"(\"",
    ),
    (
        "|| has(a)",
        1,
        "expected a label key, \"has(...)\", \"all()\", \"!\" or \"(\", found \"||\"",
    ),
    (
        "(has(a)",
        8,
        "expected \")\" to close the \"(\" at column 1",
    ),
    (
        "has(x) && (has(a) || has(b)",
        28,
        "expected \")\" to close the \"(\" at column 11",
    ),
    (
        "has(a))",
        7,
        "expected \"&&\", \"||\" or end of selector, found \")\"",
    ),
    (
        "has()",
        5,
        "expected a label key inside \"has(...)\", found \")\"",
    ),
    ("has(a", 6, "expected \")\" to close \"has(\""),
    ("all(x)", 5, "expected \")\" after \"all(\", found \"x\""),
    (
        "-a == \"x\"",
        1,
        "invalid label key \"-a\": must start with a letter or digit",
    ),
    (
        "has(/a)",
        5,
        "invalid label key \"/a\": must start with a letter or digit",
    ),
];

#[test]
fn reports_errors_with_columns() {
    for &(text, column, message) in ERROR_CASES {
        let err = Selector::parse(text).unwrap_err();
        let want = SelectorError {
            column,
            message: message.to_owned(),
        };
        assert_eq!(err, want, "error for {text:?}");
        assert_eq!(err.to_string(), format!("column {column}: {message}"));
    }
}

#[test]
fn describes_error_with_selector() {
    let err = Selector::parse("rack == ").unwrap_err();
    assert_eq!(
        err.describe("rack == "),
        "selector \"rack == \": column 9: expected a quoted string after \"==\""
    );
}

#[test]
fn limits_nesting_depth() {
    let deep = format!("{}has(a){}", "(".repeat(100), ")".repeat(100));
    assert!(Selector::parse(&deep).is_ok());
    let too_deep = format!("{}has(a){}", "(".repeat(101), ")".repeat(101));
    let err = Selector::parse(&too_deep).unwrap_err();
    assert_eq!(err.column, 101);
    let nots = format!("{}has(a)", "!".repeat(100_000));
    assert_eq!(Selector::parse(&nots).unwrap_err().column, 101);
    let long = vec!["has(a)"; 100_000].join(" && ");
    assert!(
        Selector::parse(&long)
            .unwrap()
            .matches(&labels(&[("a", "")]))
    );
}

#[test]
fn all_and_equality() {
    assert!(Selector::all().is_all());
    assert!(Selector::parse("").unwrap().is_all());
    assert!(Selector::parse(" all() ").unwrap().is_all());
    assert!(!Selector::parse("global()").unwrap().is_all());
    assert!(!Selector::parse("all() && all()").unwrap().is_all());
    assert_eq!(Selector::all(), Selector::parse("").unwrap());
    assert_eq!(Selector::all().source(), "all()");
    assert_eq!(Selector::default(), Selector::all());
    assert_eq!(
        Selector::parse("a=='1'&&b in {'y','x'}").unwrap(),
        Selector::parse("a == \"1\" && b in {\"x\", \"y\"}").unwrap()
    );
    assert_ne!(
        Selector::parse("a == \"1\"").unwrap(),
        Selector::parse("a != \"1\"").unwrap()
    );
    let from_str: Selector = "has(x)".parse().unwrap();
    assert_eq!(from_str, Selector::try_from("has( x )").unwrap());
}

#[test]
fn serde_uses_source_text() {
    let selector = Selector::parse("rack=='rack-3'").unwrap();
    let json = serde_json::to_string(&selector).unwrap();
    assert_eq!(json, r#""rack=='rack-3'""#);
    let back: Selector = serde_json::from_str(&json).unwrap();
    assert_eq!(back, selector);
    assert_eq!(back.source(), "rack=='rack-3'");

    let err = serde_json::from_str::<Selector>(r#""rack == ""#).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("selector \"rack == \": column 9: expected a quoted string after \"==\""),
        "{err}"
    );
    assert!(serde_json::from_str::<Selector>("3").is_err());
}

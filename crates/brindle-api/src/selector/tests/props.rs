//! Property tests: no input panics the parser, and canonical text round-trips.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

use super::super::Selector;
use super::super::ast::{CmpOp, Expr};

/// Deterministic, and writes no regression files into the source tree.
fn config() -> Config {
    Config {
        cases: 512,
        rng_seed: RngSeed::Fixed(0x5e1e_c702),
        failure_persistence: None,
        ..Config::default()
    }
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9._-]{0,6}",
        "[a-z]{1,4}\\.[a-z]{2,3}/[a-z][a-z0-9-]{0,5}",
        Just("in".to_owned()),
        Just("not".to_owned()),
        Just("has".to_owned()),
        Just("all".to_owned()),
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z0-9 ._'-]{0,6}", "[a-z0-9 \"]{0,6}", "\\PC{0,4}"]
        .prop_filter("no value holds both quotes", |v| {
            !(v.contains('"') && v.contains('\''))
        })
}

fn op() -> impl Strategy<Value = CmpOp> {
    prop_oneof![
        Just(CmpOp::Eq),
        Just(CmpOp::Ne),
        Just(CmpOp::Contains),
        Just(CmpOp::StartsWith),
        Just(CmpOp::EndsWith),
    ]
}

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        Just(Expr::All),
        Just(Expr::Global),
        key().prop_map(Expr::Has),
        (key(), op(), value()).prop_map(|(k, o, v)| Expr::Cmp(k, o, v)),
        (
            key(),
            proptest::collection::btree_set(value(), 0..4),
            any::<bool>()
        )
            .prop_map(|(key, values, negated)| Expr::In {
                key,
                values,
                negated
            }),
    ]
}

fn expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(5, 32, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| Expr::Not(Box::new(e))),
            proptest::collection::vec(inner.clone(), 2..4).prop_map(Expr::and),
            proptest::collection::vec(inner, 2..4).prop_map(Expr::or),
        ]
    })
}

/// Text that is mostly selector-like, so the parser gets past the first token.
fn selectorish() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("has(".to_owned()),
            Just("all()".to_owned()),
            Just(" && ".to_owned()),
            Just(" || ".to_owned()),
            Just("!".to_owned()),
            Just(" in {".to_owned()),
            Just(" not in ".to_owned()),
            Just(" starts with ".to_owned()),
            Just(" == ".to_owned()),
            Just("\"v\"".to_owned()),
            "[a-z()'\"{},!=&| ]{1,3}",
            "\\PC{1,2}",
        ],
        0..12,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_text_never_panics(text in prop_oneof![any::<String>(), selectorish()]) {
        match Selector::parse(&text) {
            Ok(selector) => {
                let canonical = selector.to_string();
                prop_assert_eq!(Selector::parse(&canonical), Ok(selector.clone()));
                selector.matches(&BTreeMap::new());
            }
            Err(err) => {
                prop_assert!(err.column >= 1 && err.column <= text.chars().count() + 1);
                prop_assert!(!err.message.contains('\n'));
            }
        }
    }

    #[test]
    fn display_round_trips(expr in expr()) {
        let selector = Selector::from_expr(expr);
        let text = selector.to_string();
        let reparsed = Selector::parse(&text);
        prop_assert_eq!(reparsed, Ok(selector), "canonical text {}", text);
    }
}

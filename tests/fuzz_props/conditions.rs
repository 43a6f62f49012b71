//! Conditions: generated well-formed expressions parse and evaluate, any text parses or is
//! refused at a range inside it, and nesting past the cap is the depth error at any depth.

use flightdeck::runbook::condition::{Condition, MAX_DEPTH};
use proptest::prelude::*;

use crate::checks::{self, condition_vars};
use crate::{CASES, config};

const SUBJECTS: [&str; 8] = [
    "primary",
    "replica",
    "server1",
    "original_primary",
    "replicas",
    "nobody",
    "none",
    "db-2",
];
const BOOL_FACTS: [&str; 4] = ["up", "io_running", "sql_running", "read_only"];
const INT_FACTS: [&str; 2] = ["seconds_behind", "server_id"];
const TEXT_FACTS: [&str; 6] = [
    "version",
    "binlog_format",
    "gtid_binlog_pos",
    "gtid_current_pos",
    "gtid_slave_pos",
    "last_error",
];
/// Valid regular expressions, escaped as strings of the condition language.
const PATTERNS: [&str; 4] = [
    r#""^11\\.4""#,
    r#""""#,
    r#""(?i)duplicate""#,
    r#""[0-9]+-[0-9]+""#,
];

fn subject() -> impl Strategy<Value = &'static str> {
    prop::sample::select(SUBJECTS.to_vec())
}

/// A string literal: plain text with escapes, a var inside it, or a bare var.
fn text_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 .,:_-]{0,12}".prop_map(|t| format!("\"{t}\"")),
        "[a-z]{0,4}".prop_map(|t| format!(r#""{t}\"\\{{{{ vars.v }}}}""#)),
        Just("{{ vars.v }}".to_owned()),
        Just("{{vars.from_version}}".to_owned()),
    ]
}

/// One test, call or comparison, well-typed.
fn leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        (subject(), prop::sample::select(BOOL_FACTS.to_vec()))
            .prop_map(|(s, f)| format!("{s}.{f}")),
        (
            subject(),
            prop::sample::select(BOOL_FACTS.to_vec()),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(s, f, eq, b)| format!("{s}.{f} {} {b}", if eq { "==" } else { "!=" })),
        (
            subject(),
            prop::sample::select(INT_FACTS.to_vec()),
            prop::sample::select(vec!["==", "!=", "<", "<=", ">", ">="]),
            any::<i64>(),
        )
            .prop_map(|(s, f, op, n)| format!("{s}.{f} {op} {n}")),
        (
            subject(),
            prop::sample::select(TEXT_FACTS.to_vec()),
            prop::sample::select(vec!["==", "!=", "contains", "starts_with"]),
            text_literal(),
        )
            .prop_map(|(s, f, op, t)| format!("{s}.{f} {op} {t}")),
        (subject(), prop::sample::select(PATTERNS.to_vec()))
            .prop_map(|(s, p)| format!("{s}.version matches {p}")),
        (subject(), text_literal()).prop_map(|(s, t)| format!("maxscale({s}).state contains {t}")),
        // `and`, `or` and `not` are words of the language, never step ids.
        "[a-z][a-z0-9-]{0,8}"
            .prop_filter("a keyword", |id| !matches!(
                id.as_str(),
                "and" | "or" | "not"
            ))
            .prop_map(|id| format!("succeeded({id})")),
        (subject(), subject()).prop_map(|(r, p)| format!("caught_up({r}, {p})")),
    ]
}

/// Expressions of leaves under `and`, `or`, `not` and parentheses: at most 8 levels, each
/// adding at most two nestings, so always within [`MAX_DEPTH`].
fn expression() -> impl Strategy<Value = String> {
    leaf().prop_recursive(8, 64, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(|xs| xs.join(" and ")),
            prop::collection::vec(inner.clone(), 2..4).prop_map(|xs| xs.join(" or ")),
            inner.clone().prop_map(|x| format!("not ({x})")),
            inner.prop_map(|x| format!("({x})")),
        ]
    })
}

/// Tokens of the language in any order, with a few that are not.
fn token_soup() -> impl Strategy<Value = String> {
    let tokens = prop::sample::select(vec![
        "primary",
        ".",
        "up",
        "version",
        "(",
        ")",
        ",",
        "and",
        "or",
        "not",
        "==",
        "!=",
        "<",
        "=",
        "!",
        "\"",
        "\"x\"",
        "\\",
        "{{",
        "}}",
        "{{ vars.v }}",
        "{{ vars.nope }}",
        "vars",
        "matches",
        "\"(\"",
        "contains",
        "caught_up",
        "succeeded",
        "maxscale",
        "state",
        "-",
        "99999999999999999999",
        "-1",
        "é",
        "\u{0}",
        " ",
    ]);
    prop::collection::vec(tokens, 0..24).prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(config(CASES))]

    #[test]
    fn well_formed_conditions_parse_and_evaluate(source in expression(), v in any::<String>()) {
        let parsed = Condition::parse_with_vars(&source, 0..source.len(), &condition_vars(&v));
        prop_assert!(parsed.is_ok(), "{source}: {:?}", parsed.err());
        prop_assert_eq!(checks::condition_text(&source, &v), Ok(()));
    }

    #[test]
    fn any_text_parses_or_errs_inside_it(
        source in prop_oneof![any::<String>(), token_soup()],
        v in prop_oneof![any::<String>(), Just(r#"x" or primary.up or "y"#.to_owned())],
    ) {
        prop_assert_eq!(checks::condition_text(&source, &v), Ok(()));
    }

    /// Past the cap, at any depth: the depth error, at the first opener past the cap.
    #[test]
    fn deep_nesting_is_the_depth_error(
        extra in 1usize..20_000,
        opener in prop::sample::select(vec!["not ", "(", "not (", "( not "]),
    ) {
        let source = format!("{}primary.up", opener.repeat(MAX_DEPTH + extra));
        let err = Condition::parse(&source, 0..0).err();
        prop_assert!(err.is_some(), "{} openers parsed", MAX_DEPTH + extra);
        let err = err.expect("checked");
        prop_assert!(err.message.contains(&format!("more than {MAX_DEPTH} deep")), "{}", err.message);
        prop_assert!(err.range.end <= source.len());
    }
}

#[test]
fn nesting_up_to_the_cap_parses() {
    for depth in 0..=MAX_DEPTH {
        let nots = format!("{}primary.up", "not ".repeat(depth));
        assert!(Condition::parse(&nots, 0..0).is_ok(), "{depth} nots");
        let parens = format!("{}primary.up{}", "(".repeat(depth), ")".repeat(depth));
        assert!(
            Condition::parse(&parens, 0..0).is_ok(),
            "{depth} parentheses"
        );
    }
}

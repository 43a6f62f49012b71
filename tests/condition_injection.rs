//! Conditions cannot be rewritten by a var: `{{ vars.NAME }}` enters a condition as a
//! literal value after parsing, never as condition text. Nesting is capped with a located
//! error, and the regular expression of `matches` is compiled (and refused) at load.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;

use flightdeck::diag::{Diagnostics, SourceFile};
use flightdeck::inventory::{self, Inventory};
use flightdeck::runbook::condition::{Condition, Expr, Fact, Literal, MAX_DEPTH};
use flightdeck::runbook::eval::{FactSource, FactValue, evaluate};
use flightdeck::runbook::roles::RoleError;
use flightdeck::runbook::{Action, Loaded, check_text};
use proptest::prelude::*;

mod common;

/// What an attacker who can edit the inventory (not the runbook) would try.
const HOSTILE: &str = r#"x" or primary.up or "y"#;

/// A runbook whose only gate is `{CONDITION}` (line 13, column 14 is its first character).
const RUNBOOK: &str = r#"[runbook]
name = "t"
roles = ["primary", "replica"]

[vars]
v = "10.5"

[[phase]]
id = "p1"
title = "one"

[[phase.step]]
condition = '{CONDITION}'
id = "gate"
title = "gate"
kind = "check"
"#;

fn inventory(v: &str) -> Inventory {
    let text = format!(
        "[vars]\nv = {}\nre = \"(\"\n{}",
        toml_string(v),
        common::LOCAL_PAIR
    );
    inventory::parse(Path::new("inv.toml"), &text).expect("test inventory is valid")
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn load(condition: &str, v: &str) -> Result<Loaded, Diagnostics> {
    let text = RUNBOOK.replace("{CONDITION}", condition);
    check_text(SourceFile::new("rb.toml", text), Some(&inventory(v)))
}

fn gate(loaded: &Loaded) -> &Condition {
    match &loaded.runbook.step("gate").expect("the step").action {
        Action::Check { condition } => condition,
        other => panic!("a check step, got {other:?}"),
    }
}

/// A primary that is up, on 10.5: the hostile var's `or primary.up` would hold here.
struct Pair;
impl FactSource for Pair {
    fn resolve(&self, subject: &str) -> Result<Vec<String>, RoleError> {
        match subject {
            "primary" => Ok(vec!["server1".into()]),
            "replica" => Ok(vec!["server2".into()]),
            s => Err(RoleError::Unknown(s.into())),
        }
    }
    fn fact(&self, _: &str, fact: Fact) -> FactValue {
        match fact {
            Fact::Up => FactValue::Bool(true),
            Fact::Version => FactValue::Text("10.5.27-MariaDB".into()),
            _ => FactValue::Unknown("not polled".into()),
        }
    }
    fn caught_up(&self, _: &str, _: &str) -> Result<bool, String> {
        Ok(true)
    }
    fn succeeded(&self, _: &str) -> bool {
        false
    }
}

#[test]
fn a_hostile_inventory_var_arrives_as_one_literal() {
    let loaded = load(r#"primary.version starts_with "{{ vars.v }}""#, HOSTILE).expect("loads");
    let c = gate(&loaded);
    // One test, its literal exactly the var's value: no `or`, no `primary.up`.
    let Expr::Test { fact, cmp } = &c.expr else {
        panic!("one test, got {:?}", c.expr)
    };
    assert_eq!(fact.fact, Fact::Version);
    assert_eq!(
        cmp.as_ref().map(|(_, l)| l),
        Some(&Literal::Text(HOSTILE.into()))
    );
    // The gate checks what the runbook says: the version starts with that text. It does not.
    let e = evaluate(c, &Pair);
    assert!(!e.holds, "{e:?}");
    assert_eq!(e.observed, ["✘ server1.version = \"10.5.27-MariaDB\""]);
    // Shown as a string of the condition language, so the reader sees one literal.
    assert_eq!(
        c.to_string(),
        r#"primary.version starts_with "x\" or primary.up or \"y""#
    );

    // Bare, where a literal stands: the same single literal.
    let loaded = load("primary.version == {{ vars.v }}", HOSTILE).expect("loads");
    let c = gate(&loaded);
    assert!(
        matches!(&c.expr, Expr::Test { cmp: Some((_, Literal::Text(t))), .. } if t == HOSTILE),
        "{:?}",
        c.expr
    );
    assert!(!evaluate(c, &Pair).holds);

    // The honest value still works, with text around it.
    let loaded = load(r#"primary.version starts_with "{{ vars.v }}.27""#, "10.5").expect("loads");
    assert!(evaluate(gate(&loaded), &Pair).holds);
}

#[test]
fn values_are_data_even_when_they_look_like_syntax() {
    for value in [
        r#"\"#,
        r#"\" or primary.up or \""#,
        "{{ vars.re }}",
        "\") or (primary.up",
        "not not not",
        "",
        "é\n\t\u{0}",
    ] {
        let loaded = load(r#"primary.version == "{{ vars.v }}""#, value)
            .unwrap_or_else(|d| panic!("{value:?}: {d}"));
        let Expr::Test {
            cmp: Some((_, Literal::Text(t))),
            ..
        } = &gate(&loaded).expr
        else {
            panic!("{value:?}: one test")
        };
        assert_eq!(t, value);
    }
}

/// The single error of a gate, as (message, help, line, column).
fn only_error(condition: &str) -> (String, Option<String>, usize, usize) {
    let d = load(condition, "10.5").map(|_| ()).expect_err("refused");
    assert_eq!(d.len(), 1, "{d}");
    let e = &d.errors[0];
    (e.message.clone(), e.help.clone(), e.line, e.column)
}

#[test]
fn deep_nesting_is_refused_where_it_goes_too_deep() {
    let limit = format!("more than {MAX_DEPTH} deep");
    let ok = format!("{}primary.up", "not ".repeat(MAX_DEPTH));
    load(&ok, "10.5").expect("32 levels are fine");

    let (msg, help, line, col) = only_error(&format!("{}primary.up", "not ".repeat(MAX_DEPTH + 8)));
    assert!(
        msg.starts_with("condition: ") && msg.contains(&limit),
        "{msg}"
    );
    assert!(help.is_some_and(|h| h.contains("split")));
    // The 33rd `not`: column 14 + 32 × 4.
    assert_eq!((line, col), (13, 14 + 4 * MAX_DEPTH));

    let n = 10_000;
    let parens = format!("{}primary.up{}", "(".repeat(n), ")".repeat(n));
    let (msg, _, line, col) = only_error(&parens);
    assert!(msg.contains(&limit), "{msg}");
    assert_eq!((line, col), (13, 14 + MAX_DEPTH));

    let mixed = format!("{}primary.up{}", "not (".repeat(n), ")".repeat(n));
    let (msg, _, _, _) = only_error(&mixed);
    assert!(msg.contains(&limit), "{msg}");
}

#[test]
fn a_bad_regex_is_refused_at_load_with_its_span() {
    let (msg, _, line, col) = only_error(r#"primary.up and primary.version matches "1[0-""#);
    assert!(
        msg.starts_with("condition: invalid regular expression: "),
        "{msg}"
    );
    assert!(!msg.contains('\n'), "one line: {msg}");
    assert_eq!((line, col), (13, 14 + 39));

    // From a var: the literal (the template) is pointed at.
    let (msg, _, line, col) = only_error(r#"primary.version matches "{{ vars.re }}""#);
    assert!(msg.contains("invalid regular expression"), "{msg}");
    assert_eq!((line, col), (13, 14 + 24));

    let loaded = load(r#"primary.version matches "^{{ vars.v }}\\.""#, "10.5").expect("loads");
    assert!(evaluate(gate(&loaded), &Pair).holds);
}

#[test]
fn an_undefined_var_or_a_fact_template_is_named_in_place() {
    let (msg, help, line, col) = only_error(r#"primary.version == "{{ vars.nope }}""#);
    assert_eq!(msg, "condition: undefined variable `vars.nope`");
    assert!(help.is_some_and(|h| h.contains("[vars]")));
    assert_eq!((line, col), (13, 14 + 20));

    let (msg, _, _, _) = only_error("primary.version == {{ primary.host }}");
    assert!(msg.contains("only `{{ vars.NAME }}`"), "{msg}");
}

/// The condition with every literal's value blanked: what it checks, not against what.
fn shape(e: &Expr) -> Expr {
    match e {
        Expr::Or(xs) => Expr::Or(xs.iter().map(shape).collect()),
        Expr::And(xs) => Expr::And(xs.iter().map(shape).collect()),
        Expr::Not(x) => Expr::Not(Box::new(shape(x))),
        Expr::Test { fact, cmp } => Expr::Test {
            fact: fact.clone(),
            cmp: cmp.as_ref().map(|(op, lit)| {
                let blank = match lit {
                    Literal::Text(_) => Literal::Text(String::new()),
                    other => other.clone(),
                };
                (*op, blank)
            }),
        },
        other => other.clone(),
    }
}

/// Conditions with vars in every place one may stand.
const SHAPES: [&str; 6] = [
    r#"primary.version starts_with "{{ vars.v }}""#,
    r#"primary.up and (replica.version == "{{ vars.v }}-MariaDB" or not replica.up)"#,
    "replica.last_error contains {{ vars.v }} or primary.read_only",
    r#"not (maxscale(primary).state contains "{{vars.v}}") and succeeded(x)"#,
    r#"primary.version != "a{{ vars.v }}b{{ vars.w }}c" and caught_up(replica, primary)"#,
    r#"primary.binlog_format == "ROW" and replica.version starts_with "\"{{ vars.w }}\\""#,
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\"\\\\(){} a-z.]{0,24}",
        Just(HOSTILE.to_string()),
        Just(r#"" or primary.up or ""#.to_string()),
        Just("{{ vars.w }}".to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn no_var_value_changes_what_a_condition_checks(
        which in 0..SHAPES.len(),
        v in value(),
        w in value(),
    ) {
        let source = SHAPES[which];
        let placeholder: BTreeMap<String, String> =
            [("v".into(), "P".into()), ("w".into(), "Q".into())].into();
        let hostile: BTreeMap<String, String> = [("v".into(), v.clone()), ("w".into(), w)].into();
        let expected = Condition::parse_with_vars(source, 0..0, &placeholder)
            .expect("the condition parses with plain values");
        let got = Condition::parse_with_vars(source, 0..0, &hostile);
        prop_assert!(got.is_ok(), "{:?}", got.err());
        let got = got.expect("checked");
        prop_assert_eq!(shape(&got.expr), shape(&expected.expr));
        // Where the var is the whole literal, the literal is exactly the value.
        if which == 0 {
            let Expr::Test { cmp: Some((_, Literal::Text(t))), .. } = &got.expr else {
                panic!("one test")
            };
            prop_assert_eq!(t, &v);
        }
    }
}

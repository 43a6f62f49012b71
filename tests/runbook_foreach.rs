//! `for_each` phases: mistakes reported at file:line:col by `check`, with and without an
//! inventory, and what expansion makes of a block against three servers.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{LOCAL_DB1, LOCAL_THREE};

use std::path::Path;

use flightdeck::diag::{Diagnostics, SourceFile};
use flightdeck::inventory::{self, Inventory};
use flightdeck::runbook::{Loaded, check_text};

fn inventory(text: &str) -> Inventory {
    inventory::parse(Path::new("inv.toml"), text).expect("test inventory is valid")
}

/// A runbook whose second phase is `{PHASE}` (its header fields) with one step `{STEP}`.
/// The spliced phase starts on line 15 (its fields after `[[phase]]` on 16), the step's
/// fields after a blank line and `[[phase.step]]`.
fn runbook(phase: &str, step: &str) -> String {
    format!(
        r#"[runbook]
name = "t"
servers = ["db2", "db3"]

[[phase]]
id = "p1"
title = "one"

[[phase.step]]
id = "first"
title = "first"
kind = "note"
text = "hello"

{phase}

[[phase.step]]
{step}
"#
    )
}

fn check(text: &str, inv: Option<&Inventory>) -> Result<Loaded, Diagnostics> {
    check_text(SourceFile::new("rb.toml", text.to_string()), inv)
}

/// Every error as (message, line, column).
fn errors(text: &str, inv: Option<&Inventory>) -> Vec<(String, usize, usize)> {
    match check(text, inv) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(d) => d
            .errors
            .iter()
            .map(|e| (e.message.clone(), e.line, e.column))
            .collect(),
    }
}

const REPEATED: &str = "[[phase]]\nid = \"each\"\ntitle = \"each\"\nfor_each = \"replicas\"";
const PLAIN: &str = "[[phase]]\nid = \"p2\"\ntitle = \"two\"";
const SQL_ON_ITEM: &str =
    "id = \"s\"\ntitle = \"t\"\nkind = \"sql\"\ntarget = \"item\"\nsql = \"STOP SLAVE\"";

#[test]
fn a_repeated_phase_checks_with_and_without_an_inventory() {
    let text = runbook(REPEATED, SQL_ON_ITEM);
    let alone = check(&text, None).expect("valid without an inventory");
    // Without an inventory nothing is expanded.
    assert_eq!(alone.runbook.phases.len(), 2);
    let inv = inventory(LOCAL_THREE);
    let loaded = check(&text, Some(&inv)).expect("valid against three servers");
    let ids: Vec<&str> = loaded
        .runbook
        .steps()
        .map(|(_, s)| s.id.value.as_str())
        .collect();
    assert_eq!(ids, ["first", "s@db2", "s@db3"]);
}

#[test]
fn item_outside_a_repeated_phase_is_refused_where_it_stands() {
    for (step, line, col) in [
        (SQL_ON_ITEM, 23, 10),
        (
            "id = \"w\"\ntitle = \"t\"\nkind = \"wait\"\nuntil = \"db2.up and item.io_running\"",
            23,
            21,
        ),
        (
            "id = \"s\"\ntitle = \"t\"\nkind = \"shell\"\ntarget = \"db2\"\ncommand = \"echo {{ item }}\"",
            24,
            17,
        ),
        (
            "id = \"m\"\ntitle = \"t\"\nkind = \"maxscale\"\naction = \"set\"\nserver = \"item\"",
            24,
            10,
        ),
        (
            "id = \"n\"\ntitle = \"Look at {{ item }}\"\nkind = \"note\"\ntext = \"x\"",
            21,
            18,
        ),
    ] {
        let got = errors(&runbook(PLAIN, step), None);
        assert_eq!(got.len(), 1, "{step}: {got:?}");
        let (msg, l, c) = &got[0];
        assert!(msg.contains("`item` names the current member"), "{msg}");
        assert_eq!((*l, *c), (line, col), "{step}");
    }
}

#[test]
fn for_each_syntax_errors_are_placed() {
    let note = "id = \"n\"\ntitle = \"t\"\nkind = \"note\"\ntext = \"x\"";
    let phase = |extra: &str| format!("[[phase]]\nid = \"each\"\ntitle = \"each\"\n{extra}");
    for (extra, message, line, col) in [
        (
            "for_each = \"replica\"",
            "`replica` is exactly one server",
            18,
            12,
        ),
        (
            "for_each = \"slaves\"",
            "cannot repeat over `slaves`",
            18,
            12,
        ),
        ("for_each = []", "names no server", 18, 12),
        (
            "for_each = [\"db2\", \"db2\"]",
            "`for_each` names `db2` twice",
            18,
            20,
        ),
        (
            "order = [\"db2\"]",
            "`order` orders the members of a `for_each`",
            18,
            9,
        ),
        (
            "for_each = [\"db2\", \"db3\"]\norder = [\"db3\", \"db2\", \"db4\"]",
            "`db4` in `order` is not a member",
            19,
            24,
        ),
        (
            "for_each = [\"db2\", \"db3\"]\norder = [\"db3\"]",
            "`order` leaves out db2",
            19,
            9,
        ),
        (
            "for_each = [\"db2\", \"db9\"]",
            "unknown server `db9` in `for_each`",
            18,
            20,
        ),
    ] {
        let got = errors(&runbook(&phase(extra), note), None);
        assert_eq!(got.len(), 1, "{extra}: {got:?}");
        let (msg, l, c) = &got[0];
        assert!(msg.contains(message), "{extra}: {msg}");
        assert_eq!((*l, *c), (line, col), "{extra}: {msg}");
    }
}

#[test]
fn against_an_inventory_the_members_must_exist_and_order_must_hold_each_once() {
    let note = "id = \"n\"\ntitle = \"t\"\nkind = \"note\"\ntext = \"x\"";
    let three = inventory(LOCAL_THREE);
    let with_order = |order: &str| {
        runbook(
            &format!("{REPEATED}\norder = {order}"),
            "id = \"n\"\ntitle = \"t\"\nkind = \"note\"\ntext = \"x\"",
        )
    };
    let got = errors(&with_order("[\"db3\"]"), Some(&three));
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].0.contains("`order` leaves out db2"), "{got:?}");
    assert_eq!((got[0].1, got[0].2), (19, 9));
    let got = errors(&with_order("[\"db3\", \"db1\", \"db2\"]"), Some(&three));
    assert!(
        got[0].0.contains("`db1` in `order` is not a member"),
        "{got:?}"
    );
    assert_eq!((got[0].1, got[0].2), (19, 17));
    check(&with_order("[\"db3\", \"db2\"]"), Some(&three)).expect("a permutation");

    // An inventory without replicas gives the block no member: said at `for_each`.
    let text = runbook(REPEATED, note).replace("servers = [\"db2\", \"db3\"]\n", "");
    let got = errors(&text, Some(&inventory(LOCAL_DB1)));
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].0.contains("repeats over no server"), "{got:?}");
    assert_eq!((got[0].1, got[0].2), (17, 12));
}

#[test]
fn a_block_has_one_order() {
    let text = format!(
        "{}\n\n[[phase]]\nid = \"again\"\ntitle = \"again\"\nfor_each = \"replicas\"\norder = [\"db2\", \"db3\"]\n\n[[phase.step]]\nid = \"n2\"\ntitle = \"t\"\nkind = \"note\"\ntext = \"x\"\n",
        runbook(
            &format!("{REPEATED}\norder = [\"db3\", \"db2\"]"),
            "id = \"n\"\ntitle = \"t\"\nkind = \"note\"\ntext = \"x\"",
        )
    );
    let got = errors(&text, None);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].0.contains("with another `order`"), "{got:?}");
    assert_eq!((got[0].1, got[0].2), (32, 9));
}

#[test]
fn replicas_is_a_target_on_each_and_replica_stays_one() {
    let inv = inventory(LOCAL_THREE);
    let on_each =
        "id = \"s\"\ntitle = \"t\"\nkind = \"sql\"\ntarget = \"replicas\"\nsql = \"SELECT 1\"";
    check(&runbook(PLAIN, on_each), Some(&inv)).expect("replicas: every replica");
    let on_one =
        "id = \"s\"\ntitle = \"t\"\nkind = \"sql\"\ntarget = \"replica\"\nsql = \"SELECT 1\"";
    let got = errors(&runbook(PLAIN, on_one), Some(&inv));
    assert!(got[0].0.contains("`replica` is ambiguous"), "{got:?}");
}

#[test]
fn a_written_phase_id_cannot_hold_the_copies_mark() {
    let note = "id = \"n\"\ntitle = \"t\"\nkind = \"note\"\ntext = \"x\"";
    let got = errors(&runbook(&PLAIN.replace("p2", "p2@db2"), note), None);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].0.contains("phase id `p2@db2` holds `@`"), "{got:?}");
    assert_eq!((got[0].1, got[0].2), (16, 6));
}

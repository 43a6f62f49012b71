//! The `candidate` role (the server a switchover promotes) and the roles a runbook needs:
//! how the inventory names it, what it resolves to, and what `check --inventory` refuses.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;

use flightdeck::diag::{Diagnostics, SourceFile};
use flightdeck::inventory::{self, Inventory};
use flightdeck::runbook::roles::{RoleError, RoleMap};
use flightdeck::runbook::{Loaded, check_text};

fn server(name: &str, role: &str, port: u16) -> String {
    format!(
        "[[server]]\nname = \"{name}\"\nrole = \"{role}\"\nmysql = {{ host = \"127.0.0.1\", port = {port} }}\ntransport = \"local\"\n\n"
    )
}

/// A primary and `replicas` replicas, with `roles` (a `[roles]` table or nothing) first.
fn inventory_text(replicas: usize, roles: &str) -> String {
    let mut text = format!("{roles}\n");
    text.push_str(&server("db1", "primary", 3306));
    for k in 0..replicas {
        let n = k + 2;
        text.push_str(&server(&format!("db{n}"), "replica", 3306 + k as u16 + 1));
    }
    text
}

fn inventory(replicas: usize, roles: &str) -> Inventory {
    inventory::parse(Path::new("inv.toml"), &inventory_text(replicas, roles))
        .expect("test inventory is valid")
}

fn check(text: &str, inv: &Inventory) -> Result<Loaded, Diagnostics> {
    check_text(SourceFile::new("rb.toml", text.to_string()), Some(inv))
}

fn errors(text: &str, inv: &Inventory) -> Vec<(String, Option<String>, usize)> {
    match check(text, inv) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(d) => d
            .errors
            .iter()
            .map(|e| (e.message.clone(), e.help.clone(), e.line))
            .collect(),
    }
}

/// A switchover to `candidate`, gated on it, and a check of every replica.
const SWITCHOVER: &str = r#"[runbook]
name = "t"
roles = ["primary", "candidate"]

[[phase]]
id = "p"
title = "switch"

[[phase.step]]
id = "healthy"
title = "the candidate has caught up"
kind = "wait"
until = "candidate.io_running and caught_up(candidate, primary)"

[[phase.step]]
id = "switch"
title = "switch over"
kind = "maxscale"
action = "switchover"
new_primary = "candidate"
old_primary = "primary"
"#;

#[test]
fn with_one_replica_the_candidate_is_that_replica() {
    let inv = inventory(1, "");
    assert_eq!(inv.candidate(), Ok("db2"));
    check(SWITCHOVER, &inv).expect("one replica: the candidate resolves");
    let roles = RoleMap::from_inventory(&inv, &BTreeMap::new());
    assert_eq!(roles.resolve_one("candidate"), Ok("db2".to_string()));
}

#[test]
fn several_replicas_and_none_named_is_refused_once_naming_them_and_how_to_choose() {
    let inv = inventory(2, "");
    assert_eq!(inv.candidate(), Err(vec!["db2", "db3"]));
    let e = errors(SWITCHOVER, &inv);
    // Said once, at the first use (`roles` on line 3), not at each of the four.
    assert_eq!(e.len(), 1, "{e:?}");
    let (message, help, line) = &e[0];
    assert_eq!(*line, 3);
    assert!(
        message.contains("`candidate` is ambiguous") && message.contains("db2, db3"),
        "{message}"
    );
    assert_eq!(
        help.as_deref(),
        Some(
            "name it in the inventory: [roles] candidate = \"db2\" (or, for plan and run, --candidate db2)"
        )
    );
    let roles = RoleMap::from_inventory(&inv, &BTreeMap::new());
    assert_eq!(
        roles.resolve_one("candidate"),
        Err(RoleError::AmbiguousCandidate("db2, db3".into()))
    );
}

#[test]
fn the_inventory_names_the_candidate_and_it_does_not_move_at_a_switchover() {
    let inv = inventory(2, "[roles]\ncandidate = \"db3\"\n");
    check(SWITCHOVER, &inv).expect("a named candidate resolves");
    let mut roles = RoleMap::from_inventory(&inv, &BTreeMap::new());
    assert_eq!(roles.resolve_one("candidate"), Ok("db3".to_string()));
    roles.switchover("db3");
    assert_eq!(roles.resolve_one("candidate"), Ok("db3".to_string()));
    assert_eq!(roles.resolve_one("primary"), Ok("db3".to_string()));
}

#[test]
fn a_named_replica_is_the_candidate_unless_one_is_named() {
    // `[roles] replica` names the pair a runbook works on: it is the one a pair's
    // switchover promotes, so it is the candidate when none is named.
    let inv = inventory(2, "[roles]\nreplica = \"db3\"\n");
    assert_eq!(inv.candidate(), Ok("db3"));
    let inv = inventory(2, "[roles]\nreplica = \"db3\"\ncandidate = \"db2\"\n");
    assert_eq!(inv.candidate(), Ok("db2"));
}

#[test]
fn roles_candidate_must_name_a_replica_of_the_inventory() {
    for (named, says) in [
        (
            "db9",
            "[roles] candidate names `db9`, which is not a server of this inventory",
        ),
        (
            "db1",
            "[roles] candidate names `db1`, whose role is primary",
        ),
    ] {
        let text = inventory_text(2, &format!("[roles]\ncandidate = \"{named}\"\n"));
        let d = inventory::parse(Path::new("inv.toml"), &text).expect_err("refused");
        let e = &d.errors[0];
        assert_eq!(e.message, says);
        assert_eq!(
            e.help.as_deref(),
            Some("name one of the replicas: db2, db3")
        );
        assert_eq!(e.line, 2);
    }
}

#[test]
fn replicas_needs_at_least_one_and_unknown_roles_list_the_known_ones() {
    let inv = inventory(0, "");
    let text = r#"[runbook]
name = "t"
roles = ["primary", "replicas", "leader"]

[[phase]]
id = "p"
title = "each"

[[phase.step]]
id = "v"
title = "versions"
kind = "sql"
target = "replicas"
sql = "SELECT VERSION()"
"#;
    let e = errors(text, &inv);
    let messages: Vec<&str> = e.iter().map(|(m, _, _)| m.as_str()).collect();
    assert_eq!(
        messages,
        [
            "`replicas` names no server: inventory inv.toml has no replica",
            "unknown role `leader`",
        ],
        "{e:?}"
    );
    assert_eq!(
        e[1].1.as_deref(),
        Some("roles are primary, replica, replicas and candidate")
    );
}

/// The candidate is journaled when the run begins and kept on resume, as pins are: an
/// inventory edited between a crash and the resume does not move the switchover target
/// mid-run; the operator is told.
#[test]
fn a_resumed_run_keeps_the_candidate_it_began_with() {
    use flightdeck::runbook::load_checked;
    use flightdeck::session::open::open;
    use flightdeck::session::replay::replay;
    use flightdeck::session::run::Run;

    let dir = tempfile::tempdir().expect("tempdir");
    let journal = dir.path().join("run.jsonl");
    let runbook = dir.path().join("rb.toml");
    std::fs::write(&runbook, SWITCHOVER).expect("write");
    let runbook = runbook.as_path();
    let began_with = inventory(2, "[roles]\ncandidate = \"db3\"\n");
    let loaded = load_checked(runbook, Some(&began_with)).expect("runbook");
    let mut run = Run::new(loaded.runbook.clone());
    let mut roles = RoleMap::from_inventory(&began_with, &loaded.runbook.pins);
    drop(open(&journal, &loaded, &began_with, &mut run, &mut roles).expect("opens"));
    let header = replay(&journal).expect("replays").header;
    assert_eq!(header.candidate.as_deref(), Some("db3"));

    let edited = inventory(2, "[roles]\ncandidate = \"db2\"\n");
    let loaded = load_checked(runbook, Some(&edited)).expect("runbook");
    let mut run = Run::new(loaded.runbook.clone());
    let mut roles = RoleMap::from_inventory(&edited, &loaded.runbook.pins);
    let session = open(&journal, &loaded, &edited, &mut run, &mut roles).expect("resumes");
    assert_eq!(roles.resolve_one("candidate"), Ok("db3".to_string()));
    assert!(
        session.notices.iter().any(
            |n| n == "the candidate is db3, as when this run began; the inventory now says db2"
        ),
        "{:?}",
        session.notices
    );
}

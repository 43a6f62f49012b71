//! Hostile values in SQL templates land as literal data, with the default sql_mode and
//! under `NO_BACKSLASH_ESCAPES`, against a real one-server lab (torn down even if a phase
//! panics). The whole path runs: the runbook is checked with the lab's inventory, the step
//! is turned into jobs (values escaped for their place), and the SQL executor sends them.
//!
//! A value holding a backslash cannot be written inside `'…'` so that both modes read the
//! same text: it is refused before anything is sent, in either mode.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::time::Duration;

use flightdeck::diag::SourceFile;
use flightdeck::exec::job::{Job, JobContext, jobs};
use flightdeck::exec::sql;
use flightdeck::inventory::{self, Inventory, Secret};
use flightdeck::lab::{Lab, LabOptions};
use flightdeck::poll::start::operator_targets;
use flightdeck::runbook::roles::RoleMap;
use flightdeck::runbook::template::Reveal;
use flightdeck::runbook::{Loaded, check_text};
use mysql_async::prelude::Queryable;
use tokio_util::sync::CancellationToken;

/// Two steps, one per sql_mode, each inserting the var and the secret as data.
const RUNBOOK: &str = r#"[runbook]
name = "injection"
servers = ["server1"]

[vars]
x = "placeholder"

[secrets]
s = "a password"

[[phase]]
id = "p1"
title = "one"

[[phase.step]]
id = "default-mode"
title = "insert with the default sql_mode"
kind = "sql"
target = "server1"
sql = [
  "SET SESSION sql_mode = DEFAULT",
  "INSERT INTO inj.t (mode, v, s) VALUES ('default', '{{ vars.x }}', '{{ secret.s }}')",
]

[[phase.step]]
id = "nbe-mode"
title = "insert under NO_BACKSLASH_ESCAPES"
kind = "sql"
target = "server1"
sql = [
  "SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'",
  "INSERT INTO inj.t (mode, v, s) VALUES ('nbe', '{{ vars.x }}', '{{ secret.s }}')",
]
"#;

/// Values that would end the literal, comment out the rest, or smuggle a statement.
const HOSTILE: [&str; 9] = [
    "x'; DROP TABLE inj.canary; --",
    "'",
    "''",
    "it's \"quoted\" `ticked`",
    "'); DROP TABLE inj.canary; /*",
    "*/ # -- ; %_",
    "line one\nline two\r\n\ttab",
    "é ☃ 😀 {{ vars.x }}",
    "",
];

/// Values with a backslash: refused, never sent.
const BACKSLASHED: [&str; 3] = ["C:\\dir\\file", "x\\'; DROP TABLE inj.canary; --", "\\"];

fn load(inv: &Inventory) -> Loaded {
    check_text(SourceFile::new("inj.toml", RUNBOOK), Some(inv))
        .unwrap_or_else(|d| panic!("the runbook checks against the lab: {d}"))
}

/// The jobs of `step` with var `x` and secret `s` set to `value`, or the refusal.
fn build(loaded: &Loaded, inv: &Inventory, step: &str, value: &str) -> Result<Vec<Job>, String> {
    let mut vars = loaded.runbook.vars.clone();
    vars.extend(inv.vars.clone());
    vars.insert("x".into(), value.into());
    let secrets: BTreeMap<String, Secret> = [("s".to_string(), Secret::new(value))].into();
    let roles = RoleMap::from_inventory(inv, &loaded.runbook.pins);
    let mut ctx = JobContext {
        vars: &vars,
        secrets: &secrets,
        inventory: inv,
        roles: &roles,
        target: None,
        reveal: Reveal::Secrets,
    };
    let step = loaded.runbook.step(step).expect("the step exists");
    jobs(step, &["server1".to_string()], &mut ctx)
}

async fn run(inv: &Inventory, jobs: Vec<Job>) {
    let targets = operator_targets(inv).expect("lab credentials resolve");
    for job in jobs {
        let Job::Sql {
            server, statements, ..
        } = job
        else {
            panic!("an sql job")
        };
        let target = targets
            .iter()
            .find(|t| t.server == server)
            .expect("a target for the server");
        let never = CancellationToken::new();
        sql::run(target, &statements, Duration::from_secs(30), &never)
            .await
            .unwrap_or_else(|e| panic!("the insert runs: {e}"));
    }
}

/// Every row, as (mode, v, s), in insertion order.
async fn rows(lab: &Lab) -> Vec<(String, String, String)> {
    let mut root = lab
        .connect("server1", "root")
        .await
        .expect("connect as root");
    let rows = root
        .query("SELECT mode, v, s FROM inj.t ORDER BY id")
        .await
        .expect("read the table");
    root.disconnect().await.expect("disconnect");
    rows
}

async fn canary_is_there(lab: &Lab) -> bool {
    let mut root = lab
        .connect("server1", "root")
        .await
        .expect("connect as root");
    let n: Option<u64> = root
        .query_first(
            "SELECT COUNT(*) FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = 'inj' AND TABLE_NAME = 'canary'",
        )
        .await
        .expect("information_schema");
    root.disconnect().await.expect("disconnect");
    n == Some(1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_values_land_as_literal_data_in_every_sql_mode() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut opts = LabOptions::new(dir.path());
    opts.replicas = 0;
    let lab = Lab::up(opts).await.expect("lab up").guard();
    let inv = inventory::load_file(lab.inventory_path()).expect("lab inventory is valid");
    let mut root = lab
        .connect("server1", "root")
        .await
        .expect("connect as root");
    for setup in [
        "CREATE DATABASE inj",
        "CREATE TABLE inj.t (id INT AUTO_INCREMENT PRIMARY KEY, mode VARCHAR(16), \
         v TEXT, s TEXT) DEFAULT CHARSET = utf8mb4",
        "CREATE TABLE inj.canary (id INT)",
    ] {
        root.query_drop(setup).await.expect("set up the tables");
    }
    // Why backslashes are refused: the same text is two values, depending on the mode.
    let default: Option<String> = root.query_first("SELECT 'a\\\\b'").await.expect("select");
    root.query_drop("SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'")
        .await
        .expect("set mode");
    let nbe: Option<String> = root.query_first("SELECT 'a\\\\b'").await.expect("select");
    assert_eq!(
        (default.as_deref(), nbe.as_deref()),
        (Some("a\\b"), Some("a\\\\b"))
    );
    root.disconnect().await.expect("disconnect");

    let loaded = load(&inv);
    let mut expected = Vec::new();
    for value in HOSTILE {
        for (step, mode) in [("default-mode", "default"), ("nbe-mode", "nbe")] {
            let built = build(&loaded, &inv, step, value)
                .unwrap_or_else(|e| panic!("{value:?} is written for a literal: {e}"));
            // What is shown never holds the secret.
            let Job::Sql { shown, .. } = &built[0] else {
                panic!("an sql job")
            };
            assert!(shown[1].ends_with("'****')"), "{shown:?}");
            run(&inv, built).await;
            expected.push((mode.to_string(), value.to_string(), value.to_string()));
        }
    }
    assert_eq!(rows(&lab).await, expected, "every value arrived as written");
    assert!(canary_is_there(&lab).await, "no value ran as a statement");

    for value in BACKSLASHED {
        for step in ["default-mode", "nbe-mode"] {
            let refused = build(&loaded, &inv, step, value).expect_err("refused");
            assert!(
                refused.contains("holds a backslash") && refused.contains("NO_BACKSLASH_ESCAPES"),
                "{refused}"
            );
            assert!(
                !refused.contains(value),
                "the refusal never quotes the value: {refused}"
            );
        }
    }
    assert_eq!(
        rows(&lab).await.len(),
        expected.len(),
        "nothing more was sent"
    );
    assert!(canary_is_there(&lab).await);

    lab.down(true).await.expect("lab down");
}

//! The production runbook rehearsed across a real major version: a lab of Debian
//! bullseye's MariaDB 10.5 upgraded to trixie's 11.8 by the lab runbook (the production
//! file plus its host-level overrides), driven without a screen to the end. Between the two
//! switchovers, with the upgraded server primary and the old one still 10.5, a table is
//! created with `CHARSET utf8mb4`: the runbook's p5-collations step keeps that DDL readable
//! by 10.5, so it replicates to every server. `mariadb-upgrade` does real work on the way
//! (mysql.event is redefined). When Debian's archive cannot be reached, the test says why
//! and stops: it needs the two builds once (then they are cached).

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use flightdeck::inventory;
use flightdeck::lab::{BuildSpec, Lab, LabError, LabOptions};
use flightdeck::poll::start::PollIntervals;
use flightdeck::runbook;
use flightdeck::session::driver::Driver;
use mysql_async::prelude::Queryable;

mod common;

use common::headless::take_step;

async fn scalar(lab: &Lab, server: &str, sql: &str) -> Option<String> {
    let mut c = lab.connect(server, "root").await.expect("root");
    let v: Option<Option<String>> = c.query_first(sql).await.expect(sql);
    c.disconnect().await.expect("disconnect");
    v.flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_production_runbook_upgrades_10_5_to_11_8_with_ddl_between_the_switchovers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_flightdeck"));
    let mut opts = LabOptions::new(dir.path().join("lab"));
    opts.from = BuildSpec::Version("10.5".into());
    opts.to = Some(BuildSpec::Version("11.8".into()));
    opts.serve_exe = Some(exe.clone());
    opts.flightdeck_exe = Some(exe);
    let lab = match Lab::up(opts).await {
        Ok(lab) => lab.guard(),
        Err(e @ LabError::Fetch { .. }) => {
            eprintln!("SKIPPED: the 10.5 and 11.8 builds cannot be had here: {e}");
            return;
        }
        Err(e) => panic!("lab up --from 10.5 --to 11.8: {e}"),
    };
    let inv = inventory::load_file(lab.inventory_path()).expect("lab inventory");
    let path = Path::new("runbooks/lab-rolling-upgrade.toml");
    let loaded = runbook::load_checked(path, Some(&inv)).expect("lab runbook is valid");
    let journal = dir.path().join("major.jsonl");
    let (mut d, mut inputs) = Driver::open(loaded.clone(), inv, &journal, PollIntervals::default())
        .await
        .expect("session opens");

    for (_, step) in loaded.runbook.steps() {
        take_step(&mut d, &mut inputs, step).await;
        let id = step.id.value.as_str();
        if id == "p5-wait-switchover" {
            // The upgraded server2 is primary; server1 still runs 10.5 and replicates from it.
            let v1 = scalar(&lab, "server1", "SELECT VERSION()")
                .await
                .unwrap_or_default();
            assert!(v1.starts_with("10.5."), "server1 is still 10.5: {v1}");
            let mut c = lab.connect("server2", "root").await.expect("root");
            // As the 11.8 `mariadb` client connects: utf8mb4 without a collation, which the
            // server maps through character_set_collations (to uca1400, id 2304, unless
            // p5-collations cleared it); the id travels with the event to the 10.5 replica.
            c.query_drop("SET NAMES utf8mb4").await.expect("set names");
            c.query_drop(
                "CREATE TABLE app.between_switchovers (id INT PRIMARY KEY, name VARCHAR(20)) \
                 CHARSET utf8mb4",
            )
            .await
            .expect("DDL on the new primary");
            c.query_drop("INSERT INTO app.between_switchovers VALUES (1, 'written on 11.8')")
                .await
                .expect("insert");
            // A schema with the server's defaults, and a table in it with the schema's.
            c.query_drop("CREATE DATABASE between_switchovers_db")
                .await
                .expect("create database");
            c.query_drop(
                "CREATE TABLE between_switchovers_db.t (id INT PRIMARY KEY, name VARCHAR(20))",
            )
            .await
            .expect("create table with the defaults");
            c.disconnect().await.expect("disconnect");
            let begun = Instant::now();
            loop {
                let rows = scalar(
                    &lab,
                    "server1",
                    "SELECT COUNT(*) FROM information_schema.TABLES \
                     WHERE (TABLE_SCHEMA, TABLE_NAME) IN (('app', 'between_switchovers'), \
                     ('between_switchovers_db', 't'))",
                )
                .await;
                if rows.as_deref() == Some("2") {
                    break;
                }
                if begun.elapsed() > Duration::from_secs(60) {
                    let mut c = lab.connect("server1", "root").await.expect("root");
                    let status: Vec<mysql_async::Row> =
                        c.query("SHOW SLAVE STATUS").await.expect("status");
                    let error = status
                        .first()
                        .and_then(|r| r.get_opt::<String, _>("Last_SQL_Error"))
                        .and_then(Result::ok);
                    panic!("the 10.5 server never got the table: {error:?}");
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    assert!(d.core.run.completed, "the runbook is complete");
    d.finish("major-version rehearsal complete").await;

    for server in ["server1", "server2"] {
        let v = scalar(&lab, server, "SELECT VERSION()")
            .await
            .unwrap_or_default();
        assert!(v.starts_with("11.8."), "{server} upgraded: {v}");
        let name = scalar(
            &lab,
            server,
            "SELECT name FROM app.between_switchovers WHERE id = 1",
        )
        .await;
        assert_eq!(name.as_deref(), Some("written on 11.8"), "{server}");
        let log =
            std::fs::read_to_string(lab.dir().join(server).join("error.log")).unwrap_or_default();
        assert!(
            log.contains("Incorrect definition of table mysql.event"),
            "{server}: 11.8 started on a 10.5 datadir before mariadb-upgrade"
        );
    }
    let replayed = flightdeck::session::replay::replay(&journal).expect("replays");
    assert!(replayed.completed);
}

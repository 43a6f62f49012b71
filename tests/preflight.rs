//! `flightdeck preflight` against a lab: clean, it finds nothing and exits 0; with hazards
//! planted on the real servers (STATEMENT binlog format, a compressed table, a MyISAM
//! table, a privileged client on the primary, a transaction written on the replica, which
//! then stops its SQL thread (gtid_strict_mode refuses the primary's next GTID), no account
//! for the replication user on the replica), it reports each with evidence,
//! in text and JSON, and exits 2. The version-crossing rules are tested on their own in
//! `src/preflight/rules.rs`.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use assert_cmd::Command;
use flightdeck::lab::{Lab, LabOptions};
use mysql_async::prelude::Queryable;

fn preflight(lab: &Lab, to: &str, format: &str) -> (Option<i32>, String) {
    let out = Command::cargo_bin("flightdeck")
        .expect("binary is built")
        .args(["preflight", "--to", to, "--format", format, "--inventory"])
        .arg(lab.inventory_path())
        .output()
        .expect("runs");
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

async fn sql(lab: &Lab, server: &str, statements: &[&str]) {
    let mut c = lab.connect(server, "root").await.expect("root");
    for s in statements {
        c.query_drop(*s)
            .await
            .unwrap_or_else(|e| panic!("{s}: {e}"));
    }
    c.disconnect().await.expect("disconnect");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planted_hazards_are_each_reported_with_evidence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut opts = LabOptions::new(dir.path().join("lab"));
    opts.serve_exe = Some(PathBuf::from(env!("CARGO_BIN_EXE_flightdeck")));
    let lab = Lab::up(opts).await.expect("lab up").guard();

    let (code, out) = preflight(&lab, "10.11", "text");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("no hazard found"), "{out}");
    // How each server's connections travel is said beside it.
    let port = lab.server("server1").expect("server1").port;
    assert!(
        out.contains(&format!(
            "replication from 127.0.0.1:{port} in clear text · MaxScale to it in clear text"
        )),
        "{out}"
    );

    // Planted: on the primary (replicated where it is data), and on the replica.
    sql(
        &lab,
        "server1",
        &[
            "CREATE TABLE app.packed (id INT PRIMARY KEY) ENGINE=InnoDB ROW_FORMAT=COMPRESSED",
            "CREATE TABLE app.legacy (id INT PRIMARY KEY) ENGINE=MyISAM",
            "CREATE TABLE app.clash (id INT PRIMARY KEY) ENGINE=InnoDB",
        ],
    )
    .await;
    lab.wait_caught_up("server2", std::time::Duration::from_secs(60))
        .await
        .expect("caught up");
    sql(
        &lab,
        "server2",
        &[
            // A row only the replica has: an errant transaction, and the key the primary's
            // next insert collides with.
            "INSERT INTO app.clash VALUES (1)",
            // No account for the replication user here: after a switchover the old primary
            // could not replicate from this server.
            "SET SESSION sql_log_bin = 0",
            "DROP USER 'repl'@'127.0.0.1', 'repl'@'localhost'",
        ],
    )
    .await;
    sql(
        &lab,
        "server1",
        &[
            "INSERT INTO app.clash VALUES (1)",
            "SET GLOBAL binlog_format = 'STATEMENT'",
        ],
    )
    .await;
    let mut held = lab
        .connect("server1", "flightdeck")
        .await
        .expect("operator");
    let id: Option<u64> = held
        .query_first("SELECT CONNECTION_ID()")
        .await
        .expect("id");

    // The replica's own transaction stops its SQL thread: wait until it has.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let mut c = lab.connect("server2", "root").await.expect("root");
        let status: Vec<mysql_async::Row> = c.query("SHOW SLAVE STATUS").await.expect("status");
        c.disconnect().await.expect("disconnect");
        let sql_running = status
            .first()
            .and_then(|r| r.get_opt::<String, _>("Slave_SQL_Running"))
            .and_then(Result::ok);
        if sql_running.as_deref() == Some("No") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the SQL thread never stopped"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    let (code, out) = preflight(&lab, "10.11", "json");
    assert_eq!(code, Some(2), "a stopped replica is a blocker:\n{out}");
    let report: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let findings = report["findings"].as_array().expect("findings");
    let find = |hazard: &str| -> serde_json::Value {
        findings
            .iter()
            .find(|f| f["hazard"] == hazard)
            .cloned()
            .unwrap_or_else(|| panic!("no {hazard} in {out}"))
    };
    let replication = find("replication");
    assert_eq!(replication["severity"], "blocker");
    assert_eq!(replication["servers"], serde_json::json!(["server2"]));
    assert!(
        replication["evidence"]
            .as_str()
            .unwrap_or("")
            .contains("(IO Yes, SQL No): SQL "),
        "{replication}"
    );
    let format = find("binlog-format");
    assert_eq!(format["servers"], serde_json::json!(["server1"]));
    assert_eq!(format["evidence"], "binlog_format = STATEMENT");
    let packed = find("compressed-tables");
    assert!(
        packed["evidence"]
            .as_str()
            .unwrap_or("")
            .contains("app.packed")
    );
    assert_eq!(packed["servers"], serde_json::json!(["server1", "server2"]));
    let legacy = find("non-transactional");
    assert!(
        legacy["evidence"]
            .as_str()
            .unwrap_or("")
            .contains("app.legacy (MyISAM)")
    );
    let errant = find("errant-gtid");
    assert_eq!(errant["servers"], serde_json::json!(["server2"]));
    let admins = find("admin-connections");
    assert!(
        admins["evidence"]
            .as_str()
            .unwrap_or("")
            .contains(&format!("flightdeck (connection {})", id.expect("an id"))),
        "{admins}"
    );
    for f in findings {
        for key in ["fix", "source", "evidence"] {
            assert!(!f[key].as_str().unwrap_or("").is_empty(), "{key} of {f}");
        }
    }
    let repl = find("replication-user");
    assert_eq!(repl["servers"], serde_json::json!(["server2"]));
    assert_eq!(
        repl["evidence"],
        "repl (its replication user) has no account here"
    );
    assert_eq!(findings.len(), 7, "nothing else: {out}");

    // The text form says the same, blockers first, with a count.
    let (code, text) = preflight(&lab, "10.11", "text");
    assert_eq!(code, Some(2));
    assert!(
        text.contains("\nBLOCKER  replication on server2\n"),
        "{text}"
    );
    assert!(
        text.contains("1 blocker(s), 6 warning(s), 0 info"),
        "{text}"
    );
    held.disconnect().await.expect("disconnect");
}

/// Across versions, on a real 10.5 lab (bullseye's, fetched once; skipped with the reason
/// when Debian's archive cannot be reached): clean for 10.11, then with an option 10.6
/// removed and a gone checksum algorithm in server1's option file, a column named by a word
/// 10.6 reserved, and MaxScale's monitor user without READ_ONLY ADMIN, each is reported
/// with its evidence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_10_5_lab_shows_what_10_11_would_refuse() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut opts = LabOptions::new(dir.path().join("lab"));
    opts.from = flightdeck::lab::BuildSpec::Version("10.5".into());
    opts.serve_exe = Some(PathBuf::from(env!("CARGO_BIN_EXE_flightdeck")));
    let lab = match Lab::up(opts).await {
        Ok(lab) => lab.guard(),
        Err(e @ flightdeck::lab::LabError::Fetch { .. }) => {
            eprintln!("SKIPPED: MariaDB 10.5 cannot be had here: {e}");
            return;
        }
        Err(e) => panic!("lab up --from 10.5: {e}"),
    };
    let (code, out) = preflight(&lab, "10.11", "text");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("no hazard found"), "{out}");

    let cnf = lab.server("server1").expect("server1").cnf.clone();
    let mut text = std::fs::read_to_string(&cnf).expect("my.cnf");
    let planted_at = text.lines().count() + 1;
    text.push_str("innodb_undo_logs = 4\ninnodb_checksum_algorithm = innodb\n");
    std::fs::write(&cnf, text).expect("plant in my.cnf");
    sql(
        &lab,
        "server1",
        &["CREATE TABLE app.ledger (id INT PRIMARY KEY, `offset` INT) ENGINE=InnoDB"],
    )
    .await;
    for server in ["server1", "server2"] {
        sql(
            &lab,
            server,
            &[
                "SET SESSION sql_log_bin = 0",
                "REVOKE READ_ONLY ADMIN ON *.* FROM 'monitor'@'127.0.0.1'",
                "REVOKE READ_ONLY ADMIN ON *.* FROM 'monitor'@'localhost'",
            ],
        )
        .await;
    }
    lab.wait_caught_up("server2", std::time::Duration::from_secs(60))
        .await
        .expect("caught up");

    let (code, out) = preflight(&lab, "10.11", "json");
    assert_eq!(code, Some(2), "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let findings = report["findings"].as_array().expect("findings");
    let evidence = |hazard: &str| -> Vec<String> {
        findings
            .iter()
            .filter(|f| f["hazard"] == hazard)
            .map(|f| format!("{} {}", f["servers"], f["evidence"].as_str().unwrap_or("")))
            .collect()
    };
    let cnf = cnf.display().to_string();
    assert_eq!(
        evidence("removed-option"),
        vec![format!(
            "[\"server1\"] {cnf}:{planted_at}: innodb_undo_logs is set, and 10.6 removed it"
        )],
        "{out}"
    );
    assert_eq!(
        evidence("checksum-algorithm"),
        vec![format!(
            "[\"server1\"] {cnf}:{}: innodb_checksum_algorithm = innodb",
            planted_at + 1
        )],
        "{out}"
    );
    let reserved = evidence("reserved-word");
    assert_eq!(reserved.len(), 1, "{out}");
    assert!(
        reserved[0].starts_with("[\"server1\",\"server2\"] app.ledger.offset named OFFSET"),
        "{reserved:?}"
    );
    let grants = evidence("monitor-grants");
    assert_eq!(grants.len(), 1, "one finding for both servers: {out}");
    assert!(grants[0].contains("(no READ_ONLY ADMIN)"), "{grants:?}");
    assert_eq!(findings.len(), 4, "nothing else: {out}");
}

/// Live cross-version hazards, on a real 10.5 lab whose primary is upgraded to 11.8
/// (trixie's) first, the wrong way round: the 10.5 replica is now older than its primary
/// (a blocker), and the 11.8 primary's default collation is one the replica cannot read
/// (a blocker, found live from `character_set_collations`). Skipped with the reason when
/// the builds cannot be had.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_upgraded_first_shows_the_skew_and_the_collation_live() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut opts = LabOptions::new(dir.path().join("lab"));
    opts.from = flightdeck::lab::BuildSpec::Version("10.5".into());
    opts.to = Some(flightdeck::lab::BuildSpec::Version("11.8".into()));
    opts.serve_exe = Some(PathBuf::from(env!("CARGO_BIN_EXE_flightdeck")));
    let lab = match Lab::up(opts).await {
        Ok(lab) => lab.guard(),
        Err(e @ flightdeck::lab::LabError::Fetch { .. }) => {
            eprintln!("SKIPPED: MariaDB 10.5 or 11.8 cannot be had here: {e}");
            return;
        }
        Err(e) => panic!("lab up --from 10.5 --to 11.8: {e}"),
    };
    // Unplanted: the replica-first order keeps both silent.
    let (_, json) = preflight(&lab, "11.8", "json");
    let report: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let hazards = |r: &serde_json::Value| -> Vec<String> {
        r["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| {
                format!(
                    "{} {} {}",
                    f["severity"].as_str().unwrap_or(""),
                    f["hazard"].as_str().unwrap_or(""),
                    f["servers"]
                )
            })
            .collect()
    };
    let before = hazards(&report);
    assert!(
        !before
            .iter()
            .any(|h| h.contains("version-skew") || h.contains("\"blocker\" collation")),
        "{before:?}"
    );

    let upgraded = Command::cargo_bin("flightdeck")
        .expect("binary is built")
        .args(["lab", "--dir"])
        .arg(lab.dir())
        .args(["ctl", "server1", "upgrade"])
        .output()
        .expect("runs");
    assert!(
        upgraded.status.success(),
        "{}",
        String::from_utf8_lossy(&upgraded.stderr)
    );
    let (code, json) = preflight(&lab, "11.8", "json");
    assert_eq!(code, Some(2), "{json}");
    let report: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let after = hazards(&report);
    for expected in [
        "blocker version-skew [\"server2\"]",
        "blocker collation [\"server1\"]",
    ] {
        assert!(
            after.contains(&expected.to_owned()),
            "{expected} in {after:?}"
        );
    }
    let skew = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["hazard"] == "version-skew")
        .expect("skew");
    let evidence = skew["evidence"].as_str().unwrap_or("");
    assert!(
        evidence.starts_with("server2 (10.5.")
            && evidence.contains("replicates from server1 (11.8."),
        "{evidence}"
    );
}

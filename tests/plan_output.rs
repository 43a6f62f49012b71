//! `plan` on the shipped runbooks: the resolved text a change ticket carries.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use flightdeck::inventory;
use flightdeck::runbook::{self, plan};

fn plan_markdown(runbook: &str) -> String {
    let inv = inventory::load_file(Path::new("tests/fixtures/pair.toml")).expect("inventory");
    let loaded = runbook::load_checked(Path::new(runbook), Some(&inv)).expect("runbook is valid");
    plan::render_markdown(&plan::resolve(&loaded, &inv))
}

const SEED_000: &str = "runbooks/mariadb-10.5-to-11.4-maxscale.toml";

#[test]
fn seed_000_plan_snapshot() {
    insta::assert_snapshot!("seed_000_markdown", plan_markdown(SEED_000));
}

#[test]
fn seed_002_plan_snapshot() {
    insta::assert_snapshot!(
        "seed_002_markdown",
        plan_markdown("runbooks/mysql-5.6-replication-upgrade.toml")
    );
}

#[test]
fn seed_000_plan_has_all_eight_phases_in_order() {
    let md = plan_markdown(SEED_000);
    let mut at = 0;
    for n in 1..=8 {
        let heading = format!("\n## Phase {n}: ");
        let i = md[at..]
            .find(&heading)
            .unwrap_or_else(|| panic!("phase {n} missing"));
        at += i + heading.len();
    }
    assert!(!md.contains("## Phase 9"));
}

/// Every command and statement of seed 000 appears in the plan, in the seed's order.
#[test]
fn seed_000_plan_contains_every_seed_command_in_order() {
    let md = plan_markdown(SEED_000);
    let seed_commands = [
        "SELECT VERSION()",
        "SHOW SLAVE STATUS",
        "mysqldump --all-databases --single-transaction --routines --triggers --events > full_backup.sql",
        "maxctrl list servers",
        "maxctrl set server server2 maintenance",
        "systemctl stop mariadb",
        "mkdir -p /root/mariadb_backup",
        "cp -a /etc/my.cnf.d /root/mariadb_backup/",
        "rm -f /etc/yum.repos.d/MariaDB.repo",
        "dnf remove -y mariadb-server mariadb mariadb-common mariadb-backup",
        "mariadb_repo_setup",
        "dnf repolist | grep -i mariadb",
        "dnf list available MariaDB-server",
        "dnf install -y liburing perl-DBI",
        "dnf clean all",
        "dnf install -y MariaDB-server MariaDB-client",
        "systemctl start mariadb",
        "systemctl enable mariadb",
        "systemctl status mariadb",
        "mysql_upgrade",
        "mariadb-upgrade",
        "systemctl restart mariadb",
        "cp -a /etc/my.cnf.d/server.cnf /etc/my.cnf.d/server.cnf.bak",
        "cp -a /etc/my.cnf.d/mariadb-server.cnf.rpmsave /etc/my.cnf.d/server.cnf",
        "chown mysql:mysql /var/log/mariadb",
        "chmod 755 /run/mariadb",
        "ls -ld /var/lib/mysql",
        "getenforce",
        "restorecon -Rv /var/log/mariadb",
        "SHOW VARIABLES LIKE 'version%'",
        "SHOW DATABASES",
        "RESET SLAVE ALL",
        "MASTER_USE_GTID=slave_pos",
        "maxctrl clear server server2 maintenance",
        "switchover MariaDB-Monitor server2 server1",
        "maxctrl set server server1 maintenance",
        "cp -a /etc/my.cnf /root/mariadb_backup/",
        "maxctrl clear server server1 maintenance",
        "switchover MariaDB-Monitor server1 server2",
        "SHOW GLOBAL VARIABLES LIKE 'gtid%'",
    ];
    let mut at = 0;
    for cmd in seed_commands {
        match md[at..].find(cmd) {
            Some(i) => at += i,
            None => panic!("`{cmd}` missing from the plan after byte {at}"),
        }
    }
}

/// After the phase-5 switchover the live roles have moved: the plan shows where.
#[test]
fn roles_follow_the_switchovers() {
    let md = plan_markdown(SEED_000);
    let phase = |n: usize| {
        let start = md.find(&format!("\n## Phase {n}: ")).expect("phase");
        let end = md[start + 1..]
            .find("\n## Phase ")
            .map_or(md.len(), |e| start + 1 + e);
        &md[start..end]
    };
    assert!(
        phase(3).contains("MASTER_HOST='127.0.0.21'"),
        "replica points at server1"
    );
    assert!(
        phase(6).contains("MASTER_HOST='127.0.0.22'"),
        "old primary points at server2"
    );
}

#[test]
fn no_secret_value_in_the_plan() {
    let secret = "pl4n-must-not-show-this";
    let out = assert_cmd::Command::cargo_bin("flightdeck")
        .expect("binary")
        .args([
            "plan",
            SEED_000,
            "--inventory",
            "tests/fixtures/pair.toml",
            "--format",
            "markdown",
        ])
        .env("REPL_PASSWORD", secret)
        .env("FLIGHTDECK_SECRET_REPL_PASSWORD", secret)
        .env("FLIGHTDECK_MYSQL_PASSWORD", secret)
        .env("MAXSCALE_PASSWORD", secret)
        .output()
        .expect("runs");
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("MASTER_PASSWORD='****'"));
    assert!(!stdout.contains(secret));
    assert!(!String::from_utf8_lossy(&out.stderr).contains(secret));
}

#[test]
fn plan_with_a_journal_ends_with_the_sessions_record() {
    use flightdeck::session::journal::{Event, Journal, SessionStart, sha256_hex};
    use flightdeck::session::mask::Masker;

    let dir = tempfile::tempdir().expect("tempdir");
    let journal = dir.path().join("run.jsonl");
    let text = std::fs::read(SEED_000).expect("runbook");
    let header = SessionStart::new(
        Path::new(SEED_000),
        sha256_hex(&text),
        Path::new("tests/fixtures/pair.toml"),
        sha256_hex(b"inventory"),
        Default::default(),
    );
    let mut j = Journal::create(&journal, header, Masker::none()).expect("journal");
    for event in [
        Event::Note {
            operator: "bob".into(),
            text: "backup checked".into(),
        },
        Event::Override {
            step: "p5-switchover".into(),
            justification: "lag is a reporting query".into(),
            failed_gates: vec!["replica.seconds_behind <= 0".into()],
        },
        Event::Handover {
            from: "alice".into(),
            to: "bob".into(),
        },
    ] {
        j.append(&event).expect("append");
    }
    j.close().expect("close");

    let out = assert_cmd::Command::cargo_bin("flightdeck")
        .expect("binary")
        .args([
            "plan",
            SEED_000,
            "--inventory",
            "tests/fixtures/pair.toml",
            "--journal",
        ])
        .arg(&journal)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let record = &stdout[stdout.find("\nJOURNAL ").expect("a journal section")..];
    assert!(
        record.contains("note      (bob): backup checked"),
        "{record}"
    );
    assert!(
        record.contains(
            "OVERRIDE  p5-switchover: lag is a reporting query (failed: replica.seconds_behind <= 0)"
        ),
        "{record}"
    );
    assert!(
        record.contains("alice handed the session to bob"),
        "{record}"
    );
    assert!(!record.contains("WARNING"), "same runbook: {record}");
}

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

/// A rehearsal journal of the lab runbook with controlled timestamps (seconds past
/// 2026-11-27T09:00:00Z), written line by line as the journal writes them: `Journal`
/// stamps its own lines with the time of writing.
fn rehearsal_journal(
    dir: &Path,
    events: Vec<(u64, flightdeck::session::journal::Event)>,
) -> std::path::PathBuf {
    use flightdeck::session::journal::{Event, Record, SessionStart, sha256_hex};

    let header = SessionStart::new(
        Path::new("runbooks/lab-rolling-upgrade.toml"),
        sha256_hex(b"the lab runbook and its base"),
        Path::new("lab/inventory.toml"),
        sha256_hex(b"inventory"),
        Default::default(),
    );
    let mut text = String::new();
    let all = std::iter::once((0, Event::SessionStart(header))).chain(events);
    for (seq, (secs, event)) in (1..).zip(all) {
        let ts = format!("2026-11-27T09:{:02}:{:02}.000Z", secs / 60, secs % 60);
        text.push_str(&serde_json::to_string(&Record { seq, ts, event }).expect("encodes"));
        text.push('\n');
    }
    let path = dir.join("rehearsal.jsonl");
    std::fs::write(&path, text).expect("written");
    path
}

fn plan_cli(args: &[&str], from_journal: Option<&Path>) -> String {
    let mut cmd = assert_cmd::Command::cargo_bin("flightdeck").expect("binary");
    cmd.args(["plan", SEED_000, "--inventory", "tests/fixtures/pair.toml"])
        .args(args);
    if let Some(j) = from_journal {
        cmd.arg("--from-journal").arg(j);
    }
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// The text outline: from `OUTLINE` to the first phase.
fn outline_of(text: &str) -> &str {
    let start = text.find("\nOUTLINE ").expect("an outline");
    let end = text.find("\nPHASE 1 ").expect("phase 1");
    &text[start + 1..end]
}

#[test]
fn the_outline_estimates_each_phase_from_a_rehearsal_journal() {
    use flightdeck::session::journal::{Event, Outcome};

    let start = |step: &str, attempt| Event::StepStart {
        step: step.into(),
        attempt,
        target_servers: vec!["server2".into()],
        rendered: String::new(),
        primary: Some("server1".into()),
    };
    let end = |step: &str, attempt, outcome| Event::StepEnd {
        step: step.into(),
        attempt,
        outcome,
        detail: String::new(),
        exit_code: None,
        sql_errno: None,
    };
    let dir = tempfile::tempdir().expect("tempdir");
    // Phase 2 only (on the pair its one repetition, for server2: ids carry `@server2`): a
    // manual step done 30 s into the session (30 s), a check (2 s), a maintenance call that
    // failed once and then succeeded (from 33 to 36: 3 s), a wait (5 s); samples between
    // them count nothing. 40 s in all.
    let journal = rehearsal_journal(
        dir.path(),
        vec![
            (
                30,
                Event::ManualDone {
                    step: "p2-list-servers@server2".into(),
                    operator: "alice".into(),
                },
            ),
            (31, start("p2-check-roles@server2", 1)),
            (32, Event::Sample { servers: vec![] }),
            (33, end("p2-check-roles@server2", 1, Outcome::Succeeded)),
            (33, start("p2-replica-maintenance@server2", 1)),
            (
                34,
                end("p2-replica-maintenance@server2", 1, Outcome::Failed),
            ),
            (35, start("p2-replica-maintenance@server2", 2)),
            (
                36,
                end("p2-replica-maintenance@server2", 2, Outcome::Succeeded),
            ),
            (40, start("p2-wait-maintenance@server2", 1)),
            (
                45,
                end("p2-wait-maintenance@server2", 1, Outcome::Succeeded),
            ),
            (1140, Event::Sample { servers: vec![] }),
        ],
    );

    let text = plan_cli(&[], Some(&journal));
    let outline = outline_of(&text);
    let flat = outline.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains(&format!(
            "Estimated from the rehearsal journal {} (2026-11-27, 19 min in all).",
            journal.display()
        )),
        "{outline}"
    );
    assert!(
        flat.contains(
            "It came from another runbook file, runbooks/lab-rolling-upgrade.toml; steps are \
             matched by id."
        ),
        "{outline}"
    );
    let phase = |n: &str| {
        outline
            .lines()
            .find(|l| l.starts_with(&format!("{n:>4}  ")))
            .unwrap_or_else(|| panic!("phase {n} in {outline}"))
    };
    assert!(phase("2").contains("4 steps"), "{outline}");
    assert!(phase("2").ends_with(" 40 s"), "{outline}");
    assert!(phase("1").ends_with(" not in the journal"), "{outline}");
    let total = outline
        .lines()
        .find(|l| l.trim_start().starts_with("total "))
        .expect("a total");
    assert!(
        total.contains("64 steps") && total.ends_with(" ≥ 40 s"),
        "{outline}"
    );
    assert!(
        outline.lines().all(|l| l.chars().count() <= 100),
        "{outline}"
    );

    let md = plan_cli(&["--format", "markdown"], Some(&journal));
    assert!(
        md.contains(
            "| 2. MaxScale: put the replica in maintenance — replica 1 of 1: server2 \
             (`replica-maintenance@server2`) | 4 |"
        ),
        "{md}"
    );
    let row = md
        .lines()
        .find(|l| l.starts_with("| 2. "))
        .expect("phase 2's row");
    assert!(row.ends_with("| 40 s |"), "{row}");
    assert!(
        md.contains("| **total** | **64** | | | | **≥ 40 s** |"),
        "{md}"
    );
}

#[test]
fn without_a_rehearsal_the_outline_is_an_upper_bound_from_the_timeouts() {
    let text = plan_cli(&[], None);
    let outline = outline_of(&text);
    let flat = outline.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.starts_with("OUTLINE 8 phases, 64 steps. Upper bound from the step timeouts"),
        "{outline}"
    );
    assert!(
        flat.contains("give --from-journal FILE from a rehearsal for a realistic estimate"),
        "{outline}"
    );
    // Phase 2: timeouts of 1m (check), 1m (maintenance), 1m (wait); the manual step has none.
    let phase2 = outline
        .lines()
        .find(|l| l.starts_with("   2  "))
        .expect("phase 2");
    assert!(phase2.ends_with(" 3 min"), "{outline}");
    assert!(
        outline.lines().all(|l| l.chars().count() <= 100),
        "{outline}"
    );
    assert!(
        outline.contains("four eyes       p3-remove-packages@server2\n"),
        "{outline}"
    );
}

#[test]
fn a_missing_or_corrupt_rehearsal_journal_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let corrupt = dir.path().join("corrupt.jsonl");
    std::fs::write(&corrupt, "{\"seq\":1}\n").expect("written");
    for (path, what) in [
        (dir.path().join("missing.jsonl"), "No such file"),
        (corrupt, ":1: not a journal event"),
    ] {
        let out = assert_cmd::Command::cargo_bin("flightdeck")
            .expect("binary")
            .args(["plan", SEED_000, "--inventory", "tests/fixtures/pair.toml"])
            .arg("--from-journal")
            .arg(&path)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2));
        assert!(out.stdout.is_empty(), "no half plan");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("journal {}", path.display())) && stderr.contains(what),
            "{stderr}"
        );
    }
}

/// A `for_each` block over a primary and two replicas: each repetition is a phase of its
/// own, in the block's order, with the member in its title and in its steps' ids.
#[test]
fn for_each_plan_snapshot() {
    let inv = inventory::load_file(Path::new("tests/fixtures/three.toml")).expect("inventory");
    let loaded = runbook::load_checked(Path::new("tests/runbooks/each-replica.toml"), Some(&inv))
        .expect("runbook is valid");
    let text = plan::render_text(&plan::resolve(&loaded, &inv));
    for heading in [
        "PHASE 2  Stop the replica — replica 1 of 2: server3  [stop@server3]",
        "PHASE 3  Upgrade and restart the replica — replica 1 of 2: server3  [upgrade@server3]",
        "PHASE 4  Stop the replica — replica 2 of 2: server2  [stop@server2]",
        "PHASE 5  Upgrade and restart the replica — replica 2 of 2: server2  [upgrade@server2]",
    ] {
        assert!(text.contains(heading), "{heading}:\n{text}");
    }
    insta::assert_snapshot!("for_each_text", text);
}

/// The seed runbook on a primary and two replicas (the fixture names server3 the
/// candidate): phases 2–4 once per replica in inventory order, then the switchover to the
/// candidate, the old primary's upgrade and the switch back.
#[test]
fn seed_000_on_three_servers_plan_snapshot() {
    let inv = inventory::load_file(Path::new("tests/fixtures/three.toml")).expect("inventory");
    let loaded = runbook::load_checked(Path::new(SEED_000), Some(&inv)).expect("runbook is valid");
    let text = plan::render_text(&plan::resolve(&loaded, &inv));
    let mut at = 0;
    for heading in [
        "PHASE 2  MaxScale: put the replica in maintenance — replica 1 of 2: server2  [replica-maintenance@server2]",
        "PHASE 3  Upgrade the replica — replica 1 of 2: server2  [upgrade-replica@server2]",
        "PHASE 4  Restore the replica to the MaxScale pool — replica 1 of 2: server2  [restore-replica@server2]",
        "PHASE 5  MaxScale: put the replica in maintenance — replica 2 of 2: server3  [replica-maintenance@server3]",
        "PHASE 6  Upgrade the replica — replica 2 of 2: server3  [upgrade-replica@server3]",
        "PHASE 7  Restore the replica to the MaxScale pool — replica 2 of 2: server3  [restore-replica@server3]",
        "PHASE 8  Traffic switchover: promote the upgraded replica  [switchover]",
        // The switchover promotes the candidate the inventory names, not the first replica.
        "maxctrl call command mariadbmon async-switchover MariaDB-Monitor server3 server1",
        "PHASE 9  Upgrade the old primary  [upgrade-old-primary]",
        "maxctrl call command mariadbmon async-switchover MariaDB-Monitor server1 server3",
        "PHASE 11  Final validation  [validation]",
    ] {
        let i = text[at..]
            .find(heading)
            .unwrap_or_else(|| panic!("{heading} missing or out of order:\n{text}"));
        at += i + heading.len();
    }
    // Outside the block, `succeeded` of a block's step means every copy.
    assert!(
        text.contains(
            "gate: (succeeded(p4-wait-pool@server2) and succeeded(p4-wait-pool@server3))"
        ),
        "{text}"
    );
    insta::assert_snapshot!("seed_000_three_text", text);
}

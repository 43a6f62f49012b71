//! `flightdeck check` as an operator runs it: exit codes and what it prints.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use assert_cmd::Command;

fn flightdeck() -> Command {
    Command::cargo_bin("flightdeck").expect("binary is built")
}

const INVENTORY: &str = "runbooks/inventory.example.toml";

#[test]
fn shipped_runbooks_pass_check_with_the_example_inventory() {
    for runbook in [
        "runbooks/mariadb-10.5-to-11.4-maxscale.toml",
        "runbooks/mysql-5.6-replication-upgrade.toml",
        "runbooks/lab-rolling-upgrade.toml",
    ] {
        let out = flightdeck()
            .args(["check", runbook, "--inventory", INVENTORY])
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{runbook}:\n{stderr}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.starts_with(&format!("ok: {runbook}: ")), "{stdout}");
    }
}

#[test]
fn shipped_runbooks_pass_check_without_an_inventory() {
    let out = flightdeck()
        .args(["check", "runbooks/mariadb-10.5-to-11.4-maxscale.toml"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn misspelled_field_and_unknown_target_exit_2_with_file_line_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("broken.toml");
    let text = std::fs::read_to_string("runbooks/mariadb-10.5-to-11.4-maxscale.toml")
        .expect("shipped runbook")
        .replacen("why = ", "wyh = ", 1)
        .replacen("target = \"replicas\"", "target = \"server7\"", 1);
    std::fs::write(&path, &text).expect("write");
    let line_of = |needle: &str| text[..text.find(needle).expect("spliced")].lines().count() + 1;

    let out = flightdeck()
        .args([
            "check",
            path.to_str().expect("utf-8"),
            "--inventory",
            INVENTORY,
        ])
        .env("NO_COLOR", "1")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let p = path.display();
    assert!(
        stderr.contains(&format!(
            "error: {p}:{}:1: unknown field `wyh`",
            line_of("wyh = ")
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "error: {p}:{}:10: unknown target `server7`",
            line_of("target = \"server7\"")
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("target = \"server7\""),
        "the excerpt is shown:\n{stderr}"
    );
    assert!(stderr.contains("2 error(s)"), "{stderr}");
}

#[test]
fn unreadable_file_is_a_clear_error() {
    let out = flightdeck()
        .args(["check", "runbooks/no-such-runbook.toml"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot read runbooks/no-such-runbook.toml"),
        "{stderr}"
    );
}

#[test]
fn an_inventory_given_as_the_runbook_is_named_as_such() {
    let out = flightdeck()
        .args(["check", INVENTORY])
        .env("NO_COLOR", "1")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.trim(),
        format!(
            "error: {INVENTORY} is an inventory, not a runbook: check a runbook against it \
             with `flightdeck check RUNBOOK --inventory {INVENTORY}`"
        ),
    );

    // The other way round: a runbook given as the inventory.
    let runbook = "runbooks/lab-rolling-upgrade.toml";
    let out = flightdeck()
        .args(["plan", INVENTORY, "--inventory", runbook])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{runbook} is a runbook, not an inventory")),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn each_error_is_printed_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("broken.toml");
    let text = std::fs::read_to_string("runbooks/lab-rolling-upgrade.toml")
        .expect("shipped runbook")
        .replace("target = \"primary\"", "target = \"server9\"");
    std::fs::write(&path, &text).expect("write");
    let out = flightdeck()
        .args(["check", path.to_str().expect("utf-8")])
        .env("NO_COLOR", "1")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let headers: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    let mut unique = headers.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(headers.len(), unique.len(), "{stderr}");
    assert!(!headers.is_empty(), "{stderr}");
    assert!(
        stderr.ends_with(&format!("{} error(s)\n", headers.len())),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing on stdout when invalid");

    // Every phase loses its `why`, so every phase is read without an id: one error per
    // phase, and nothing about the missing ids repeated at one place.
    let broken_phases = std::fs::read_to_string("runbooks/lab-rolling-upgrade.toml")
        .expect("shipped runbook")
        .replace("why = \"\"\"", "wyh = \"\"\"");
    std::fs::write(&path, &broken_phases).expect("write");
    let out = flightdeck()
        .args(["check", path.to_str().expect("utf-8")])
        .env("NO_COLOR", "1")
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let headers: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    let mut unique = headers.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(headers.len(), unique.len(), "{stderr}");
}

#[test]
fn a_valid_runbook_says_ok_once() {
    let out = flightdeck()
        .args(["check", "runbooks/lab-rolling-upgrade.toml"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn run_help_lists_the_keys_and_the_default_journal() {
    let out = flightdeck().args(["run", "--help"]).output().expect("runs");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for want in [
        "$XDG_STATE_HOME/flightdeck/journals/RUNBOOK-DATE.jsonl",
        "FLIGHTDECK_LOG",
        "--operator <NAME>",
        "Enter",
        "Tab",
        "PgUp/PgDn",
        "Ctrl-C",
        "verified done",
        "q            quit (not while a step runs)",
    ] {
        assert!(help.contains(want), "missing {want:?} in:\n{help}");
    }
}

#[test]
fn every_argument_and_option_has_a_description() {
    for args in [
        &["check"][..],
        &["plan"],
        &["run"],
        &["watch"],
        &["lab"],
        &["lab", "up"],
        &["lab", "status"],
        &["lab", "down"],
        &["lab", "ctl"],
        &["lab", "ctl", "server1", "upgrade"],
    ] {
        let out = flightdeck().args(args).arg("-h").output().expect("runs");
        assert!(out.status.success(), "{args:?}");
        let help = String::from_utf8_lossy(&out.stdout);
        // In short help, an argument or option without a description is a bare line.
        let bare: Vec<&str> = help
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with('-') || l.starts_with('<'))
            .filter(|l| !l.contains("  "))
            .collect();
        assert!(
            bare.is_empty(),
            "{args:?}: no description for {bare:?}\n{help}"
        );
    }
}

#[test]
fn the_seed_runbook_against_three_servers_needs_the_candidate_named() {
    // The example inventory with a third server, a second replica: the seed runbook upgrades
    // every replica, but which one its switchover promotes must be said.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = std::fs::read_to_string(INVENTORY).expect("example inventory");
    text.push_str(
        "\n[[server]]\nname = \"server3\"\nrole = \"replica\"\n\
         mysql = { host = \"127.0.0.23\", port = 3306 }\ntransport = \"local\"\n",
    );
    let three = dir.path().join("three.toml");
    std::fs::write(&three, &text).expect("write");
    let check = |inventory: &Path| {
        flightdeck()
            .args([
                "check",
                "runbooks/mariadb-10.5-to-11.4-maxscale.toml",
                "--inventory",
            ])
            .arg(inventory)
            .env("NO_COLOR", "1")
            .output()
            .expect("runs")
    };
    let out = check(&three);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Once, where `[runbook] roles` asks for it, naming the replicas and how to choose.
    assert!(
        stderr.contains(
            "runbooks/mariadb-10.5-to-11.4-maxscale.toml:34:33: `candidate` is ambiguous with \
             this inventory (server2, server3 are replicas): this runbook promotes one of them \
             and the inventory does not say which"
        ),
        "{stderr}"
    );
    assert!(
        // (miette wraps the help to the terminal's width)
        stderr.contains("help: name it in the inventory: [roles] candidate = \"server2\" (or")
            && stderr.contains("--candidate"),
        "{stderr}"
    );
    assert!(stderr.contains("1 error(s)"), "{stderr}");
    // `plan` and `run` refuse it the same way, before anything else happens.
    for command in [&["plan"][..], &["run", "--no-tui"][..]] {
        let out = flightdeck()
            .args(command)
            .arg(
                std::fs::canonicalize("runbooks/mariadb-10.5-to-11.4-maxscale.toml").expect("path"),
            )
            .arg("--inventory")
            .arg(&three)
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2), "{command:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(
                "`candidate` is ambiguous with this inventory (server2, server3 are replicas)"
            ),
            "{command:?}: {stderr}"
        );
    }

    // The operator names it for this run: the plan switches over to that replica; a
    // server that is not a replica is refused before anything else.
    let plan = |candidate: &str| {
        flightdeck()
            .args([
                "plan",
                "runbooks/mariadb-10.5-to-11.4-maxscale.toml",
                "--inventory",
            ])
            .arg(&three)
            .args(["--candidate", candidate])
            .env("NO_COLOR", "1")
            .env("FLIGHTDECK_SECRET_REPL_PASSWORD", "not-used-by-plan")
            .output()
            .expect("runs")
    };
    let named = plan("server3");
    let shown = String::from_utf8_lossy(&named.stdout);
    assert_eq!(
        named.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&named.stderr)
    );
    assert!(
        shown.contains("target: candidate → server3")
            && shown.lines().any(|l| l
                .contains("maxctrl call command mariadbmon async-switchover")
                && l.ends_with(" server3 server1")),
        "{shown}"
    );
    let refused = plan("server1");
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("--candidate server1: it is not a replica in the inventory"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    // Named, every role the runbook uses resolves: `replicas` (both), `candidate`.
    text.push_str("\n[roles]\ncandidate = \"server3\"\n");
    std::fs::write(&three, &text).expect("write");
    let out = check(&three);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

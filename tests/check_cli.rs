//! `flightdeck check` as an operator runs it: exit codes and what it prints.

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
        .replacen("target = \"replica\"", "target = \"server7\"", 1);
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

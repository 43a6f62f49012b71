//! The tool documents itself from its clap definitions: every command and argument has a
//! description, `flightdeck man` prints (or writes) man pages and `flightdeck completions`
//! prints completion scripts that name the commands.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use assert_cmd::Command;
use clap::CommandFactory;

fn flightdeck() -> Command {
    Command::cargo_bin("flightdeck").expect("the binary is built")
}

fn stdout(args: &[&str]) -> String {
    let out = flightdeck().args(args).output().expect("runs");
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Every visible command and argument, however deep, says what it is.
#[test]
fn every_command_and_argument_has_a_description() {
    fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for a in cmd.get_arguments() {
            let builtin = matches!(a.get_id().as_str(), "help" | "version");
            if !a.is_hide_set() && !builtin && a.get_help().is_none() {
                missing.push(format!("{path} <{}>", a.get_id()));
            }
        }
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            if !sub.is_hide_set() && sub.get_about().is_none() {
                missing.push(format!("{path} {}", sub.get_name()));
            }
            walk(sub, &format!("{path} {}", sub.get_name()), missing);
        }
    }
    let mut missing = Vec::new();
    walk(&flightdeck::cli::Cli::command(), "flightdeck", &mut missing);
    assert!(missing.is_empty(), "no description: {missing:#?}");
}

#[test]
fn man_prints_the_page_and_writes_one_per_command() {
    let page = stdout(&["man"]);
    assert!(page.contains(".TH flightdeck 1"), "{page}");
    for command in ["check", "plan", "run", "report", "attach", "watch", "lab"] {
        assert!(page.contains(command), "{command} in flightdeck(1)");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    stdout(&["man", "--dir", dir.path().to_str().expect("utf-8 path")]);
    for page in [
        "flightdeck.1",
        "flightdeck-run.1",
        "flightdeck-report.1",
        "flightdeck-lab-up.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page))
            .unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page} is a man page");
    }
    let run = std::fs::read_to_string(dir.path().join("flightdeck-run.1")).expect("run page");
    assert!(
        run.contains("journal"),
        "the run page says where the journal goes"
    );
}

#[test]
fn completions_name_the_commands_for_each_shell() {
    for (shell, marker) in [
        ("bash", "_flightdeck()"),
        ("zsh", "#compdef flightdeck"),
        ("fish", "complete -c flightdeck"),
    ] {
        let script = stdout(&["completions", shell]);
        assert!(script.contains(marker), "{shell}: {marker}");
        for command in ["run", "report", "preflight"] {
            assert!(script.contains(command), "{shell} completes {command}");
        }
    }
}

/// On a bastion the inventory is set once for the shell: `FLIGHTDECK_INVENTORY`, which
/// `--inventory` overrides.
#[test]
fn the_inventory_comes_from_the_environment_unless_given() {
    let out = flightdeck()
        .args(["check", "runbooks/mariadb-10.5-to-11.4-maxscale.toml"])
        .env("FLIGHTDECK_INVENTORY", "runbooks/no-such-inventory.toml")
        .output()
        .expect("runs");
    let said =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("no-such-inventory.toml"), "{said}");
    let out = flightdeck()
        .args([
            "check",
            "runbooks/mariadb-10.5-to-11.4-maxscale.toml",
            "--inventory",
            "runbooks/inventory.example.toml",
        ])
        .env("FLIGHTDECK_INVENTORY", "runbooks/no-such-inventory.toml")
        .output()
        .expect("runs");
    assert!(out.status.success(), "{out:?}");
}

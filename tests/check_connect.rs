//! `check --connect` against a 3-server lab (`lab up --replicas 2`): the live facts, one
//! line each, ✔ or ✘. A wrong monitor name and a wrong admin password fail with lines that
//! say so (and no password in them); a privileged pollers' user is warned about; the seed
//! runbook (which upgrades every replica) is refused while the replica its switchover
//! promotes is ambiguous, and accepted once the inventory's `[roles]` names the candidate.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use flightdeck::lab::{Lab, LabOptions};

const SEED: &str = "runbooks/mariadb-10.5-to-11.4-maxscale.toml";

struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn check(args: &[&str], inventory: &Path) -> Ran {
    let out = Command::cargo_bin("flightdeck")
        .expect("binary is built")
        .arg("check")
        .args(args)
        .arg("--inventory")
        .arg(inventory)
        .env("NO_COLOR", "1")
        .output()
        .expect("runs");
    Ran {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The lab's inventory with `edit` applied, written beside it as `name`.
fn edited(lab: &Lab, name: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let text = std::fs::read_to_string(lab.inventory_path()).expect("lab inventory");
    let edited = edit(text.clone());
    assert_ne!(edited, text, "{name}: the edit changed nothing");
    let path = lab.dir().join(name);
    std::fs::write(&path, edited).expect("write inventory");
    path
}

fn lines_with<'a>(out: &'a str, mark: &str) -> Vec<&'a str> {
    out.lines()
        .filter(|l| l.trim_start().starts_with(mark))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_facts_of_a_three_server_lab() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_flightdeck"));
    let mut opts = LabOptions::new(dir.path().join("lab"));
    opts.replicas = 2;
    opts.serve_exe = Some(exe);
    let lab = Lab::up(opts).await.expect("lab up --replicas 2").guard();
    let url = lab.endpoint_url().to_owned();

    // The seed runbook upgrades every replica, then promotes one: with two, which one is
    // not said, and that is the one error (once, where `[runbook] roles` asks for it).
    let ran = check(&[SEED], lab.inventory_path());
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert!(
        ran.stderr.contains(&format!(
            "{SEED}:34:33: `candidate` is ambiguous with this inventory (server2, server3 are \
             replicas): this runbook promotes one of them and the inventory does not say which"
        )),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains("[roles] candidate = \"server2\""),
        "{}",
        ran.stderr
    );
    assert!(ran.stderr.contains("1 error(s)"), "{}", ran.stderr);

    // Named in the inventory, the runbook checks, and every live fact holds.
    let named = edited(&lab, "named.toml", |t| {
        format!("{t}\n[roles]\ncandidate = \"server2\"\n")
    });
    let ran = check(&[SEED, "--connect"], &named);
    assert_eq!(ran.code, Some(0), "{}\n{}", ran.stdout, ran.stderr);
    assert!(lines_with(&ran.stdout, "✘").is_empty(), "{}", ran.stdout);
    assert!(lines_with(&ran.stdout, "⚠").is_empty(), "{}", ran.stdout);
    for fact in [
        "✔ server1 (127.0.0.1:",
        "answers as flightdeck_watch",
        "✔ server3: the operator flightdeck logs in (sql steps)",
        &format!("✔ MaxScale {url} answers as admin (3 servers)"),
        "✔ monitor `MariaDB-Monitor` exists (mariadbmon, primary server1)",
        "✔ server2 is `server2` in MaxScale (Slave, Running)",
        "✔ server1: primary per the inventory; MaxScale and the server agree",
        "✔ server3: replica per the inventory; MaxScale and the server agree",
    ] {
        assert!(ran.stdout.contains(fact), "{fact}\n{}", ran.stdout);
    }

    // A monitor name MaxScale does not know.
    let wrong_monitor = edited(&lab, "monitor.toml", |t| {
        t.replace(
            "monitor = \"MariaDB-Monitor\"",
            "monitor = \"Replication-Monitor\"",
        )
    });
    let ran = check(&["--connect"], &wrong_monitor);
    assert_eq!(ran.code, Some(1), "{}", ran.stdout);
    assert_eq!(
        lines_with(&ran.stdout, "✘"),
        vec![
            "  ✘ monitor `Replication-Monitor` ([maxscale] monitor) does not exist in MaxScale; \
             it has MariaDB-Monitor"
        ],
        "{}",
        ran.stdout
    );
    assert!(
        ran.stderr.contains("1 live fact(s) failed"),
        "{}",
        ran.stderr
    );

    // A wrong admin password: MaxScale answered, and said no. Neither password is shown.
    let real = lab.secret("maxscale_admin").expect("admin password");
    let wrong = lab.dir().join("wrong-admin-password");
    std::fs::write(&wrong, "not-the-admin-password-4711").expect("write");
    std::fs::set_permissions(&wrong, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let admin_file = lab.state().secret_path("maxscale_admin");
    let wrong_password = edited(&lab, "password.toml", |t| {
        t.replace(
            &admin_file.display().to_string(),
            &wrong.display().to_string(),
        )
    });
    let ran = check(&["--connect"], &wrong_password);
    assert_eq!(ran.code, Some(1), "{}", ran.stdout);
    let failed = lines_with(&ran.stdout, "✘");
    assert_eq!(
        failed[0].trim(),
        format!(
            "✘ MaxScale {url} rejected the credentials of admin (HTTP 401): check [maxscale] \
             user and password"
        ),
        "{}",
        ran.stdout
    );
    assert!(
        failed[1].contains("not checked: MaxScale did not answer"),
        "{}",
        ran.stdout
    );
    for said in [&ran.stdout, &ran.stderr] {
        assert!(!said.contains("not-the-admin-password-4711") && !said.contains(&real));
    }

    // The pollers logging in as the operator's ALL PRIVILEGES user: a warning, with why.
    let fd_file = lab.state().secret_path("flightdeck");
    let watch_file = lab.state().secret_path("flightdeck_watch");
    let privileged = edited(&lab, "privileged.toml", |t| {
        t.replacen("user = \"flightdeck_watch\"", "user = \"flightdeck\"", 1)
            .replacen(
                &watch_file.display().to_string(),
                &fd_file.display().to_string(),
                1,
            )
    });
    let ran = check(&["--connect"], &privileged);
    assert_eq!(
        ran.code,
        Some(0),
        "a warning is not a failure: {}",
        ran.stdout
    );
    let warned = lines_with(&ran.stdout, "⚠");
    assert_eq!(warned.len(), 3, "one per server: {}", ran.stdout);
    assert!(
        warned[0].contains(
            "⚠ server1: the pollers' user flightdeck holds ALL PRIVILEGES: at a switchover \
             MaxScale kicks its connection off the old primary and blocks writes for another \
             500 ms"
        ),
        "{}",
        ran.stdout
    );
}

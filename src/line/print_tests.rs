use super::*;
use crate::line::testkit::{self, gate, note, step, view};

#[test]
fn a_step_reads_top_down_and_ends_with_its_command() {
    let mut s = step("b1", "shell");
    s.destructive = true;
    s.title = "Stop MariaDB on the replica".into();
    s.why = Some("The server must be down.\nIts binaries are replaced.".into());
    s.notes = vec![note("WARNING", "MaxScale no longer routes to it.")];
    s.gates = vec![gate("primary.up", true, "db2.up = true")];
    let v = view(vec![step("a1", "shell"), s], 1);
    assert_eq!(
        step_lines(&v, 1),
        [
            "[2.1] b1 (shell, DESTRUCTIVE) Stop MariaDB on the replica",
            "  on: db1 (target db1)",
            "  why: The server must be down.",
            "    Its binaries are replaced.",
            "  warning: MaxScale no longer routes to it.",
            "  gate ✔ primary.up — observed: db2.up = true",
            "  command:",
            "    on db1:",
            "    echo b1",
        ]
    );
    assert_eq!(title_line(&v, 0), "[1.1] a1 (shell) the a1 step");
}

#[test]
fn a_started_step_shows_what_was_sent_and_a_wait_its_own_words() {
    let mut s = step("a1", "shell");
    s.status = Status::Failed {
        detail: "exit status 3".into(),
    };
    s.attempts = 2;
    s.sent = Some("on db1:\necho sent".into());
    assert_eq!(
        command_lines(&s),
        ["  sent (attempt 2):", "    on db1:", "    echo sent"]
    );
    let v = view(vec![s], 1);
    assert!(step_lines(&v, 0).contains(&"  attempt 2 failed: exit status 3".to_string()));
    let mut w = step("w", "wait");
    w.command = Ok(vec!["wait until: db1.up".into()]);
    assert_eq!(command_lines(&w), ["  wait until: db1.up"]);
    let mut bad = step("x", "sql");
    bad.command = Err("no primary".into());
    assert_eq!(command_lines(&bad), ["  cannot resolve: no primary"]);
}

#[test]
fn failing_gates_and_why_the_step_waits() {
    let s = testkit::blocked(step("a1", "shell"), "db1.up = false (no answer)");
    assert_eq!(
        gate_lines(&s.gates),
        ["  gate ✘ db1.up — observed: db1.up = false (no answer)"]
    );
    assert_eq!(
        blocked_line(&s),
        "a1 ■ waiting: gate does not hold: db1.up — o overrides with a typed justification"
    );
}

#[test]
fn outcomes_and_output_are_lines_of_the_step() {
    let mut s = step("p1-backup", "shell");
    s.status = Status::Running {
        since: std::time::SystemTime::now(),
        progress: None,
    };
    s.attempts = 1;
    assert_eq!(
        status_line(&s).as_deref(),
        Some("p1-backup │ ▶ started (attempt 1) on db1")
    );
    s.status = Status::Succeeded {
        detail: "exit status 0".into(),
    };
    assert_eq!(
        status_line(&s).as_deref(),
        Some("p1-backup │ ✔ exit status 0")
    );
    s.status = Status::Skipped {
        reason: "done last week".into(),
    };
    assert_eq!(
        status_line(&s).as_deref(),
        Some("p1-backup │ ↷ skipped: done last week")
    );
    s.status = Status::Ready;
    assert_eq!(status_line(&s), None);
    assert_eq!(
        output_line("p1-backup", Stream::Stdout, "dumped"),
        "p1-backup │ dumped"
    );
    assert_eq!(
        output_line("p1-backup", Stream::Stderr, "warning"),
        "p1-backup │ stderr: warning"
    );
}

#[test]
fn the_summary_names_every_deviation() {
    let v = view(vec![step("a1", "shell")], 1);
    assert_eq!(
        summary_lines(&v, &testkit::summary()),
        [
            "Runbook complete: unit · 4 steps · 1m 15s",
            "✔ 1 first (2/2)",
            "↷ 2 second (2/2, 1 skipped)",
            "Skipped:",
            "  b2 — skipped: db1 is down on purpose",
        ]
    );
}

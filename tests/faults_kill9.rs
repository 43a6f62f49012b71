//! The cockpit's process killed with SIGKILL (`kill -9`: no handler, no flush, no
//! `session_end`) during a shell step, between steps, and during a switchover, then resumed
//! on the same journal. After resume the in-flight step is "outcome unknown", nothing runs
//! again without a fresh answer, and every line journaled before the kill is still there.
//! The binary runs in line mode (`run --no-tui` on pipes), as a real process.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "faults_kill9/line.rs"]
mod line;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use flightdeck::lab::{Lab, LabOptions};
use flightdeck::session::journal::Event;
use flightdeck::session::replay::StepState;
use flightdeck::session::replay::replay;
use line::{DEADLINE, LineSession};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// One server whose shell steps run here; its MySQL port answers nothing.
const INVENTORY: &str = r#"
[[server]]
name = "db1"
role = "primary"
mysql = { host = "127.0.0.1", port = 1 }
transport = "local"
"#;

/// A quick step, then one that runs until it is killed (it writes its process group's
/// id first, so the test can end it).
const RUNBOOK: &str = r#"
[runbook]
name = "kill9"

[[phase]]
id = "p"
title = "two steps"

[[phase.step]]
id = "first"
title = "Quick"
kind = "shell"
target = "db1"
command = "echo first done"

[[phase.step]]
id = "slow"
title = "Runs a long time"
kind = "shell"
target = "db1"
command = "echo $$ > PIDFILE; echo begin; sleep 600; echo end"
"#;

fn setup(dir: &Path) -> (PathBuf, PathBuf, PathBuf, PathBuf) {
    let rb = dir.join("rb.toml");
    let inv = dir.join("inv.toml");
    let pid_file = dir.join("slow.pid");
    let text = RUNBOOK.replace("PIDFILE", &pid_file.display().to_string());
    std::fs::write(&rb, text).expect("runbook");
    std::fs::write(&inv, INVENTORY).expect("inventory");
    (rb, inv, dir.join("journal.jsonl"), pid_file)
}

/// The journal's complete lines (a torn last line, if any, is not journaled).
fn complete_lines(journal: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(journal).expect("journal");
    let whole = text.rfind('\n').map_or("", |at| &text[..=at]);
    whole.lines().map(str::to_string).collect()
}

/// Every line journaled before the kill is still there, in order, at the head.
fn nothing_lost(before: &[String], journal: &Path) {
    let after = complete_lines(journal);
    assert!(
        after.len() >= before.len() && after[..before.len()] == *before,
        "lines journaled before the kill were lost:\nbefore {before:#?}\nafter {after:#?}"
    );
}

fn starts_of(journal: &Path, id: &str) -> usize {
    let r = replay(journal).expect("the journal replays");
    r.events
        .iter()
        .filter(|rec| matches!(&rec.event, Event::StepStart { step, .. } if step == id))
        .count()
}

/// Ends the process group the killed cockpit's shell step left running.
fn end_orphan(pid_file: &Path) {
    if let Some(pid) = std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|t| t.trim().parse::<i32>().ok())
    {
        let _ = kill(Pid::from_raw(-pid), Signal::SIGKILL);
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

#[test]
fn killed_during_a_shell_step_the_step_is_unknown_and_not_re_run_unasked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (rb, inv, journal, pid_file) = setup(dir.path());
    let mut s = LineSession::start(&rb, &inv, &journal);
    s.answer("run first? [y/N/s(kip)/o(verride)/q(uit)]", "y");
    s.expect("first │ first done");
    s.answer("run slow? [y/N/s(kip)/o(verride)/q(uit)]", "y");
    s.expect("slow │ begin\n");
    // Output is journaled at most 200 ms after it is shown: wait for it in the file.
    let begun = Instant::now();
    while !complete_lines(&journal)
        .iter()
        .any(|l| l.contains("\"output\"") && l.contains("begin"))
    {
        assert!(begun.elapsed() < DEADLINE, "the output is journaled");
        std::thread::sleep(Duration::from_millis(20));
    }
    s.kill9();
    let before = complete_lines(&journal);
    let replayed = replay(&journal).expect("a killed run's journal replays");
    assert!(replayed.ended.is_none(), "SIGKILL writes no session_end");

    let mut s = LineSession::start(&rb, &inv, &journal);
    s.expect("slow was running");
    s.expect("  ? outcome unknown");
    s.expect("    echo $$ > ");
    // Only a fresh `y` would run it again.
    s.answer("re-run slow? [y/N/v(erified)/s(kip)/q(uit)]", "n");
    s.expect("re-run slow? [y/N/v(erified)/s(kip)/q(uit)]");
    s.finish();
    end_orphan(&pid_file);

    nothing_lost(&before, &journal);
    assert_eq!(starts_of(&journal, "first"), 1, "first never ran again");
    assert_eq!(starts_of(&journal, "slow"), 1, "slow never ran again");
    let r = replay(&journal).expect("replays");
    // Still started and never ended: what resumes as "outcome unknown".
    assert!(matches!(
        r.steps.get("slow"),
        Some(StepState::Running { .. })
    ));
    assert!(matches!(r.steps.get("first"), Some(StepState::Succeeded)));
    let output = r.outputs.get("slow").cloned().unwrap_or_default();
    assert!(
        output.iter().any(|(_, text)| text.contains("begin")),
        "the output journaled before the kill is kept: {output:?}"
    );
}

#[test]
fn killed_between_steps_the_done_step_stays_done_and_the_next_asks_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (rb, inv, journal, pid_file) = setup(dir.path());
    let mut s = LineSession::start(&rb, &inv, &journal);
    s.answer("run first? [y/N/s(kip)/o(verride)/q(uit)]", "y");
    s.expect("first │ ✔");
    // The run waits for an answer about `slow`: killed at the question.
    s.expect("run slow? [y/N/s(kip)/o(verride)/q(uit)]");
    s.kill9();
    let before = complete_lines(&journal);

    let mut s = LineSession::start(&rb, &inv, &journal);
    // Nothing is unknown: the run stands at `slow`, which asks as it did before.
    s.answer("run slow? [y/N/s(kip)/o(verride)/q(uit)]", "n");
    s.expect("not confirmed: nothing was run");
    let t = s.finish();
    assert!(!t.contains("outcome unknown"), "{t}");
    end_orphan(&pid_file);

    nothing_lost(&before, &journal);
    assert_eq!(starts_of(&journal, "first"), 1, "first never ran again");
    assert_eq!(starts_of(&journal, "slow"), 0, "slow never ran unasked");
    let r = replay(&journal).expect("replays");
    assert!(matches!(r.steps.get("first"), Some(StepState::Succeeded)));
    assert!(!pid_file.exists(), "slow's command never ran");
}

/// A switchover from server1 to server2 through the lab's MaxScale endpoint.
const SWITCHOVER: &str = r#"
[runbook]
name = "kill9-switchover"

[[phase]]
id = "p"
title = "switchover"

[[phase.step]]
id = "switchover"
title = "Switch writes over to server2"
kind = "maxscale"
action = "switchover"
destructive = true
new_primary = "replica"
old_primary = "primary"
timeout = "2m"
"#;

/// The endpoint paused (SIGSTOP) for as long as this lives, so a request sent to it is in
/// flight for certain; SIGCONT when dropped.
struct Paused(Pid);

impl Drop for Paused {
    fn drop(&mut self) {
        let _ = kill(self.0, Signal::SIGCONT);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_during_a_switchover_the_step_is_unknown_and_not_re_run_unasked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_flightdeck"));
    let mut opts = LabOptions::new(dir.path().join("lab"));
    opts.serve_exe = Some(exe.clone());
    opts.flightdeck_exe = Some(exe);
    let lab = Lab::up(opts).await.expect("lab up").guard();
    let rb = dir.path().join("switchover.toml");
    std::fs::write(&rb, SWITCHOVER).expect("runbook");
    let inv = lab.inventory_path().to_path_buf();
    let journal = dir.path().join("journal.jsonl");

    let endpoint = lab.endpoint_status().await;
    let pid = endpoint.pid.expect("the endpoint runs");
    let pid = Pid::from_raw(i32::try_from(pid).expect("a pid"));

    let (rb2, inv2, journal2) = (rb.clone(), inv.clone(), journal.clone());
    let before = tokio::task::spawn_blocking(move || {
        let mut s = LineSession::start(&rb2, &inv2, &journal2);
        s.answer("run switchover? [y/N/s(kip)/o(verride)/q(uit)]", "y");
        s.expect("type server2 to confirm:");
        // The request will be sent to a paused endpoint: it is in flight when the kill comes.
        kill(pid, Signal::SIGSTOP).expect("SIGSTOP the endpoint");
        let paused = Paused(pid);
        s.answer("", "server2");
        let begun = Instant::now();
        while !complete_lines(&journal2)
            .iter()
            .any(|l| l.contains("\"step_start\"") && l.contains("\"switchover\""))
        {
            assert!(begun.elapsed() < DEADLINE, "the step starts");
            std::thread::sleep(Duration::from_millis(20));
        }
        s.kill9();
        drop(paused);
        complete_lines(&journal2)
    })
    .await
    .expect("first session");
    let r = replay(&journal).expect("a killed run's journal replays");
    assert!(
        r.steps
            .get("switchover")
            .is_some_and(|s| matches!(s, StepState::Running { .. })),
        "in flight at the kill: {:?}",
        r.steps.get("switchover")
    );

    let (rb2, inv2, journal2) = (rb.clone(), inv.clone(), journal.clone());
    tokio::task::spawn_blocking(move || {
        let mut s = LineSession::start(&rb2, &inv2, &journal2);
        s.expect("switchover was running");
        s.expect("  ? outcome unknown");
        s.answer("re-run switchover? [y/N/v(erified)/s(kip)/q(uit)]", "n");
        s.expect("re-run switchover? [y/N/v(erified)/s(kip)/q(uit)]");
        s.finish();
    })
    .await
    .expect("resumed session");

    nothing_lost(&before, &journal);
    assert_eq!(starts_of(&journal, "switchover"), 1, "never sent twice");
    let r = replay(&journal).expect("replays");
    assert!(matches!(
        r.steps.get("switchover"),
        Some(StepState::Running { .. })
    ));
    lab.down(true).await.expect("lab down");
}

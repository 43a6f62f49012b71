//! SSH hosts failing under the cockpit, driven headless through the same `Prepared::apply`
//! path the cockpit's loop uses (keys in, the view and the screen out, the journal
//! replayed): a host nobody listens for, a host that refuses the key, and a command that
//! hangs past its step's timeout. No database is needed: the servers' MySQL port answers
//! nothing, and `db2` runs its shell steps here, before and after the fault, so the
//! journal shows that nothing written before the fault is lost and that the run goes on.
//!
//! `db1` is reached over SSH through the loopback sshd of `tests/ssh_exec/sshd.rs` (its
//! own keys and configs in a tempdir). The inventory names the host and port as an operator
//! would; the one thing a test replaces is the session's `HostPool`, so that ssh reads the
//! fixture's config (identity, known hosts) instead of the user's `~/.ssh`. Since that
//! sshd runs on this machine, "the remote process is gone" is checked with `pgrep` here.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)] // not every helper of the sshd fixture is used here
#[path = "ssh_exec/sshd.rs"]
mod sshd;

mod common;

use common::pump::{key, pump_until};

use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use crossterm::event::KeyCode;
use flightdeck::exec::host::{HostPool, SshOptions};
use flightdeck::inventory;
use flightdeck::poll::start::PollIntervals;
use flightdeck::runbook;
use flightdeck::session::journal::{Event, Outcome};
use flightdeck::session::replay::replay;
use flightdeck::session::run::StepState;
use flightdeck::session::view::Status;
use flightdeck::tui::run::start::{Prepared, prepare};
use flightdeck::tui::run::view::{ViewContext, view};
use flightdeck::tui::theme::Theme;
use tempfile::TempDir;

use sshd::{Sshd, free_port, sshd};

/// How long anything may take before a test gives up (never a duration assertion). The
/// hanging command's `sleep` outlives it, so a `sleep` that is gone was killed.
const PATIENCE: Duration = Duration::from_secs(120);

/// What `db2` prints before and after the fault, and the skip's reason.
const BEFORE: &str = "before the ssh fault";
const AFTER: &str = "after the ssh fault";
const SKIP_REASON: &str = "db1 is broken on purpose";

/// `db1` over SSH to `port`; `db2` here. Neither MySQL port answers.
fn inventory_text(port: u16) -> String {
    format!(
        r#"
[[server]]
name = "db1"
role = "primary"
mysql = {{ host = "127.0.0.1", port = 1 }}
ssh = {{ host = "127.0.0.1", port = {port} }}

[[server]]
name = "db2"
role = "replica"
mysql = {{ host = "127.0.0.1", port = 1 }}
transport = "local"
"#
    )
}

/// A step on `db2`, the `remote` step on `db1` (its command and timeout), a step on `db2`.
fn runbook_text(remote: &str, timeout: &str) -> String {
    format!(
        r#"
[runbook]
name = "faults-ssh"

[[phase]]
id = "p"
title = "ssh"

[[phase.step]]
id = "before"
title = "A command on db2"
kind = "shell"
target = "db2"
command = "echo '{BEFORE}'"

[[phase.step]]
id = "remote"
title = "A command on db1 over ssh"
kind = "shell"
target = "db1"
command = "{remote}"
timeout = "{timeout}"

[[phase.step]]
id = "after"
title = "Another command on db2"
kind = "shell"
target = "db2"
command = "echo '{AFTER}'"
"#
    )
}

/// A cockpit on its own journal, its SSH sessions opened with the fixture's `config`.
struct Case {
    p: Prepared,
    journal: PathBuf,
    _dir: TempDir,
}

async fn open(sshd: &Sshd, config: &str, port: u16, remote: &str, timeout: &str) -> Case {
    let dir = tempfile::tempdir().expect("tempdir");
    let inv_path = dir.path().join("inventory.toml");
    std::fs::write(&inv_path, inventory_text(port)).expect("inventory");
    let inv = inventory::load_file(&inv_path).expect("inventory loads");
    let rb = dir.path().join("ssh.toml");
    std::fs::write(&rb, runbook_text(remote, timeout)).expect("runbook");
    let loaded = runbook::load_checked(Path::new(&rb), Some(&inv)).expect("runbook is valid");
    let journal = dir.path().join("ssh.jsonl");
    let mut p = prepare(loaded, inv, &journal, PollIntervals::default())
        .await
        .expect("cockpit starts");
    p.driver.executors.hosts = HostPool::new(SshOptions {
        config_file: Some(sshd.path(config)),
        control_dir: Some(dir.path().to_path_buf()),
        master_idle: Duration::from_secs(30),
        stop_grace: Duration::from_secs(2),
        ..SshOptions::default()
    });
    Case {
        p,
        journal,
        _dir: dir,
    }
}

fn state(p: &Prepared, id: &str) -> StepState {
    p.driver.core.run.state(id).clone()
}

fn ended(id: &'static str) -> impl Fn(&Prepared) -> bool {
    move |p| !matches!(state(p, id), StepState::Running { .. } | StepState::Pending)
}

/// The cursor on the current step `id`, once keys are taken again.
async fn at(p: &mut Prepared, id: &str) {
    pump_until(p, &format!("{id} current"), |p| {
        p.driver.core.run.current().map(|s| s.id.value.as_str()) == Some(id)
            && !p.app.guarded(Instant::now())
    })
    .await;
    key(p, KeyCode::Char('g'));
    let selected = p.app.selected_step(&p.driver.view()).map(|s| s.id.clone());
    assert_eq!(selected.as_deref(), Some(id));
}

/// Runs the current step `id` as the operator does (Enter, `y`) and waits for its end.
async fn confirm(p: &mut Prepared, id: &'static str) -> StepState {
    at(p, id).await;
    key(p, KeyCode::Enter);
    key(p, KeyCode::Char('y'));
    assert!(
        !matches!(state(p, id), StepState::Pending),
        "{id} did not start: {:?}",
        p.app.message
    );
    pump_until(p, &format!("{id} to end"), ended(id)).await;
    state(p, id)
}

/// The whole cockpit as drawn now, the cursor on the current step.
fn screen(p: &Prepared) -> String {
    let ctx = ViewContext {
        theme: Theme::PLAIN,
    };
    let v = p.driver.view();
    common::draw(200, 50, |f| {
        view(&p.app, &v, &p.driver.core.dash, &ctx, f, Instant::now())
    })
}

/// The session goes on past the failed `remote` step: the operator skips it (`s`, a
/// reason, `y`) and confirms the next one, which runs; the run completes. Returns the
/// journal as replayed.
async fn skip_and_go_on(mut case: Case) -> Vec<Event> {
    let p = &mut case.p;
    at(p, "remote").await;
    key(p, KeyCode::Char('s'));
    for c in SKIP_REASON.chars() {
        key(p, KeyCode::Char(c));
    }
    key(p, KeyCode::Enter);
    key(p, KeyCode::Char('y'));
    assert!(
        matches!(state(p, "remote"), StepState::Skipped { .. }),
        "{:?}: {:?}",
        state(p, "remote"),
        p.app.message
    );
    let after = confirm(p, "after").await;
    assert!(matches!(after, StepState::Succeeded { .. }), "{after:?}");
    p.driver.finish("test over").await;
    let r = replay(&case.journal).expect("the journal replays");
    assert!(r.completed, "the run completes past the fault");
    r.events.into_iter().map(|rec| rec.event).collect()
}

/// The steps' lives as journaled, in order: starts, ends (with outcome and detail), skips
/// and output.
fn steps_journaled(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::StepStart { step, .. } => Some(format!("start {step}")),
            Event::Output { step, text, .. } => Some(format!("output {step}: {}", text.trim())),
            Event::StepEnd {
                step,
                outcome,
                detail,
                ..
            } => Some(format!("end {step} {outcome:?}: {detail}")),
            Event::Skip { step, reason } => Some(format!("skip {step}: {reason}")),
            _ => None,
        })
        .collect()
}

/// What the journal must hold, in order: `db2`'s step, then the `remote` step's start,
/// its `output` lines, its end with `outcome` and a detail holding `words`, the skip, and
/// `db2`'s next step.
fn assert_journal(events: &[Event], output: &[&str], outcome: Outcome, words: &str) {
    let seen = steps_journaled(events);
    let end = format!("end remote {outcome:?}: ");
    let remote_end = seen
        .iter()
        .find(|l| l.starts_with(&end))
        .unwrap_or_else(|| panic!("no `{end}`: {seen:#?}"));
    assert!(remote_end.contains(words), "{remote_end}");
    let mut want = vec![
        "start before".to_string(),
        format!("output before: {BEFORE}"),
        "end before Succeeded: db2: exit 0".to_string(),
        "start remote".to_string(),
    ];
    want.extend(output.iter().map(|l| format!("output remote: {l}")));
    want.extend([
        remote_end.clone(),
        format!("skip remote: {SKIP_REASON}"),
        "start after".to_string(),
        format!("output after: {AFTER}"),
        "end after Succeeded: db2: exit 0".to_string(),
    ]);
    assert_eq!(seen, want);
}

/// The `remote` step failed with `words` in its detail: in the session, in the view the
/// screens are drawn from, and on the screen as its own line (the server panes may say
/// the same words about MySQL). Returns the detail.
fn assert_failed_saying(p: &Prepared, words: &str) -> String {
    let StepState::Failed { detail } = state(p, "remote") else {
        panic!("remote: {:?}", state(p, "remote"))
    };
    assert!(detail.contains(words), "{detail}");
    let status = p
        .driver
        .view()
        .steps
        .iter()
        .find(|s| s.id == "remote")
        .map(|s| s.status.clone());
    assert_eq!(
        status,
        Some(Status::Failed {
            detail: detail.clone()
        })
    );
    let shown = screen(p);
    assert!(shown.contains(&format!("✘ {detail}")), "{shown}");
    detail
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_ssh_host_fails_the_step_with_ssh_s_words_and_the_journal_says_so() {
    let sshd = sshd();
    let nobody = free_port();
    let mut case = open(&sshd, "client_config", nobody, "echo never", "1m").await;
    let p = &mut case.p;
    let before = confirm(p, "before").await;
    assert!(matches!(before, StepState::Succeeded { .. }), "{before:?}");
    confirm(p, "remote").await;
    let detail = assert_failed_saying(p, "Connection refused");
    assert!(detail.contains(&nobody.to_string()), "{detail}");
    let events = skip_and_go_on(case).await;
    assert_journal(&events, &[], Outcome::Failed, "Connection refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ssh_host_that_refuses_the_key_fails_the_step_with_permission_denied() {
    let sshd = sshd();
    let mut case = open(&sshd, "stranger_config", sshd.port, "echo never", "1m").await;
    let p = &mut case.p;
    confirm(p, "before").await;
    confirm(p, "remote").await;
    assert_failed_saying(p, "Permission denied");
    let events = skip_and_go_on(case).await;
    assert_journal(&events, &[], Outcome::Failed, "Permission denied");
}

/// Whether a process whose command line matches `pattern` runs on this machine.
fn running(pattern: &str) -> bool {
    let status = Process::new("pgrep")
        .args(["-f", pattern])
        .stdout(Stdio::null())
        .status();
    status.expect("run pgrep").success()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_command_past_its_timeout_times_out_and_its_processes_are_gone() {
    let sshd = sshd();
    // Unique sleeps: one in the foreground, one in the background of the same group.
    let script = "sleep 271.829 & echo started; sleep 271.828; echo never";
    let mut case = open(&sshd, "client_config", sshd.port, script, "5s").await;
    let p = &mut case.p;
    confirm(p, "before").await;
    at(p, "remote").await;
    key(p, KeyCode::Enter);
    key(p, KeyCode::Char('y'));
    pump_until(p, "the sleep on db1", |p| {
        running("^sleep 271.828") || ended("remote")(p)
    })
    .await;
    assert!(
        matches!(state(p, "remote"), StepState::Running { .. }),
        "the step ended before its command was seen: {:?}",
        state(p, "remote")
    );
    pump_until(p, "remote to end", ended("remote")).await;
    assert_failed_saying(p, "timed out");
    // What the command said before it hung stays on screen.
    let shown = screen(p);
    assert!(shown.contains("│ started"), "{shown}");
    for pattern in ["^sleep 271.828", "^sleep 271.829"] {
        let deadline = Instant::now() + PATIENCE;
        while running(pattern) {
            assert!(Instant::now() < deadline, "`{pattern}` is still running");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let events = skip_and_go_on(case).await;
    assert_journal(&events, &["started"], Outcome::TimedOut, "db1: timed out");
}

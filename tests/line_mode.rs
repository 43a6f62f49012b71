//! `flightdeck run --no-tui`: the binary driven from a scripted stdin on a local-transport
//! inventory (the shell runs here, the MySQL port is dead), answering each question once
//! it is printed, as an operator would. The journal it writes is the cockpit's for the
//! same decisions, taken with keys through the cockpit's own path.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use flightdeck::inventory;
use flightdeck::poll::start::PollIntervals;
use flightdeck::runbook;
use flightdeck::session::journal::Event;
use flightdeck::session::replay::replay;
use flightdeck::session::run::StepState;
use flightdeck::tui::run::app::Msg;
use flightdeck::tui::run::runtime::Input;
use flightdeck::tui::run::start::{Prepared, prepare};

const DEADLINE: Duration = Duration::from_secs(90);

const INVENTORY: &str = r#"
[[server]]
name = "db1"
role = "primary"
mysql = { host = "127.0.0.1", port = 1 }
transport = "local"

[vars]
state_dir = "STATE_DIR"
"#;

const RUNBOOK: &str = r#"
[runbook]
name = "line-mode"

[vars]
state_dir = "."

[[phase]]
id = "p1"
title = "prepare"

[[phase.step]]
id = "p1-hello"
title = "Say hello"
kind = "shell"
target = "db1"
why = "Output streams as lines of the step."
command = "echo hello from {{ target.name }}"

[[phase.step]]
id = "p1-read"
title = "Read this first"
kind = "note"
text = "Nothing here touches a database."

[[phase]]
id = "p2"
title = "change"

[[phase.step]]
id = "p2-stop"
title = "Stop the service"
kind = "shell"
target = "db1"
destructive = true
command = "echo stopping {{ target.name }}"
notes = [{ kind = "warning", text = "This stops db1." }]

[[phase.step]]
id = "p2-gated"
title = "Needs db1 up"
kind = "shell"
target = "db1"
gates = ["db1.up"]
command = "echo never"

[[phase.step]]
id = "p2-override"
title = "Runs although db1 is down"
kind = "shell"
target = "db1"
gates = ["db1.up"]
command = "echo overridden"

[[phase.step]]
id = "p2-flaky"
title = "Fails once"
kind = "shell"
target = "db1"
command = "test -e {{ vars.state_dir }}/flag || { touch {{ vars.state_dir }}/flag; echo first try fails >&2; exit 3; }"
"#;

const SKIP_REASON: &str = "db1 is down in this test";
const JUSTIFICATION: &str = "running it anyway: db1 is down on purpose";

/// A runbook, an inventory and a journal path in `dir`.
fn setup(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let rb = dir.join("rb.toml");
    let inv = dir.join("inv.toml");
    std::fs::write(&rb, RUNBOOK).expect("runbook");
    let state = dir.display().to_string();
    std::fs::write(&inv, INVENTORY.replace("STATE_DIR", &state)).expect("inventory");
    (rb, inv, dir.join("journal.jsonl"))
}

/// The binary in line mode, its stdout collected as it comes.
struct LineSession {
    child: Child,
    stdin: Option<ChildStdin>,
    out: Arc<Mutex<String>>,
    /// How far the transcript has been read by [`LineSession::expect`].
    read: usize,
}

impl LineSession {
    /// `flightdeck run … --no-tui`.
    fn start(rb: &Path, inv: &Path, journal: &Path) -> Self {
        Self::start_with(rb, inv, journal, &["--no-tui"])
    }

    fn start_with(rb: &Path, inv: &Path, journal: &Path, flags: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_flightdeck"))
            .arg("run")
            .arg(rb)
            .arg("--inventory")
            .arg(inv)
            .arg("--journal")
            .arg(journal)
            .args(flags)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("flightdeck starts");
        let out = Arc::new(Mutex::new(String::new()));
        let mut stdout = child.stdout.take().expect("stdout");
        let sink = out.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                sink.lock().expect("transcript").push_str(&text);
            }
        });
        let stdin = child.stdin.take();
        LineSession {
            child,
            stdin,
            out,
            read: 0,
        }
    }

    fn transcript(&self) -> String {
        self.out.lock().expect("transcript").clone()
    }

    /// Waits for `text` past what was read so far, and reads past it.
    fn expect(&mut self, text: &str) {
        let begun = Instant::now();
        loop {
            let all = self.transcript();
            if let Some(at) = all[self.read..].find(text) {
                self.read += at + text.len();
                return;
            }
            assert!(
                begun.elapsed() < DEADLINE,
                "no {text:?} after:\n{}",
                &all[self.read..]
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Answers the question `prompt` once it is printed.
    fn answer(&mut self, prompt: &str, line: &str) {
        self.expect(prompt);
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("write an answer");
        stdin.flush().expect("flush");
    }

    /// Closes stdin (end of input) and waits for the process; returns its transcript.
    fn finish(mut self) -> String {
        drop(self.stdin.take());
        let begun = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(status.success(), "{status}\n{}", self.transcript());
                break;
            }
            assert!(begun.elapsed() < DEADLINE, "did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(100)); // the reader's last chunk
        self.transcript()
    }
}

/// The run, answered line by line: a shell step, a note, a destructive step (a wrong
/// name first), a skip, an override, and a failed step retried.
fn drive_line_mode(rb: &Path, inv: &Path, journal: &Path) -> String {
    let mut s = LineSession::start(rb, inv, journal);
    s.answer("run p1-hello? [y/N/s(kip)/o(verride)/q(uit)]", "y");
    s.expect("p1-hello │ ✔");
    s.answer("acknowledge p1-read? [Enter/s(kip)/q(uit)]", "");
    s.answer("run p2-stop? [y/N/s(kip)/o(verride)/q(uit)]", "Y");
    s.expect("not confirmed: nothing was run");
    s.answer("run p2-stop? [y/N/s(kip)/o(verride)/q(uit)]", "y");
    s.answer("type db1 to confirm:", "db2");
    s.expect("refused: the typed name does not match `db1`: nothing was run");
    s.answer("run p2-stop? [y/N/s(kip)/o(verride)/q(uit)]", "y");
    s.answer("type db1 to confirm:", "db1");
    s.expect("p2-stop │ ✔");
    s.answer(
        "waiting for the gates of p2-gated: o(verride)/s(kip)/q(uit)",
        "s",
    );
    s.answer("reason to skip p2-gated:", SKIP_REASON);
    s.answer(
        "skip p2-gated? nothing is run; the reason is journaled [y/N]",
        "y",
    );
    s.answer(
        "waiting for the gates of p2-override: o(verride)/s(kip)/q(uit)",
        "o",
    );
    s.answer(
        "justification to run p2-override despite its gates:",
        JUSTIFICATION,
    );
    s.answer("run p2-override despite its gates? [y/N]", "y");
    s.answer("run p2-flaky? [y/N/s(kip)/o(verride)/q(uit)]", "y");
    s.answer("retry p2-flaky? [y/N/s(kip)/o(verride)/q(uit)]", "y");
    s.expect("Runbook complete: line-mode · 6 steps");
    s.finish()
}

fn position(transcript: &str, line: &str) -> usize {
    transcript
        .find(line)
        .unwrap_or_else(|| panic!("no {line:?} in:\n{transcript}"))
}

/// What two sessions decided and did, without what depends on time, place or process:
/// timestamps, pids, paths in commands, gate observations, the duration.
/// The journal's events as text, but `Roles`, samples and versions: the pollers' first
/// answer lands before or after the first step by a matter of milliseconds, and a sample
/// comes once a second whatever happens, so where they fall says nothing of the front end
/// (whether they are there is checked by the roles and rehearsal tests).
fn events(journal: &Path) -> Vec<String> {
    let r = replay(journal).expect("the journal replays");
    r.events
        .iter()
        .filter(|rec| {
            !matches!(
                rec.event,
                Event::Roles { .. } | Event::Sample { .. } | Event::ServerVersion { .. }
            )
        })
        .map(|rec| match &rec.event {
            Event::SessionStart(_) => "session_start".to_string(),
            Event::SessionEnd { .. } => "session_end".to_string(),
            Event::Gate {
                step,
                condition,
                holds,
                ..
            } => format!("gate {step} {condition} holds={holds}"),
            Event::StepStart {
                step,
                attempt,
                target_servers,
                primary,
                ..
            } => format!("step_start {step} #{attempt} on {target_servers:?} primary={primary:?}"),
            Event::Complete {
                skipped,
                overridden,
                retried,
                verified,
                ..
            } => format!("complete {skipped:?} {overridden:?} {retried:?} {verified:?}"),
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn line_mode_asks_on_stdin_prints_each_step_and_journals_like_the_cockpit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (rb, inv, journal) = setup(dir.path());
    let t = drive_line_mode(&rb, &inv, &journal);

    // Each step as the run reaches it, its command before its question.
    let title = position(&t, "[2.1] p2-stop (shell, DESTRUCTIVE) Stop the service");
    let warning = position(&t, "  warning: This stops db1.");
    let command = position(&t, "    echo stopping ");
    let question = position(&t, "run p2-stop? [y/N/s(kip)/o(verride)/q(uit)]");
    assert!(
        title < warning && warning < command && command < question,
        "{t}"
    );
    position(&t, "  why: Output streams as lines of the step.");
    position(&t, "  gate ✘ db1.up — observed:");
    position(&t, "p2-gated ■ waiting: gate does not hold: db1.up");
    position(&t, "type db1 to confirm: db1\n");
    // Output and outcomes, as lines of their step.
    position(&t, "p1-hello │ ▶ started (attempt 1) on db1\n");
    position(&t, "p1-hello │ hello from db1\n");
    position(&t, "p2-stop │ stopping db1\n");
    position(&t, "p2-gated │ ↷ skipped: db1 is down in this test\n");
    position(&t, "p2-flaky │ stderr: first try fails\n");
    position(&t, "p2-flaky │ ✘ db1: exit 3 (expected 0)\n");
    position(&t, "p2-flaky │ ▶ started (attempt 2) on db1\n");
    // The summary, with the operator's words.
    position(&t, "↷ 2 change (4/4, 1 skipped)\n");
    position(&t, "  p2-gated — skipped: db1 is down in this test\n");
    position(
        &t,
        &format!("  p2-override — overridden: {JUSTIFICATION}\n"),
    );
    position(&t, "  p2-flaky — retried: 2 attempts\n");

    let r = replay(&journal).expect("replays");
    assert!(r.completed);
    assert_eq!(r.ended.as_deref(), Some("run complete"));
    let typed: Vec<_> = r
        .events
        .iter()
        .filter_map(|rec| match &rec.event {
            Event::Confirm { step, typed, .. } => Some((step.as_str(), typed.as_deref())),
            _ => None,
        })
        .collect();
    // The wrong name was refused before anything was journaled.
    assert_eq!(
        typed,
        [
            ("p1-hello", None),
            ("p2-stop", Some("db1")),
            ("p2-override", None),
            ("p2-flaky", None),
            ("p2-flaky", None),
        ]
    );
    assert!(r.events.iter().any(|rec| matches!(&rec.event,
        Event::Skip { step, reason } if step == "p2-gated" && reason == SKIP_REASON)));
    assert!(r.events.iter().any(|rec| matches!(&rec.event,
        Event::Override { step, justification, failed_gates }
            if step == "p2-override" && justification == JUSTIFICATION
                && failed_gates == &["db1.up".to_string()])));

    // The same decisions through the cockpit, on a copy: the same journal.
    let copy = tempfile::tempdir().expect("tempdir");
    let (rb2, inv2, journal2) = setup(copy.path());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(drive_cockpit(&rb2, &inv2, &journal2));
    let line = events(&journal);
    let cockpit = events(&journal2);
    assert_eq!(
        line, cockpit,
        "line mode:\n{line:#?}\ncockpit:\n{cockpit:#?}"
    );
}

#[test]
fn end_of_input_leaves_a_running_step_running_and_a_resume_verifies_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rb = dir.path().join("slow.toml");
    let inv = dir.path().join("inv.toml");
    let journal = dir.path().join("slow.jsonl");
    std::fs::write(
        &rb,
        r#"
[runbook]
name = "slow"

[[phase]]
id = "p"
title = "slow"

[[phase.step]]
id = "slow"
title = "Takes a while"
kind = "shell"
target = "db1"
command = "echo begin; sleep 2; echo end"
"#,
    )
    .expect("runbook");
    std::fs::write(&inv, INVENTORY.replace("STATE_DIR", "/tmp")).expect("inventory");

    let mut s = LineSession::start(&rb, &inv, &journal);
    s.answer("run slow? [y/N/s(kip)/o(verride)/q(uit)]", "y");
    s.expect("slow │ begin\n");
    let t = s.finish();
    let reason =
        "stdin closed: operator quit leaving slow running (its outcome is unknown on resume)";
    position(&t, reason);
    assert_eq!(
        replay(&journal).expect("replays").ended.as_deref(),
        Some(reason)
    );

    // Resumed from the same journal, without --no-tui (stdin and stdout are pipes: line
    // mode is chosen by itself): the step's outcome is unknown; verified by hand.
    let mut s = LineSession::start_with(&rb, &inv, &journal, &[]);
    s.expect("  ? outcome unknown");
    s.expect("  sent (attempt 1):\n    on db1:\n    echo begin; sleep 2; echo end\n");
    s.answer("re-run slow? [y/N/v(erified)/s(kip)/q(uit)]", "v");
    s.answer(
        "what did you check by hand to know slow is done?",
        "it printed end",
    );
    s.answer("mark slow verified done? nothing is run [y/N]", "y");
    s.expect("  slow — verified by hand: it printed end\n");
    s.finish();
    let r = replay(&journal).expect("replays");
    assert!(r.completed);
    assert!(r.events.iter().any(|rec| matches!(&rec.event,
        Event::Verified { step, reason, .. } if step == "slow" && reason == "it printed end")));
}

// The cockpit's path: keys through `Prepared::apply`, as tests/rehearsal.rs drives it.

async fn pump(p: &mut Prepared, what: &str, done: impl Fn(&Prepared) -> bool) {
    let begun = Instant::now();
    while !done(p) {
        assert!(begun.elapsed() < DEADLINE, "timed out waiting for {what}");
        let input = tokio::select! {
            Some(i) = p.rx.recv() => i,
            Some(e) = p.inputs.exec_rx.recv() => Input::Exec(e),
            _ = tokio::time::sleep(Duration::from_millis(250)) => Input::Tick,
        };
        p.apply(input, Instant::now());
    }
}

fn key(p: &mut Prepared, code: KeyCode) {
    let msg = Msg::Key(KeyEvent::new(code, KeyModifiers::NONE));
    p.apply(Input::Ui(msg), Instant::now());
}

fn type_line(p: &mut Prepared, text: &str) {
    for c in text.chars() {
        key(p, KeyCode::Char(c));
    }
    key(p, KeyCode::Enter);
}

/// Waits until `id` is the current step, nothing runs and keys are taken again.
async fn at(p: &mut Prepared, id: &str) {
    pump(p, id, |p| {
        let v = p.driver.view();
        let current = v
            .current
            .and_then(|i| v.steps.get(i))
            .map(|s| s.id.as_str());
        current == Some(id) && v.running.is_none() && !p.app.guarded(Instant::now())
    })
    .await;
    assert_eq!(
        p.app
            .selected_step(&p.driver.view())
            .map(|s| s.id.clone())
            .as_deref(),
        Some(id)
    );
}

async fn ended(p: &mut Prepared, id: &str, attempt: u32) {
    pump(p, id, |p| {
        p.driver.core.run.attempts(id) == attempt
            && !matches!(p.driver.core.run.state(id), StepState::Running { .. })
    })
    .await;
}

async fn drive_cockpit(rb: &Path, inv: &Path, journal: &Path) {
    let inv = inventory::load_file(inv).expect("inventory");
    let loaded = runbook::load_checked(rb, Some(&inv)).expect("runbook");
    let mut p = prepare(loaded, inv, journal, PollIntervals::default())
        .await
        .expect("cockpit");
    // The cockpit's loop ticks at once when it starts, as line mode's does (the roles
    // are journaled then).
    p.apply(Input::Tick, Instant::now());
    at(&mut p, "p1-hello").await;
    key(&mut p, KeyCode::Enter);
    key(&mut p, KeyCode::Char('y'));
    ended(&mut p, "p1-hello", 1).await;
    at(&mut p, "p1-read").await;
    key(&mut p, KeyCode::Enter);
    at(&mut p, "p2-stop").await;
    key(&mut p, KeyCode::Enter);
    key(&mut p, KeyCode::Char('Y'));
    key(&mut p, KeyCode::Enter);
    key(&mut p, KeyCode::Char('y'));
    type_line(&mut p, "db2");
    key(&mut p, KeyCode::Enter);
    key(&mut p, KeyCode::Char('y'));
    type_line(&mut p, "db1");
    ended(&mut p, "p2-stop", 1).await;
    at(&mut p, "p2-gated").await;
    key(&mut p, KeyCode::Char('s'));
    type_line(&mut p, SKIP_REASON);
    key(&mut p, KeyCode::Char('y'));
    at(&mut p, "p2-override").await;
    key(&mut p, KeyCode::Char('o'));
    type_line(&mut p, JUSTIFICATION);
    key(&mut p, KeyCode::Char('y'));
    ended(&mut p, "p2-override", 1).await;
    at(&mut p, "p2-flaky").await;
    key(&mut p, KeyCode::Enter);
    key(&mut p, KeyCode::Char('y'));
    ended(&mut p, "p2-flaky", 1).await;
    at(&mut p, "p2-flaky").await;
    key(&mut p, KeyCode::Enter);
    key(&mut p, KeyCode::Char('y'));
    ended(&mut p, "p2-flaky", 2).await;
    assert!(p.driver.view().completed, "{:?}", p.app.message);
    p.driver.finish("operator quit").await;
}

//! The "done when" sweep of issue 11: the lab's passwords (random per lab, 24 characters)
//! are the planted secrets. The whole lab rehearsal runs headless through the session
//! driver, then a second session runs steps that fail while quoting a secret (a server
//! error that *is* the secret, a syntax error quoting part of it, a script printing it on
//! stdout and stderr). No secret, and no run of 8 of its characters, may appear in:
//!
//! * the argv of any process on this machine, sampled every 20 ms from `/proc` while
//!   steps run (a control process shows the sampler finds what is there);
//! * the cockpit's screen for each step (the cockpit's own view code on a TestBackend),
//!   and the session view sent to attached observers;
//! * the journals, flightdeck's tracing log (every flightdeck event at TRACE, written to a
//!   file by this test: the binary installs no subscriber) and the lab endpoint's log;
//! * step outcomes, output and notices (the error messages an operator reads);
//! * `flightdeck plan` (text and Markdown) and `flightdeck check --inventory`.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use flightdeck::inventory::{self, Inventory};
use flightdeck::lab::{BuildSpec, Lab, LabOptions};
use flightdeck::poll::start::PollIntervals;
use flightdeck::runbook::{self, Action, Loaded};
use flightdeck::session::driver::{Driver, Inputs};
use flightdeck::session::run::{Command, StepState};
use flightdeck::tui::run::app::RunApp;
use flightdeck::tui::run::view::{ViewContext, view};
use flightdeck::tui::theme::Theme;

#[path = "secret_sweep/argv.rs"]
mod argv;
mod common;

const STEP_DEADLINE: Duration = Duration::from_secs(180);
/// The lab's secret files, one per password it made.
const LAB_SECRETS: [&str; 6] = [
    "root",
    "repl",
    "monitor",
    "app",
    "flightdeck",
    "maxscale_admin",
];

/// A secret planted in the lab, by the name of its file.
#[derive(Clone)]
pub struct Planted {
    pub name: String,
    pub value: String,
}

/// Whether `text` holds `secret` or any run of 8 of its characters (what MariaDB's
/// `near '…'` leaves of a password cut at 80 characters).
pub fn holds_run(text: &str, secret: &str) -> bool {
    let chars: Vec<char> = secret.chars().collect();
    chars
        .windows(8)
        .any(|w| text.contains(&w.iter().collect::<String>()))
}

/// `text` with each planted value replaced by `<NAME>`, for failure messages.
fn redacted(text: &str, secrets: &[Planted]) -> String {
    secrets.iter().fold(text.to_string(), |t, s| {
        t.replace(&s.value, &format!("<{}>", s.name))
    })
}

/// Everything the operator or a log could see, gathered as (where, text).
#[derive(Default)]
struct Seen(Vec<(String, String)>);

impl Seen {
    fn add(&mut self, place: impl Into<String>, text: impl Into<String>) {
        self.0.push((place.into(), text.into()));
    }

    /// Each (secret, place) where a secret shows.
    fn leaks(&self, secrets: &[Planted]) -> Vec<String> {
        let mut out = Vec::new();
        for (place, text) in &self.0 {
            for s in secrets {
                if holds_run(text, &s.value) {
                    out.push(format!("{} in {place}", s.name));
                }
            }
        }
        out.dedup();
        out
    }
}

/// The cockpit's screen with `step` selected, as the cockpit draws it, and the session view
/// as an attached observer receives it.
fn look(d: &Driver, step: &str, seen: &mut Seen) {
    d.publish();
    let session = d.view().clone();
    let now = Instant::now();
    let mut app = RunApp::new(&session);
    app.observe(&session, now);
    if let Some(i) = session.steps.iter().position(|s| s.id == step) {
        app.selected = i;
    }
    let ctx = ViewContext {
        theme: Theme::PLAIN,
    };
    let screen = common::draw(200, 60, |f| {
        view(&app, &session, &d.core.dash, &ctx, f, now)
    });
    seen.add(format!("the screen at {step}"), screen);
    let wire = serde_json::to_string(&session).expect("the view serializes");
    seen.add(format!("the observers' view at {step}"), wire);
}

/// Feeds the driver until `done`, looking at the screen on each tick.
async fn pump(
    d: &mut Driver,
    inputs: &mut Inputs,
    step: &str,
    seen: &mut Seen,
    done: impl Fn(&Driver) -> bool,
) {
    let begun = Instant::now();
    while !done(d) {
        assert!(begun.elapsed() < STEP_DEADLINE, "timed out at {step}");
        tokio::select! {
            Some(e) = inputs.exec_rx.recv() => d.exec(e, Instant::now()).expect("journal"),
            _ = tokio::time::sleep(Duration::from_millis(250)) => {
                d.refresh(&inputs.pollers, Instant::now()).expect("journal");
                d.tick(Instant::now()).expect("journal");
                look(d, step, seen);
            }
        }
    }
}

/// Runs step `id` to its end (a second operator approving it first where it asks for
/// four eyes) and returns how it ended; `stepping` counts while it runs.
async fn take(
    d: &mut Driver,
    inputs: &mut Inputs,
    id: &str,
    stepping: &AtomicUsize,
    seen: &mut Seen,
) -> StepState {
    let step = d.core.run.runbook.step(id).expect("step").clone();
    if step.second_approval {
        let name = d
            .core
            .confirm_name(&step)
            .unwrap_or_else(|_| id.to_string());
        let said = d.approve("sweep-second", id, &name).expect("journal");
        assert!(!said.starts_with("not approved"), "{id}: {said}");
    }
    pump(d, inputs, id, seen, |d| {
        let s = d.core.run.runbook.step(id).expect("step");
        d.core.may_run(s).is_ok()
    })
    .await;
    let cmd = match step.action {
        Action::Manual { .. } | Action::Note { .. } => Command::Done { step: id.into() },
        _ => Command::Run {
            step: id.into(),
            typed: step
                .destructive
                .then(|| d.core.confirm_name(&step).expect("a name to type")),
            justification: None,
        },
    };
    stepping.fetch_add(1, Ordering::SeqCst);
    d.command(cmd, Instant::now())
        .expect("the command is taken");
    look(d, id, seen);
    pump(d, inputs, id, seen, |d| {
        !matches!(
            d.core.run.state(id),
            StepState::Running { .. } | StepState::Pending
        )
    })
    .await;
    stepping.fetch_sub(1, Ordering::SeqCst);
    look(d, id, seen);
    let state = d.core.run.state(id).clone();
    seen.add(format!("the outcome of {id}"), format!("{state:?}"));
    state
}

/// What an operator reads besides the screen: every step's output and outcome, notices.
fn read_session(d: &Driver, what: &str, seen: &mut Seen) {
    seen.add(
        format!("{what}: step output"),
        format!("{:?}", d.core.output),
    );
    seen.add(format!("{what}: notices"), d.core.notices.join("\n"));
}

/// Steps that fail while quoting a secret, on the live primary.
const FAILING: &str = include_str!("secret_sweep/failing.toml");

/// `flightdeck ARGS…` run to its end: its stdout and stderr.
fn flightdeck(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_flightdeck"))
        .args(args)
        .output()
        .expect("flightdeck runs");
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Every flightdeck tracing event, at every level, into the product's own log file under
/// `dir` (as `main` installs it), and every flightdeck process this test starts logs under
/// `dir` too (their `XDG_STATE_HOME`).
fn log_to(dir: &Path) -> flightdeck::logging::LogFile {
    // SAFETY: set before this test starts any thread of its own or any process; it is the
    // only test of this binary.
    unsafe {
        std::env::set_var(flightdeck::logging::LEVEL_VAR, "flightdeck=trace");
        std::env::set_var("XDG_STATE_HOME", dir);
    }
    flightdeck::logging::init_in(&dir.join("this-test")).expect("the only subscriber here")
}

/// Every log file under `dir`, as (name, text).
fn log_files(dir: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for folder in [dir.join("this-test"), dir.join("flightdeck")] {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "log") {
                let text = std::fs::read_to_string(&path).expect("log file");
                found.push((path.display().to_string(), text));
            }
        }
    }
    found
}

async fn open(loaded: &Loaded, inv: &Inventory, journal: &Path) -> (Driver, Inputs) {
    Driver::open(
        loaded.clone(),
        inv.clone(),
        journal,
        PollIntervals::default(),
    )
    .await
    .expect("session opens")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_planted_secret_leaks_anywhere_during_the_whole_rehearsal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("state");
    let log = log_to(&logs);
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_flightdeck"));
    let mut opts = LabOptions::new(dir.path().join("lab"));
    opts.from = BuildSpec::Version("10.11.18".into());
    opts.serve_exe = Some(exe.clone());
    opts.flightdeck_exe = Some(exe);
    let lab = Lab::up(opts).await.expect("lab up").guard();
    let secrets: Vec<Planted> = LAB_SECRETS
        .iter()
        .map(|name| Planted {
            name: (*name).into(),
            value: lab.secret(name).expect("a lab secret"),
        })
        .collect();
    for s in &secrets {
        assert!(s.value.len() >= 8, "{} is long enough to mask", s.name);
    }

    // The sampler runs from here to the end, and must see a process it is meant to see.
    let stepping = Arc::new(AtomicUsize::new(0));
    let control = format!("sweep-control-{}", std::process::id());
    let sampler = argv::Sampler::start(secrets.clone(), stepping.clone(), control.clone());
    let mut control_process = std::process::Command::new("sh")
        .args(["-c", "sleep 2", &control])
        .spawn()
        .expect("control process");

    let inv_path = lab.inventory_path().to_path_buf();
    let inv = inventory::load_file(&inv_path).expect("lab inventory");
    let rehearsal = Path::new("runbooks/lab-rolling-upgrade.toml");
    let loaded = runbook::load_checked(rehearsal, Some(&inv)).expect("lab runbook is valid");
    let mut seen = Seen::default();

    // The whole rehearsal, every step run and succeeding.
    let journal = dir.path().join("rehearsal.jsonl");
    let (mut d, mut inputs) = open(&loaded, &inv, &journal).await;
    let ids: Vec<String> = loaded
        .runbook
        .steps()
        .map(|(_, s)| s.id.value.clone())
        .collect();
    for id in &ids {
        let state = take(&mut d, &mut inputs, id, &stepping, &mut seen).await;
        assert!(
            matches!(state, StepState::Succeeded { .. }),
            "{id}: {state:?}"
        );
    }
    assert!(d.core.run.completed, "the rehearsal completed");
    read_session(&d, "the rehearsal", &mut seen);
    d.finish("sweep: rehearsal complete").await;
    drop(d);

    // Steps that fail quoting secrets, in a second session on the same lab.
    let failing_path = dir.path().join("failing.toml");
    std::fs::write(&failing_path, FAILING).expect("write runbook");
    let failing = runbook::load_checked(&failing_path, Some(&inv)).expect("valid runbook");
    let failing_journal = dir.path().join("failing.jsonl");
    let (mut d, mut inputs) = open(&failing, &inv, &failing_journal).await;
    for id in ["sql-signal", "sql-near", "shell-print"] {
        let state = take(&mut d, &mut inputs, id, &stepping, &mut seen).await;
        let StepState::Failed { detail } = &state else {
            panic!("{id} fails: {}", redacted(&format!("{state:?}"), &secrets));
        };
        let output: Vec<String> = d
            .core
            .output
            .get(id)
            .map(|o| o.iter().map(|(_, t)| t.clone()).collect())
            .unwrap_or_default();
        // The failures did carry the secrets, masked.
        let detail = redacted(detail, &secrets);
        match id {
            "sql-signal" => assert!(
                detail.contains("1644") && detail.contains("****"),
                "{detail}"
            ),
            "sql-near" => assert!(
                detail.contains("1064") && detail.contains("****"),
                "{detail}"
            ),
            _ => {
                let text = redacted(&output.join("\n"), &secrets);
                assert!(text.contains("repl=****"), "{text}");
                assert!(text.contains("stderr=****"), "{text}");
            }
        }
        d.command(
            Command::Skip {
                step: id.into(),
                reason: "failed on purpose".into(),
            },
            Instant::now(),
        )
        .expect("a failed step can be skipped");
    }
    read_session(&d, "the failing steps", &mut seen);
    d.finish("sweep: failing steps done").await;
    drop(d);

    let _ = control_process.wait();
    let argv = sampler.finish();

    // flightdeck's log files: this process's (at TRACE) and its children's.
    drop(log);
    let files = log_files(&logs);
    assert!(
        files.iter().any(|(_, text)| text.contains("step started")),
        "the log has the steps: {:?}",
        files.iter().map(|(name, _)| name).collect::<Vec<_>>()
    );
    for (name, text) in files {
        seen.add(format!("the log file {name}"), text);
    }
    // What flightdeck wrote and prints.
    let inv_arg = inv_path.to_string_lossy().into_owned();
    for (what, path) in [
        ("the rehearsal journal", journal.clone()),
        ("the failing steps' journal", failing_journal.clone()),
        ("the lab endpoint's log", lab.state().endpoint.log.clone()),
    ] {
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{what}: {e}"));
        seen.add(what, text);
    }
    for runbook in [rehearsal, failing_path.as_path()] {
        let rb = runbook.to_string_lossy().into_owned();
        for format in ["text", "markdown"] {
            let plan = flightdeck(&["plan", &rb, "--inventory", &inv_arg, "--format", format]);
            assert!(
                plan.contains("****"),
                "the plan shows where secrets go: {plan}"
            );
            seen.add(format!("plan --format {format} {rb}"), plan);
        }
        seen.add(
            format!("check --inventory {rb}"),
            flightdeck(&["check", &rb, "--inventory", &inv_arg]),
        );
    }

    let leaks = seen.leaks(&secrets);
    assert!(leaks.is_empty(), "secrets leaked: {leaks:#?}");
    assert!(argv.leaks.is_empty(), "secrets in argv: {:?}", argv.leaks);
    assert!(
        argv.sweeps_with_control > 0,
        "the sampler sees argv: {argv:?}"
    );
    assert!(
        argv.sweeps_during_steps > 0,
        "sampled while steps ran: {argv:?}"
    );
    assert!(
        argv.sweeps_with_sh_s > 0,
        "sampled while a shell step ran: {argv:?}"
    );
    let screens = seen
        .0
        .iter()
        .filter(|(p, _)| p.starts_with("the screen"))
        .count();
    assert!(screens > ids.len(), "a screen per step at least: {screens}");
    println!(
        "SWEEP argv_sweeps={} during_steps={} screens={screens} texts={}",
        argv.sweeps,
        argv.sweeps_during_steps,
        seen.0.len()
    );
    lab.down(true).await.expect("lab down");
}

//! The whole rehearsal: `runbooks/lab-rolling-upgrade.toml` driven from the first step to
//! the last against a lab on an older MariaDB build, through the same `RunApp::update` path
//! the keyboard uses (key messages, not a bypass), while a writer writes through the lab's
//! router. Then a crash mid-step and a resume on the journal.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use flightdeck::inventory;
use flightdeck::inventory::Inventory;
use flightdeck::lab::{BuildSpec, Lab, LabGuard, LabOptions};
use flightdeck::poll::start::PollIntervals;
use flightdeck::runbook::Loaded;
use flightdeck::runbook::{self, Action};
use flightdeck::session::run::StepState;
use flightdeck::tui::run::app::{Modal, Msg};
use flightdeck::tui::run::runtime::Input;
use flightdeck::tui::run::start::{Prepared, prepare};
use mysql_async::prelude::Queryable;

mod common;

use common::writer::{writer, writer_rows};

const STEP_DEADLINE: Duration = Duration::from_secs(180);

/// Applies every queued message (and a tick every 250 ms) until `done` holds.
async fn pump(p: &mut Prepared, what: &str, done: impl Fn(&Prepared) -> bool) {
    let begun = Instant::now();
    while !done(p) {
        assert!(
            begun.elapsed() < STEP_DEADLINE,
            "timed out waiting for {what}: {:?}",
            p.app.message
        );
        let input = tokio::select! {
            Some(i) = p.news.recv() => i,
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

fn type_text(p: &mut Prepared, text: &str) {
    for c in text.chars() {
        key(p, KeyCode::Char(c));
    }
    key(p, KeyCode::Enter);
}

/// Skips the selected step: `s`, the reason, Enter, then `y` to the last question.
fn skip(p: &mut Prepared, reason: &str) {
    key(p, KeyCode::Char('s'));
    type_text(p, reason);
    key(p, KeyCode::Char('y'));
}

/// What to do when a step's gates do not hold once it is the current step.
#[derive(Clone, Copy, PartialEq)]
enum IfBlocked {
    /// Wait for the live facts to change (a wait for MaxScale, say).
    Wait,
    /// Skip it with a typed reason.
    Skip,
}

fn runnable(p: &Prepared, id: &str) -> bool {
    let step = p.driver.core.run.runbook.step(id).expect("step");
    p.driver.core.may_run(step).is_ok()
}

/// A four-eyes step is approved by a second operator (as `flightdeck attach --approve`
/// does over the socket, in the name of another OS user; tests/pairing.rs covers that).
fn second_operator_approves(p: &mut Prepared, id: &str) {
    let step = p.driver.core.run.runbook.step(id).expect("step").clone();
    if step.second_approval && !p.driver.core.run.approved.contains_key(id) {
        let name = p
            .driver
            .core
            .confirm_name(&step)
            .unwrap_or_else(|_| id.to_string());
        let said = p
            .driver
            .approve("rehearsal-second", id, &name)
            .expect("journal");
        assert!(!said.starts_with("not approved"), "{id}: {said}");
    }
}

/// Takes step `id` with the keys an operator presses; false if it was skipped instead.
async fn take(p: &mut Prepared, id: &str, if_blocked: IfBlocked) -> bool {
    second_operator_approves(p, id);
    pump(p, &format!("{id} to be ready"), |p| {
        p.driver.core.run.current().map(|s| s.id.value.as_str()) == Some(id)
            && (if_blocked == IfBlocked::Skip || runnable(p, id))
            // Keys right after the run moved the cursor are ignored by design.
            && !p.app.guarded(Instant::now())
    })
    .await;
    key(p, KeyCode::Char('g')); // the cursor to the current step
    assert_eq!(
        p.app
            .selected_step(&p.driver.view())
            .map(|s| s.id.clone())
            .as_deref(),
        Some(id)
    );
    if !runnable(p, id) {
        skip(p, "not part of this test");
        return false;
    }
    let step = p.driver.core.run.runbook.step(id).expect("step").clone();
    match step.action {
        Action::Manual { .. } => {
            key(p, KeyCode::Char('m'));
            key(p, KeyCode::Char('y'));
        }
        Action::Note { .. } => key(p, KeyCode::Enter),
        _ => {
            key(p, KeyCode::Enter);
            key(p, KeyCode::Char('y'));
            if step.destructive {
                let Some(Modal::TypeName { expected, .. }) = p.app.modal.clone() else {
                    panic!(
                        "{id}: a destructive step asks for the name: {:?}",
                        p.app.message
                    )
                };
                type_text(p, &expected);
            }
        }
    }
    true
}

/// Waits for the step's outcome.
async fn outcome(p: &mut Prepared, id: &str) -> StepState {
    pump(p, &format!("{id} to finish"), |p| {
        !matches!(
            p.driver.core.run.state(id),
            StepState::Running { .. } | StepState::Pending
        )
    })
    .await;
    p.driver.core.run.state(id).clone()
}

/// A lab in `dir` (with its endpoint, run by the flightdeck binary) and the rehearsal
/// runbook checked against its inventory.
async fn lab_with_runbook(dir: &Path, from: BuildSpec) -> (LabGuard, Inventory, Loaded) {
    let exe = std::path::PathBuf::from(env!("CARGO_BIN_EXE_flightdeck"));
    let mut opts = LabOptions::new(dir.join("lab"));
    opts.from = from;
    opts.serve_exe = Some(exe.clone());
    opts.flightdeck_exe = Some(exe);
    let lab = match Lab::up(opts).await {
        Ok(l) => l.guard(),
        Err(e) => panic!("lab up: {e}"),
    };
    let inv = inventory::load_file(lab.inventory_path()).expect("lab inventory");
    let path = Path::new("runbooks/lab-rolling-upgrade.toml");
    let loaded = runbook::load_checked(path, Some(&inv)).expect("lab runbook is valid");
    (lab, inv, loaded)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lab_rehearsal_runs_end_to_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (lab, inv, loaded) =
        lab_with_runbook(dir.path(), BuildSpec::Version("10.11.18".into())).await;
    let journal = dir.path().join("rehearsal.jsonl");
    let mut p = prepare(
        loaded.clone(),
        inv.clone(),
        &journal,
        PollIntervals::default(),
    )
    .await
    .expect("cockpit starts");

    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let writer_task = writer(&lab, stop.clone(), written.clone());

    let ids: Vec<String> = loaded
        .runbook
        .steps()
        .map(|(_, s)| s.id.value.clone())
        .collect();
    for id in ids {
        assert!(take(&mut p, &id, IfBlocked::Wait).await);
        let state = outcome(&mut p, &id).await;
        assert!(
            matches!(state, StepState::Succeeded { .. }),
            "{id}: {state:?}\noutput: {:?}",
            p.driver.core.output.get(&id)
        );
    }
    assert!(
        p.driver.core.run.completed,
        "the last step completes the run"
    );
    assert!(p.app.show_summary, "the end of the run is a summary");
    stop.store(true, Ordering::SeqCst);
    let longest_gap = writer_task.await.expect("writer");
    p.driver.finish("rehearsal complete").await;
    drop(p);

    // Both servers on the new build, the original primary primary again, no write lost.
    for server in ["server1", "server2"] {
        let mut c = lab.connect(server, "flightdeck").await.expect("connect");
        let v: Option<String> = c.query_first("SELECT VERSION()").await.expect("version");
        assert!(
            v.unwrap_or_default().starts_with("10.11.19"),
            "{server} upgraded"
        );
    }
    let n = written.load(Ordering::SeqCst);
    assert!(n > 0, "the writer wrote through the router");
    lab.wait_caught_up("server2", Duration::from_secs(60))
        .await
        .expect("caught up");
    let (acked1, all1) = writer_rows(&lab, "server1", n).await;
    let (acked2, all2) = writer_rows(&lab, "server2", n).await;
    assert_eq!(
        (acked1, acked2),
        (n, n),
        "every acknowledged write is on both servers"
    );
    assert_eq!(all1, all2, "both servers hold the same rows");
    println!(
        "REHEARSAL writes={n} longest_write_gap_ms={}",
        longest_gap.as_millis()
    );

    // MaxScale shows the original primary as Master again and the other as a healthy Slave.
    let client = flightdeck::poll::start::maxscale_client(&inv)
        .expect("client")
        .expect("the lab has an endpoint");
    let servers = client.servers().await.expect("GET /v1/servers");
    let state = |name: &str| {
        servers
            .iter()
            .find(|s| s.id == name)
            .map(|s| s.attributes.state.raw.clone())
            .unwrap_or_default()
    };
    assert_eq!(state("server1"), "Master, Running");
    assert_eq!(state("server2"), "Slave, Running");

    // The journal replays to the same final state (every step succeeded, two switchovers
    // among them), and holds no secret.
    let replayed = flightdeck::session::replay::replay(&journal).expect("replays");
    assert!(replayed.unknown_outcomes().next().is_none());
    assert!(replayed.completed, "the journal says the run completed");
    for (_, s) in loaded.runbook.steps() {
        assert!(
            matches!(
                replayed.state(&s.id.value),
                flightdeck::session::replay::StepState::Succeeded
                    | flightdeck::session::replay::StepState::ManualDone
            ),
            "{} in the journal",
            s.id.value
        );
    }
    let switchovers = replayed
        .events
        .iter()
        .filter(|r| matches!(&r.event, flightdeck::session::journal::Event::StepStart { rendered, .. } if rendered.contains("async-switchover")))
        .count();
    assert_eq!(switchovers, 2);
    let text = std::fs::read_to_string(&journal).expect("journal");
    for secret in [
        "repl",
        "flightdeck",
        "maxscale_admin",
        "app",
        "monitor",
        "root",
    ] {
        let value = lab.secret(secret).expect("secret");
        assert!(
            !text.contains(&value),
            "secret {secret} leaked into the journal"
        );
    }
}

/// Takes steps in order until `id` has been started (confirmed), without waiting for it;
/// what cannot run on this lab's build is skipped.
async fn run_until_started(p: &mut Prepared, id: &str) {
    let order: Vec<String> = p
        .driver
        .core
        .run
        .runbook
        .steps()
        .map(|(_, s)| s.id.value.clone())
        .collect();
    for step in order {
        if !take(p, &step, IfBlocked::Skip).await {
            continue;
        }
        if step == id {
            return;
        }
        if matches!(outcome(p, &step).await, StepState::Failed { .. }) {
            pump(p, "the type-ahead guard", |p| {
                !p.app.guarded(Instant::now())
            })
            .await;
            skip(p, "failed in this lab; not part of this test");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_mid_step_resumes_with_that_step_unknown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_lab, inv, loaded) = lab_with_runbook(dir.path(), BuildSpec::Installed).await;
    let journal = dir.path().join("crash.jsonl");

    let mut p = prepare(
        loaded.clone(),
        inv.clone(),
        &journal,
        PollIntervals::default(),
    )
    .await
    .expect("cockpit starts");
    // p1-backup is a shell step (mariadb-dump): stop the process while it runs.
    run_until_started(&mut p, "p1-backup").await;
    assert!(matches!(
        p.driver.core.run.state("p1-backup"),
        StepState::Running { .. }
    ));
    let before: Vec<(String, StepState)> = p
        .driver
        .core
        .run
        .runbook
        .steps()
        .map(|(_, s)| {
            (
                s.id.value.clone(),
                p.driver.core.run.state(&s.id.value).clone(),
            )
        })
        .collect();
    p.driver.cancel.cancel();
    drop(p); // no session_end, no step_end: what a crash leaves

    let mut p = prepare(loaded, inv, &journal, PollIntervals::default())
        .await
        .expect("cockpit resumes");
    assert_eq!(p.driver.core.run.state("p1-backup"), &StepState::Unknown);
    let notice = p.app.message.clone().unwrap_or_default();
    assert!(notice.contains("p1-backup was running"), "{notice}");
    for (id, state) in before {
        match state {
            StepState::Succeeded { .. } => {
                assert!(
                    matches!(p.driver.core.run.state(&id), StepState::Succeeded { .. }),
                    "{id}"
                )
            }
            StepState::Skipped { .. } | StepState::Pending => {
                assert_eq!(
                    std::mem::discriminant(p.driver.core.run.state(&id)),
                    std::mem::discriminant(&state),
                    "{id}"
                )
            }
            _ => {}
        }
    }
    // The unknown step is never re-run without a fresh confirmation.
    key(&mut p, KeyCode::Char('g'));
    assert_eq!(
        p.app
            .selected_step(&p.driver.view())
            .map(|s| s.id.clone())
            .as_deref(),
        Some("p1-backup"),
        "the step with an unknown outcome is where the run stands"
    );
    key(&mut p, KeyCode::Enter);
    assert!(matches!(p.app.modal, Some(Modal::Confirm { .. })));
    key(&mut p, KeyCode::Char('n'));
    assert_eq!(p.driver.core.run.state("p1-backup"), &StepState::Unknown);
    p.driver.finish("test over").await;
}

/// MaxScale's state of `server` as the lab's endpoint reports it now.
async fn maxscale_state(inv: &Inventory, server: &str) -> String {
    let client = flightdeck::poll::start::maxscale_client(inv)
        .expect("client")
        .expect("the lab has an endpoint");
    match client.servers().await {
        Ok(servers) => servers
            .iter()
            .find(|s| s.id == server)
            .map(|s| s.attributes.state.raw.clone())
            .unwrap_or_default(),
        Err(e) => format!("unreachable: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_the_switchover_request_cannot_reverse_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_lab, inv, loaded) = lab_with_runbook(dir.path(), BuildSpec::Installed).await;
    let journal = dir.path().join("switchover.jsonl");
    let mut p = prepare(
        loaded.clone(),
        inv.clone(),
        &journal,
        PollIntervals::default(),
    )
    .await
    .expect("cockpit starts");
    run_until_started(&mut p, "p5-switchover").await;
    // The request is on its way; the process dies before it hears the answer.
    p.driver.cancel.cancel();
    drop(p);
    let begun = Instant::now();
    while maxscale_state(&inv, "server2").await != "Master, Running" {
        assert!(
            begun.elapsed() < STEP_DEADLINE,
            "MaxScale completes the switchover"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let mut p = prepare(loaded, inv.clone(), &journal, PollIntervals::default())
        .await
        .expect("cockpit resumes");
    assert_eq!(
        p.driver.core.run.state("p5-switchover"),
        &StepState::Unknown
    );
    pump(&mut p, "the panes to show server2 primary", |p| {
        p.driver.core.dash.primary() == Some("server2")
    })
    .await;
    key(&mut p, KeyCode::Char('g'));
    let step = p.app.selected_step(&p.driver.view()).expect("step").clone();
    assert_eq!(step.id, "p5-switchover");
    let verdict = step
        .verdict
        .expect("a switchover of unknown outcome is explained");
    assert!(verdict.contains("evidently completed"), "{verdict}");

    // Its gates are judged with the roles it started with: the server it promoted no
    // longer replicates, so a plain re-run is refused.
    key(&mut p, KeyCode::Enter);
    assert!(p.app.modal.is_none(), "{:?}", p.app.modal);
    let refusal = p.app.message.clone().unwrap_or_default();
    assert!(refusal.contains("gate does not hold"), "{refusal}");

    // Forced with a justification, the re-run repeats exactly the first request.
    key(&mut p, KeyCode::Char('o'));
    type_text(&mut p, "rehearsal: a re-run repeats the first request");
    let Some(Modal::Confirm { lines, .. }) = p.app.modal.clone() else {
        panic!(
            "the override asks to confirm: {:?} {:?}",
            p.app.modal, p.app.message
        )
    };
    let text = lines.join("\n");
    assert!(
        text.contains("Writes move from server1 to server2."),
        "{text}"
    );
    assert!(text.contains("MariaDB-Monitor&server2&server1"), "{text}");
    key(&mut p, KeyCode::Char('y'));
    let Some(Modal::TypeName { expected, .. }) = p.app.modal.clone() else {
        panic!("a switchover asks for the name: {:?}", p.app.message)
    };
    assert_eq!(expected, "server2");
    type_text(&mut p, "server2");
    let second = outcome(&mut p, "p5-switchover").await;
    p.driver.finish("test over").await;
    drop(p);

    // Whatever MaxScale answered the repeat, writes stay on server2.
    assert_eq!(
        maxscale_state(&inv, "server2").await,
        "Master, Running",
        "{second:?}"
    );
    assert_eq!(maxscale_state(&inv, "server1").await, "Slave, Running");
    let replayed = flightdeck::session::replay::replay(&journal).expect("replays");
    let starts: Vec<(Option<String>, String)> = replayed
        .events
        .iter()
        .filter_map(|r| match &r.event {
            flightdeck::session::journal::Event::StepStart {
                step,
                primary,
                rendered,
                ..
            } if step == "p5-switchover" => Some((primary.clone(), rendered.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(starts.len(), 2, "{starts:?}");
    assert_eq!(starts[0], starts[1], "both attempts sent the same request");
    assert_eq!(starts[0].0.as_deref(), Some("server1"));
    assert!(starts[0].1.contains("&server2&server1"), "{}", starts[0].1);
}

//! The session needs no screen: the whole lab rehearsal driven through the session
//! driver's commands, as a line-mode front end or a second operator's tool would drive
//! it, ends where the cockpit's rehearsal ends.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use flightdeck::inventory;
use flightdeck::lab::{BuildSpec, Lab, LabOptions};
use flightdeck::poll::start::PollIntervals;
use flightdeck::runbook::{self, Action};
use flightdeck::session::driver::{Driver, Inputs};
use flightdeck::session::run::{Command, StepState};
use mysql_async::prelude::Queryable;

const STEP_DEADLINE: Duration = Duration::from_secs(180);

/// Feeds the driver what happens (executor news, a tick with the pollers' latest
/// snapshots every 250 ms) until `done` holds.
async fn pump(d: &mut Driver, inputs: &mut Inputs, what: &str, done: impl Fn(&Driver) -> bool) {
    let begun = Instant::now();
    while !done(d) {
        assert!(
            begun.elapsed() < STEP_DEADLINE,
            "timed out waiting for {what}"
        );
        tokio::select! {
            Some(e) = inputs.exec_rx.recv() => d.exec(e, Instant::now()).expect("journal"),
            _ = tokio::time::sleep(Duration::from_millis(250)) => {
                d.refresh(&inputs.pollers, Instant::now()).expect("journal");
                d.tick(Instant::now()).expect("journal");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rehearsal_runs_through_the_driver_without_a_screen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_flightdeck"));
    let mut opts = LabOptions::new(dir.path().join("lab"));
    opts.from = BuildSpec::Version("10.11.18".into());
    opts.serve_exe = Some(exe.clone());
    opts.flightdeck_exe = Some(exe);
    let lab: Lab = Lab::up(opts).await.expect("lab up");
    let lab = lab.guard();
    let inv = inventory::load_file(lab.inventory_path()).expect("lab inventory");
    let path = Path::new("runbooks/lab-rolling-upgrade.toml");
    let loaded = runbook::load_checked(path, Some(&inv)).expect("lab runbook is valid");
    let journal = dir.path().join("headless.jsonl");
    let (mut d, mut inputs) = Driver::open(loaded.clone(), inv, &journal, PollIntervals::default())
        .await
        .expect("session opens");

    for (_, step) in loaded.runbook.steps() {
        let id = step.id.value.clone();
        if step.second_approval {
            // A second operator approves, typing what the confirmation asks.
            let name = d.core.confirm_name(step).unwrap_or_else(|_| id.clone());
            let said = d.approve("headless-second", &id, &name).expect("journal");
            assert!(!said.starts_with("not approved"), "{id}: {said}");
        }
        pump(&mut d, &mut inputs, &format!("{id} to be runnable"), |d| {
            let s = d.core.run.runbook.step(&id).expect("step");
            d.core.may_run(s).is_ok()
        })
        .await;
        let cmd = match step.action {
            Action::Manual { .. } | Action::Note { .. } => Command::Done { step: id.clone() },
            _ => Command::Run {
                step: id.clone(),
                // What the cockpit asks the operator to type, taken from the session.
                typed: step
                    .destructive
                    .then(|| d.core.confirm_name(step).expect("a name to type")),
                justification: None,
            },
        };
        d.command(cmd, Instant::now())
            .expect("the command is taken");
        pump(&mut d, &mut inputs, &format!("{id} to finish"), |d| {
            !matches!(
                d.core.run.state(&id),
                StepState::Running { .. } | StepState::Pending
            )
        })
        .await;
        let state = d.core.run.state(&id).clone();
        assert!(
            matches!(state, StepState::Succeeded { .. }),
            "{id}: {state:?}\noutput: {:?}",
            d.core.output.get(&id)
        );
    }
    assert!(d.core.run.completed, "the runbook is complete");
    d.publish();
    let view = d.view().clone();
    assert!(view.summary.is_some(), "the view carries the summary");
    assert_eq!(view.primary.as_deref(), Some("server1"));
    d.finish("headless rehearsal complete").await;

    // Where the cockpit's rehearsal ends: both servers on the new build, server1 the
    // writable primary again, and a journal that says the run completed.
    for server in ["server1", "server2"] {
        let mut c = lab.connect(server, "flightdeck").await.expect("connect");
        let v: Option<String> = c.query_first("SELECT VERSION()").await.expect("version");
        assert!(
            v.unwrap_or_default().starts_with("10.11.19"),
            "{server} upgraded"
        );
        let ro: Option<u8> = c.query_first("SELECT @@read_only").await.expect("ro");
        assert_eq!(
            ro,
            Some(u8::from(server == "server2")),
            "{server} read_only"
        );
    }
    let replayed = flightdeck::session::replay::replay(&journal).expect("replays");
    assert!(replayed.completed);
    assert!(replayed.unknown_outcomes().next().is_none());
}

//! Driving a session without a screen, as a line-mode front end would: feed the driver
//! what happens, and take a runbook's steps one after the other.

use std::time::{Duration, Instant};

use flightdeck::runbook::{Action, Step};
use flightdeck::session::driver::{Driver, Inputs};
use flightdeck::session::run::{Command, StepState};

/// How long one step may take to become runnable, and to finish.
pub const STEP_DEADLINE: Duration = Duration::from_secs(300);

/// Feeds the driver what happens (executor news, a tick with the pollers' latest
/// snapshots every 250 ms) until `done` holds.
pub async fn pump(d: &mut Driver, inputs: &mut Inputs, what: &str, done: impl Fn(&Driver) -> bool) {
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

/// Takes `step` as an operator would: a second operator approves a four-eyes step, the
/// step waits until it may run, a manual step or note is marked done, any other is run
/// (typing what a destructive step's confirmation asks); it must succeed.
pub async fn take_step(d: &mut Driver, inputs: &mut Inputs, step: &Step) {
    let id = step.id.value.clone();
    if step.second_approval {
        let name = d.core.confirm_name(step).unwrap_or_else(|_| id.clone());
        let said = d.approve("headless-second", &id, &name).expect("journal");
        assert!(!said.starts_with("not approved"), "{id}: {said}");
    }
    pump(d, inputs, &format!("{id} to be runnable"), |d| {
        let s = d.core.run.runbook.step(&id).expect("step");
        d.core.may_run(s).is_ok()
    })
    .await;
    let cmd = match step.action {
        Action::Manual { .. } | Action::Note { .. } => Command::Done { step: id.clone() },
        _ => Command::Run {
            step: id.clone(),
            typed: step
                .destructive
                .then(|| d.core.confirm_name(step).expect("a name to type")),
            justification: None,
        },
    };
    d.command(cmd, Instant::now())
        .expect("the command is taken");
    pump(d, inputs, &format!("{id} to finish"), |d| {
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

//! The session under faults, driven without a screen on a local-transport inventory (the
//! shell runs here; no database is needed): an executor that panics, a wait cancelled by
//! the operator, a command that floods its output, and outcomes journaled by kind.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::{Duration, Instant};

use flightdeck::diag::SourceFile;
use flightdeck::inventory;
use flightdeck::poll::start::PollIntervals;
use flightdeck::runbook::check_text;
use flightdeck::session::driver::{Driver, Inputs};
use flightdeck::session::journal::{Event, Outcome as Kind};
use flightdeck::session::replay::replay;
use flightdeck::session::run::{Command, StepState};

const DEADLINE: Duration = Duration::from_secs(120);

mod common;

const INVENTORY: &str = common::LOCAL_DB1;

const RUNBOOK: &str = r#"
[runbook]
name = "faults"

[[phase]]
id = "p"
title = "faults"

[[phase.step]]
id = "boom"
title = "an executor that panics"
kind = "shell"
target = "db1"
command = "true"

[[phase.step]]
id = "forever"
title = "a wait that never ends by itself"
kind = "wait"
until = "db1.up"
timeout = "1h"

[[phase.step]]
id = "flood"
title = "50 MB of output"
kind = "shell"
target = "db1"
command = "head -c 50000000 /dev/zero | tr '\\0' x | fold -w 100"

[[phase.step]]
id = "exit3"
title = "a command that fails"
kind = "shell"
target = "db1"
command = "exit 3"
"#;

async fn open(dir: &Path) -> (Driver, Inputs, std::path::PathBuf) {
    let inv = inventory::parse(&dir.join("inv.toml"), INVENTORY).expect("inventory");
    let loaded = check_text(SourceFile::new("rb.toml", RUNBOOK), Some(&inv)).expect("runbook");
    let journal = dir.join("faults.jsonl");
    let (d, inputs) = Driver::open(loaded, inv, &journal, PollIntervals::default())
        .await
        .expect("session opens");
    (d, inputs, journal)
}

fn run(step: &str) -> Command {
    Command::Run {
        step: step.into(),
        typed: None,
        justification: None,
    }
}

/// Feeds executor news and ticks until `done` holds; `each` runs between inputs (a
/// stand-in for keys arriving while the step runs). Returns how many inputs it took.
async fn pump(
    d: &mut Driver,
    inputs: &mut Inputs,
    done: impl Fn(&Driver) -> bool,
    mut each: impl FnMut(&mut Driver),
) -> usize {
    let begun = Instant::now();
    let mut n = 0;
    while !done(d) {
        assert!(begun.elapsed() < DEADLINE, "timed out");
        tokio::select! {
            Some(e) = inputs.exec_rx.recv() => d.exec(e, Instant::now()).expect("journal"),
            _ = tokio::time::sleep(Duration::from_millis(250)) => d.tick(Instant::now()).expect("journal"),
        }
        each(d);
        n += 1;
    }
    n
}

fn finished(id: &'static str) -> impl Fn(&Driver) -> bool {
    move |d| {
        !matches!(
            d.core.run.state(id),
            StepState::Running { .. } | StepState::Pending
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_end_steps_cleanly_and_are_journaled_by_kind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut d, mut inputs, journal) = open(dir.path()).await;

    // A panicking executor: the step fails, saying so, and the session goes on.
    d.executors.panic_on = Some("boom".into());
    d.command(run("boom"), Instant::now()).expect("starts");
    pump(&mut d, &mut inputs, finished("boom"), |_| {}).await;
    let StepState::Failed { detail } = d.core.run.state("boom").clone() else {
        panic!("{:?}", d.core.run.state("boom"))
    };
    assert!(detail.contains("executor panicked"), "{detail}");
    d.executors.panic_on = None;
    d.command(run("boom"), Instant::now())
        .expect("a retry runs");
    pump(&mut d, &mut inputs, finished("boom"), |_| {}).await;
    assert!(matches!(
        d.core.run.state("boom"),
        StepState::Succeeded { .. }
    ));

    // A wait (db1 is down: it would wait an hour) ends at once when cancelled.
    d.command(run("forever"), Instant::now()).expect("starts");
    assert!(matches!(
        d.core.run.state("forever"),
        StepState::Running { .. }
    ));
    d.command(
        Command::Cancel {
            step: "forever".into(),
        },
        Instant::now(),
    )
    .expect("cancel is taken");
    let StepState::Failed { detail } = d.core.run.state("forever").clone() else {
        panic!("a cancelled wait ends: {:?}", d.core.run.state("forever"))
    };
    assert!(detail.contains("cancelled"), "{detail}");
    d.command(
        Command::Skip {
            step: "forever".into(),
            reason: "db1 is down on purpose in this test".into(),
        },
        Instant::now(),
    )
    .expect("skip");

    // 50 MB of output: the session keeps taking inputs while it streams (every input
    // is applied between chunks), and the journal keeps its bounded share.
    d.command(run("flood"), Instant::now()).expect("starts");
    let mut views = 0;
    let inputs_seen = pump(&mut d, &mut inputs, finished("flood"), |d| {
        d.publish();
        views += 1;
    })
    .await;
    assert!(matches!(
        d.core.run.state("flood"),
        StepState::Succeeded { .. }
    ));
    assert!(
        inputs_seen > 10 && views == inputs_seen,
        "{inputs_seen} inputs"
    );

    // A failing command: journaled as failed, with its exit status.
    d.command(run("exit3"), Instant::now()).expect("starts");
    pump(&mut d, &mut inputs, finished("exit3"), |_| {}).await;
    d.finish("test over").await;

    let r = replay(&journal).expect("replays");
    let ends: Vec<(String, Kind, Option<i32>)> = r
        .events
        .iter()
        .filter_map(|rec| match &rec.event {
            Event::StepEnd {
                step,
                outcome,
                exit_code,
                ..
            } => Some((step.clone(), *outcome, *exit_code)),
            _ => None,
        })
        .collect();
    assert_eq!(
        ends,
        [
            ("boom".to_string(), Kind::Failed, None),
            ("boom".to_string(), Kind::Succeeded, None),
            ("forever".to_string(), Kind::Cancelled, None),
            ("flood".to_string(), Kind::Succeeded, None),
            ("exit3".to_string(), Kind::Failed, Some(3)),
        ]
    );
    let flood_output: usize = r
        .events
        .iter()
        .filter_map(|rec| match &rec.event {
            Event::Output { step, text, .. } if step == "flood" => Some(text.len()),
            _ => None,
        })
        .sum();
    assert!(
        flood_output > 60_000,
        "the journal holds the first 64 KiB: {flood_output}"
    );
    assert!(r.events.iter().any(|rec| matches!(
        &rec.event,
        Event::OutputTruncated { step, dropped_bytes } if step == "flood" && *dropped_bytes > 40_000_000
    )));
}

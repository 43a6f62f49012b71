//! The lab's MaxScale endpoint stopped (`lab ctl endpoint stop`) under the cockpit: while
//! its pane shows, the pane keeps its last known rows and says MaxScale is unreachable; a
//! `maxscale` step sent meanwhile fails with the client's error, journaled, without a hang;
//! once the endpoint is back, a retry (a fresh confirmation) succeeds. The endpoint
//! stopped while a switchover is pending leaves the step's outcome unknown, not failed.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crossterm::event::KeyCode;
use flightdeck::inventory;
use flightdeck::lab::{Action, Lab, LabGuard, LabOptions};
use flightdeck::poll::start::PollIntervals;
use flightdeck::runbook;
use flightdeck::session::journal::{Event, Outcome};
use flightdeck::session::replay::replay;
use flightdeck::session::run::StepState;
use flightdeck::tui::panes;
use flightdeck::tui::run::start::{Prepared, prepare};
use flightdeck::tui::theme::Theme;

mod common;

use common::pump::{key, pump_for, pump_until};

const RUNBOOK: &str = r#"
[runbook]
name = "faults-maxscale"

[[phase]]
id = "p"
title = "maxscale"

[[phase.step]]
id = "maintenance"
title = "Put the replica in maintenance"
kind = "maxscale"
action = "set"
server = "replica"
state = "maintenance"
timeout = "1m"
"#;

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

/// The MaxScale pane and the whole cockpit as drawn now.
fn screens(p: &Prepared) -> (String, String) {
    let now = Instant::now();
    let d = &p.driver.core.dash;
    let repl = common::draw(160, 12, |f| {
        panes::maxscale::render(f, f.area(), d, now, false, 0, &Theme::PLAIN)
    });
    let ctx = flightdeck::tui::run::view::ViewContext {
        theme: Theme::PLAIN,
    };
    let view = p.driver.view();
    let cockpit = common::draw(200, 50, |f| {
        flightdeck::tui::run::view::view(&p.app, &view, d, &ctx, f, now)
    });
    (repl, cockpit)
}

fn live(p: &Prepared, server: &str) -> bool {
    p.driver
        .core
        .dash
        .server(server)
        .is_some_and(|s| s.live().is_some())
}

fn maxscale_error(p: &Prepared) -> bool {
    p.driver
        .core
        .dash
        .maxscale
        .as_ref()
        .is_some_and(|m| m.error.is_some())
}

fn maxscale_answers(p: &Prepared) -> bool {
    p.driver
        .core
        .dash
        .maxscale
        .as_ref()
        .is_some_and(|m| m.error.is_none() && !m.servers.is_empty())
}

fn state(p: &Prepared) -> StepState {
    p.driver.core.run.state("maintenance").clone()
}

/// A lab of its own, and the cockpit on `runbook` against it, with servers and MaxScale
/// live. The journal is `DIR/run.jsonl`.
async fn cockpit_on_a_lab(dir: &Path, runbook: &str) -> (LabGuard, Prepared, PathBuf) {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_flightdeck"));
    let mut opts = LabOptions::new(dir.join("lab"));
    opts.serve_exe = Some(exe.clone());
    opts.flightdeck_exe = Some(exe);
    let lab = Lab::up(opts).await.expect("lab up").guard();
    let inv = inventory::load_file(lab.inventory_path()).expect("lab inventory");
    let rb = dir.join("runbook.toml");
    std::fs::write(&rb, runbook).expect("runbook");
    let loaded = runbook::load_checked(&rb, Some(&inv)).expect("runbook is valid");
    let journal = dir.join("run.jsonl");
    let mut p = prepare(loaded, inv, &journal, PollIntervals::default())
        .await
        .expect("cockpit starts");
    pump_until(&mut p, "servers and MaxScale live", |p| {
        live(p, "server1") && live(p, "server2") && maxscale_answers(p)
    })
    .await;
    (lab, p, journal)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_endpoint_keeps_the_last_rows_and_fails_the_step_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut lab, mut p, journal) = cockpit_on_a_lab(dir.path(), RUNBOOK).await;

    // The endpoint stopped while its pane shows: the last known rows stay, marked so,
    // with MaxScale's error; the servers' own panes are untouched.
    lab.ctl("endpoint", Action::Stop)
        .await
        .expect("stop the endpoint");
    pump_until(&mut p, "MaxScale unreachable", maxscale_error).await;
    pump_for(&mut p, Duration::from_secs(2)).await;
    let (pane, cockpit) = screens(&p);
    assert!(
        pane.contains("server1") && pane.contains("server2"),
        "{pane}"
    );
    assert!(pane.contains("last known"), "{pane}");
    assert!(pane.to_lowercase().contains("unreachable"), "{pane}");
    assert!(
        cockpit.contains("Put the replica in maintenance"),
        "{cockpit}"
    );
    assert!(live(&p, "server1") && live(&p, "server2"));

    // A maxscale step sent to the stopped endpoint fails with the client's error.
    at(&mut p, "maintenance").await;
    key(&mut p, KeyCode::Enter);
    key(&mut p, KeyCode::Char('y'));
    pump_until(&mut p, "the step to end", |p| {
        !matches!(state(p), StepState::Running { .. } | StepState::Pending)
    })
    .await;
    assert!(
        matches!(state(&p), StepState::Failed { .. }),
        "{:?}",
        state(&p)
    );
    let (_, cockpit) = screens(&p);
    assert!(
        cockpit.contains("Put the replica in maintenance"),
        "{cockpit}"
    );

    // Back: the pane answers again and a retry, confirmed afresh, succeeds.
    lab.ctl("endpoint", Action::Start)
        .await
        .expect("start the endpoint");
    pump_until(&mut p, "MaxScale answers again", maxscale_answers).await;
    at(&mut p, "maintenance").await;
    key(&mut p, KeyCode::Enter);
    key(&mut p, KeyCode::Char('y'));
    pump_until(&mut p, "the retry to succeed", |p| {
        matches!(state(p), StepState::Succeeded { .. })
    })
    .await;
    p.driver.finish("test over").await;
    drop(p);

    let r = replay(&journal).expect("the journal replays");
    let ends: Vec<Outcome> = r
        .events
        .iter()
        .filter_map(|rec| match &rec.event {
            Event::StepEnd { step, outcome, .. } if step == "maintenance" => Some(*outcome),
            _ => None,
        })
        .collect();
    assert_eq!(ends, [Outcome::Failed, Outcome::Succeeded]);
    lab.down(true).await.expect("lab down");
}

const SWITCHOVER: &str = r#"
[runbook]
name = "faults-maxscale-switchover"

[[phase]]
id = "p"
title = "switchover"

[[phase.step]]
id = "switchover"
title = "Switch writes over to the replica"
kind = "maxscale"
action = "switchover"
new_primary = "replica"
old_primary = "primary"
timeout = "1m"
rollback = "Switch back once MaxScale answers; check read_only on both servers first."
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maxscale_dying_while_a_switchover_is_pending_leaves_its_outcome_unknown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut lab, mut p, journal) = cockpit_on_a_lab(dir.path(), SWITCHOVER).await;
    let state = |p: &Prepared| p.driver.core.run.state("switchover").clone();

    // MaxScale accepted the switchover and says it is running (the lab, as mariadbmon,
    // waits 500 ms after kicking the old primary's privileged connections): then it dies.
    at(&mut p, "switchover").await;
    key(&mut p, KeyCode::Enter);
    key(&mut p, KeyCode::Char('y'));
    pump_until(&mut p, "MaxScale to report the switchover running", |p| {
        matches!(
            p.driver.core.run.state("switchover"),
            StepState::Running {
                progress: Some(_),
                ..
            }
        )
    })
    .await;
    lab.ctl("endpoint", Action::Stop)
        .await
        .expect("stop the endpoint");
    pump_until(&mut p, "the step to end", |p| {
        !matches!(state(p), StepState::Running { .. } | StepState::Pending)
    })
    .await;
    assert_eq!(state(&p), StepState::Unknown, "not failed: nobody knows");
    let (_, cockpit) = screens(&p);
    assert!(cockpit.contains("outcome unknown"), "{cockpit}");
    assert!(
        cockpit.contains("MaxScale stopped answering while the switchover was pending"),
        "{cockpit}"
    );
    p.driver.finish("test over").await;
    drop(p);

    let r = replay(&journal).expect("the journal replays");
    let ends: Vec<(Outcome, String)> = r
        .events
        .iter()
        .filter_map(|rec| match &rec.event {
            Event::StepEnd {
                step,
                outcome,
                detail,
                ..
            } if step == "switchover" => Some((*outcome, detail.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(ends.len(), 1, "{ends:?}");
    assert_eq!(ends[0].0, Outcome::Unknown, "{ends:?}");
    assert!(ends[0].1.contains("outcome unknown"), "{ends:?}");
    // A resume treats it as a step whose process died: verify, never re-run unasked.
    assert_eq!(r.unknown_outcomes().collect::<Vec<_>>(), ["switchover"]);
    lab.down(true).await.expect("lab down");
}

//! The cockpit's live data stays fresh while one server is down, and a switchover (which
//! kills the demoted primary's client connections) never shows that primary as down.
//! Driven headless through the same `Runtime::apply` the cockpit's loop uses, with a tick
//! every 250 ms as the loop does.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::{Duration, Instant};

use flightdeck::inventory;
use flightdeck::inventory::Inventory;
use flightdeck::lab::{Action, Lab, LabGuard, LabOptions};
use flightdeck::poll::PollError;
use flightdeck::poll::start::PollIntervals;
use flightdeck::runbook::condition::Fact;
use flightdeck::runbook::eval::{FactSource, FactValue};
use flightdeck::runbook::{self, Loaded};
use flightdeck::tui::panes;
use flightdeck::tui::run::start::{Prepared, prepare};
use flightdeck::tui::theme::Theme;

mod common;

use common::pump::{pump_for_each, pump_until};

/// Generous: how long a lab may take to reach a state (never a property under test).
const DEADLINE: Duration = Duration::from_secs(90);
/// The property under test: a live server is never older than this. Between steps a
/// settled replica is polled at least every 1.25 s (the primary and any server of a
/// running step every 250 ms), and the panes call a row stale from 3 s.
const FRESH: Duration = Duration::from_secs(2);

async fn lab_with_runbook(dir: &Path) -> (LabGuard, Inventory, Loaded) {
    let exe = std::path::PathBuf::from(env!("CARGO_BIN_EXE_flightdeck"));
    let mut opts = LabOptions::new(dir.join("lab"));
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

fn age(p: &Prepared, server: &str) -> Duration {
    let snap = p
        .driver
        .core
        .dash
        .server(server)
        .expect("server in the dashboard");
    snap.taken_at.elapsed()
}

/// The replication and GTID panes as the cockpit draws them now.
fn panes_text(p: &Prepared) -> (String, String) {
    let now = Instant::now();
    let d = &p.driver.core.dash;
    let repl = common::draw(120, 12, |f| {
        panes::replication::render(f, f.area(), d, now, false, 0, &Theme::PLAIN)
    });
    let gtid = common::draw(120, 5, |f| {
        panes::gtid::render(f, f.area(), d, now, false, 0, &Theme::PLAIN)
    });
    (repl, gtid)
}

fn up(p: &Prepared, server: &str) -> FactValue {
    let core = &p.driver.core;
    core.facts(&core.roles).fact(server, Fact::Up)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_dead_server_leaves_the_other_fresh_and_a_switchover_shows_no_one_down() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut lab, inv, loaded) = lab_with_runbook(dir.path()).await;
    let journal = dir.path().join("freshness.jsonl");
    let mut p = prepare(loaded, inv.clone(), &journal, PollIntervals::default())
        .await
        .expect("cockpit starts");
    pump_until(&mut p, "both servers live", |p| {
        ["server1", "server2"].iter().all(|s| {
            p.driver
                .core
                .dash
                .server(s)
                .is_some_and(|s| s.live().is_some())
        })
    })
    .await;

    // A switchover kills the old primary's client connections (the lab's endpoint does, as
    // MaxScale does): server1 must never be shown down, nor `up` be false.
    let client = flightdeck::poll::start::maxscale_client(&inv)
        .expect("client")
        .expect("the lab has an endpoint");
    let monitor = inv.maxscale.as_ref().expect("maxscale").monitor.clone();
    let switchover = tokio::spawn(async move {
        client
            .switchover(&monitor, "server2", Some("server1"))
            .await
            .map_err(|e| e.to_string())
    });
    let mut seen_errors: Vec<String> = Vec::new();
    let mut up_false = Vec::new();
    let begun = Instant::now();
    while !switchover.is_finished() {
        assert!(begun.elapsed() < DEADLINE, "switchover did not return");
        pump_for_each(&mut p, Duration::from_millis(100), |p| {
            for s in ["server1", "server2"] {
                if let Some(e) = &p.driver.core.dash.server(s).and_then(|x| x.error.clone()) {
                    seen_errors.push(format!("{s}: {e}"));
                }
                if up(p, s) == FactValue::Bool(false) {
                    up_false.push(s);
                }
            }
        })
        .await;
    }
    switchover
        .await
        .expect("switchover task")
        .expect("switchover succeeds");
    // Keep watching while the endpoint and the pollers settle.
    pump_for_each(&mut p, Duration::from_secs(2), |p| {
        for s in ["server1", "server2"] {
            if let Some(e) = &p.driver.core.dash.server(s).and_then(|x| x.error.clone()) {
                seen_errors.push(format!("{s}: {e}"));
            }
            if up(p, s) == FactValue::Bool(false) {
                up_false.push(s);
            }
        }
    })
    .await;
    assert!(
        up_false.is_empty(),
        "a switchover made `up` false for {up_false:?}; errors seen: {seen_errors:?}"
    );
    assert!(
        !seen_errors.iter().any(|e| e.contains("unreachable")),
        "a switchover showed a server as down: {seen_errors:?}"
    );
    pump_until(&mut p, "server2 primary", |p| {
        p.driver.core.dash.primary() == Some("server2")
    })
    .await;

    // Kill server2 (now the primary): it shows down, with a fresh age of its own, and
    // server1 stays fresh the whole time.
    lab.ctl("server2", Action::Kill)
        .await
        .expect("kill server2");
    pump_until(&mut p, "server2 reported down", |p| {
        p.driver
            .core
            .dash
            .server("server2")
            .is_some_and(|s| matches!(s.error, Some(PollError::Unreachable(_))))
    })
    .await;
    let mut worst = (Duration::ZERO, Duration::ZERO);
    let mut samples = 0;
    pump_for_each(&mut p, Duration::from_secs(6), |p| {
        let (a1, a2) = (age(p, "server1"), age(p, "server2"));
        worst = (worst.0.max(a1), worst.1.max(a2));
        samples += 1;
        let s2 = p.driver.core.dash.server("server2").expect("server2");
        assert!(
            matches!(s2.error, Some(PollError::Unreachable(_))),
            "server2 stays down: {:?}",
            s2.error
        );
        assert_eq!(up(p, "server2"), FactValue::Bool(false));
        assert_eq!(up(p, "server1"), FactValue::Bool(true));
        // As drawn: neither pane's title is STALE, and server2's row says DOWN with its
        // own fresh age.
        let (repl, gtid) = panes_text(p);
        for pane in [&repl, &gtid] {
            let title = pane.lines().next().unwrap_or_default();
            assert!(title.contains(" ago") && !title.contains("STALE"), "{pane}");
        }
        let row = repl
            .lines()
            .find(|l| l.contains("server2"))
            .unwrap_or_default();
        assert!(
            row.contains("DOWN") && row.contains(" ago") && !row.contains("STALE"),
            "{repl}"
        );
    })
    .await;
    println!("FRESHNESS samples={samples} worst_age server1={worst:?}");
    assert!(samples > 10, "the loop kept turning: {samples} messages");
    assert!(
        worst.0 < FRESH,
        "server1 went stale while server2 was down: {:?}",
        worst.0
    );
    assert!(
        worst.1 < FRESH,
        "server2's down row is refreshed too: {:?}",
        worst.1
    );

    p.driver.finish("test done").await;
    drop(p);
    lab.ctl("server2", Action::Start)
        .await
        .expect("start server2");
    lab.down(true).await.expect("lab down");
}

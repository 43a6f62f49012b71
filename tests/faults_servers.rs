//! Servers failing under the cockpit, on one lab, driven headless through the same
//! `Prepared::apply` path the cockpit's loop uses: the primary killed during a `wait`, the
//! replica killed during a running SQL step, replication broken by a duplicate key, a
//! server paused with SIGSTOP, and a wrong MySQL password.
//! Each case checks what the operator sees (the session view, the panes as drawn) and what
//! the journal holds; the cases run in turn because each one disturbs the lab.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::{Duration, Instant};

use crossterm::event::KeyCode;
use flightdeck::inventory;
use flightdeck::lab::{Action, Lab, LabOptions};
use flightdeck::poll::PollError;
use flightdeck::poll::start::PollIntervals;
use flightdeck::runbook;
use flightdeck::session::journal::{Event, Outcome};
use flightdeck::session::replay::replay;
use flightdeck::session::run::StepState;
use flightdeck::tui::panes;
use flightdeck::tui::run::start::{Prepared, prepare};
use flightdeck::tui::theme::Theme;
use mysql_async::prelude::Queryable;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

mod common;

use common::pump::{key, pump_for, pump_until};

/// Generous: how long a lab may take to reach a state (never a property under test).
const DEADLINE: Duration = Duration::from_secs(120);

const GUIDANCE: &str = "If the SQL thread stopped on a duplicate key, compare the row on both \
                        servers before skipping anything.";

fn runbook_text() -> String {
    format!(
        r#"
[runbook]
name = "faults-servers"

[[phase]]
id = "p"
title = "faults"

[[phase.step]]
id = "wait-read-only"
title = "Wait for the primary to be read-only"
kind = "wait"
until = "primary.read_only"
timeout = "10m"

[[phase.step]]
id = "sleep-replica"
title = "A long statement on the replica"
kind = "sql"
target = "replica"
sql = "SELECT SLEEP(300)"
timeout = "10m"

[[phase.step]]
id = "needs-replication"
title = "Needs a healthy replica"
kind = "sql"
target = "replica"
gates = ["replica.io_running and replica.sql_running"]
sql = "SELECT 1"
notes = [{{ kind = "warning", text = "{GUIDANCE}" }}]
"#
    )
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

/// The replication pane and the whole cockpit as drawn now.
fn screens(p: &Prepared) -> (String, String) {
    let now = Instant::now();
    let d = &p.driver.core.dash;
    let repl = common::draw(160, 12, |f| {
        panes::replication::render(f, f.area(), d, now, false, 0, &Theme::PLAIN)
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

fn down(p: &Prepared, server: &str) -> bool {
    p.driver
        .core
        .dash
        .server(server)
        .is_some_and(|s| matches!(s.error, Some(PollError::Unreachable(_))))
}

fn live(p: &Prepared, server: &str) -> bool {
    p.driver
        .core
        .dash
        .server(server)
        .is_some_and(|s| s.live().is_some())
}

/// A SIGSTOPped server, sent SIGCONT when dropped (also when an assertion fails).
struct Paused(Pid);

impl Drop for Paused {
    fn drop(&mut self) {
        let _ = kill(self.0, Signal::SIGCONT);
    }
}

const ONE_STEP: &str = r#"
[runbook]
name = "faults-password"

[[phase]]
id = "p"
title = "login"

[[phase.step]]
id = "select-one"
title = "A statement on the primary"
kind = "sql"
target = "primary"
sql = "SELECT 1"
"#;

async fn sql(lab: &Lab, server: &str, statement: &str) {
    let mut conn = lab.connect(server, "root").await.expect("connect as root");
    conn.query_drop(statement)
        .await
        .unwrap_or_else(|e| panic!("{server}: {statement}: {e}"));
    conn.disconnect().await.expect("disconnect");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_that_die_or_break_replication_are_shown_and_journaled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = std::path::PathBuf::from(env!("CARGO_BIN_EXE_flightdeck"));
    let mut opts = LabOptions::new(dir.path().join("lab"));
    opts.serve_exe = Some(exe.clone());
    opts.flightdeck_exe = Some(exe);
    let mut lab = Lab::up(opts).await.expect("lab up").guard();
    let inv = inventory::load_file(lab.inventory_path()).expect("lab inventory");
    let rb = dir.path().join("faults.toml");
    std::fs::write(&rb, runbook_text()).expect("runbook");
    let loaded = runbook::load_checked(Path::new(&rb), Some(&inv)).expect("runbook is valid");
    let journal = dir.path().join("faults.jsonl");
    let mut p = prepare(loaded, inv, &journal, PollIntervals::default())
        .await
        .expect("cockpit starts");
    pump_until(&mut p, "both servers live", |p| {
        live(p, "server1") && live(p, "server2")
    })
    .await;

    // 1. The primary killed during a wait: the wait keeps waiting (an unknown fact never
    //    satisfies it), the primary shows DOWN, the cockpit keeps drawing; once the
    //    primary is back and the condition holds, the wait ends.
    at(&mut p, "wait-read-only").await;
    key(&mut p, KeyCode::Enter);
    key(&mut p, KeyCode::Char('y'));
    pump_until(&mut p, "the wait running", |p| {
        matches!(
            p.driver.core.run.state("wait-read-only"),
            StepState::Running { .. }
        )
    })
    .await;
    lab.ctl("server1", Action::Kill)
        .await
        .expect("kill server1");
    pump_until(&mut p, "server1 down", |p| down(p, "server1")).await;
    for _ in 0..8 {
        pump_for(&mut p, Duration::from_millis(250)).await;
        assert!(
            matches!(
                p.driver.core.run.state("wait-read-only"),
                StepState::Running { .. }
            ),
            "the wait neither ends nor fails while the primary is down: {:?}",
            p.driver.core.run.state("wait-read-only")
        );
        let (repl, cockpit) = screens(&p);
        let row = repl.lines().find(|l| l.contains("server1")).unwrap_or("");
        assert!(row.contains("DOWN"), "{repl}");
        assert!(cockpit.contains("Wait for the primary"), "{cockpit}");
    }
    lab.ctl("server1", Action::Start)
        .await
        .expect("start server1");
    sql(&lab, "server1", "SET GLOBAL read_only = 1").await;
    pump_until(&mut p, "the wait to end", |p| {
        matches!(
            p.driver.core.run.state("wait-read-only"),
            StepState::Succeeded { .. }
        )
    })
    .await;
    sql(&lab, "server1", "SET GLOBAL read_only = 0").await;
    pump_until(&mut p, "both servers live again", |p| {
        live(p, "server1") && live(p, "server2")
    })
    .await;

    // 2. The replica killed while a statement runs on it: the step fails with the
    //    driver's words, journaled as failed; the replica's row says DOWN.
    at(&mut p, "sleep-replica").await;
    key(&mut p, KeyCode::Enter);
    key(&mut p, KeyCode::Char('y'));
    pump_until(&mut p, "the statement running", |p| {
        matches!(
            p.driver.core.run.state("sleep-replica"),
            StepState::Running { .. }
        )
    })
    .await;
    pump_for(&mut p, Duration::from_secs(1)).await;
    lab.ctl("server2", Action::Kill)
        .await
        .expect("kill server2");
    pump_until(&mut p, "the step to end", |p| {
        !matches!(
            p.driver.core.run.state("sleep-replica"),
            StepState::Running { .. }
        )
    })
    .await;
    assert!(
        matches!(
            p.driver.core.run.state("sleep-replica"),
            StepState::Failed { .. }
        ),
        "{:?}",
        p.driver.core.run.state("sleep-replica")
    );
    pump_until(&mut p, "server2 down", |p| down(p, "server2")).await;
    let (repl, _) = screens(&p);
    let row = repl.lines().find(|l| l.contains("server2")).unwrap_or("");
    assert!(row.contains("DOWN"), "{repl}");
    lab.ctl("server2", Action::Start)
        .await
        .expect("start server2");
    pump_until(&mut p, "server2 live again", |p| live(p, "server2")).await;
    // Skipped, so the run moves on (a failed step is never passed silently).
    at(&mut p, "sleep-replica").await;
    key(&mut p, KeyCode::Char('s'));
    for c in "the replica was killed on purpose".chars() {
        key(&mut p, KeyCode::Char(c));
    }
    key(&mut p, KeyCode::Enter);
    key(&mut p, KeyCode::Char('y'));

    // 3. Replication broken by a duplicate key: the replica's row shows the error, the
    //    gate refuses, and the runbook's guidance is on the step.
    sql(&lab, "server1", "CREATE TABLE app.dup (id INT PRIMARY KEY)").await;
    lab.wait_caught_up("server2", DEADLINE)
        .await
        .expect("caught up");
    sql(
        &lab,
        "server2",
        "SET SESSION sql_log_bin = 0; INSERT INTO app.dup VALUES (1)",
    )
    .await;
    sql(&lab, "server1", "INSERT INTO app.dup VALUES (1)").await;
    pump_until(&mut p, "the SQL thread stopped on 1062", |p| {
        p.driver.core.dash.server("server2").is_some_and(|s| {
            s.info.as_ref().is_some_and(|i| {
                i.replicas
                    .iter()
                    .any(|r| !r.sql_running && r.last_sql_errno == 1062)
            })
        })
    })
    .await;
    let (repl, _) = screens(&p);
    assert!(repl.contains("1062"), "{repl}");
    assert!(repl.contains("Duplicate entry"), "{repl}");
    at(&mut p, "needs-replication").await;
    key(&mut p, KeyCode::Enter);
    assert!(p.app.modal.is_none(), "no question: {:?}", p.app.modal);
    let refusal = p.app.message.clone().unwrap_or_default();
    assert!(refusal.contains("gate does not hold"), "{refusal}");
    let step = p
        .app
        .selected_step(&p.driver.view())
        .expect("a step")
        .clone();
    assert!(step.blocked.is_some(), "{:?}", step.blocked);
    assert!(
        step.notes.iter().any(|n| n.warning && n.text == GUIDANCE),
        "{:?}",
        step.notes
    );
    let (_, cockpit) = screens(&p);
    assert!(cockpit.contains("If the SQL thread stopped"), "{cockpit}");
    assert_eq!(
        p.driver.core.run.state("needs-replication"),
        &StepState::Pending
    );

    // 4. The primary paused with SIGSTOP (it accepts, never answers): each poll times out
    //    and its row says DOWN, the cockpit keeps drawing and the replica stays live;
    //    after SIGCONT the primary is live again.
    let pid = lab
        .running_pid("server1")
        .expect("server1")
        .expect("server1 runs");
    let pid = Pid::from_raw(i32::try_from(pid).expect("a pid"));
    kill(pid, Signal::SIGSTOP).expect("SIGSTOP");
    let paused = Paused(pid);
    pump_until(&mut p, "server1 timed out", |p| down(p, "server1")).await;
    for _ in 0..12 {
        pump_for(&mut p, Duration::from_millis(250)).await;
        let (repl, cockpit) = screens(&p);
        let row = repl.lines().find(|l| l.contains("server1")).unwrap_or("");
        assert!(row.contains("DOWN"), "{repl}");
        assert!(cockpit.contains("Needs a healthy replica"), "{cockpit}");
        assert!(live(&p, "server2"), "the replica stays live");
    }
    drop(paused);
    pump_until(&mut p, "server1 live after SIGCONT", |p| live(p, "server1")).await;
    p.driver.finish("test over").await;
    drop(p);

    // The journal holds every case: the wait's success, the failed statement with the
    // replica's error, the skip; and nothing started the gated step.
    let r = replay(&journal).expect("the journal replays");
    let ends: Vec<(String, Outcome)> = r
        .events
        .iter()
        .filter_map(|rec| match &rec.event {
            Event::StepEnd { step, outcome, .. } => Some((step.clone(), *outcome)),
            _ => None,
        })
        .collect();
    assert!(
        ends.contains(&("wait-read-only".into(), Outcome::Succeeded)),
        "{ends:?}"
    );
    assert!(
        ends.contains(&("sleep-replica".into(), Outcome::Failed)),
        "{ends:?}"
    );
    assert!(
        r.events
            .iter()
            .any(|rec| matches!(&rec.event, Event::Skip { step, .. } if step == "sleep-replica"))
    );
    assert!(!r.events.iter().any(
        |rec| matches!(&rec.event, Event::StepStart { step, .. } if step == "needs-replication")
    ));
    sql(
        &lab,
        "server2",
        "STOP SLAVE; SET GLOBAL sql_slave_skip_counter = 1; START SLAVE",
    )
    .await;

    // 5. A wrong MySQL password: the rows say LOGIN REFUSED (not DOWN), and a statement
    //    fails saying access denied, journaled.
    let text = std::fs::read_to_string(lab.inventory_path()).expect("inventory");
    let wrong = dir.path().join("wrong.pw");
    std::fs::write(&wrong, "wrong-secret-4711\n").expect("secret");
    std::fs::set_permissions(&wrong, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod");
    // Both MySQL users: the pollers' ([mysql]) and the operator's ([mysql.operator]).
    let wrong_line = format!(
        "password = {{ file = {} }}",
        toml::Value::String(wrong.display().to_string())
    );
    let edited: Vec<String> = text
        .lines()
        .map(|l| {
            // Not the write-availability probe's user (`flightdeck_probe`): it logs in
            // through the router only, while a probed step runs.
            if l.starts_with("password = { file = ")
                && l.contains("/secrets/flightdeck")
                && !l.contains("/secrets/flightdeck_probe")
            {
                wrong_line.clone()
            } else {
                l.to_owned()
            }
        })
        .collect();
    assert_eq!(
        edited.iter().filter(|l| **l == wrong_line).count(),
        2,
        "the pollers' and the operator's password lines"
    );
    let inv_path = dir.path().join("wrong-password.toml");
    std::fs::write(&inv_path, edited.join("\n")).expect("inventory");
    let inv = inventory::load_file(&inv_path).expect("inventory with a wrong password");
    let rb = dir.path().join("one.toml");
    std::fs::write(&rb, ONE_STEP).expect("runbook");
    let loaded = runbook::load_checked(&rb, Some(&inv)).expect("runbook is valid");
    let journal = dir.path().join("password.jsonl");
    let mut p = prepare(loaded, inv, &journal, PollIntervals::default())
        .await
        .expect("cockpit starts");
    pump_until(&mut p, "login refused", |p| {
        p.driver
            .core
            .dash
            .server("server1")
            .is_some_and(|s| matches!(s.error, Some(PollError::AccessDenied(_))))
    })
    .await;
    let (repl, _) = screens(&p);
    let row = repl.lines().find(|l| l.contains("server1")).unwrap_or("");
    assert!(row.contains("LOGIN REFUSED"), "{repl}");
    at(&mut p, "select-one").await;
    key(&mut p, KeyCode::Enter);
    if p.app.modal.is_none() {
        // Its gates cannot be judged without the primary's facts: run it anyway.
        key(&mut p, KeyCode::Char('o'));
        for c in "testing a wrong password".chars() {
            key(&mut p, KeyCode::Char(c));
        }
        key(&mut p, KeyCode::Enter);
    }
    key(&mut p, KeyCode::Char('y'));
    pump_until(&mut p, "the statement to fail", |p| {
        matches!(
            p.driver.core.run.state("select-one"),
            StepState::Failed { .. }
        )
    })
    .await;
    p.driver.finish("test over").await;
    drop(p);
    let r = replay(&journal).expect("the journal replays");
    // A login refused at connect is a failed step whose detail says so (the server's
    // error number is kept for statements, not for the connection).
    assert!(
        r.events.iter().any(|rec| matches!(&rec.event,
            Event::StepEnd { step, outcome: Outcome::Failed, detail, .. }
                if step == "select-one" && detail.contains("access denied"))),
        "{:#?}",
        r.events
    );
    lab.down(true).await.expect("lab down");
}

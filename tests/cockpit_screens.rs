//! The cockpit as an operator sees and drives it, without servers: live-looking panes at
//! 80×24, 120×40 and 200×50, what a confirmation says (a switchover names where writes
//! go), the detail pane scrolling to what long notes push down, keys typed while a step
//! finishes, and a step that keeps the targets it was started with.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use flightdeck::exec::spawn::ExecMsg;
use flightdeck::inventory;
use flightdeck::runbook::{self, roles::RoleMap};
use flightdeck::session::run::{Effect, Outcome, Record, Resolved, Run, StepState};
use flightdeck::tui::dashboard::Dashboard;
use flightdeck::tui::run::app::{Modal, Msg, RunApp, TYPE_AHEAD_GUARD};
use flightdeck::tui::run::view::{ViewContext, view};
use flightdeck::tui::theme::Theme;

mod common;

/// The seed runbook on the loopback copy of the example inventory, with `dash` live.
fn cockpit(dash: Dashboard) -> RunApp {
    let inv = inventory::load_file(Path::new("tests/fixtures/pair.toml")).expect("inventory");
    let loaded = runbook::load_checked(
        Path::new("runbooks/mariadb-10.5-to-11.4-maxscale.toml"),
        Some(&inv),
    )
    .expect("runbook");
    let mut vars = loaded.runbook.vars.clone();
    vars.extend(inv.vars.clone());
    let roles = RoleMap::from_inventory(&inv, &loaded.runbook.pins);
    let mut app = RunApp::new(
        Run::new(loaded.runbook.clone()),
        dash,
        roles,
        Arc::new(inv),
        vars,
    );
    // The snapshots arrive as the pollers would send them, so roles follow them.
    let now = Instant::now();
    for snap in app.dash.servers.clone() {
        app.update(Msg::Server(snap), now);
    }
    if let Some(m) = app.dash.maxscale.clone() {
        app.update(Msg::Maxscale(m), now);
    }
    app
}

/// As if every step before `id` had succeeded (a resumed journal restores them so), with
/// the cursor on `id`.
fn at_step(app: &mut RunApp, id: &str) {
    let ids: Vec<String> = app.steps().iter().map(|s| s.id.value.clone()).collect();
    for s in &ids {
        if s == id {
            break;
        }
        let done = StepState::Succeeded {
            detail: String::new(),
        };
        app.run.restore(s, done, 1);
    }
    app.selected = ids.iter().position(|s| s == id).expect("step");
    app.detail_scroll = 0;
}

/// The screen 100 ms after the newest snapshot, so ages in snapshots are always the same.
fn screen(app: &RunApp, w: u16, h: u16) -> String {
    let ctx = ViewContext {
        theme: Theme::PLAIN,
    };
    let newest = app.dash.servers.iter().map(|s| s.taken_at).max();
    let now = newest.map_or_else(Instant::now, |t| t + Duration::from_millis(100));
    common::draw(w, h, |f| view(app, &ctx, f, now))
}

fn press(app: &mut RunApp, code: KeyCode, now: Instant) -> Vec<Effect> {
    app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)), now)
}

fn type_text(app: &mut RunApp, text: &str, now: Instant) -> Vec<Effect> {
    let mut effects = Vec::new();
    for c in text.chars() {
        effects.extend(press(app, KeyCode::Char(c), now));
    }
    effects
}

fn modal_text(app: &RunApp) -> String {
    match &app.modal {
        Some(Modal::Confirm { lines, .. })
        | Some(Modal::TypeName { lines, .. })
        | Some(Modal::Decide { lines, .. })
        | Some(Modal::Verify { lines, .. }) => lines.join("\n"),
        other => panic!("no question with text: {other:?}"),
    }
}

#[test]
fn at_80x24_every_pane_shows_its_key_values() {
    let mut app = cockpit(common::dash::live_pair(Instant::now()));
    at_step(&mut app, "p1-version-primary");
    let text = screen(&app, 80, 24);
    for value in [
        "SELECT VERSION()", // the command of the selected step
        "server1",          // both servers, one line each
        "server2",
        "Master, Running", // MaxScale's states
        "Slave, Running",
        "? help · q quit", // the footer is not cut
    ] {
        assert!(text.contains(value), "{value} at 80×24:\n{text}");
    }
    insta::assert_snapshot!("cockpit_80x24", text);
    insta::assert_snapshot!("cockpit_120x40", screen(&app, 120, 40));
    insta::assert_snapshot!("cockpit_200x50", screen(&app, 200, 50));
}

#[test]
fn tab_cycles_the_full_panes_in_the_small_layout() {
    let mut app = cockpit(common::dash::live_pair(Instant::now()));
    at_step(&mut app, "p1-version-primary");
    let now = Instant::now();
    let mut titles = Vec::new();
    for _ in 0..4 {
        press(&mut app, KeyCode::Tab, now);
        let text = screen(&app, 80, 24);
        let title = ["Replication", "GTID", "MaxScale", "Servers"]
            .into_iter()
            .find(|t| text.contains(&format!("┌ {t} ")))
            .unwrap_or("none");
        titles.push(title);
    }
    assert_eq!(titles, ["Replication", "GTID", "MaxScale", "Servers"]);
}

#[test]
fn below_80x24_the_cockpit_says_so() {
    let app = cockpit(common::dash::live_pair(Instant::now()));
    let text = screen(&app, 79, 24);
    assert!(text.contains("needs at least 80×24"), "{text}");
    assert!(text.contains("this terminal is 79×24"), "{text}");
}

#[test]
fn the_switchover_confirmation_says_where_writes_go() {
    let mut app = cockpit(common::dash::live_pair(Instant::now()));
    at_step(&mut app, "p5-switchover");
    // The gates read the replica's lag: caught up.
    let now = Instant::now();
    let mut dash = common::dash::live_pair(now);
    dash.apply_server(common::dash::snapshot(
        "server2",
        now,
        common::dash::replica("0-1-1042", Some(0)),
    ));
    app.dash = dash;
    assert!(app.may_run(app.selected_step().expect("step")).is_ok());

    press(&mut app, KeyCode::Enter, now);
    let text = modal_text(&app);
    assert!(
        text.contains("Writes move from server1 to server2."),
        "{text}"
    );
    assert!(
        text.contains(
            "POST /v1/maxscale/modules/mariadbmon/async-switchover?MariaDB-Monitor&server2&server1"
        ),
        "{text}"
    );
    assert!(
        text.contains("maxctrl: maxctrl call command mariadbmon async-switchover"),
        "{text}"
    );
    insta::assert_snapshot!("switchover_confirm_80x24", screen(&app, 80, 24));

    // `Y` is not a bare `y`: nothing runs.
    let shifted = KeyEvent::new(KeyCode::Char('Y'), KeyModifiers::SHIFT);
    assert!(app.update(Msg::Key(shifted), now).is_empty());
    assert!(app.modal.is_none());

    press(&mut app, KeyCode::Enter, now);
    press(&mut app, KeyCode::Char('y'), now);
    let Some(Modal::TypeName { expected, .. }) = &app.modal else {
        panic!("a switchover is destructive: {:?}", app.modal)
    };
    assert_eq!(expected, "server2");
    let text = modal_text(&app);
    assert!(
        text.contains("Writes move from server1 to server2. Type `server2` (the new primary)"),
        "{text}"
    );
    insta::assert_snapshot!("switchover_type_name_80x24", screen(&app, 80, 24));
    let effects = type_text(&mut app, "server2", now);
    assert!(effects.is_empty());
    let effects = press(&mut app, KeyCode::Enter, now);
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Start { step, .. } if step == "p5-switchover")),
        "{effects:?} {:?}",
        app.message
    );
}

#[test]
fn the_detail_pane_scrolls_to_what_the_notes_push_down() {
    let mut app = cockpit(common::dash::live_pair(Instant::now()));
    at_step(&mut app, "p1-backup");
    let first = screen(&app, 80, 24);
    assert!(
        first.contains("mysqldump"),
        "the command comes first:\n{first}"
    );
    assert!(first.contains("more lines: PgDn"), "{first}");
    let now = Instant::now();
    for _ in 0..10 {
        press(&mut app, KeyCode::PageDown, now);
        screen(&app, 80, 24); // each frame tells the app how far it can scroll
    }
    let scrolled = screen(&app, 80, 24);
    assert!(scrolled.contains("↑ PgUp"), "{scrolled}");
    assert!(
        !scrolled.contains("more lines: PgDn"),
        "at the end:\n{scrolled}"
    );
    insta::assert_snapshot!("detail_scrolled_80x24", scrolled);
    app.update(Msg::Scroll(-3), now);
    assert!(app.detail_scroll < app.detail_scroll_max.get());
}

#[test]
fn typing_while_a_step_finishes_never_starts_another_action() {
    let mut app = cockpit(common::dash::live_pair(Instant::now()));
    at_step(&mut app, "p1-version-primary");
    let now = Instant::now();
    press(&mut app, KeyCode::Enter, now);
    let effects = press(&mut app, KeyCode::Char('y'), now);
    let attempt = effects
        .iter()
        .find_map(|e| match e {
            Effect::Start { attempt, .. } => Some(*attempt),
            _ => None,
        })
        .expect("the step starts");

    // The operator types a server's name while the step runs: no key acts.
    let effects = type_text(&mut app, "server2", now);
    assert!(effects.is_empty(), "{effects:?}");
    assert!(app.modal.is_none(), "{:?}", app.modal);
    assert!(press(&mut app, KeyCode::Enter, now).is_empty());

    // The step finishes and the cursor moves on; keys typed just after it are ignored.
    let finished = ExecMsg::Finished {
        step: "p1-version-primary".into(),
        attempt,
        outcome: Outcome::Succeeded("1 row".into()),
    };
    app.update(Msg::Exec(finished), now);
    assert_eq!(
        app.selected_step().map(|s| s.id.value.as_str()),
        Some("p1-version-replica")
    );
    let mut effects = type_text(&mut app, "server2", now);
    effects.extend(press(&mut app, KeyCode::Enter, now));
    assert!(effects.is_empty(), "{effects:?}");
    assert!(app.modal.is_none(), "{:?}", app.modal);
    assert_eq!(app.run.state("p1-version-replica"), &StepState::Pending);

    // The guard is brief: a deliberate key afterwards works.
    let later = now + TYPE_AHEAD_GUARD + Duration::from_millis(1);
    press(&mut app, KeyCode::Char('s'), later);
    assert!(matches!(app.modal, Some(Modal::Skip { .. })));
}

#[test]
fn a_text_field_takes_every_key_and_a_skip_is_confirmed() {
    let mut app = cockpit(common::dash::live_pair(Instant::now()));
    at_step(&mut app, "p1-version-primary");
    let now = Instant::now();
    press(&mut app, KeyCode::Char('s'), now);
    // Letters that are commands elsewhere are text here.
    assert!(type_text(&mut app, "q m o s y", now).is_empty());
    app.update(Msg::Paste("\nalready checked\n".into()), now);
    let Some(Modal::Skip { input, .. }) = &app.modal else {
        panic!("still typing: {:?}", app.modal)
    };
    assert_eq!(input.value(), "q m o s yalready checked");
    assert!(!app.quit);
    press(&mut app, KeyCode::Enter, now);
    assert!(modal_text(&app).contains("Skip p1-version-primary?"));
    let effects = press(&mut app, KeyCode::Char('y'), now);
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Record(Record::Skipped { reason, .. }) if reason == "q m o s yalready checked"
    )));

    // Ctrl-C in a question closes it; a paste never answers yes.
    let later = now + TYPE_AHEAD_GUARD * 2;
    press(&mut app, KeyCode::Char('s'), later);
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    app.update(Msg::Key(ctrl_c), later);
    assert!(app.modal.is_none());
    press(&mut app, KeyCode::Enter, later);
    assert!(matches!(app.modal, Some(Modal::Confirm { .. })));
    assert!(app.update(Msg::Paste("yes".into()), later).is_empty());
    assert!(app.modal.is_none());
    assert_eq!(app.run.state("p1-version-replica"), &StepState::Pending);
}

#[test]
fn marking_a_manual_step_done_asks_first() {
    let mut app = cockpit(common::dash::live_pair(Instant::now()));
    let manual = app
        .steps()
        .iter()
        .find(|s| matches!(s.action, flightdeck::runbook::Action::Manual { .. }))
        .map(|s| s.id.value.clone())
        .expect("the seed runbook has a manual step");
    at_step(&mut app, &manual);
    let now = Instant::now();
    app.dash = common::dash::live_pair(now);
    press(&mut app, KeyCode::Char('m'), now);
    if let Some(m) = &app.message {
        // Its gates may need facts this dashboard lacks; then m is refused, which is fine.
        assert!(m.contains("gate"), "{m}");
        return;
    }
    assert!(modal_text(&app).contains("done?"));
    assert!(press(&mut app, KeyCode::Char('n'), now).is_empty());
    assert!(!app.run.state(&manual).is_finished());
    press(&mut app, KeyCode::Char('m'), now);
    let effects = press(&mut app, KeyCode::Char('y'), now);
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Record(Record::Ended { .. })))
    );
}

/// Roles swapped: server2 is primary now, as after a switchover that completed.
fn after_switchover(now: Instant) -> Dashboard {
    let mut d = common::dash::live_pair(now);
    d.apply_server(common::dash::snapshot(
        "server1",
        now,
        common::dash::replica("0-2-7", Some(0)),
    ));
    d.apply_server(common::dash::snapshot(
        "server2",
        now,
        common::dash::primary("0-2-7"),
    ));
    d.apply_maxscale(common::dash::maxscale_swapped(now));
    d
}

#[test]
fn an_interrupted_switchover_keeps_its_targets_and_says_it_completed() {
    let now = Instant::now();
    let mut app = cockpit(after_switchover(now));
    at_step(&mut app, "p5-switchover");
    // What the journal restores: the step was started with server1 primary, then the
    // process died; MaxScale finished the switchover meanwhile.
    app.run.restore("p5-switchover", StepState::Unknown, 1);
    app.run.resolved.insert(
        "p5-switchover".into(),
        Resolved {
            primary: Some("server1".into()),
            servers: Vec::new(),
            sent: Some("POST /v1/maxscale/modules/mariadbmon/async-switchover?MariaDB-Monitor&server2&server1".into()),
        },
    );
    assert_eq!(
        app.roles.primary.as_deref(),
        Some("server2"),
        "live roles moved"
    );

    let text = screen(&app, 120, 40);
    assert!(
        text.contains("writes move from server1 to server2"),
        "{text}"
    );
    assert!(text.contains("evidently completed"), "{text}");
    assert!(
        !text.contains("&server1&server2"),
        "never the reverse:\n{text}"
    );

    // The gates are judged with the roles it started with: the "replica" it promoted no
    // longer replicates, so a re-run is refused instead of reversing the switchover.
    press(&mut app, KeyCode::Enter, now);
    assert!(app.modal.is_none(), "{:?}", app.modal);
    assert!(
        app.message
            .as_deref()
            .unwrap_or("")
            .contains("gate does not hold"),
        "{:?}",
        app.message
    );

    // Verified done, with a reason, confirmed.
    press(&mut app, KeyCode::Char('v'), now);
    assert!(modal_text(&app).contains("server2 is primary now"));
    type_text(&mut app, "maxctrl list servers: server2 Master", now);
    press(&mut app, KeyCode::Enter, now);
    let effects = press(&mut app, KeyCode::Char('y'), now);
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Record(Record::Verified { step, reason })
            if step == "p5-switchover" && reason.contains("server2 Master")
    )));
    assert!(app.run.state("p5-switchover").is_finished());
}

#[test]
fn the_end_of_a_run_is_a_summary_with_every_deviation() {
    let mut app = cockpit(common::dash::live_pair(Instant::now()));
    let ids: Vec<String> = app.steps().iter().map(|s| s.id.value.clone()).collect();
    for id in &ids {
        let done = StepState::Succeeded {
            detail: String::new(),
        };
        app.run.restore(id, done, 1);
    }
    let skipped = StepState::Skipped {
        reason: "the dump ran at 01:00 from cron".into(),
    };
    app.run.restore("p1-backup", skipped, 0);
    app.run.restore(
        "p3-stop-service",
        StepState::Succeeded {
            detail: String::new(),
        },
        2,
    );
    app.run.overrides.insert(
        "p3-stop-service".into(),
        "MaxScale maintenance set by hand".into(),
    );
    app.run.completed = true;
    app.show_summary = true;
    app.completed_at = Some(app.began + Duration::from_secs(754));
    let text = screen(&app, 80, 24);
    for expected in [
        "Runbook complete",
        "12m 34s",
        "↷ 1 Pre-checks on both servers and full backup (8/8, 1 skipped)",
        "! 3 Upgrade the replica",
        "p1-backup — skipped: the dump ran at 01:00 from cron",
    ] {
        assert!(text.contains(expected), "{expected}:\n{text}");
    }
    insta::assert_snapshot!("summary_80x24", text);
    assert!(text.contains("more lines: PgDn"), "{text}");
    let wide = screen(&app, 120, 40);
    assert!(
        wide.contains("p3-stop-service — retried: 2 attempts"),
        "{wide}"
    );
    assert!(wide.contains("p3-stop-service — overridden: MaxScale maintenance set by hand"));
}

//! The cockpit as an operator sees and drives it, without servers: live-looking panes at
//! 80×24, 120×40 and 200×50, what a confirmation says (a switchover names where writes
//! go), the detail pane scrolling to what long notes push down, keys typed while a step
//! finishes, and a step that keeps the targets it was started with.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use common::cockpit::Screen;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use flightdeck::exec::spawn::ExecMsg;
use flightdeck::session::live::Dashboard;
use flightdeck::session::run::{Effect, Outcome, Record, Resolved, StepState};
use flightdeck::tui::run::app::{Modal, TYPE_AHEAD_GUARD};

mod common;

fn modal_text(s: &Screen) -> String {
    match &s.app.modal {
        Some(Modal::Confirm { lines, .. })
        | Some(Modal::TypeName { lines, .. })
        | Some(Modal::Decide { lines, .. })
        | Some(Modal::Verify { lines, .. }) => lines.join("\n"),
        other => panic!("no question with text: {other:?}"),
    }
}

#[test]
fn at_80x24_every_pane_shows_its_key_values() {
    let mut s = Screen::seed(common::dash::live_pair(Instant::now()));
    s.at_step("p1-version-primary");
    let text = s.draw(80, 24);
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
    insta::assert_snapshot!("cockpit_120x40", s.draw(120, 40));
    insta::assert_snapshot!("cockpit_200x50", s.draw(200, 50));
}

#[test]
fn tab_cycles_the_full_panes_in_the_small_layout() {
    let mut s = Screen::seed(common::dash::live_pair(Instant::now()));
    s.at_step("p1-version-primary");
    let now = Instant::now();
    let mut titles = Vec::new();
    for _ in 0..4 {
        s.press(KeyCode::Tab, now);
        let text = s.draw(80, 24);
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
    let s = Screen::seed(common::dash::live_pair(Instant::now()));
    let text = s.draw(79, 24);
    assert!(text.contains("needs at least 80×24"), "{text}");
    assert!(text.contains("this terminal is 79×24"), "{text}");
}

#[test]
fn the_switchover_confirmation_says_where_writes_go() {
    let mut s = Screen::seed(common::dash::live_pair(Instant::now()));
    s.at_step("p5-switchover");
    // The gates read the replica's lag: caught up.
    let now = Instant::now();
    let mut dash = common::dash::live_pair(now);
    dash.apply_server(common::dash::snapshot(
        "server2",
        now,
        common::dash::replica("0-1-1042", Some(0)),
    ));
    s.live(dash);
    // Four eyes: it waits for a second operator's approval, shown as a gate.
    let waiting = s.selected().blocked.clone().expect("waits for approval");
    assert_eq!(waiting.gates, ["approved by a second operator"]);
    s.core
        .run
        .approve("p5-switchover", "bob")
        .expect("a four-eyes step");
    s.refresh(now);
    assert!(s.selected().blocked.is_none(), "{:?}", s.selected().blocked);

    s.press(KeyCode::Enter, now);
    let text = modal_text(&s);
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
    insta::assert_snapshot!("switchover_confirm_80x24", s.draw(80, 24));

    // `Y` is not a bare `y`: nothing runs.
    let shifted = KeyEvent::new(KeyCode::Char('Y'), KeyModifiers::SHIFT);
    assert!(s.event(shifted, now).is_empty());
    assert!(s.app.modal.is_none());

    s.press(KeyCode::Enter, now);
    s.press(KeyCode::Char('y'), now);
    let Some(Modal::TypeName { expected, .. }) = &s.app.modal else {
        panic!("a switchover is destructive: {:?}", s.app.modal)
    };
    assert_eq!(expected, "server2");
    let text = modal_text(&s);
    assert!(
        text.contains("Writes move from server1 to server2. Type `server2` (the new primary)"),
        "{text}"
    );
    insta::assert_snapshot!("switchover_type_name_80x24", s.draw(80, 24));
    let effects = s.type_text("server2", now);
    assert!(effects.is_empty());
    let effects = s.press(KeyCode::Enter, now);
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Start { step, .. } if step == "p5-switchover")),
        "{effects:?} {:?}",
        s.app.message
    );
}

#[test]
fn the_detail_pane_scrolls_to_what_the_notes_push_down() {
    let mut s = Screen::seed(common::dash::live_pair(Instant::now()));
    s.at_step("p1-backup");
    let first = s.draw(80, 24);
    assert!(
        first.contains("mysqldump"),
        "the command comes first:\n{first}"
    );
    assert!(first.contains("more lines: PgDn"), "{first}");
    let now = Instant::now();
    for _ in 0..10 {
        s.press(KeyCode::PageDown, now);
        s.draw(80, 24); // each frame tells the app how far it can scroll
    }
    let scrolled = s.draw(80, 24);
    assert!(scrolled.contains("↑ PgUp"), "{scrolled}");
    assert!(
        !scrolled.contains("more lines: PgDn"),
        "at the end:\n{scrolled}"
    );
    insta::assert_snapshot!("detail_scrolled_80x24", scrolled);
    s.app.scroll_detail(-3);
    assert!(s.app.detail_scroll < s.app.detail_scroll_max.get());
}

#[test]
fn typing_while_a_step_finishes_never_starts_another_action() {
    let mut s = Screen::seed(common::dash::live_pair(Instant::now()));
    s.at_step("p1-version-primary");
    let now = Instant::now();
    s.press(KeyCode::Enter, now);
    let effects = s.press(KeyCode::Char('y'), now);
    let attempt = effects
        .iter()
        .find_map(|e| match e {
            Effect::Start { attempt, .. } => Some(*attempt),
            _ => None,
        })
        .expect("the step starts");

    // The operator types a server's name while the step runs: no key acts.
    let effects = s.type_text("server2", now);
    assert!(effects.is_empty(), "{effects:?}");
    assert!(s.app.modal.is_none(), "{:?}", s.app.modal);
    assert!(s.press(KeyCode::Enter, now).is_empty());

    // The step finishes and the cursor moves on; keys typed just after it are ignored.
    let finished = ExecMsg::Finished {
        step: "p1-version-primary".into(),
        attempt,
        outcome: Outcome::Succeeded("1 row".into()),
    };
    s.core.exec(finished, now);
    s.refresh(now);
    assert_eq!(s.selected().id, "p1-version-replica");
    let mut effects = s.type_text("server2", now);
    effects.extend(s.press(KeyCode::Enter, now));
    assert!(effects.is_empty(), "{effects:?}");
    assert!(s.app.modal.is_none(), "{:?}", s.app.modal);
    assert_eq!(s.core.run.state("p1-version-replica"), &StepState::Pending);

    // The guard is brief: a deliberate key afterwards works.
    let later = now + TYPE_AHEAD_GUARD + Duration::from_millis(1);
    s.press(KeyCode::Char('s'), later);
    assert!(matches!(s.app.modal, Some(Modal::Skip { .. })));
}

#[test]
fn a_text_field_takes_every_key_and_a_skip_is_confirmed() {
    let mut s = Screen::seed(common::dash::live_pair(Instant::now()));
    s.at_step("p1-version-primary");
    let now = Instant::now();
    s.press(KeyCode::Char('s'), now);
    // Letters that are commands elsewhere are text here.
    assert!(s.type_text("q m o s y", now).is_empty());
    s.paste("\nalready checked\n", now);
    let Some(Modal::Skip { input, .. }) = &s.app.modal else {
        panic!("still typing: {:?}", s.app.modal)
    };
    assert_eq!(input.value(), "q m o s yalready checked");
    assert!(!s.app.quit);
    s.press(KeyCode::Enter, now);
    assert!(modal_text(&s).contains("Skip p1-version-primary?"));
    let effects = s.press(KeyCode::Char('y'), now);
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Record(Record::Skipped { reason, .. }) if reason == "q m o s yalready checked"
    )));

    // Ctrl-C in a question closes it; a paste never answers yes.
    let later = now + TYPE_AHEAD_GUARD * 2;
    s.press(KeyCode::Char('s'), later);
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    s.event(ctrl_c, later);
    assert!(s.app.modal.is_none());
    s.press(KeyCode::Enter, later);
    assert!(matches!(s.app.modal, Some(Modal::Confirm { .. })));
    s.paste("yes", later);
    assert!(s.app.modal.is_none());
    assert_eq!(s.core.run.state("p1-version-replica"), &StepState::Pending);
}

#[test]
fn marking_a_manual_step_done_asks_first() {
    let mut s = Screen::seed(common::dash::live_pair(Instant::now()));
    let manual = s
        .view
        .steps
        .iter()
        .find(|step| step.kind == "manual")
        .map(|step| step.id.clone())
        .expect("the seed runbook has a manual step");
    s.at_step(&manual);
    let now = Instant::now();
    s.live(common::dash::live_pair(now));
    s.press(KeyCode::Char('m'), now);
    if let Some(m) = &s.app.message {
        // Its gates may need facts this dashboard lacks; then m is refused, which is fine.
        assert!(m.contains("gate"), "{m}");
        return;
    }
    assert!(modal_text(&s).contains("done?"));
    assert!(s.press(KeyCode::Char('n'), now).is_empty());
    assert!(!s.core.run.state(&manual).is_finished());
    s.press(KeyCode::Char('m'), now);
    let effects = s.press(KeyCode::Char('y'), now);
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
    let mut s = Screen::seed(after_switchover(now));
    s.at_step("p5-switchover");
    // What the journal restores: the step was started with server1 primary, then the
    // process died; MaxScale finished the switchover meanwhile.
    s.core.run.restore("p5-switchover", StepState::Unknown, 1);
    s.core.run.resolved.insert(
        "p5-switchover".into(),
        Resolved {
            primary: Some("server1".into()),
            servers: Vec::new(),
            sent: Some("POST /v1/maxscale/modules/mariadbmon/async-switchover?MariaDB-Monitor&server2&server1".into()),
        },
    );
    assert_eq!(
        s.core.roles.primary.as_deref(),
        Some("server2"),
        "live roles moved"
    );
    s.refresh(now);

    let text = s.draw(120, 40);
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
    s.press(KeyCode::Enter, now);
    assert!(s.app.modal.is_none(), "{:?}", s.app.modal);
    assert!(
        s.app
            .message
            .as_deref()
            .unwrap_or("")
            .contains("gate does not hold"),
        "{:?}",
        s.app.message
    );

    // Verified done, with a reason, confirmed.
    s.press(KeyCode::Char('v'), now);
    assert!(modal_text(&s).contains("server2 is primary now"));
    s.type_text("maxctrl list servers: server2 Master", now);
    s.press(KeyCode::Enter, now);
    let effects = s.press(KeyCode::Char('y'), now);
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Record(Record::Verified { step, reason })
            if step == "p5-switchover" && reason.contains("server2 Master")
    )));
    assert!(s.core.run.state("p5-switchover").is_finished());
}

#[test]
fn the_end_of_a_run_is_a_summary_with_every_deviation() {
    let mut s = Screen::seed(common::dash::live_pair(Instant::now()));
    let ids: Vec<String> = s.view.steps.iter().map(|step| step.id.clone()).collect();
    for id in &ids {
        let done = StepState::Succeeded {
            detail: String::new(),
        };
        s.core.run.restore(id, done, 1);
    }
    let skipped = StepState::Skipped {
        reason: "the dump ran at 01:00 from cron".into(),
    };
    s.core.run.restore("p1-backup", skipped, 0);
    s.core.run.restore(
        "p3-stop-service@server2",
        StepState::Succeeded {
            detail: String::new(),
        },
        2,
    );
    s.core.run.overrides.insert(
        "p3-stop-service@server2".into(),
        "MaxScale maintenance set by hand".into(),
    );
    s.core.run.completed = true;
    s.core.completed_at = Some(s.core.began + Duration::from_secs(754));
    s.refresh(Instant::now());
    s.app.show_summary = true;
    let text = s.draw(80, 24);
    for expected in [
        "Runbook complete",
        "12m 34s",
        "↷ 1 Pre-checks on both servers and full backup (9/9, 1 skipped)",
        "! 3 Upgrade the replica",
        "p1-backup — skipped: the dump ran at 01:00 from cron",
    ] {
        assert!(text.contains(expected), "{expected}:\n{text}");
    }
    insta::assert_snapshot!("summary_80x24", text);
    assert!(text.contains("more lines: PgDn"), "{text}");
    let wide = s.draw(120, 40);
    assert!(
        wide.contains("p3-stop-service@server2 — retried: 2 attempts"),
        "{wide}"
    );
    assert!(
        wide.contains("p3-stop-service@server2 — overridden: MaxScale maintenance set by hand")
    );
}

#[test]
fn a_destructive_step_shows_masked_sql_and_asks_for_the_name() {
    // No server polled: gates that need them are not known to hold.
    let mut s = Screen::seed(Dashboard::new(
        &[
            ("server1".into(), "server1".into()),
            ("server2".into(), "server2".into()),
        ],
        Duration::from_millis(250),
        Duration::from_secs(1),
    ));
    let now = Instant::now();
    // The re-point step: its SQL is filled in, the replication password masked.
    let i = s
        .view
        .steps
        .iter()
        .position(|step| step.id == "p3-repoint-replica@server2")
        .expect("step");
    s.app.selected = i;
    let text = s.draw(150, 45);
    assert!(text.contains("MASTER_HOST='127.0.0.21'"), "{text}");
    assert!(text.contains("MASTER_PASSWORD='****'"), "{text}");
    assert!(
        text.contains("▾ 3 "),
        "the phase with the cursor is open:\n{text}"
    );

    // Running a step out of order is refused, and says why.
    s.press(KeyCode::Enter, now);
    assert!(s.app.modal.is_none());
    let why = s.app.message.clone().unwrap_or_default();
    assert!(why.contains("finish step p1-prereq-version first"), "{why}");

    // A destructive step, its gates overridden with a reason, then confirmed, asks for
    // the name it acts on.
    s.at_step("p3-stop-service@server2");
    s.press(KeyCode::Char('o'), now);
    s.type_text("rendering test", now);
    s.press(KeyCode::Enter, now);
    let text = modal_text(&s);
    assert!(text.contains("On: server2"), "{text}");
    assert!(
        text.contains("Overriding its gates: rendering test"),
        "{text}"
    );
    s.press(KeyCode::Char('y'), now);
    let Some(Modal::TypeName { expected, .. }) = &s.app.modal else {
        panic!(
            "a destructive step asks for the name: {:?} {:?}",
            s.app.modal, s.app.message
        )
    };
    assert_eq!(expected, "server2");
    let text = s.draw(120, 40);
    assert!(
        text.contains("Type `server2` and Enter to run it"),
        "{text}"
    );
    assert!(text.contains("▸ 1 "), "finished phases fold:\n{text}");
    insta::assert_snapshot!("cockpit_type_name_120x40", text);

    // A wrong name runs nothing.
    s.type_text("server1", now);
    assert!(s.press(KeyCode::Enter, now).is_empty());
    let why = s.app.message.clone().unwrap_or_default();
    assert!(why.contains("does not match"), "{why}");
    assert_eq!(
        s.core.run.state("p3-stop-service@server2"),
        &StepState::Pending
    );
}

#[test]
fn a_switchover_that_stopped_halfway_says_writes_go_nowhere() {
    // MaxScale died mid-switchover after setting read_only on the old primary: both
    // servers answer, neither is writable, MaxScale does not answer.
    let now = Instant::now();
    let mut d = common::dash::live_pair(now);
    let mut old_primary = common::dash::primary("0-1-7");
    old_primary.read_only = true;
    d.apply_server(common::dash::snapshot("server1", now, old_primary));
    let mut dead = common::dash::maxscale(now);
    dead.error = Some("GET /v1/servers: MaxScale refused the connection".into());
    d.apply_maxscale(dead);
    let mut s = Screen::seed(d);
    s.at_step("p5-switchover");
    s.core.run.restore("p5-switchover", StepState::Unknown, 1);
    s.refresh(now);

    let text = s.draw(200, 50);
    assert!(
        text.contains("no live server is writable now and MaxScale does not answer"),
        "{text}"
    );
    assert!(text.contains("writes go nowhere"), "{text}");
    assert!(
        text.contains("rollback:"),
        "the repair is on screen:\n{text}"
    );
}

/// The header while a probed step runs: writes OK, then failing for a while, then what
/// the probe measured once the step ended.
#[test]
fn the_header_says_what_writers_feel_during_a_switchover() {
    use flightdeck::exec::probe::{ProbeMsg, ProbeStatus};
    use flightdeck::session::journal::ProbeReport;
    use std::time::SystemTime;

    let mut s = Screen::seed(common::dash::live_pair(Instant::now()));
    s.at_step("p5-switchover");
    let status = |failing: Option<Duration>| ProbeStatus {
        step: "p5-switchover".into(),
        router: "127.0.0.1:4006".into(),
        writes_ok: 120,
        writes_failed: if failing.is_some() { 31 } else { 0 },
        writes_failing_since: failing.map(|d| SystemTime::now() - d),
        reads_failing_since: failing.map(|d| SystemTime::now() - d),
        last_error: failing.map(|_| "Lost connection to server during query".into()),
    };
    let header = |s: &Screen, w: u16| s.draw(w, 24).lines().next().unwrap_or("").to_string();

    s.core.probe(ProbeMsg::Status(status(None)));
    s.refresh(Instant::now());
    let ok = header(&s, 80);
    assert!(ok.contains("writes OK via 127.0.0.1:4006"), "{ok}");

    s.core
        .probe(ProbeMsg::Status(status(Some(Duration::from_millis(840)))));
    s.refresh(Instant::now());
    let failing = header(&s, 80);
    assert!(failing.contains("writes failing for 0.8"), "{failing}");
    assert!(failing.contains("(31 failed)"), "{failing}");
    insta::assert_snapshot!(
        "header_probe_failing_80",
        failing.replace(
            &failing[..failing.find(" (31").unwrap()],
            " writes failing for #.## s"
        )
    );

    s.core.probe(ProbeMsg::Done(ProbeReport {
        step: "p5-switchover".into(),
        attempt: 1,
        router: "127.0.0.1:4006".into(),
        duration_s: 2.4,
        writes_ok: 89,
        writes_failed: 31,
        write_unavailable_s: 1.58,
        reads_ok: 89,
        reads_failed: 31,
        read_unavailable_s: 1.58,
        first_error: Some("Lost connection to server during query".into()),
    }));
    s.refresh(Instant::now());
    let after = header(&s, 80);
    assert!(
        after.contains("last probe p5-switchover: writes unavailable 1.58 s (31 failed)"),
        "{after}"
    );
    insta::assert_snapshot!("header_probe_after_80", after);
    // The wait after the switchover is probed too and finds writes available throughout:
    // the header keeps what the switchover cost.
    s.core.probe(ProbeMsg::Done(ProbeReport {
        step: "p5-wait-switchover".into(),
        attempt: 1,
        router: "127.0.0.1:4006".into(),
        duration_s: 0.7,
        writes_ok: 36,
        writes_failed: 0,
        write_unavailable_s: 0.0,
        reads_ok: 36,
        reads_failed: 0,
        read_unavailable_s: 0.0,
        first_error: None,
    }));
    s.refresh(Instant::now());
    let kept = header(&s, 80);
    assert!(
        kept.contains("last probe p5-switchover: writes unavailable 1.58 s"),
        "{kept}"
    );
    let detail = s.draw(200, 50);
    assert!(
        detail.contains(
            "writes unavailable 1.58 s (31 failed attempts, first error: Lost connection"
        ),
        "the step's output says it whole:\n{detail}"
    );
}

/// Where the session is written: the header names the journal (and the attach command
/// that takes it), and `?` shows the journal and the log file in full, first, so they
/// fit at 80×24.
#[test]
fn the_header_and_help_say_where_the_journal_and_log_are() {
    let mut s = Screen::seed(common::dash::live_pair(Instant::now()));
    s.at_step("p1-version-primary");
    let journal = "/var/tmp/change-4711/rolling-upgrade-2026-11-27.jsonl";
    s.view.journal = journal.into();
    s.view.socket = Some(format!("{journal}.sock"));
    let wide = s.draw(200, 50);
    let header = wide.lines().next().unwrap_or("");
    assert!(header.contains(&format!("journal {journal}")), "{header}");
    assert!(
        header.contains(&format!("attach: flightdeck attach {journal}")),
        "{header}"
    );

    s.press(KeyCode::Char('?'), Instant::now());
    s.view.journal = journal.into(); // a key press rebuilds the view from the core
    let help = s.draw(80, 24);
    assert!(help.contains(&format!("journal  {journal}")), "{help}");
    // This test binary installs no log file, and the help says so.
    assert!(help.contains("log  none"), "{help}");
}

/// A `for_each` block against three servers: each repetition is a sub-phase of its own in
/// the checklist, titled with its member ("replica 2 of 2: server2"), and readable at 80
/// columns; the finished repetition folds, the one at the cursor stays open.
#[test]
fn each_repetition_is_its_own_phase_in_the_checklist() {
    let mut s = Screen::open(
        "tests/runbooks/each-replica.toml",
        "tests/fixtures/three.toml",
        common::dash::fleet(Instant::now(), 3, None),
    );
    s.at_step("install@server2");
    let titles: Vec<&str> = s.view.phases.iter().map(|p| p.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Back up",
            "Stop the replica — replica 1 of 2: server3",
            "Upgrade and restart the replica — replica 1 of 2: server3",
            "Stop the replica — replica 2 of 2: server2",
            "Upgrade and restart the replica — replica 2 of 2: server2",
            "Then the primary",
        ]
    );
    let text = s.draw(80, 24);
    assert!(text.contains("server2 (2 of 2)"), "{text}");
    insta::assert_snapshot!("for_each_checklist_80x24", text);
    insta::assert_snapshot!("for_each_checklist_120x40", s.draw(120, 40));
}

//! What the cockpit shows, rendered with TestBackend: the checklist, a step's detail with
//! its exact SQL (secret masked) and live gates, and the typed-name question.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use flightdeck::inventory;
use flightdeck::runbook::{self, roles::RoleMap};
use flightdeck::session::run::{Outcome, Run};
use flightdeck::tui::dashboard::Dashboard;
use flightdeck::tui::run::app::{Modal, Msg, RunApp};
use flightdeck::tui::run::view::{ViewContext, view};
use flightdeck::tui::theme::Theme;

mod common;

fn screen(app: &RunApp, w: u16, h: u16) -> String {
    let ctx = ViewContext {
        theme: Theme::PLAIN,
    };
    common::draw(w, h, |f| view(app, &ctx, f, Instant::now()))
}

fn key(app: &mut RunApp, code: KeyCode) {
    app.update(
        Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)),
        Instant::now(),
    );
}

#[test]
fn the_cockpit_shows_masked_sql_gates_and_asks_for_the_name() {
    let inv = inventory::load_file(Path::new("tests/fixtures/pair.toml")).expect("inventory");
    let loaded = runbook::load_checked(
        Path::new("runbooks/mariadb-10.5-to-11.4-maxscale.toml"),
        Some(&inv),
    )
    .expect("runbook");
    let mut vars = loaded.runbook.vars.clone();
    vars.extend(inv.vars.clone());
    let names: Vec<(String, String)> = inv
        .servers
        .iter()
        .map(|s| (s.name.clone(), s.maxscale_name.clone()))
        .collect();
    let dash = Dashboard::new(&names, Duration::from_millis(250), Duration::from_secs(1));
    let roles = RoleMap::from_inventory(&inv, &loaded.runbook.pins);
    let mut app = RunApp::new(
        Run::new(loaded.runbook.clone()),
        dash,
        roles,
        Arc::new(inv.clone()),
        vars,
    );

    // The re-point step: its SQL is filled in, the replication password masked; the
    // servers are not polled here, so gates that need them are not known to hold.
    let i = app
        .steps()
        .iter()
        .position(|s| s.id.value == "p3-repoint-replica")
        .expect("step");
    app.selected = i;
    let text = screen(&app, 150, 45);
    assert!(text.contains("MASTER_HOST='127.0.0.21'"), "{text}");
    assert!(text.contains("MASTER_PASSWORD='****'"), "{text}");
    assert!(
        text.contains("▾ 3 "),
        "the phase with the cursor is open:\n{text}"
    );

    // Running a step out of order is refused, and says why.
    key(&mut app, KeyCode::Enter);
    assert!(app.modal.is_none());
    assert!(
        app.message
            .as_deref()
            .unwrap_or("")
            .contains("finish step p1-prereq-version first"),
        "{:?}",
        app.message
    );

    // As if the steps before were done (a resumed journal restores them the same way),
    // a destructive step asks for the server's name.
    for id in app
        .steps()
        .iter()
        .map(|s| s.id.value.clone())
        .collect::<Vec<_>>()
    {
        if id == "p3-stop-service" {
            break;
        }
        app.run.restore(
            &id,
            flightdeck::session::run::StepState::Succeeded {
                detail: String::new(),
            },
            1,
        );
    }
    app.selected = app
        .steps()
        .iter()
        .position(|s| s.id.value == "p3-stop-service")
        .expect("step");
    // Gates read live facts: without polled servers they do not hold; override with a reason.
    key(&mut app, KeyCode::Char('o'));
    for c in "rendering test".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    // The justification leads to the confirmation, which says what runs where.
    let Some(Modal::Confirm { lines, .. }) = app.modal.clone() else {
        panic!(
            "an override asks to confirm: {:?} {:?}",
            app.modal, app.message
        )
    };
    let text = lines.join("\n");
    assert!(text.contains("On: server2"), "{text}");
    assert!(
        text.contains("Overriding its gates: rendering test"),
        "{text}"
    );
    key(&mut app, KeyCode::Char('y'));
    let Some(Modal::TypeName { expected, .. }) = app.modal.clone() else {
        panic!(
            "a destructive step asks for the name: {:?} {:?}",
            app.modal, app.message
        )
    };
    assert_eq!(expected, "server2");
    let text = screen(&app, 120, 40);
    assert!(
        text.contains("Type `server2` and Enter to run it"),
        "{text}"
    );
    assert!(text.contains("▸ 1 "), "finished phases fold:\n{text}");
    insta::assert_snapshot!("cockpit_type_name_120x40", text);

    // A wrong name runs nothing.
    for c in "server1".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    assert!(
        app.message
            .as_deref()
            .unwrap_or("")
            .contains("does not match")
    );
    assert!(
        app.run
            .finished("p3-stop-service", 1, Outcome::Succeeded(String::new()))
            .is_empty()
    );
}

//! Driving a headless cockpit ([`Prepared`]) as its loop does, for the lab tests: queued
//! news and executor messages applied in order, a tick every 250 ms, keys as typed.

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use flightdeck::tui::run::app::Msg;
use flightdeck::tui::run::runtime::Input;
use flightdeck::tui::run::start::Prepared;

/// Generous: how long a lab may take to reach a state (never a property under test).
pub const PATIENCE: Duration = Duration::from_secs(120);

/// What the cockpit's loop does for `span`: every queued message applied, a tick every
/// 250 ms. `each` sees the state after every message.
pub async fn pump_for_each(p: &mut Prepared, span: Duration, mut each: impl FnMut(&Prepared)) {
    let end = tokio::time::Instant::now() + span;
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        let msg = tokio::select! {
            biased;
            _ = tokio::time::sleep_until(end) => return,
            Some(i) = p.news.recv() => i,
            Some(e) = p.inputs.exec_rx.recv() => Input::Exec(e),
            _ = tick.tick() => Input::Tick,
        };
        p.apply(msg, Instant::now());
        each(p);
    }
}

/// As [`pump_for_each`], looking at nothing.
pub async fn pump_for(p: &mut Prepared, span: Duration) {
    pump_for_each(p, span, |_| {}).await;
}

/// Pumps until `done` holds; panics naming `what` (and the cockpit's last message) after
/// [`PATIENCE`].
pub async fn pump_until(p: &mut Prepared, what: &str, done: impl Fn(&Prepared) -> bool) {
    let begun = Instant::now();
    while !done(p) {
        assert!(
            begun.elapsed() < PATIENCE,
            "timed out waiting for {what}: {:?}",
            p.app.message
        );
        pump_for(p, Duration::from_millis(100)).await;
    }
}

/// A key as the keyboard task sends it.
pub fn key(p: &mut Prepared, code: KeyCode) {
    let msg = Msg::Key(KeyEvent::new(code, KeyModifiers::NONE));
    p.apply(Input::Ui(msg), Instant::now());
}

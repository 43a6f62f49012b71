//! Whole `watch` screens and single panes for the moments the panes must not mislead: a
//! dead MaxScale (last known rows, marked and dated, the monitor line still there), one
//! down server among healthy ones (they stay fresh), 64 servers with one broken replica
//! out of the natural order (named on top and visible in every pane, at 120×40 and at
//! 80×24), a full sparkline at 80 columns (no row wraps), and bounded scrolling.
//! Rendered with ratatui's TestBackend, without color (as with NO_COLOR).

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use flightdeck::poll::{HeartbeatLag, PollError};
use flightdeck::tui::dashboard::Dashboard;
use flightdeck::tui::panes;
use flightdeck::tui::theme::Theme;
use flightdeck::tui::watch::{Msg, Pane, WatchApp, view};

mod common;

use common::dash;

fn screen(app: &WatchApp, now: Instant, w: u16, h: u16) -> String {
    common::draw(w, h, |f| view(app, f, now, &Theme::PLAIN))
}

fn watch(d: Dashboard, w: u16, h: u16) -> WatchApp {
    let mut app = WatchApp::new(d);
    app.update(Msg::Resize(w, h));
    app
}

fn key(app: &mut WatchApp, code: KeyCode) {
    app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

/// The lines of the pane whose title starts with `title`, borders included.
fn pane<'a>(text: &'a str, title: &str) -> Vec<&'a str> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with(&format!("┌ {title} ")))
        .unwrap_or_else(|| panic!("no {title} pane\n{text}"));
    let end = lines[start..]
        .iter()
        .position(|l| l.starts_with('└'))
        .map_or(lines.len(), |e| start + e + 1);
    lines[start..end].to_vec()
}

fn has(lines: &[&str], needle: &str) -> bool {
    lines.iter().any(|l| l.contains(needle))
}

#[test]
fn a_dead_maxscale_keeps_its_last_known_rows() {
    let now = Instant::now();
    let mut d = dash::live_pair(now);
    // MaxScale answered 5 s ago; every poll since failed.
    d.apply_maxscale(dash::maxscale(now - Duration::from_secs(5)));
    let mut dead = dash::maxscale(now - Duration::from_millis(200));
    dead.error = Some(
        "GET /v1/servers: MaxScale at http://127.0.0.1:8989 refused the connection (is it \
         running?)"
            .into(),
    );
    d.apply_maxscale(dead);

    let text = common::draw(100, 7, |f| {
        panes::maxscale::render(f, f.area(), &d, now, false, 0, &Theme::PLAIN)
    });
    insta::assert_snapshot!("maxscale_dead", text);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains("MaxScale  STALE 5.0s"), "{text}");
    assert!(
        lines[1].contains("MaxScale unreachable: GET /v1/servers"),
        "{text}"
    );
    for server in ["server1", "server2"] {
        let row = lines.iter().find(|l| l.contains(server)).expect("row");
        assert!(row.contains("last known 5.0s"), "{text}");
    }
    assert!(
        has(
            &lines,
            "monitor MariaDB-Monitor: primary server1 (last known)"
        ),
        "{text}"
    );

    // The same in the cockpit's wide layout, where the pane is only as tall as the
    // servers need: the error and the monitor line stay, a row gives way and says so.
    let text = common::draw(70, 6, |f| {
        panes::maxscale::render(f, f.area(), &d, now, false, 0, &Theme::PLAIN)
    });
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[1].contains("MaxScale unreachable"), "{text}");
    assert!(lines[1].ends_with("…│"), "cut, not wrapped\n{text}");
    assert!(has(&lines, "monitor MariaDB-Monitor"), "{text}");
    assert!(lines[5].contains("+1 more"), "{text}");

    let app = watch(d, 80, 24);
    let text = screen(&app, now, 80, 24);
    insta::assert_snapshot!("watch_maxscale_dead_80x24", text);
    assert!(
        text.starts_with("2 servers · MaxScale unreachable (last known 5.0s)"),
        "{text}"
    );
}

#[test]
fn one_down_server_leaves_the_healthy_ones_fresh() {
    let now = Instant::now();
    let mut d = dash::fleet(now, 4, None);
    // server3 answered 3 s ago, and has been refusing connections since.
    let at = now - Duration::from_secs(3);
    d.apply_server(dash::snapshot(
        "server3",
        at,
        dash::replica("0-1-1040", Some(0)),
    ));
    let mut down = dash::snapshot(
        "server3",
        now - Duration::from_millis(200),
        dash::replica("0-1-1040", Some(0)),
    );
    down.error = Some(PollError::Unreachable(
        "Connection refused (os error 111)".into(),
    ));
    d.apply_server(down);
    let mut mxs = d.maxscale.clone().expect("maxscale");
    mxs.servers[2].attributes.state = flightdeck::maxscale::ServerState::parse("Down");
    d.apply_maxscale(mxs);

    let app = watch(d, 100, 24);
    let text = screen(&app, now, 100, 24);
    insta::assert_snapshot!("watch_one_down_100x24", text);
    assert!(
        text.starts_with("4 servers · 1 down (server3) · MaxScale: 1 down"),
        "{text}"
    );
    let repl = pane(&text, "Replication");
    assert!(repl[0].contains("Replication  0.1s ago"), "{text}");
    assert!(!repl[0].contains("stale"), "the DOWN news is fresh\n{text}");
    let gtid = pane(&text, "GTID");
    assert!(gtid[0].contains("GTID  0.1s ago · 1 stale"), "{text}");
    for lines in [&repl, &gtid, &pane(&text, "MaxScale")] {
        for healthy in ["server1", "server2", "server4"] {
            let row = lines.iter().find(|l| l.contains(healthy));
            if let Some(row) = row {
                assert!(
                    !row.contains("STALE") && !row.contains("last known"),
                    "{text}"
                );
            }
        }
    }
    assert!(has(
        &repl,
        "server3 DOWN  Connection refused (os error 111) · 0.2s ago"
    ));
    let server3 = gtid.iter().find(|l| l.contains("server3")).expect("row");
    assert!(server3.contains("0-1-1040 -2") && server3.contains("last known 3.0s"));
}

#[test]
fn a_broken_replica_among_64_is_named_and_visible() {
    let now = Instant::now();
    for (w, h) in [(120, 40), (80, 24)] {
        let app = watch(dash::fleet(now, 64, Some(50)), w, h);
        let text = screen(&app, now, w, h);
        insta::assert_snapshot!(format!("watch_64_servers_{w}x{h}"), text);
        assert!(
            text.starts_with(
                "64 servers · 1 replica broken (server50: SQL stopped, 1062) · MaxScale"
            ) || text.starts_with("64 servers · 1 replica broken (server50: SQL stopped, 1062)"),
            "{text}"
        );
        for title in ["Replication", "GTID", "MaxScale"] {
            let lines = pane(&text, title);
            // Problems first: the broken replica is the first row, under the header.
            assert!(lines[2].contains("server50"), "{title} at {w}x{h}\n{text}");
            let bottom = lines.last().expect("bottom border");
            assert!(bottom.contains(" more "), "{title} at {w}x{h}\n{text}");
        }
        assert!(text.lines().count() == usize::from(h), "{text}");
    }
}

#[test]
fn a_full_sparkline_at_80_columns_never_wraps() {
    let now = Instant::now();
    let mut d = dash::live_pair(now);
    // Ten minutes of heartbeat lag going up to 38 s and back while Seconds_Behind_Master
    // is NULL: the sparkline charts the heartbeat, and its header says so.
    for s in 0..600u64 {
        let mut info = dash::replica("0-1-1039", None);
        let lag = Duration::from_secs((s % 20) * 2);
        info.heartbeat_lag = Some(HeartbeatLag::Behind(lag));
        let at = now - Duration::from_millis(100);
        d.apply_server(dash::snapshot("server2", at, info));
        d.sample_lag_at(now);
    }
    let app = watch(d, 80, 24);
    let text = screen(&app, now, 80, 24);
    insta::assert_snapshot!("watch_full_sparkline_80x24", text);
    let repl = pane(&text, "Replication");
    assert!(repl[1].contains("heartbeat history"), "{text}");
    assert_eq!(
        repl.len(),
        5,
        "header, the primary's line and one row, one line each\n{text}"
    );
    let row = repl[3];
    assert!(row.contains("server2") && row.contains("38.00s"), "{text}");
    assert!(row.contains('█') && row.contains('▁'), "not flat\n{text}");
    assert!(row.ends_with('│') && row.chars().count() == 80, "{text}");
    for line in text.lines() {
        assert!(line.chars().count() <= 80, "{text}");
    }
}

#[test]
fn the_sparkline_charts_behind_without_a_heartbeat() {
    let now = Instant::now();
    let mut d = dash::live_pair(now);
    for _ in 0..30 {
        d.sample_lag_at(now);
    }
    let text = common::draw(100, 5, |f| {
        panes::replication::render(f, f.area(), &d, now, false, 0, &Theme::PLAIN)
    });
    assert!(text.contains("behind history"), "{text}");
    assert!(text.contains("2s     -         ████"), "{text}");
}

#[test]
fn scrolling_is_bounded_and_headers_stay() {
    let now = Instant::now();
    let mut app = watch(dash::fleet(now, 64, Some(50)), 80, 24);
    for (tabs, header) in [
        (0, "replica  source"),
        (1, "server   role"),
        (1, "Server   Address"),
    ] {
        for _ in 0..tabs {
            key(&mut app, KeyCode::Tab);
        }
        for _ in 0..200 {
            key(&mut app, KeyCode::Char('j'));
        }
        let at_end = app.scroll[app.focus.index()];
        assert!(at_end > 0 && at_end < 64, "bounded: {at_end}");
        let text = screen(&app, now, 80, 24);
        let title = match app.focus {
            Pane::Replication => "Replication",
            Pane::Gtid => "GTID",
            Pane::Maxscale => "MaxScale",
        };
        let lines = pane(&text, title);
        assert!(lines[1].starts_with(&format!("│{header}")), "{text}");
        assert!(lines[2].contains("server"), "never blank\n{text}");
        assert!(
            lines[lines.len() - 2].contains("server64")
                || (title == "MaxScale" && lines[lines.len() - 2].contains("monitor")),
            "the last row shows at the end\n{text}"
        );
        let bottom = lines.last().expect("bottom");
        assert!(
            bottom.contains("above") && !bottom.contains("more"),
            "{text}"
        );
        // Bounded in the state too: one `k` moves at once.
        key(&mut app, KeyCode::Char('k'));
        assert_eq!(app.scroll[app.focus.index()], at_end - 1);
        key(&mut app, KeyCode::Char('G'));
        assert_eq!(app.scroll[app.focus.index()], at_end);
    }
    insta::assert_snapshot!("watch_scrolled_to_the_end_80x24", screen(&app, now, 80, 24));
}

#[test]
fn a_healthy_pair_says_so() {
    let now = Instant::now();
    let app = watch(dash::live_pair(now), 120, 40);
    let text = screen(&app, now, 120, 40);
    assert!(text.starts_with("2 servers · all healthy"), "{text}");
    // Heights follow content: the MaxScale pane shows both servers and the monitor.
    let mxs = pane(&text, "MaxScale");
    assert_eq!(mxs.len(), 6, "{text}");
}

#[test]
fn the_cockpit_s_compact_pane_puts_a_broken_replica_first_when_not_all_fit() {
    // As the 80×24 cockpit places the pane for 64 servers: 9 rows.
    let now = Instant::now();
    let d = dash::fleet(now, 64, Some(50));
    let text = common::draw(80, 9, |f| {
        panes::compact::render(f, f.area(), &d, now, &Theme::PLAIN)
    });
    insta::assert_snapshot!("compact_fleet_of_64_80x9", text);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[1].starts_with("│server50 replica ro IO✔ SQL✘1062"),
        "{text}"
    );
    assert!(
        lines[2].contains("server1 "),
        "then inventory order\n{text}"
    );
    assert!(lines[8].contains("+57 more"), "{text}");

    // All in view: inventory order, nothing to say.
    let d = dash::fleet(now, 4, Some(3));
    let text = common::draw(80, 6, |f| {
        panes::compact::render(f, f.area(), &d, now, &Theme::PLAIN)
    });
    assert!(
        text.lines().nth(1).is_some_and(|l| l.contains("server1")),
        "{text}"
    );
}

#[test]
fn a_heartbeat_from_the_future_is_skew_not_zero_lag() {
    let now = Instant::now();
    let mut d = dash::live_pair(now);
    let mut info = dash::replica("0-1-1039", Some(0));
    info.heartbeat_lag = Some(HeartbeatLag::Skew {
        ahead: Duration::from_secs(32_394),
    });
    d.apply_server(dash::snapshot("server2", now, info));
    let text = common::draw(100, 6, |f| {
        panes::replication::render(f, f.area(), &d, now, false, 0, &Theme::PLAIN)
    });
    assert!(text.contains("skew 8h"), "{text}");
    assert!(
        text.contains("└ clock/TZ skew: heartbeat ts is 32394 s ahead"),
        "{text}"
    );
}

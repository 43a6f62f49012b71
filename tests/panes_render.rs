//! What the live panes show, for healthy, lagging, broken, down and stale servers.
//! Rendered with ratatui's TestBackend, without color (as with NO_COLOR).

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant, SystemTime};

use flightdeck::maxscale::MaxscaleServer;
use flightdeck::poll::maxscale::MaxscaleSnapshot;
use flightdeck::poll::{GtidPos, IoState, PollError, ReplicaStatus, ServerInfo, ServerSnapshot};
use flightdeck::tui::dashboard::Dashboard;
use flightdeck::tui::panes;
use flightdeck::tui::theme::Theme;

mod common;

const INTERVAL: Duration = Duration::from_millis(250);

fn gtid(s: &str) -> GtidPos {
    s.parse().expect("valid gtid")
}

fn primary_info(pos: &str) -> ServerInfo {
    ServerInfo {
        version: "10.11.19-MariaDB".into(),
        server_id: 1,
        log_bin: true,
        binlog_format: "ROW".into(),
        gtid_current_pos: gtid(pos),
        gtid_binlog_pos: gtid(pos),
        ..ServerInfo::default()
    }
}

fn replica(io: IoState, sql: bool, behind: Option<u64>, sql_error: &str) -> ReplicaStatus {
    ReplicaStatus {
        connection_name: String::new(),
        master_host: "127.0.0.1".into(),
        master_port: 3311,
        io,
        sql_running: sql,
        seconds_behind: behind,
        gtid_io_pos: gtid("0-1-30"),
        using_gtid: "Slave_Pos".into(),
        last_io_errno: 0,
        last_io_error: String::new(),
        last_sql_errno: if sql_error.is_empty() { 0 } else { 1062 },
        last_sql_error: sql_error.into(),
        sql_state: String::new(),
        master_user: String::new(),
        ssl_allowed: false,
    }
}

fn replica_info(pos: &str, r: ReplicaStatus) -> ServerInfo {
    ServerInfo {
        server_id: 2,
        read_only: true,
        gtid_current_pos: gtid(pos),
        gtid_slave_pos: gtid(pos),
        replicas: vec![r],
        ..primary_info(pos)
    }
}

fn snap(server: &str, at: Instant, info: ServerInfo, error: Option<PollError>) -> ServerSnapshot {
    ServerSnapshot {
        server: server.into(),
        taken_at: at,
        wall_time: SystemTime::UNIX_EPOCH,
        info: Some(info),
        error,
    }
}

fn dashboard(now: Instant, server1: ServerInfo, server2: ServerSnapshot) -> Dashboard {
    let names = [
        ("server1".to_string(), "server1".to_string()),
        ("server2".into(), "server2".into()),
    ];
    let mut d = Dashboard::new(&names, INTERVAL, Duration::from_secs(1));
    d.apply_server(snap(
        "server1",
        now - Duration::from_millis(100),
        server1,
        None,
    ));
    d.apply_server(server2);
    d
}

fn render(d: &Dashboard, now: Instant, pane: &str) -> String {
    common::draw(100, 7, |f| {
        let area = f.area();
        match pane {
            "replication" => panes::replication::render(f, area, d, now, false, 0, &Theme::PLAIN),
            "gtid" => panes::gtid::render(f, area, d, now, false, 0, &Theme::PLAIN),
            _ => panes::maxscale::render(f, area, d, now, false, 0, &Theme::PLAIN),
        }
    })
}

#[test]
fn healthy_pair() {
    let now = Instant::now();
    let r = replica_info("0-1-30", replica(IoState::Yes, true, Some(0), ""));
    let d = dashboard(
        now,
        primary_info("0-1-30"),
        snap("server2", now - Duration::from_millis(100), r, None),
    );
    insta::assert_snapshot!("replication_healthy", render(&d, now, "replication"));
    insta::assert_snapshot!("gtid_healthy", render(&d, now, "gtid"));
}

#[test]
fn lagging_replica() {
    let now = Instant::now();
    let r = replica_info("0-1-27", replica(IoState::Yes, true, Some(3), ""));
    let d = dashboard(
        now,
        primary_info("0-1-30"),
        snap("server2", now - Duration::from_millis(100), r, None),
    );
    let text = render(&d, now, "replication");
    assert!(text.contains("Yes        Yes 3s"), "{text}");
    insta::assert_snapshot!("gtid_lagging", render(&d, now, "gtid"));
}

#[test]
fn broken_replica_shows_the_whole_error() {
    let now = Instant::now();
    let error = "Could not execute Write_rows_v1 event on table app.dup; Duplicate entry '1' for key 'PRIMARY', Error_code: 1062";
    let r = replica_info("0-1-27", replica(IoState::Yes, false, None, error));
    let d = dashboard(
        now,
        primary_info("0-1-28"),
        snap("server2", now - Duration::from_millis(100), r, None),
    );
    insta::assert_snapshot!("replication_broken", render(&d, now, "replication"));
}

#[test]
fn server_down_and_errant_gtid() {
    let now = Instant::now();
    let r = replica_info("0-1-30,1-2-4", replica(IoState::Yes, true, Some(0), ""));
    let d = dashboard(now, primary_info("0-1-30"), snap("server2", now, r, None));
    insta::assert_snapshot!("gtid_errant", render(&d, now, "gtid"));

    let r = replica_info("0-1-30", replica(IoState::Yes, true, Some(0), ""));
    let down = snap(
        "server2",
        now - Duration::from_millis(200),
        r,
        Some(PollError::Unreachable(
            "Connection refused (os error 111)".into(),
        )),
    );
    let d = dashboard(now, primary_info("0-1-30"), down);
    insta::assert_snapshot!("replication_down", render(&d, now, "replication"));
}

#[test]
fn failures_are_told_apart_and_date_their_own_row() {
    let now = Instant::now();
    let r = replica_info("0-1-30", replica(IoState::Yes, true, Some(0), ""));
    let cases = [
        (
            PollError::Unreachable("Connection refused (os error 111)".into()),
            "DOWN  Connection refused (os error 111) · 0.2s ago",
        ),
        (
            PollError::AccessDenied("Access denied for user 'flightdeck'@'localhost'".into()),
            "LOGIN REFUSED  Access denied for user 'flightdeck'@'localhost' · 0.2s ago",
        ),
        (
            PollError::Refused("Too many connections (1040)".into()),
            "REFUSING CONNECTIONS  Too many connections (1040) · 0.2s ago",
        ),
        (
            PollError::Closed("the server closed the connection (connection closed)".into()),
            "RECONNECTING  the server closed the connection (connection closed) · 0.2s ago",
        ),
    ];
    for (error, row) in cases {
        let failed = snap(
            "server2",
            now - Duration::from_millis(200),
            r.clone(),
            Some(error),
        );
        let text = render(
            &dashboard(now, primary_info("0-1-30"), failed),
            now,
            "replication",
        );
        assert!(text.contains(&format!("server2 {row}")), "{text}");
        // The failure dates its own row; the title has the freshest row's age, the
        // primary's line (polled 0.1 s ago).
        let title = text.lines().next().unwrap_or_default();
        assert!(title.contains("Replication  0.1s ago"), "{text}");
    }

    // A down server whose poller stopped reporting is STALE on its own row only.
    let down = snap(
        "server2",
        now - Duration::from_secs(2),
        r,
        Some(PollError::Unreachable(
            "Connection refused (os error 111)".into(),
        )),
    );
    let d = dashboard(now, primary_info("0-1-30"), down);
    let text = render(&d, now, "replication");
    assert!(
        text.contains("DOWN  Connection refused (os error 111) · STALE 2.0s"),
        "{text}"
    );
    let gtid = render(&d, now, "gtid");
    assert!(
        gtid.lines()
            .next()
            .is_some_and(|l| l.contains("GTID  0.1s ago · 1 stale")),
        "{gtid}"
    );
    // Its positions are last known, of an age this dashboard never saw.
    assert!(gtid.contains("last known"), "{gtid}");
}

#[test]
fn stale_data_is_marked() {
    let now = Instant::now();
    let r = replica_info("0-1-30", replica(IoState::Yes, true, Some(0), ""));
    let old = now - Duration::from_secs(5);
    let d = dashboard(now, primary_info("0-1-30"), snap("server2", old, r, None));
    let text = render(&d, now, "replication");
    // The primary's line is fresh; the replica's row is the stale one, and says so.
    assert!(
        text.lines()
            .next()
            .is_some_and(|l| l.contains("0.1s ago · 1 stale")),
        "{text}"
    );
    assert!(text.contains("last known 5.0s"), "{text}");
}

#[test]
fn maxscale_list_from_a_real_sample() {
    let now = Instant::now();
    let body = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/maxscale/samples/120_get_server2_dup_key_error.json"
    ));
    let Ok(body) = body else {
        eprintln!("samples absent; skipping");
        return;
    };
    let doc: serde_json::Value = serde_json::from_str(&body).expect("json");
    let server2: MaxscaleServer = serde_json::from_value(doc["data"].clone()).expect("parses");
    let r = replica_info("0-1-30", replica(IoState::Yes, true, Some(0), ""));
    let mut d = dashboard(now, primary_info("0-1-30"), snap("server2", now, r, None));
    d.apply_maxscale(MaxscaleSnapshot {
        taken_at: now,
        wall_time: SystemTime::UNIX_EPOCH,
        servers: vec![server2],
        monitor_master: Some("server1".into()),
        monitor: "MariaDB-Monitor".into(),
        error: None,
        said_no: false,
        polled: true,
    });
    insta::assert_snapshot!("maxscale_broken_replica", render(&d, now, "maxscale"));
}

fn render_watch(app: &flightdeck::tui::watch::WatchApp, now: Instant, w: u16, h: u16) -> String {
    common::draw(w, h, |f| {
        flightdeck::tui::watch::view(app, f, now, &Theme::PLAIN)
    })
}

#[test]
fn watch_screen_at_80x24_and_wide_with_help() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use flightdeck::tui::watch::{Msg, Pane, WatchApp};

    let now = Instant::now();
    let r = replica_info("0-1-28", replica(IoState::Yes, true, Some(2), ""));
    let d = dashboard(now, primary_info("0-1-30"), snap("server2", now, r, None));
    let mut app = WatchApp::new(d);
    for _ in 0..3 {
        app.update(Msg::Tick);
    }
    insta::assert_snapshot!("watch_80x24", render_watch(&app, now, 80, 24));

    let key = |c| Msg::Key(KeyEvent::new(c, KeyModifiers::NONE));
    assert!(app.update(key(KeyCode::Tab)));
    assert_eq!(app.focus, Pane::Gtid);
    app.update(key(KeyCode::Char('?')));
    assert!(app.help);
    insta::assert_snapshot!("watch_120x30_help", render_watch(&app, now, 120, 30));
    app.update(key(KeyCode::Char('q')));
    assert!(!app.help && !app.quit, "q closes the help first");
    app.update(key(KeyCode::Char('q')));
    assert!(app.quit);
}

#[test]
fn a_monitor_that_names_no_primary_says_so() {
    // After a switchover that died halfway every server is read-only and the monitor
    // names no primary: the pane must not read as if all were well.
    let now = Instant::now();
    let r = replica_info("0-1-30", replica(IoState::Yes, true, Some(0), ""));
    let mut d = dashboard(now, primary_info("0-1-30"), snap("server2", now, r, None));
    let mut m = common::dash::maxscale(now);
    m.monitor_master = None;
    d.apply_maxscale(m);
    let screen = render(&d, now, "maxscale");
    assert!(screen.contains(": no primary"), "{screen}");
    assert!(!screen.contains("primary none"), "{screen}");

    // Repaired by hand, MaxScale shows every server `Slave, Running`: the last primary is
    // not kept, even though server1 still looks writable to its poller.
    let mut m = common::dash::maxscale(now);
    let body = include_str!("fixtures/maxscale_get_servers.json")
        .replace("Master, Running", "Slave, Running");
    let doc: serde_json::Value = serde_json::from_str(&body).expect("json");
    m.servers = serde_json::from_value(doc["data"].clone()).expect("parses");
    m.monitor_master = None;
    d.apply_maxscale(m);
    assert_eq!(d.primary(), None, "MaxScale names no primary");
    let summary = common::draw(100, 1, |f| {
        let line = panes::summary::line(&d, now, 100, &Theme::PLAIN);
        f.render_widget(ratatui::widgets::Paragraph::new(line), f.area());
    });
    assert!(summary.contains("no primary"), "{summary}");
    let gtid = render(&d, now, "gtid");
    assert!(
        !gtid.contains("primary"),
        "no server is marked primary:\n{gtid}"
    );
}

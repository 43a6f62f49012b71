//! The compact servers pane: one line per server with every essential value (role,
//! read_only, IO/SQL, lag, heartbeat lag, GTID behind, MaxScale state) inside the 78
//! columns a border leaves of an 80-column cockpit, 4 rows high for two servers.
//! Rendered with ratatui's TestBackend, without color (as with NO_COLOR), except where a
//! test checks the styles.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant, SystemTime};

use flightdeck::maxscale::{MaxscaleServer, ServerState};
use flightdeck::poll::maxscale::MaxscaleSnapshot;
use flightdeck::poll::{
    GtidPos, HeartbeatLag, IoState, PollError, ReplicaStatus, ServerInfo, ServerSnapshot,
};
use flightdeck::tui::dashboard::Dashboard;
use flightdeck::tui::panes;
use flightdeck::tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

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
        heartbeat_lag: Some(HeartbeatLag::Behind(Duration::from_millis(20))),
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
        gtid_io_pos: gtid("0-1-1042"),
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

fn replica_info(pos: &str, r: ReplicaStatus, heartbeat_ms: u64) -> ServerInfo {
    ServerInfo {
        server_id: 2,
        read_only: true,
        gtid_current_pos: gtid(pos),
        gtid_binlog_pos: gtid(pos),
        gtid_slave_pos: gtid(pos),
        replicas: vec![r],
        heartbeat_lag: Some(HeartbeatLag::Behind(Duration::from_millis(heartbeat_ms))),
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

fn mxs_server(id: &str, state: &str) -> MaxscaleServer {
    let mut s = MaxscaleServer {
        id: id.into(),
        kind: "servers".into(),
        ..MaxscaleServer::default()
    };
    s.attributes.state = ServerState::parse(state);
    s
}

/// server1 (primary at `primary_pos`) and `server2`, with MaxScale reporting `states`.
fn dashboard(
    now: Instant,
    primary_pos: &str,
    server2: ServerSnapshot,
    states: [&str; 2],
) -> Dashboard {
    let at = now - Duration::from_millis(200);
    let server1 = snap("server1", at, primary_info(primary_pos), None);
    pair(now, server1, server2, states)
}

/// `server1` and `server2`, with MaxScale reporting `states`.
fn pair(
    now: Instant,
    server1: ServerSnapshot,
    server2: ServerSnapshot,
    states: [&str; 2],
) -> Dashboard {
    let names = [
        ("server1".to_string(), "server1".to_string()),
        ("server2".into(), "server2".into()),
    ];
    let mut d = Dashboard::new(&names, INTERVAL, Duration::from_secs(1));
    let at = now - Duration::from_millis(200);
    d.apply_server(server1);
    d.apply_server(server2);
    d.apply_maxscale(MaxscaleSnapshot {
        taken_at: at,
        wall_time: SystemTime::UNIX_EPOCH,
        servers: vec![
            mxs_server("server1", states[0]),
            mxs_server("server2", states[1]),
        ],
        monitor_master: Some("server1".into()),
        monitor: "MariaDB-Monitor".into(),
        error: None,
        said_no: false,
        polled: true,
    });
    d
}

fn healthy_replica(now: Instant) -> ServerSnapshot {
    let r = replica_info("0-1-1042", replica(IoState::Yes, true, Some(0), ""), 120);
    snap("server2", now - Duration::from_millis(200), r, None)
}

fn draw(d: &Dashboard, now: Instant, w: u16, theme: Theme) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(w, 4)).expect("test terminal");
    term.draw(|f| panes::compact::render(f, f.area(), d, now, &theme))
        .expect("draws");
    term.backend().buffer().clone()
}

/// The pane as the 80×24 cockpit places it: 80 wide, so 78 columns inside the border.
fn render(d: &Dashboard, now: Instant) -> String {
    common::screen_text(&draw(d, now, 80, Theme::PLAIN))
}

/// The line of `server`, and the style of the first cell showing `needle` on it.
fn style_of(buf: &Buffer, server: &str, needle: &str) -> ratatui::style::Style {
    let text = common::screen_text(buf);
    let (y, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains(server))
        .expect("server's line");
    let col = line[..line.find(needle).expect("needle on the line")]
        .chars()
        .count();
    buf[(col as u16, y as u16)].style()
}

#[test]
fn healthy_pair_at_80_columns() {
    let now = Instant::now();
    let d = dashboard(
        now,
        "0-1-1042",
        healthy_replica(now),
        ["Master, Running", "Slave, Running"],
    );
    let text = render(&d, now);
    insta::assert_snapshot!("healthy_80x4", text);
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
    assert!(
        text.contains("0.2s ago"),
        "title shows the data's age\n{text}"
    );
    let server1 = text.lines().nth(1).expect("server1");
    let server2 = text.lines().nth(2).expect("server2");
    for want in [
        "server1",
        "PRIMARY",
        "rw",
        "gtid 0-1-1042",
        "Master, Running",
    ] {
        assert!(server1.contains(want), "{want}\n{text}");
    }
    for want in [
        "server2",
        "replica",
        "ro",
        "IO✔ SQL✔",
        "lag 0s",
        "hb 0.1s",
        "behind 0",
        "Slave, Running",
    ] {
        assert!(server2.contains(want), "{want}\n{text}");
    }
}

#[test]
fn sql_thread_stopped_with_an_error() {
    let now = Instant::now();
    let error = "Could not execute Write_rows_v1 event on table app.dup; Duplicate entry '1' for key 'PRIMARY', Error_code: 1062";
    let r = replica_info("0-1-1041", replica(IoState::Yes, false, None, error), 3000);
    let server2 = snap("server2", now - Duration::from_millis(200), r, None);
    let d = dashboard(now, "0-1-1042", server2, ["Master, Running", "Running"]);
    let text = render(&d, now);
    insta::assert_snapshot!("sql_stopped_80x4", text);
    assert!(
        text.contains("IO✔ SQL✘1062"),
        "the errno follows the mark\n{text}"
    );
    assert!(text.contains("lag ?"), "NULL lag is unknown, not 0\n{text}");
    assert!(text.contains("behind 1"), "{text}");

    let buf = draw(&d, now, 80, Theme { color: true });
    assert_eq!(style_of(&buf, "server2", "✘").fg, Some(Color::Red));
    assert_eq!(style_of(&buf, "server2", "?").fg, Some(Color::Red));
    assert_eq!(style_of(&buf, "server2", "1062").fg, Some(Color::Red));
    // Running but neither Master nor Slave: MaxScale says replication is broken.
    assert_eq!(style_of(&buf, "server2", "Running").fg, Some(Color::Red));
}

#[test]
fn lagging_replica() {
    let now = Instant::now();
    let r = replica_info(
        "0-1-1035",
        replica(IoState::Yes, true, Some(12), ""),
        12_400,
    );
    let server2 = snap("server2", now - Duration::from_millis(200), r, None);
    let d = dashboard(
        now,
        "0-1-1042",
        server2,
        ["Master, Running", "Slave, Running"],
    );
    let text = render(&d, now);
    insta::assert_snapshot!("lagging_80x4", text);
    for want in ["lag 12s", "hb 12s", "behind 7"] {
        assert!(text.contains(want), "{want}\n{text}");
    }
    let buf = draw(&d, now, 80, Theme { color: true });
    assert_eq!(style_of(&buf, "server2", "12s").fg, Some(Color::Yellow));
    assert_eq!(style_of(&buf, "server2", "7 ").fg, Some(Color::Yellow));
}

/// server2, last polled `age` ago, failed with `error`; server1 the healthy primary.
fn failed_replica(now: Instant, age: Duration, error: PollError, state: &str) -> Dashboard {
    let r = replica_info("0-1-1042", replica(IoState::Yes, true, Some(0), ""), 100);
    let failed = snap("server2", now - age, r, Some(error));
    dashboard(now, "0-1-1042", failed, ["Master, Running", state])
}

/// The line of `server` in `text`.
fn line_of<'a>(text: &'a str, server: &str) -> &'a str {
    text.lines()
        .find(|l| l.contains(server))
        .expect("server's line")
}

/// A failed server's line: what failed, the driver's words and the age of that news,
/// and no last-known value as if it were live.
fn assert_failed(text: &str, server: &str, wants: &[&str]) {
    let line = line_of(text, server);
    for want in wants {
        assert!(line.contains(want), "{want}\n{text}");
    }
    for gone in [
        "lag", "hb ", "behind", "gtid", "PRIMARY", "replica", "ERROR",
    ] {
        assert!(!line.contains(gone), "{gone}\n{text}");
    }
    assert_eq!(text.lines().count(), 4, "one line per server\n{text}");
}

#[test]
fn server_down() {
    let now = Instant::now();
    let d = failed_replica(
        now,
        Duration::from_millis(200),
        PollError::Unreachable("Connection refused (os error 111)".into()),
        "Maintenance, Down",
    );
    let text = render(&d, now);
    insta::assert_snapshot!("down_80x4", text);
    assert_failed(
        &text,
        "server2",
        &[
            "DOWN  Connection refused (os error 111) · 0.2s ago",
            "Maintenance, Down",
        ],
    );
    let buf = draw(&d, now, 80, Theme { color: true });
    assert_eq!(style_of(&buf, "server2", "DOWN").fg, Some(Color::Red));
    assert_eq!(
        style_of(&buf, "server2", "0.2s ago").fg,
        Some(Color::DarkGray)
    );
}

#[test]
fn login_refused() {
    // Longer than the row: the driver's words are cut, the age of the news stays.
    let now = Instant::now();
    let d = failed_replica(
        now,
        Duration::from_millis(200),
        PollError::AccessDenied(
            "Access denied for user 'flightdeck'@'db2.example' (using password: YES)".into(),
        ),
        "Slave, Running",
    );
    let text = render(&d, now);
    insta::assert_snapshot!("login_refused_80x4", text);
    assert_failed(
        &text,
        "server2",
        &[
            "LOGIN REFUSED  Access denied for user",
            "… 0.2s ago",
            "Slave, Running",
        ],
    );
    assert!(!text.contains("DOWN"), "it answered: not down\n{text}");
    let buf = draw(&d, now, 80, Theme { color: true });
    assert_eq!(style_of(&buf, "server2", "LOGIN").fg, Some(Color::Red));
}

#[test]
fn refusing_connections() {
    let now = Instant::now();
    let d = failed_replica(
        now,
        Duration::from_millis(200),
        PollError::Refused("Too many connections (1040)".into()),
        "Slave, Running",
    );
    let text = render(&d, now);
    insta::assert_snapshot!("refusing_80x4", text);
    assert_failed(
        &text,
        "server2",
        &[
            "REFUSING CONNECTIONS  Too many connections",
            "… 0.2s ago",
            "Slave, Running",
        ],
    );
    assert!(!text.contains("DOWN"), "it answered: not down\n{text}");
    let buf = draw(&d, now, 80, Theme { color: true });
    assert_eq!(style_of(&buf, "server2", "REFUSING").fg, Some(Color::Red));
}

#[test]
fn reconnecting_after_the_server_closed_the_connection() {
    // The primary in a switchover: MaxScale killed the poller's connection, and the
    // reconnect has not finished. Up a moment ago, not known to be down: a warning.
    let now = Instant::now();
    let closed = snap(
        "server1",
        now - Duration::from_millis(100),
        primary_info("0-1-1042"),
        Some(PollError::Closed("the server closed the connection".into())),
    );
    let d = pair(
        now,
        closed,
        healthy_replica(now),
        ["Master, Running", "Slave, Running"],
    );
    let text = render(&d, now);
    insta::assert_snapshot!("reconnecting_80x4", text);
    assert_failed(
        &text,
        "server1",
        &[
            "RECONNECTING  the server closed the conn",
            "… 0.1s ago",
            "Master, Running",
        ],
    );
    let wide = common::screen_text(&draw(&d, now, 120, Theme::PLAIN));
    assert!(
        wide.contains("RECONNECTING  the server closed the connection · 0.1s ago"),
        "whole where there is room\n{wide}"
    );
    assert!(!text.contains("DOWN"), "{text}");
    let buf = draw(&d, now, 80, Theme { color: true });
    let style = style_of(&buf, "server1", "RECONNECTING");
    assert_eq!(style.fg, Some(Color::Yellow));
    assert!(!style.add_modifier.contains(Modifier::BOLD), "{style:?}");
    assert_eq!(
        style_of(&buf, "server1", "the server closed").fg,
        Some(Color::Yellow)
    );
}

#[test]
fn query_failed() {
    let now = Instant::now();
    let d = failed_replica(
        now,
        Duration::from_millis(200),
        PollError::Query(
            "Access denied; you need (at least one of) the REPLICATION CLIENT privilege(s) (1227)"
                .into(),
        ),
        "Slave, Running",
    );
    let text = render(&d, now);
    insta::assert_snapshot!("query_failed_80x4", text);
    assert_failed(
        &text,
        "server2",
        &[
            "QUERY FAILED  Access denied;",
            "… 0.2s ago",
            "Slave, Running",
        ],
    );
    let buf = draw(&d, now, 80, Theme { color: true });
    assert_eq!(style_of(&buf, "server2", "QUERY").fg, Some(Color::Red));
}

#[test]
fn a_failed_poll_that_is_not_renewed_goes_stale_on_its_row() {
    let now = Instant::now();
    let d = failed_replica(
        now,
        Duration::from_secs(2),
        PollError::Unreachable("Connection refused (os error 111)".into()),
        "Maintenance, Down",
    );
    let text = render(&d, now);
    assert_failed(
        &text,
        "server2",
        &["DOWN  Connection refused (os error 111) · STALE 2.0s"],
    );
    let title = text.lines().next().expect("title");
    assert!(!title.contains("STALE"), "the live server is fresh\n{text}");
    let buf = draw(&d, now, 80, Theme { color: true });
    assert_eq!(style_of(&buf, "server2", "STALE").fg, Some(Color::Red));
}

#[test]
fn a_narrow_failed_row_is_cut_before_its_age() {
    let now = Instant::now();
    let d = failed_replica(
        now,
        Duration::from_millis(200),
        PollError::Refused("Too many connections (1040)".into()),
        "Slave, Running",
    );
    for width in [70, 60] {
        let text = common::screen_text(&draw(&d, now, width, Theme::PLAIN));
        let line = line_of(&text, "server2");
        assert!(line.contains("REFUSING"), "{width}\n{text}");
        assert!(line.contains("… 0.2s ago"), "{width}\n{text}");
        assert!(
            line.chars().count() <= usize::from(width),
            "{width}\n{text}"
        );
    }
}

#[test]
fn maxscale_maintenance() {
    let now = Instant::now();
    let d = dashboard(
        now,
        "0-1-1042",
        healthy_replica(now),
        ["Master, Running", "Maintenance, Running"],
    );
    let text = render(&d, now);
    insta::assert_snapshot!("maintenance_80x4", text);
    assert!(text.contains("Master, Running"), "{text}");
    assert!(text.contains("Maintenance, Running"), "{text}");
    // Still whole in a pane two columns narrower than the cockpit gives it.
    let narrow = common::screen_text(&draw(&d, now, 78, Theme::PLAIN));
    for want in [
        "Master, Running",
        "Maintenance, Running",
        "IO✔ SQL✔",
        "behind 0",
    ] {
        assert!(narrow.contains(want), "{want}\n{narrow}");
    }
    let buf = draw(&d, now, 80, Theme { color: true });
    assert_eq!(
        style_of(&buf, "server2", "Maintenance").fg,
        Some(Color::Yellow)
    );
}

#[test]
fn longest_states_drop_running_at_80_columns() {
    // The longest states the samples show, with heartbeat, a lag of 3 digits and two
    // domains: `Running` goes (no `Down` says it), every other flag stays.
    let now = Instant::now();
    let r = replica_info(
        "0-1-900,1-2-7",
        replica(IoState::Connecting, true, Some(142), ""),
        9_000,
    );
    let server2 = snap("server2", now - Duration::from_millis(200), r, None);
    let d = dashboard(
        now,
        "0-1-1042,1-2-7",
        server2,
        ["Draining, Master, Running", "Drained, Slave, Running"],
    );
    let text = render(&d, now);
    insta::assert_snapshot!("longest_80x4", text);
    assert!(!text.contains("Running"), "{text}");
    for want in [
        "Draining, Master",
        "Drained, Slave",
        "0-1-1042,1-2-7",
        "IO… SQL✔",
        "lag 142s",
        "behind 142",
    ] {
        assert!(text.contains(want), "{want}\n{text}");
    }
}

#[test]
fn wide_shows_the_error_and_full_position() {
    let now = Instant::now();
    let error = "Could not execute Write_rows_v1 event on table app.dup; Duplicate entry '1' for key 'PRIMARY', Error_code: 1062";
    let r = replica_info("0-1-1041", replica(IoState::Yes, false, None, error), 3000);
    let server2 = snap("server2", now - Duration::from_millis(200), r, None);
    let d = dashboard(
        now,
        "0-1-1042,1-3-77",
        server2,
        ["Master, Running", "Running"],
    );
    let text = common::screen_text(&draw(&d, now, 120, Theme::PLAIN));
    insta::assert_snapshot!("wide_120x4", text);
    assert!(text.contains("gtid 0-1-1042,1-3-77"), "{text}");
    assert!(text.contains("SQL 1062: Could not execute"), "{text}");
    assert!(text.contains('…'), "cut, not wrapped\n{text}");
    assert_eq!(text.lines().count(), 4, "{text}");
}

#[test]
fn stale_and_unknown_are_marked() {
    let now = Instant::now();
    let names = [
        ("server1".to_string(), "server1".to_string()),
        ("server2".into(), "server2".into()),
    ];
    let mut d = Dashboard::new(&names, INTERVAL, Duration::from_secs(1));
    d.apply_server(snap(
        "server1",
        now - Duration::from_secs(5),
        primary_info("0-1-1042"),
        None,
    ));
    d.servers[1].taken_at = now;
    let mut mxs = MaxscaleSnapshot::pending("MariaDB-Monitor");
    mxs.polled = true;
    mxs.taken_at = now;
    mxs.error = Some("connection refused".into());
    d.apply_maxscale(mxs);
    let text = render(&d, now);
    let title = text.lines().next().expect("title");
    assert!(title.contains("STALE 5.0s"), "{text}");
    assert!(title.contains("MaxScale unreachable"), "{text}");
    let server2 = text.lines().nth(2).expect("server2");
    assert!(server2.contains("waiting for data"), "{text}");
    assert!(!text.contains(" 0 "), "nothing unknown shows as 0\n{text}");
}

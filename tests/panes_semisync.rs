//! What the replication pane shows of what shapes a switchover (seed 003): semi-sync in
//! force, off, or fallen back to async; parallel appliers; a multi-source replica's named
//! connections; a chain drawn as a tree. Rendered with ratatui's TestBackend, without
//! color, at 80×24 and 200×50.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use flightdeck::poll::{IoState, ReplicaStatus, SemiSync, ServerInfo, ServerSnapshot};
use flightdeck::tui::dashboard::Dashboard;
use flightdeck::tui::panes;
use flightdeck::tui::theme::Theme;

mod common;

const INTERVAL: Duration = Duration::from_millis(250);

fn port(server: &str) -> u16 {
    3310 + server.trim_start_matches("server").parse::<u16>().unwrap()
}

fn connection(name: &str, source: &str) -> ReplicaStatus {
    ReplicaStatus {
        connection_name: name.into(),
        master_host: "127.0.0.1".into(),
        master_port: port(source),
        io: IoState::Yes,
        sql_running: true,
        seconds_behind: Some(0),
        using_gtid: "Slave_Pos".into(),
        ..Default::default()
    }
}

fn primary(semi: SemiSync) -> ServerInfo {
    ServerInfo {
        version: "11.4.4-MariaDB".into(),
        server_id: 1,
        log_bin: true,
        binlog_format: "ROW".into(),
        semi_sync: Box::new(semi),
        settings: serial(),
        ..ServerInfo::default()
    }
}

fn serial() -> Vec<(String, String)> {
    vec![
        ("slave_parallel_threads".into(), "0".into()),
        ("slave_parallel_mode".into(), "optimistic".into()),
    ]
}

fn replica(conns: Vec<ReplicaStatus>, semi: SemiSync) -> ServerInfo {
    ServerInfo {
        read_only: true,
        replicas: conns,
        ..primary(semi)
    }
}

/// Semi-sync enabled on both sides, as `lab up --semi-sync` configures every server.
fn enabled(master_status: bool, clients: u64, slave_status: bool) -> SemiSync {
    SemiSync {
        master_enabled: Some(true),
        master_status: Some(master_status),
        master_clients: Some(clients),
        master_no_tx: Some(if master_status { 0 } else { 3 }),
        master_yes_tx: Some(1205),
        master_timeout_ms: Some(10_000),
        slave_enabled: Some(true),
        slave_status: Some(slave_status),
    }
}

fn disabled() -> SemiSync {
    SemiSync {
        master_enabled: Some(false),
        master_status: Some(false),
        master_clients: Some(0),
        master_no_tx: Some(0),
        master_yes_tx: Some(0),
        master_timeout_ms: Some(10_000),
        slave_enabled: Some(false),
        slave_status: Some(false),
    }
}

fn dashboard(now: Instant, servers: Vec<(&str, ServerInfo)>) -> Dashboard {
    let names: Vec<(String, String)> = servers
        .iter()
        .map(|(n, _)| (n.to_string(), n.to_string()))
        .collect();
    let mut d = Dashboard::new(&names, INTERVAL, Duration::from_secs(1));
    d.addresses = servers
        .iter()
        .map(|(n, _)| (n.to_string(), ("127.0.0.1".to_string(), port(n))))
        .collect::<BTreeMap<_, _>>();
    for (name, info) in servers {
        d.apply_server(ServerSnapshot {
            server: name.into(),
            taken_at: now - Duration::from_millis(100),
            wall_time: SystemTime::UNIX_EPOCH,
            info: Some(info),
            error: None,
        });
    }
    d
}

fn render(d: &Dashboard, now: Instant, w: u16, h: u16) -> String {
    common::draw(w, h, |f| {
        panes::replication::render(f, f.area(), d, now, false, 0, &Theme::PLAIN)
    })
}

/// The pane at 80×24 and at 200×50, both as snapshots; every line fits its width.
fn both(name: &str, d: &Dashboard, now: Instant) -> String {
    let small = render(d, now, 80, 24);
    let large = render(d, now, 200, 50);
    for (text, w) in [(&small, 80), (&large, 200)] {
        for line in text.lines() {
            assert!(line.chars().count() <= w, "{text}");
        }
    }
    insta::assert_snapshot!(format!("{name}_80x24"), small);
    insta::assert_snapshot!(format!("{name}_200x50"), large);
    small
}

#[test]
fn semi_sync_in_force() {
    let now = Instant::now();
    let d = dashboard(
        now,
        vec![
            ("server1", primary(enabled(true, 2, false))),
            (
                "server2",
                replica(vec![connection("", "server1")], enabled(true, 0, true)),
            ),
            (
                "server3",
                replica(vec![connection("", "server1")], enabled(true, 0, true)),
            ),
        ],
    );
    let text = both("semi_sync_on", &d, now);
    assert!(
        text.contains("server1   primary        semi-sync ON · 2 clients "),
        "{text}"
    );
    // At 80 columns the counters go on a line of their own; at 200, on the same line.
    assert!(
        text.contains("└ 1205 acked / 0 async tx · timeout 10s"),
        "{text}"
    );
    let wide = render(&d, now, 200, 50);
    assert!(
        wide.contains("semi-sync ON · 2 clients · 1205 acked / 0 async tx · timeout 10s"),
        "{wide}"
    );
    assert!(text.contains("└ server2"), "{text}");
}

#[test]
fn semi_sync_fallen_back_to_async() {
    let now = Instant::now();
    let d = dashboard(
        now,
        vec![
            ("server1", primary(enabled(false, 0, false))),
            (
                "server2",
                replica(vec![connection("", "server1")], enabled(true, 0, false)),
            ),
        ],
    );
    let text = both("semi_sync_fallen_back", &d, now);
    assert!(
        text.contains("semi-sync OFF: fell back to async · 0 clients"),
        "{text}"
    );
    assert!(text.contains("1205 acked / 3 async tx"), "{text}");
    // The summary line names it, in view or not.
    let summary = common::draw(80, 1, |f| {
        let line = panes::summary::line(&d, now, 80, &Theme::PLAIN);
        f.render_widget(ratatui::widgets::Paragraph::new(line), f.area());
    });
    assert!(
        summary.contains("server1: semi-sync fell back to async"),
        "{summary}"
    );
    // The replica is enabled but does not acknowledge.
    assert!(text.contains(" OFF "), "{text}");
}

#[test]
fn semi_sync_off_and_unknown() {
    let now = Instant::now();
    let d = dashboard(
        now,
        vec![
            ("server1", primary(disabled())),
            (
                "server2",
                replica(vec![connection("", "server1")], disabled()),
            ),
        ],
    );
    let text = both("semi_sync_off", &d, now);
    assert!(text.contains("semi-sync off (async)"), "{text}");
    // Nobody uses semi-sync or parallel appliers: no column for them.
    assert!(
        !text.contains("semi ") && !text.contains("parallel"),
        "{text}"
    );

    // A server that does not know semi-sync at all (no such variables): "—", no error.
    let d = dashboard(
        now,
        vec![
            ("server1", primary(SemiSync::default())),
            (
                "server2",
                replica(vec![connection("", "server1")], enabled(true, 0, true)),
            ),
        ],
    );
    let text = render(&d, now, 80, 24);
    assert!(text.contains("primary        semi-sync —"), "{text}");
}

#[test]
fn parallel_appliers_per_replica() {
    let now = Instant::now();
    let mut fast = replica(vec![connection("", "server1")], disabled());
    fast.settings = vec![
        ("slave_parallel_threads".into(), "16".into()),
        ("slave_parallel_mode".into(), "aggressive".into()),
    ];
    let mut opt = replica(vec![connection("", "server1")], disabled());
    opt.settings = vec![
        ("slave_parallel_threads".into(), "4".into()),
        ("slave_parallel_mode".into(), "optimistic".into()),
    ];
    let slow = replica(vec![connection("", "server1")], disabled());
    let d = dashboard(
        now,
        vec![
            ("server1", primary(disabled())),
            ("server2", fast),
            ("server3", opt),
            ("server4", slow),
        ],
    );
    let text = both("parallel", &d, now);
    assert!(text.contains("parallel"), "{text}");
    assert!(text.contains("16 aggr"), "{text}");
    assert!(text.contains("4 opt"), "{text}");
    assert!(text.contains("serial"), "{text}");
}

#[test]
fn multi_source_replica_has_a_row_per_named_connection() {
    let now = Instant::now();
    let d = dashboard(
        now,
        vec![
            ("server1", primary(disabled())),
            ("server2", primary(disabled())),
            (
                "server3",
                replica(
                    vec![connection("east", "server1"), connection("west", "server2")],
                    disabled(),
                ),
            ),
        ],
    );
    let text = both("multi_source", &d, now);
    assert!(text.contains("└ server3:east"), "{text}");
    assert!(text.contains("└ server3:west"), "{text}");
}

#[test]
fn a_chain_of_three_is_a_tree() {
    let now = Instant::now();
    let d = dashboard(
        now,
        vec![
            ("server1", primary(enabled(true, 1, false))),
            (
                "server2",
                replica(vec![connection("", "server1")], enabled(true, 1, true)),
            ),
            (
                "server3",
                replica(vec![connection("", "server2")], enabled(true, 0, true)),
            ),
        ],
    );
    let text = both("chain_of_three", &d, now);
    let lines: Vec<&str> = text.lines().collect();
    let at = |needle: &str| {
        lines
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in\n{text}"))
    };
    assert!(at("│server1") < at("│└ server2"), "{text}");
    assert!(at("│└ server2") < at("│  └ server3"), "{text}");
    assert!(text.contains("127.0.0.1:3312"), "{text}");
    // The intermediate primary's own semi-sync, as a source.
    assert!(
        text.contains("└ as a source: semi-sync ON · 1 client"),
        "{text}"
    );
}

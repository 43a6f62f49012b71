//! Frame render time of the whole `watch` screen: `tui::watch::view` drawn through
//! `Terminal::draw` into ratatui's `TestBackend` (layout, the three panes, the buffer diff),
//! for synthetic dashboards of 2, 16 and 64 servers.
//!
//! Each dashboard: server1 primary, the rest replicas with one replica row each; server2
//! broken (SQL thread stopped on a duplicate-key error, shown in full); every 4th replica
//! lagging (Seconds_Behind_Master and GTID behind); ten minutes of lag history behind the
//! sparklines; a MaxScale snapshot listing every server. Before each timed frame one
//! server's snapshot changes (as when a poller publishes), outside the timing.
//!
//! `cargo bench --bench render`; `FLIGHTDECK_BENCH_DUMP=1` also prints each screen once.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/stats.rs"]
mod stats;

use std::time::{Duration, Instant, SystemTime};

use flightdeck::maxscale::{MaxscaleServer, ServerState};
use flightdeck::poll::maxscale::MaxscaleSnapshot;
use flightdeck::poll::{GtidPos, IoState, ReplicaStatus, ServerInfo, ServerSnapshot};
use flightdeck::tui::dashboard::Dashboard;
use flightdeck::tui::theme::Theme;
use flightdeck::tui::watch::{WatchApp, view};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use stats::Samples;

const WARMUP: usize = 200;
const FRAMES: usize = 3000;
const PRIMARY_SEQ: u64 = 123_456;
const DUP_KEY: &str = "Could not execute Write_rows_v1 event on table app.demo; Duplicate entry \
     '42' for key 'PRIMARY', Error_code: 1062; handler error HA_ERR_FOUND_DUPP_KEY; the event's \
     master log mariadb-bin.000003, end_log_pos 48213";

fn main() {
    let dump = std::env::var_os("FLIGHTDECK_BENCH_DUMP").is_some();
    let cases: [(usize, u16, u16); 5] = [
        (2, 80, 24),
        (2, 120, 40),
        (16, 120, 40),
        (64, 120, 40),
        // Tall enough to show every row of 64 servers: the cost of all content on screen.
        (64, 200, 220),
    ];
    println!("watch view into TestBackend, colors on, {FRAMES} frames each after {WARMUP} warm-up");
    println!("{}", stats::header());
    for (servers, w, h) in cases {
        let samples = bench(servers, w, h, dump);
        println!("{}", samples.row());
    }
}

fn bench(servers: usize, width: u16, height: u16, dump: bool) -> Samples {
    let base = Instant::now();
    let mut app = WatchApp::new(dashboard(servers, base));
    let theme = Theme { color: true };
    let mut term = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    let mut times = Vec::with_capacity(FRAMES);
    for frame in 0..WARMUP + FRAMES {
        // A poller publishes: one server's heartbeat lag changes; ages move on 50 ms.
        let i = frame % servers;
        app.dash.apply_server(server(i, base, frame as u64));
        let now = base + Duration::from_millis(50 * (frame % 10) as u64);
        let started = Instant::now();
        term.draw(|f| view(&app, f, now, &theme)).expect("draws");
        if frame >= WARMUP {
            times.push(started.elapsed());
        }
    }
    if dump {
        println!("{}", screen(term.backend()));
    }
    Samples::new(format!("{servers} servers at {width}x{height}"), times)
}

fn dashboard(servers: usize, at: Instant) -> Dashboard {
    let names: Vec<(String, String)> = (1..=servers).map(|k| (name(k), name(k))).collect();
    let mut d = Dashboard::new(&names, Duration::from_millis(250), Duration::from_secs(1));
    for i in 0..servers {
        d.apply_server(server(i, at, 0));
    }
    for _ in 0..600 {
        d.sample_lag(); // ten minutes of history at one sample a second
    }
    d.apply_maxscale(maxscale(servers, at));
    d
}

fn name(k: usize) -> String {
    format!("server{k}")
}

fn pos(server_id: u32, sequence: u64) -> GtidPos {
    format!("0-{server_id}-{sequence}").parse().expect("gtid")
}

/// Server `i` (0-based; 0 is the primary). `tick` varies the heartbeat lag.
fn server(i: usize, at: Instant, tick: u64) -> ServerSnapshot {
    let k = i + 1;
    let mut info = ServerInfo {
        version: "10.11.19-MariaDB-0+deb12u1-log".into(),
        server_id: k as u32,
        read_only: i != 0,
        log_bin: true,
        binlog_format: "ROW".into(),
        gtid_current_pos: pos(1, PRIMARY_SEQ),
        gtid_binlog_pos: pos(1, PRIMARY_SEQ),
        gtid_slave_pos: pos(1, PRIMARY_SEQ),
        replicas: Vec::new(),
        settings: vec![
            ("slave_parallel_threads".into(), "4".into()),
            ("slave_parallel_mode".into(), "optimistic".into()),
        ],
        // Semi-sync enabled everywhere, as a DBA configures it for switchovers.
        semi_sync: Box::new(flightdeck::poll::SemiSync {
            master_enabled: Some(true),
            master_status: Some(i == 0),
            master_clients: Some(if i == 0 { 7 } else { 0 }),
            master_no_tx: Some(0),
            master_yes_tx: Some(PRIMARY_SEQ),
            master_timeout_ms: Some(10_000),
            slave_enabled: Some(true),
            slave_status: Some(i != 0),
        }),
        heartbeat_lag: None,
        encryption: None,
    };
    if i > 0 {
        let broken = k == 2;
        let lag = if k % 4 == 0 { k as u64 } else { 0 };
        let applied = if broken {
            PRIMARY_SEQ - 40
        } else {
            PRIMARY_SEQ - lag * 3
        };
        info.gtid_current_pos = pos(1, applied);
        info.gtid_slave_pos = pos(1, applied);
        info.heartbeat_lag = Some(flightdeck::poll::HeartbeatLag::Behind(
            Duration::from_millis(lag * 1000 + 120 + tick % 97),
        ));
        info.replicas.push(ReplicaStatus {
            connection_name: String::new(),
            master_host: "127.0.0.1".into(),
            master_port: 23001,
            io: IoState::Yes,
            sql_running: !broken,
            seconds_behind: (!broken).then_some(lag),
            gtid_io_pos: pos(1, PRIMARY_SEQ),
            using_gtid: "Slave_Pos".into(),
            last_io_errno: 0,
            last_io_error: String::new(),
            last_sql_errno: if broken { 1062 } else { 0 },
            last_sql_error: if broken {
                DUP_KEY.into()
            } else {
                String::new()
            },
            sql_state: String::new(),
            master_user: String::new(),
            ssl_allowed: false,
        });
    }
    ServerSnapshot {
        server: name(k),
        taken_at: at,
        wall_time: SystemTime::now(),
        info: Some(info),
        error: None,
    }
}

fn maxscale(servers: usize, at: Instant) -> MaxscaleSnapshot {
    let list = (1..=servers)
        .map(|k| {
            let mut s = MaxscaleServer {
                id: name(k),
                kind: "servers".into(),
                ..MaxscaleServer::default()
            };
            let a = &mut s.attributes;
            a.state = ServerState::parse(match k {
                1 => "Master, Running",
                2 => "Running", // replication broken: neither Master nor Slave
                _ => "Slave, Running",
            });
            a.parameters.address = Some("127.0.0.1".into());
            a.parameters.port = Some(23000 + k as u16);
            a.statistics.connections = Some(k as i64 % 7);
            a.gtid_current_pos = Some(format!("0-1-{PRIMARY_SEQ}"));
            s
        })
        .collect();
    MaxscaleSnapshot {
        taken_at: at,
        wall_time: SystemTime::now(),
        servers: list,
        monitor_master: Some(name(1)),
        monitor: "MariaDB-Monitor".into(),
        error: None,
        said_no: false,
        polled: true,
    }
}

fn screen(backend: &TestBackend) -> String {
    let buf = backend.buffer();
    (0..buf.area.height)
        .map(|y| {
            let line: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
            line.trim_end().to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

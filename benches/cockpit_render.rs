//! Frame render time of the cockpit on the 62-step rehearsal runbook
//! (`runbooks/lab-rolling-upgrade.toml` against `tests/fixtures/pair.toml`), without a
//! terminal or servers: a session `Core` fed by hand, as `tests/common/cockpit.rs` builds
//! one.
//!
//! A frame is what the cockpit's loop does when it draws: `SessionView::of` (the driver's
//! `publish`), `RunApp::observe`, then `Terminal::draw` of `tui::run::view::view` into
//! ratatui's `TestBackend`, colors on. Both parts are timed separately and together.
//! Before each frame every poller publishes (the replica's heartbeat lag changes) and 50 ms
//! pass, outside the timing.
//!
//! Two moments of the run: the first step selected with nothing run yet, and the
//! rehearsal in the middle (every step before `p3-start-upgrade@server2` done, that step running
//! with the 2000 lines of output a screen keeps). Sizes 80×24 (the smallest the cockpit
//! draws), 120×40 and 200×50 (the wide layout, three panes side by side).
//!
//! `cargo bench --bench cockpit_render`; `FLIGHTDECK_BENCH_DUMP=1` also prints each screen.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/stats.rs"]
mod stats;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use flightdeck::inventory;
use flightdeck::poll::maxscale::MaxscaleSnapshot;
use flightdeck::poll::{GtidPos, HeartbeatLag, IoState, ReplicaStatus, ServerInfo, ServerSnapshot};
use flightdeck::runbook::{self, roles::RoleMap};
use flightdeck::session::core::Core;
use flightdeck::session::journal::Stream;
use flightdeck::session::live::Dashboard;
use flightdeck::session::run::{Run, StepState};
use flightdeck::session::view::SessionView;
use flightdeck::tui::run::app::RunApp;
use flightdeck::tui::run::view::{ViewContext, view};
use flightdeck::tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use stats::Samples;

const WARMUP: usize = 200;
const FRAMES: usize = 3000;
// On the pair, phases 2–4 run once, for server2: its copy of the step.
const MIDDLE: &str = "p3-start-upgrade@server2";

fn main() {
    let dump = std::env::var_os("FLIGHTDECK_BENCH_DUMP").is_some();
    println!(
        "cockpit frame (SessionView::of + draw into TestBackend), colors on, {FRAMES} frames each after {WARMUP} warm-up"
    );
    println!("{}", stats::header());
    for middle in [false, true] {
        for (w, h) in [(80, 24), (120, 40), (200, 50)] {
            let [publish, draw, frame] = bench(middle, w, h, dump);
            for s in [publish, draw, frame] {
                println!("{}", s.row());
            }
        }
    }
}

fn bench(middle: bool, width: u16, height: u16, dump: bool) -> [Samples; 3] {
    let base = Instant::now();
    let mut core = core(base);
    if middle {
        to_the_middle(&mut core, base);
    }
    let mut app = RunApp::new(&SessionView::of(&core, SystemTime::now()));
    let ctx = ViewContext {
        theme: Theme { color: true },
    };
    let mut term = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    let (mut publish, mut draw, mut frame) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..WARMUP + FRAMES {
        let now = base + Duration::from_millis(50 * i as u64);
        core.server(primary(now), now);
        core.server(replica(now, i as u64), now);
        core.maxscale(maxscale(now), now);
        let started = Instant::now();
        let session = SessionView::of(&core, SystemTime::now());
        app.observe(&session, now);
        let published = Instant::now();
        term.draw(|f| view(&app, &session, &core.dash, &ctx, f, now))
            .expect("draws");
        let drawn = Instant::now();
        if i >= WARMUP {
            publish.push(published - started);
            draw.push(drawn - published);
            frame.push(drawn - started);
        }
    }
    if dump {
        println!("{}", screen(term.backend()));
    }
    let moment = if middle { "middle" } else { "start" };
    let name = |part: &str| format!("{moment} {width}x{height} {part}");
    [
        Samples::new(name("view"), publish),
        Samples::new(name("draw"), draw),
        Samples::new(name("frame"), frame),
    ]
}

/// The rehearsal runbook on the loopback pair, with both servers and MaxScale live.
fn core(at: Instant) -> Core {
    let inv = inventory::load_file(Path::new("tests/fixtures/pair.toml")).expect("inventory");
    let loaded = runbook::load_checked(Path::new("runbooks/lab-rolling-upgrade.toml"), Some(&inv))
        .expect("runbook");
    assert_eq!(
        loaded
            .runbook
            .phases
            .iter()
            .map(|p| p.steps.len())
            .sum::<usize>(),
        62
    );
    let mut vars = loaded.runbook.vars.clone();
    vars.extend(inv.vars.clone());
    let roles = RoleMap::from_inventory(&inv, &loaded.runbook.pins);
    let names: Vec<(String, String)> = inv
        .servers
        .iter()
        .map(|s| (s.name.clone(), s.maxscale_name.clone()))
        .collect();
    let dash = Dashboard::new(&names, Duration::from_millis(250), Duration::from_secs(1));
    let mut core = Core::new(
        Run::new(loaded.runbook.clone()),
        dash,
        roles,
        Arc::new(inv),
        vars,
    );
    core.server(primary(at), at);
    core.server(replica(at, 0), at);
    core.maxscale(maxscale(at), at);
    for _ in 0..600 {
        core.dash.sample_lag(); // ten minutes of sparkline
    }
    core
}

/// Every step before [`MIDDLE`] succeeded; `MIDDLE` runs and has printed 2000 lines.
fn to_the_middle(core: &mut Core, at: Instant) {
    let ids: Vec<String> = core
        .run
        .runbook
        .phases
        .iter()
        .flat_map(|p| p.steps.iter().map(|s| s.id.value.clone()))
        .collect();
    for id in ids.iter().take_while(|id| *id != MIDDLE) {
        let done = StepState::Succeeded {
            detail: "exit 0".into(),
        };
        core.run.restore(id, done, 1);
    }
    let running = StepState::Running {
        attempt: 1,
        started: at,
        progress: None,
    };
    core.run.restore(MIDDLE, running, 1);
    for k in 0..2000 {
        let line = format!("Setting up mariadb-server (1:10.11.19+maria~deb12) ... line {k}\n");
        core.push_output(MIDDLE, Stream::Stdout, &line);
    }
}

fn pos(seq: u64) -> GtidPos {
    format!("0-1-{seq}").parse().expect("gtid")
}

fn primary(at: Instant) -> ServerSnapshot {
    let info = ServerInfo {
        version: "10.11.18-MariaDB-log".into(),
        server_id: 1,
        log_bin: true,
        binlog_format: "ROW".into(),
        gtid_current_pos: pos(1042),
        gtid_binlog_pos: pos(1042),
        ..ServerInfo::default()
    };
    snapshot("server1", at, info)
}

/// The replica; `tick` moves its heartbeat lag, as each poll does.
fn replica(at: Instant, tick: u64) -> ServerSnapshot {
    let info = ServerInfo {
        version: "10.11.18-MariaDB-log".into(),
        server_id: 2,
        read_only: true,
        log_bin: true,
        binlog_format: "ROW".into(),
        gtid_current_pos: pos(1042),
        gtid_binlog_pos: pos(1042),
        gtid_slave_pos: pos(1042),
        replicas: vec![ReplicaStatus {
            connection_name: String::new(),
            master_host: "127.0.0.21".into(),
            master_port: 3306,
            io: IoState::Yes,
            sql_running: true,
            seconds_behind: Some(0),
            gtid_io_pos: pos(1042),
            using_gtid: "Slave_Pos".into(),
            last_io_errno: 0,
            last_io_error: String::new(),
            last_sql_errno: 0,
            last_sql_error: String::new(),
            sql_state: String::new(),
            master_user: String::new(),
            ssl_allowed: false,
        }],
        heartbeat_lag: Some(HeartbeatLag::Behind(Duration::from_millis(
            20 + (tick * 37) % 900,
        ))),
        ..ServerInfo::default()
    };
    snapshot("server2", at, info)
}

fn snapshot(server: &str, at: Instant, info: ServerInfo) -> ServerSnapshot {
    ServerSnapshot {
        server: server.into(),
        taken_at: at,
        wall_time: SystemTime::now(),
        info: Some(info),
        error: None,
    }
}

fn maxscale(at: Instant) -> MaxscaleSnapshot {
    let body = include_str!("../tests/fixtures/maxscale_get_servers.json");
    let doc: serde_json::Value = serde_json::from_str(body).expect("json");
    MaxscaleSnapshot {
        taken_at: at,
        wall_time: SystemTime::now(),
        servers: serde_json::from_value(doc["data"].clone()).expect("servers"),
        monitor_master: Some("server1".into()),
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

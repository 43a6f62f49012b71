//! Dashboards with live-looking data, for render tests that never connect: a primary
//! and a replica as the pollers would publish them, and MaxScale's server list as a real
//! MaxScale 24.02.3 answered it (tests/fixtures/maxscale_get_servers.json).

use std::time::{Duration, Instant, SystemTime};

use flightdeck::maxscale::MaxscaleServer;
use flightdeck::poll::maxscale::MaxscaleSnapshot;
use flightdeck::poll::{GtidPos, IoState, ReplicaStatus, ServerInfo, ServerSnapshot};
use flightdeck::tui::dashboard::Dashboard;

pub fn gtid(s: &str) -> GtidPos {
    s.parse().expect("valid gtid")
}

pub fn primary(pos: &str) -> ServerInfo {
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

pub fn replica(pos: &str, behind: Option<u64>) -> ServerInfo {
    ServerInfo {
        server_id: 2,
        read_only: true,
        gtid_current_pos: gtid(pos),
        gtid_slave_pos: gtid(pos),
        replicas: vec![ReplicaStatus {
            connection_name: String::new(),
            master_host: "127.0.0.21".into(),
            master_port: 3306,
            io: IoState::Yes,
            sql_running: true,
            seconds_behind: behind,
            gtid_io_pos: gtid(pos),
            using_gtid: "Slave_Pos".into(),
            last_io_errno: 0,
            last_io_error: String::new(),
            last_sql_errno: 0,
            last_sql_error: String::new(),
            sql_state: String::new(),
            master_user: String::new(),
            ssl_allowed: false,
        }],
        ..primary(pos)
    }
}

pub fn snapshot(server: &str, at: Instant, info: ServerInfo) -> ServerSnapshot {
    ServerSnapshot {
        server: server.into(),
        taken_at: at,
        wall_time: SystemTime::UNIX_EPOCH,
        info: Some(info),
        error: None,
    }
}

/// MaxScale's list from the real sample: server1 `Master, Running`, server2 `Slave, Running`.
pub fn maxscale(at: Instant) -> MaxscaleSnapshot {
    let body = include_str!("../fixtures/maxscale_get_servers.json");
    let doc: serde_json::Value = serde_json::from_str(body).expect("json");
    let servers: Vec<MaxscaleServer> = serde_json::from_value(doc["data"].clone()).expect("parses");
    MaxscaleSnapshot {
        taken_at: at,
        wall_time: SystemTime::UNIX_EPOCH,
        servers,
        monitor_master: Some("server1".into()),
        monitor: "MariaDB-Monitor".into(),
        error: None,
        said_no: false,
        polled: true,
    }
}

/// server1 primary at 0-1-1042, server2 replicating, 3 transactions and 2 s behind,
/// MaxScale answering: every pane has values to show.
pub fn live_pair(now: Instant) -> Dashboard {
    let names = [
        ("server1".to_string(), "server1".to_string()),
        ("server2".to_string(), "server2".to_string()),
    ];
    let mut d = Dashboard::new(&names, Duration::from_millis(250), Duration::from_secs(1));
    let at = now - Duration::from_millis(100);
    d.apply_server(snapshot("server1", at, primary("0-1-1042")));
    d.apply_server(snapshot("server2", at, replica("0-1-1039", Some(2))));
    d.apply_maxscale(maxscale(at));
    d
}

/// MaxScale's list after a switchover: server2 `Master, Running`, server1 `Slave, Running`.
pub fn maxscale_swapped(at: Instant) -> MaxscaleSnapshot {
    let mut m = maxscale(at);
    let body = include_str!("../fixtures/maxscale_get_servers.json")
        .replace("Master, Running", "MASTER")
        .replace("Slave, Running", "Master, Running")
        .replace("MASTER", "Slave, Running");
    let doc: serde_json::Value = serde_json::from_str(&body).expect("json");
    m.servers = serde_json::from_value(doc["data"].clone()).expect("parses");
    m.monitor_master = Some("server2".into());
    m
}

/// A replica whose SQL thread stopped on a duplicate key (1062), at `pos`.
pub fn broken_replica(pos: &str) -> ServerInfo {
    let mut info = replica(pos, None);
    let r = &mut info.replicas[0];
    r.sql_running = false;
    r.last_sql_errno = 1062;
    r.last_sql_error = "Could not execute Write_rows_v1 event on table app.dup; Duplicate \
                        entry '1' for key 'PRIMARY', Error_code: 1062"
        .into();
    info
}

/// A MaxScale list of `(name, state)`, answered at `at`, with `primary` as the monitor's.
pub fn maxscale_list(at: Instant, states: &[(String, &str)], primary: &str) -> MaxscaleSnapshot {
    let servers = states
        .iter()
        .enumerate()
        .map(|(i, (name, state))| {
            let mut s = MaxscaleServer {
                id: name.clone(),
                kind: "servers".into(),
                ..MaxscaleServer::default()
            };
            let a = &mut s.attributes;
            a.state = flightdeck::maxscale::ServerState::parse(state);
            a.parameters.address = Some("127.0.0.1".into());
            a.parameters.port = Some(3311 + i as u16);
            a.statistics.connections = Some(0);
            s
        })
        .collect();
    MaxscaleSnapshot {
        taken_at: at,
        wall_time: SystemTime::UNIX_EPOCH,
        servers,
        monitor_master: Some(primary.into()),
        monitor: "MariaDB-Monitor".into(),
        error: None,
        said_no: false,
        polled: true,
    }
}

/// `n` servers polled 0.1 s before `now`: server1 the primary at 0-1-1042, the others
/// replicas caught up, except `broken` (SQL thread stopped on 1062, 40 transactions
/// behind, `Running` without `Slave` in MaxScale), in inventory order.
pub fn fleet(now: Instant, n: usize, broken: Option<usize>) -> Dashboard {
    let names: Vec<(String, String)> = (1..=n)
        .map(|k| (format!("server{k}"), format!("server{k}")))
        .collect();
    let mut d = Dashboard::new(&names, Duration::from_millis(250), Duration::from_secs(1));
    let at = now - Duration::from_millis(100);
    let mut states = Vec::new();
    for k in 1..=n {
        let name = format!("server{k}");
        let (info, state) = if k == 1 {
            (primary("0-1-1042"), "Master, Running")
        } else if Some(k) == broken {
            (broken_replica("0-1-1002"), "Running")
        } else {
            (replica("0-1-1042", Some(0)), "Slave, Running")
        };
        d.apply_server(snapshot(&name, at, info));
        states.push((name, state));
    }
    d.apply_maxscale(maxscale_list(at, &states, "server1"));
    d
}

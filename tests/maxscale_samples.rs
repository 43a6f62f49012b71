//! Every sample a real MaxScale 24.02.3 answered (`shared/maxscale/samples/`) parses
//! with flightdeck's typed structs, and specific samples read as they should.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};

use flightdeck::maxscale::{
    AdminState, CommandResult, Document, MaxscaleAction, MaxscaleMonitor, MaxscaleServer,
    ResponseBody,
};
use serde_json::Value;

fn samples_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/maxscale/samples");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("samples dir {} absent; skipping", dir.display());
        None
    }
}

fn read(dir: &Path, stem: &str) -> String {
    let path = dir.join(format!("{stem}.json"));
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn status(dir: &Path, stem: &str) -> u16 {
    let path = dir.join(format!("{stem}.status.txt"));
    fs::read_to_string(&path)
        .unwrap_or_default()
        .trim()
        .parse()
        .unwrap_or(0)
}

fn servers(dir: &Path, stem: &str) -> Vec<MaxscaleServer> {
    let text = read(dir, stem);
    match serde_json::from_str::<Document<Vec<MaxscaleServer>>>(&text) {
        Ok(doc) => doc.data,
        Err(_) => vec![
            serde_json::from_str::<Document<MaxscaleServer>>(&text)
                .expect(stem)
                .data,
        ],
    }
}

fn server(dir: &Path, stem: &str, name: &str) -> MaxscaleServer {
    servers(dir, stem)
        .into_iter()
        .find(|s| s.id == name)
        .unwrap_or_else(|| panic!("{stem}: no {name}"))
}

fn monitor(dir: &Path, stem: &str) -> MaxscaleMonitor {
    serde_json::from_str::<Document<MaxscaleMonitor>>(&read(dir, stem))
        .expect(stem)
        .data
}

fn body(dir: &Path, stem: &str) -> ResponseBody {
    serde_json::from_str(&read(dir, stem)).expect(stem)
}

#[test]
fn every_sample_parses_with_the_typed_structs() {
    let Some(dir) = samples_dir() else { return };
    let mut parsed = 0;
    let mut entries: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("samples dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter(|p| !p.to_string_lossy().ends_with(".request.json"))
        .collect();
    entries.sort();
    for path in entries {
        let name = path.display().to_string();
        let text = fs::read_to_string(&path).expect(&name);
        if text.trim().is_empty() {
            parsed += 1; // 204 answers
            continue;
        }
        let raw: Value = serde_json::from_str(&text).expect(&name);
        let kind = |v: &Value| v.get("type").and_then(Value::as_str).map(str::to_owned);
        match raw.get("data") {
            Some(Value::Array(items))
                if items.first().and_then(kind).as_deref() == Some("servers") =>
            {
                let doc: Document<Vec<MaxscaleServer>> = serde_json::from_str(&text).expect(&name);
                assert_eq!(doc.data.len(), items.len(), "{name}");
                for s in &doc.data {
                    assert!(
                        !s.id.is_empty() && !s.attributes.state.raw.is_empty(),
                        "{name}"
                    );
                    assert!(s.attributes.parameters.port.is_some(), "{name}");
                }
            }
            Some(Value::Array(items))
                if items.first().and_then(kind).as_deref() == Some("monitors") =>
            {
                let doc: Document<Vec<MaxscaleMonitor>> = serde_json::from_str(&text).expect(&name);
                assert!(doc.data[0].diagnostics().is_some(), "{name}");
            }
            Some(data) if kind(data).as_deref() == Some("servers") => {
                let doc: Document<MaxscaleServer> = serde_json::from_str(&text).expect(&name);
                assert!(doc.data.state().running || doc.data.state().down, "{name}");
            }
            Some(data) if kind(data).as_deref() == Some("monitors") => {
                let doc: Document<MaxscaleMonitor> = serde_json::from_str(&text).expect(&name);
                assert_eq!(
                    doc.data.attributes.module.as_deref(),
                    Some("mariadbmon"),
                    "{name}"
                );
            }
            Some(_) => {
                // /v1/maxscale, /v1/services, the module listing: the generic envelope.
                let _: Document<Value> = serde_json::from_str(&text).expect(&name);
            }
            None => {
                let b: ResponseBody = serde_json::from_str(&text).expect(&name);
                assert!(b.meta.is_some() || !b.messages().is_empty(), "{name}");
            }
        }
        parsed += 1;
    }
    assert!(parsed > 80, "only {parsed} samples found");
}

#[test]
fn state_flags() {
    let Some(dir) = samples_dir() else { return };
    let s1 = server(&dir, "01_get_servers", "server1");
    let st = s1.state();
    assert_eq!(st.raw, "Master, Running");
    assert!(st.master && st.running && !st.slave && !st.maintenance && !st.down);
    assert_eq!(s1.attributes.master_id, Some(-1));
    assert_eq!(s1.attributes.node_id, Some(1));
    assert_eq!(s1.attributes.gtid_binlog_pos.as_deref(), Some("0-1-22"));
    assert_eq!(s1.attributes.last_event.as_deref(), Some("master_up"));
    assert_eq!(
        s1.attributes.triggered_at.as_deref(),
        Some("Sat, 21 Nov 2026 22:05:03 GMT")
    );
    assert_eq!(s1.attributes.statistics.total_connections, Some(2));
    assert_eq!(s1.endpoint().as_deref(), Some("127.0.0.1:3311"));
    assert_eq!(s1.attributes.replication_depth, None);

    let s2 = server(&dir, "01_get_servers", "server2");
    assert!(s2.state().slave && s2.state().running && !s2.state().master);
    assert_eq!(s2.attributes.read_only, Some(true));
    let link = &s2.attributes.slave_connections[0];
    assert_eq!(link.master_server_name.as_deref(), Some("server1"));
    assert_eq!((link.io_running(), link.sql_running()), (true, true));
    assert_eq!(link.using_gtid, "Slave_Pos");
    assert_eq!(link.master_port, Some(3311));

    let maint = server(&dir, "11_get_server2_in_maintenance", "server2")
        .attributes
        .state;
    assert_eq!(maint.raw, "Maintenance, Running");
    assert!(maint.maintenance && maint.running && !maint.slave);

    let broken = server(&dir, "50_get_server2_sql_thread_stopped", "server2");
    assert_eq!(broken.state().raw, "Running");
    assert!(!broken.state().slave && broken.state().running);
    assert_eq!(broken.attributes.replication_lag, Some(-1));
    let link = &broken.attributes.slave_connections[0];
    assert_eq!(link.seconds_behind_master, None);
    assert_eq!(
        (
            link.slave_io_running.as_str(),
            link.slave_sql_running.as_str()
        ),
        ("Yes", "No")
    );
    assert_eq!(link.master_server_name, None);

    let lagging = server(&dir, "51_get_server2_lagging", "server2");
    assert_eq!(lagging.attributes.replication_lag, Some(3));
    assert_eq!(
        lagging.attributes.slave_connections[0].seconds_behind_master,
        Some(3)
    );

    let down_maint = server(&dir, "71_get_servers_server2_down_in_maint", "server2")
        .attributes
        .state;
    assert_eq!(down_maint.raw, "Maintenance, Down");
    assert!(down_maint.maintenance && down_maint.down && !down_maint.running);

    let down = server(&dir, "73_get_server2_down", "server2");
    assert!(down.state().down && !down.state().running && !down.state().maintenance);
    assert_eq!(down.attributes.replication_lag, Some(-1));
    // Last known values are kept while down.
    assert_eq!(down.attributes.gtid_current_pos.as_deref(), Some("0-1-26"));
    assert_eq!(
        down.attributes.version_string.as_deref(),
        Some("10.11.19-MariaDB-0+deb12u1-log")
    );

    let mon = monitor(&dir, "74_get_monitor_server2_down");
    assert_eq!(mon.master(), Some("server1"));
    let diag = mon.diagnostics().expect("diagnostics");
    assert_eq!(diag.state.as_deref(), Some("Idle"));
    assert_eq!(diag.primary, None);
    assert_eq!(diag.master_gtid_domain_id, Some(0));
    assert_eq!(diag.server_info.len(), 2);
    assert_eq!(
        mon.attributes.parameters.get("password"),
        Some(&Value::from("*****"))
    );

    let back = server(&dir, "75_get_server2_after_restart", "server2");
    assert_eq!(back.state().raw, "Slave, Running");
    assert_eq!(back.attributes.last_event.as_deref(), Some("slave_up"));

    let drained = server(&dir, "61_get_server2_drained", "server2")
        .attributes
        .state;
    assert!(drained.drained && drained.slave && drained.running && !drained.draining);

    let dup = server(&dir, "120_get_server2_dup_key_error", "server2");
    assert_eq!(dup.state().raw, "Running");
    assert_eq!(dup.attributes.replication_lag, Some(-1));
    assert_eq!(dup.attributes.last_event.as_deref(), Some("lost_slave"));
    let link = &dup.attributes.slave_connections[0];
    assert!(
        link.last_sql_error
            .contains("Duplicate entry '1' for key 'PRIMARY', Error_code: 1062")
    );
    assert_eq!(link.seconds_behind_master, None);
    assert_eq!(link.master_server_name, None);
    assert_eq!(link.gtid_io_pos, "0-1-28");
    assert_eq!(dup.attributes.gtid_current_pos.as_deref(), Some("0-1-27"));

    let after = server(&dir, "21_get_servers_after_switchover", "server1");
    assert_eq!(
        after.attributes.slave_connections[0].using_gtid,
        "Current_Pos"
    );
    assert_eq!(after.attributes.master_id, Some(2));
}

#[test]
fn command_errors_and_results() {
    let Some(dir) = samples_dir() else { return };
    let cancelled = "Switchover cancelled.".to_owned();
    let b40 = body(&dir, "40_err_switchover_to_current_primary");
    assert_eq!(status(&dir, "40_err_switchover_to_current_primary"), 400);
    assert!(b40.errors.is_empty());
    assert_eq!(
        b40.messages(),
        vec![
            "'server1' is not a valid promotion target for switchover because it is already the primary.".to_owned(),
            cancelled.clone()
        ]
    );
    let not_replicating = "'server2' is not a valid promotion target for switchover because it is not replicating from 'server1'.";
    let b101 = body(&dir, "101_err_switchover_to_nonreplicating_server2");
    assert_eq!(
        b101.messages(),
        vec![not_replicating.to_owned(), cancelled.clone()]
    );
    let b104 = body(&dir, "104_get_fetch_cmd_result_async_refused");
    assert_eq!(status(&dir, "104_get_fetch_cmd_result_async_refused"), 200);
    assert_eq!(
        CommandResult::from_body(&b104),
        CommandResult::Failed(vec![not_replicating.to_owned(), cancelled])
    );

    let running = CommandResult::from_body(&body(&dir, "31_get_fetch_cmd_result_immediately"));
    assert_eq!(
        running,
        CommandResult::Running(
            "No manual command results are available, switchover is still running.".to_owned()
        )
    );
    assert!(!running.is_finished());
    for stem in [
        "32_get_fetch_cmd_result_done",
        "23_get_fetch_cmd_result_after_sync",
    ] {
        assert_eq!(
            CommandResult::from_body(&body(&dir, stem)),
            CommandResult::Done("switchover completed successfully.".to_owned()),
            "{stem}"
        );
    }

    let top = [
        (
            "41_err_set_maintenance_unknown_server",
            404,
            "nosuch is not a server",
        ),
        (
            "42_err_set_invalid_state",
            400,
            "Invalid or missing value for the `state` parameter",
        ),
        ("43_err_bad_auth", 401, "Access denied"),
        (
            "44_err_unknown_monitor",
            400,
            "Argument 1, monitor not found: NoSuchMonitor",
        ),
        (
            "110_put_server1_primary_set_maintenance",
            400,
            "The server is primary, so it cannot be set in maintenance or draining mode. \
             First perform a switchover and then retry the operation.",
        ),
    ];
    for (stem, code, detail) in top {
        let b = body(&dir, stem);
        assert_eq!(status(&dir, stem), code, "{stem}");
        assert_eq!(b.messages(), vec![detail.to_owned()], "{stem}");
        assert!(b.meta.is_none(), "{stem}");
    }
}

#[test]
fn request_lines_and_maxctrl() {
    let set = MaxscaleAction::SetState {
        server: "server2".into(),
        state: AdminState::Maintenance,
        force: false,
    };
    assert_eq!(
        set.rest_line(),
        "PUT /v1/servers/server2/set?state=maintenance"
    );
    assert_eq!(set.maxctrl(), "maxctrl set server server2 maintenance");
    let forced = MaxscaleAction::SetState {
        server: "server2".into(),
        state: AdminState::Maintenance,
        force: true,
    };
    assert_eq!(
        forced.rest_line(),
        "PUT /v1/servers/server2/set?state=maintenance&force=yes"
    );
    assert_eq!(
        forced.maxctrl(),
        "maxctrl set server server2 maintenance --force"
    );
    let clear = MaxscaleAction::ClearState {
        server: "server2".into(),
        state: AdminState::Drain,
    };
    assert_eq!(
        clear.rest_line(),
        "PUT /v1/servers/server2/clear?state=drain"
    );
    assert_eq!(clear.maxctrl(), "maxctrl clear server server2 drain");
    let sw = MaxscaleAction::Switchover {
        monitor: "MariaDB-Monitor".into(),
        new: "server2".into(),
        old: Some("server1".into()),
    };
    assert_eq!(
        sw.rest_line(),
        "POST /v1/maxscale/modules/mariadbmon/switchover?MariaDB-Monitor&server2&server1"
    );
    assert_eq!(
        sw.maxctrl(),
        "maxctrl call command mariadbmon switchover MariaDB-Monitor server2 server1"
    );
    let fetch = MaxscaleAction::FetchCmdResult {
        monitor: "MariaDB-Monitor".into(),
    };
    assert_eq!(
        fetch.rest_line(),
        "GET /v1/maxscale/modules/mariadbmon/fetch-cmd-result?MariaDB-Monitor"
    );
}

#[tokio::test]
async fn a_maxscale_that_is_down_is_reported_as_such() {
    // Bind then drop a listener to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let client = flightdeck::maxscale::MaxscaleClient::new(flightdeck::maxscale::MaxscaleConfig {
        base_url: format!("http://127.0.0.1:{port}"),
        timeout: std::time::Duration::from_secs(5),
        ..Default::default()
    })
    .expect("client");
    let err = client.servers().await.expect_err("nothing listens there");
    assert!(err.is_unreachable(), "{err}");
    assert!(
        matches!(
            err,
            flightdeck::maxscale::MaxscaleError::ConnectionRefused { .. }
        ),
        "{err:?}"
    );
    assert_eq!(err.status(), None);
}

/// Serializing a parsed sample gives back the same keys: the lab endpoint, which
/// serializes these structs, answers with MaxScale's field names and nesting.
#[test]
fn typed_structs_round_trip_the_sample_keys() {
    let Some(dir) = samples_dir() else { return };
    use std::collections::BTreeSet;
    fn keys(v: &Value) -> BTreeSet<String> {
        v.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    }
    for stem in [
        "01_get_servers",
        "120_get_server2_dup_key_error",
        "73_get_server2_down",
    ] {
        let raw: Value = serde_json::from_str(&read(&dir, stem)).expect(stem);
        let raw_items = match &raw["data"] {
            Value::Array(items) => items.clone(),
            one => vec![one.clone()],
        };
        for (typed, raw) in servers(&dir, stem).iter().zip(&raw_items) {
            let back = serde_json::to_value(typed).expect("serialize");
            assert_eq!(keys(&back), keys(raw), "{stem} envelope");
            let (b, r) = (&back["attributes"], &raw["attributes"]);
            assert_eq!(keys(b), keys(r), "{stem} attributes");
            assert_eq!(
                keys(&b["parameters"]),
                keys(&r["parameters"]),
                "{stem} parameters"
            );
            assert_eq!(
                keys(&b["statistics"]),
                keys(&r["statistics"]),
                "{stem} statistics"
            );
            for (bs, rs) in b["slave_connections"]
                .as_array()
                .into_iter()
                .flatten()
                .zip(r["slave_connections"].as_array().into_iter().flatten())
            {
                assert_eq!(keys(bs), keys(rs), "{stem} slave_connections");
                assert_eq!(bs, rs, "{stem} slave_connections values");
            }
            assert_eq!(b["state"], r["state"], "{stem}");
        }
    }
    let raw: Value = serde_json::from_str(&read(&dir, "05_get_monitor")).expect("05");
    let back = serde_json::to_value(monitor(&dir, "05_get_monitor")).expect("serialize");
    assert_eq!(keys(&back["attributes"]), keys(&raw["data"]["attributes"]));
    assert_eq!(
        back["attributes"]["monitor_diagnostics"],
        raw["data"]["attributes"]["monitor_diagnostics"]
    );
}

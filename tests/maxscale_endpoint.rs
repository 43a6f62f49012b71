//! The lab's MaxScale-compatible endpoint against real `mariadbd`s (a lab built by
//! `flightdeck::lab::Lab`), read through flightdeck's own MaxScale client.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use flightdeck::lab::mxs::{self, Backend, LabMxsHandle, PRIMARY_REFUSAL, ServeConfig};
use flightdeck::lab::{Action, Lab, LabGuard, LabOptions};
use flightdeck::maxscale::{
    AdminState, CommandResult, MaxscaleClient, MaxscaleConfig, MaxscaleError, MaxscaleServer,
};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder};
use serde_json::Value;

const MON: &str = "MariaDB-Monitor";
const DEADLINE: Duration = Duration::from_secs(90);

struct Cluster {
    lab: LabGuard,
    endpoint: LabMxsHandle,
    client: MaxscaleClient,
    _dir: tempfile::TempDir,
}

async fn cluster() -> Cluster {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "flightdeck=info".to_owned()))
        .try_init();
    let dir = tempfile::tempdir().expect("tempdir");
    let lab = Lab::up(LabOptions::new(dir.path().join("lab")))
        .await
        .expect("lab up")
        .guard();
    let servers = lab
        .servers()
        .iter()
        .map(|s| Backend::new(&s.name, &s.host, s.port))
        .collect();
    let mut cfg = ServeConfig::new(
        servers,
        "monitor",
        lab.secret("monitor").expect("monitor secret"),
    );
    cfg.replication_user = Some("repl".to_owned());
    cfg.replication_password = Some(lab.secret("repl").expect("repl secret"));
    cfg.rest_bind = "127.0.0.1:0".parse().expect("addr");
    cfg.router_bind = Some("127.0.0.1:0".parse().expect("addr"));
    cfg.monitor_interval = Duration::from_millis(250);
    let endpoint = mxs::spawn(cfg).await.expect("endpoint");
    let client = MaxscaleClient::new(MaxscaleConfig {
        base_url: endpoint.base_url(),
        ..MaxscaleConfig::default()
    })
    .expect("client");
    let c = Cluster {
        lab,
        endpoint,
        client,
        _dir: dir,
    };
    c.wait_states(&[
        ("server1", "Master, Running"),
        ("server2", "Slave, Running"),
    ])
    .await;
    c
}

/// Retry `f` until it returns `Ok`, or panic with its last error after a generous deadline.
async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + DEADLINE;
    loop {
        match f().await {
            Ok(v) => return v,
            Err(last) if Instant::now() > deadline => {
                panic!("timed out waiting for {what}: {last}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

fn find<'a>(servers: &'a [MaxscaleServer], name: &str) -> &'a MaxscaleServer {
    servers
        .iter()
        .find(|s| s.id == name)
        .unwrap_or_else(|| panic!("no {name}"))
}

impl Cluster {
    async fn wait_states(&self, want: &[(&str, &str)]) -> Vec<MaxscaleServer> {
        let client = &self.client;
        eventually(&format!("states {want:?}"), || async move {
            let servers = client.servers().await.map_err(|e| e.to_string())?;
            let got: Vec<(String, String)> = servers
                .iter()
                .map(|s| (s.id.clone(), s.state().raw.clone()))
                .collect();
            let ok = want
                .iter()
                .all(|(n, st)| got.iter().any(|(gn, gs)| gn == n && gs == st));
            if ok {
                Ok(servers)
            } else {
                Err(format!("{got:?}"))
            }
        })
        .await
    }

    async fn sql(&self, server: &str) -> Conn {
        self.lab
            .connect(server, "flightdeck")
            .await
            .expect("connect")
    }

    async fn scalar(&self, server: &str, query: &str) -> String {
        let mut conn = self.sql(server).await;
        let v: Option<Option<String>> = conn.query_first(query).await.expect(query);
        let _ = conn.disconnect().await;
        v.flatten().unwrap_or_default()
    }

    /// A client connection through the router, as the `app` user.
    async fn via_router(&self) -> Conn {
        let port = self.endpoint.router_addr().expect("router").port();
        let opts = OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(port)
            .prefer_socket(false)
            .user(Some("app"))
            .pass(Some(self.lab.secret("app").expect("app secret")))
            .db_name(Some("app"));
        Conn::new(opts).await.expect("connect through the router")
    }

    async fn get_raw(&self, path: &str) -> Value {
        let url = format!("{}{path}", self.endpoint.base_url());
        let resp = reqwest::Client::new()
            .get(url)
            .basic_auth("admin", Some("mariadb"))
            .send()
            .await
            .expect("GET");
        resp.json().await.expect("json")
    }

    async fn put_raw(&self, path: &str) -> (u16, Value) {
        let url = format!("{}{path}", self.endpoint.base_url());
        let resp = reqwest::Client::new()
            .put(url)
            .basic_auth("admin", Some("mariadb"))
            .send()
            .await
            .expect("PUT");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }
}

fn api_error(result: Result<impl std::fmt::Debug, MaxscaleError>) -> (u16, Vec<String>) {
    match result {
        Err(MaxscaleError::Api {
            status, messages, ..
        }) => (status, messages),
        other => panic!("expected a MaxScale API error, got {other:?}"),
    }
}

// ---- key sets against the real MaxScale's samples ----

fn samples_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/maxscale/samples");
    dir.is_dir().then_some(dir)
}

fn sample(dir: &Path, stem: &str) -> Value {
    let text = std::fs::read_to_string(dir.join(format!("{stem}.json"))).expect(stem);
    serde_json::from_str(&text).expect(stem)
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "float",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Same keys, and the same JSON type wherever both sides are non-null.
fn same_shape(what: &str, lab: &Value, real: &Value) {
    assert_eq!(keys(lab), keys(real), "{what}: keys differ");
    for k in keys(real) {
        let (l, r) = (&lab[&k], &real[&k]);
        if !l.is_null() && !r.is_null() {
            assert_eq!(kind(l), kind(r), "{what}.{k}: type differs ({l} vs {r})");
        }
    }
}

fn subset_keys(what: &str, lab: &Value, real: &Value) {
    let extra: Vec<String> = keys(lab).difference(&keys(real)).cloned().collect();
    assert!(
        extra.is_empty(),
        "{what}: keys MaxScale does not send: {extra:?}"
    );
}

async fn compare_with_samples(c: &Cluster) {
    let Some(dir) = samples_dir() else {
        println!("samples dir absent; key-set comparison skipped");
        return;
    };
    let lab = c.get_raw("/v1/servers").await;
    let real = sample(&dir, "01_get_servers");
    assert_eq!(keys(&lab), keys(&real));
    for name in ["server1", "server2"] {
        let pick = |doc: &Value| {
            doc["data"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|s| s["id"] == name)
                .cloned()
                .expect(name)
        };
        let (l, r) = (pick(&lab), pick(&real));
        same_shape(name, &l, &r);
        same_shape(
            &format!("{name}.attributes"),
            &l["attributes"],
            &r["attributes"],
        );
        same_shape(
            &format!("{name}.parameters"),
            &l["attributes"]["parameters"],
            &r["attributes"]["parameters"],
        );
        subset_keys(
            &format!("{name}.statistics"),
            &l["attributes"]["statistics"],
            &r["attributes"]["statistics"],
        );
        same_shape(
            &format!("{name}.relationships"),
            &l["relationships"],
            &r["relationships"],
        );
        let (ls, rs) = (
            &l["attributes"]["slave_connections"],
            &r["attributes"]["slave_connections"],
        );
        assert_eq!(
            ls.as_array().map(Vec::len),
            rs.as_array().map(Vec::len),
            "{name} slave_connections"
        );
        if let (Some(l0), Some(r0)) = (ls.get(0), rs.get(0)) {
            same_shape(&format!("{name}.slave_connections[0]"), l0, r0);
        }
    }
    let one = c.get_raw("/v1/servers/server2").await;
    same_shape(
        "GET /v1/servers/server2",
        &one,
        &sample(&dir, "03_get_server2"),
    );

    let lab = c.get_raw(&format!("/v1/monitors/{MON}")).await;
    let real = sample(&dir, "05_get_monitor");
    same_shape("monitor", &lab["data"], &real["data"]);
    same_shape(
        "monitor.attributes",
        &lab["data"]["attributes"],
        &real["data"]["attributes"],
    );
    subset_keys(
        "monitor.parameters",
        &lab["data"]["attributes"]["parameters"],
        &real["data"]["attributes"]["parameters"],
    );
    let (ld, rd) = (
        &lab["data"]["attributes"]["monitor_diagnostics"],
        &real["data"]["attributes"]["monitor_diagnostics"],
    );
    same_shape("monitor_diagnostics", ld, rd);
    for i in 0..2 {
        same_shape(
            "server_info[i]",
            &ld["server_info"][i],
            &rd["server_info"][i],
        );
    }
    same_shape(
        "server_info[1].slave_connections[0]",
        &ld["server_info"][1]["slave_connections"][0],
        &rd["server_info"][1]["slave_connections"][0],
    );
    let monitors = c.get_raw("/v1/monitors").await;
    same_shape(
        "GET /v1/monitors",
        &monitors,
        &sample(&dir, "04_get_monitors"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn states_maintenance_switchover_and_router() {
    let c = cluster().await;
    let client = &c.client;

    // --- GET /v1/servers, /v1/monitors ---
    let servers = client.servers().await.expect("servers");
    let (s1, s2) = (find(&servers, "server1"), find(&servers, "server2"));
    assert!(s1.state().master && !s1.state().slave);
    assert!(s2.state().slave && s2.state().running);
    assert_eq!(s1.attributes.master_id, Some(-1));
    assert_eq!(s1.attributes.read_only, Some(false));
    assert_eq!(s2.attributes.read_only, Some(true));
    assert_eq!(s1.attributes.replication_lag, Some(0));
    assert_eq!(s1.attributes.last_event.as_deref(), Some("master_up"));
    assert!(
        s1.attributes
            .triggered_at
            .as_deref()
            .is_some_and(|t| t.ends_with(" GMT"))
    );
    assert!(
        !s1.attributes
            .gtid_binlog_pos
            .clone()
            .unwrap_or_default()
            .is_empty()
    );
    assert!(
        !s2.attributes
            .gtid_current_pos
            .clone()
            .unwrap_or_default()
            .is_empty()
    );
    assert!(
        s1.attributes
            .version_string
            .as_deref()
            .is_some_and(|v| v.contains("MariaDB"))
    );
    let link = &s2.attributes.slave_connections[0];
    assert_eq!(link.master_server_name.as_deref(), Some("server1"));
    assert_eq!(
        (
            link.slave_io_running.as_str(),
            link.slave_sql_running.as_str()
        ),
        ("Yes", "Yes")
    );
    assert_eq!(s2.attributes.master_id, Some(1));
    let mon = client.monitor(MON).await.expect("monitor");
    assert_eq!(mon.master(), Some("server1"));
    assert_eq!(client.monitors().await.expect("monitors").len(), 1);
    compare_with_samples(&c).await;

    // --- error shapes ---
    let wrong = MaxscaleClient::new(MaxscaleConfig {
        base_url: c.endpoint.base_url(),
        password: "nope".into(),
        ..MaxscaleConfig::default()
    })
    .expect("client");
    assert_eq!(
        api_error(wrong.servers().await),
        (401, vec!["Access denied".to_owned()])
    );
    // The poller says MaxScale answered and refused the credentials, not that it is down.
    let cancel = tokio_util::sync::CancellationToken::new();
    let mut rx = flightdeck::poll::maxscale::spawn(
        wrong,
        MON.to_string(),
        Duration::from_millis(200),
        cancel.clone(),
    );
    let snap = eventually("the wrong password's poll", || {
        let snap = rx.borrow_and_update().clone();
        async move {
            if snap.polled {
                Ok(snap)
            } else {
                Err("not polled yet".to_string())
            }
        }
    })
    .await;
    cancel.cancel();
    let err = snap.error.clone().expect("the poll failed");
    assert!(snap.said_no, "{err}");
    assert!(
        err.contains("HTTP 401: MaxScale rejected the credentials"),
        "{err}"
    );
    let mut dash = flightdeck::session::live::Dashboard::new(
        &[("server1".to_string(), "server1".to_string())],
        Duration::from_millis(250),
        Duration::from_secs(1),
    );
    dash.apply_maxscale(snap);
    let theme = flightdeck::tui::theme::Theme::PLAIN;
    let shown = flightdeck::tui::panes::summary::line(&dash, Instant::now(), 200, &theme);
    let shown: String = shown.spans.iter().map(|s| s.content.as_ref()).collect();
    assert!(shown.contains("MaxScale answers with an error"), "{shown}");
    assert!(!shown.contains("unreachable"), "{shown}");
    assert_eq!(
        api_error(
            client
                .set_state("nosuch", AdminState::Maintenance, false)
                .await
        ),
        (404, vec!["nosuch is not a server".to_owned()])
    );
    let (status, body) = c.put_raw("/v1/servers/server2/set?state=bogus").await;
    assert_eq!(status, 400);
    assert_eq!(
        body["errors"][0]["detail"],
        "Invalid or missing value for the `state` parameter"
    );
    assert_eq!(
        api_error(client.fetch_cmd_result("NoSuchMonitor").await),
        (
            400,
            vec!["Argument 1, monitor not found: NoSuchMonitor".to_owned()]
        )
    );
    let (status, body) = c.put_raw("/v1/services/RW-Split-Router/stop").await;
    assert_eq!(status, 404);
    assert!(
        body["errors"][0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("does not implement"))
    );

    // --- maintenance on a replica ---
    client
        .set_state("server2", AdminState::Maintenance, false)
        .await
        .expect("set maintenance");
    let s2 = client.server("server2").await.expect("server2");
    assert_eq!(s2.state().raw, "Maintenance, Running");
    client
        .clear_state("server2", AdminState::Maintenance)
        .await
        .expect("clear maintenance");
    c.wait_states(&[("server2", "Slave, Running")]).await;
    client
        .set_state("server2", AdminState::Drain, false)
        .await
        .expect("set drain");
    assert_eq!(
        client.server("server2").await.expect("server2").state().raw,
        "Drained, Slave, Running"
    );
    client
        .clear_state("server2", AdminState::Drain)
        .await
        .expect("clear drain");

    // --- maintenance / drain on the primary: refused, nothing changes ---
    for (state, force) in [
        (AdminState::Maintenance, false),
        (AdminState::Maintenance, true),
        (AdminState::Drain, false),
    ] {
        assert_eq!(
            api_error(client.set_state("server1", state, force).await),
            (400, vec![PRIMARY_REFUSAL.to_owned()])
        );
    }
    assert_eq!(
        client.server("server1").await.expect("server1").state().raw,
        "Master, Running"
    );

    // --- writes through the router go to the primary ---
    let mut before = c.via_router().await;
    let id: Option<u32> = before
        .query_first("SELECT @@server_id")
        .await
        .expect("server_id");
    assert_eq!(id, Some(1));
    for i in 0..3 {
        before
            .query_drop(format!("INSERT INTO demo (name) VALUES ('before-{i}')"))
            .await
            .expect("insert");
    }

    // --- switchover to server2: no transaction lost ---
    let refused = client.switchover(MON, "server1", Some("server2")).await;
    assert_eq!(
        api_error(refused),
        (
            400,
            vec![
                "'server1' is not a valid promotion target for switchover because it is already the primary."
                    .to_owned(),
                "Switchover cancelled.".to_owned()
            ]
        )
    );
    client
        .switchover(MON, "server2", Some("server1"))
        .await
        .expect("switchover");
    assert_eq!(
        client.fetch_cmd_result(MON).await.expect("fetch"),
        CommandResult::Done("switchover completed successfully.".to_owned())
    );
    let count = "SELECT COUNT(*) FROM app.demo WHERE name LIKE 'before-%'";
    assert_eq!(
        c.scalar("server2", count).await,
        "3",
        "rows written before the switchover"
    );
    assert_eq!(c.scalar("server2", "SELECT @@read_only").await, "0");
    assert_eq!(c.scalar("server1", "SELECT @@read_only").await, "1");
    let servers = c
        .wait_states(&[
            ("server1", "Slave, Running"),
            ("server2", "Master, Running"),
        ])
        .await;
    let link = &find(&servers, "server1").attributes.slave_connections[0];
    assert_eq!(link.using_gtid, "Current_Pos");
    assert_eq!(link.master_server_name.as_deref(), Some("server2"));
    assert_eq!(
        find(&servers, "server2").attributes.last_event.as_deref(),
        Some("new_master")
    );
    assert_eq!(
        client.monitor(MON).await.expect("monitor").master(),
        Some("server2")
    );

    // The client connected to the old primary was closed; a new one reaches the new primary.
    assert!(
        before.query_drop("SELECT 1").await.is_err(),
        "old connection still open"
    );
    let mut after = c.via_router().await;
    let id: Option<u32> = after
        .query_first("SELECT @@server_id")
        .await
        .expect("server_id");
    assert_eq!(id, Some(2));
    after
        .query_drop("INSERT INTO demo (name) VALUES ('after')")
        .await
        .expect("insert after switchover");
    let c_ref = &c;
    eventually("gtid_binlog_pos equal on both", || async move {
        let (a, b) = (
            c_ref.scalar("server1", "SELECT @@gtid_binlog_pos").await,
            c_ref.scalar("server2", "SELECT @@gtid_binlog_pos").await,
        );
        if a == b {
            Ok(())
        } else {
            Err(format!("{a} vs {b}"))
        }
    })
    .await;
    // The binary log is written before the engine commits: equal positions can precede the
    // row by a moment.
    eventually(
        "the row written after the switchover on server1",
        || async move {
            let count = c_ref
                .scalar(
                    "server1",
                    "SELECT COUNT(*) FROM app.demo WHERE name = 'after'",
                )
                .await;
            if count == "1" {
                Ok(())
            } else {
                Err(format!("{count} rows"))
            }
        },
    )
    .await;

    // --- async switchover back; fetch-cmd-result reports completion ---
    client
        .async_switchover(MON, "server1", Some("server2"))
        .await
        .expect("async switchover");
    let result = eventually("async switchover result", || async move {
        match client
            .fetch_cmd_result(MON)
            .await
            .map_err(|e| e.to_string())?
        {
            CommandResult::Running(m) => Err(m),
            done => Ok(done),
        }
    })
    .await;
    assert_eq!(
        result,
        CommandResult::Done("switchover completed successfully.".to_owned())
    );
    c.wait_states(&[
        ("server1", "Master, Running"),
        ("server2", "Slave, Running"),
    ])
    .await;
    let mut back = c.via_router().await;
    let id: Option<u32> = back
        .query_first("SELECT @@server_id")
        .await
        .expect("server_id");
    assert_eq!(id, Some(1));
    drop((after, back));

    c.endpoint.shutdown().await.expect("endpoint shutdown");
    c.lab.down(true).await.expect("lab down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switchover_to_a_stopped_replica_is_refused_and_down_servers_keep_last_values() {
    let mut c = cluster().await;
    let client = c.client.clone();
    let client = &client;

    let mut s2 = c.sql("server2").await;
    s2.query_drop("STOP SLAVE").await.expect("stop slave");
    let c_ref = &c;
    let broken = eventually("server2 no longer a replica", || async move {
        let s = c_ref
            .client
            .server("server2")
            .await
            .map_err(|e| e.to_string())?;
        if s.state().raw == "Running" {
            Ok(s)
        } else {
            Err(s.state().raw.clone())
        }
    })
    .await;
    assert_eq!(broken.attributes.replication_lag, Some(-1));
    assert_eq!(broken.attributes.last_event.as_deref(), Some("lost_slave"));
    let link = &broken.attributes.slave_connections[0];
    assert_eq!(
        (
            link.slave_io_running.as_str(),
            link.slave_sql_running.as_str()
        ),
        ("No", "No")
    );
    assert_eq!(link.seconds_behind_master, None);
    assert_eq!(link.master_server_name, None);

    let gtid_before = c.scalar("server1", "SELECT @@gtid_binlog_pos").await;
    let refusal = vec![
        "'server2' is not a valid promotion target for switchover because it is not replicating from 'server1'."
            .to_owned(),
        "Switchover cancelled.".to_owned(),
    ];
    assert_eq!(
        api_error(client.switchover(MON, "server2", Some("server1")).await),
        (400, refusal.clone())
    );
    client
        .async_switchover(MON, "server2", None)
        .await
        .expect("async switchover is accepted");
    let result = eventually("async refusal", || async move {
        match client
            .fetch_cmd_result(MON)
            .await
            .map_err(|e| e.to_string())?
        {
            CommandResult::Running(m) => Err(m),
            done => Ok(done),
        }
    })
    .await;
    assert_eq!(result, CommandResult::Failed(refusal));
    // Nothing changed.
    assert_eq!(c.scalar("server1", "SELECT @@read_only").await, "0");
    assert_eq!(c.scalar("server2", "SELECT @@read_only").await, "1");
    assert_eq!(
        c.scalar("server1", "SELECT @@gtid_binlog_pos").await,
        gtid_before
    );
    let status: Option<mysql_async::Row> = s2
        .query_first("SHOW SLAVE STATUS")
        .await
        .expect("slave status");
    assert!(status.is_some(), "server2 still has its replica connection");
    assert_eq!(
        client.server("server1").await.expect("server1").state().raw,
        "Master, Running"
    );

    s2.query_drop("START SLAVE").await.expect("start slave");
    let _ = s2.disconnect().await;
    let servers = c.wait_states(&[("server2", "Slave, Running")]).await;
    assert_eq!(
        find(&servers, "server2").attributes.last_event.as_deref(),
        Some("new_slave")
    );

    // Maintenance, then the server dies: "Maintenance, Down" with the last known values.
    client
        .set_state("server2", AdminState::Maintenance, false)
        .await
        .expect("maintenance");
    let known = client.server("server2").await.expect("server2");
    c.lab
        .ctl("server2", Action::Kill)
        .await
        .expect("kill server2");
    let servers = c.wait_states(&[("server2", "Maintenance, Down")]).await;
    let down = find(&servers, "server2");
    assert_eq!(down.attributes.replication_lag, Some(-1));
    assert_eq!(
        down.attributes.gtid_current_pos,
        known.attributes.gtid_current_pos
    );
    assert_eq!(
        down.attributes.version_string,
        known.attributes.version_string
    );
    client
        .clear_state("server2", AdminState::Maintenance)
        .await
        .expect("clear");
    c.wait_states(&[("server2", "Down")]).await;
    assert!(
        c.client
            .server("server2")
            .await
            .expect("server2")
            .state()
            .down
    );
    c.lab
        .ctl("server2", Action::Start)
        .await
        .expect("start server2");
    let servers = c.wait_states(&[("server2", "Slave, Running")]).await;
    assert_eq!(
        find(&servers, "server2").attributes.last_event.as_deref(),
        Some("slave_up")
    );

    c.endpoint.shutdown().await.expect("endpoint shutdown");
    c.lab.down(true).await.expect("lab down");
}

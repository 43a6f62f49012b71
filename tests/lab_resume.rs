//! `flightdeck lab up --resume`, the command `./scripts/cockpit` runs before it opens the
//! cockpit, against a real lab in every state a rehearsal leaves it in: no lab yet, all up, a
//! server stopped by a runbook step with the endpoint dead, and stopped with `lab down`.
//! Also what the lab leaves on disk: no password in a binlog, consistent GTIDs, private files.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use flightdeck::lab::{Lab, LabGuard, process, serve};
use flightdeck::maxscale::{MaxscaleClient, MaxscaleConfig};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, Row};
use nix::sys::signal::Signal;

const DEADLINE: Duration = Duration::from_secs(120);
const SECRETS: [&str; 6] = [
    "root",
    "repl",
    "monitor",
    "app",
    "flightdeck",
    "flightdeck_watch",
];

/// Polls `check` until it returns true; panics with `what` after `DEADLINE`.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let begun = Instant::now();
    while !check().await {
        assert!(begun.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Runs `flightdeck lab --dir DIR ARGS…` to completion (off the async runtime).
async fn flightdeck(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flightdeck"));
    cmd.arg("lab").arg("--dir").arg(dir).args(args);
    let shown = format!("flightdeck lab {}", args.join(" "));
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("run flightdeck");
    eprintln!(
        "$ {shown} -> {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// What `./scripts/cockpit` runs (on the installed build, with a test's own endpoint port).
async fn resume(dir: &Path, maxscale_port: u16) -> Output {
    let port = maxscale_port.to_string();
    flightdeck(dir, &["up", "--resume", "--maxscale-port", &port]).await
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn endpoint_answers(lab: &Lab) -> bool {
    let Ok(client) = MaxscaleClient::new(MaxscaleConfig {
        base_url: lab.endpoint_url().to_owned(),
        timeout: Duration::from_secs(3),
        password: lab.secret("maxscale_admin").unwrap_or_default(),
        ..MaxscaleConfig::default()
    }) else {
        return false;
    };
    client.servers().await.is_ok_and(|s| s.len() == 2)
}

/// `@@server_id` of the server the SQL router sends an `app` connection to.
async fn routed_server_id(lab: &Lab) -> Option<u32> {
    let opts = OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(lab.state().endpoint.router_port)
        .prefer_socket(false)
        .user(Some("app"))
        .pass(Some(lab.secret("app").ok()?));
    let mut conn = tokio::time::timeout(Duration::from_secs(5), Conn::new(opts))
        .await
        .ok()?
        .ok()?;
    let id: Option<u32> = conn.query_first("SELECT @@server_id").await.ok()?;
    let _ = conn.disconnect().await;
    id
}

async fn tcp_refused(port: u16) -> bool {
    tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
}

/// Every event of every binary log of `server`, as `Event_type: Info` lines.
async fn binlog_events(lab: &Lab, server: &str) -> Vec<String> {
    let mut conn = lab.connect(server, "flightdeck").await.expect("connect");
    let logs: Vec<Row> = conn.query("SHOW BINARY LOGS").await.expect("binlogs");
    let mut events = Vec::new();
    for log in logs {
        let name: String = log.get(0).expect("Log_name");
        let rows: Vec<Row> = conn
            .query(format!("SHOW BINLOG EVENTS IN '{name}'"))
            .await
            .expect("binlog events");
        for row in rows {
            let kind: Option<String> = row.get_opt("Event_type").and_then(Result::ok);
            let info: Option<String> = row.get_opt("Info").and_then(Result::ok);
            events.push(format!(
                "{name} {}: {}",
                kind.unwrap_or_default(),
                info.unwrap_or_default()
            ));
        }
    }
    conn.disconnect().await.expect("disconnect");
    events
}

async fn scalar(lab: &Lab, server: &str, sql: &str) -> String {
    let mut conn = lab.connect(server, "flightdeck").await.expect("connect");
    let v: Option<String> = conn.query_first(sql).await.expect(sql);
    conn.disconnect().await.expect("disconnect");
    v.unwrap_or_default()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Regular files under `dir` that group or others may read.
fn readable_by_others(dir: &Path) -> Vec<(PathBuf, u32)> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                todo.push(path);
            } else if kind.is_file() && mode(&path) & 0o077 != 0 {
                let m = mode(&path);
                found.push((path, m));
            }
        }
    }
    found
}

/// The users are created on each server outside the binary log: no CREATE USER, GRANT or
/// password in any binlog, the same GTID position everywhere (no errant transaction), and
/// replication running.
async fn no_secret_in_binlogs_and_consistent_gtids(lab: &Lab) {
    lab.wait_caught_up("server2", DEADLINE)
        .await
        .expect("server2 caught up");
    let passwords: Vec<String> = SECRETS
        .iter()
        .map(|s| lab.secret(s).expect("secret"))
        .collect();
    for server in ["server1", "server2"] {
        let events = binlog_events(lab, server).await;
        assert!(
            events.iter().any(|e| e.contains("CREATE DATABASE app")),
            "{server}: the schema is binlogged (it replicates): {events:#?}"
        );
        for e in &events {
            let upper = e.to_uppercase();
            for word in [
                "CREATE USER",
                "ALTER USER",
                "DROP USER",
                "GRANT ",
                "IDENTIFIED",
            ] {
                assert!(!upper.contains(word), "{server}'s binlog has {word:?}: {e}");
            }
            for pw in &passwords {
                assert!(
                    !e.contains(pw.as_str()),
                    "{server}'s binlog holds a password: {e}"
                );
            }
        }
    }
    let primary = scalar(lab, "server1", "SELECT @@gtid_binlog_pos").await;
    let replica = scalar(lab, "server2", "SELECT @@gtid_binlog_pos").await;
    assert!(primary.starts_with("0-1-"), "{primary}");
    assert_eq!(primary, replica, "the replica has transactions of its own");
    assert_eq!(
        scalar(lab, "server2", "SELECT @@gtid_current_pos").await,
        primary
    );
    let status = lab.status().await;
    let repl = status[1].replication.as_ref().expect("server2 replicates");
    assert!(repl.running(), "{repl:?}");
}

fn private_files(lab: &Lab) {
    let state = lab.state();
    // Others get nothing; the group keeps what the owner chose (a fresh lab: reach a
    // journal and its socket by name).
    assert_eq!(mode(lab.dir()) & 0o707, 0o700, "the lab directory");
    assert_eq!(mode(&state.secrets_dir), 0o700);
    assert_eq!(mode(&state.backup_dir), 0o700);
    for name in SECRETS {
        assert_eq!(mode(&state.secret_path(name)), 0o600, "secret {name}");
    }
    for s in lab.servers() {
        assert_eq!(mode(&s.dir), 0o700, "{}", s.dir.display());
        assert_eq!(mode(&s.client_cnf), 0o600, "{}", s.client_cnf.display());
        let open = readable_by_others(&s.datadir);
        assert!(open.is_empty(), "readable by others: {open:#?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cockpit_command_resumes_a_lab_in_every_state() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("lab");
    let port = free_port();

    // No lab yet: it builds one.
    let out = resume(&dir, port).await;
    let mut lab: LabGuard = match Lab::open(&dir) {
        Ok(lab) => lab.guard(), // torn down even if an assertion fails
        Err(e) => panic!("no lab after `up --resume` ({e}): {}", stderr(&out)),
    };
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("lab up in"), "{}", stdout(&out));

    // What the lab leaves on disk, and what `status` and the inventory say.
    no_secret_in_binlogs_and_consistent_gtids(&lab).await;
    private_files(&lab);
    let router_port = lab.state().endpoint.router_port;
    let inventory = std::fs::read_to_string(lab.inventory_path()).expect("inventory");
    let inv: toml::Table = inventory.parse().expect("inventory is TOML");
    assert_eq!(
        inv["vars"]["router_port"].as_str(),
        Some(router_port.to_string().as_str())
    );
    assert!(
        inventory.contains(&format!("SQL router on 127.0.0.1:{router_port}")),
        "{inventory}"
    );
    flightdeck::inventory::load_file(lab.inventory_path()).expect("a valid inventory");
    let status = flightdeck(&dir, &["status"]).await;
    assert!(status.status.success());
    let text = stdout(&status);
    assert!(
        text.contains(&format!("router     127.0.0.1:{router_port}  up")),
        "{text}"
    );
    assert!(text.contains("  up (pid "), "{text}");

    // Everything up: nothing to do, and no "already running".
    let out = resume(&dir, port).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("kept as it is"), "{}", stdout(&out));
    assert!(!stderr(&out).contains("restarted"), "{}", stderr(&out));

    // Phase 3 of the rehearsal: the runbook stopped server2; the endpoint died meanwhile.
    let stopped = flightdeck(&dir, &["ctl", "server2", "stop"]).await;
    assert!(stopped.status.success(), "{}", stderr(&stopped));
    lab.refresh().expect("refresh");
    let endpoint_pid = serve::running_pid(lab.state()).expect("the endpoint runs");
    process::signal(endpoint_pid, Signal::SIGKILL).expect("kill the endpoint");
    let endpoint_port = lab.state().endpoint.port;
    eventually("the endpoint to die", || tcp_refused(endpoint_port)).await;
    let status = flightdeck(&dir, &["status"]).await;
    assert_eq!(status.status.code(), Some(1), "server2 is down");
    let text = stdout(&status);
    assert!(text.contains("  dead ("), "{text}");
    assert!(
        text.contains(&format!("router     127.0.0.1:{router_port}  dead")),
        "{text}"
    );

    let out = resume(&dir, port).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stderr(&out);
    let restarted: Vec<&str> = said
        .lines()
        .filter(|l| l.contains("endpoint was dead: restarted it"))
        .collect();
    assert_eq!(restarted.len(), 1, "one line says so: {said}");
    assert!(said.contains("server2 is stopped; left as it is"), "{said}");
    lab.refresh().expect("refresh");
    assert_eq!(lab.running_pid("server2").expect("server2"), None);
    assert!(
        tcp_refused(lab.servers()[1].port).await,
        "server2 still stopped"
    );
    eventually("the endpoint to answer", || endpoint_answers(&lab)).await;
    eventually("the router to reach server1", || async {
        routed_server_id(&lab).await == Some(1)
    })
    .await;
    assert_eq!(lab.running_pid("server2").expect("server2"), None);

    // `lab down`, then the script again: the whole lab comes back.
    let down = flightdeck(&dir, &["down"]).await;
    assert!(down.status.success(), "{}", stderr(&down));
    let out = resume(&dir, port).await;
    assert!(out.status.success(), "{}", stderr(&out));
    lab.refresh().expect("refresh");
    let status = lab.status().await;
    assert!(status.iter().all(|s| s.up), "{status:?}");
    eventually("the endpoint to answer", || endpoint_answers(&lab)).await;

    lab.down(false).await.expect("lab down");
}

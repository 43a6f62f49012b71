//! The endpoint's lifecycle on a real lab: `lab ctl endpoint stop|start|restart`, `lab status`
//! exiting 1 while it is down, `lab up --resume` leaving a stopped endpoint stopped, a
//! `lab serve` started by hand that `lab status` shows and `lab down --purge` stops, and admin
//! states (maintenance, drain) kept across endpoint restarts as MaxScale's monitor journal
//! keeps them.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use flightdeck::lab::{Lab, LabOptions, process, serve};
use flightdeck::maxscale::{AdminState, MaxscaleClient, MaxscaleConfig};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder};

/// Generous: how long a lab may take to reach a state (never a property under test).
const DEADLINE: Duration = Duration::from_secs(90);

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

fn exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_flightdeck"))
}

/// Runs `flightdeck lab --dir DIR ARGS…` to completion (off the async runtime).
async fn flightdeck(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(exe());
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

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
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

/// A `flightdeck lab serve` started by hand; killed on drop if a phase fails before
/// `lab down` stopped it.
struct ByHand(Child);

impl ByHand {
    fn exited(&mut self) -> bool {
        matches!(self.0.try_wait(), Ok(Some(_)))
    }
}

impl Drop for ByHand {
    fn drop(&mut self) {
        if !self.exited() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_endpoint_stops_starts_and_is_known_however_it_was_started() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("lab");
    let mut opts = LabOptions::new(&dir);
    opts.serve_exe = Some(exe());
    let mut lab = Lab::up(opts).await.expect("lab up").guard();
    let (port, router_port) = (lab.state().endpoint.port, lab.state().endpoint.router_port);

    // Up: status names the endpoint and the router with their pid and ports, and exits 0.
    let pid = serve::running_pid(lab.state()).expect("the endpoint runs");
    let status = flightdeck(&dir, &["status"]).await;
    assert!(status.status.success(), "{}", stderr(&status));
    let text = stdout(&status);
    assert!(
        text.contains(&format!(
            "endpoint   http://127.0.0.1:{port}  up (pid {pid}, REST API on port {port})"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "router     127.0.0.1:{router_port}  up (pid {pid};"
        )),
        "{text}"
    );
    assert!(!text.contains("down:"), "{text}");

    // Stopped: status exits 1 and says the endpoint is down; nothing listens.
    let out = flightdeck(&dir, &["ctl", "endpoint", "stop"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("stopped (pid {pid}")),
        "{}",
        stdout(&out)
    );
    let status = flightdeck(&dir, &["status"]).await;
    assert_eq!(status.status.code(), Some(1), "the endpoint is down");
    let text = stdout(&status);
    assert!(
        text.contains("  down (stopped with `lab ctl endpoint stop`"),
        "{text}"
    );
    assert!(
        text.contains(&format!("router     127.0.0.1:{router_port}  down")),
        "{text}"
    );
    assert!(text.contains("down: the endpoint"), "{text}");
    assert!(tcp_refused(port).await && tcp_refused(router_port).await);

    // `lab up --resume` (./scripts/cockpit) leaves an endpoint stopped on purpose stopped.
    let p = port.to_string();
    let out = flightdeck(&dir, &["up", "--resume", "--maxscale-port", &p]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("left as it is"), "{}", stderr(&out));
    assert!(tcp_refused(port).await, "still stopped");

    // Started: it answers again, REST API and router both.
    let out = flightdeck(&dir, &["ctl", "endpoint", "start"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    lab.refresh().expect("refresh");
    eventually("the endpoint to answer", || endpoint_answers(&lab)).await;
    eventually("the router to reach server1", || async {
        routed_server_id(&lab).await == Some(1)
    })
    .await;
    assert!(flightdeck(&dir, &["status"]).await.status.success());

    // Restarted: another process, answering.
    let before = serve::running_pid(lab.state()).expect("running");
    let out = flightdeck(&dir, &["ctl", "endpoint", "restart"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    lab.refresh().expect("refresh");
    let after = serve::running_pid(lab.state()).expect("running again");
    assert_ne!(before, after);
    eventually("the restarted endpoint to answer", || {
        endpoint_answers(&lab)
    })
    .await;

    // By hand, from the lab's parent with a relative --dir: status knows it, and a second
    // one is refused while it serves.
    let out = flightdeck(&dir, &["ctl", "endpoint", "stop"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let child = Command::new(exe())
        .args(["lab", "--dir", "lab", "serve"])
        .current_dir(tmp.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start lab serve by hand");
    let mut by_hand = ByHand(child);
    let hand_pid = by_hand.0.id();
    eventually("the hand-started endpoint to answer", || {
        endpoint_answers(&lab)
    })
    .await;
    let status = flightdeck(&dir, &["status"]).await;
    assert!(status.status.success(), "{}", stdout(&status));
    assert!(
        stdout(&status).contains(&format!("up (pid {hand_pid}, REST API on port {port})")),
        "{}",
        stdout(&status)
    );
    let second = flightdeck(&dir, &["serve"]).await;
    assert!(!second.status.success());
    assert!(
        stderr(&second).contains(&format!("already runs (pid {hand_pid})")),
        "{}",
        stderr(&second)
    );

    // `lab down --purge` stops it too.
    let out = flightdeck(&dir, &["down", "--purge"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    eventually("the hand-started endpoint to exit", || {
        let gone = by_hand.exited();
        async move { gone }
    })
    .await;
    assert!(!dir.exists());
    assert!(tcp_refused(port).await && tcp_refused(router_port).await);
    drop(lab.into_inner()); // already down
}

/// A client with the admin password the lab generated, read from `DIR/secrets/maxscale_admin`.
fn admin_client(lab: &Lab, dir: &Path) -> MaxscaleClient {
    let password = std::fs::read_to_string(dir.join("secrets").join("maxscale_admin"))
        .expect("the endpoint's admin password");
    MaxscaleClient::new(MaxscaleConfig {
        base_url: lab.endpoint_url().to_owned(),
        timeout: Duration::from_secs(3),
        password: password.trim().to_owned(),
        ..MaxscaleConfig::default()
    })
    .expect("client")
}

/// server2's state and the monitor's primary in the endpoint's first answer (a fresh endpoint
/// answers 404 until its first monitor tick).
async fn first_answer(lab: &Lab, dir: &Path) -> (String, Option<String>) {
    let client = admin_client(lab, dir);
    let begun = Instant::now();
    loop {
        if let Ok(s) = client.server("server2").await {
            let monitor = client.monitor("MariaDB-Monitor").await.expect("monitor");
            let master = monitor
                .attributes
                .monitor_diagnostics
                .and_then(|d| d.master);
            return (s.state().raw.clone(), master);
        }
        assert!(
            begun.elapsed() < DEADLINE,
            "the endpoint never showed server2"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_state(lab: &Lab, dir: &Path, want: &str) {
    let client = admin_client(lab, dir);
    eventually(&format!("server2 to be {want:?}"), || async {
        client
            .server("server2")
            .await
            .is_ok_and(|s| s.state().raw == want)
    })
    .await;
}

/// `DIR/mxs-state.json`: private, and what it says of server2's admin states and the primary.
fn journal(dir: &Path) -> (Vec<String>, String) {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(serve::JOURNAL_FILE);
    let mode = std::fs::metadata(&path)
        .expect("the journal")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{}", path.display());
    let text = std::fs::read_to_string(&path).expect("the journal");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let admin = v["servers"][1]["admin"]
        .as_array()
        .expect("admin states")
        .iter()
        .map(|a| a.as_str().unwrap_or_default().to_owned())
        .collect();
    (
        admin,
        v["master_server"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintenance_and_drain_survive_an_endpoint_restart_until_cleared() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("lab");
    let mut opts = LabOptions::new(&dir);
    opts.serve_exe = Some(exe());
    let mut lab = Lab::up(opts).await.expect("lab up").guard();
    let dir = lab.state().dir.clone();
    wait_state(&lab, &dir, "Slave, Running").await;

    // Set through the REST API: on disk as soon as the endpoint answered 204.
    let client = admin_client(&lab, &dir);
    client
        .set_state("server2", AdminState::Maintenance, false)
        .await
        .expect("set maintenance");
    client
        .set_state("server2", AdminState::Drain, false)
        .await
        .expect("set drain");
    assert_eq!(
        journal(&dir),
        (vec!["maintenance".into(), "drain".into()], "server1".into())
    );

    // The rehearsal's walk: server2 stopped, then the endpoint dies (SIGKILL: nothing is
    // written on the way out) and `lab up --resume` starts it again.
    let out = flightdeck(&dir, &["ctl", "server2", "stop"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    wait_state(&lab, &dir, "Maintenance, Drained, Down").await;
    let pid = serve::running_pid(lab.state()).expect("the endpoint runs");
    process::signal(pid, nix::sys::signal::Signal::SIGKILL).expect("kill");
    eventually("the endpoint to die", || {
        let gone = serve::running_pid(lab.state()).is_none();
        async move { gone }
    })
    .await;
    let out = flightdeck(&dir, &["up", "--resume"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("was dead: restarted it"),
        "{}",
        stderr(&out)
    );
    lab.refresh().expect("refresh");
    assert_ne!(serve::running_pid(lab.state()), Some(pid));
    assert_eq!(
        first_answer(&lab, &dir).await,
        ("Maintenance, Drained, Down".into(), Some("server1".into())),
        "the restarted endpoint keeps server2 out of the pool from its first answer"
    );

    // Back up, still in maintenance; cleared, and a graceful restart keeps it cleared.
    let out = flightdeck(&dir, &["ctl", "server2", "start"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    wait_state(&lab, &dir, "Maintenance, Drained, Running").await;
    let client = admin_client(&lab, &dir);
    client
        .clear_state("server2", AdminState::Maintenance)
        .await
        .expect("clear maintenance");
    client
        .clear_state("server2", AdminState::Drain)
        .await
        .expect("clear drain");
    assert_eq!(journal(&dir), (vec![], "server1".into()));
    wait_state(&lab, &dir, "Slave, Running").await;
    let out = flightdeck(&dir, &["ctl", "endpoint", "restart"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    lab.refresh().expect("refresh");
    let (state, master) = first_answer(&lab, &dir).await;
    assert!(
        !state.contains("Maintenance") && !state.contains("Drain"),
        "{state}"
    );
    assert_eq!(master.as_deref(), Some("server1"));
    wait_state(&lab, &dir, "Slave, Running").await;
}

//! The log file explains what happened to an SSH connection: the product's own log
//! (`flightdeck::logging::init_in`, as `main` installs it under the state directory) is
//! this test binary's subscriber, writing into a tempdir. Against the loopback sshd of
//! `tests/ssh_exec/sshd.rs`: a session opens, its ControlMaster is killed with SIGKILL, the
//! next command reconnects, and a command that is cancelled is stopped with TERM. The log
//! must say each of these in words an operator can follow afterwards.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)] // not every helper of the sshd fixture is used here
#[path = "ssh_exec/sshd.rs"]
mod sshd;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use flightdeck::exec::host::{HostError, HostPool, HostRun, HostTransport, SshOptions};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use sshd::sshd;

const PATIENCE: Duration = Duration::from_secs(60);

/// Runs `script` on the pool to its end, draining its output.
async fn run(
    pool: &HostPool,
    to: &HostTransport,
    script: &str,
    cancel: CancellationToken,
) -> Result<HostRun, HostError> {
    let (tx, mut rx) = mpsc::channel(64);
    let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let result = tokio::time::timeout(PATIENCE, pool.run(to, script, PATIENCE, cancel, tx))
        .await
        .expect("the run ended");
    drain.await.expect("drained");
    result
}

/// The pid of the ControlMaster behind `socket`, as `ssh -O check` names it.
fn master_pid(config: &std::path::Path, socket: &std::path::Path) -> Option<i32> {
    let out = Command::new("ssh")
        .arg("-F")
        .arg(config)
        .arg("-S")
        .arg(socket)
        .args(["-O", "check", "127.0.0.1"])
        .stdout(Stdio::null())
        .output()
        .expect("ssh -O check");
    let said = String::from_utf8_lossy(&out.stderr);
    let pid = said.split("pid=").nth(1)?.split(')').next()?;
    pid.trim().parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_explains_a_killed_ssh_connection_and_a_cancelled_command() {
    let logs = tempfile::tempdir().expect("log dir");
    let log = flightdeck::logging::init_in(logs.path()).expect("the only subscriber here");

    let sshd = sshd();
    let control = tempfile::tempdir().expect("control dir");
    let pool = HostPool::new(SshOptions {
        config_file: Some(sshd.path("client_config")),
        control_dir: Some(control.path().to_path_buf()),
        connect_timeout: Duration::from_secs(10),
        stop_grace: Duration::from_secs(2),
        ..SshOptions::default()
    });
    let to = HostTransport::Ssh {
        host: "127.0.0.1".into(),
        user: None,
        port: Some(sshd.port),
    };
    let first = run(&pool, &to, "echo first", CancellationToken::new()).await;
    assert_eq!(first.expect("first run").exit_code, Some(0));

    // The ControlMaster dies as if the network or an OOM killer took it.
    let master = std::fs::read_dir(control.path())
        .expect("control dir")
        .map(|e| e.expect("entry").path().join("master"))
        .find(|p| p.exists())
        .expect("a master socket");
    let pid = master_pid(&sshd.path("client_config"), &master).expect("the master's pid");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill the master");
    let again = run(&pool, &to, "echo again", CancellationToken::new()).await;
    assert_eq!(again.expect("run after the kill").exit_code, Some(0));

    // A cancelled command: the operator pressed Ctrl-C.
    let cancel = CancellationToken::new();
    let stopper = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        stopper.cancel();
    });
    let cancelled = run(&pool, &to, "sleep 271.828", cancel).await;
    assert!(cancelled.is_ok(), "{cancelled:?}");
    pool.close().await;

    let today = log.today();
    drop(log); // flushes the writer's queue
    let deadline = Instant::now() + PATIENCE;
    let text = loop {
        let text = std::fs::read_to_string(&today).unwrap_or_default();
        if text.contains("stopping the command") || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let port = sshd.port;
    for said in [
        format!("opened ssh session destination=127.0.0.1:{port}"),
        "ssh session died".to_string(),
        "reconnecting".to_string(),
        "stopping the command: TERM to its process group".to_string(),
    ] {
        assert!(text.contains(&said), "the log lacks {said:?}:\n{text}");
    }
    // Two sessions opened: before the kill and after it.
    assert_eq!(text.matches("opened ssh session").count(), 2, "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "no terminal colours in a file:\n{text}"
    );
}

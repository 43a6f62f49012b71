//! The host executor against a real sshd: each test process starts its own `/usr/sbin/sshd`
//! on 127.0.0.1 (a free port, keys and configs in a tempdir, killed when the last test using
//! it is done), so the user's `~/.ssh` is never read or written. Since that sshd runs on this
//! machine, "the remote process is gone" is checked with `pgrep` here.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "ssh_exec/sshd.rs"]
mod sshd;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use flightdeck::exec::host::{
    HostError, HostPool, HostRun, HostTransport, OutputChunk, RunEnd, SshOptions, Stream,
};
use tempfile::TempDir;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use sshd::{Sshd, free_port, run_ok, sshd};

/// How long any condition may take before a test gives up (never a duration assertion).
/// The `sleep 314.15x` markers outlive it, so a process that is "gone" was killed.
const PATIENCE: Duration = Duration::from_secs(60);

/// A pool whose ControlMaster sockets live in their own tempdir (returned with it).
fn pool_with(sshd: &Sshd, config: &str) -> (HostPool, TempDir) {
    let control = tempfile::tempdir().expect("control dir");
    let pool = HostPool::new(SshOptions {
        config_file: Some(sshd.path(config)),
        control_dir: Some(control.path().to_path_buf()),
        connect_timeout: Duration::from_secs(10),
        stop_grace: Duration::from_secs(2),
        ..SshOptions::default()
    });
    (pool, control)
}

fn transport(port: u16) -> HostTransport {
    HostTransport::Ssh {
        host: "127.0.0.1".into(),
        user: None,
        port: Some(port),
    }
}

/// Starts a run in its own task (so it must be `Send`); returns the task and the output.
fn start(
    pool: &HostPool,
    transport: HostTransport,
    script: &str,
    timeout: Duration,
    cancel: CancellationToken,
) -> (
    JoinHandle<Result<HostRun, HostError>>,
    mpsc::Receiver<OutputChunk>,
) {
    let (tx, rx) = mpsc::channel(64);
    let (pool, script) = (pool.clone(), script.to_string());
    let handle =
        tokio::spawn(async move { pool.run(&transport, &script, timeout, cancel, tx).await });
    (handle, rx)
}

/// Runs to the end; returns the result with stdout and stderr, each as one string.
async fn run_all(
    pool: &HostPool,
    transport: HostTransport,
    script: &str,
) -> (Result<HostRun, HostError>, String, String) {
    let (handle, mut rx) = start(pool, transport, script, PATIENCE, CancellationToken::new());
    let mut chunks = Vec::new();
    let collected = tokio::time::timeout(PATIENCE, async {
        while let Some(chunk) = rx.recv().await {
            chunks.push(chunk);
        }
    });
    collected.await.expect("output never closed");
    let result = tokio::time::timeout(PATIENCE, handle)
        .await
        .expect("run hung")
        .expect("task");
    for chunk in &chunks {
        let body = chunk.text.strip_suffix('\n').unwrap_or(&chunk.text);
        assert!(
            !body.contains('\n'),
            "a chunk holds one line at most: {chunk:?}"
        );
    }
    let text = |stream| {
        chunks
            .iter()
            .filter(|c| c.stream == stream)
            .map(|c| c.text.as_str())
            .collect()
    };
    (result, text(Stream::Stdout), text(Stream::Stderr))
}

async fn process_running(pattern: &str) -> bool {
    let status = tokio::process::Command::new("pgrep")
        .arg("-f")
        .arg(pattern)
        .stdout(Stdio::null())
        .status()
        .await;
    status.expect("run pgrep").success()
}

async fn wait_until_running(pattern: &str, run: &JoinHandle<Result<HostRun, HostError>>) {
    let deadline = Instant::now() + PATIENCE;
    while !process_running(pattern).await {
        assert!(
            !run.is_finished(),
            "the run ended before `{pattern}` was seen"
        );
        assert!(Instant::now() < deadline, "`{pattern}` never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_until_gone(pattern: &str) {
    let deadline = Instant::now() + PATIENCE;
    while process_running(pattern).await {
        assert!(Instant::now() < deadline, "`{pattern}` is still running");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn recv_text(rx: &mut mpsc::Receiver<OutputChunk>) -> String {
    let chunk = tokio::time::timeout(PATIENCE, rx.recv())
        .await
        .expect("no output");
    chunk.expect("output closed").text
}

fn exited(code: i32) -> HostRun {
    HostRun {
        exit_code: Some(code),
        ended: RunEnd::Exited,
    }
}

/// The master sockets' directories `openssh` made under the control dir.
fn master_dirs(control: &TempDir) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(control.path()).expect("read control dir");
    let dirs = entries.map(|e| e.expect("entry").path());
    dirs.filter(|p| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(".ssh-connection"))
    })
    .collect()
}

#[tokio::test]
async fn ssh_runs_a_script_with_its_output_and_exit_code() {
    let sshd = sshd();
    let (pool, _control) = pool_with(&sshd, "client_config");
    let t = transport(sshd.port);
    let script = "echo out1; echo err1 >&2; echo out2\necho err2 >&2; printf 'no newline'";
    let (result, stdout, stderr) = run_all(&pool, t.clone(), script).await;
    assert_eq!(result.expect("run"), exited(0));
    assert_eq!(stdout, "out1\nout2\nno newline");
    assert_eq!(stderr, "err1\nerr2\n");

    // The script reaches the remote `sh -s` as written; the exit status is the script's.
    let (result, stdout, _) =
        run_all(&pool, t.clone(), "echo \"it's\" 'a '\"'\"'quote'; exit 3").await;
    assert_eq!(result.expect("run"), exited(3));
    assert_eq!(stdout, "it's a 'quote\n");

    let (result, _, stderr) = run_all(&pool, t, "no-such-command-flightdeck").await;
    assert_eq!(result.expect("run"), exited(127));
    assert!(stderr.contains("no-such-command-flightdeck"), "{stderr}");
    pool.close().await;
}

#[tokio::test]
async fn ssh_output_streams_while_the_command_runs() {
    let sshd = sshd();
    let (pool, _control) = pool_with(&sshd, "client_config");
    let flag_dir = tempfile::tempdir().expect("tempdir");
    let flag = flag_dir.path().join("go");
    // The command cannot end before the test creates `flag`, which it does only after the
    // first line has arrived.
    let script = format!(
        "echo first; while [ ! -e '{}' ]; do sleep 0.05; done; echo second",
        flag.display()
    );
    let (handle, mut rx) = start(
        &pool,
        transport(sshd.port),
        &script,
        PATIENCE,
        CancellationToken::new(),
    );
    assert_eq!(recv_text(&mut rx).await, "first\n");
    assert!(!handle.is_finished());
    std::fs::write(&flag, "").expect("create flag");
    assert_eq!(recv_text(&mut rx).await, "second\n");
    let result = tokio::time::timeout(PATIENCE, handle)
        .await
        .expect("run hung")
        .expect("task");
    assert_eq!(result.expect("run"), exited(0));
    pool.close().await;
}

#[tokio::test]
async fn ssh_timeout_kills_the_remote_command() {
    let sshd = sshd();
    let (pool, _control) = pool_with(&sshd, "client_config");
    let script = "echo started; sleep 314.159; echo never";
    let timeout = Duration::from_secs(1);
    let (handle, mut rx) = start(
        &pool,
        transport(sshd.port),
        script,
        timeout,
        CancellationToken::new(),
    );
    wait_until_running("^sleep 314.159", &handle).await;
    let result = tokio::time::timeout(PATIENCE, handle)
        .await
        .expect("run hung")
        .expect("task");
    assert_eq!(
        result.expect("run"),
        HostRun {
            exit_code: None,
            ended: RunEnd::TimedOut
        }
    );
    assert_eq!(recv_text(&mut rx).await, "started\n");
    assert!(rx.recv().await.is_none(), "nothing after the kill");
    wait_until_gone("sleep 314.159").await;
    pool.close().await;
}

#[tokio::test]
async fn ssh_cancel_kills_a_remote_command_that_ignores_term() {
    let sshd = sshd();
    let (pool, _control) = pool_with(&sshd, "client_config");
    // TERM is ignored by the shell and the sleep it starts: only the KILL that follows stops them.
    let script = "trap '' TERM; echo started; sleep 314.158; echo never";
    let cancel = CancellationToken::new();
    let (handle, mut rx) = start(
        &pool,
        transport(sshd.port),
        script,
        PATIENCE,
        cancel.clone(),
    );
    assert_eq!(recv_text(&mut rx).await, "started\n");
    wait_until_running("^sleep 314.158", &handle).await;
    cancel.cancel();
    let result = tokio::time::timeout(PATIENCE, handle)
        .await
        .expect("run hung")
        .expect("task");
    assert_eq!(
        result.expect("run"),
        HostRun {
            exit_code: None,
            ended: RunEnd::Cancelled
        }
    );
    wait_until_gone("sleep 314.158").await;
    pool.close().await;
}

#[tokio::test]
async fn ssh_session_is_reused_and_reopened_when_it_died() {
    let sshd = sshd();
    let (pool, control) = pool_with(&sshd, "client_config");
    let t = transport(sshd.port);
    for _ in 0..2 {
        let (result, stdout, _) = run_all(&pool, t.clone(), "echo same").await;
        assert_eq!(
            (result.expect("run"), stdout.as_str()),
            (exited(0), "same\n")
        );
    }
    assert_eq!(pool.sessions_opened(), 1);
    let masters = master_dirs(&control);
    assert_eq!(masters.len(), 1, "one ControlMaster: {masters:?}");

    // The master goes away (network blip, ControlPersist ran out): the next run reconnects.
    let socket = masters[0].join("master");
    let control_command = |op: &str| {
        let mut ssh = Command::new("ssh");
        ssh.arg("-F")
            .arg(sshd.path("client_config"))
            .arg("-S")
            .arg(&socket);
        ssh.args(["-O", op, "127.0.0.1"]).stderr(Stdio::null());
        ssh
    };
    run_ok(&mut control_command("exit"));
    let deadline = Instant::now() + PATIENCE;
    while control_command("check")
        .status()
        .expect("ssh -O check")
        .success()
    {
        assert!(Instant::now() < deadline, "the master did not exit");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (result, stdout, _) = run_all(&pool, t, "echo again").await;
    assert_eq!(
        (result.expect("run after reconnect"), stdout.as_str()),
        (exited(0), "again\n")
    );
    assert_eq!(pool.sessions_opened(), 2);
    assert_eq!(master_dirs(&control).len(), 1);

    pool.close().await;
    assert!(
        master_dirs(&control).is_empty(),
        "close removes the masters"
    );
}

#[tokio::test]
async fn ssh_connection_failures_are_errors_with_ssh_messages() {
    let sshd = sshd();
    let cases = [
        ("client_config", free_port(), "Connection refused"),
        ("stranger_config", sshd.port, "Permission denied"),
        (
            "unknown_host_config",
            sshd.port,
            "Host key verification failed",
        ),
    ];
    for (config, port, expected) in cases {
        let (pool, _control) = pool_with(&sshd, config);
        let (result, _, _) = run_all(&pool, transport(port), "echo never").await;
        match result {
            Err(e @ HostError::Connect { .. }) => {
                assert!(e.to_string().contains(expected), "{config}: {e}")
            }
            other => panic!("{config}: expected a connect error, got {other:?}"),
        }
        assert_eq!(pool.sessions_opened(), 0);
    }
}

#[tokio::test]
async fn local_runs_with_output_exit_code_and_timeout_kills_the_group() {
    let pool = HostPool::new(SshOptions {
        stop_grace: Duration::from_secs(2),
        ..SshOptions::default()
    });
    let (result, stdout, stderr) = run_all(
        &pool,
        HostTransport::Local,
        "echo out; echo err >&2; exit 5",
    )
    .await;
    assert_eq!(result.expect("run"), exited(5));
    assert_eq!((stdout.as_str(), stderr.as_str()), ("out\n", "err\n"));

    // A background child is in the same process group and dies with it.
    let script = "sleep 314.156 & echo started; sleep 314.157";
    let timeout = Duration::from_secs(1);
    let (handle, _rx) = start(
        &pool,
        HostTransport::Local,
        script,
        timeout,
        CancellationToken::new(),
    );
    wait_until_running("^sleep 314.156", &handle).await;
    let result = tokio::time::timeout(PATIENCE, handle)
        .await
        .expect("run hung")
        .expect("task");
    assert_eq!(
        result.expect("run"),
        HostRun {
            exit_code: None,
            ended: RunEnd::TimedOut
        }
    );
    wait_until_gone("sleep 314.156").await;
    wait_until_gone("sleep 314.157").await;

    let cancel = CancellationToken::new();
    let script = "trap '' TERM; echo started; sleep 314.155";
    let (handle, mut rx) = start(
        &pool,
        HostTransport::Local,
        script,
        PATIENCE,
        cancel.clone(),
    );
    assert_eq!(recv_text(&mut rx).await, "started\n");
    cancel.cancel();
    let result = tokio::time::timeout(PATIENCE, handle)
        .await
        .expect("run hung")
        .expect("task");
    assert_eq!(
        result.expect("run"),
        HostRun {
            exit_code: None,
            ended: RunEnd::Cancelled
        }
    );
    wait_until_gone("sleep 314.155").await;

    // A run whose future is dropped (its task aborted) takes its process group with it.
    let script = "sleep 314.154; echo after";
    let (handle, _rx) = start(
        &pool,
        HostTransport::Local,
        script,
        PATIENCE,
        CancellationToken::new(),
    );
    wait_until_running("^sleep 314.154", &handle).await;
    handle.abort();
    wait_until_gone("sleep 314.154").await;
}

//! No secret in argv: while a shell step whose script holds a secret runs, the cmdline of
//! every process on this machine is read — this machine is both sides, the `ssh` master
//! and, through the loopback sshd, the host — and the secret is in none of them. The shell
//! running the script is seen each time (the parent of its uniquely long `sleep`), so the
//! samples were taken while it ran; a control process shows that the sampler does find an
//! argument it is meant to find.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use flightdeck::exec::host::{HostPool, HostTransport, KnownHostsPolicy, OutputChunk, SshOptions};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::sshd::{Sshd, sshd};
use super::{PATIENCE, Values, exited, render};

pub fn ssh_options(sshd: &Sshd, control: &Path) -> SshOptions {
    SshOptions {
        config_file: Some(sshd.path("client_config")),
        control_dir: Some(control.to_path_buf()),
        known_hosts: KnownHostsPolicy::Strict,
        stop_grace: Duration::from_secs(2),
        ..SshOptions::default()
    }
}

pub fn ssh_transport(sshd: &Sshd) -> HostTransport {
    HostTransport::Ssh {
        host: "127.0.0.1".into(),
        user: None,
        port: Some(sshd.port),
    }
}

struct Proc {
    ppid: u32,
    argv: Vec<u8>,
}

/// Every process that is still there when read: pid → parent and argv.
fn processes() -> HashMap<u32, Proc> {
    let mut all = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return all;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let (Ok(argv), Ok(stat)) = (
            std::fs::read(entry.path().join("cmdline")),
            std::fs::read_to_string(entry.path().join("stat")),
        ) else {
            continue;
        };
        // `pid (comm) state ppid …`, and comm may hold spaces and parentheses.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        all.insert(pid, Proc { ppid, argv });
    }
    all
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn descends_from(all: &HashMap<u32, Proc>, mut pid: u32, ancestor: u32) -> bool {
    for _ in 0..64 {
        if pid == ancestor {
            return true;
        }
        match all.get(&pid) {
            Some(p) if p.ppid != 0 => pid = p.ppid,
            _ => return false,
        }
    }
    false
}

async fn recv(rx: &mut mpsc::Receiver<OutputChunk>) -> String {
    let chunk = tokio::time::timeout(PATIENCE, rx.recv())
        .await
        .expect("no output");
    chunk.expect("output closed").text
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{:016x}",
        RandomState::new().hash_one(std::process::id())
    )
}

/// Runs a step whose script holds a fresh secret on `transport`, samples every argv while
/// it runs, and checks that its `sh -s` (a descendant of `ancestor`) was seen and that
/// `also` (another process of the transport) was in some argv.
async fn secret_is_in_no_argv(
    pool: &HostPool,
    transport: HostTransport,
    ancestor: u32,
    nap: &str,
    also: Option<&[u8]>,
) {
    let secret = unique("fd-secret-");
    let flag_dir = tempfile::tempdir().expect("tempdir");
    let flag = flag_dir.path().join("go");
    let mut values = Values::default();
    values.secrets.insert("pw".into(), secret.clone());
    values
        .vars
        .insert("flag".into(), flag.display().to_string());
    values.vars.insert("nap".into(), nap.into());
    let script = render(
        "pw={{ secret.pw }}\necho started\n\
         while [ ! -e {{ vars.flag }} ]; do sleep {{ vars.nap }}; done\necho ${#pw}",
        &values,
    );
    assert!(script.contains(&secret));
    let (tx, mut rx) = mpsc::channel(64);
    let handle = tokio::spawn({
        let pool = pool.clone();
        async move {
            pool.run(&transport, &script, PATIENCE, CancellationToken::new(), tx)
                .await
        }
    });
    assert_eq!(recv(&mut rx).await, "started\n");
    let nap_argv = format!("sleep\0{nap}\0");
    let (mut samples, mut shell_seen, mut also_seen) = (0, 0, also.is_none());
    while samples < 20 || shell_seen == 0 {
        assert!(samples < 2000, "the script's shell was never seen");
        samples += 1;
        let all = processes();
        for (pid, p) in &all {
            assert!(
                !contains(&p.argv, secret.as_bytes()),
                "the secret is in the argv of pid {pid}: {}",
                String::from_utf8_lossy(&p.argv).replace('\0', " ")
            );
            also_seen |= also.is_some_and(|a| contains(&p.argv, a));
            let Some(shell) = (p.argv == nap_argv.as_bytes())
                .then(|| all.get(&p.ppid))
                .flatten()
            else {
                continue;
            };
            assert_eq!(shell.argv, b"sh\0-s\0", "the script's shell");
            assert!(descends_from(&all, p.ppid, ancestor), "shell of {pid}");
            shell_seen += 1;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(also_seen, "the transport's own process was never seen");
    std::fs::write(&flag, "").expect("create flag");
    let result = tokio::time::timeout(PATIENCE, handle)
        .await
        .expect("run hung")
        .expect("task");
    assert_eq!(result.expect("run"), exited(0));
    assert_eq!(recv(&mut rx).await, format!("{}\n", secret.len()));
}

#[test]
fn the_sampler_finds_an_argument_put_in_argv() {
    let canary = unique("fd-canary-");
    let mut child = Command::new("sh")
        .args(["-c", "sleep 30", &canary])
        .spawn()
        .expect("spawn");
    let seen = (0..100).any(|_| {
        let found = processes()
            .values()
            .any(|p| contains(&p.argv, canary.as_bytes()));
        std::thread::sleep(Duration::from_millis(10));
        found
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(seen, "the sampler does not see argv");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_is_in_no_argv_on_the_local_transport() {
    let pool = HostPool::new(SshOptions::default());
    let me = std::process::id();
    secret_is_in_no_argv(&pool, HostTransport::Local, me, "0.0501", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_is_in_no_argv_over_ssh_on_either_side() {
    let sshd = sshd();
    let control = tempfile::tempdir().expect("control dir");
    let pool = HostPool::new(ssh_options(&sshd, control.path()));
    let config = sshd.path("sshd_config");
    let config = config.to_string_lossy();
    // The host side: the test's sshd (its title rewritten, its config path kept), whose
    // descendants run the remote commands.
    let listener = processes()
        .into_iter()
        .find(|(_, p)| contains(&p.argv, b"sshd") && contains(&p.argv, config.as_bytes()))
        .map(|(pid, _)| pid)
        .expect("the test's sshd");
    let control_path = control.path().to_string_lossy().into_owned();
    secret_is_in_no_argv(
        &pool,
        ssh_transport(&sshd),
        listener,
        "0.0502",
        Some(control_path.as_bytes()),
    )
    .await;
    pool.close().await;
}

//! `Local` transport: `sh -s` in its own process group on this machine, the script on its
//! standard input.

use std::pin::pin;
use std::process::Stdio;

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::Command;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::feed::feed;
use super::pump::pump;
use super::stop::{self, Limits, Raced, StopSignal, Stopper};
use super::{HostError, HostRun, OutputChunk, RunEnd, Stream};

const DESTINATION: &str = "this machine";

/// Signals the process group this module created for the run.
struct ProcessGroup;

impl Stopper for ProcessGroup {
    async fn signal(&self, pid: u32, signal: StopSignal) {
        let Ok(pgid) = i32::try_from(pid) else {
            return;
        };
        let sig = match signal {
            StopSignal::Term => Signal::SIGTERM,
            StopSignal::Kill => Signal::SIGKILL,
        };
        match killpg(Pid::from_raw(pgid), sig) {
            Ok(()) | Err(Errno::ESRCH) => {}
            Err(e) => tracing::warn!("killpg({pgid}, {sig}) failed: {e}"),
        }
    }
}

/// Kills the group if the run is dropped half-way (the caller gave up on it). Disarmed once
/// the shell has been waited for, since its pid may then be reused.
struct KillOnDrop(Option<u32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(pgid) = self.0.and_then(|p| i32::try_from(p).ok()) {
            let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
        }
    }
}

pub(super) async fn run(
    script: &str,
    limits: Limits,
    cancel: CancellationToken,
    out: mpsc::Sender<OutputChunk>,
) -> Result<HostRun, HostError> {
    let deadline = Instant::now() + limits.timeout;
    let mut child = Command::new("sh")
        .arg("-s")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| HostError::LocalSpawn { source })?;
    let pgid = child.id();
    let mut guard = KillOnDrop(pgid);
    let stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let run = async {
        let (i, o, e) = tokio::join!(
            feed(stdin, script),
            pump(stdout, Stream::Stdout, &out, None),
            pump(stderr, Stream::Stderr, &out, None),
        );
        (i, o.and(e), child.wait().await)
    };
    let mut run = pin!(run);
    let ended = match stop::race(&mut run, deadline, &cancel).await {
        Raced::Finished((input, output, status)) => {
            guard.0 = None;
            let status = status.map_err(|source| HostError::Wait {
                destination: DESTINATION.into(),
                source,
            })?;
            input.map_err(|source| HostError::Input {
                destination: DESTINATION.into(),
                source,
            })?;
            output.map_err(|source| HostError::Output {
                destination: DESTINATION.into(),
                source,
            })?;
            return Ok(HostRun {
                exit_code: status.code(),
                ended: RunEnd::Exited,
            });
        }
        Raced::Stop(ended) => ended,
    };
    match stop::stop(&mut run, async { pgid }, &ProcessGroup, limits.grace).await {
        Some((_, _, status)) => {
            guard.0 = None;
            Ok(HostRun {
                exit_code: status.ok().and_then(|s| s.code()),
                ended,
            })
        }
        None => Err(HostError::NotStopped {
            destination: DESTINATION.into(),
            ended,
            pid: pgid,
        }),
    }
}

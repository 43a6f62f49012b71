//! Detached child processes: spawn in their own process group, check liveness by pid *and*
//! command line (a recycled pid is not our server), signal, and wait for exit.

use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;

use super::error::{Result, io};

const POLL: Duration = Duration::from_millis(100);

/// Spawns `cmd` detached from the caller: stdin from /dev/null, stdout and stderr appended to
/// `log`, in a new process group so that a Ctrl-C on `flightdeck lab up` does not reach it.
/// Returns the child, which outlives the caller: poll it with `try_wait` while starting up
/// (its command line is the parent's until it has exec'd), then drop it; [`alive`] reaps it
/// once it exits.
pub fn spawn_detached(cmd: &mut Command, log: &Path, what: &str) -> Result<Child> {
    let out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(io(format!("opening {}", log.display())))?;
    let err = out
        .try_clone()
        .map_err(io(format!("opening {}", log.display())))?;
    cmd.stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0);
    cmd.spawn().map_err(io(format!("starting {what}")))
}

/// True while our own child has not exited.
pub fn child_running(child: &mut Child) -> bool {
    matches!(child.try_wait(), Ok(None))
}

/// The fields of `/proc/PID/stat` after the command name (field 3, the state, first), if
/// `pid` is a live process (not a zombie). Reaps it first if it is our own exited child.
fn live_stat(pid: u32) -> Option<Vec<String>> {
    let raw = i32::try_from(pid).ok().filter(|p| *p > 0)?;
    // Reap it if it is our own exited child; ECHILD for anyone else's, which is fine.
    let _ = waitpid(Pid::from_raw(raw), Some(WaitPidFlag::WNOHANG));
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<String> = rest.split_whitespace().map(str::to_owned).collect();
    match fields.first().map(String::as_str) {
        None | Some("Z") | Some("X") => None,
        Some(_) => Some(fields),
    }
}

/// When `pid` started (clock ticks since boot, `/proc/PID/stat` field 22), if it is live:
/// with the pid, it names one process for good (a recycled pid starts later).
pub fn start_time(pid: u32) -> Option<u64> {
    live_stat(pid)?.get(19)?.parse().ok()
}

/// True if `pid` is live and is the process that started at `start` (see [`start_time`]).
pub fn alive_since(pid: u32, start: u64) -> bool {
    start_time(pid) == Some(start)
}

/// True if `pid` is a live (not zombie) process whose command line contains every needle.
pub fn alive(pid: u32, needles: &[&str]) -> bool {
    if live_stat(pid).is_none() {
        return false;
    }
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    needles.iter().all(|n| cmdline.contains(n))
}

/// Sends `sig` to `pid`; a process that is already gone is not an error.
pub fn signal(pid: u32, sig: Signal) -> Result<()> {
    let Ok(raw) = i32::try_from(pid) else {
        return Ok(());
    };
    match kill(Pid::from_raw(raw), sig) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
        Err(e) => Err(io(format!("sending {sig} to pid {pid}"))(
            std::io::Error::from(e),
        )),
    }
}

/// Waits until the process is gone; false if it is still alive at the deadline.
pub async fn wait_exit(pid: u32, needles: &[&str], timeout: Duration) -> bool {
    wait_gone(|| alive(pid, needles), timeout).await
}

/// Waits until `alive()` is false; false if it is still true at the deadline.
pub async fn wait_gone(alive: impl Fn() -> bool, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while alive() {
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
    true
}

/// Blocking twin of [`wait_exit`], for `Drop`.
pub fn wait_exit_blocking(pid: u32, needles: &[&str], timeout: Duration) -> bool {
    wait_gone_blocking(|| alive(pid, needles), timeout)
}

/// Blocking twin of [`wait_gone`].
pub fn wait_gone_blocking(alive: impl Fn() -> bool, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while alive() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
    true
}

/// SIGTERM, wait up to `grace`, then SIGKILL. Returns true if SIGKILL was needed.
pub async fn terminate(pid: u32, needles: &[&str], grace: Duration) -> Result<bool> {
    terminate_while(pid, || alive(pid, needles), grace).await
}

/// [`terminate`] for a process told apart by `alive()` rather than by its command line.
pub async fn terminate_while(pid: u32, alive: impl Fn() -> bool, grace: Duration) -> Result<bool> {
    if !alive() {
        return Ok(false);
    }
    signal(pid, Signal::SIGTERM)?;
    if wait_gone(&alive, grace).await {
        return Ok(false);
    }
    signal(pid, Signal::SIGKILL)?;
    wait_gone(&alive, Duration::from_secs(10)).await;
    Ok(true)
}

/// Reads a pid file (`None` if absent or unparsable).
pub fn read_pid_file(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The last `lines` lines of a text file, or a note saying why there are none.
pub fn tail(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => tail_of(&String::from_utf8_lossy(&bytes), lines),
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

/// The last `lines` lines of `text`.
pub fn tail_of(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    let start = all.len().saturating_sub(lines);
    all[start..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail_of("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail_of("a", 5), "a");
        assert_eq!(tail_of("", 5), "");
    }

    #[test]
    fn our_own_process_is_alive_and_a_wrong_needle_is_not() {
        let me = std::process::id();
        assert!(alive(me, &[]));
        assert!(!alive(me, &["no-such-needle-in-a-test-cmdline"]));
        assert!(!alive(0, &[]));
        let start = start_time(me).expect("our own start time");
        assert!(alive_since(me, start));
        assert!(!alive_since(me, start + 1));
    }
}

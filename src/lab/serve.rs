//! The lab's MaxScale-compatible endpoint process: `flightdeck lab serve --dir DIR`, started
//! detached by `lab up` (or `lab ctl endpoint start`), or by hand in a terminal.
//!
//! However it was started, the serving process writes `DIR/serve.pid` itself once it listens
//! (`PID START`, START being its start time, so a recycled pid is never taken for it) and
//! removes it when it stops; `lab status` finds it there and `lab down` stops it.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use tokio_util::sync::CancellationToken;

use super::error::{LabError, Result, io};
use super::mxs::{self, Backend, ServeConfig};
use super::ports;
use super::process::{self, alive, alive_since};
use super::secrets;
use super::state::LabState;

/// The endpoint's monitor journal in the lab directory: the admin states (maintenance, drain)
/// and the primary, kept across endpoint restarts as MaxScale keeps them (see `mxs/journal.rs`).
pub const JOURNAL_FILE: &str = "mxs-state.json";

/// How long a stopping endpoint gets after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// What `flightdeck lab serve` runs until `cancel` fires (SIGTERM/SIGINT): the
/// MaxScale-compatible REST API and router of [`super::mxs`], configured from lab.json, its
/// monitor journal in `DIR/mxs-state.json`.
/// Refuses to start while another process serves this lab.
pub async fn serve(state: LabState, cancel: CancellationToken) -> Result<()> {
    let own = std::process::id();
    if let Some(pid) = running_pid(&state).filter(|p| *p != own) {
        return Err(LabError::Invalid(format!(
            "the endpoint of the lab in {} already runs (pid {pid}); \
             `flightdeck lab ctl endpoint restart` restarts it",
            state.dir.display()
        )));
    }
    let cfg = serve_config(&state)?;
    let failed = |e: mxs::LabMxsError| {
        LabError::Invalid(format!("the MaxScale-compatible endpoint failed: {e}"))
    };
    let handle = mxs::spawn(cfg).await.map_err(failed)?;
    let pid_file = &state.endpoint.pid_file;
    if let Err(e) = write_pid_file(pid_file, own) {
        let _ = handle.shutdown().await;
        return Err(e);
    }
    let result = mxs::run_until(handle, cancel).await.map_err(failed);
    remove_pid_file_of(pid_file, own);
    result
}

/// The endpoint's configuration: every lab server, the `monitor` and `repl` logins, the
/// REST API on the lab's endpoint port and the router on its router port.
pub fn serve_config(state: &LabState) -> Result<ServeConfig> {
    let servers = state
        .servers
        .iter()
        .map(|s| Backend::new(s.name.clone(), s.host.clone(), s.port))
        .collect();
    let mut cfg = ServeConfig::new(servers, "monitor", state.secret(secrets::MONITOR)?);
    cfg.replication_user = Some("repl".into());
    cfg.replication_password = Some(state.secret(secrets::REPL)?);
    cfg.rest_bind = SocketAddr::from(([127, 0, 0, 1], state.endpoint.port));
    cfg.router_bind = Some(SocketAddr::from((
        [127, 0, 0, 1],
        state.endpoint.router_port,
    )));
    cfg.admin_user = state.endpoint.user.clone();
    cfg.admin_password = state.secret(secrets::MAXSCALE_ADMIN)?;
    cfg.monitor_name = state.endpoint.monitor.clone();
    cfg.journal = Some(state.dir.join(JOURNAL_FILE));
    cfg.tls = state
        .tls
        .as_ref()
        .map(super::tls::server_config)
        .transpose()?;
    Ok(cfg)
}

/// What the command line of an endpoint `lab up` started holds.
fn needles(state: &LabState) -> [String; 2] {
    ["serve".to_owned(), state.dir.to_string_lossy().into_owned()]
}

/// `serve.pid`: the pid and, unless written by an older flightdeck, the start time.
fn read_pid_file(path: &Path) -> Option<(u32, Option<u64>)> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut words = text.split_whitespace();
    let pid = words.next()?.parse().ok()?;
    Some((pid, words.next().and_then(|w| w.parse().ok())))
}

/// Writes `PID START` atomically (the serving process and `lab up` may both write it).
fn write_pid_file(path: &Path, pid: u32) -> Result<()> {
    let start = process::start_time(pid).ok_or_else(|| {
        LabError::Invalid(format!("the endpoint process (pid {pid}) is not running"))
    })?;
    let tmp = path.with_extension(format!("pid.{}", std::process::id()));
    let context = || format!("writing {}", path.display());
    std::fs::write(&tmp, format!("{pid} {start}\n")).map_err(io(context()))?;
    std::fs::rename(&tmp, path).map_err(io(context()))
}

/// Removes `serve.pid` if it still names `pid`.
fn remove_pid_file_of(path: &Path, pid: u32) {
    if read_pid_file(path).is_some_and(|(p, _)| p == pid) {
        let _ = std::fs::remove_file(path);
    }
}

/// The serve process's live pid: the one `serve.pid` names (however it was started), else
/// the one `lab up` recorded in lab.json.
pub fn running_pid(state: &LabState) -> Option<u32> {
    let n = needles(state);
    let n = [n[0].as_str(), n[1].as_str()];
    let from_file = read_pid_file(&state.endpoint.pid_file).filter(|(pid, start)| match start {
        Some(start) => alive_since(*pid, *start),
        None => alive(*pid, &n),
    });
    from_file
        .map(|(pid, _)| pid)
        .or_else(|| state.endpoint.pid.filter(|p| alive(*p, &n)))
}

/// How the endpoint came up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Started {
    pub pid: u32,
    /// False if it was alive but not yet accepting connections when we stopped waiting.
    pub listening: bool,
}

/// Starts `EXE lab serve --dir DIR` (saving lab.json first, which it reads). If it dies at once
/// it is retried on another port, twice. `None` when the lab has no serve program.
pub async fn spawn(state: &mut LabState) -> Result<Option<Started>> {
    let Some(exe) = state.endpoint.exe.clone() else {
        return Ok(None);
    };
    state.endpoint.stopped = false;
    if let Some(pid) = running_pid(state) {
        state.save()?;
        return Ok(Some(Started {
            pid,
            listening: true,
        }));
    }
    let mut last_error = None;
    for _attempt in 0..3 {
        state.save()?;
        let log_start = std::fs::metadata(&state.endpoint.log)
            .map(|m| m.len())
            .unwrap_or(0);
        let mut cmd = std::process::Command::new(&exe);
        cmd.arg("lab")
            .arg("serve")
            .arg("--dir")
            .arg(&state.dir)
            .current_dir(&state.dir);
        let what = format!("{} lab serve", exe.display());
        let mut child = process::spawn_detached(&mut cmd, &state.endpoint.log, &what)?;
        let pid = child.id();
        // The process writes it too once it listens; until then status finds it here (or
        // by lab.json's pid). One that died at once is retried below.
        let _ = write_pid_file(&state.endpoint.pid_file, pid);
        state.endpoint.pid = Some(pid);
        state.save()?;
        match wait_listening(state, &mut child, Duration::from_secs(5)).await {
            Ok(listening) => return Ok(Some(Started { pid, listening })),
            Err(()) => {
                let log = std::fs::read(&state.endpoint.log).unwrap_or_default();
                let new =
                    String::from_utf8_lossy(log.get(log_start as usize..).unwrap_or_default());
                last_error = Some(LabError::StartFailed {
                    server: "the MaxScale-compatible endpoint".into(),
                    reason: format!("`{what}` exited"),
                    log: state.endpoint.log.clone(),
                    tail: process::tail_of(&new, 20),
                });
                state.endpoint.pid = None;
                state.endpoint.port = ports::pick(None)?;
                state.endpoint.url =
                    super::state::endpoint_url(state.tls.is_some(), state.endpoint.port);
                state.endpoint.router_port = ports::pick(None)?;
            }
        }
    }
    Err(last_error.unwrap_or_else(|| LabError::Invalid("the endpoint did not start".into())))
}

/// Ok(true) once the port accepts, Ok(false) if still not at the deadline, Err if it died.
async fn wait_listening(
    state: &LabState,
    child: &mut Child,
    timeout: Duration,
) -> Result<bool, ()> {
    let deadline = Instant::now() + timeout;
    loop {
        if !process::child_running(child) {
            return Err(());
        }
        if tokio::net::TcpStream::connect(("127.0.0.1", state.endpoint.port))
            .await
            .is_ok()
        {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The running endpoint's pid and a test that it is still that process.
fn identified(state: &LabState) -> Option<(u32, impl Fn() -> bool + use<>)> {
    let pid = running_pid(state)?;
    let start = process::start_time(pid)?;
    Some((pid, move || alive_since(pid, start)))
}

/// SIGTERM the endpoint (however it was started), SIGKILL after 10 s; false if none ran.
pub async fn stop(state: &LabState) -> Result<bool> {
    let Some((pid, still)) = identified(state) else {
        return Ok(false);
    };
    process::terminate_while(pid, still, STOP_GRACE).await?;
    remove_pid_file_of(&state.endpoint.pid_file, pid);
    Ok(true)
}

/// Blocking twin of [`stop`], for `Drop`.
pub fn stop_blocking(state: &LabState) {
    let Some((pid, still)) = identified(state) else {
        return;
    };
    if !(process::signal(pid, Signal::SIGTERM).is_ok()
        && process::wait_gone_blocking(&still, STOP_GRACE))
    {
        let _ = process::signal(pid, Signal::SIGKILL);
        process::wait_gone_blocking(&still, Duration::from_secs(5));
    }
    remove_pid_file_of(&state.endpoint.pid_file, pid);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pid_file_names_one_process_for_good() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("serve.pid");
        let me = std::process::id();
        write_pid_file(&path, me).expect("written");
        let (pid, start) = read_pid_file(&path).expect("readable");
        assert_eq!((pid, start), (me, process::start_time(me)));
        remove_pid_file_of(&path, me + 1);
        assert!(path.exists(), "another pid's file stays");
        remove_pid_file_of(&path, me);
        assert!(!path.exists());
        std::fs::write(&path, "12345\n").expect("old format");
        assert_eq!(read_pid_file(&path), Some((12345, None)));
    }
}

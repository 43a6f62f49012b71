//! The lab's MaxScale-compatible endpoint process: `flightdeck lab serve --dir DIR`, started
//! detached by `lab up` with its pid in `DIR/serve.pid`, stopped by `lab down`.

use std::net::SocketAddr;
use std::process::Child;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use tokio_util::sync::CancellationToken;

use super::error::{LabError, Result, io};
use super::mxs::{self, Backend, ServeConfig};
use super::ports;
use super::process::{self, alive};
use super::secrets;
use super::state::LabState;

/// What `flightdeck lab serve` runs until `cancel` fires (SIGTERM/SIGINT): the
/// MaxScale-compatible REST API and router of [`super::mxs`], configured from lab.json.
pub async fn serve(state: LabState, cancel: CancellationToken) -> Result<()> {
    let cfg = serve_config(&state)?;
    mxs::serve(cfg, cancel)
        .await
        .map_err(|e| LabError::Invalid(format!("the MaxScale-compatible endpoint failed: {e}")))
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
    Ok(cfg)
}

fn needles(state: &LabState) -> [String; 2] {
    ["serve".to_owned(), state.dir.to_string_lossy().into_owned()]
}

/// The serve process's live pid.
pub fn running_pid(state: &LabState) -> Option<u32> {
    let n = needles(state);
    let n = [n[0].as_str(), n[1].as_str()];
    state
        .endpoint
        .pid
        .filter(|p| alive(*p, &n))
        .or_else(|| process::read_pid_file(&state.endpoint.pid_file).filter(|p| alive(*p, &n)))
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
    if let Some(pid) = running_pid(state) {
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
        std::fs::write(&state.endpoint.pid_file, format!("{pid}\n"))
            .map_err(io(format!("writing {}", state.endpoint.pid_file.display())))?;
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
                state.endpoint.url = format!("http://127.0.0.1:{}", state.endpoint.port);
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

/// SIGTERM the endpoint, SIGKILL after 10 s.
pub async fn stop(state: &LabState) -> Result<bool> {
    let Some(pid) = running_pid(state) else {
        return Ok(false);
    };
    let n = needles(state);
    process::terminate(
        pid,
        &[n[0].as_str(), n[1].as_str()],
        Duration::from_secs(10),
    )
    .await?;
    let _ = std::fs::remove_file(&state.endpoint.pid_file);
    Ok(true)
}

/// Blocking twin of [`stop`], for `Drop`.
pub fn stop_blocking(state: &LabState) {
    let Some(pid) = running_pid(state) else {
        return;
    };
    let n = needles(state);
    let n = [n[0].as_str(), n[1].as_str()];
    if process::signal(pid, Signal::SIGTERM).is_ok()
        && process::wait_exit_blocking(pid, &n, Duration::from_secs(10))
    {
        return;
    }
    let _ = process::signal(pid, Signal::SIGKILL);
    process::wait_exit_blocking(pid, &n, Duration::from_secs(5));
}

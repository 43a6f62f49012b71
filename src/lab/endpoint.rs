//! The endpoint process's lifecycle (`lab ctl endpoint stop|start|restart`) and its state as
//! `lab status` reports it. The process serves the MaxScale-compatible REST API and the SQL
//! router; see [`super::serve`] for how it is started and found.

use std::path::PathBuf;
use std::time::Duration;

use super::ctl::Action;
use super::error::{LabError, Result};
use super::handle::Lab;
use super::serve;

/// The name `lab ctl` takes for the endpoint process (no server is called so).
pub const ENDPOINT: &str = "endpoint";

/// How long `lab status` waits for a port to accept a connection.
const PROBE: Duration = Duration::from_secs(1);

/// The endpoint process as `lab status` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointStatus {
    /// `http://127.0.0.1:PORT` of the REST API.
    pub url: String,
    pub port: u16,
    /// The SQL router's port (it runs in the same process).
    pub router_port: u16,
    /// The serving process, if it runs.
    pub pid: Option<u32>,
    pub rest_listening: bool,
    pub router_listening: bool,
    /// Part of this lab: it has a program to start the endpoint, or one was started.
    pub expected: bool,
    /// Stopped with `lab ctl endpoint stop`.
    pub stopped: bool,
}

impl EndpointStatus {
    /// Running and both ports accept connections.
    pub fn up(&self) -> bool {
        self.pid.is_some() && self.rest_listening && self.router_listening
    }

    /// Counts as a lab part that is down (`lab status` exits 1).
    pub fn down(&self) -> bool {
        self.expected && !self.up()
    }
}

async fn accepts(port: u16) -> bool {
    let connect = tokio::net::TcpStream::connect(("127.0.0.1", port));
    matches!(tokio::time::timeout(PROBE, connect).await, Ok(Ok(_)))
}

impl Lab {
    /// The endpoint process and whether its two ports accept connections.
    pub async fn endpoint_status(&self) -> EndpointStatus {
        let ep = &self.state.endpoint;
        let pid = serve::running_pid(&self.state);
        let (rest_listening, router_listening) = match pid {
            Some(_) => tokio::join!(accepts(ep.port), accepts(ep.router_port)),
            None => (false, false),
        };
        EndpointStatus {
            url: ep.url.clone(),
            port: ep.port,
            router_port: ep.router_port,
            pid,
            rest_listening,
            router_listening,
            expected: ep.exe.is_some() || ep.pid.is_some() || ep.pid_file.exists() || ep.stopped,
            stopped: ep.stopped,
        }
    }

    /// The program `lab ctl endpoint start` runs as `EXE lab serve --dir DIR` (the CLI
    /// passes its own path, as `lab up` does).
    pub fn set_serve_exe(&mut self, exe: PathBuf) {
        self.state.endpoint.exe = Some(exe);
    }

    /// `lab ctl endpoint stop|start|restart` on the state as loaded (see [`Lab::refresh`]);
    /// returns a one-line account.
    pub async fn ctl_endpoint(&mut self, action: Action) -> Result<String> {
        match action {
            Action::Stop => self.stop_endpoint().await,
            Action::Start => self.start_endpoint().await,
            Action::Restart => {
                let stopped = self.stop_endpoint().await?;
                let started = self.start_endpoint().await?;
                Ok(format!("{stopped}; {started}"))
            }
            other => Err(LabError::Invalid(format!(
                "`lab ctl endpoint` takes stop, start or restart, not {other:?}"
            ))),
        }
    }

    async fn stop_endpoint(&mut self) -> Result<String> {
        let pid = serve::running_pid(&self.state);
        serve::stop(&self.state).await?;
        self.state.endpoint.pid = None;
        self.state.endpoint.stopped = true;
        self.state.save()?;
        let ep = &self.state.endpoint;
        Ok(match pid {
            Some(pid) => format!(
                "the MaxScale-compatible endpoint stopped (pid {pid}; REST API {}, SQL router \
                 127.0.0.1:{})",
                ep.url, ep.router_port
            ),
            None => "the MaxScale-compatible endpoint was not running".to_owned(),
        })
    }

    async fn start_endpoint(&mut self) -> Result<String> {
        if let Some(pid) = serve::running_pid(&self.state) {
            if self.state.endpoint.stopped {
                self.state.endpoint.stopped = false;
                self.state.save()?;
            }
            return Ok(format!(
                "the MaxScale-compatible endpoint is already running (pid {pid})"
            ));
        }
        let Some(started) = serve::spawn(&mut self.state).await? else {
            return Err(LabError::Invalid(
                "this lab has no program to serve its endpoint (it was built without one): \
                 start it with `flightdeck lab ctl endpoint start`"
                    .into(),
            ));
        };
        // A port taken meanwhile moves the endpoint: the inventory follows.
        self.write_inventory_if_changed()?;
        let ep = &self.state.endpoint;
        let waiting = if started.listening {
            String::new()
        } else {
            format!(" (not listening yet; see {})", ep.log.display())
        };
        Ok(format!(
            "the MaxScale-compatible endpoint started (pid {}) on {}, SQL router on \
             127.0.0.1:{}{waiting}",
            started.pid, ep.url, ep.router_port
        ))
    }
}

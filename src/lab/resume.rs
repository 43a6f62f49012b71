//! `lab up --resume` ([`Lab::resume`]): get a lab to where a rehearsal can go on, without
//! undoing anything the rehearsal did. What `./scripts/cockpit` runs before it opens the
//! cockpit, in any state of the lab:
//!
//! - no lab in DIR: build one, as `lab up` does;
//! - a lab stopped as a whole with `lab down`: start it again, as `lab up` does;
//! - otherwise keep it as it is: never start or restart a server (a runbook step may have
//!   stopped it on purpose, e.g. for an upgrade); only start the endpoint process (the
//!   MaxScale-compatible REST API and the SQL router) again if it died (one stopped with
//!   `lab ctl endpoint stop` stays stopped, like a server).

use super::error::{LabError, Result, io};
use super::handle::{Lab, LabOptions};
use super::instance;
use super::inventory;
use super::secrets;
use super::serve;
use super::state::LabState;
use super::up::{check_ready, restart_stopped};

/// What [`Lab::resume`] found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resumed {
    /// DIR held no lab: a new one was built.
    Built,
    /// The lab had been stopped with `lab down`: its servers and endpoint were started.
    Restarted,
    /// The lab was kept as it was; no server was started.
    Kept {
        endpoint: EndpointCheck,
        /// Servers that are not running, left so.
        stopped: Vec<String>,
    },
}

/// The endpoint process as [`Lab::resume`] left it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointCheck {
    /// It was running.
    Running { pid: u32 },
    /// It was dead and was started again (`listening`: it accepted connections in time).
    Restarted { pid: u32, listening: bool },
    /// It was stopped with `lab ctl endpoint stop` and left so.
    Stopped,
    /// The lab has no endpoint program (built without `serve_exe`).
    None,
}

impl Lab {
    /// `lab up --resume`: builds a lab if `opts.dir` holds none, restarts one stopped with
    /// `lab down`, and otherwise keeps the lab as it is, starting only a dead endpoint process
    /// again (never a server). `--replicas`/`--from`/ports only apply to a new lab.
    pub async fn resume(opts: LabOptions) -> Result<(Lab, Resumed)> {
        let existing = match opts.dir.canonicalize() {
            Ok(dir) => match LabState::load(&dir) {
                Ok(state) => Some(state),
                Err(LabError::NoLab { .. }) => None,
                Err(e) => return Err(e),
            },
            Err(_) => None, // no directory yet
        };
        let Some(state) = existing else {
            return Ok((Lab::up(opts).await?, Resumed::Built));
        };
        check_ready(&state)?;
        let mut lab = Lab {
            state,
            quiet: opts.quiet,
        };
        lab.make_dirs_private()?;
        let any_running = lab
            .servers()
            .iter()
            .any(|s| instance::running_pid(s).is_some());
        if lab.state.stopped_by_down && !any_running {
            let lab = restart_stopped(lab.state, &opts).await?;
            return Ok((lab, Resumed::Restarted));
        }
        let before = lab.state.clone();
        if opts.serve_exe.is_some() {
            lab.state.endpoint.exe = opts.serve_exe.clone();
        }
        if opts.flightdeck_exe.is_some() {
            lab.state.flightdeck_exe = opts.flightdeck_exe.clone();
        }
        if lab.state != before {
            lab.state.save()?;
        }
        // Saves lab.json itself when it starts the endpoint; nothing else is written, so a
        // `lab ctl` running meanwhile keeps its changes.
        let endpoint = lab.ensure_endpoint().await?;
        lab.write_inventory_if_changed()?;
        let stopped: Vec<String> = lab
            .servers()
            .iter()
            .filter(|s| instance::running_pid(s).is_none())
            .map(|s| s.name.clone())
            .collect();
        match stopped.as_slice() {
            [] => {}
            [one] => lab.say(&format!(
                "{one} is stopped; left as it is (runbook steps stop servers on purpose; \
                 `flightdeck lab ctl {one} start` starts it)"
            )),
            many => lab.say(&format!(
                "{} are stopped; left as they are (runbook steps stop servers on purpose; \
                 `flightdeck lab ctl SERVER start` starts one)",
                many.join(", ")
            )),
        }
        Ok((lab, Resumed::Kept { endpoint, stopped }))
    }

    /// A lab made by an older flightdeck gets private directories too (see mod.rs).
    fn make_dirs_private(&self) -> Result<()> {
        secrets::lab_dir(&self.state.dir)?;
        secrets::private_dir(&self.state.backup_dir)?;
        for s in self.servers() {
            secrets::private_dir(&s.dir)?;
        }
        Ok(())
    }

    /// Starts the endpoint process again if it is dead; says so in one line.
    async fn ensure_endpoint(&mut self) -> Result<EndpointCheck> {
        if let Some(pid) = serve::running_pid(&self.state) {
            return Ok(EndpointCheck::Running { pid });
        }
        if self.state.endpoint.stopped {
            self.say(
                "the MaxScale-compatible endpoint was stopped with `lab ctl endpoint stop`; left \
                 as it is (`flightdeck lab ctl endpoint start` starts it)",
            );
            return Ok(EndpointCheck::Stopped);
        }
        let Some(started) = serve::spawn(&mut self.state).await? else {
            return Ok(EndpointCheck::None);
        };
        let ep = &self.state.endpoint;
        let waiting = if started.listening {
            String::new()
        } else {
            format!(" (not listening yet; see {})", ep.log.display())
        };
        self.say(&format!(
            "the MaxScale-compatible endpoint was dead: restarted it (pid {}) on {}, SQL router \
             on 127.0.0.1:{}{waiting}",
            started.pid, ep.url, ep.router_port
        ));
        Ok(EndpointCheck::Restarted {
            pid: started.pid,
            listening: started.listening,
        })
    }

    /// Rewrites DIR/inventory.toml (and its schema) only if it would change (a moved endpoint
    /// port, a lab made by an older flightdeck), so a resume leaves an unchanged inventory
    /// alone.
    pub(crate) fn write_inventory_if_changed(&self) -> Result<()> {
        let path = &self.state.inventory;
        let current = match std::fs::read_to_string(path) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io(format!("reading {}", path.display()))(e)),
        };
        if current.as_deref() == Some(inventory::render(&self.state).as_str())
            && inventory::schema_is_current(&self.state)
        {
            return Ok(());
        }
        inventory::write(&self.state)
    }
}

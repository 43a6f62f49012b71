//! `Lab`: a handle on a lab directory, for the CLI, the endpoint and tests.
//! Building one is in `up.rs`, changing one server in `ctl.rs`.

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::time::Duration;

use mysql_async::Conn;

use super::error::{LabError, Result, io};
use super::instance::{self, STOP_TIMEOUT};
use super::secrets;
use super::serve;
use super::setup;
use super::sql::{self, SlaveStatus};
use super::state::{LabState, Role, ServerState};
use super::versions::BuildSpec;

/// How to build a lab. `LabOptions::new(dir)` gives a 2-server lab (1 replica) on the installed
/// build, free ports, and no endpoint process.
#[derive(Debug, Clone)]
pub struct LabOptions {
    pub dir: PathBuf,
    /// Number of replicas (servers = replicas + 1).
    pub replicas: usize,
    /// The build the servers start on (`--from`).
    pub from: BuildSpec,
    /// The build an upgrade moves to by default (`--to`); `None`: the installed one.
    pub to: Option<BuildSpec>,
    /// Scan for server ports from here (default: a random free area of 20000–32000).
    pub base_port: Option<u16>,
    /// Preferred MaxScale-compatible endpoint port (the CLI asks for 8989); any free port when
    /// `None` or taken.
    pub endpoint_port: Option<u16>,
    /// Program started as `EXE lab serve --dir DIR` (the CLI passes its own path); `None`
    /// starts no endpoint process.
    pub serve_exe: Option<PathBuf>,
    /// Recorded as `vars.flightdeck` in the inventory.
    pub flightdeck_exe: Option<PathBuf>,
    /// No progress lines on stderr.
    pub quiet: bool,
    /// `--tls`: a lab CA, TLS on every server and https on the endpoint, and an inventory
    /// that verifies them (`verify_identity`).
    pub tls: bool,
    /// `--semi-sync`: semi-sync enabled on every server, both sides.
    pub semi_sync: bool,
}

impl LabOptions {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            replicas: 1,
            from: BuildSpec::Installed,
            to: None,
            base_port: None,
            endpoint_port: None,
            serve_exe: None,
            flightdeck_exe: None,
            quiet: true,
            tls: false,
            semi_sync: false,
        }
    }
}

/// A lab on disk (`DIR/lab.json`). Dropping a `Lab` leaves it running; use [`Lab::guard`]
/// for one that is torn down on drop.
#[derive(Debug)]
pub struct Lab {
    pub(crate) state: LabState,
    pub(crate) quiet: bool,
}

/// One row of `lab status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerStatus {
    pub name: String,
    pub port: u16,
    pub pid: Option<u32>,
    pub up: bool,
    pub version: Option<String>,
    /// `primary` (no replication configured), `replica`, or `-` when down.
    pub role: String,
    pub read_only: Option<bool>,
    pub replication: Option<SlaveStatus>,
    /// Why the server could not be queried, if it is up but refused.
    pub error: Option<String>,
}

impl Lab {
    /// Opens an existing lab.
    pub fn open(dir: impl AsRef<Path>) -> Result<Lab> {
        let dir = dir.as_ref();
        let dir = dir.canonicalize().map_err(|_| LabError::NoLab {
            dir: dir.to_path_buf(),
        })?;
        Ok(Lab {
            state: LabState::load(&dir)?,
            quiet: true,
        })
    }

    /// Progress lines on stderr (off by default; the CLI turns them on).
    pub fn set_quiet(&mut self, quiet: bool) {
        self.quiet = quiet;
    }

    pub(crate) fn say(&self, msg: &str) {
        if !self.quiet {
            eprintln!("{msg}");
        }
    }

    /// Re-reads lab.json (another process may have changed it).
    pub fn refresh(&mut self) -> Result<()> {
        self.state = LabState::load(&self.state.dir)?;
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        &self.state.dir
    }

    pub fn state(&self) -> &LabState {
        &self.state
    }

    pub fn servers(&self) -> &[ServerState] {
        &self.state.servers
    }

    pub fn server(&self, name: &str) -> Result<&ServerState> {
        self.state.server(name)
    }

    pub fn inventory_path(&self) -> &Path {
        &self.state.inventory
    }

    /// `http://127.0.0.1:PORT` of the MaxScale-compatible endpoint.
    pub fn endpoint_url(&self) -> &str {
        &self.state.endpoint.url
    }

    /// A secret's value (`root`, `repl`, `monitor`, `app`, `flightdeck`, `maxscale_admin`).
    pub fn secret(&self, name: &str) -> Result<String> {
        self.state.secret(name)
    }

    /// The server's live pid, if it runs.
    pub fn running_pid(&self, name: &str) -> Result<Option<u32>> {
        Ok(instance::running_pid(self.server(name)?))
    }

    pub(crate) fn root_password(&self) -> Option<String> {
        self.state
            .ready
            .then(|| self.secret(secrets::ROOT).ok())
            .flatten()
    }

    /// Connects to `server` over TCP as one of the lab's users (`flightdeck`, `app`, `monitor`,
    /// `repl`, `root`) with its password.
    pub async fn connect(&self, server: &str, user: &str) -> Result<Conn> {
        let s = self.server(server)?;
        let password = self.secret(user)?;
        sql::connect(s, sql::tcp_opts(s, user, &password)).await
    }

    /// Waits until `replica` has applied everything its primary has binlogged.
    pub async fn wait_caught_up(&self, replica: &str, timeout: Duration) -> Result<()> {
        let s = self.server(replica)?;
        let root = self.root_password();
        let mut conn = sql::connect(s, sql::root_opts(s, root.as_deref())).await?;
        let status = sql::slave_status(&mut conn, &s.name).await?;
        let master_port = status.and_then(|st| st.master_port);
        let primary = match self.servers().iter().find(|p| Some(p.port) == master_port) {
            Some(p) => p,
            None => self.state.initial_primary()?,
        };
        let mut pconn = sql::connect(primary, sql::root_opts(primary, root.as_deref())).await?;
        let pos = sql::scalar(&mut pconn, &primary.name, "SELECT @@gtid_binlog_pos").await?;
        let _ = pconn.disconnect().await;
        setup::wait_gtid(&mut conn, s, pos.as_deref().unwrap_or_default(), timeout).await?;
        let _ = conn.disconnect().await;
        Ok(())
    }

    /// Each server's state as the servers themselves report it.
    pub async fn status(&self) -> Vec<ServerStatus> {
        let root = self.root_password();
        let mut out = Vec::new();
        for s in self.servers() {
            let pid = instance::running_pid(s);
            let mut row = ServerStatus {
                name: s.name.clone(),
                port: s.port,
                pid,
                up: pid.is_some(),
                version: None,
                role: "-".into(),
                read_only: None,
                replication: None,
                error: None,
            };
            if row.up {
                if let Err(e) = query_status(s, root.as_deref(), &mut row).await {
                    row.error = Some(e.to_string());
                }
            }
            out.push(row);
        }
        out
    }

    /// Stops the endpoint (however it was started), then every server cleanly (replicas
    /// first); `purge` deletes DIR.
    pub async fn down(mut self, purge: bool) -> Result<()> {
        self.refresh()?;
        // However it was started (by `lab up`, `lab ctl endpoint start` or by hand).
        let endpoint = serve::running_pid(&self.state);
        if serve::stop(&self.state).await? {
            let pid = endpoint.map_or(String::new(), |p| format!(" (pid {p})"));
            self.say(&format!("stopped the MaxScale-compatible endpoint{pid}"));
        }
        let root = self.root_password();
        for role in [Role::Replica, Role::Primary] {
            let stops = self
                .servers()
                .iter()
                .filter(|s| s.initial_role == role)
                .map(|s| async {
                    (
                        s.name.clone(),
                        instance::stop(s, root.as_deref(), STOP_TIMEOUT).await,
                    )
                });
            for (name, outcome) in futures::future::join_all(stops).await {
                match outcome? {
                    instance::Stopped::WasDown => self.say(&format!("{name} was not running")),
                    instance::Stopped::Clean => self.say(&format!("{name} stopped cleanly")),
                    instance::Stopped::Killed => {
                        self.say(&format!("{name} ignored the shutdown; killed it (SIGKILL)"))
                    }
                }
            }
        }
        for s in &mut self.state.servers {
            s.pid = None;
        }
        self.state.endpoint.pid = None;
        self.state.stopped_by_down = true;
        if purge {
            let dir = self.state.dir.clone();
            std::fs::remove_dir_all(&dir).map_err(io(format!("removing {}", dir.display())))?;
            self.say(&format!("removed {}", dir.display()));
        } else {
            self.state.save()?;
        }
        Ok(())
    }

    /// Best-effort synchronous teardown (SIGTERM, then SIGKILL after 30 s) of every process of
    /// the lab; for `Drop` and failed `up`s. Files stay.
    pub fn teardown_blocking(&self) {
        serve::stop_blocking(&self.state);
        for s in self.servers() {
            if let Some(pid) = instance::running_pid(s) {
                let _ = super::process::signal(pid, nix::sys::signal::Signal::SIGTERM);
            }
        }
        for s in self.servers() {
            instance::terminate_blocking(s, Duration::from_secs(30));
        }
    }

    /// Wraps the lab so that it is torn down when dropped (also while unwinding from a panic).
    pub fn guard(self) -> LabGuard {
        LabGuard { lab: Some(self) }
    }
}

async fn query_status(s: &ServerState, root: Option<&str>, row: &mut ServerStatus) -> Result<()> {
    let mut conn = sql::connect(s, sql::root_opts(s, root)).await?;
    row.version = sql::scalar(&mut conn, &s.name, "SELECT VERSION()").await?;
    row.read_only = sql::scalar(&mut conn, &s.name, "SELECT @@read_only")
        .await?
        .map(|v| v == "1");
    row.replication = sql::slave_status(&mut conn, &s.name).await?;
    row.role = if row.replication.is_some() {
        "replica"
    } else {
        "primary"
    }
    .into();
    let _ = conn.disconnect().await;
    Ok(())
}

/// A [`Lab`] that is torn down when dropped: every process gets SIGTERM, then SIGKILL.
/// Files stay (tests keep labs in temporary directories). Call [`LabGuard::down`] for a clean,
/// awaited shutdown instead.
#[derive(Debug)]
pub struct LabGuard {
    lab: Option<Lab>,
}

impl LabGuard {
    /// Clean shutdown (see [`Lab::down`]); the drop then does nothing.
    pub async fn down(mut self, purge: bool) -> Result<()> {
        match self.lab.take() {
            Some(lab) => lab.down(purge).await,
            None => Ok(()),
        }
    }

    /// Gives the lab back without tearing it down.
    pub fn into_inner(mut self) -> Option<Lab> {
        self.lab.take()
    }
}

impl Deref for LabGuard {
    type Target = Lab;

    #[allow(clippy::expect_used)] // `lab` is only None after `down`/`into_inner`, which consume self.
    fn deref(&self) -> &Lab {
        self.lab
            .as_ref()
            .expect("lab present until the guard is consumed")
    }
}

impl DerefMut for LabGuard {
    #[allow(clippy::expect_used)]
    fn deref_mut(&mut self) -> &mut Lab {
        self.lab
            .as_mut()
            .expect("lab present until the guard is consumed")
    }
}

impl Drop for LabGuard {
    fn drop(&mut self) {
        if let Some(lab) = self.lab.take() {
            lab.refresh_quietly().teardown_blocking();
        }
    }
}

impl Lab {
    /// The freshest state we can get (pids change on `ctl start`), or what we had.
    fn refresh_quietly(&self) -> Self {
        Lab {
            state: LabState::load(&self.state.dir).unwrap_or_else(|_| self.state.clone()),
            quiet: self.quiet,
        }
    }
}

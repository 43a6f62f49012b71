//! `DIR/lab.json`: everything the lab knows, read by `status`, `down`, `ctl`, `serve` and tests.
//! Written atomically (temporary file + rename) after every change.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::{LabError, Result, io};
use super::versions::Build;

pub const STATE_FILE: &str = "lab.json";
pub const FORMAT: u32 = 1;

/// A server's role when the lab was built. Live roles move (switchover); this one does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Primary,
    Replica,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Primary => "primary",
            Role::Replica => "replica",
        })
    }
}

/// One `mariadbd` of the lab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerState {
    /// `server1`, `server2`, …; also its name in the inventory and in MaxScale.
    pub name: String,
    pub server_id: u32,
    pub initial_role: Role,
    /// Always `127.0.0.1`.
    pub host: String,
    pub port: u16,
    /// `DIR/serverK`.
    pub dir: PathBuf,
    pub datadir: PathBuf,
    pub socket: PathBuf,
    pub pid_file: PathBuf,
    pub error_log: PathBuf,
    /// `DIR/serverK/my.cnf`, the server's configuration (build-independent).
    pub cnf: PathBuf,
    /// `DIR/serverK/client.cnf`: `[client]` with root's socket and password, mode 0600.
    pub client_cnf: PathBuf,
    /// The binaries this server runs.
    pub build: Build,
    /// `SELECT VERSION()` at its last start.
    pub version: Option<String>,
    /// Pid of its last start (check with `Lab::running_pid`: it may have died since).
    pub pid: Option<u32>,
    /// `ssl_cert`/`ssl_key`/`ssl_ca` of its my.cnf (`lab up --tls`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<super::tls::TlsFiles>,
    /// Semi-sync master and slave enabled in its my.cnf (`lab up --semi-sync`).
    #[serde(default)]
    pub semi_sync: bool,
}

impl ServerState {
    /// What a live process of this server has on its command line.
    pub fn needle(&self) -> String {
        format!("--defaults-file={}", self.cnf.display())
    }
}

/// The MaxScale-compatible endpoint and router (`flightdeck lab serve`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointState {
    /// REST API port (MaxScale's 8989).
    pub port: u16,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// A free port reserved for the router's SQL listener.
    pub router_port: u16,
    pub user: String,
    pub monitor: String,
    /// Pid of `flightdeck lab serve`, if it was started.
    pub pid: Option<u32>,
    pub pid_file: PathBuf,
    pub log: PathBuf,
    /// The program started as `EXE lab serve --dir DIR`; `None`: no endpoint is started.
    pub exe: Option<PathBuf>,
    /// Stopped with `lab ctl endpoint stop`: `lab up --resume` leaves it stopped (as it
    /// leaves a server a runbook step stopped); starting it again clears this.
    #[serde(default)]
    pub stopped: bool,
}

/// The whole lab, as stored in `DIR/lab.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabState {
    pub format: u32,
    /// Absolute lab directory.
    pub dir: PathBuf,
    /// False until `lab up` has finished setting the lab up.
    pub ready: bool,
    pub created_unix: u64,
    pub servers: Vec<ServerState>,
    pub endpoint: EndpointState,
    pub inventory: PathBuf,
    pub secrets_dir: PathBuf,
    pub backup_dir: PathBuf,
    /// The flightdeck program runbooks call for lab steps (inventory `vars.flightdeck`).
    #[serde(default)]
    pub flightdeck_exe: Option<PathBuf>,
    /// The build a rehearsal upgrades to (the installed MariaDB), e.g. `10.11.19`.
    #[serde(default)]
    pub upgrade_to: Option<String>,
    /// Set by `lab down` (every server stopped on purpose), cleared when a server starts again:
    /// `lab up --resume` restarts such a lab, and never a server stopped one by one.
    #[serde(default)]
    pub stopped_by_down: bool,
    /// The lab CA and server certificate (`lab up --tls`): mariadbd and the endpoint's
    /// https use them, the inventory verifies against the CA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<super::tls::TlsFiles>,
    /// `lab up --semi-sync`: every server's my.cnf enables semi-sync on both sides, so
    /// restarts, upgrades and switchovers keep it.
    #[serde(default)]
    pub semi_sync: bool,
}

/// The endpoint's URL: https when the lab has TLS.
pub fn endpoint_url(tls: bool, port: u16) -> String {
    let scheme = if tls { "https" } else { "http" };
    format!("{scheme}://127.0.0.1:{port}")
}

impl LabState {
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(STATE_FILE)
    }

    /// Reads `DIR/lab.json`; `NoLab` if there is none.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = Self::path(dir);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(LabError::NoLab {
                    dir: dir.to_path_buf(),
                });
            }
            Err(e) => return Err(io(format!("reading {}", path.display()))(e)),
        };
        serde_json::from_str(&text).map_err(|cause| LabError::StateFile { path, cause })
    }

    /// Writes `DIR/lab.json` atomically.
    pub fn save(&self) -> Result<()> {
        let path = Self::path(&self.dir);
        let text = serde_json::to_string_pretty(self).map_err(|cause| LabError::StateFile {
            path: path.clone(),
            cause,
        })?;
        let tmp = self
            .dir
            .join(format!(".{STATE_FILE}.{}", std::process::id()));
        fs::write(&tmp, text + "\n").map_err(io(format!("writing {}", tmp.display())))?;
        fs::rename(&tmp, &path).map_err(io(format!("writing {}", path.display())))
    }

    pub fn server(&self, name: &str) -> Result<&ServerState> {
        self.servers
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| self.unknown(name))
    }

    pub fn server_mut(&mut self, name: &str) -> Result<&mut ServerState> {
        let err = self.unknown(name);
        self.servers.iter_mut().find(|s| s.name == name).ok_or(err)
    }

    fn unknown(&self, name: &str) -> LabError {
        LabError::UnknownServer {
            name: name.to_owned(),
            known: self
                .servers
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// The server built as the primary.
    pub fn initial_primary(&self) -> Result<&ServerState> {
        self.servers
            .iter()
            .find(|s| s.initial_role == Role::Primary)
            .ok_or_else(|| LabError::Invalid(format!("{}: no primary", STATE_FILE)))
    }

    /// `DIR/secrets/NAME` (see [`super::secrets`] for the names).
    pub fn secret_path(&self, name: &str) -> PathBuf {
        self.secrets_dir.join(name)
    }

    /// Reads a secret (`root`, `repl`, `monitor`, `app`, `flightdeck`, `maxscale_admin`).
    pub fn secret(&self, name: &str) -> Result<String> {
        super::secrets::read(&self.secret_path(name))
    }
}

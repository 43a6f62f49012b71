//! `flightdeck lab`: a local, disposable primary/replica MariaDB topology on 127.0.0.1, built
//! from real MariaDB binaries, with a MaxScale-compatible endpoint.
//!
//! Layout of a lab directory (`./lab`, `$FLIGHTDECK_LAB_DIR` or `--dir`):
//!
//! ```text
//! DIR/lab.json              everything the lab knows (state.rs)
//! DIR/inventory.toml        the lab in flightdeck's inventory format
//! DIR/secrets/NAME          passwords (root, repl, monitor, app, flightdeck, maxscale_admin)
//! DIR/serverK/              my.cnf, client.cnf, data/, error.log, mariadbd.pid, mariadb.sock
//! DIR/backup/               my.cnf copies (`lab ctl serverK backup-config`), the runbook's dump
//! DIR/serve.pid, serve.log  the endpoint process (`flightdeck lab serve`), which writes serve.pid
//! DIR/mxs-state.json        the endpoint's monitor journal: maintenance, drain, the primary
//! ```
//!
//! DIR gives others nothing and its group what the owner chose (see `secrets::lab_dir`:
//! the operators' group reaches a journal and its socket); DIR/serverK, DIR/secrets and DIR/backup are 0700; secrets, mxs-state.json, client.cnf
//! and every file a server writes (datadir, binlogs, master.info) are 0600. The lab's users are
//! created on each server with `sql_log_bin = 0`, so no password is in a binary log.
//!
//! From Rust: [`Lab::up`] (or [`Lab::resume`], which is `lab up --resume`) with [`LabOptions`],
//! then [`Lab::ctl`] (a server, or [`ENDPOINT`]), [`Lab::status`] and
//! [`Lab::endpoint_status`], [`Lab::down`]; [`Lab::guard`] for a lab that is torn
//! down on drop (tests).

pub mod cli;
pub mod config;
pub mod ctl;
pub mod endpoint;
pub mod error;
mod fetch;
pub mod handle;
pub mod instance;
pub mod inventory;
mod majors;
pub mod ports;
pub mod process;
mod resume;
pub mod secrets;
pub mod serve;
pub mod setup;
pub mod sql;
pub mod state;
pub mod status;
pub mod tls;
mod up;
pub mod versions;

pub use cli::{LabArgs, run};
pub use ctl::Action;
pub use endpoint::{ENDPOINT, EndpointStatus};
pub use error::LabError;
pub use handle::{Lab, LabGuard, LabOptions, ServerStatus};
pub use resume::{EndpointCheck, Resumed};
pub use state::{LabState, Role, ServerState};
pub use up::default_dir;
pub use versions::{Build, BuildSpec};
pub mod mxs;
pub mod router;

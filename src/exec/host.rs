//! The host executor for `shell` steps: runs a script with `sh -s` on this machine or on a
//! server over SSH, streams its output as it arrives, and on timeout or cancel stops the
//! command itself — the remote process group, not just the local `ssh` — before it reports.
//!
//! The script, which holds revealed secrets, is written to the shell's standard input
//! (framed as one `{ … } </dev/null` group, see `feed`), never put in argv: `ps` here and on
//! the host shows `sh -s`, and a multiplexed `ssh` carries no command line of its own.
//!
//! SSH goes through the system `ssh` (the `openssh` crate): `~/.ssh/config`, the agent,
//! `ProxyJump` and `known_hosts` behave as the DBA is used to. One multiplexed session
//! (a ControlMaster) per (user, host, port) is opened on first use and reused by every run.
//!
//! How a remote command is stopped: it is started as the fixed command
//! `exec sh -c 'echo <marker>$$; exec sh -s'`. sshd starts every non-pty command in a new
//! session, and the two `exec`s keep the pid, so the pid on that first line (stripped from
//! the output) is the session's process group. On timeout or cancel a second
//! command on the same connection sends `kill -s TERM -- -PGID`, then `KILL` after
//! [`SshOptions::stop_grace`] if the run has not ended. Local runs get their own process
//! group and the same escalation through `killpg`.

mod feed;
mod local;
mod pump;
mod ssh;
mod stop;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Where a `shell` step runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostTransport {
    /// `sh -s` on this machine, the script on its stdin.
    Local,
    /// `sh -s` on `host` through the system `ssh`, the script on its stdin; `host` may be an alias from
    /// `~/.ssh/config`. `None` leaves user and port to the ssh config.
    Ssh {
        host: String,
        user: Option<String>,
        port: Option<u16>,
    },
}

impl fmt::Display for HostTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostTransport::Local => f.write_str("local"),
            HostTransport::Ssh { host, user, port } => {
                if let Some(user) = user {
                    write!(f, "{user}@")?;
                }
                f.write_str(host)?;
                if let Some(port) = port {
                    write!(f, ":{port}")?;
                }
                Ok(())
            }
        }
    }
}

/// Which output stream a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        })
    }
}

/// A piece of one output stream, sent as soon as it was read. A chunk holds at most one line:
/// it ends with `'\n'`, or it is the incomplete end of what has arrived so far (a prompt, a
/// progress line). Concatenating a stream's chunks in order gives the stream (invalid UTF-8
/// is replaced with U+FFFD).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputChunk {
    pub stream: Stream,
    pub text: String,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnd {
    /// The command ended by itself (its exit code may still be non-zero).
    Exited,
    /// The timeout passed; the command was stopped.
    TimedOut,
    /// The cancellation token fired; the command was stopped.
    Cancelled,
}

/// The outcome of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostRun {
    /// The exit status; `None` when the command was killed by a signal, or was stopped
    /// before it had started.
    pub exit_code: Option<i32>,
    pub ended: RunEnd,
}

/// How the server's host key is checked (`StrictHostKeyChecking`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KnownHostsPolicy {
    /// The key must already be in the known hosts (`yes`): the DBA's `known_hosts`.
    #[default]
    Strict,
    /// Unknown hosts are added, changed keys are refused (`accept-new`).
    AcceptNew,
    /// Any key is accepted and added (`no`). For labs only.
    AcceptAny,
}

/// How SSH sessions are opened. `Default` uses the user's ssh config as it is.
#[derive(Debug, Clone)]
pub struct SshOptions {
    /// An ssh config file used instead of `~/.ssh/config` (`ssh -F`).
    pub config_file: Option<PathBuf>,
    pub known_hosts: KnownHostsPolicy,
    /// The only identity offered (`-i FILE -o IdentitiesOnly=yes`); the agent and config
    /// identities otherwise.
    pub identity_file: Option<PathBuf>,
    /// `ConnectTimeout`; opening a session as a whole is also bounded by a few times this.
    pub connect_timeout: Duration,
    /// Where the ControlMaster sockets live; default `$XDG_STATE_HOME` or `~/.local/state`.
    pub control_dir: Option<PathBuf>,
    /// A master with no command running exits after this long (`ControlPersist`), so a
    /// crashed cockpit leaves no ssh behind for long; the next run reconnects.
    pub master_idle: Duration,
    /// After `TERM`, how long the command gets before `KILL`, and after `KILL` how long the
    /// run waits before reporting [`HostError::NotStopped`]. Local runs use it too.
    pub stop_grace: Duration,
}

impl Default for SshOptions {
    fn default() -> Self {
        SshOptions {
            config_file: None,
            known_hosts: KnownHostsPolicy::Strict,
            identity_file: None,
            connect_timeout: Duration::from_secs(10),
            control_dir: None,
            master_idle: Duration::from_secs(15 * 60),
            stop_grace: Duration::from_secs(3),
        }
    }
}

/// Why a run could not be carried out. The ssh messages are ssh's own.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("cannot connect to {destination}: {message}")]
    Connect {
        destination: String,
        message: String,
    },
    #[error("cannot connect to {destination}: no session after {waited:?}")]
    ConnectTimeout {
        destination: String,
        waited: Duration,
    },
    #[error("cannot start the command on {destination}: {message}")]
    Spawn {
        destination: String,
        message: String,
    },
    #[error("lost the connection to {destination} while the command ran: {message}")]
    Disconnected {
        destination: String,
        message: String,
    },
    #[error("cannot start `sh` on this machine: {source}")]
    LocalSpawn {
        #[source]
        source: std::io::Error,
    },
    #[error("waiting for the command on {destination}: {source}")]
    Wait {
        destination: String,
        #[source]
        source: std::io::Error,
    },
    #[error("sending the script to {destination}: {source}")]
    Input {
        destination: String,
        #[source]
        source: std::io::Error,
    },
    #[error("reading the command's output on {destination}: {source}")]
    Output {
        destination: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the command on {destination} ({ended:?}) could not be stopped (pid {pid:?}): it may still be running"
    )]
    NotStopped {
        destination: String,
        ended: RunEnd,
        pid: Option<u32>,
    },
}

/// Runs `shell` steps on hosts. Cheap to clone: clones share the SSH sessions.
#[derive(Clone)]
pub struct HostPool {
    ssh: Arc<ssh::SshPool>,
}

impl fmt::Debug for HostPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostPool")
            .field("sessions_opened", &self.sessions_opened())
            .finish_non_exhaustive()
    }
}

impl HostPool {
    pub fn new(options: SshOptions) -> Self {
        HostPool {
            ssh: Arc::new(ssh::SshPool::new(options)),
        }
    }

    /// Runs `script` with `sh -s` on `transport` (the script on its stdin, never in argv;
    /// the commands in it read `/dev/null`), sending its output to `out` as it
    /// arrives. `timeout` covers connecting too. On timeout or cancel the command is stopped
    /// (TERM, then KILL) before this returns. A full `out` slows the command down; a dropped
    /// receiver only discards the output. Stop a run with `cancel`, not by dropping this
    /// future: a dropped local run has its process group killed, a dropped remote one is
    /// left running.
    pub async fn run(
        &self,
        transport: &HostTransport,
        script: &str,
        timeout: Duration,
        cancel: CancellationToken,
        out: mpsc::Sender<OutputChunk>,
    ) -> Result<HostRun, HostError> {
        let limits = stop::Limits {
            timeout,
            grace: self.ssh.options().stop_grace,
        };
        match transport {
            HostTransport::Local => local::run(script, limits, cancel, out).await,
            HostTransport::Ssh { host, user, port } => {
                let key = ssh::SessionKey {
                    host: host.clone(),
                    user: user.clone(),
                    port: *port,
                };
                self.ssh.run(&key, script, limits, cancel, out).await
            }
        }
    }

    /// Runs `script` as [`HostPool::run`] does and collects its standard output: for short
    /// reads whose output is wanted whole (not streamed to a screen).
    pub async fn run_collect(
        &self,
        transport: &HostTransport,
        script: &str,
        timeout: Duration,
    ) -> Result<(HostRun, String), HostError> {
        let (tx, mut rx) = mpsc::channel::<OutputChunk>(64);
        let collect = async {
            let mut out = String::new();
            while let Some(chunk) = rx.recv().await {
                if chunk.stream == Stream::Stdout {
                    out.push_str(&chunk.text);
                }
            }
            out
        };
        let run = self.run(transport, script, timeout, CancellationToken::new(), tx);
        let (ran, out) = tokio::join!(run, collect);
        Ok((ran?, out))
    }

    /// Closes every SSH session. A run still in progress keeps its session until it ends.
    pub async fn close(&self) {
        self.ssh.close().await;
    }

    /// How many SSH sessions (ControlMasters) this pool has opened so far, reconnects
    /// included. For tests and diagnostics.
    pub fn sessions_opened(&self) -> usize {
        self.ssh.sessions_opened()
    }
}

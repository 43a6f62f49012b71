//! `Ssh` transport: one multiplexed `openssh` session per (user, host, port), a fixed remote
//! command (`sh -s`, the script on its stdin) whose process group can be killed, and the
//! kill itself.

use std::collections::HashMap;
use std::error::Error as _;
use std::fmt;
use std::num::NonZeroUsize;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use openssh::{ControlPersist, KnownHosts, Session, SessionBuilder, Stdio};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, timeout};
use tokio_util::sync::CancellationToken;

use super::feed::feed;
use super::pump::{PID_MARKER, pump};
use super::stop::{self, Limits, Raced, StopSignal, Stopper};
use super::{HostError, HostRun, KnownHostsPolicy, OutputChunk, RunEnd, SshOptions, Stream};
use crate::runbook::template::shell::word;

/// The command line sent to the remote login shell, the same for every script. `exec sh -c`
/// makes the session's first process (its process group leader, as sshd runs each non-pty
/// command in a new session) a POSIX `sh`, whatever the login shell is; it prints its pid,
/// then `exec`s `sh -s` under the same pid, which reads the script from stdin.
pub(super) fn remote_command() -> String {
    format!(
        "exec sh -c {}",
        word(&format!("echo {PID_MARKER}$$; exec sh -s"))
    )
}

/// Signals the process group `pid`, or the process alone if it leads no group.
pub(super) fn kill_command(pid: u32, signal: StopSignal) -> String {
    let sig = signal.name();
    let script =
        format!("kill -s {sig} -- -{pid} 2>/dev/null || kill -s {sig} {pid} 2>/dev/null; true");
    format!("exec sh -c {}", word(&script))
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct SessionKey {
    pub host: String,
    pub user: Option<String>,
    pub port: Option<u16>,
}

impl fmt::Display for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let transport = super::HostTransport::Ssh {
            host: self.host.clone(),
            user: self.user.clone(),
            port: self.port,
        };
        transport.fmt(f)
    }
}

/// One session per key, behind an async lock so that concurrent first runs open one.
type Slot = Arc<tokio::sync::Mutex<Option<Arc<Session>>>>;

pub(super) struct SshPool {
    options: SshOptions,
    slots: Mutex<HashMap<SessionKey, Slot>>,
    opened: AtomicUsize,
}

/// `ssh`'s message: for a failed connection what ssh printed, else the error and its sources.
fn message(error: &openssh::Error) -> String {
    if let openssh::Error::Connect(e) | openssh::Error::Master(e) = error {
        return e.to_string().trim().to_string();
    }
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(s.to_string().trim());
        source = s.source();
    }
    text
}

impl SshPool {
    pub(super) fn new(options: SshOptions) -> Self {
        SshPool {
            options,
            slots: Mutex::new(HashMap::new()),
            opened: AtomicUsize::new(0),
        }
    }

    pub(super) fn options(&self) -> &SshOptions {
        &self.options
    }

    pub(super) fn sessions_opened(&self) -> usize {
        self.opened.load(Ordering::Relaxed)
    }

    fn slots(&self) -> MutexGuard<'_, HashMap<SessionKey, Slot>> {
        // The map is never left half-updated, so a poisoned lock is still usable.
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn slot(&self, key: &SessionKey) -> Slot {
        self.slots().entry(key.clone()).or_default().clone()
    }

    async fn connect(&self, key: &SessionKey) -> Result<Session, HostError> {
        let o = &self.options;
        let mut builder = SessionBuilder::default();
        builder
            .known_hosts_check(match o.known_hosts {
                KnownHostsPolicy::Strict => KnownHosts::Strict,
                KnownHostsPolicy::AcceptNew => KnownHosts::Add,
                KnownHostsPolicy::AcceptAny => KnownHosts::Accept,
            })
            .connect_timeout(o.connect_timeout);
        let idle = usize::try_from(o.master_idle.as_secs()).ok();
        if let Some(idle) = idle.and_then(NonZeroUsize::new) {
            builder.control_persist(ControlPersist::IdleFor(idle));
        }
        if let Some(file) = &o.config_file {
            builder.config_file(file);
        }
        if let Some(file) = &o.identity_file {
            builder.keyfile(file);
        }
        if let Some(dir) = &o.control_dir {
            builder.control_directory(dir);
        }
        if let Some(user) = &key.user {
            builder.user(user.clone());
        }
        if let Some(port) = key.port {
            builder.port(port);
        }
        // ConnectTimeout bounds the TCP connect; this bounds the whole handshake too.
        let waited = o.connect_timeout * 3 + std::time::Duration::from_secs(5);
        let session = timeout(waited, builder.connect_mux(&key.host))
            .await
            .map_err(|_| HostError::ConnectTimeout {
                destination: key.to_string(),
                waited,
            })?
            .map_err(|e| HostError::Connect {
                destination: key.to_string(),
                message: message(&e),
            })?;
        self.opened.fetch_add(1, Ordering::Relaxed);
        tracing::info!(destination = %key, "opened ssh session");
        Ok(session)
    }

    /// The open session for `key`, opened now if there is none.
    async fn session(&self, key: &SessionKey) -> Result<Arc<Session>, HostError> {
        let slot = self.slot(key);
        let mut guard = slot.lock().await;
        if let Some(session) = guard.as_ref() {
            return Ok(session.clone());
        }
        let session = match self.connect(key).await {
            Ok(session) => Arc::new(session),
            Err(e) => {
                tracing::warn!(destination = %key, "cannot open an ssh session: {e}");
                return Err(e);
            }
        };
        *guard = Some(session.clone());
        Ok(session)
    }

    /// Drops `dead` from its slot (unless another run already replaced it).
    async fn forget(&self, key: &SessionKey, dead: &Arc<Session>) {
        let slot = self.slot(key);
        let mut guard = slot.lock().await;
        if guard.as_ref().is_some_and(|s| Arc::ptr_eq(s, dead)) {
            *guard = None;
        }
    }

    /// Starts [`remote_command`]; if the session turns out to be dead, opens a new one and
    /// tries once more (nothing ran on the dead one).
    async fn spawn(
        &self,
        key: &SessionKey,
    ) -> Result<(Arc<Session>, openssh::Child<Arc<Session>>), HostError> {
        let command = remote_command();
        let session = self.session(key).await?;
        let first = match spawn_on(&session, &command).await {
            Ok(child) => return Ok((session, child)),
            Err(e) => e,
        };
        if session.check().await.is_ok() {
            return Err(HostError::Spawn {
                destination: key.to_string(),
                message: message(&first),
            });
        }
        tracing::warn!(destination = %key, "ssh session died ({first}); reconnecting");
        self.forget(key, &session).await;
        let session = self.session(key).await?;
        let child = spawn_on(&session, &command)
            .await
            .map_err(|e| HostError::Spawn {
                destination: key.to_string(),
                message: message(&e),
            })?;
        Ok((session, child))
    }

    pub(super) async fn run(
        &self,
        key: &SessionKey,
        script: &str,
        limits: Limits,
        cancel: CancellationToken,
        out: mpsc::Sender<OutputChunk>,
    ) -> Result<HostRun, HostError> {
        let deadline = Instant::now() + limits.timeout;
        // Connecting counts against the timeout and can be cancelled; nothing ran yet.
        let (session, mut child) = {
            let mut spawning = pin!(self.spawn(key));
            match stop::race(&mut spawning, deadline, &cancel).await {
                Raced::Finished(spawned) => spawned?,
                Raced::Stop(ended) => {
                    return Ok(HostRun {
                        exit_code: None,
                        ended,
                    });
                }
            }
        };
        let stdin = child.stdin().take();
        let stdout = child.stdout().take();
        let stderr = child.stderr().take();
        let (pid_tx, mut pid_rx) = watch::channel(None);
        let run = async {
            let (i, o, e) = tokio::join!(
                feed(stdin, script),
                pump(stdout, Stream::Stdout, &out, Some(&pid_tx)),
                pump(stderr, Stream::Stderr, &out, None),
            );
            (i, o.and(e), child.wait().await)
        };
        let mut run = pin!(run);
        let ended = match stop::race(&mut run, deadline, &cancel).await {
            Raced::Finished((input, output, status)) => {
                let exit_code = self.exit_code(key, &session, status).await?;
                input.map_err(|source| HostError::Input {
                    destination: key.to_string(),
                    source,
                })?;
                output.map_err(|source| HostError::Output {
                    destination: key.to_string(),
                    source,
                })?;
                return Ok(HostRun {
                    exit_code,
                    ended: RunEnd::Exited,
                });
            }
            Raced::Stop(ended) => ended,
        };
        let pid = async { pid_rx.wait_for(Option::is_some).await.ok().and_then(|p| *p) };
        let killer = RemoteKill {
            session: &session,
            grace: limits.grace,
        };
        match stop::stop(&mut run, pid, &killer, limits.grace).await {
            Some((_, _, status)) => Ok(HostRun {
                exit_code: status.ok().and_then(|s| s.code()),
                ended,
            }),
            None => Err(HostError::NotStopped {
                destination: key.to_string(),
                ended,
                pid: *pid_rx.borrow(),
            }),
        }
    }

    /// The exit code of a finished run. openssh reports 127 as an error, and a signal the
    /// same way as a lost connection: asking the master tells the two apart.
    async fn exit_code(
        &self,
        key: &SessionKey,
        session: &Session,
        status: Result<std::process::ExitStatus, openssh::Error>,
    ) -> Result<Option<i32>, HostError> {
        match status {
            Ok(status) => Ok(status.code()),
            Err(openssh::Error::Remote(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                Ok(Some(127))
            }
            Err(openssh::Error::RemoteProcessTerminated) if session.check().await.is_ok() => {
                Ok(None)
            }
            Err(e) => Err(HostError::Disconnected {
                destination: key.to_string(),
                message: message(&e),
            }),
        }
    }

    pub(super) async fn close(&self) {
        let slots: Vec<Slot> = self.slots().drain().map(|(_, slot)| slot).collect();
        for slot in slots {
            let Some(session) = slot.lock().await.take() else {
                continue;
            };
            // A run still holding the session closes it when it drops it.
            if let Ok(session) = Arc::try_unwrap(session)
                && let Err(e) = session.close().await
            {
                tracing::warn!("closing an ssh session: {}", message(&e));
            }
        }
    }
}

async fn spawn_on(
    session: &Arc<Session>,
    command: &str,
) -> Result<openssh::Child<Arc<Session>>, openssh::Error> {
    Session::arc_raw_command(session.clone(), command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .await
}

/// Kills the remote process group with a second command on the same connection.
struct RemoteKill<'a> {
    session: &'a Session,
    grace: std::time::Duration,
}

impl Stopper for RemoteKill<'_> {
    async fn signal(&self, pid: u32, signal: StopSignal) {
        let command = kill_command(pid, signal);
        let mut kill = self.session.raw_command(&command);
        kill.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        match timeout(self.grace, kill.status()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!("`{command}` failed: {}", message(&e)),
            Err(_) => tracing::warn!("`{command}` did not return in {:?}", self.grace),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `sh -c COMMAND`, with `stdin` written to its standard input.
    fn sh(command: &str, stdin: &str) -> String {
        use std::io::Write;
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("run sh");
        let mut input = child.stdin.take().expect("stdin");
        input.write_all(stdin.as_bytes()).expect("write stdin");
        drop(input);
        let out = child.wait_with_output().expect("wait for sh");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    #[test]
    fn remote_command_prints_its_pid_then_runs_the_script_from_stdin() {
        let script = super::super::feed::framed("echo \"it's $0\"; echo two");
        let out = sh(&remote_command(), &script);
        let mut lines = out.lines();
        let first = lines.next().expect("marker line");
        assert!(
            first
                .strip_prefix(PID_MARKER)
                .is_some_and(|p| p.parse::<u32>().is_ok())
        );
        assert_eq!(lines.collect::<Vec<_>>(), vec!["it's sh", "two"]);
    }
}

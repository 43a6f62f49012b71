//! One driver per journal: `JOURNAL.lock` names the process that drives it.
//!
//! The lock file holds JSON `{pid, operator, host, since}` and is created exclusively:
//! the content is written to a private temporary file (`O_CREAT|O_EXCL`, mode 0600) and
//! then hard-linked to the lock name, which fails if the name exists. So a lock file is
//! never seen half-written, and two processes can never both create it.
//!
//! A lock whose process is gone is stale and is taken over, but only when that can be
//! verified: the pid must be on this host (`kill(pid, 0)` answering `ESRCH`). A lock from
//! another host (a journal on shared storage) is refused with a message saying why.
//! Taking over happens under a short-lived guard (`JOURNAL.lock.takeover`, created the
//! same exclusive way): its holder re-reads the lock and removes it only if it is still
//! the stale one, so two processes racing for the same stale lock cannot both win.
//!
//! A pid reused by an unrelated process makes a stale lock look held; the message names
//! the pid so the operator can check, which errs on the safe side.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::session::clock::civil_from_days;

/// Who holds a lock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    pub pid: u32,
    pub operator: String,
    pub host: String,
    /// RFC 3339 UTC.
    pub since: String,
}

impl LockInfo {
    /// This process, now.
    pub fn here() -> Self {
        Self {
            pid: std::process::id(),
            operator: current_operator(),
            host: current_host(),
            since: now_rfc3339(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "the journal is being driven by {operator} on {host} (pid {pid}) since {since} \
         ({}); one driver per journal: wait for that session to end",
        lock.display()
    )]
    Held {
        lock: PathBuf,
        operator: String,
        host: String,
        pid: u32,
        since: String,
    },
    #[error(
        "the journal is locked by {operator} on {host} (pid {pid}) since {since}; that is \
         another host, so whether the process is still alive cannot be verified from here. \
         If it is gone, delete {} by hand",
        lock.display()
    )]
    OtherHost {
        lock: PathBuf,
        operator: String,
        host: String,
        pid: u32,
        since: String,
    },
    #[error(
        "lock file {}: {message}; if no flightdeck drives this journal, delete it by hand",
        lock.display()
    )]
    Unreadable { lock: PathBuf, message: String },
    #[error("lock file {}: {source}", lock.display())]
    Io {
        lock: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The held lock of one journal; dropping it removes the lock file.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
    info: LockInfo,
    /// Set when a stale lock (its process gone) was taken over: who had held it.
    pub took_over_stale: Option<LockInfo>,
}

/// How often acquisition re-reads after losing a race before giving up.
const ATTEMPTS: usize = 200;

impl Lock {
    /// `JOURNAL.lock` beside the journal.
    pub fn lock_path(journal_path: &Path) -> PathBuf {
        let mut name = journal_path.as_os_str().to_owned();
        name.push(".lock");
        PathBuf::from(name)
    }

    /// Takes the lock of `journal_path` for this process (see the module docs).
    pub fn acquire(journal_path: &Path) -> Result<Lock, LockError> {
        let path = Self::lock_path(journal_path);
        let info = LockInfo::here();
        // Unique per call, so two threads of one process never share a temporary name.
        static CALLS: AtomicUsize = AtomicUsize::new(0);
        let call = CALLS.fetch_add(1, Ordering::Relaxed);
        let tmp = sibling(&path, &format!("{}.{call}.tmp", info.pid));
        write_new(&tmp, &info).map_err(io_err(&tmp))?;
        let result = Self::link_or_take_over(&path, &tmp, info);
        let _ = fs::remove_file(&tmp);
        result
    }

    fn link_or_take_over(path: &Path, tmp: &Path, info: LockInfo) -> Result<Lock, LockError> {
        let mut took_over_stale = None;
        for _ in 0..ATTEMPTS {
            match fs::hard_link(tmp, path) {
                Ok(()) => {
                    return Ok(Lock {
                        path: path.to_path_buf(),
                        info,
                        took_over_stale,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io_err(path)(e)),
            }
            let Some(held) = read_info(path)? else {
                continue; // released meanwhile: try again
            };
            if held.host != info.host {
                return Err(LockError::OtherHost {
                    lock: path.to_path_buf(),
                    operator: held.operator,
                    host: held.host,
                    pid: held.pid,
                    since: held.since,
                });
            }
            if alive(path, held.pid)? {
                return Err(LockError::Held {
                    lock: path.to_path_buf(),
                    operator: held.operator,
                    host: held.host,
                    pid: held.pid,
                    since: held.since,
                });
            }
            // Stale. Only the holder of the takeover guard may remove it; under the guard
            // it can only change by being released, so "still the same" is final.
            let guard = sibling(path, "takeover");
            match fs::hard_link(tmp, &guard) {
                Ok(()) => {
                    let still = read_info(path);
                    if matches!(&still, Ok(Some(now)) if *now == held) {
                        let removed = fs::remove_file(path);
                        let _ = fs::remove_file(&guard);
                        removed.map_err(io_err(path))?;
                        took_over_stale = Some(held);
                    } else {
                        let _ = fs::remove_file(&guard);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    // Another process is taking over right now, unless it died doing so.
                    if let Some(g) = read_info(&guard)? {
                        if g.host == info.host && !alive(&guard, g.pid)? {
                            return Err(LockError::Unreadable {
                                lock: guard,
                                message: format!("left by pid {} that died taking over", g.pid),
                            });
                        }
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => return Err(io_err(&guard)(e)),
            }
        }
        Err(LockError::Unreadable {
            lock: path.to_path_buf(),
            message: format!("it kept changing while being acquired ({ATTEMPTS} tries)"),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn info(&self) -> &LockInfo {
        &self.info
    }

    /// Whether the lock file still names this lock (nobody removed or took it over).
    pub fn still_held(&self) -> Result<bool, LockError> {
        Ok(read_info(&self.path)?.as_ref() == Some(&self.info))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Remove only our own lock, never one that replaced it.
        if matches!(self.still_held(), Ok(true)) {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// `LOCK.<suffix>`, e.g. `journal.jsonl.lock.4242.tmp`.
fn sibling(lock: &Path, suffix: &str) -> PathBuf {
    let mut name = lock.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

/// Writes `info` to a new file with mode 0600 and syncs it. A leftover from a process
/// that had the same pid before is removed first.
fn write_new(path: &Path, info: &LockInfo) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    let json = serde_json::to_vec(info).map_err(io::Error::other)?;
    file.write_all(&json)?;
    file.sync_all()
}

/// The lock's holder, or `None` if the file does not exist.
fn read_info(path: &Path) -> Result<Option<LockInfo>, LockError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path)(e)),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| LockError::Unreadable {
            lock: path.to_path_buf(),
            message: format!("not a flightdeck lock ({e})"),
        })
}

/// Whether `pid` is a live process on this host. `EPERM` means it exists (another user).
fn alive(lock: &Path, pid: u32) -> Result<bool, LockError> {
    let Some(raw) = i32::try_from(pid).ok().filter(|&p| p > 0) else {
        return Err(LockError::Unreadable {
            lock: lock.to_path_buf(),
            message: format!("pid {pid} is not a process id"),
        });
    };
    if matches!(kill(Pid::from_raw(raw), None), Err(Errno::ESRCH)) {
        return Ok(false);
    }
    // A zombie answers kill(0) but drives nothing: a killed driver whose parent has not
    // reaped it yet (a shell busy with what comes next, a supervisor) must not hold the
    // journal.
    Ok(!zombie(pid))
}

/// Whether `/proc/PID/stat` says the process is a zombie (state `Z`).
fn zombie(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // `pid (comm) state …`: comm may hold spaces and parentheses, so read after the last `)`.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .is_some_and(|state| state == "Z")
}

fn io_err(lock: &Path) -> impl FnOnce(io::Error) -> LockError + '_ {
    move |source| LockError::Io {
        lock: lock.to_path_buf(),
        source,
    }
}

/// The operator named on the command line (`flightdeck run --operator NAME`), set once.
static OPERATOR: OnceLock<String> = OnceLock::new();

/// Names the operator for this whole process, before any journal or lock is written (for
/// shared accounts, where the OS user says nothing about who is at the keyboard). Returns
/// `false`, changing nothing, if a name was already set.
pub fn set_operator(name: impl Into<String>) -> bool {
    OPERATOR.set(name.into()).is_ok()
}

/// Who is at the keyboard, as the journal and the lock name them: the name given with
/// [`set_operator`]; else `$SUDO_USER` (the person behind `sudo`); else the login name of
/// the real uid from the password database; else `uid:N`.
///
/// `$USER` and `$LOGNAME` are not consulted: they may be missing (tmux, cron) and are
/// easier to spoof than the password database.
pub fn current_operator() -> String {
    let uid = nix::unistd::getuid();
    operator_from(
        OPERATOR.get().map(String::as_str),
        std::env::var("SUDO_USER").ok().as_deref(),
        || {
            nix::unistd::User::from_uid(uid)
                .ok()
                .flatten()
                .map(|u| u.name)
        },
        uid.as_raw(),
    )
}

/// The precedence of [`current_operator`], given the candidates instead of reading them
/// from the process: `overridden`, then `sudo_user`, then `login()` (asked only when
/// needed), then `uid:N`. Blank names are skipped; names are trimmed.
pub fn operator_from(
    overridden: Option<&str>,
    sudo_user: Option<&str>,
    login: impl FnOnce() -> Option<String>,
    uid: u32,
) -> String {
    let named = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    overridden
        .and_then(named)
        .or_else(|| sudo_user.and_then(named))
        .or_else(|| login().as_deref().and_then(named))
        .unwrap_or_else(|| format!("uid:{uid}"))
}

/// This machine's host name (from the kernel), else `$HOSTNAME`, else `localhost`.
pub fn current_host() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "localhost".to_string())
}

/// Now, as RFC 3339 UTC with milliseconds.
pub fn now_rfc3339() -> String {
    format_rfc3339(SystemTime::now())
}

/// `t` as RFC 3339 UTC with milliseconds, e.g. `2026-11-01T09:30:00.123Z` (times before
/// 1970 are shown as the epoch).
pub fn format_rfc3339(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Every day a SystemTime names has a date: the epoch's is never used.
    let (year, month, day) = civil_from_days(days).unwrap_or((1970, 1, 1));
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::zombie;

    #[test]
    fn a_killed_child_not_yet_reaped_is_a_zombie_and_a_running_one_is_not() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep");
        assert!(!zombie(child.id()));
        child.kill().expect("kill");
        // Not waited for yet: a zombie until reaped.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !zombie(child.id()) {
            assert!(Instant::now() < deadline, "never a zombie");
            std::thread::sleep(Duration::from_millis(10));
        }
        child.wait().expect("reaped");
        assert!(!zombie(std::process::id()));
    }
}

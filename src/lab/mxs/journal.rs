//! The monitor's journal: what the lab endpoint keeps across its own restarts.
//!
//! It imitates MaxScale (2.5 and later, so 23.08 and 24.02). Runtime configuration changes
//! (`persist_runtime_changes`, files in `/var/lib/maxscale/maxscale.cnf.d/`) hold objects and
//! their parameters, not server states; the states set with `maxctrl set server NAME
//! maintenance|drain` live in the server's status bits, which each monitor writes to its
//! journal, `DATADIR/MONITOR_journal.json` (`module`, `maxscale_version`, `timestamp`,
//! `servers[]` of `name` and the `status` bitmask, and from mariadbmon `master_server` and
//! `master_gtid_domain`). The monitor writes it when a status changes, at least every 5
//! minutes to keep the timestamp fresh, and when it stops. When it starts it reads the
//! journal back, unless it is older than `journal_max_age` (default 8 h) or names other servers
//! than the configuration does (then it is discarded with a warning), sets each server's status
//! bits from it and takes the journaled master as its current primary, which it keeps while
//! that server stays a valid primary. So after a restart a replica in maintenance stays out
//! of the pool, even while it is down ("Maintenance, Down").
//!
//! The lab keeps the same facts in `DIR/mxs-state.json` (0600; temporary file, fsync, rename,
//! directory fsync), written at the same moments and before a `set`/`clear` answers 204: each
//! server's admin states (the `state` words `set`/`clear` take) and shown state, and the
//! primary. It restores the admin states and the primary, not the role and `Running` bits
//! (MaxScale shows those until its first tick; the lab shows no server before its first one).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::maxscale::AdminState;

use super::state::ClusterView;

/// MaxScale's default `journal_max_age`.
pub const JOURNAL_MAX_AGE: Duration = Duration::from_secs(8 * 3600);
/// MaxScale rewrites an unchanged journal this often, to keep its timestamp fresh.
const SAVE_INTERVAL: Duration = Duration::from_secs(5 * 60);
const MODULE: &str = "mariadbmon";

/// The file's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    /// Always `mariadbmon`.
    pub module: String,
    /// The monitor's name (MaxScale names the file after it).
    pub monitor: String,
    /// Unix seconds of the write.
    pub timestamp: u64,
    /// In configuration order.
    pub servers: Vec<JournalServer>,
    /// mariadbmon's `master_server`: the primary's name, empty when there is none.
    pub master_server: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalServer {
    pub name: String,
    /// The state the REST API showed when this was written; informative, not restored.
    #[serde(default)]
    pub state: String,
    /// Admin states set with `PUT /v1/servers/NAME/set?state=…` and not cleared since.
    #[serde(default)]
    pub admin: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a monitor journal: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("Discarding journal file '{path}'. {reason}")]
    Discarded { path: PathBuf, reason: String },
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Journal {
    /// What `view` says now.
    pub fn of(view: &ClusterView, monitor: &str) -> Self {
        let servers = view
            .servers
            .iter()
            .map(|s| {
                let admin = [
                    (s.maintenance, AdminState::Maintenance),
                    (s.drain, AdminState::Drain),
                ];
                JournalServer {
                    name: s.name.clone(),
                    state: s.state().raw,
                    admin: admin
                        .iter()
                        .filter(|(on, _)| *on)
                        .map(|(_, a)| a.as_str().to_owned())
                        .collect(),
                }
            })
            .collect();
        Self {
            module: MODULE.to_owned(),
            monitor: monitor.to_owned(),
            timestamp: unix_now(),
            servers,
            master_server: view.master.clone().unwrap_or_default(),
        }
    }

    /// Same content, whenever written.
    fn same_as(&self, other: &Journal) -> bool {
        Journal {
            timestamp: other.timestamp,
            ..self.clone()
        } == *other
    }

    /// Reads `path`: `None` if there is none; an error (to log, then start without it) if it
    /// cannot be read, is older than `max_age`, or is not this monitor's over these servers.
    pub fn load(
        path: &Path,
        monitor: &str,
        servers: &[&str],
        max_age: Duration,
    ) -> Result<Option<Journal>, JournalError> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(JournalError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        let journal: Journal =
            serde_json::from_str(&text).map_err(|source| JournalError::Parse {
                path: path.to_owned(),
                source,
            })?;
        let discard = |reason: String| JournalError::Discarded {
            path: path.to_owned(),
            reason,
        };
        if journal.module != MODULE || journal.monitor != monitor {
            return Err(discard(format!(
                "It is the journal of {} monitor '{}', not of {MODULE} monitor '{monitor}'.",
                journal.module, journal.monitor
            )));
        }
        let age = unix_now().saturating_sub(journal.timestamp);
        if age > max_age.as_secs() {
            return Err(discard(format!(
                "File is {age} seconds old. Limit is {} seconds.",
                max_age.as_secs()
            )));
        }
        if !journal
            .servers
            .iter()
            .map(|s| s.name.as_str())
            .eq(servers.iter().copied())
        {
            return Err(discard(
                "Servers described in the journal are different from the ones configured on \
                 the current monitor."
                    .to_owned(),
            ));
        }
        Ok(Some(journal))
    }

    /// Sets the journaled admin states and primary on `view` (servers by name); returns the
    /// admin states it does not know (ignored), as `server: word`.
    pub fn apply(&self, view: &mut ClusterView) -> Vec<String> {
        let mut unknown = Vec::new();
        for js in &self.servers {
            let Some(s) = view.server_mut(&js.name) else {
                continue;
            };
            for word in &js.admin {
                match AdminState::parse(word) {
                    Some(AdminState::Maintenance) => s.maintenance = true,
                    Some(AdminState::Drain) => s.drain = true,
                    None => unknown.push(format!("{}: {word}", js.name)),
                }
            }
        }
        if view.server(&self.master_server).is_some() {
            view.master = Some(self.master_server.clone());
        }
        unknown
    }

    /// Writes `path` atomically: a private temporary file beside it, fsynced, renamed over it,
    /// and the directory fsynced.
    pub fn write(&self, path: &Path) -> Result<(), JournalError> {
        let err = |source| JournalError::Write {
            path: path.to_owned(),
            source,
        };
        let mut text = serde_json::to_vec_pretty(self).map_err(|e| err(e.into()))?;
        text.push(b'\n');
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
        let _ = fs::remove_file(&tmp);
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(err)?;
        let written = f.write_all(&text).and_then(|()| f.sync_all());
        drop(f);
        if let Err(e) = written.and_then(|()| fs::rename(&tmp, path)) {
            let _ = fs::remove_file(&tmp);
            return Err(err(e));
        }
        let dir = (path.parent())
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::File::open(dir).and_then(|d| d.sync_all()).map_err(err)
    }
}

/// The journal file of a running monitor: restores it once, then writes it when its content
/// changes, every [`SAVE_INTERVAL`] and at shutdown.
#[derive(Debug)]
pub struct JournalFile {
    path: PathBuf,
    max_age: Duration,
    monitor: String,
    last: Option<(Journal, Instant)>,
}

impl JournalFile {
    pub fn new(path: PathBuf, max_age: Duration, monitor: &str) -> Self {
        Self {
            path,
            max_age,
            monitor: monitor.to_owned(),
            last: None,
        }
    }

    /// Reads the journal into `view` (before the first tick), logging what it restores or why
    /// it discards the file.
    pub fn restore(&self, view: &mut ClusterView) {
        let names: Vec<String> = view.servers.iter().map(|s| s.name.clone()).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        match Journal::load(&self.path, &self.monitor, &names, self.max_age) {
            Ok(Some(journal)) => {
                let ignored = journal.apply(view);
                tracing::info!(path = %self.path.display(), master = %journal.master_server,
                    ?ignored, "lab monitor: admin states and primary restored from the journal");
            }
            Ok(None) => {}
            Err(e) => tracing::warn!("lab monitor: {e}"),
        }
    }

    /// Writes the journal if `view` changed what it says, if the last write is older than
    /// [`SAVE_INTERVAL`], or if `force`. A failed write is logged and retried next time.
    pub async fn save(&mut self, view: &ClusterView, force: bool) {
        let journal = Journal::of(view, &self.monitor);
        let due = match &self.last {
            Some((last, at)) => force || !journal.same_as(last) || at.elapsed() >= SAVE_INTERVAL,
            None => true,
        };
        if !due {
            return;
        }
        let path = self.path.clone();
        let copy = journal.clone();
        let result = tokio::task::spawn_blocking(move || copy.write(&path)).await;
        match result {
            Ok(Ok(())) => self.last = Some((journal, Instant::now())),
            Ok(Err(e)) => tracing::error!("lab monitor: failed to write its journal: {e}"),
            Err(e) => tracing::error!("lab monitor: the journal write did not finish: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::super::state::ServerView;
    use super::*;

    fn view() -> ClusterView {
        ClusterView {
            servers: vec![
                ServerView::new("server1", "127.0.0.1", 1),
                ServerView::new("server2", "127.0.0.1", 2),
            ],
            ..ClusterView::default()
        }
    }

    const NAMES: [&str; 2] = ["server1", "server2"];

    #[test]
    fn admin_states_and_the_primary_survive_a_write_and_a_load() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("mxs-state.json");
        let mut v = view();
        v.master = Some("server1".into());
        v.servers[1].maintenance = true;
        v.servers[1].drain = true;
        Journal::of(&v, "MariaDB-Monitor")
            .write(&path)
            .expect("write");
        let mode = fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let names: Vec<_> = fs::read_dir(dir.path()).expect("ls").collect();
        assert_eq!(names.len(), 1, "no temporary file left: {names:?}");

        let journal = Journal::load(&path, "MariaDB-Monitor", &NAMES, JOURNAL_MAX_AGE)
            .expect("valid")
            .expect("present");
        assert_eq!(journal.servers[1].admin, ["maintenance", "drain"]);
        assert_eq!(journal.servers[1].state, "Maintenance, Drained, Down");
        let mut fresh = view();
        assert!(journal.apply(&mut fresh).is_empty());
        assert!(fresh.servers[1].maintenance && fresh.servers[1].drain);
        assert!(!fresh.servers[0].maintenance && !fresh.servers[0].drain);
        assert_eq!(fresh.master.as_deref(), Some("server1"));
    }

    #[test]
    fn a_missing_file_is_no_journal_and_a_foreign_or_old_one_is_discarded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("mxs-state.json");
        let load =
            |names: &[&str], max_age| Journal::load(&path, "MariaDB-Monitor", names, max_age);
        assert!(matches!(load(&NAMES, JOURNAL_MAX_AGE), Ok(None)));

        let mut journal = Journal::of(&view(), "MariaDB-Monitor");
        journal.write(&path).expect("write");
        let other = load(&["server1", "server3"], JOURNAL_MAX_AGE);
        assert!(
            matches!(&other, Err(JournalError::Discarded { reason, .. }) if reason.contains("different")),
            "{other:?}"
        );

        journal.timestamp -= 3600;
        journal.write(&path).expect("write");
        assert!(load(&NAMES, JOURNAL_MAX_AGE).is_ok_and(|j| j.is_some()));
        let old = load(&NAMES, Duration::from_secs(60));
        assert!(
            matches!(&old, Err(JournalError::Discarded { reason, .. }) if reason.contains("seconds old")),
            "{old:?}"
        );

        fs::write(&path, "{ not json").expect("corrupt");
        assert!(matches!(
            load(&NAMES, JOURNAL_MAX_AGE),
            Err(JournalError::Parse { .. })
        ));
    }

    #[tokio::test]
    async fn the_file_is_written_when_its_content_changes_or_at_shutdown() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("mxs-state.json");
        let mut file = JournalFile::new(path.clone(), JOURNAL_MAX_AGE, "MariaDB-Monitor");
        let mut v = view();
        file.restore(&mut v); // nothing there yet
        file.save(&v, false).await;
        fs::remove_file(&path).expect("written, removed");
        file.save(&v, false).await;
        assert!(!path.exists(), "unchanged: not rewritten");
        file.save(&v, true).await;
        assert!(path.exists(), "forced (shutdown): rewritten");
        for on in [true, false] {
            v.servers[1].maintenance = on;
            file.save(&v, false).await;
            let mut restored = view();
            file.restore(&mut restored);
            assert_eq!(restored.servers[1].maintenance, on);
        }
    }
}

//! One `mariadbd`: initialise its datadir, start it detached and wait until it answers, stop it
//! cleanly (`innodb_fast_shutdown=0` + `SHUTDOWN`), or kill it.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use nix::sys::signal::Signal;
use tokio::process::Command;

use super::config::mariadbd_args;
use super::error::{LabError, Result, io};
use super::process::{self, alive, read_pid_file, tail_of};
use super::sql;
use super::state::ServerState;

/// How long a start may take before the lab gives up (crash recovery included).
pub const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a clean shutdown (with a full purge) may take before SIGKILL.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(120);
const TAIL_LINES: usize = 25;
/// MariaDB's file and directory creation modes (mysys reads them from the environment; the
/// default is 0660): the datadir holds password hashes, binlogs and master.info, whose
/// replication password is in plain text, so everything a server writes is 0600.
const PRIVATE_FILES: [(&str, &str); 2] = [("UMASK", "0600"), ("UMASK_DIR", "0700")];

/// The server's live pid, from lab.json or its pid file, checked against its command line.
pub fn running_pid(s: &ServerState) -> Option<u32> {
    let cnf = s.cnf.to_string_lossy();
    s.pid
        .filter(|p| alive(*p, &[&cnf]))
        .or_else(|| read_pid_file(&s.pid_file).filter(|p| alive(*p, &[&cnf])))
}

/// Runs `mariadb-install-db` for a fresh datadir (root without password, no test db).
pub async fn install_db(s: &ServerState) -> Result<()> {
    let tool = s.build.install_db.as_ref().ok_or_else(|| {
        LabError::Invalid(format!(
            "the MariaDB build at {} has no mariadb-install-db",
            s.build.basedir.display()
        ))
    })?;
    std::fs::create_dir_all(&s.datadir).map_err(io(format!("creating {}", s.datadir.display())))?;
    let log = s.dir.join("install-db.log");
    let args = [
        "--no-defaults".to_owned(),
        format!("--basedir={}", s.build.basedir.display()),
        format!("--datadir={}", s.datadir.display()),
        "--user=root".to_owned(),
        "--auth-root-authentication-method=normal".to_owned(),
        "--skip-test-db".to_owned(),
        "--skip-name-resolve".to_owned(),
        // Parallel labs must not share /tmp's temporary tables.
        format!("--tmpdir={}", s.dir.join("tmp").display()),
        "--innodb-log-file-size=8M".to_owned(),
        "--innodb-buffer-pool-size=32M".to_owned(),
    ];
    let command = format!("{} {}", tool.display(), args.join(" "));
    let out = Command::new(tool)
        .args(&args)
        .envs(PRIVATE_FILES)
        .current_dir(&s.dir)
        .output()
        .await
        .map_err(io(format!("running {command}")))?;
    let mut text = out.stdout;
    text.extend_from_slice(&out.stderr);
    std::fs::write(&log, &text).map_err(io(format!("writing {}", log.display())))?;
    if !out.status.success() {
        return Err(LabError::Command {
            command,
            detail: format!(
                "{} (full output in {})\n{}",
                out.status,
                log.display(),
                tail_of(&String::from_utf8_lossy(&text), TAIL_LINES)
            ),
        });
    }
    Ok(())
}

/// Starts the server detached and waits until it answers; returns its pid. A server that is
/// already running is left alone (its pid is returned). `PortInUse` if its port was taken.
pub async fn start(s: &ServerState, timeout: Duration) -> Result<u32> {
    if let Some(pid) = running_pid(s) {
        return Ok(pid);
    }
    let log_start = std::fs::metadata(&s.error_log)
        .map(|m| m.len())
        .unwrap_or(0);
    let mut cmd = std::process::Command::new(&s.build.mariadbd);
    cmd.args(mariadbd_args(s))
        .envs(PRIVATE_FILES)
        .current_dir(&s.dir);
    let what = format!("{} ({})", s.name, s.build.mariadbd.display());
    let mut child = process::spawn_detached(&mut cmd, &s.dir.join("mariadbd.out"), &what)?;
    let pid = child.id();
    let deadline = Instant::now() + timeout;
    loop {
        if !process::child_running(&mut child) {
            let new = log_since(&s.error_log, log_start);
            if new.contains("Address already in use") {
                return Err(LabError::PortInUse {
                    server: s.name.clone(),
                    port: s.port,
                });
            }
            return Err(start_failed(s, "mariadbd exited during startup", &new));
        }
        if sql::answers(s).await {
            return Ok(pid);
        }
        if Instant::now() >= deadline {
            process::signal(pid, Signal::SIGKILL)?;
            let reason = format!("not answering after {}s (killed it)", timeout.as_secs());
            return Err(start_failed(
                s,
                &reason,
                &log_since(&s.error_log, log_start),
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn start_failed(s: &ServerState, reason: &str, log: &str) -> LabError {
    let tail = if log.trim().is_empty() {
        format!(
            "(error log empty; mariadbd.out says:)\n{}",
            process::tail(&s.dir.join("mariadbd.out"), TAIL_LINES)
        )
    } else {
        tail_of(log, TAIL_LINES)
    };
    LabError::StartFailed {
        server: s.name.clone(),
        reason: reason.into(),
        log: s.error_log.clone(),
        tail,
    }
}

/// What the error log gained since `offset`.
fn log_since(path: &Path, offset: u64) -> String {
    let mut text = String::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        let _ = f.seek(SeekFrom::Start(offset));
        let mut bytes = Vec::new();
        let _ = f.read_to_end(&mut bytes);
        text = String::from_utf8_lossy(&bytes).into_owned();
    }
    text
}

/// How a stop went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// It was not running.
    WasDown,
    /// `SET GLOBAL innodb_fast_shutdown=0; SHUTDOWN` (or SIGTERM if SQL was refused).
    Clean,
    /// It ignored the shutdown past the deadline and got SIGKILL.
    Killed,
}

/// Clean shutdown with a full purge, SIGKILL after `timeout`.
pub async fn stop(
    s: &ServerState,
    root_password: Option<&str>,
    timeout: Duration,
) -> Result<Stopped> {
    let Some(pid) = running_pid(s) else {
        return Ok(Stopped::WasDown);
    };
    let cnf = s.cnf.to_string_lossy().into_owned();
    let via_sql = async {
        let mut conn = sql::connect(s, sql::root_opts(s, root_password)).await?;
        sql::exec(
            &mut conn,
            &s.name,
            "SET GLOBAL innodb_fast_shutdown = 0",
            &[],
        )
        .await?;
        // The server may close the connection before or after acknowledging.
        let _ = conn.query_drop("SHUTDOWN").await;
        Ok::<_, LabError>(())
    };
    if via_sql.await.is_err() {
        process::signal(pid, Signal::SIGTERM)?;
    }
    if process::wait_exit(pid, &[&cnf], timeout).await {
        return Ok(Stopped::Clean);
    }
    process::signal(pid, Signal::SIGKILL)?;
    process::wait_exit(pid, &[&cnf], Duration::from_secs(10)).await;
    Ok(Stopped::Killed)
}

/// SIGKILL (a simulated crash). Returns false if it was not running.
pub async fn kill(s: &ServerState) -> Result<bool> {
    let Some(pid) = running_pid(s) else {
        return Ok(false);
    };
    process::signal(pid, Signal::SIGKILL)?;
    let cnf = s.cnf.to_string_lossy().into_owned();
    if !process::wait_exit(pid, &[&cnf], Duration::from_secs(10)).await {
        return Err(LabError::Timeout {
            server: s.name.clone(),
            what: format!("exit of pid {pid} after SIGKILL"),
            secs: 10,
            detail: String::new(),
        });
    }
    Ok(true)
}

/// Blocking best-effort stop for `Drop`: SIGTERM (a clean shutdown for mariadbd), SIGKILL
/// after `grace`.
pub fn terminate_blocking(s: &ServerState, grace: Duration) {
    let Some(pid) = running_pid(s) else {
        return;
    };
    let cnf = s.cnf.to_string_lossy().into_owned();
    if process::signal(pid, Signal::SIGTERM).is_ok()
        && process::wait_exit_blocking(pid, &[&cnf], grace)
    {
        return;
    }
    let _ = process::signal(pid, Signal::SIGKILL);
    process::wait_exit_blocking(pid, &[&cnf], Duration::from_secs(10));
}

/// `SELECT VERSION()` as root.
pub async fn version(s: &ServerState, root_password: Option<&str>) -> Result<String> {
    let mut conn = sql::connect(s, sql::root_opts(s, root_password)).await?;
    let v = sql::scalar(&mut conn, &s.name, "SELECT VERSION()").await?;
    let _ = conn.disconnect().await;
    Ok(v.unwrap_or_default())
}

/// Runs the server's build's `mariadb-upgrade` with root's client.cnf; returns its output.
pub async fn run_upgrade(s: &ServerState) -> Result<String> {
    let tool = s
        .build
        .upgrade
        .clone()
        .unwrap_or_else(|| "/usr/bin/mariadb-upgrade".into());
    let arg = format!("--defaults-file={}", s.client_cnf.display());
    let command = format!("{} {arg}", tool.display());
    let out = Command::new(&tool)
        .arg(&arg)
        .envs(PRIVATE_FILES)
        .current_dir(&s.dir)
        .output()
        .await
        .map_err(io(format!("running {command}")))?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    let log = s.dir.join("upgrade.log");
    std::fs::write(&log, &text).map_err(io(format!("writing {}", log.display())))?;
    if !out.status.success() {
        return Err(LabError::Command {
            command,
            detail: format!("{}\n{}", out.status, tail_of(&text, TAIL_LINES)),
        });
    }
    Ok(text)
}

//! The log file: what went wrong at 3 a.m., for the operator who looks afterwards.
//!
//! Every command writes its tracing events to `flightdeck.YYYY-MM-DD.log` under
//! [`state_dir`] (daily files, 14 kept), at the level `FLIGHTDECK_LOG` names (an
//! `EnvFilter`, default `info`). Nothing goes to the terminal: the cockpit owns it.
//! Lines are written by tracing-appender's worker thread, so a slow disk never stalls
//! the cockpit; a full queue drops lines rather than block.
//!
//! Every line passes through the process's [`remembered`] masker first, fragments
//! included, so a secret that reaches an error text (a server echoing a statement, a
//! library quoting a URL) is `****` in the file as it is on screen.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tracing_appender::non_blocking::{NonBlocking, WorkerGuard};
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};

use crate::session::mask::{PARTIAL_MIN_CHARS, remembered};

/// The variable that sets the log level (an `EnvFilter` directive such as `debug` or
/// `flightdeck::exec=trace`).
pub const LEVEL_VAR: &str = "FLIGHTDECK_LOG";
/// Daily files kept; older ones are removed when a new one starts.
pub const KEEP_DAYS: usize = 14;
const PREFIX: &str = "flightdeck";
const SUFFIX: &str = "log";

/// `$XDG_STATE_HOME/flightdeck`, else `~/.local/state/flightdeck`: where the log and the
/// default journals live. `None` when neither variable says where home is.
pub fn state_dir() -> Option<PathBuf> {
    state_dir_from(std::env::var_os("XDG_STATE_HOME"), std::env::var_os("HOME"))
}

fn state_dir_from(xdg: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    // The XDG spec ignores a relative value.
    let xdg = xdg.map(PathBuf::from).filter(|p| p.is_absolute());
    let base = match xdg {
        Some(dir) => dir,
        None => PathBuf::from(home?).join(".local/state"),
    };
    Some(base.join("flightdeck"))
}

/// Keeps the log writer's thread alive; dropping it flushes what is queued.
pub struct LogFile {
    pub dir: PathBuf,
    _guard: WorkerGuard,
}

impl LogFile {
    /// Today's file, as the header's help shows it.
    pub fn today(&self) -> PathBuf {
        today_in(&self.dir)
    }
}

/// The appender names files by the UTC date.
fn today_in(dir: &Path) -> PathBuf {
    let date = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let day = date.get(..10).unwrap_or("today");
    dir.join(format!("{PREFIX}.{day}.{SUFFIX}"))
}

/// Why there is no log file; the command goes on without one.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("neither XDG_STATE_HOME nor HOME is set")]
    NoHome,
    #[error("cannot create the log folder {}: {source}", path.display())]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open a log file in {}: {source}", path.display())]
    Appender {
        path: PathBuf,
        source: tracing_appender::rolling::InitError,
    },
    #[error("{LEVEL_VAR}: {0}")]
    Level(String),
    #[error("a tracing subscriber is already installed")]
    Installed,
}

/// Where this process logs, or why it does not, once [`init`] ran.
static WHERE: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// Installs the log file under [`state_dir`] as this process's subscriber.
pub fn init() -> Result<LogFile, LogError> {
    let result = state_dir()
        .ok_or(LogError::NoHome)
        .and_then(|dir| init_in(&dir));
    let _ = WHERE.set(match &result {
        Ok(log) => Ok(log.dir.clone()),
        Err(e) => Err(e.to_string()),
    });
    result
}

/// `today's file`, or `none: why`, for the help screens.
pub fn described() -> String {
    match WHERE.get() {
        Some(Ok(dir)) => today_in(dir).display().to_string(),
        Some(Err(why)) => format!("none: {why}"),
        None => "none".into(),
    }
}

/// Installs the log file under `dir` (tests name their own).
pub fn init_in(dir: &Path) -> Result<LogFile, LogError> {
    create_private(dir).map_err(|source| LogError::Folder {
        path: dir.to_path_buf(),
        source,
    })?;
    let appender = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(PREFIX)
        .filename_suffix(SUFFIX)
        .max_log_files(KEEP_DAYS)
        .build(dir)
        .map_err(|source| LogError::Appender {
            path: dir.to_path_buf(),
            source,
        })?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = match std::env::var(LEVEL_VAR) {
        Ok(directive) if !directive.trim().is_empty() => {
            EnvFilter::try_new(directive.trim()).map_err(|e| LogError::Level(e.to_string()))?
        }
        _ => EnvFilter::new("info"),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_timer(StampAndPid)
        .with_ansi(false)
        .with_writer(Masked(writer))
        .try_init()
        .map_err(|_| LogError::Installed)?;
    Ok(LogFile {
        dir: dir.to_path_buf(),
        _guard: guard,
    })
}

/// The time, then this process's id: the cockpit, an attached operator and the lab's
/// endpoint write to the same day's file, and the pid tells their lines apart.
struct StampAndPid;

impl FormatTime for StampAndPid {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        SystemTime.format_time(w)?;
        write!(w, " [{}]", std::process::id())
    }
}

/// The folder, readable by its owner only: the log names hosts, users and statements.
fn create_private(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// The appender's writer, with every line masked on its way.
#[derive(Clone)]
struct Masked(NonBlocking);

impl<'a> MakeWriter<'a> for Masked {
    type Writer = MaskedLine;

    fn make_writer(&'a self) -> MaskedLine {
        MaskedLine(self.0.clone())
    }
}

/// One event's writer: the formatter hands over each event as one formatted buffer.
struct MaskedLine(NonBlocking);

impl Write for MaskedLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let masked = remembered().mask_partial(&text, PARTIAL_MIN_CHARS);
        self.0.write_all(masked.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_dir_follows_xdg_then_home() {
        let os = |s: &str| Some(OsString::from(s));
        let at = |s: &str| Some(PathBuf::from(s));
        assert_eq!(
            state_dir_from(os("/var/tmp/state"), os("/home/dba")),
            at("/var/tmp/state/flightdeck")
        );
        assert_eq!(
            state_dir_from(os("relative/ignored"), os("/home/dba")),
            at("/home/dba/.local/state/flightdeck")
        );
        assert_eq!(
            state_dir_from(None, os("/home/dba")),
            at("/home/dba/.local/state/flightdeck")
        );
        assert_eq!(state_dir_from(None, None), None);
    }
}

//! The lab's error type: every variant names what failed (server, command, file) and carries the
//! evidence an operator needs (the tail of an error log, a command's stderr).

use std::path::PathBuf;

/// What `flightdeck lab` reports when something goes wrong.
///
/// Messages are complete on their own (causes are part of the text), so printing with `{}` or
/// through miette shows the same facts once.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LabError {
    /// The MariaDB server binary the lab needs is not installed.
    #[error("MariaDB is not installed ({} is missing): install it with `apt-get install -y mariadb-server`", path.display())]
    #[diagnostic(code(lab::mariadb_missing))]
    MariadbMissing { path: PathBuf },

    /// A `--from` / `--to` tree holds no `mariadbd`.
    #[error("no mariadbd under {}: looked in {looked}", root.display())]
    #[diagnostic(help("point --from/--to at an extracted tree (dpkg -x …) or a MariaDB tarball"))]
    BuildMissing { root: PathBuf, looked: String },

    /// `lab up` on a lab whose processes are alive.
    #[error("a lab is already running in {}: {detail}", dir.display())]
    #[diagnostic(help(
        "see it with `flightdeck lab status`, stop it with `flightdeck lab down`, or keep it as \
         it is (restarting only a dead endpoint) with `flightdeck lab up --resume`"
    ))]
    AlreadyRunning { dir: PathBuf, detail: String },

    /// No `lab.json` where one was expected.
    #[error("no lab in {}", dir.display())]
    #[diagnostic(help("start one with `flightdeck lab up --dir {}`", dir.display()))]
    NoLab { dir: PathBuf },

    /// The directory holds something that is not a usable lab.
    #[error("{}: {detail}", dir.display())]
    #[diagnostic(help("remove it with `flightdeck lab down --purge --dir {}`", dir.display()))]
    NotALab { dir: PathBuf, detail: String },

    #[error("the lab has no server named {name:?} (it has: {known})")]
    UnknownServer { name: String, known: String },

    #[error("{context}: {cause}")]
    Io {
        context: String,
        cause: std::io::Error,
    },

    /// An external command (mariadb-install-db, mariadb-upgrade, apt-get, dpkg) failed.
    #[error("`{command}` failed: {detail}")]
    Command { command: String, detail: String },

    #[error("{server} did not start: {reason}\n--- last lines of {} ---\n{tail}", log.display())]
    StartFailed {
        server: String,
        reason: String,
        log: PathBuf,
        tail: String,
    },

    #[error("{server}: port {port} on 127.0.0.1 is already in use")]
    PortInUse { server: String, port: u16 },

    #[error("no free TCP port on 127.0.0.1 near {near}")]
    NoFreePort { near: u16 },

    /// A statement failed; `sql` has every password replaced by `****`.
    #[error("{server}: `{sql}` failed: {cause}")]
    Sql {
        server: String,
        sql: String,
        cause: mysql_async::Error,
    },

    #[error("{server}: {what} did not happen within {secs}s{detail}")]
    Timeout {
        server: String,
        what: String,
        secs: u64,
        detail: String,
    },

    /// An older MariaDB build could not be obtained.
    #[error("cannot get MariaDB {version}: {detail}")]
    #[diagnostic(help(
        "or pass --from /path/to/an/extracted/tree (a dpkg -x of mariadb-server-core)"
    ))]
    Fetch { version: String, detail: String },

    #[error("{}: {cause}", path.display())]
    StateFile {
        path: PathBuf,
        cause: serde_json::Error,
    },

    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = LabError> = std::result::Result<T, E>;

/// `map_err` helper: `fs::read(p).map_err(io(format!("reading {}", p.display())))`.
pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> LabError {
    let context = context.into();
    move |cause| LabError::Io { context, cause }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_server_says_what_to_install() {
        let e = LabError::MariadbMissing {
            path: "/usr/sbin/mariadbd".into(),
        };
        assert!(
            e.to_string().contains("apt-get install -y mariadb-server"),
            "{e}"
        );
    }
}

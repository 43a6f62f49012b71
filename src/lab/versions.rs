//! MariaDB builds: the installed one, extracted trees, and a cache of older Debian builds.
//!
//! `--from 10.11.18` looks in `$FLIGHTDECK_CACHE/mariadb/10.11.18` (default
//! `~/.cache/flightdeck/mariadb/10.11.18`); if missing it runs `apt-get download` for
//! `mariadb-server-core` and `mariadb-client-core` at that version and `dpkg -x`es them there.
//! `--from /path` uses an extracted tree (a `dpkg -x` root or an unpacked tarball).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tokio::process::Command;

use super::error::{LabError, Result, io};
use super::process::tail_of;

/// Which build to run: what `--from` and `--to` accept.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum BuildSpec {
    /// The system's `/usr/sbin/mariadbd` (`apt-get install mariadb-server`).
    #[default]
    Installed,
    /// An upstream version such as `10.11.18`, fetched into the cache when missing.
    Version(String),
    /// An extracted tree: its root (holding `usr/sbin/mariadbd`) or a basedir (`bin/mariadbd`).
    Path(PathBuf),
}

impl FromStr for BuildSpec {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "" | "installed" | "system" => Self::Installed,
            s if s.contains('/') || s.starts_with('.') || s.starts_with('~') => {
                Self::Path(expand_home(s))
            }
            s => Self::Version(s.to_owned()),
        })
    }
}

/// A resolved build: where its programs are and what version it reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Build {
    /// Upstream version, e.g. `10.11.18`.
    pub version: String,
    /// `mariadbd --version`'s full version, e.g. `10.11.18-MariaDB-0+deb12u1`.
    pub full_version: String,
    /// True for the system build under `/usr`.
    pub installed: bool,
    pub basedir: PathBuf,
    pub mariadbd: PathBuf,
    pub install_db: Option<PathBuf>,
    pub upgrade: Option<PathBuf>,
    pub lc_messages_dir: Option<PathBuf>,
    pub plugin_dir: Option<PathBuf>,
}

impl Build {
    /// Options that tie a server to this build; passed on mariadbd's command line so an upgrade
    /// changes binaries, never the server's my.cnf.
    pub fn server_args(&self) -> Vec<String> {
        let mut args = vec![format!("--basedir={}", self.basedir.display())];
        if let Some(d) = &self.lc_messages_dir {
            args.push(format!("--lc-messages-dir={}", d.display()));
        }
        if let Some(d) = &self.plugin_dir {
            args.push(format!("--plugin-dir={}", d.display()));
        }
        args
    }

    /// Same binaries as `other`.
    pub fn same_as(&self, other: &Build) -> bool {
        let canon = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
        canon(&self.mariadbd) == canon(&other.mariadbd)
    }
}

/// Where fetched builds live: `$FLIGHTDECK_CACHE/mariadb`, else `~/.cache/flightdeck/mariadb`.
pub fn cache_root() -> PathBuf {
    let base = match std::env::var_os("FLIGHTDECK_CACHE") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => match std::env::var_os("XDG_CACHE_HOME") {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("flightdeck"),
            _ => expand_home("~/.cache/flightdeck"),
        },
    };
    base.join("mariadb")
}

/// Resolves `spec` to a runnable build, fetching an older Debian build if needed.
/// `say` receives progress lines (e.g. "fetching MariaDB 10.11.18 …").
pub async fn resolve(spec: &BuildSpec, say: &dyn Fn(&str)) -> Result<Build> {
    match spec {
        BuildSpec::Installed => installed().await,
        BuildSpec::Path(root) => from_tree(root).await,
        BuildSpec::Version(v) => {
            if let Ok(sys) = installed().await {
                // `10.11` names the installed 10.11.19 as well: a series, not a release.
                if &sys.version == v
                    || &sys.full_version == v
                    || sys.version.starts_with(&format!("{v}."))
                {
                    return Ok(sys);
                }
            }
            let dir = cache_root().join(v);
            if find_mariadbd(&dir).is_none() {
                say(&format!("fetching MariaDB {v} into {}", dir.display()));
                if super::majors::is_major(v) {
                    super::majors::fetch(v, &dir).await?;
                } else {
                    super::fetch::fetch(v, &dir).await?;
                }
            }
            from_tree(&dir).await
        }
    }
}

/// The system build (`/usr/sbin/mariadbd`).
pub async fn installed() -> Result<Build> {
    let path = PathBuf::from("/usr/sbin/mariadbd");
    if !path.exists() {
        return Err(LabError::MariadbMissing { path });
    }
    let mut b = from_tree(Path::new("/")).await?;
    b.installed = true;
    Ok(b)
}

const SERVER_DIRS: [&str; 4] = ["usr/sbin", "sbin", "bin", "usr/bin"];

fn find_mariadbd(root: &Path) -> Option<PathBuf> {
    SERVER_DIRS
        .iter()
        .flat_map(|d| ["mariadbd", "mysqld"].map(|n| root.join(d).join(n)))
        .find(|p| p.is_file())
}

/// A build from an extracted tree.
pub async fn from_tree(root: &Path) -> Result<Build> {
    let root = root
        .canonicalize()
        .map_err(io(format!("MariaDB tree {}", root.display())))?;
    let mariadbd = find_mariadbd(&root).ok_or_else(|| LabError::BuildMissing {
        root: root.clone(),
        looked: SERVER_DIRS.join(", "),
    })?;
    let basedir = mariadbd
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| root.clone());
    let first = |cands: &[PathBuf]| cands.iter().find(|p| p.exists()).cloned();
    let install_db = first(&[
        basedir.join("bin/mariadb-install-db"),
        basedir.join("scripts/mariadb-install-db"),
        basedir.join("bin/mysql_install_db"),
        basedir.join("scripts/mysql_install_db"),
    ]);
    let upgrade = first(&[
        basedir.join("bin/mariadb-upgrade"),
        basedir.join("bin/mysql_upgrade"),
    ]);
    let lc_messages_dir = ["share/mysql", "share/mariadb", "share"]
        .iter()
        .map(|d| basedir.join(d))
        .find(|d| d.join("english/errmsg.sys").is_file());
    let plugin_dir = first(&[basedir.join("lib/mysql/plugin"), basedir.join("lib/plugin")]);
    let (version, full_version) = version_of(&mariadbd).await?;
    Ok(Build {
        version,
        full_version,
        installed: false,
        basedir,
        mariadbd,
        install_db,
        upgrade,
        lc_messages_dir,
        plugin_dir,
    })
}

/// `(upstream, full)` from `mariadbd --version`
/// ("mariadbd  Ver 10.11.18-MariaDB-0+deb12u1 for debian-linux-gnu on x86_64").
async fn version_of(mariadbd: &Path) -> Result<(String, String)> {
    let command = format!("{} --version", mariadbd.display());
    let out = Command::new(mariadbd)
        .arg("--version")
        .output()
        .await
        .map_err(io(format!("running {command}")))?;
    let text = String::from_utf8_lossy(&out.stdout);
    parse_version(&text).ok_or_else(|| LabError::Command {
        command,
        detail: format!(
            "unexpected output {:?}; stderr: {}",
            text.trim(),
            tail_of(&String::from_utf8_lossy(&out.stderr), 5)
        ),
    })
}

pub(crate) fn parse_version(text: &str) -> Option<(String, String)> {
    let mut words = text.split_whitespace();
    words.find(|w| *w == "Ver")?;
    let full = words.next()?.to_owned();
    let upstream = full.split('-').next()?.to_owned();
    upstream
        .starts_with(|c: char| c.is_ascii_digit())
        .then_some((upstream, full))
}

fn expand_home(s: &str) -> PathBuf {
    match (s.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        assert_eq!("installed".parse::<BuildSpec>(), Ok(BuildSpec::Installed));
        assert_eq!(
            "10.11.18".parse::<BuildSpec>(),
            Ok(BuildSpec::Version("10.11.18".into()))
        );
        assert_eq!(
            "/opt/mariadb".parse::<BuildSpec>(),
            Ok(BuildSpec::Path("/opt/mariadb".into()))
        );
    }

    #[test]
    fn versions_parse() {
        let out = "/usr/sbin/mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 for debian-linux-gnu on x86_64 (Debian 12)";
        assert_eq!(
            parse_version(out),
            Some(("10.11.19".into(), "10.11.19-MariaDB-0+deb12u1".into()))
        );
        assert_eq!(parse_version("garbage"), None);
    }
}

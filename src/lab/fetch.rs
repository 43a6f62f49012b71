//! Fetching an older MariaDB build from Debian's archive with the ordinary apt tools:
//! `apt-cache madison` to find the package version, `apt-get download` into a temporary
//! directory, `dpkg -x` into the cache. Several labs fetching at once race harmlessly: each
//! extracts into its own temporary directory and the first rename wins.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::process::Command;

use super::error::{LabError, Result, io};
use super::process::tail_of;

const PACKAGES: [&str; 2] = ["mariadb-server-core", "mariadb-client-core"];

/// Puts MariaDB `version` (upstream `10.11.18`, or a Debian version `1:10.11.18-0+deb12u1`)
/// into `dest` as an extracted root (`dest/usr/sbin/mariadbd`).
pub async fn fetch(version: &str, dest: &Path) -> Result<()> {
    let fail = |detail: String| LabError::Fetch {
        version: version.to_owned(),
        detail,
    };
    if which("apt-get").is_none() || which("dpkg").is_none() {
        return Err(fail(
            "apt-get and dpkg are not on PATH: older builds can only be fetched on Debian/Ubuntu"
                .into(),
        ));
    }
    let deb = match debian_version(version).await? {
        Some(v) => v,
        None => {
            // The package lists may be missing or stale (a fresh container): refresh once.
            run("apt-get", &["update"], None)
                .await
                .map_err(|e| fail(e.to_string()))?;
            debian_version(version).await?.ok_or_else(|| {
                fail(format!(
                    "`apt-cache madison {}` lists no {version} (after apt-get update)",
                    PACKAGES[0]
                ))
            })?
        }
    };
    let parent = dest
        .parent()
        .ok_or_else(|| fail(format!("bad cache path {}", dest.display())))?;
    std::fs::create_dir_all(parent).map_err(io(format!("creating {}", parent.display())))?;
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let tmp = parent.join(format!(".fetch-{version}-{}-{seq}", std::process::id()));
    let result = download_and_extract(&deb, &tmp, dest).await;
    let _ = std::fs::remove_dir_all(&tmp);
    result.map_err(|e| match e {
        LabError::Command { command, detail } => fail(format!("`{command}` failed: {detail}")),
        other => other,
    })
}

async fn download_and_extract(deb: &str, tmp: &Path, dest: &Path) -> Result<()> {
    let _ = std::fs::remove_dir_all(tmp);
    std::fs::create_dir_all(tmp).map_err(io(format!("creating {}", tmp.display())))?;
    let specs: Vec<String> = PACKAGES.iter().map(|p| format!("{p}={deb}")).collect();
    let mut args = vec!["download", "-o", "APT::Sandbox::User=root"];
    args.extend(specs.iter().map(String::as_str));
    run("apt-get", &args, Some(tmp)).await?;
    let root = tmp.join("root");
    let debs = std::fs::read_dir(tmp)
        .map_err(io(format!("listing {}", tmp.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "deb"));
    for pkg in debs {
        let pkg = pkg.to_string_lossy().into_owned();
        let root = root.to_string_lossy().into_owned();
        run("dpkg", &["-x", &pkg, &root], None).await?;
    }
    if std::fs::rename(&root, dest).is_err() && !dest.join("usr/sbin/mariadbd").is_file() {
        return Err(LabError::Invalid(format!(
            "could not move the extracted build to {}",
            dest.display()
        )));
    }
    Ok(())
}

/// The Debian version of `mariadb-server-core` matching `version`, from `apt-cache madison`.
async fn debian_version(version: &str) -> Result<Option<String>> {
    let out = run("apt-cache", &["madison", PACKAGES[0]], None).await?;
    Ok(pick_debian_version(&out, version))
}

/// Picks the madison line whose version is `version` or whose upstream part is.
pub(crate) fn pick_debian_version(madison: &str, version: &str) -> Option<String> {
    madison
        .lines()
        .filter_map(|line| line.split('|').nth(1).map(str::trim))
        .find(|deb| *deb == version || upstream(deb) == version)
        .map(str::to_owned)
}

/// `1:10.11.18-0+deb12u1` → `10.11.18`.
fn upstream(deb: &str) -> &str {
    let no_epoch = deb.split_once(':').map_or(deb, |(_, rest)| rest);
    no_epoch.rsplit_once('-').map_or(no_epoch, |(up, _)| up)
}

/// Runs a command to completion; its stdout, or an error naming it with its stderr's tail.
pub(super) async fn run(program: &str, args: &[&str], cwd: Option<&Path>) -> Result<String> {
    let command = format!("{program} {}", args.join(" "));
    let mut cmd = Command::new(program);
    cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    let out = cmd.output().await.map_err(|e| LabError::Command {
        command: command.clone(),
        detail: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(LabError::Command {
            command,
            detail: format!(
                "{}; stderr: {}",
                out.status,
                tail_of(&String::from_utf8_lossy(&out.stderr), 8)
            ),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MADISON: &str = "mariadb-server-core | 1:10.11.19-0+deb12u1 | http://deb.debian.org/debian-security bookworm-security/main amd64 Packages
mariadb-server-core | 1:10.11.18-0+deb12u1 | http://deb.debian.org/debian bookworm/main amd64 Packages
";

    #[test]
    fn madison_lines_resolve_upstream_versions() {
        assert_eq!(
            pick_debian_version(MADISON, "10.11.18").as_deref(),
            Some("1:10.11.18-0+deb12u1")
        );
        assert_eq!(
            pick_debian_version(MADISON, "1:10.11.19-0+deb12u1").as_deref(),
            Some("1:10.11.19-0+deb12u1")
        );
        assert_eq!(pick_debian_version(MADISON, "10.6.1"), None);
    }
}

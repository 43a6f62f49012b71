//! Other major versions of MariaDB from Debian's archive, for a real major-version
//! rehearsal: `10.5` is bullseye's (bullseye-security: 10.5.29), `11.8` is trixie's. Both
//! are fetched with a private apt configuration (the system's sources are not touched) and
//! run from the cache behind small wrapper scripts, as `shared/mariadb-majors/README.md`
//! records:
//! - 10.5 needs the libssl1.1 that bookworm lacks: its wrappers set `LD_LIBRARY_PATH`;
//! - 11.8 needs trixie's glibc, libstdc++, libssl 3.5 and libaio: its wrappers run each
//!   binary through trixie's loader with trixie's libraries first (`--argv0` keeps
//!   `mariadb-upgrade` finding the `mariadb` client next to it).
//!
//! The result is a basedir (`bin/` wrappers, `share`, `lib`) that `versions::from_tree`
//! reads like any other build.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::error::{LabError, Result, io};
use super::fetch::run;

/// The series this module fetches, with their suites and packages.
struct Series {
    name: &'static str,
    /// Packages of the server, extracted into `root`.
    server: &'static [&'static str],
    /// Libraries extracted into `libs` (run through their loader when it has one).
    libs: &'static [&'static str],
    /// Where the share files are in the server's packages.
    share: &'static str,
}

const SERIES: [Series; 2] = [
    Series {
        name: "10.5",
        server: &["mariadb-server-core-10.5", "mariadb-client-core-10.5"],
        libs: &["libssl1.1"],
        share: "usr/share/mysql",
    },
    Series {
        name: "11.8",
        server: &["mariadb-server-core", "mariadb-client-core", "libmariadb3"],
        libs: &[
            "libc6",
            "libstdc++6",
            "libgcc-s1",
            "libssl3t64",
            "libaio1t64",
            "liburing2",
            "libnuma1",
        ],
        share: "usr/share/mariadb",
    },
];

const SOURCES: &str = "deb http://deb.debian.org/debian bullseye main\n\
     deb http://deb.debian.org/debian-security bullseye-security main\n\
     deb http://deb.debian.org/debian trixie main\n";

/// Whether `version` names a series this module fetches (`10.5`, `11.8`).
pub fn is_major(version: &str) -> bool {
    SERIES.iter().any(|s| s.name == version)
}

/// Fetches series `version` into `dest` as a basedir with wrapper scripts.
pub async fn fetch(version: &str, dest: &Path) -> Result<()> {
    let fail = |detail: String| LabError::Fetch {
        version: version.to_owned(),
        detail,
    };
    let series = SERIES
        .iter()
        .find(|s| s.name == version)
        .ok_or_else(|| fail("not a series flightdeck knows how to fetch".into()))?;
    let parent = dest
        .parent()
        .ok_or_else(|| fail(format!("bad cache path {}", dest.display())))?;
    let apt = Apt::new(&parent.join(".apt"))?;
    apt.update().await.map_err(|e| fail(e.to_string()))?;
    let tmp = parent.join(format!(".fetch-{version}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let result = build(series, &apt, &tmp).await;
    let result = result.and_then(|()| {
        std::fs::rename(&tmp, dest)
            .or_else(|e| {
                if dest.join("bin/mariadbd").is_file() {
                    Ok(())
                } else {
                    Err(e)
                }
            })
            .map_err(io(format!("moving the build to {}", dest.display())))
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result.map_err(|e| match e {
        LabError::Command { command, detail } => fail(format!("`{command}` failed: {detail}")),
        other => other,
    })
}

async fn build(series: &Series, apt: &Apt, dir: &Path) -> Result<()> {
    let root = dir.join("root");
    let libs = dir.join("libs");
    apt.extract(series.server, &dir.join("debs-server"), &root)
        .await?;
    apt.extract(series.libs, &dir.join("debs-libs"), &libs)
        .await?;
    const LOADER: &str = "libs/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2";
    // The wrappers name the final place of the build: the directory is renamed into it.
    let final_dir = dir
        .parent()
        .map(|p| p.join(series.name))
        .unwrap_or_else(|| dir.to_path_buf());
    let relocate = |p: &Path| -> PathBuf {
        p.strip_prefix(dir)
            .map(|rest| final_dir.join(rest))
            .unwrap_or_else(|_| p.to_path_buf())
    };
    let has_loader = dir.join(LOADER).is_file();
    let loader = final_dir.join(LOADER);
    let lib_path = format!(
        "{}:{}",
        final_dir.join("libs/usr/lib/x86_64-linux-gnu").display(),
        final_dir.join("root/usr/lib/x86_64-linux-gnu").display()
    );
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).map_err(io(format!("creating {}", bin.display())))?;
    for sub in ["usr/sbin", "usr/bin"] {
        let Ok(entries) = std::fs::read_dir(root.join(sub)) else {
            continue;
        };
        for entry in entries.flatten() {
            let real = entry.path();
            let Some(name) = real.file_name().map(|n| n.to_string_lossy().into_owned()) else {
                continue;
            };
            let elf = std::fs::read(&real)
                .map(|b| b.starts_with(b"\x7fELF"))
                .unwrap_or(false);
            let real = relocate(&real);
            let script = match (elf, has_loader) {
                // A script runs as it is: what it calls are wrappers next to it.
                (false, _) => format!("#!/bin/sh\nexec \"{}\" \"$@\"\n", real.display()),
                (true, true) => format!(
                    "#!/bin/sh\nexec \"{}\" --library-path \"{}\" --argv0 \"$0\" \"{}\" \"$@\"\n",
                    loader.display(),
                    lib_path,
                    real.display()
                ),
                (true, false) => format!(
                    "#!/bin/sh\nLD_LIBRARY_PATH=\"{}${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}\" \
                     exec \"{}\" \"$@\"\n",
                    lib_path,
                    real.display()
                ),
            };
            let path = bin.join(&name);
            std::fs::write(&path, script).map_err(io(format!("writing {}", path.display())))?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .map_err(io(format!("chmod {}", path.display())))?;
        }
    }
    let link = |target: PathBuf, at: &str| {
        let at = dir.join(at);
        std::os::unix::fs::symlink(relocate(&target), &at)
            .map_err(io(format!("linking {}", at.display())))
    };
    link(root.join(series.share), "share")?;
    link(root.join("usr/lib"), "lib")?;
    Ok(())
}

/// apt with its own sources, lists and cache under one directory.
struct Apt {
    options: Vec<String>,
    lists: PathBuf,
}

impl Apt {
    fn new(dir: &Path) -> Result<Self> {
        let lists = dir.join("lists");
        for d in [
            lists.join("partial"),
            dir.join("cache/archives/partial"),
            dir.join("etc"),
        ] {
            std::fs::create_dir_all(&d).map_err(io(format!("creating {}", d.display())))?;
        }
        let sources = dir.join("etc/sources.list");
        std::fs::write(&sources, SOURCES).map_err(io(format!("writing {}", sources.display())))?;
        let options = vec![
            format!("Dir::Etc::sourcelist={}", sources.display()),
            "Dir::Etc::sourceparts=/dev/null".to_owned(),
            format!("Dir::State::Lists={}", lists.display()),
            format!("Dir::Cache={}", dir.join("cache").display()),
            "APT::Sandbox::User=root".to_owned(),
        ];
        Ok(Self { options, lists })
    }

    fn args<'a>(&'a self, rest: &[&'a str]) -> Vec<&'a str> {
        let mut args = Vec::new();
        for o in &self.options {
            args.push("-o");
            args.push(o.as_str());
        }
        args.extend_from_slice(rest);
        args
    }

    /// Refreshes the private lists when they are missing or a day old.
    async fn update(&self) -> Result<()> {
        let fresh = std::fs::read_dir(&self.lists)
            .ok()
            .and_then(|entries| {
                entries
                    .flatten()
                    .filter(|e| e.file_name().to_string_lossy().ends_with("_Packages"))
                    .filter_map(|e| e.metadata().ok()?.modified().ok())
                    .min()
            })
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_secs() < 24 * 3600);
        if !fresh {
            run("apt-get", &self.args(&["-q", "update"]), None).await?;
        }
        Ok(())
    }

    /// Downloads the newest version of each package and extracts it into `root`.
    async fn extract(&self, packages: &[&str], debs: &Path, root: &Path) -> Result<()> {
        std::fs::create_dir_all(debs).map_err(io(format!("creating {}", debs.display())))?;
        let mut specs = Vec::new();
        for p in packages {
            let madison = run("apt-cache", &self.args(&["madison", p]), None).await?;
            // madison lists the newest first.
            let version = newest(&madison)
                .ok_or_else(|| LabError::Invalid(format!("no package {p} in the archive")))?;
            specs.push(format!("{p}={version}"));
        }
        let mut rest = vec!["download"];
        rest.extend(specs.iter().map(String::as_str));
        run("apt-get", &self.args(&rest), Some(debs)).await?;
        for entry in std::fs::read_dir(debs)
            .map_err(io(format!("listing {}", debs.display())))?
            .flatten()
        {
            let deb = entry.path().to_string_lossy().into_owned();
            let target = root.to_string_lossy().into_owned();
            run("dpkg", &["-x", &deb, &target], None).await?;
        }
        Ok(())
    }
}

/// The version on madison's first line.
fn newest(madison: &str) -> Option<String> {
    madison
        .lines()
        .filter_map(|l| l.split('|').nth(1).map(str::trim))
        .find(|v| !v.is_empty())
        .map(str::to_owned)
}

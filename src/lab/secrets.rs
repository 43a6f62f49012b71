//! Per-lab passwords: generated randomly, kept in `DIR/secrets/NAME` (mode 0600, no newline).

use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::error::{Result, io};

/// `root@localhost` / `root@127.0.0.1` (the lab's own admin connection, mariadb-upgrade).
pub const ROOT: &str = "root";
/// The replication user (`REPLICATION SLAVE`).
pub const REPL: &str = "repl";
/// The MaxScale-compatible monitor's user.
pub const MONITOR: &str = "monitor";
/// The demo application's user (DML on schema `app`).
pub const APP: &str = "app";
/// What `sql` steps connect as (the inventory's `[mysql.operator]`): ALL PRIVILEGES.
pub const FLIGHTDECK: &str = "flightdeck";
/// What flightdeck's pollers connect as (the inventory's `[mysql]`): monitoring grants only,
/// so MaxScale has no reason to kick it off the old primary at a switchover.
pub const FLIGHTDECK_WATCH: &str = "flightdeck_watch";
/// The write-availability probe's user (the inventory's `[probe]`): it writes one table
/// through the router, `flightdeck.probe`, and nothing else.
pub const FLIGHTDECK_PROBE: &str = "flightdeck_probe";
/// The MaxScale-compatible REST API's `admin` password. Random like the others: MaxScale's
/// well-known default (`mariadb`) would be masked wherever the word appears, turning every
/// `mariadbmon` in the journal into `****mon`.
pub const MAXSCALE_ADMIN: &str = "maxscale_admin";

/// The lab's passwords, generated once by `lab up`.
#[derive(Clone)]
pub struct Passwords {
    pub root: String,
    pub repl: String,
    pub monitor: String,
    pub app: String,
    pub flightdeck: String,
    pub flightdeck_watch: String,
    pub flightdeck_probe: String,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passwords(****)")
    }
}

impl Passwords {
    pub fn generate() -> Result<Self> {
        Ok(Self {
            root: generate()?,
            repl: generate()?,
            monitor: generate()?,
            app: generate()?,
            flightdeck: generate()?,
            flightdeck_watch: generate()?,
            flightdeck_probe: generate()?,
        })
    }

    /// Writes every password (and `maxscale_admin`) under `dir`.
    pub fn write_all(&self, dir: &Path) -> Result<()> {
        write(dir, ROOT, &self.root)?;
        write(dir, REPL, &self.repl)?;
        write(dir, MONITOR, &self.monitor)?;
        write(dir, APP, &self.app)?;
        write(dir, FLIGHTDECK, &self.flightdeck)?;
        write(dir, FLIGHTDECK_WATCH, &self.flightdeck_watch)?;
        write(dir, FLIGHTDECK_PROBE, &self.flightdeck_probe)?;
        write(dir, MAXSCALE_ADMIN, &generate()?)?;
        Ok(())
    }

    /// Every value, for redacting SQL in error messages.
    pub fn all(&self) -> [&str; 7] {
        [
            &self.root,
            &self.repl,
            &self.monitor,
            &self.app,
            &self.flightdeck,
            &self.flightdeck_watch,
            &self.flightdeck_probe,
        ]
    }
}

/// 24 random alphanumeric characters (about 143 bits), safe inside any SQL or shell quoting.
pub fn generate() -> Result<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 24];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(io("reading /dev/urandom"))?;
    Ok(bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect())
}

/// Creates `dir` if needed and makes it private (mode 0700): for directories that hold
/// passwords or password hashes (secrets, datadirs, binlogs, master.info, dumps).
pub fn private_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .map_err(io(format!("chmod 0700 {}", dir.display())))
}

/// Creates the lab's own directory if needed (mode 0710: its group may reach the
/// session's journal and socket inside by name), or takes away what others may do in an
/// existing one, keeping what its owner chose for its group (e.g. `chmod 3770`, so an
/// operator of the group can take the wheel: see the README's pairing section). Nothing
/// here that holds a password is readable by the group: those are in 0700 directories and
/// 0600 files.
pub fn lab_dir(dir: &Path) -> Result<()> {
    let mode = match fs::metadata(dir) {
        Ok(m) => 0o700 | (m.permissions().mode() & 0o3070),
        Err(_) => {
            fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
            0o710
        }
    };
    fs::set_permissions(dir, fs::Permissions::from_mode(mode))
        .map_err(io(format!("chmod {mode:o} {}", dir.display())))
}

/// Writes `dir/name` with mode 0600 (creating `dir` with mode 0700).
pub fn write(dir: &Path, name: &str, value: &str) -> Result<PathBuf> {
    private_dir(dir)?;
    let path = dir.join(name);
    let mut f = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .map_err(io(format!("writing {}", path.display())))?;
    f.write_all(value.as_bytes())
        .map_err(io(format!("writing {}", path.display())))?;
    Ok(path)
}

/// Reads a secret file, trimming surrounding whitespace.
pub fn read(path: &Path) -> Result<String> {
    let s = fs::read_to_string(path).map_err(io(format!("reading secret {}", path.display())))?;
    Ok(s.trim().to_owned())
}

/// `sql` with every secret replaced by `****`.
pub fn redact(sql: &str, secrets: &[&str]) -> String {
    secrets
        .iter()
        .filter(|s| !s.is_empty())
        .fold(sql.to_owned(), |acc, s| acc.replace(s, "****"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_random_alphanumeric() {
        let a = generate().expect("a");
        let b = generate().expect("b");
        assert_eq!(a.len(), 24);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn secret_files_are_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let secrets = dir.path().join("secrets");
        let path = write(&secrets, "x", "hunter2").expect("write");
        let mode = fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(read(&path).expect("read"), "hunter2");
    }

    #[test]
    fn redaction_hides_every_secret() {
        assert_eq!(
            redact("IDENTIFIED BY 'abc' , 'xyz'", &["abc", "xyz", ""]),
            "IDENTIFIED BY '****' , '****'"
        );
    }
}

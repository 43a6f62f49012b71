//! Resolving a [`SecretSource`] to its value at run time.
//!
//! Values are wrapped in [`Secret`], whose `Debug` and `Display` never show them, so a
//! stray `{:?}` in a log line cannot leak a password.
//!
//! A secret file or option file that its owner's group or others can read is refused,
//! as ssh refuses such a key: the value may already be known to others, and the operator
//! should hear so before the change window, not after. [`weakness`] says whether a value
//! is too weak to mask in free output (see `session::mask`).

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::model::SecretSource;

/// A resolved secret value. Shown as `****`; `expose` is the only way to the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(****)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(crate::runbook::template::MASK)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("environment variable {0} is not set")]
    MissingEnv(String),
    #[error("cannot read {}: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} has no `password` in its [client] section", path.display())]
    NoMycnfPassword { path: PathBuf },
    #[error(
        "{} is readable by {} (mode {mode:04o}): a secret there is refused; \
         run `chmod 600 {}`",
        path.display(),
        readers(*mode),
        path.display()
    )]
    Exposed { path: PathBuf, mode: u32 },
}

/// Who besides the owner may read a file of this mode.
fn readers(mode: u32) -> &'static str {
    match (mode & 0o040 != 0, mode & 0o004 != 0) {
        (true, true) => "its group and others",
        (true, false) => "its group",
        _ => "others",
    }
}

/// Values shorter than this many characters are weak (and not masked in free output).
pub const WEAK_BELOW_CHARS: usize = 8;

/// Well-known default passwords, compared case-insensitively: MaxScale's `mariadb` (its
/// `admin` user's), and what installers, images and tutorials use.
const DEFAULTS: [&str; 12] = [
    "mariadb",
    "admin",
    "password",
    "root",
    "mysql",
    "maxscale",
    "changeme",
    "secret",
    "123456",
    "12345678",
    "123456789",
    "letmein",
];

/// Why a credential is too weak to be masked as a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weakness {
    Empty,
    /// A well-known default (which one is not said: that would give it away).
    Default,
    /// Fewer than [`WEAK_BELOW_CHARS`] characters.
    Short {
        chars: usize,
    },
}

impl std::fmt::Display for Weakness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Weakness::Empty => f.write_str("is empty"),
            Weakness::Default => f.write_str("is a well-known default password"),
            Weakness::Short { chars } => write!(
                f,
                "is only {chars} character{} long (fewer than {WEAK_BELOW_CHARS})",
                if *chars == 1 { "" } else { "s" }
            ),
        }
    }
}

/// Whether `value` is empty, a well-known default or short.
pub fn weakness(value: &str) -> Option<Weakness> {
    let chars = value.chars().count();
    if value.is_empty() {
        Some(Weakness::Empty)
    } else if DEFAULTS.iter().any(|d| d.eq_ignore_ascii_case(value)) {
        Some(Weakness::Default)
    } else if chars < WEAK_BELOW_CHARS {
        Some(Weakness::Short { chars })
    } else {
        None
    }
}

/// Resolves a source; relative file paths are taken from `base` (the inventory's folder).
pub fn resolve(source: &SecretSource, base: &Path) -> Result<Secret, CredentialError> {
    match source {
        SecretSource::Env(var) => std::env::var(var)
            .map(Secret)
            .map_err(|_| CredentialError::MissingEnv(var.clone())),
        SecretSource::File(path) => {
            let path = expand(path, base);
            let text = read(&path)?;
            Ok(Secret(text.trim_end_matches(['\n', '\r']).to_string()))
        }
        SecretSource::Mycnf(path) => {
            let path = expand(path, base);
            let text = read(&path)?;
            mycnf_client_value(&text, "password")
                .map(Secret)
                .ok_or(CredentialError::NoMycnfPassword { path })
        }
    }
}

/// Reads a secret or option file, refusing one its group or others can read. The mode is
/// taken from the open file, so it is the mode of what is read.
fn read(path: &Path) -> Result<String, CredentialError> {
    let unreadable = |source| CredentialError::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(unreadable)?;
    let mode = file.metadata().map_err(unreadable)?.permissions().mode() & 0o7777;
    if mode & 0o044 != 0 {
        return Err(CredentialError::Exposed {
            path: path.to_path_buf(),
            mode,
        });
    }
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(unreadable)?;
    Ok(text)
}

/// `~/` is the operator's home; a relative path is relative to the inventory.
pub fn expand(path: &Path, base: &Path) -> PathBuf {
    if let Ok(rest) = path.strip_prefix("~")
        && let Some(home) = std::env::var_os("HOME")
    {
        return PathBuf::from(home).join(rest);
    }
    if path.is_relative() {
        base.join(path)
    } else {
        path.to_path_buf()
    }
}

/// A key of the `[client]` section of a MySQL option file, unquoted.
pub fn mycnf_client_value(text: &str, key: &str) -> Option<String> {
    let mut in_client = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_client = section.trim() == "client";
            continue;
        }
        if !in_client {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        if k.trim().replace('-', "_") == key {
            let v = v.trim();
            let unquoted = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v);
            return Some(unquoted.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_client_section_only() {
        let cnf = "[mysqld]\npassword=nope\n[client]\nuser = dba\npassword = \"p w\"\n";
        assert_eq!(mycnf_client_value(cnf, "password").as_deref(), Some("p w"));
        assert_eq!(mycnf_client_value(cnf, "user").as_deref(), Some("dba"));
    }

    #[test]
    fn weak_values_are_named_without_the_value() {
        assert_eq!(weakness(""), Some(Weakness::Empty));
        assert_eq!(weakness("MariaDB"), Some(Weakness::Default));
        assert_eq!(weakness("password"), Some(Weakness::Default));
        assert_eq!(weakness("root"), Some(Weakness::Default));
        assert_eq!(weakness("x7#qZ"), Some(Weakness::Short { chars: 5 }));
        assert_eq!(weakness("ünïcødé"), Some(Weakness::Short { chars: 7 }));
        assert_eq!(weakness("x7#qZ-9k"), None);
        let said = Weakness::Default.to_string() + &Weakness::Short { chars: 1 }.to_string();
        assert!(!said.contains("mariadb"), "{said}");
        assert!(
            said.ends_with("is only 1 character long (fewer than 8)"),
            "{said}"
        );
    }

    #[test]
    fn a_file_others_can_read_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pw");
        std::fs::write(&path, "s3cret-value-long\n").expect("write");
        let source = SecretSource::File(path.clone());
        for (mode, who) in [
            (0o644, "its group and others"),
            (0o640, "its group"),
            (0o604, "others"),
        ] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
            let e = resolve(&source, dir.path()).expect_err("refused");
            let text = e.to_string();
            assert!(
                text.contains(&format!("readable by {who} (mode 0{mode:o})"))
                    && text.ends_with(&format!("run `chmod 600 {}`", path.display())),
                "{text}"
            );
            assert!(!text.contains("s3cret"), "{text}");
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let value = resolve(&source, dir.path()).expect("0600 is fine");
        assert_eq!(value.expose(), "s3cret-value-long");
        let cnf = dir.path().join("my.cnf");
        std::fs::write(&cnf, "[client]\npassword=s3cret-value-long\n").expect("write");
        std::fs::set_permissions(&cnf, std::fs::Permissions::from_mode(0o664)).expect("chmod");
        let e = resolve(&SecretSource::Mycnf(cnf), dir.path()).expect_err("refused");
        assert!(e.to_string().contains("(mode 0664)"), "{e}");
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "**** Secret(****)");
    }
}

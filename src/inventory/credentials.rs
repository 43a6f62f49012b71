//! Resolving a [`SecretSource`] to its value at run time.
//!
//! Values are wrapped in [`Secret`], whose `Debug` and `Display` never show them, so a
//! stray `{:?}` in a log line cannot leak a password.
//!
//! A secret file or option file that its owner's group or others can read is refused,
//! as ssh refuses such a key: the value may already be known to others, and the operator
//! should hear so before the change window, not after. So is a file an option file's
//! password comes from through `!include`; other included files (say a shared
//! `/etc/mysql/conf.d`) may be readable. An option file others can write is refused too:
//! anyone could have put a password there, and the client ignores such a file (included
//! ones are skipped, as by the client). [`weakness`] says whether a value is too weak to
//! mask in free output (see `session::mask`).

use std::path::{Path, PathBuf};

use super::model::{MycnfFile, SecretSource};
use super::option_file::{self, CLIENT_GROUPS, Context, OptionFileError};

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
    #[error(
        "{} gives no `password` in [client], [client-server] or [client-mariadb] (nor do \
         the files it includes){notes}",
        path.display()
    )]
    NoMycnfPassword {
        path: PathBuf,
        /// What the client skipped, which may be why: `` (a; b)``, or empty.
        notes: String,
    },
    #[error("HOME is not set: `mycnf = true` means ~/.my.cnf")]
    NoHome,
    #[error(transparent)]
    OptionFile(#[from] OptionFileError),
    #[error(
        "{} is readable by {} (mode {mode:04o}): a secret there is refused; \
         run `chmod 600 {}`",
        path.display(),
        readers(*mode),
        path.display()
    )]
    Exposed { path: PathBuf, mode: u32 },
    #[error(
        "{} is writable by others (mode {mode:04o}): anyone could have put a password \
         there, and the mariadb client ignores such a file; run `chmod 600 {}`",
        path.display(),
        path.display()
    )]
    Writable { path: PathBuf, mode: u32 },
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
            let (bytes, _) = read(&path)?;
            let text = String::from_utf8(bytes).map_err(|e| CredentialError::Unreadable {
                path: path.clone(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.utf8_error()),
            })?;
            Ok(Secret(text.trim_end_matches(['\n', '\r']).to_string()))
        }
        SecretSource::Mycnf(file) => {
            let path = match file {
                MycnfFile::Home => std::env::var_os("HOME")
                    .map(|home| PathBuf::from(home).join(".my.cnf"))
                    .ok_or(CredentialError::NoHome)?,
                MycnfFile::Path(path) => expand(path, base),
            };
            mycnf_password(path, &Context::current())
        }
    }
}

/// The password the `mariadb` client would read from the option file at `path`.
pub fn mycnf_password(path: PathBuf, ctx: &Context) -> Result<Secret, CredentialError> {
    let (text, mode) = read(&path)?;
    if mode & 0o002 != 0 {
        return Err(CredentialError::Writable { path, mode });
    }
    let options = option_file::read(&path, &text, mode, &CLIENT_GROUPS, ctx)?;
    let Some(found) = options.password()? else {
        let notes = match options.notes() {
            [] => String::new(),
            notes => format!(" ({})", notes.join("; ")),
        };
        return Err(CredentialError::NoMycnfPassword { path, notes });
    };
    // The file the value is in must be as private as the top one.
    if let option_file::Password::Value(opt) = found
        && let Some(origin) = options.file_of(opt)
        && origin.mode & 0o044 != 0
    {
        return Err(CredentialError::Exposed {
            path: origin.path.clone(),
            mode: origin.mode,
        });
    }
    Ok(Secret(options.password_text(found)?))
}

/// Reads a secret or option file, refusing one its group or others can read. The mode is
/// taken from the open file, so it is the mode of what is read.
fn read(path: &Path) -> Result<(Vec<u8>, u32), CredentialError> {
    let (bytes, mode) =
        option_file::read_with_mode(path).map_err(|source| CredentialError::Unreadable {
            path: path.to_path_buf(),
            source,
        })?;
    if mode & 0o044 != 0 {
        return Err(CredentialError::Exposed {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok((bytes, mode))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

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
        let source = SecretSource::Mycnf(MycnfFile::Path(cnf.clone()));
        let e = resolve(&source, dir.path()).expect_err("refused");
        assert!(e.to_string().contains("(mode 0664)"), "{e}");
        std::fs::set_permissions(&cnf, std::fs::Permissions::from_mode(0o602)).expect("chmod");
        let e = resolve(&source, dir.path()).expect_err("refused");
        assert!(
            e.to_string().contains("is writable by others (mode 0602)"),
            "{e}"
        );
        std::fs::set_permissions(&cnf, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let inc = dir.path().join("inc.cnf");
        std::fs::write(&inc, "[client-mariadb]\npassword=s3cret-included\n").expect("write");
        std::fs::set_permissions(&inc, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let top = format!(
            "[client]\npassword=s3cret-value-long\n!include {}\n",
            inc.display()
        );
        std::fs::write(&cnf, top).expect("write");
        let e = resolve(&source, dir.path()).expect_err("refused");
        let text = e.to_string();
        assert!(
            text.starts_with(&format!(
                "{} is readable by its group and others",
                inc.display()
            )),
            "{text}"
        );
        assert!(!text.contains("s3cret"), "{text}");
        std::fs::set_permissions(&inc, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let value = resolve(&source, dir.path()).expect("private");
        assert_eq!(value.expose(), "s3cret-included");
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "**** Secret(****)");
    }
}

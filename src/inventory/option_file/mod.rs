//! MySQL option files (`~/.my.cnf`) read as the `mariadb` client reads them, after
//! MariaDB's `mysys/my_default.c`: the client groups, `!include` and `!includedir`,
//! comments, quotes and escapes, and for a repeated option the last one read. [`syntax`]
//! is one line, [`walk`] the files; this module is what the client makes of the options.
//!
//! `my_print_defaults --defaults-file=FILE client client-server client-mariadb` prints
//! what [`read`] finds, in the same order (tests/option_files.rs compares them).

mod syntax;
mod walk;

use std::path::{Path, PathBuf};

/// A file's bytes and the mode of what was read (taken from the open file).
pub use walk::read_with_mode;
pub use walk::{MAX_DEPTH, MAX_FILES};

/// The groups MariaDB's client library reads for any client (the `mariadb` program adds
/// its own `[mysql]` and `[mariadb-client]`, which are not flightdeck's).
pub const CLIENT_GROUPS: [&str; 3] = ["client", "client-server", "client-mariadb"];

/// What relative `!include` paths and `~/` mean: the current directory and `$HOME`, as
/// for the client. Tests give their own, since both are the process's.
#[derive(Clone, Debug)]
pub struct Context {
    pub cwd: PathBuf,
    pub home: Option<PathBuf>,
}

impl Context {
    pub fn current() -> Self {
        Self {
            // Without a current directory, "." leaves relative paths to the kernel, which
            // is what the client's `fopen` does.
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            home: std::env::var_os("HOME").map(PathBuf::from),
        }
    }
}

/// A file that was read, and its mode then.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRead {
    pub path: PathBuf,
    pub mode: u32,
}

/// One option of a group read, as written (name not normalised, value unquoted and
/// unescaped). `Debug` does not show the value: it may be a password.
#[derive(Clone, PartialEq, Eq)]
pub struct Opt {
    group: String,
    name: Vec<u8>,
    value: Option<Vec<u8>>,
    file: usize,
    line: usize,
}

impl Opt {
    pub fn group(&self) -> &str {
        &self.group
    }

    pub fn name(&self) -> &[u8] {
        &self.name
    }

    /// `None` for a name alone (`password` without `=`).
    pub fn value(&self) -> Option<&[u8]> {
        self.value.as_deref()
    }

    /// The line in its file, counted as the client counts (see `syntax::MAX_LINE`).
    pub fn line(&self) -> usize {
        self.line
    }
}

impl std::fmt::Debug for Opt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opt")
            .field("group", &self.group)
            .field("name", &String::from_utf8_lossy(&self.name))
            .field("value", &self.value.as_ref().map(|_| "****"))
            .field("file", &self.file)
            .field("line", &self.line)
            .finish()
    }
}

/// The options of the groups read, in the order read, and the files they came from.
#[derive(Debug, Default)]
pub struct ClientOptions {
    options: Vec<Opt>,
    files: Vec<FileRead>,
    /// What the client would warn about and skip: missing or world-writable included
    /// files, a malformed included file's rest, includes too deep.
    notes: Vec<String>,
}

/// Where a client's password comes from, the last of these options read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Password<'a> {
    /// `password=VALUE`.
    Value(&'a Opt),
    /// `password` alone: the `mariadb` client asks for it at a prompt.
    Prompt(&'a Opt),
    /// `skip-password` or `disable-password`: the `mariadb` client sends an empty one.
    Empty(&'a Opt),
}

impl<'a> Password<'a> {
    pub fn opt(self) -> &'a Opt {
        match self {
            Password::Value(o) | Password::Prompt(o) | Password::Empty(o) => o,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OptionFileError {
    #[error("cannot read {}: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{}:{line}: {what}: the mariadb client refuses this file too \
         (\"Fatal error in defaults handling\")",
        path.display()
    )]
    Malformed {
        path: PathBuf,
        line: usize,
        what: String,
    },
    #[error(
        "{} leads to more than {limit} files through !include and !includedir \
         (an include loop?)",
        path.display()
    )]
    TooManyFiles { path: PathBuf, limit: usize },
    #[error(
        "{}:{line}: `{name}` abbreviates `password` (the mariadb client takes it as the \
         password): write `password`",
        path.display()
    )]
    Abbreviated {
        path: PathBuf,
        line: usize,
        name: String,
    },
    #[error(
        "{}:{line}: `password` has no value: the mariadb client would ask for it at a \
         prompt, which flightdeck cannot; give it a value",
        path.display()
    )]
    Prompt { path: PathBuf, line: usize },
    #[error(
        "{}:{line}: the password is not UTF-8 as the client reads it (it trims the byte \
         0xA0 at either end of a value as white space, cutting characters such as `à` in \
         two): put the value in quotes",
        path.display()
    )]
    NotUtf8 { path: PathBuf, line: usize },
}

/// Reads `top` (whose bytes and mode the caller read, having judged its mode) and what it
/// includes, keeping the options of `groups`.
pub fn read(
    top: &Path,
    text: &[u8],
    mode: u32,
    groups: &[&str],
    ctx: &Context,
) -> Result<ClientOptions, OptionFileError> {
    walk::Walk::run(top, text, mode, groups, ctx)
}

/// [`read`], opening `top` itself (with no rule about its mode).
pub fn read_file(
    top: &Path,
    groups: &[&str],
    ctx: &Context,
) -> Result<ClientOptions, OptionFileError> {
    let (text, mode) = walk::read_with_mode(top).map_err(|source| OptionFileError::Unreadable {
        path: top.to_path_buf(),
        source,
    })?;
    read(top, &text, mode, groups, ctx)
}

/// An option name as the client's `my_getopt` matches it: case, `-` and `_` alike, and a
/// `loose-` prefix (no error if unknown) dropped.
fn normalise(name: &[u8]) -> Vec<u8> {
    let name: Vec<u8> = name
        .iter()
        .map(|&b| {
            if b == b'_' {
                b'-'
            } else {
                b.to_ascii_lowercase()
            }
        })
        .collect();
    match name.strip_prefix(b"loose-") {
        Some(rest) => rest.to_vec(),
        None => name,
    }
}

impl ClientOptions {
    pub fn options(&self) -> &[Opt] {
        &self.options
    }

    /// The files read, the top one first.
    pub fn files(&self) -> &[FileRead] {
        &self.files
    }

    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The file an option was read from.
    pub fn file_of(&self, opt: &Opt) -> Option<&FileRead> {
        self.files.get(opt.file)
    }

    /// The last option named `name` (`host`, `user`, `ssl-ca`): the one the client uses.
    pub fn last(&self, name: &str) -> Option<&Opt> {
        let wanted = normalise(name.as_bytes());
        self.options
            .iter()
            .rev()
            .find(|o| normalise(&o.name) == wanted)
    }

    /// The password as the `mariadb` client takes it. An abbreviation of `password`
    /// (`pass=…`, which its option parser accepts as a unique prefix) is an error rather
    /// than ignored, so flightdeck never uses another password than the client.
    pub fn password(&self) -> Result<Option<Password<'_>>, OptionFileError> {
        let mut found = None;
        for opt in &self.options {
            let name = normalise(&opt.name);
            match name.as_slice() {
                b"password" => {
                    found = Some(match opt.value {
                        Some(_) => Password::Value(opt),
                        None => Password::Prompt(opt),
                    })
                }
                b"skip-password" | b"disable-password" => found = Some(Password::Empty(opt)),
                n if n.len() >= 3 && n.len() < 8 && b"password".starts_with(n) => {
                    return Err(OptionFileError::Abbreviated {
                        path: self.path_of(opt),
                        line: opt.line,
                        name: String::from_utf8_lossy(&opt.name).into_owned(),
                    });
                }
                _ => {}
            }
        }
        Ok(found)
    }

    /// The text of a password found by [`Self::password`], or why there is none to use.
    pub fn password_text(&self, found: Password<'_>) -> Result<String, OptionFileError> {
        match found {
            Password::Empty(_) => Ok(String::new()),
            Password::Prompt(opt) => Err(OptionFileError::Prompt {
                path: self.path_of(opt),
                line: opt.line,
            }),
            Password::Value(opt) => String::from_utf8(opt.value.clone().unwrap_or_default())
                .map_err(|_| OptionFileError::NotUtf8 {
                    path: self.path_of(opt),
                    line: opt.line,
                }),
        }
    }

    fn path_of(&self, opt: &Opt) -> PathBuf {
        self.file_of(opt)
            .map(|f| f.path.clone())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;

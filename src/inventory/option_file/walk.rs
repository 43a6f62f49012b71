//! Following an option file through `!include` and `!includedir` as `my_default.c` does:
//! a missing or unreadable included file is skipped, and so is a world-writable one (the
//! client says "World-writable config file ... is ignored"); a malformed included file is
//! read up to its first fault and the includer goes on; a fault in the top file is fatal,
//! as the client refuses to start.

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::syntax::{self, Directive, Line};
use super::{ClientOptions, Context, FileRead, Opt, OptionFileError};

/// `max_recursion_level` in `my_default.c`: a file this deep is read, but its `!` lines are
/// skipped. A file that includes itself is so read 11 times, as by the client.
pub const MAX_DEPTH: u32 = 10;

/// More files than this (the top one included) is an error. The client has no such bound,
/// but ten levels of a folder whose files `!includedir` it again grow exponentially, and
/// a credential lookup must end.
pub const MAX_FILES: usize = 4096;

/// Where the client stops reading a file, and why (never the line's text: it may hold a
/// password).
struct Fault {
    line: usize,
    what: String,
}

pub(super) struct Walk<'a> {
    groups: &'a [&'a str],
    ctx: &'a Context,
    out: ClientOptions,
    too_many: bool,
}

impl<'a> Walk<'a> {
    pub(super) fn run(
        top: &Path,
        text: &[u8],
        mode: u32,
        groups: &'a [&'a str],
        ctx: &'a Context,
    ) -> Result<ClientOptions, OptionFileError> {
        let mut walk = Walk {
            groups,
            ctx,
            out: ClientOptions::default(),
            too_many: false,
        };
        walk.out.files.push(FileRead {
            path: top.to_path_buf(),
            mode,
        });
        if let Err(fault) = walk.file(0, text, 0) {
            return Err(OptionFileError::Malformed {
                path: top.to_path_buf(),
                line: fault.line,
                what: fault.what,
            });
        }
        if walk.too_many {
            return Err(OptionFileError::TooManyFiles {
                path: top.to_path_buf(),
                limit: MAX_FILES,
            });
        }
        Ok(walk.out)
    }

    /// Reads the lines of `self.out.files[index]`, whose text is `text`.
    fn file(&mut self, index: usize, text: &[u8], depth: u32) -> Result<(), Fault> {
        // The group is the file's own: an included file starts without one (an option
        // first is a fault), and the includer's group goes on after the `!include`.
        let mut group: Option<(String, bool)> = None;
        for (number, line) in (1..).zip(syntax::lines(text)) {
            if self.too_many {
                return Ok(());
            }
            let fault = |what: &str| Fault {
                line: number,
                what: what.to_string(),
            };
            match syntax::classify(line) {
                Line::Blank => {}
                Line::Directive(_) if depth >= MAX_DEPTH => self.note(
                    index,
                    number,
                    "a `!` line more than 10 includes deep, skipped",
                ),
                Line::Directive(rest) => match syntax::directive(rest) {
                    Directive::Include(arg) => {
                        let path = self.include_path(arg);
                        self.include(&path, depth + 1);
                    }
                    Directive::IncludeDir(arg) => {
                        self.include_dir(arg, depth + 1)
                            .map_err(|what| Fault { line: number, what })?;
                    }
                    Directive::Empty(keyword) => {
                        return Err(fault(&format!("`{keyword}` names nothing")));
                    }
                    Directive::Other => {}
                },
                Line::Group(name) => {
                    // Group names are matched as the client's `find_type` does: ignoring
                    // case (`[CLIENT]` is read).
                    let ours = self
                        .groups
                        .iter()
                        .any(|g| g.as_bytes().eq_ignore_ascii_case(name));
                    group = Some((String::from_utf8_lossy(name).into_owned(), ours));
                }
                Line::UnclosedGroup => return Err(fault("a group name without `]`")),
                Line::Option { name, value } => match &group {
                    None => return Err(fault("an option before any [group]")),
                    Some((_, false)) => {}
                    Some((group, true)) => self.out.options.push(Opt {
                        group: group.clone(),
                        name: name.to_vec(),
                        value,
                        file: index,
                        line: number,
                    }),
                },
            }
        }
        Ok(())
    }

    /// `~/` is `$HOME`, `~user/` that user's home (`unpack_filename`); a relative path is
    /// relative to the current directory, not to the including file, as for the client.
    fn include_path(&self, arg: &[u8]) -> PathBuf {
        let path = expand_tilde(arg, self.ctx.home.as_deref())
            .unwrap_or_else(|| PathBuf::from(OsStr::from_bytes(arg)));
        self.ctx.cwd.join(path)
    }

    fn include(&mut self, path: &Path, depth: u32) {
        if self.out.files.len() >= MAX_FILES {
            self.too_many = true;
            return;
        }
        // `stat` first, as the client does: a FIFO is not opened (it would block).
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) => return self.skip(path, &e.to_string()),
        };
        if !meta.is_file() {
            return self.skip(path, "not a regular file");
        }
        if meta.permissions().mode() & 0o002 != 0 {
            return self.skip(path, "anyone may write to it");
        }
        let (text, mode) = match read_with_mode(path) {
            Ok(read) => read,
            Err(e) => return self.skip(path, &e.to_string()),
        };
        let index = self.out.files.len();
        self.out.files.push(FileRead {
            path: path.to_path_buf(),
            mode,
        });
        if let Err(fault) = self.file(index, &text, depth) {
            let what = format!("{}; the rest of this file is skipped", fault.what);
            self.note(index, fault.line, &what);
        }
    }

    /// The folder's files ending `.cnf` (the only extension on Unix), in byte order as
    /// `my_dir(MY_WANT_SORT)` sorts them, hidden ones too. The folder's own path is taken
    /// as written: the client does not expand `~` there.
    fn include_dir(&mut self, arg: &[u8], depth: u32) -> Result<(), String> {
        let dir = self.ctx.cwd.join(OsStr::from_bytes(arg));
        let cannot =
            |e: std::io::Error| format!("cannot list `!includedir` {}: {e}", dir.display());
        let mut names = std::fs::read_dir(&dir)
            .map_err(cannot)?
            .map(|entry| entry.map(|e| e.file_name()))
            .collect::<Result<Vec<OsString>, _>>()
            .map_err(cannot)?;
        names.retain(|n| n.as_bytes().ends_with(b".cnf"));
        names.sort();
        for name in names {
            self.include(&dir.join(name), depth);
        }
        Ok(())
    }

    fn skip(&mut self, path: &Path, why: &str) {
        let note = format!("{} is skipped, as by the client: {why}", path.display());
        tracing::warn!("option file: {note}");
        self.out.notes.push(note);
    }

    fn note(&mut self, index: usize, line: usize, what: &str) {
        let path = self
            .out
            .files
            .get(index)
            .map(|f| f.path.display().to_string());
        // Where and what, never a value: the log keeps it for whoever wonders later.
        let note = format!("{}:{line}: {what}", path.unwrap_or_default());
        tracing::warn!("option file: {note}");
        self.out.notes.push(note);
    }
}

/// `~/rest` and `~user/rest`; `None` when `arg` is neither or the home is unknown.
fn expand_tilde(arg: &[u8], home: Option<&Path>) -> Option<PathBuf> {
    let rest = arg.strip_prefix(b"~")?;
    let slash = rest.iter().position(|&b| b == b'/')?;
    let (user, tail) = rest.split_at(slash);
    let dir = if user.is_empty() {
        home?.to_path_buf()
    } else {
        let name = std::str::from_utf8(user).ok()?;
        nix::unistd::User::from_name(name).ok()??.dir
    };
    Some(dir.join(OsStr::from_bytes(tail.get(1..).unwrap_or_default())))
}

/// The file's bytes and the mode of what was read.
pub fn read_with_mode(path: &Path) -> std::io::Result<(Vec<u8>, u32)> {
    let mut file = std::fs::File::open(path)?;
    let mode = file.metadata()?.permissions().mode() & 0o7777;
    let mut text = Vec::new();
    file.read_to_end(&mut text)?;
    Ok((text, mode))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tilde_is_home_or_a_user_home_and_only_before_a_slash() {
        let home = Path::new("/home/op");
        let got = |arg: &str| expand_tilde(arg.as_bytes(), Some(home));
        assert_eq!(got("~/x.cnf"), Some(PathBuf::from("/home/op/x.cnf")));
        assert_eq!(got("~root/x.cnf"), Some(PathBuf::from("/root/x.cnf")));
        assert_eq!(got("~"), None);
        assert_eq!(got("~/"), Some(PathBuf::from("/home/op")));
        assert_eq!(got("~no-such-user-fd/x.cnf"), None);
        assert_eq!(got("/etc/~/x.cnf"), None);
        assert_eq!(expand_tilde(b"~/x.cnf", None), None);
    }
}

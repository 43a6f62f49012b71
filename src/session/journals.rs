//! Where a session's journal goes without `--journal`: one folder per operator, under
//! the state directory, named after the runbook and the day the window began.
//!
//! `$XDG_STATE_HOME/flightdeck/journals/RUNBOOK-YYYY-MM-DD.jsonl` (UTC date). Running the
//! same runbook again resumes its newest unfinished journal there, whatever day it began:
//! a window that crosses midnight, or a cockpit killed yesterday, is picked up, not
//! started afresh beside it. A runbook whose journals are all complete gets a new one
//! (`-2`, `-3`… when today's name is taken).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::session::replay::replay;

#[derive(Debug, thiserror::Error)]
pub enum DefaultJournalError {
    #[error(
        "cannot tell where journals go: neither XDG_STATE_HOME nor HOME is set (name one with --journal)"
    )]
    NoHome,
    #[error("cannot use the journal folder {}: {source} (name a journal with --journal)", dir.display())]
    Folder {
        dir: PathBuf,
        source: std::io::Error,
    },
}

/// The journal `flightdeck run RUNBOOK` uses without `--journal`.
pub fn default_journal(runbook: &Path) -> Result<PathBuf, DefaultJournalError> {
    let dir = crate::logging::state_dir()
        .ok_or(DefaultJournalError::NoHome)?
        .join("journals");
    let folder = |source| DefaultJournalError::Folder {
        dir: dir.clone(),
        source,
    };
    {
        use std::os::unix::fs::DirBuilderExt;
        // Journals name hosts, statements and operators: the owner's only.
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(folder)?;
    }
    choose(&dir, &stem(runbook), &utc_date(SystemTime::now())).map_err(folder)
}

/// The runbook's file name without `.toml`.
fn stem(runbook: &Path) -> String {
    runbook
        .file_stem()
        .map_or("run".into(), |s| s.to_string_lossy().into_owned())
}

/// `YYYY-MM-DD` of `at`, in UTC.
fn utc_date(at: SystemTime) -> String {
    let stamp = humantime::format_rfc3339_seconds(at).to_string();
    stamp.get(..10).unwrap_or("1970-01-01").to_string()
}

/// In `dir`: the newest unfinished journal of `stem`, else a fresh name for `today`.
pub fn choose(dir: &Path, stem: &str, today: &str) -> std::io::Result<PathBuf> {
    let mut ours = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_journal_of(&name, stem) {
            let modified = entry.metadata()?.modified()?;
            ours.push((modified, entry.path()));
        }
    }
    ours.sort();
    // A journal that cannot be read is resumed too: opening it says what is wrong with
    // it, where starting a new one beside it would hide it.
    let unfinished = ours
        .into_iter()
        .rev()
        .find(|(_, path)| replay(path).map_or(true, |r| !r.completed));
    if let Some((_, path)) = unfinished {
        return Ok(path);
    }
    let mut n = 1u32;
    loop {
        let name = match n {
            1 => format!("{stem}-{today}.jsonl"),
            _ => format!("{stem}-{today}-{n}.jsonl"),
        };
        let path = dir.join(name);
        if !path.exists() {
            return Ok(path);
        }
        n = n.saturating_add(1);
    }
}

/// `STEM-YYYY-MM-DD.jsonl` or `STEM-YYYY-MM-DD-N.jsonl`.
fn is_journal_of(name: &str, stem: &str) -> bool {
    let Some(rest) = name
        .strip_prefix(stem)
        .and_then(|r| r.strip_prefix('-'))
        .and_then(|r| r.strip_suffix(".jsonl"))
    else {
        return false;
    };
    let (date, counter) = rest.split_at(rest.len().min(10));
    let date_ok = date.len() == 10
        && date.char_indices().all(|(i, c)| match i {
            4 | 7 => c == '-',
            _ => c.is_ascii_digit(),
        });
    let counter_ok = counter.is_empty()
        || counter
            .strip_prefix('-')
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    date_ok && counter_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_names_are_the_stem_the_date_and_a_counter() {
        assert!(is_journal_of("upgrade-2026-11-27.jsonl", "upgrade"));
        assert!(is_journal_of("upgrade-2026-11-27-3.jsonl", "upgrade"));
        // Another runbook whose name starts the same is not ours.
        assert!(!is_journal_of("upgrade-eu-2026-11-27.jsonl", "upgrade"));
        assert!(!is_journal_of("upgrade-2026-11-27.jsonl.lock", "upgrade"));
        assert!(!is_journal_of("upgrade-2026-11-27-.jsonl", "upgrade"));
        assert_eq!(utc_date(SystemTime::UNIX_EPOCH), "1970-01-01");
    }

    #[test]
    fn a_new_window_gets_today_s_name_and_a_taken_name_a_counter() {
        let dir = tempfile::tempdir().unwrap();
        let first = choose(dir.path(), "upgrade", "2026-11-27").unwrap();
        assert_eq!(first, dir.path().join("upgrade-2026-11-27.jsonl"));
        // A complete journal of today: the next window gets the next name.
        std::fs::write(&first, complete_journal()).unwrap();
        let second = choose(dir.path(), "upgrade", "2026-11-27").unwrap();
        assert_eq!(second, dir.path().join("upgrade-2026-11-27-2.jsonl"));
    }

    #[test]
    fn an_unfinished_journal_of_another_day_is_resumed() {
        let dir = tempfile::tempdir().unwrap();
        let yesterday = dir.path().join("upgrade-2026-11-26.jsonl");
        std::fs::write(&yesterday, "not a journal\n").unwrap();
        let chosen = choose(dir.path(), "upgrade", "2026-11-27").unwrap();
        assert_eq!(chosen, yesterday);
    }

    /// A journal whose last event says the runbook is complete, written by the real API.
    fn complete_journal() -> Vec<u8> {
        use crate::session::journal::{Event, Journal, SessionStart};
        use crate::session::mask::Masker;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let header = SessionStart::new(
            Path::new("upgrade.toml"),
            "0".repeat(64),
            Path::new("inv.toml"),
            "0".repeat(64),
            Default::default(),
        );
        let mut j = Journal::create(&path, header, Masker::default()).unwrap();
        j.append(&Event::Complete {
            operator: "dba".into(),
            duration_s: 0.0,
            skipped: Vec::new(),
            overridden: Vec::new(),
            retried: Vec::new(),
            verified: Vec::new(),
        })
        .unwrap();
        drop(j);
        std::fs::read(&path).unwrap()
    }
}

//! The append-only JSON Lines journal of one run.
//!
//! One line per [`Record`]: a sequence number (1 for the `session_start` header, then one
//! more per line), an RFC 3339 UTC timestamp with milliseconds, and the [`Event`] itself,
//! tagged by `"event"`. Every line is written with one `write` on an `O_APPEND` file and
//! `fdatasync`ed before [`Journal::append`] returns, so an event the caller saw succeed
//! survives a crash. Callers journal *before* acting: a `step_start` must be durable
//! before anything is sent to a server, which is what lets [`replay`] report a step
//! whose process died as running (outcome unknown) rather than never started.
//!
//! Every string goes through the journal's [`Masker`] first. Output is bounded per step
//! attempt (see [`OUTPUT_LIMIT_PER_ATTEMPT`]) and masked as a stream, so a secret split
//! across two chunks is still caught.
//!
//! [`replay`]: crate::session::replay::replay

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::session::lock::{current_host, current_operator, now_rfc3339};
use crate::session::mask::Masker;
use crate::session::replay::replay;

/// At most this many bytes of (masked) output are journaled per step attempt; the rest is
/// counted and reported once in an `output_truncated` event before the `step_end`.
pub const OUTPUT_LIMIT_PER_ATTEMPT: usize = 64 * 1024;

/// Output without a newline is held back until its line ends, up to this many bytes.
const LINE_HOLD_LIMIT: usize = 4096;

/// One line of the journal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub seq: u64,
    /// RFC 3339, UTC, milliseconds: `2026-11-01T09:30:00.123Z`.
    pub ts: String,
    #[serde(flatten)]
    pub event: Event,
}

/// The header: who started which runbook against which inventory, and the pinned roles.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionStart {
    pub operator: String,
    pub host: String,
    pub pid: u32,
    pub runbook_path: String,
    pub runbook_sha256: String,
    pub inventory_path: String,
    pub inventory_sha256: String,
    pub flightdeck_version: String,
    /// Pin alias → the server that held the role when the run began.
    pub pins: BTreeMap<String, String>,
}

impl SessionStart {
    /// A header for this process (operator, host, pid and version filled in). Pass the
    /// digests of the bytes that were actually loaded ([`sha256_hex`]).
    pub fn new(
        runbook_path: &Path,
        runbook_sha256: String,
        inventory_path: &Path,
        inventory_sha256: String,
        pins: BTreeMap<String, String>,
    ) -> Self {
        Self {
            operator: current_operator(),
            host: current_host(),
            pid: std::process::id(),
            runbook_path: runbook_path.display().to_string(),
            runbook_sha256,
            inventory_path: inventory_path.display().to_string(),
            inventory_sha256,
            flightdeck_version: env!("CARGO_PKG_VERSION").to_string(),
            pins,
        }
    }
}

/// Which stream an output chunk came from; `info` is flightdeck's own commentary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
    Info,
}

impl Stream {
    /// The stream an executor names (`stdout`, `stderr`, `info`).
    pub fn from_label(label: &str) -> Self {
        match label {
            "stderr" => Stream::Stderr,
            "info" => Stream::Info,
            _ => Stream::Stdout,
        }
    }
}

/// How a step attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Succeeded,
    Failed,
    Cancelled,
    TimedOut,
}

/// What happened. Serialized with `"event": "<snake_case name>"` beside the fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    SessionStart(SessionStart),
    /// A later process attached to the same journal and drives it from now on.
    SessionResume {
        operator: String,
        host: String,
        pid: u32,
    },
    /// A gate was evaluated before a step; `observed` are the facts it saw.
    Gate {
        step: String,
        condition: String,
        holds: bool,
        observed: Vec<String>,
    },
    /// The operator confirmed a step; `typed` is the server name typed for destructive steps.
    Confirm {
        step: String,
        operator: String,
        typed: Option<String>,
    },
    /// The operator ran a step although gates failed.
    Override {
        step: String,
        justification: String,
        failed_gates: Vec<String>,
    },
    Skip {
        step: String,
        reason: String,
    },
    /// Written (and synced) before the step is sent; `rendered` is what was sent, masked.
    /// `primary` is who was primary when the step first started: its roles resolve from
    /// it on every attempt, so a resumed re-run repeats the same request.
    StepStart {
        step: String,
        attempt: u32,
        target_servers: Vec<String>,
        rendered: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        primary: Option<String>,
    },
    Output {
        step: String,
        stream: Stream,
        text: String,
    },
    /// Written by the journal itself when a step attempt produced more output than it keeps.
    OutputTruncated {
        step: String,
        dropped_bytes: u64,
    },
    StepEnd {
        step: String,
        attempt: u32,
        outcome: Outcome,
        detail: String,
        exit_code: Option<i32>,
    },
    ManualDone {
        step: String,
        operator: String,
    },
    /// A step whose outcome was unknown, checked by hand and found done.
    Verified {
        step: String,
        operator: String,
        reason: String,
    },
    /// Every step is finished. The lists name steps; `duration_s` counts from the
    /// session's start.
    Complete {
        operator: String,
        duration_s: f64,
        skipped: Vec<String>,
        overridden: Vec<String>,
        retried: Vec<String>,
        verified: Vec<String>,
    },
    /// Roles as re-resolved, e.g. after a switchover.
    Roles {
        primary: Option<String>,
        replicas: Vec<String>,
    },
    SessionEnd {
        reason: String,
    },
}

impl Event {
    /// A `session_resume` for this process.
    pub fn resume_here() -> Self {
        Event::SessionResume {
            operator: current_operator(),
            host: current_host(),
            pid: std::process::id(),
        }
    }

    /// The step this event concerns, if any.
    pub fn step(&self) -> Option<&str> {
        match self {
            Event::Gate { step, .. }
            | Event::Confirm { step, .. }
            | Event::Override { step, .. }
            | Event::Skip { step, .. }
            | Event::StepStart { step, .. }
            | Event::Output { step, .. }
            | Event::OutputTruncated { step, .. }
            | Event::StepEnd { step, .. }
            | Event::ManualDone { step, .. }
            | Event::Verified { step, .. } => Some(step),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal {} already exists: resume it, or choose another path", path.display())]
    Exists { path: PathBuf },
    #[error("journal {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("journal {}:{line}: {message}", path.display())]
    Corrupt {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error(
        "journal {} has no complete session_start line (a crash while it was being \
         created leaves it so; nothing ran, delete it and start again)",
        path.display()
    )]
    Empty { path: PathBuf },
    #[error(
        "journal {}:{line}: a second session_start; a journal holds one session \
         (a resumed run appends session_resume)",
        path.display()
    )]
    SecondSessionStart { path: PathBuf, line: usize },
    #[error("journal {}: cannot encode an event: {source}", path.display())]
    Encode {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

pub type Result<T, E = JournalError> = std::result::Result<T, E>;

pub(crate) fn io_err(path: &Path) -> impl FnOnce(io::Error) -> JournalError + '_ {
    move |source| JournalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Output bookkeeping for the current attempt of one step.
#[derive(Debug, Default)]
struct Attempt {
    written: usize,
    dropped: u64,
    /// Raw text per stream not yet journaled: it may end in the first part of a secret.
    pending: HashMap<Stream, String>,
}

impl Attempt {
    /// The part of `masked` that fits this attempt's budget; the rest is counted as
    /// dropped, and so is everything after a cut, even a later chunk that would fit.
    fn admit(&mut self, mut masked: String) -> Option<String> {
        let room = OUTPUT_LIMIT_PER_ATTEMPT.saturating_sub(self.written);
        let mut keep = room.min(masked.len());
        while !masked.is_char_boundary(keep) {
            keep -= 1;
        }
        if keep < masked.len() {
            self.dropped += (masked.len() - keep) as u64;
            self.written = OUTPUT_LIMIT_PER_ATTEMPT;
        } else {
            self.written += keep;
        }
        masked.truncate(keep);
        (!masked.is_empty()).then_some(masked)
    }
}

/// Numbers, stamps, masks and durably writes lines.
#[derive(Debug)]
struct Writer {
    file: File,
    path: PathBuf,
    masker: Masker,
    next_seq: u64,
}

impl Writer {
    fn write(&mut self, event: &Event) -> Result<()> {
        let event = self.masker.mask_event(event);
        let record = Record {
            seq: self.next_seq,
            ts: now_rfc3339(),
            event,
        };
        let mut line = serde_json::to_vec(&record).map_err(|source| JournalError::Encode {
            path: self.path.clone(),
            source,
        })?;
        line.push(b'\n');
        // One write on an O_APPEND file, then fdatasync: the line is durable when we return.
        self.file.write_all(&line).map_err(io_err(&self.path))?;
        self.file.flush().map_err(io_err(&self.path))?;
        self.file.sync_data().map_err(io_err(&self.path))?;
        self.next_seq += 1;
        Ok(())
    }
}

/// An open journal, appending for one driving process (hold a [`Lock`] while it is open).
///
/// [`Lock`]: crate::session::lock::Lock
#[derive(Debug)]
pub struct Journal {
    w: Writer,
    attempts: HashMap<String, Attempt>,
}

impl Journal {
    /// Creates a new journal (mode 0600; an error if `path` exists) starting with `header`.
    pub fn create(path: &Path, header: SessionStart, masker: Masker) -> Result<Journal> {
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|source| match source.kind() {
                io::ErrorKind::AlreadyExists => JournalError::Exists {
                    path: path.to_path_buf(),
                },
                _ => io_err(path)(source),
            })?;
        let w = Writer {
            file,
            path: path.to_path_buf(),
            masker,
            next_seq: 1,
        };
        let mut journal = Journal {
            w,
            attempts: HashMap::new(),
        };
        journal.w.write(&Event::SessionStart(header))?;
        // Make the new directory entry durable too, not only the file's contents.
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err(dir))?;
        Ok(journal)
    }

    /// Opens an existing journal to go on appending, after a crash or from another
    /// process, and journals a `session_resume` for this process. A torn last line (a
    /// write cut short by a crash, never acknowledged) is cut off first, so the next
    /// line starts clean; a journal corrupt anywhere else is refused.
    pub fn open_append(path: &Path, masker: Masker) -> Result<Journal> {
        let replayed = replay(path)?;
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(io_err(path))?;
        if replayed.torn_tail.is_some() {
            file.set_len(replayed.valid_len).map_err(io_err(path))?;
            file.sync_all().map_err(io_err(path))?;
        }
        let next_seq = replayed.last_seq + 1;
        let w = Writer {
            file,
            path: path.to_path_buf(),
            masker,
            next_seq,
        };
        let mut journal = Journal {
            w,
            attempts: HashMap::new(),
        };
        journal.w.write(&Event::resume_here())?;
        Ok(journal)
    }

    pub fn path(&self) -> &Path {
        &self.w.path
    }

    /// The sequence number the next line will carry.
    pub fn next_seq(&self) -> u64 {
        self.w.next_seq
    }

    pub fn masker(&self) -> &Masker {
        &self.w.masker
    }

    /// Masks and appends one event, durably. `output` is bounded per step attempt and may
    /// be held back a few bytes (a possible secret prefix) until more output or the
    /// attempt's end; `step_end` (or the step's next `step_start`, or `session_end`)
    /// first writes what is held and, if output was dropped, one `output_truncated`.
    pub fn append(&mut self, event: &Event) -> Result<()> {
        match event {
            Event::Output { step, stream, text } => return self.output(step, *stream, text),
            Event::StepStart { step, .. } => {
                self.finish_attempt(step)?;
                self.attempts.insert(step.clone(), Attempt::default());
            }
            Event::StepEnd { step, .. } => self.finish_attempt(step)?,
            Event::SessionEnd { .. } => self.finish_all()?,
            _ => {}
        }
        self.w.write(event)
    }

    /// Writes what is held back for every step (as `session_end` does).
    pub fn close(mut self) -> Result<()> {
        self.finish_all()
    }

    fn output(&mut self, step: &str, stream: Stream, text: &str) -> Result<()> {
        let attempt = self.attempts.entry(step.to_string()).or_default();
        let pending = attempt.pending.entry(stream).or_default();
        pending.push_str(text);
        // Whole lines only, so a line split across two reads is journaled as one; a
        // secret cannot straddle a line end unless it holds a newline itself.
        let line_end = pending.rfind('\n').map(|i| i + 1);
        let (masked, used) = match line_end {
            _ if self.w.masker.has_multiline() => self.w.masker.mask_prefix(pending),
            Some(end) => (self.w.masker.mask(&pending[..end]), end),
            None if pending.len() > LINE_HOLD_LIMIT => self.w.masker.mask_prefix(pending),
            None => return Ok(()),
        };
        pending.drain(..used);
        match attempt.admit(masked) {
            Some(text) => self.w.write(&Event::Output {
                step: step.to_string(),
                stream,
                text,
            }),
            None => Ok(()),
        }
    }

    /// Writes the held-back output of `step`'s current attempt and its truncation notice.
    fn finish_attempt(&mut self, step: &str) -> Result<()> {
        let Some(mut attempt) = self.attempts.remove(step) else {
            return Ok(());
        };
        for stream in [Stream::Stdout, Stream::Stderr, Stream::Info] {
            let rest = attempt.pending.remove(&stream).unwrap_or_default();
            if let Some(text) = attempt.admit(self.w.masker.mask(&rest)) {
                self.w.write(&Event::Output {
                    step: step.to_string(),
                    stream,
                    text,
                })?;
            }
        }
        if attempt.dropped > 0 {
            let dropped_bytes = attempt.dropped;
            self.w.write(&Event::OutputTruncated {
                step: step.to_string(),
                dropped_bytes,
            })?;
        }
        Ok(())
    }

    fn finish_all(&mut self) -> Result<()> {
        let mut steps: Vec<String> = self.attempts.keys().cloned().collect();
        steps.sort();
        steps.iter().try_for_each(|step| self.finish_attempt(step))
    }
}

impl Drop for Journal {
    /// Best effort: write held-back output. Errors cannot be reported here; call
    /// [`Journal::close`] (or append `session_end`) to see them.
    fn drop(&mut self) {
        let _ = self.finish_all();
    }
}

/// Lowercase hex SHA-256 of `bytes` (hash what was loaded, not the file as it is later).
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Lowercase hex SHA-256 of a file's contents.
pub fn sha256_file(path: &Path) -> Result<String> {
    std::fs::read(path)
        .map(|b| sha256_hex(&b))
        .map_err(io_err(path))
}

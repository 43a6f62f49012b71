//! The append-only JSON Lines journal of one run.
//!
//! One line per [`Record`]: a sequence number (1 for the `session_start` header, then one
//! more per line), an RFC 3339 UTC timestamp with milliseconds, and the [`Event`] itself,
//! tagged by `"event"`. Every line is written with one `write` on an `O_APPEND` file and,
//! except output, `fdatasync`ed before [`Journal::append`] returns, so an event the caller
//! saw succeed survives a crash (output follows within moments: see [`JournalHandle`]). Callers journal *before* acting: a `step_start` must be durable
//! before anything is sent to a server, which is what lets [`replay`] report a step
//! whose process died as running (outcome unknown) rather than never started.
//!
//! Every string goes through the journal's [`Masker`] first. Output is bounded per step
//! attempt (see [`OUTPUT_LIMIT_PER_ATTEMPT`]) and masked as a stream, so a secret split
//! across two chunks is still caught.
//!
//! [`replay`]: crate::session::replay::replay

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::session::lock::{current_host, current_operator};

mod file;
mod measure;
mod thread;

pub use file::Journal;
pub use measure::{ProbeReport, ServerSample};
pub use thread::JournalHandle;

/// At most this many bytes of (masked) output are journaled per step attempt; the rest is
/// counted and reported once in an `output_truncated` event before the `step_end`.
pub const OUTPUT_LIMIT_PER_ATTEMPT: usize = 64 * 1024;

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
    /// The runbook's `candidate` (the server a switchover promotes) when the run began, if
    /// the inventory named one: a resume keeps it even if the inventory changed since, as
    /// it keeps pins. Absent in journals written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate: Option<String>,
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
            candidate: None,
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
    /// What was asked may or may not have happened (see `session::run::Outcome::Unknown`).
    Unknown,
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
        /// The server's error number, for an SQL step that failed on one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sql_errno: Option<u16>,
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
    /// A second operator approved a four-eyes step (`typed`: what they typed to confirm).
    Approval {
        step: String,
        driver: String,
        approver: String,
        typed: String,
    },
    /// An attached operator refused to approve a step, or their approval was refused.
    ApprovalRefused {
        step: String,
        approver: String,
        reason: String,
    },
    /// A note an operator added, for every view and the record.
    Note {
        operator: String,
        text: String,
    },
    /// A second operator attached to (or left) the session's socket.
    Attached {
        operator: String,
        pid: Option<i32>,
    },
    Detached {
        operator: String,
    },
    /// The driver handed the session over to an attached operator, who takes the lock.
    Handover {
        from: String,
        to: String,
    },
    /// Someone tried to attach and was refused.
    AttachRefused {
        user: String,
        uid: u32,
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
    /// Once a second while the session runs: every server's replication state, for the
    /// record's lag chart. Written like output (durable within moments, no fsync each).
    Sample {
        servers: Vec<ServerSample>,
    },
    /// A server's version, when first seen in this process and whenever it changes.
    ServerVersion {
        server: String,
        version: String,
    },
    /// What the write-availability probe measured while a step attempt ran.
    Probe(ProbeReport),
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
            | Event::Verified { step, .. }
            | Event::Approval { step, .. }
            | Event::ApprovalRefused { step, .. } => Some(step),
            Event::Probe(p) => Some(&p.step),
            _ => None,
        }
    }

    /// Whether the journal writes it without an fsync of its own (output and samples:
    /// they are made durable in batches, and before the next event that is not).
    pub fn batched(&self) -> bool {
        matches!(self, Event::Output { .. } | Event::Sample { .. })
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
    #[error("journal {}: {message}", path.display())]
    Writer { path: PathBuf, message: String },
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

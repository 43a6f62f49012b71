//! The change report: `flightdeck report JOURNAL`, for the change ticket and the
//! post-mortem. Everything comes from the session's journal, read back with
//! [`replay`]: who ran which runbook against which inventory, how it ended, every step
//! with its confirmations, gates, command, output excerpt, outcome per attempt,
//! overrides, skips, approvals and verifications; what the write-availability probe
//! measured at each switchover; server versions before and after; a lag chart across
//! the window; the notes and the whole record.
//!
//! The journal is masked when written, and the report shows nothing else: it never reads
//! the inventory. The runbook file is read only for step titles and phases, and only when
//! the file at the header's path still has the digest the journal recorded.
//!
//! A session with no `complete` event is reported as not finished, at the top, naming
//! its last step and any step whose outcome is unknown (its process died while it ran).

mod build;
pub mod chart;
pub mod html;
pub mod markdown;
mod runbook;
mod text;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::session::journal::{JournalError, Outcome, ProbeReport, SessionStart};
use crate::session::record::Entry;
use crate::session::replay::{StepState, TornTail, replay};

pub use chart::LagData;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The journal is missing, unreadable or corrupt (its message names the file).
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("report of {}: cannot draw the lag chart: {message}", journal.display())]
    Chart { journal: PathBuf, message: String },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A session's journal, read back for people.
#[derive(Clone, Debug)]
pub struct Report {
    /// The journal it was built from.
    pub journal: PathBuf,
    pub header: SessionStart,
    /// The runbook's name, titles and phases, when its file still matches the journal.
    pub runbook: Option<RunbookInfo>,
    /// The `session_start`'s timestamp (RFC 3339, UTC).
    pub start: String,
    /// The last event's timestamp.
    pub end: String,
    pub duration: Duration,
    pub outcome: SessionOutcome,
    pub operators: Operators,
    /// Every step the journal mentions, in the order it first mentions them.
    pub steps: Vec<StepReport>,
    /// Runbook steps the journal never mentions (known only with the runbook file).
    pub not_reached: Vec<String>,
    /// Every probe report, in journal order.
    pub probes: Vec<Stamped<ProbeReport>>,
    /// Per server, in the order first seen: its first and last journaled version.
    pub versions: Vec<VersionRow>,
    pub lag: LagData,
    pub notes: Vec<Note>,
    /// The journal's record (see [`crate::session::record`]): who did what, in order.
    pub record: Vec<Entry>,
    /// The incomplete last line a crash left, if any.
    pub torn_tail: Option<TornTail>,
}

/// How the session ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionOutcome {
    /// A `complete` event: every step finished.
    Complete { operator: String, at: String },
    /// Ended (`session_end`) without a `complete`, and not resumed since.
    Ended { reason: String },
    /// Neither: the process died, or the session is still running.
    Unfinished,
}

/// What the runbook file says, when it is still the one the journal was written for.
#[derive(Clone, Debug, Default)]
pub struct RunbookInfo {
    pub name: String,
    /// Phase titles with their step ids, in runbook order.
    pub phases: Vec<(String, Vec<String>)>,
}

/// Who took part.
#[derive(Clone, Debug, Default)]
pub struct Operators {
    /// Who started the session, and on which host.
    pub started_by: String,
    pub host: String,
    /// `session_resume`s: when, who, on which host.
    pub resumes: Vec<Stamped<(String, String)>>,
    /// Handovers: when, from whom, to whom.
    pub handovers: Vec<Stamped<(String, String)>>,
    /// Everyone who confirmed a step.
    pub confirmed: BTreeSet<String>,
    pub approvers: BTreeSet<String>,
    /// Everyone who attached as a second operator.
    pub attached: BTreeSet<String>,
}

/// A value with the timestamp of the event it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Stamped<T> {
    pub ts: String,
    pub value: T,
}

/// One step, as the journal tells it.
#[derive(Clone, Debug)]
pub struct StepReport {
    pub id: String,
    /// From the runbook file, when it matches.
    pub title: Option<String>,
    pub phase: Option<String>,
    /// The runbook's kind (`shell`, `maxscale`, …), when the file matches.
    pub kind: Option<&'static str>,
    /// Its last known state, as [`replay`] determines it.
    pub state: StepState,
    /// (operator, what they typed).
    pub confirmations: Vec<Stamped<(String, Option<String>)>>,
    pub approvals: Vec<Stamped<Approval>>,
    /// (approver, reason).
    pub refusals: Vec<Stamped<(String, String)>>,
    /// (justification, failed gates).
    pub overrides: Vec<Stamped<(String, Vec<String>)>>,
    /// The reason.
    pub skip: Option<Stamped<String>>,
    /// Who marked it done.
    pub manual_done: Option<Stamped<String>>,
    /// (operator, reason).
    pub verified: Option<Stamped<(String, String)>>,
    pub attempts: Vec<Attempt>,
    /// Gates evaluated without a start following them.
    pub gates_unstarted: Vec<Gate>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Approval {
    pub approver: String,
    pub driver: String,
    pub typed: String,
}

/// A gate as evaluated just before an attempt started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gate {
    pub condition: String,
    pub holds: bool,
    pub observed: Vec<String>,
}

/// One attempt of a step: `step_start` to `step_end`.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub attempt: u32,
    /// The `step_start`'s timestamp.
    pub started: String,
    /// The `step_end`'s timestamp.
    pub ended: Option<String>,
    pub duration: Option<Duration>,
    pub end: AttemptEnd,
    pub servers: Vec<String>,
    /// What was sent, masked.
    pub rendered: String,
    pub gates: Vec<Gate>,
    /// Its output, all streams in order (masked, bounded by the journal).
    pub output: String,
    /// Output the journal did not keep.
    pub dropped_bytes: u64,
    pub probe: Option<ProbeReport>,
}

/// How an attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttemptEnd {
    Ended {
        outcome: Outcome,
        detail: String,
        exit_code: Option<i32>,
        sql_errno: Option<u16>,
    },
    /// No `step_end`, and the session was resumed or ended (or the step started again)
    /// after it: the process died while it ran. Outcome unknown.
    Crashed,
    /// No `step_end`, and the journal ends: the process died, or it is still running.
    Open,
}

impl AttemptEnd {
    /// Whether what the attempt did is unknown.
    pub fn unknown(&self) -> bool {
        matches!(
            self,
            AttemptEnd::Crashed
                | AttemptEnd::Open
                | AttemptEnd::Ended {
                    outcome: Outcome::Unknown,
                    ..
                }
        )
    }
}

/// A server's versions: the first and the last journaled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionRow {
    pub server: String,
    pub before: String,
    pub after: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub ts: String,
    pub operator: String,
    pub text: String,
}

impl Report {
    /// Reads the journal at `path` (see [`replay`] for what is tolerated) into a report.
    pub fn from_journal(path: &Path) -> Result<Report, ReportError> {
        let replayed = replay(path)?;
        Ok(build::build(path, &replayed))
    }

    /// The report as one self-contained XHTML page, the lag chart inline.
    pub fn html(&self) -> Result<String, ReportError> {
        let svg = self.chart_svg()?;
        Ok(html::render(self, svg.as_deref()))
    }

    /// The report as Markdown. `chart` is where its lag chart is, relative to the
    /// Markdown file (see [`Report::chart_svg`]); `None` says how to get one.
    pub fn markdown(&self, chart: Option<&str>) -> String {
        markdown::render(self, chart)
    }

    /// The lag chart as an SVG document, or `None` when no sample was journaled.
    pub fn chart_svg(&self) -> Result<Option<String>, ReportError> {
        chart::svg(&self.lag).map_err(|message| ReportError::Chart {
            journal: self.journal.clone(),
            message,
        })
    }

    /// Whether the session finished (a `complete` event).
    pub fn finished(&self) -> bool {
        matches!(self.outcome, SessionOutcome::Complete { .. })
    }

    /// The sentence that heads the report of a session that is not finished.
    pub fn unfinished(&self) -> Option<String> {
        text::unfinished(self)
    }
}

/// Where the Markdown report's chart goes: `report.md` → `report-lag.svg` beside it.
pub fn chart_path_for(markdown: &Path) -> PathBuf {
    let stem = markdown
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".to_string());
    markdown.with_file_name(format!("{stem}-lag.svg"))
}

/// Writes `text` to `path`, naming the file in the error.
pub fn write_file(path: &Path, text: &str) -> Result<(), ReportError> {
    std::fs::write(path, text).map_err(|source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    })
}

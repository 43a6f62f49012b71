//! Reading a journal back: the header, where each step stands, overrides and roles.
//!
//! A crash can leave the last line torn (the write that was under way when the process
//! died, never acknowledged to its caller): a final line without its newline is ignored
//! and reported in [`Replayed::torn_tail`]. Anything wrong before that (a line that is
//! not a journal event, a gap in the sequence numbers, a second `session_start`) is
//! corruption, reported with its line number: a journal is evidence, so it is not
//! silently "repaired".

use std::collections::BTreeMap;
use std::path::Path;

use crate::session::journal::{
    Event, JournalError, Outcome, Record, Result, SessionStart, Stream, io_err,
};

/// The last known state of one step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepState {
    /// Mentioned (gated, confirmed, …) but never started; also what absent steps are.
    Pending,
    /// Started and never ended: the process died mid-step. Its outcome is unknown: show
    /// "outcome unknown — verify" and never run it again without a fresh confirmation.
    Running {
        attempt: u32,
    },
    /// Ended with outcome unknown (MaxScale stopped answering while a switchover it took
    /// was pending): as for `Running`, verify before anything else.
    Unknown {
        attempt: u32,
    },
    Succeeded,
    /// Ended as failed, cancelled or timed out.
    Failed {
        outcome: Outcome,
        detail: String,
        exit_code: Option<i32>,
    },
    Skipped {
        reason: String,
    },
    ManualDone,
    /// Its outcome was unknown; the operator checked by hand and found it done.
    Verified {
        reason: String,
    },
}

/// What a step was resolved to when it first started, and what its latest attempt sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Started {
    /// Who was primary when the step first started.
    pub primary: Option<String>,
    /// The servers of its first start.
    pub servers: Vec<String>,
    /// What the latest attempt sent, masked.
    pub rendered: String,
    pub attempts: u32,
}

/// An override the operator gave, in journal order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Override {
    pub step: String,
    pub justification: String,
    pub failed_gates: Vec<String>,
}

/// Roles as last journaled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Roles {
    pub primary: Option<String>,
    pub replicas: Vec<String>,
}

/// The incomplete final line a crash left behind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornTail {
    /// Its line number (1-based).
    pub line: usize,
    pub bytes: u64,
}

/// A journal read back.
#[derive(Clone, Debug, PartialEq)]
pub struct Replayed {
    pub header: SessionStart,
    /// When the session started (the header's `ts`).
    pub started: String,
    /// Per step id, the last known state of every step the journal mentions.
    pub steps: BTreeMap<String, StepState>,
    pub overrides: Vec<Override>,
    /// The last `roles` event, if any.
    pub roles: Option<Roles>,
    /// Per step id, what it was resolved to and sent (see [`Started`]).
    pub started_steps: BTreeMap<String, Started>,
    /// Per step id, the detail of its last `step_end`.
    pub details: BTreeMap<String, String>,
    /// Per step id, the output of its latest attempt, in order.
    pub outputs: BTreeMap<String, Vec<(Stream, String)>>,
    /// A `complete` event was journaled.
    pub completed: bool,
    /// Four-eyes approvals: step → approver.
    pub approvals: BTreeMap<String, String>,
    /// Notes: (operator, text), in order.
    pub notes: Vec<(String, String)>,
    /// When (its `ts`), if it was.
    pub completed_at: Option<String>,
    /// `session_resume` events: (operator, host, pid), in order.
    pub resumes: Vec<(String, String, u32)>,
    /// The reason of a `session_end`, if the session was ended.
    pub ended: Option<String>,
    /// Every complete event, in order, the header first.
    pub events: Vec<Record>,
    /// The last sequence number read.
    pub last_seq: u64,
    /// Bytes up to and including the last complete line.
    pub valid_len: u64,
    pub torn_tail: Option<TornTail>,
}

impl Replayed {
    /// A step's state; steps the journal never mentions are pending.
    pub fn state(&self, step: &str) -> StepState {
        self.steps.get(step).cloned().unwrap_or(StepState::Pending)
    }

    /// Steps whose outcome is unknown (their process died mid-step, or MaxScale stopped
    /// answering while a switchover was pending): verify them.
    pub fn unknown_outcomes(&self) -> impl Iterator<Item = &str> {
        self.steps
            .iter()
            .filter(|(_, s)| matches!(s, StepState::Running { .. } | StepState::Unknown { .. }))
            .map(|(id, _)| id.as_str())
    }
}

/// Reads the journal at `path` (see the module docs for what is tolerated).
pub fn replay(path: &Path) -> Result<Replayed> {
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    let complete = bytes
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i.saturating_add(1));
    let corrupt = |line: usize, message: String| JournalError::Corrupt {
        path: path.to_path_buf(),
        line,
        message,
    };

    let mut replayed: Option<Replayed> = None;
    let mut lines = 0;
    for (line, raw) in (1..).zip(bytes[..complete].split_inclusive(|&b| b == b'\n')) {
        lines = line;
        let text = std::str::from_utf8(raw.strip_suffix(b"\n").unwrap_or(raw))
            .map_err(|e| corrupt(line, format!("not UTF-8 ({e})")))?;
        let record: Record = serde_json::from_str(text)
            .map_err(|e| corrupt(line, format!("not a journal event: {e}")))?;
        match replayed.as_mut() {
            None => match &record.event {
                Event::SessionStart(header) => {
                    replayed = Some(Replayed {
                        header: header.clone(),
                        started: record.ts.clone(),
                        steps: BTreeMap::new(),
                        overrides: Vec::new(),
                        roles: None,
                        started_steps: BTreeMap::new(),
                        details: BTreeMap::new(),
                        outputs: BTreeMap::new(),
                        completed: false,
                        approvals: BTreeMap::new(),
                        notes: Vec::new(),
                        completed_at: None,
                        resumes: Vec::new(),
                        ended: None,
                        last_seq: record.seq,
                        events: vec![record],
                        valid_len: complete as u64,
                        torn_tail: None,
                    });
                }
                other => {
                    let found = kind(other);
                    return Err(corrupt(
                        line,
                        format!("starts with {found}, not session_start"),
                    ));
                }
            },
            Some(r) => {
                if r.last_seq.checked_add(1) != Some(record.seq) {
                    let message = format!(
                        "sequence number {} follows {}: lines are missing or out of order",
                        record.seq, r.last_seq
                    );
                    return Err(corrupt(line, message));
                }
                if matches!(record.event, Event::SessionStart(_)) {
                    return Err(JournalError::SecondSessionStart {
                        path: path.to_path_buf(),
                        line,
                    });
                }
                r.last_seq = record.seq;
                r.apply(&record.event);
                if matches!(record.event, Event::Complete { .. }) {
                    r.completed_at = Some(record.ts.clone());
                }
                r.events.push(record);
            }
        }
    }
    let mut replayed = replayed.ok_or_else(|| JournalError::Empty {
        path: path.to_path_buf(),
    })?;
    replayed.torn_tail = (complete < bytes.len()).then(|| TornTail {
        line: lines.saturating_add(1),
        bytes: bytes.len().saturating_sub(complete) as u64,
    });
    Ok(replayed)
}

impl Replayed {
    fn apply(&mut self, event: &Event) {
        let mut set = |step: &str, state: StepState| {
            self.steps.insert(step.to_string(), state);
        };
        match event {
            Event::SessionStart(_) | Event::OutputTruncated { .. } => {}
            Event::Output { step, stream, text } => self
                .outputs
                .entry(step.clone())
                .or_default()
                .push((*stream, text.clone())),
            Event::Verified { step, reason, .. } => set(
                step,
                StepState::Verified {
                    reason: reason.clone(),
                },
            ),
            Event::Complete { .. } => self.completed = true,
            Event::Approval { step, approver, .. } => {
                self.approvals.insert(step.clone(), approver.clone());
            }
            Event::Note { operator, text } => {
                self.notes.push((operator.clone(), text.clone()));
            }
            Event::ApprovalRefused { .. }
            | Event::Attached { .. }
            | Event::Detached { .. }
            | Event::Handover { .. }
            | Event::AttachRefused { .. }
            | Event::Sample { .. }
            | Event::ServerVersion { .. }
            | Event::Probe(_) => {}
            Event::SessionResume {
                operator,
                host,
                pid,
            } => {
                self.resumes.push((operator.clone(), host.clone(), *pid));
                self.ended = None;
            }
            Event::Gate { step, .. } | Event::Confirm { step, .. } => self.mention(step),
            Event::Override {
                step,
                justification,
                failed_gates,
            } => {
                self.mention(step);
                self.overrides.push(Override {
                    step: step.clone(),
                    justification: justification.clone(),
                    failed_gates: failed_gates.clone(),
                });
            }
            Event::Skip { step, reason } => set(
                step,
                StepState::Skipped {
                    reason: reason.clone(),
                },
            ),
            Event::StepStart {
                step,
                attempt,
                target_servers,
                rendered,
                primary,
            } => {
                set(step, StepState::Running { attempt: *attempt });
                self.outputs.remove(step);
                let started = self
                    .started_steps
                    .entry(step.clone())
                    .or_insert_with(|| Started {
                        primary: primary.clone(),
                        servers: target_servers.clone(),
                        rendered: String::new(),
                        attempts: 0,
                    });
                started.rendered = rendered.clone();
                started.attempts = started.attempts.max(*attempt);
            }
            Event::StepEnd {
                step,
                attempt,
                outcome,
                detail,
                exit_code,
                ..
            } => {
                self.details.insert(step.clone(), detail.clone());
                let state = match outcome {
                    Outcome::Succeeded => StepState::Succeeded,
                    Outcome::Unknown => StepState::Unknown { attempt: *attempt },
                    _ => StepState::Failed {
                        outcome: *outcome,
                        detail: detail.clone(),
                        exit_code: *exit_code,
                    },
                };
                set(step, state);
            }
            Event::ManualDone { step, .. } => set(step, StepState::ManualDone),
            Event::Roles { primary, replicas } => {
                self.roles = Some(Roles {
                    primary: primary.clone(),
                    replicas: replicas.clone(),
                });
            }
            Event::SessionEnd { reason } => self.ended = Some(reason.clone()),
        }
    }

    fn mention(&mut self, step: &str) {
        self.steps
            .entry(step.to_string())
            .or_insert(StepState::Pending);
    }
}

/// The `"event"` name of an event, for messages.
fn kind(event: &Event) -> String {
    serde_json::to_value(event)
        .ok()
        .and_then(|v| v.get("event").and_then(|e| e.as_str()).map(str::to_string))
        .unwrap_or_else(|| "an unknown event".to_string())
}

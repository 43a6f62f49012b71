//! The vocabulary of a run: where a step stands, what the operator asks, what executors
//! report, what the runtime must do, and why a step cannot run now.

use std::time::Instant;

/// Where a step stands. "Ready" and "blocked" are not states: they are derived from the
/// gates and the steps before, every time they are shown.
#[derive(Clone, Debug, PartialEq)]
pub enum StepState {
    Pending,
    Running {
        attempt: u32,
        started: Instant,
        /// The latest progress line (a wait's "3 transactions behind").
        progress: Option<String>,
    },
    Succeeded {
        detail: String,
    },
    Failed {
        detail: String,
    },
    Skipped {
        reason: String,
    },
    /// The process died while the step ran: it may or may not have happened. Never re-run
    /// without a fresh confirmation, and then only with what was sent the first time.
    Unknown,
}

impl StepState {
    pub fn is_finished(&self) -> bool {
        matches!(
            self,
            StepState::Succeeded { .. } | StepState::Skipped { .. }
        )
    }
}

/// What a step was resolved to when it first started. It never changes after that: a
/// retry, a re-run after a crash and the detail pane all use it, so a step keeps meaning
/// what it meant when the operator first confirmed it, whoever holds the roles now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// Who was primary when the step first started (`primary`/`replica` resolve from it).
    pub primary: Option<String>,
    /// The servers the step acts on.
    pub servers: Vec<String>,
    /// What the latest attempt sent, masked (as journaled in its `step_start`).
    pub sent: Option<String>,
}

/// What the operator asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Run the step (already confirmed; `typed` is the server name of a destructive step).
    Run {
        step: String,
        typed: Option<String>,
        justification: Option<String>,
    },
    Skip {
        step: String,
        reason: String,
    },
    /// Mark a manual or note step done.
    Done {
        step: String,
    },
    /// A step whose outcome is unknown was checked by hand and found done.
    Verified {
        step: String,
        reason: String,
    },
    Cancel {
        step: String,
    },
}

/// What an executor (or the state machine, for waits and checks) reports back.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Succeeded(String),
    Failed {
        detail: String,
        code: Option<FailCode>,
    },
    Cancelled(String),
    TimedOut(String),
    /// Nobody can say: what was asked may or may not have happened (MaxScale went away
    /// while a switchover was pending). Verify before anything else.
    Unknown(String),
}

/// What a failure says about itself: a command's exit status or the server's error number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailCode {
    Exit(i32),
    Sql(u16),
}

impl Outcome {
    /// A failure with no code of its own.
    pub fn failed(detail: impl Into<String>) -> Self {
        Outcome::Failed {
            detail: detail.into(),
            code: None,
        }
    }

    pub fn detail(&self) -> &str {
        match self {
            Outcome::Succeeded(d)
            | Outcome::Failed { detail: d, .. }
            | Outcome::Cancelled(d)
            | Outcome::TimedOut(d)
            | Outcome::Unknown(d) => d,
        }
    }

    pub fn succeeded(&self) -> bool {
        matches!(self, Outcome::Succeeded(_))
    }
}

/// What the runtime must do.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Start the executor of a step on these servers.
    Start {
        step: String,
        attempt: u32,
        servers: Vec<String>,
    },
    Cancel {
        step: String,
    },
    /// Record a decision or a result (the runtime journals it).
    Record(Record),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    Confirmed {
        step: String,
        typed: Option<String>,
    },
    Override {
        step: String,
        justification: String,
        failed: Vec<String>,
    },
    Skipped {
        step: String,
        reason: String,
    },
    Verified {
        step: String,
        reason: String,
    },
    Ended {
        step: String,
        attempt: u32,
        outcome: Outcome,
    },
    /// Every step is finished: the runbook is complete.
    Complete,
}

/// Why a step cannot run now.
#[derive(Clone, Debug, PartialEq)]
pub enum Refusal {
    Earlier(String),
    Gates(Vec<String>),
    AlreadyRunning(String),
    AlreadyDone,
    TypedNameMismatch {
        expected: String,
    },
    Target(String),
    Unknown(String),
    /// Only a step whose outcome is unknown can be marked verified done.
    NotUnknown,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Earlier(s) => write!(f, "finish step {s} first: it comes before this one"),
            Refusal::Gates(g) => write!(f, "gate does not hold: {}", g.join("; ")),
            Refusal::AlreadyRunning(s) => write!(f, "step {s} is running"),
            Refusal::AlreadyDone => write!(f, "the step is already finished"),
            Refusal::TypedNameMismatch { expected } => {
                write!(
                    f,
                    "the typed name does not match `{expected}`: nothing was run"
                )
            }
            Refusal::Target(e) => write!(f, "target: {e}"),
            Refusal::Unknown(s) => write!(f, "no step `{s}`"),
            Refusal::NotUnknown => {
                write!(
                    f,
                    "only a step whose outcome is unknown is marked verified done"
                )
            }
        }
    }
}

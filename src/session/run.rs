//! The run of one runbook as a state machine: which step may run now, what the operator
//! decided, and what must happen next. Pure: inputs in, effects out; the runtime performs
//! the effects (start an executor, write the journal) and feeds results back as inputs.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::runbook::eval::{Evaluation, FactSource, evaluate};
use crate::runbook::{Action, Runbook, Step};

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
    /// without a fresh confirmation.
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
    Cancel {
        step: String,
    },
}

/// What an executor reports back.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Succeeded(String),
    Failed(String),
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
    Ended {
        step: String,
        attempt: u32,
        outcome: Outcome,
    },
}

/// Why a step cannot run now.
#[derive(Clone, Debug, PartialEq)]
pub enum Refusal {
    Earlier(String),
    Gates(Vec<String>),
    AlreadyRunning(String),
    AlreadyDone,
    TypedNameMismatch { expected: String },
    Target(String),
    Unknown(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Earlier(s) => write!(f, "step {s} before it is not finished"),
            Refusal::Gates(g) => write!(f, "gate does not hold: {}", g.join("; ")),
            Refusal::AlreadyRunning(s) => write!(f, "step {s} is running"),
            Refusal::AlreadyDone => write!(f, "the step is already finished"),
            Refusal::TypedNameMismatch { expected } => {
                write!(f, "the typed name does not match `{expected}`")
            }
            Refusal::Target(e) => write!(f, "target: {e}"),
            Refusal::Unknown(s) => write!(f, "no step `{s}`"),
        }
    }
}

pub struct Run {
    pub runbook: Runbook,
    pub states: HashMap<String, StepState>,
    attempts: HashMap<String, u32>,
}

impl Run {
    pub fn new(runbook: Runbook) -> Self {
        let states = runbook
            .steps()
            .map(|(_, s)| (s.id.value.clone(), StepState::Pending))
            .collect();
        Self {
            runbook,
            states,
            attempts: HashMap::new(),
        }
    }

    /// Puts back what a journal says about a step (resume after a crash or a quit).
    pub fn restore(&mut self, id: &str, state: StepState, attempts: u32) {
        if self.states.contains_key(id) {
            self.states.insert(id.to_string(), state);
            self.attempts.insert(id.to_string(), attempts);
        }
    }

    pub fn state(&self, id: &str) -> &StepState {
        self.states.get(id).unwrap_or(&StepState::Pending)
    }

    pub fn succeeded(&self) -> HashSet<String> {
        self.states
            .iter()
            .filter(|(_, s)| matches!(s, StepState::Succeeded { .. }))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// The first step not finished: where the operator is.
    pub fn current(&self) -> Option<&Step> {
        self.runbook
            .steps()
            .map(|(_, s)| s)
            .find(|s| !self.state(&s.id.value).is_finished())
    }

    pub fn running(&self) -> Option<&str> {
        self.states
            .iter()
            .find(|(_, s)| matches!(s, StepState::Running { .. }))
            .map(|(id, _)| id.as_str())
    }

    /// Every gate of a step, evaluated now.
    pub fn gates(&self, step: &Step, facts: &dyn FactSource) -> Vec<(String, Evaluation)> {
        step.gates
            .iter()
            .map(|g| (g.to_string(), evaluate(g, facts)))
            .collect()
    }

    /// Whether a step may run now, and if not, why.
    pub fn may_run(&self, step: &Step, facts: &dyn FactSource) -> Result<(), Refusal> {
        if let Some(r) = self.running() {
            return Err(Refusal::AlreadyRunning(r.to_string()));
        }
        if self.state(&step.id.value).is_finished() {
            return Err(Refusal::AlreadyDone);
        }
        for (_, s) in self.runbook.steps() {
            if s.id.value == step.id.value {
                break;
            }
            if !self.state(&s.id.value).is_finished() {
                return Err(Refusal::Earlier(s.id.value.clone()));
            }
        }
        let failed: Vec<String> = self
            .gates(step, facts)
            .into_iter()
            .filter(|(_, e)| !e.holds)
            .map(|(g, _)| g)
            .collect();
        if failed.is_empty() {
            Ok(())
        } else {
            Err(Refusal::Gates(failed))
        }
    }

    /// The servers a step acts on now.
    pub fn servers(&self, step: &Step, facts: &dyn FactSource) -> Result<Vec<String>, Refusal> {
        match &step.target {
            Some(t) => facts
                .resolve(&t.value)
                .map_err(|e| Refusal::Target(e.to_string())),
            None => Ok(Vec::new()),
        }
    }

    /// Applies an operator command. A refusal changes nothing.
    pub fn command(
        &mut self,
        cmd: Command,
        facts: &dyn FactSource,
        now: Instant,
    ) -> Result<Vec<Effect>, Refusal> {
        match cmd {
            Command::Run {
                step,
                typed,
                justification,
            } => self.start(&step, typed, justification, facts, now),
            Command::Skip { step, reason } => {
                self.step(&step)?;
                if matches!(self.state(&step), StepState::Running { .. }) {
                    return Err(Refusal::AlreadyRunning(step));
                }
                self.states.insert(
                    step.clone(),
                    StepState::Skipped {
                        reason: reason.clone(),
                    },
                );
                Ok(vec![Effect::Record(Record::Skipped { step, reason })])
            }
            Command::Done { step } => {
                let s = self.step(&step)?;
                if !matches!(s.action, Action::Manual { .. } | Action::Note { .. }) {
                    return Err(Refusal::Target(
                        "only manual and note steps are marked done".into(),
                    ));
                }
                let s = s.clone();
                self.may_run(&s, facts)?;
                let attempt = self.next_attempt(&step);
                Ok(self.finish(
                    &step,
                    attempt,
                    Outcome::Succeeded("done by the operator".into()),
                ))
            }
            Command::Cancel { step } => match self.state(&step) {
                StepState::Running { .. } => Ok(vec![Effect::Cancel { step }]),
                _ => Err(Refusal::Target("the step is not running".into())),
            },
        }
    }

    fn step(&self, id: &str) -> Result<&Step, Refusal> {
        self.runbook
            .step(id)
            .ok_or_else(|| Refusal::Unknown(id.to_string()))
    }

    fn next_attempt(&mut self, id: &str) -> u32 {
        let n = self.attempts.entry(id.to_string()).or_insert(0);
        *n += 1;
        *n
    }

    fn start(
        &mut self,
        id: &str,
        typed: Option<String>,
        justification: Option<String>,
        facts: &dyn FactSource,
        now: Instant,
    ) -> Result<Vec<Effect>, Refusal> {
        let step = self.step(id)?.clone();
        let mut effects = Vec::new();
        match (self.may_run(&step, facts), justification) {
            (Ok(()), _) => {}
            // An override names its reason; it is journaled as such. Order and running
            // steps cannot be overridden, only gates.
            (Err(Refusal::Gates(failed)), Some(j)) if !j.trim().is_empty() => {
                effects.push(Effect::Record(Record::Override {
                    step: id.to_string(),
                    justification: j,
                    failed,
                }));
            }
            (Err(r), _) => return Err(r),
        }
        let servers = self.servers(&step, facts)?;
        if step.destructive {
            let expected = servers.join(",");
            if typed.as_deref().map(str::trim) != Some(expected.as_str()) {
                return Err(Refusal::TypedNameMismatch { expected });
            }
        }
        let attempt = self.next_attempt(id);
        effects.push(Effect::Record(Record::Confirmed {
            step: id.to_string(),
            typed,
        }));
        self.states.insert(
            id.to_string(),
            StepState::Running {
                attempt,
                started: now,
                progress: None,
            },
        );
        effects.push(Effect::Start {
            step: id.to_string(),
            attempt,
            servers,
        });
        Ok(effects)
    }

    /// An executor's result for a step attempt. Stale results (an older attempt) are dropped.
    pub fn finished(&mut self, id: &str, attempt: u32, outcome: Outcome) -> Vec<Effect> {
        match self.state(id) {
            StepState::Running { attempt: a, .. } if *a == attempt => {
                self.finish(id, attempt, outcome)
            }
            _ => Vec::new(),
        }
    }

    fn finish(&mut self, id: &str, attempt: u32, outcome: Outcome) -> Vec<Effect> {
        let state = match &outcome {
            Outcome::Succeeded(d) => StepState::Succeeded { detail: d.clone() },
            Outcome::Failed(d) => StepState::Failed { detail: d.clone() },
        };
        self.states.insert(id.to_string(), state);
        vec![Effect::Record(Record::Ended {
            step: id.to_string(),
            attempt,
            outcome,
        })]
    }

    pub fn progress(&mut self, id: &str, line: String) {
        if let Some(StepState::Running { progress, .. }) = self.states.get_mut(id) {
            *progress = Some(line);
        }
    }

    /// Steps that live in the state machine itself: a running `wait` ends when its
    /// condition holds or its timeout passes; a `check` decides as soon as it can.
    ///
    /// `fresh_since` is when the oldest of the facts was observed: a wait or check only
    /// judges facts observed after it started, or a write made by the step before (still
    /// missing from an older snapshot) could make "caught up" hold too early.
    pub fn poll_conditions(
        &mut self,
        facts: &dyn FactSource,
        now: Instant,
        fresh_since: Instant,
    ) -> Vec<Effect> {
        let Some(id) = self.running().map(str::to_string) else {
            return Vec::new();
        };
        let Some(step) = self.runbook.step(&id).cloned() else {
            return Vec::new();
        };
        let StepState::Running {
            attempt, started, ..
        } = self.state(&id).clone()
        else {
            return Vec::new();
        };
        let elapsed = now.saturating_duration_since(started);
        if fresh_since <= started && elapsed < step.timeout {
            return Vec::new();
        }
        match &step.action {
            Action::Wait { until, .. } => {
                let e = evaluate(until, facts);
                if e.holds {
                    return self.finish(&id, attempt, Outcome::Succeeded(e.observed.join("; ")));
                }
                if elapsed >= step.timeout {
                    let detail = format!(
                        "timed out after {}: {}",
                        fmt_secs(step.timeout),
                        e.observed.join("; ")
                    );
                    return self.finish(&id, attempt, Outcome::Failed(detail));
                }
                self.progress(
                    &id,
                    format!("{} · {}", e.observed.join("; "), fmt_secs(elapsed)),
                );
                Vec::new()
            }
            Action::Check { condition } => {
                let e = evaluate(condition, facts);
                let detail = e.observed.join("; ");
                let outcome = if e.holds {
                    Outcome::Succeeded(detail)
                } else {
                    Outcome::Failed(detail)
                };
                self.finish(&id, attempt, outcome)
            }
            _ => Vec::new(),
        }
    }
}

fn fmt_secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

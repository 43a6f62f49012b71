//! The run of one runbook as a state machine: which step may run now, what the operator
//! decided, and what must happen next. Pure: inputs in, effects out; the runtime performs
//! the effects (start an executor, write the journal) and feeds results back as inputs.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::runbook::eval::{Evaluation, FactSource, evaluate};
use crate::runbook::model::MaxscaleAction;
use crate::runbook::{Action, Runbook, Step};

mod types;

pub use types::{Command, Effect, FailCode, Outcome, Record, Refusal, Resolved, StepState};

pub struct Run {
    pub runbook: Runbook,
    pub states: HashMap<String, StepState>,
    attempts: HashMap<String, u32>,
    /// What each started step was resolved to (see [`Resolved`]).
    pub resolved: HashMap<String, Resolved>,
    /// Steps run or accepted against their gates, with the justification.
    pub overrides: BTreeMap<String, String>,
    /// Steps of unknown outcome the operator verified done by hand, with the reason.
    pub verified: BTreeMap<String, String>,
    /// The run has been recorded complete (every step finished).
    pub completed: bool,
    /// Four-eyes steps approved, by whom.
    pub approved: BTreeMap<String, String>,
}

/// The pseudo-gate of a step that needs a second operator's approval.
pub const APPROVAL_GATE: &str = "approved by a second operator";

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
            resolved: HashMap::new(),
            overrides: BTreeMap::new(),
            verified: BTreeMap::new(),
            completed: false,
            approved: BTreeMap::new(),
        }
    }

    /// How many attempts a step has had.
    pub fn attempts(&self, id: &str) -> u32 {
        self.attempts.get(id).copied().unwrap_or(0)
    }

    /// Every step finished (succeeded or skipped).
    pub fn is_complete(&self) -> bool {
        self.runbook
            .steps()
            .all(|(_, s)| self.state(&s.id.value).is_finished())
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
        let mut failed: Vec<String> = self
            .gates(step, facts)
            .into_iter()
            .filter(|(_, e)| !e.holds)
            .map(|(g, _)| g)
            .collect();
        if step.second_approval && !self.approved.contains_key(&step.id.value) {
            failed.push(APPROVAL_GATE.to_string());
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(Refusal::Gates(failed))
        }
    }

    /// The servers a step acts on: what it was resolved to when it first started, or, for
    /// a step never started, what its target names now.
    pub fn servers(&self, step: &Step, facts: &dyn FactSource) -> Result<Vec<String>, Refusal> {
        if let Some(r) = self.resolved.get(&step.id.value) {
            return Ok(r.servers.clone());
        }
        match &step.target {
            Some(t) => facts
                .resolve(&t.value)
                .map_err(|e| Refusal::Target(e.to_string())),
            None => Ok(Vec::new()),
        }
    }

    /// What the operator types to confirm a destructive step: its target servers; for a
    /// MaxScale step, the server it acts on (a switchover: the server writes move to).
    pub fn confirm_name(&self, step: &Step, facts: &dyn FactSource) -> Result<String, Refusal> {
        if let Action::Maxscale(m) = &step.action {
            let subject = match m {
                MaxscaleAction::Set { server, .. } | MaxscaleAction::Clear { server, .. } => server,
                MaxscaleAction::Switchover { new_primary, .. } => new_primary,
            };
            let one = facts
                .resolve(&subject.value)
                .map_err(|e| Refusal::Target(e.to_string()))?;
            return Ok(one.join(","));
        }
        let servers = self.servers(step, facts)?;
        if servers.is_empty() {
            Ok(step.id.value.clone())
        } else {
            Ok(servers.join(","))
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
                let mut effects = vec![Effect::Record(Record::Skipped { step, reason })];
                effects.extend(self.complete_if_done());
                Ok(effects)
            }
            Command::Verified { step, reason } => {
                self.step(&step)?;
                if self.state(&step) != &StepState::Unknown {
                    return Err(Refusal::NotUnknown);
                }
                self.states.insert(
                    step.clone(),
                    StepState::Succeeded {
                        detail: format!("verified done by the operator: {reason}"),
                    },
                );
                self.verified.insert(step.clone(), reason.clone());
                let mut effects = vec![Effect::Record(Record::Verified { step, reason })];
                effects.extend(self.complete_if_done());
                Ok(effects)
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
            Command::Cancel { step } => match self.state(&step).clone() {
                // Waits and checks run inside the state machine: they end here.
                StepState::Running { attempt, .. }
                    if matches!(
                        self.step(&step)?.action,
                        Action::Wait { .. } | Action::Check { .. }
                    ) =>
                {
                    Ok(self.finish(
                        &step,
                        attempt,
                        Outcome::Cancelled("cancelled by the operator".into()),
                    ))
                }
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
        *n = n.saturating_add(1);
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
        if let (Action::Check { condition }, StepState::Failed { .. }, Some(j)) =
            (&step.action, self.state(id), &justification)
            && !j.trim().is_empty()
        {
            return self.accept_failed_check(id, condition.to_string(), j.clone());
        }
        match (self.may_run(&step, facts), justification) {
            (Ok(()), Some(j)) if !j.trim().is_empty() => {
                // Nothing to override now (the gates hold again): still journal the
                // operator's words, as they meant them.
                self.overrides.insert(id.to_string(), j.clone());
                effects.push(Effect::Record(Record::Override {
                    step: id.to_string(),
                    justification: j,
                    failed: Vec::new(),
                }));
            }
            (Ok(()), _) => {}
            // An override names its reason; it is journaled as such. Order and running
            // steps cannot be overridden, only gates.
            (Err(Refusal::Gates(failed)), Some(j)) if !j.trim().is_empty() => {
                self.overrides.insert(id.to_string(), j.clone());
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
            let expected = self.confirm_name(&step, facts)?;
            if typed.as_deref().map(str::trim) != Some(expected.as_str()) {
                return Err(Refusal::TypedNameMismatch { expected });
            }
        }
        let attempt = self.next_attempt(id);
        // A manual step or a note has nothing to run: taken past its gates with a
        // justification, it is done by the operator then and there (as `Done` would, had its
        // gates held), never left running with no executor to end it.
        if matches!(step.action, Action::Manual { .. } | Action::Note { .. }) {
            effects.extend(self.finish(
                id,
                attempt,
                Outcome::Succeeded("done by the operator".into()),
            ));
            return Ok(effects);
        }
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
            // As after a crash mid-step: verified by hand or re-run with a fresh confirmation.
            Outcome::Unknown(_) => StepState::Unknown,
            other => StepState::Failed {
                detail: other.detail().to_string(),
            },
        };
        self.states.insert(id.to_string(), state);
        let mut effects = vec![Effect::Record(Record::Ended {
            step: id.to_string(),
            attempt,
            outcome,
        })];
        effects.extend(self.complete_if_done());
        effects
    }

    /// A failed `check` accepted with a justification: the operator goes on knowing the
    /// condition does not hold. Journaled as an override, then as the step's end.
    fn accept_failed_check(
        &mut self,
        id: &str,
        condition: String,
        justification: String,
    ) -> Result<Vec<Effect>, Refusal> {
        self.overrides.insert(id.to_string(), justification.clone());
        let attempt = self.attempts(id).max(1);
        let mut effects = vec![Effect::Record(Record::Override {
            step: id.to_string(),
            justification: justification.clone(),
            failed: vec![condition],
        })];
        effects.extend(self.finish(
            id,
            attempt,
            Outcome::Succeeded(format!("check overridden: {justification}")),
        ));
        Ok(effects)
    }

    /// `Record::Complete` once, when the last step finishes.
    fn complete_if_done(&mut self) -> Vec<Effect> {
        if self.completed || !self.is_complete() {
            return Vec::new();
        }
        self.completed = true;
        vec![Effect::Record(Record::Complete)]
    }

    /// A second operator's approval of a four-eyes step (who they are is checked by the
    /// driver, which knows who drives).
    pub fn approve(&mut self, id: &str, approver: &str) -> Result<(), Refusal> {
        let step = self.step(id)?;
        if !step.second_approval {
            return Err(Refusal::Target(format!("{id} needs no approval")));
        }
        if self.state(id).is_finished() {
            return Err(Refusal::AlreadyDone);
        }
        self.approved.insert(id.to_string(), approver.to_string());
        Ok(())
    }

    /// A step whose start could not be journaled: nothing was sent, so it did not start.
    pub fn not_started(&mut self, id: &str, why: &str) {
        if matches!(self.state(id), StepState::Running { .. }) {
            self.states.insert(
                id.to_string(),
                StepState::Failed {
                    detail: why.to_string(),
                },
            );
        }
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
                    return self.finish(&id, attempt, Outcome::TimedOut(detail));
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
                    Outcome::failed(detail)
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

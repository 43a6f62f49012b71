//! Building a [`Report`] from a replayed journal: one walk over its events, in order.
//!
//! Step states come from [`replay`](crate::session::replay): the report only adds what
//! replay does not keep, attempt by attempt. An attempt without its `step_end` is
//! [`AttemptEnd::Crashed`] when the session was resumed or ended after it (its process
//! died while it ran) and [`AttemptEnd::Open`] when the journal ends first.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::{
    Approval, Attempt, AttemptEnd, Gate, LagData, Note, Operators, Report, SessionOutcome, Stamped,
    StepReport, VersionRow,
};
use crate::session::clock::parse_rfc3339;
use crate::session::journal::{Event, Record};
use crate::session::record::JournalSection;
use crate::session::replay::Replayed;

pub(super) fn build(path: &Path, replayed: &Replayed) -> Report {
    let header = replayed.header.clone();
    let runbook = super::runbook::runbook_of(path, &header.runbook_path, &header.runbook_sha256);
    let mut walk = Walk {
        operators: Operators {
            started_by: header.operator.clone(),
            host: header.host.clone(),
            ..Operators::default()
        },
        ..Walk::default()
    };
    for record in &replayed.events {
        walk.event(record);
    }
    walk.end();

    let end = replayed
        .events
        .last()
        .map_or_else(|| replayed.started.clone(), |r| r.ts.clone());
    let duration = match (parse_rfc3339(&replayed.started), parse_rfc3339(&end)) {
        (Some(a), Some(b)) => b.duration_since(a).unwrap_or_default(),
        _ => Default::default(),
    };
    let outcome = match (&replayed.completed_at, &replayed.ended) {
        (Some(at), _) => SessionOutcome::Complete {
            operator: walk.completed_by.clone(),
            at: at.clone(),
        },
        (None, Some(reason)) => SessionOutcome::Ended {
            reason: reason.clone(),
        },
        (None, None) => SessionOutcome::Unfinished,
    };

    let mut steps = walk.steps;
    for step in &mut steps {
        step.state = replayed.state(&step.id);
    }
    let mut not_reached = Vec::new();
    if let Some((info, rb)) = &runbook {
        super::runbook::annotate(&mut steps, info, rb);
        not_reached = rb
            .steps()
            .map(|(_, s)| s.id.value.clone())
            .filter(|id| !walk.index.contains_key(id))
            .collect();
    }
    let lag = LagData::from_journal(
        &replayed.events,
        &replayed.started,
        &steps,
        runbook.as_ref().map(|(i, _)| i),
    );
    let section = JournalSection {
        path: &path.display().to_string(),
        replayed,
        runbook_sha256: &header.runbook_sha256,
    };
    let record = section.entries();

    Report {
        journal: path.to_path_buf(),
        runbook: runbook.map(|(info, _)| info),
        start: replayed.started.clone(),
        end,
        duration,
        outcome,
        operators: walk.operators,
        steps,
        not_reached,
        probes: walk.probes,
        versions: walk.versions,
        lag,
        notes: walk.notes,
        record,
        torn_tail: replayed.torn_tail.clone(),
        header,
    }
}

/// Everything gathered in one pass over the events.
#[derive(Default)]
struct Walk {
    operators: Operators,
    steps: Vec<StepReport>,
    /// Step id → its index in `steps`.
    index: HashMap<String, usize>,
    /// Gates evaluated for a step, waiting for its next start.
    gates: HashMap<String, Vec<Gate>>,
    /// Step id → the index of its attempt that has no `step_end` yet.
    open: BTreeMap<String, usize>,
    probes: Vec<Stamped<crate::session::journal::ProbeReport>>,
    versions: Vec<VersionRow>,
    notes: Vec<Note>,
    completed_by: String,
}

fn stamped<T>(r: &Record, value: T) -> Stamped<T> {
    Stamped {
        ts: r.ts.clone(),
        value,
    }
}

impl Walk {
    fn step(&mut self, id: &str) -> &mut StepReport {
        let next = self.steps.len();
        let i = *self.index.entry(id.to_string()).or_insert(next);
        if i == next {
            self.steps.push(StepReport {
                id: id.to_string(),
                title: None,
                phase: None,
                kind: None,
                state: crate::session::replay::StepState::Pending,
                confirmations: Vec::new(),
                approvals: Vec::new(),
                refusals: Vec::new(),
                overrides: Vec::new(),
                skip: None,
                manual_done: None,
                verified: None,
                attempts: Vec::new(),
                gates_unstarted: Vec::new(),
            });
        }
        &mut self.steps[i]
    }

    /// The attempt of `step` that output and probes belong to: its open one, else its last.
    fn attempt(&mut self, step: &str, number: Option<u32>) -> Option<&mut Attempt> {
        let open = self.open.get(step).copied();
        let s = self.step(step);
        match number {
            Some(n) => s.attempts.iter_mut().rev().find(|a| a.attempt == n),
            None => match open {
                Some(i) => s.attempts.get_mut(i),
                None => s.attempts.last_mut(),
            },
        }
    }

    fn event(&mut self, r: &Record) {
        match &r.event {
            Event::Gate {
                step,
                condition,
                holds,
                observed,
            } => {
                self.step(step);
                self.gates.entry(step.clone()).or_default().push(Gate {
                    condition: condition.clone(),
                    holds: *holds,
                    observed: observed.clone(),
                });
            }
            Event::Confirm {
                step,
                operator,
                typed,
            } => {
                self.operators.confirmed.insert(operator.clone());
                let c = stamped(r, (operator.clone(), typed.clone()));
                self.step(step).confirmations.push(c);
            }
            Event::Override {
                step,
                justification,
                failed_gates,
            } => {
                let o = stamped(r, (justification.clone(), failed_gates.clone()));
                self.step(step).overrides.push(o);
            }
            Event::Skip { step, reason } => self.step(step).skip = Some(stamped(r, reason.clone())),
            Event::StepStart {
                step,
                attempt,
                target_servers,
                rendered,
                ..
            } => self.start(r, step, *attempt, target_servers, rendered),
            Event::Output { step, text, .. } => {
                if let Some(a) = self.attempt(step, None) {
                    a.output.push_str(text);
                }
            }
            Event::OutputTruncated {
                step,
                dropped_bytes,
            } => {
                if let Some(a) = self.attempt(step, None) {
                    a.dropped_bytes = a.dropped_bytes.saturating_add(*dropped_bytes);
                }
            }
            Event::StepEnd {
                step,
                attempt,
                outcome,
                detail,
                exit_code,
                sql_errno,
            } => {
                let i = self.open.remove(step);
                let s = self.step(step);
                let a = match i {
                    Some(i) if s.attempts.get(i).is_some_and(|a| a.attempt == *attempt) => {
                        s.attempts.get_mut(i)
                    }
                    _ => s.attempts.iter_mut().rev().find(|a| a.attempt == *attempt),
                };
                if let Some(a) = a {
                    a.ended = Some(r.ts.clone());
                    a.duration = between(&a.started, &r.ts);
                    a.end = AttemptEnd::Ended {
                        outcome: *outcome,
                        detail: detail.clone(),
                        exit_code: *exit_code,
                        sql_errno: *sql_errno,
                    };
                }
            }
            Event::ManualDone { step, operator } => {
                self.step(step).manual_done = Some(stamped(r, operator.clone()));
            }
            Event::Verified {
                step,
                operator,
                reason,
            } => {
                self.step(step).verified = Some(stamped(r, (operator.clone(), reason.clone())));
            }
            Event::Approval {
                step,
                driver,
                approver,
                typed,
            } => {
                self.operators.approvers.insert(approver.clone());
                let a = Approval {
                    approver: approver.clone(),
                    driver: driver.clone(),
                    typed: typed.clone(),
                };
                self.step(step).approvals.push(stamped(r, a));
            }
            Event::ApprovalRefused {
                step,
                approver,
                reason,
            } => {
                let refusal = stamped(r, (approver.clone(), reason.clone()));
                self.step(step).refusals.push(refusal);
            }
            Event::Probe(p) => {
                if let Some(a) = self.attempt(&p.step, Some(p.attempt)) {
                    a.probe = Some(p.clone());
                }
                self.probes.push(stamped(r, p.clone()));
            }
            Event::SessionResume { operator, host, .. } => {
                self.crashed();
                let resume = stamped(r, (operator.clone(), host.clone()));
                self.operators.resumes.push(resume);
            }
            Event::Handover { from, to } => {
                let h = stamped(r, (from.clone(), to.clone()));
                self.operators.handovers.push(h);
            }
            Event::Attached { operator, .. } => {
                self.operators.attached.insert(operator.clone());
            }
            Event::Note { operator, text } => self.notes.push(Note {
                ts: r.ts.clone(),
                operator: operator.clone(),
                text: text.clone(),
            }),
            Event::ServerVersion { server, version } => {
                match self.versions.iter_mut().find(|v| &v.server == server) {
                    Some(row) => row.after = version.clone(),
                    None => self.versions.push(VersionRow {
                        server: server.clone(),
                        before: version.clone(),
                        after: version.clone(),
                    }),
                }
            }
            Event::Complete { operator, .. } => self.completed_by = operator.clone(),
            // The process ended (a crash hook journals this too): what ran, died with it.
            Event::SessionEnd { .. } => self.crashed(),
            Event::SessionStart(_)
            | Event::Detached { .. }
            | Event::AttachRefused { .. }
            | Event::Roles { .. }
            | Event::Sample { .. } => {}
        }
    }

    fn start(&mut self, r: &Record, step: &str, attempt: u32, servers: &[String], rendered: &str) {
        // A start while an earlier attempt is still open: that one never ended.
        if let Some(i) = self.open.remove(step)
            && let Some(a) = self.step(step).attempts.get_mut(i)
        {
            a.end = AttemptEnd::Crashed;
        }
        let gates = self.gates.remove(step).unwrap_or_default();
        let s = self.step(step);
        s.attempts.push(Attempt {
            attempt,
            started: r.ts.clone(),
            ended: None,
            duration: None,
            end: AttemptEnd::Open,
            servers: servers.to_vec(),
            rendered: rendered.to_string(),
            gates,
            output: String::new(),
            dropped_bytes: 0,
            probe: None,
        });
        let i = s.attempts.len().saturating_sub(1);
        self.open.insert(step.to_string(), i);
    }

    /// A `session_resume` or `session_end`: every attempt still open died with the
    /// process before it.
    fn crashed(&mut self) {
        for (step, i) in std::mem::take(&mut self.open) {
            if let Some(a) = self.step(&step).attempts.get_mut(i) {
                a.end = AttemptEnd::Crashed;
            }
        }
    }

    /// The end of the journal: gates that led to no start stay with their step.
    fn end(&mut self) {
        for (step, gates) in std::mem::take(&mut self.gates) {
            self.step(&step).gates_unstarted = gates;
        }
    }
}

/// The time from one journal timestamp to another.
pub(super) fn between(from: &str, to: &str) -> Option<std::time::Duration> {
    let (a, b) = (parse_rfc3339(from)?, parse_rfc3339(to)?);
    b.duration_since(a).ok()
}

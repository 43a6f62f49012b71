//! The end of a run: how long it took, how each phase ended, and every step that did not
//! simply succeed (skipped, overridden, retried, verified by hand), with the operator's
//! words. Shown on the summary screen and journaled as the `complete` event.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::session::journal::Event;
use crate::session::run::{Run, StepState};

/// How a phase ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PhaseEnd {
    /// Every step succeeded as planned.
    Clean,
    /// Finished, with steps overridden or verified by hand (none skipped).
    Deviated,
    /// Finished, with skipped steps.
    Skipped,
    /// Not finished.
    Open,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhaseSummary {
    pub title: String,
    pub end: PhaseEnd,
    pub finished: usize,
    pub steps: usize,
    pub skipped: usize,
    pub deviated: usize,
}

/// A step that did not simply succeed, with why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Deviation {
    pub step: String,
    pub what: String,
    pub why: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub duration: Duration,
    pub steps: usize,
    pub phases: Vec<PhaseSummary>,
    pub skipped: Vec<Deviation>,
    pub overridden: Vec<Deviation>,
    pub retried: Vec<Deviation>,
    pub verified: Vec<Deviation>,
}

impl Summary {
    pub fn of(run: &Run, began: SystemTime, now: SystemTime) -> Self {
        let mut summary = Summary {
            duration: now.duration_since(began).unwrap_or_default(),
            steps: run.runbook.steps().count(),
            phases: Vec::new(),
            skipped: Vec::new(),
            overridden: Vec::new(),
            retried: Vec::new(),
            verified: Vec::new(),
        };
        for phase in &run.runbook.phases {
            let mut p = PhaseSummary {
                title: phase.title.clone(),
                end: PhaseEnd::Clean,
                finished: 0,
                steps: phase.steps.len(),
                skipped: 0,
                deviated: 0,
            };
            for step in &phase.steps {
                let id = step.id.value.as_str();
                let state = run.state(id);
                p.finished = p.finished.saturating_add(usize::from(state.is_finished()));
                if let StepState::Skipped { reason } = state {
                    p.skipped = p.skipped.saturating_add(1);
                    summary.skipped.push(deviation(id, "skipped", reason));
                }
                if let Some(j) = run.overrides.get(id) {
                    p.deviated = p.deviated.saturating_add(1);
                    summary.overridden.push(deviation(id, "overridden", j));
                }
                if let Some(r) = run.verified.get(id) {
                    p.deviated = p.deviated.saturating_add(1);
                    summary.verified.push(deviation(id, "verified by hand", r));
                }
                let attempts = run.attempts(id);
                if attempts > 1 {
                    let why = format!("{attempts} attempts");
                    summary.retried.push(deviation(id, "retried", &why));
                }
            }
            p.end = if p.finished < p.steps {
                PhaseEnd::Open
            } else if p.skipped > 0 {
                PhaseEnd::Skipped
            } else if p.deviated > 0 {
                PhaseEnd::Deviated
            } else {
                PhaseEnd::Clean
            };
            summary.phases.push(p);
        }
        summary
    }

    /// The journal's `complete` event.
    pub fn event(&self, operator: String) -> Event {
        let names = |d: &[Deviation]| d.iter().map(|d| d.step.clone()).collect();
        Event::Complete {
            operator,
            duration_s: (self.duration.as_secs_f64() * 1000.0).round() / 1000.0,
            skipped: names(&self.skipped),
            overridden: names(&self.overridden),
            retried: names(&self.retried),
            verified: names(&self.verified),
        }
    }
}

fn deviation(step: &str, what: &str, why: &str) -> Deviation {
    Deviation {
        step: step.to_string(),
        what: what.to_string(),
        why: why.to_string(),
    }
}

/// `1h 02m 03s`, `12m 04s`, `9.5 s`.
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0..60 => format!("{:.1} s", d.as_secs_f64()),
        60..3600 => format!("{}m {:02}s", secs / 60, secs % 60),
        _ => format!(
            "{}h {:02}m {:02}s",
            secs / 3600,
            secs % 3600 / 60,
            secs % 60
        ),
    }
}

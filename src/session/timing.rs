//! How long each step took in a journal, for `plan --from-journal` (a rehearsal's journal
//! estimates the window).
//!
//! A step that started took the time from its first `step_start` to its last `step_end`
//! (retries included). A step that never started (a manual step or a note marked done, a
//! skipped step) took the time since the step before it ended, in journal order; a
//! session's start or resume counts as such an end. Samples, probes, versions, output and
//! the other events do not count.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use crate::session::clock::parse_rfc3339;
use crate::session::journal::Event;
use crate::session::replay::Replayed;

/// What a journal says about its steps' durations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StepTimes {
    /// Per step id, the time it took; a step missing here is not in the journal (or started
    /// and never ended).
    pub took: BTreeMap<String, Duration>,
    /// The session's start date, as journaled (`2026-11-27`).
    pub date: String,
    /// From the session's start to its last event.
    pub span: Duration,
}

/// The durations of `replayed`'s steps (see the module docs).
pub fn step_times(replayed: &Replayed) -> StepTimes {
    let mut first_start: BTreeMap<&str, SystemTime> = BTreeMap::new();
    let mut last_end: BTreeMap<&str, SystemTime> = BTreeMap::new();
    let mut unstarted: BTreeMap<&str, Duration> = BTreeMap::new();
    let start = parse_rfc3339(&replayed.started);
    let mut previous_end = start;
    let mut last = start;
    for record in &replayed.events {
        let Some(ts) = parse_rfc3339(&record.ts) else {
            continue;
        };
        last = last.max(Some(ts));
        let since = |t: Option<SystemTime>| t.and_then(|t| ts.duration_since(t).ok());
        match &record.event {
            Event::SessionStart(_) | Event::SessionResume { .. } => previous_end = Some(ts),
            Event::StepStart { step, .. } => {
                first_start.entry(step).or_insert(ts);
            }
            Event::StepEnd { step, .. }
            | Event::ManualDone { step, .. }
            | Event::Skip { step, .. }
            | Event::Verified { step, .. } => {
                if matches!(record.event, Event::StepEnd { .. }) {
                    last_end.insert(step, ts);
                }
                if !first_start.contains_key(step.as_str())
                    && let Some(gap) = since(previous_end)
                {
                    unstarted.insert(step, gap);
                }
                previous_end = Some(ts);
            }
            _ => {}
        }
    }
    let mut took: BTreeMap<String, Duration> = unstarted
        .into_iter()
        .map(|(step, d)| (step.to_string(), d))
        .collect();
    for (step, started) in first_start {
        match last_end.get(step).map(|end| end.duration_since(started)) {
            Some(Ok(d)) => {
                took.insert(step.to_string(), d);
            }
            // Started and never ended (or a clock that went back): not timed.
            _ => {
                took.remove(step);
            }
        }
    }
    let span = match (start, last) {
        (Some(s), Some(l)) => l.duration_since(s).unwrap_or_default(),
        _ => Duration::ZERO,
    };
    StepTimes {
        took,
        date: replayed.started.get(..10).unwrap_or_default().to_string(),
        span,
    }
}

#[cfg(test)]
#[path = "timing_tests.rs"]
mod tests;

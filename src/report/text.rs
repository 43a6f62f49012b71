//! The words both renderings use, so the Markdown and the HTML report say the same
//! things: outcomes, times, durations, the unfinished banner and output excerpts.

use std::time::Duration;

use super::{Attempt, AttemptEnd, Report, SessionOutcome, StepReport};
use crate::session::journal::Outcome;
use crate::session::replay::StepState;
use crate::session::summary::human_duration;

/// Lines kept from the start and from the end of a step attempt's output.
pub const EXCERPT_LINES: usize = 5;
/// Characters kept of one output line.
pub const EXCERPT_LINE_CHARS: usize = 200;

pub const UNKNOWN_CRASHED: &str = "outcome UNKNOWN (the session crashed while it ran)";
pub const UNKNOWN_OPEN: &str =
    "outcome UNKNOWN (no step_end: the session crashed while it ran, or is still running)";

/// The banner of a session that is not finished, naming its last step and any step
/// whose outcome is unknown.
pub fn unfinished(r: &Report) -> Option<String> {
    let why = match &r.outcome {
        SessionOutcome::Complete { .. } => return None,
        SessionOutcome::Ended { reason } => format!(
            "it was ended ({}) before every step finished",
            one_line(reason)
        ),
        SessionOutcome::Unfinished => "the journal has no complete event".to_string(),
    };
    let mut s = format!("This session is not finished: {why}.");
    let last = r
        .steps
        .iter()
        .filter_map(|st| st.attempts.last().map(|a| (a.started.as_str(), st)))
        .max_by(|a, b| a.0.cmp(b.0));
    match last {
        Some((ts, st)) => s.push_str(&format!(
            " The last step started was {} at {}: {}.",
            st.id,
            time_of_day(ts),
            step_outcome(st)
        )),
        None => s.push_str(" No step was started."),
    }
    let unknown: Vec<&str> = r
        .steps
        .iter()
        .filter(|st| outcome_unknown(st))
        .map(|st| st.id.as_str())
        .collect();
    if unknown.is_empty() {
        s.push_str(" No step's outcome is unknown.");
    } else {
        s.push_str(&format!(
            " Outcome UNKNOWN, verify by hand before anything else: {}.",
            unknown.join(", ")
        ));
    }
    if !r.not_reached.is_empty() {
        s.push_str(&format!(
            " {} runbook step(s) not reached.",
            r.not_reached.len()
        ));
    }
    Some(s)
}

/// Whether the step's outcome is unknown now (its last attempt's, unless verified since).
pub fn outcome_unknown(st: &StepReport) -> bool {
    matches!(
        st.state,
        StepState::Running { .. } | StepState::Unknown { .. }
    )
}

/// Whether the step's outcome needs a reader's eye: unknown, failed or timed out.
pub fn step_alarming(st: &StepReport) -> bool {
    outcome_unknown(st) || matches!(st.state, StepState::Failed { .. })
}

/// Whether the attempt's outcome needs a reader's eye: unknown, failed or timed out.
pub fn attempt_alarming(a: &Attempt) -> bool {
    a.end.unknown()
        || matches!(
            a.end,
            AttemptEnd::Ended {
                outcome: Outcome::Failed | Outcome::TimedOut,
                ..
            }
        )
}

/// The step's outcome in a few words.
pub fn step_outcome(st: &StepReport) -> String {
    let last = st.attempts.last();
    let mut s = match &st.state {
        StepState::Pending if st.attempts.is_empty() => "not started".to_string(),
        StepState::Pending => "pending".to_string(),
        StepState::Running { .. } => match last.map(|a| &a.end) {
            Some(AttemptEnd::Crashed) => UNKNOWN_CRASHED.to_string(),
            _ => UNKNOWN_OPEN.to_string(),
        },
        StepState::Unknown { .. } => "outcome UNKNOWN (it ended so: verify)".to_string(),
        StepState::Succeeded => "succeeded".to_string(),
        StepState::Failed {
            outcome, detail, ..
        } => with_detail(outcome_word(*outcome), detail),
        StepState::Skipped { reason } => with_detail("skipped", reason),
        StepState::ManualDone => "done by hand".to_string(),
        StepState::Verified { reason } => with_detail("verified done by hand", reason),
    };
    if st.attempts.len() > 1 {
        s.push_str(&format!(" ({} attempts)", st.attempts.len()));
    }
    s
}

/// One attempt's outcome in a few words.
pub fn attempt_outcome(a: &Attempt) -> String {
    match &a.end {
        AttemptEnd::Ended {
            outcome,
            detail,
            exit_code,
            sql_errno,
        } => {
            let mut s = with_detail(outcome_word(*outcome), detail);
            if let Some(code) = exit_code.filter(|c| *c != 0 || *outcome != Outcome::Succeeded) {
                s.push_str(&format!(" [exit {code}]"));
            }
            if let Some(errno) = sql_errno {
                s.push_str(&format!(" [SQL error {errno}]"));
            }
            s
        }
        AttemptEnd::Crashed => UNKNOWN_CRASHED.to_string(),
        AttemptEnd::Open => UNKNOWN_OPEN.to_string(),
    }
}

pub fn outcome_word(o: Outcome) -> &'static str {
    match o {
        Outcome::Succeeded => "succeeded",
        Outcome::Failed => "FAILED",
        Outcome::Cancelled => "cancelled",
        Outcome::TimedOut => "TIMED OUT",
        Outcome::Unknown => "outcome UNKNOWN",
    }
}

fn with_detail(word: &str, detail: &str) -> String {
    let detail = one_line(detail);
    if detail.is_empty() {
        word.to_string()
    } else {
        format!("{word}: {detail}")
    }
}

/// The time from the step's first start to its last attempt's end, if it ended.
pub fn step_duration(st: &StepReport) -> Option<Duration> {
    let first = st.attempts.first()?;
    let last = st.attempts.last()?;
    super::build::between(&first.started, last.ended.as_deref()?)
}

pub fn duration(d: Option<Duration>) -> String {
    d.map(human_duration).unwrap_or_else(|| "—".to_string())
}

/// `09:30:01` of `2026-11-01T09:30:01.123Z` (all times in the report are UTC).
pub fn time_of_day(ts: &str) -> &str {
    ts.split_once('T')
        .and_then(|(_, t)| t.get(..8))
        .unwrap_or(ts)
}

/// `2026-11-01 09:30:01 UTC`.
pub fn date_time(ts: &str) -> String {
    match ts.split_once('T') {
        Some((d, t)) => format!("{d} {} UTC", t.get(..8).unwrap_or(t)),
        None => ts.to_string(),
    }
}

/// Whitespace runs (newlines too) as one space.
pub fn one_line(text: &str) -> String {
    printable(&text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Control characters as their visible pictures (`␛`), terminal escape sequences
/// removed; newlines and tabs kept. XML cannot carry most control characters at all.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' if chars.peek() == Some(&'[') => {
                // CSI: parameters and intermediates, then one final byte in @..~.
                chars.next();
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            '\n' | '\t' => out.push(c),
            '\r' => {}
            c if (c as u32) < 0x20 => out.push(char::from_u32(0x2400 + c as u32).unwrap_or('?')),
            '\u{7f}' => out.push('␡'),
            '\u{80}'..='\u{9f}' | '\u{fffe}' | '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// The first and last lines of `output` (each cut to a bounded length), with how many
/// lines were left out between them.
pub struct Excerpt {
    pub head: Vec<String>,
    pub omitted: usize,
    pub tail: Vec<String>,
}

pub fn excerpt(output: &str) -> Excerpt {
    let clean = printable(output);
    let lines: Vec<&str> = clean.lines().collect();
    let cut = |l: &&str| -> String {
        if l.chars().count() <= EXCERPT_LINE_CHARS {
            l.to_string()
        } else {
            let mut s: String = l.chars().take(EXCERPT_LINE_CHARS).collect();
            s.push('…');
            s
        }
    };
    if lines.len() <= EXCERPT_LINES * 2 {
        return Excerpt {
            head: lines.iter().map(cut).collect(),
            omitted: 0,
            tail: Vec::new(),
        };
    }
    let tail_from = lines.len().saturating_sub(EXCERPT_LINES);
    Excerpt {
        head: lines.iter().take(EXCERPT_LINES).map(cut).collect(),
        omitted: tail_from.saturating_sub(EXCERPT_LINES),
        tail: lines.iter().skip(tail_from).map(cut).collect(),
    }
}

/// What the session's outcome line says.
pub fn outcome_line(r: &Report) -> String {
    match &r.outcome {
        SessionOutcome::Complete { operator, at } => {
            format!("complete (confirmed by {operator} at {})", time_of_day(at))
        }
        SessionOutcome::Ended { reason } => {
            format!(
                "NOT FINISHED: ended before completion ({})",
                one_line(reason)
            )
        }
        SessionOutcome::Unfinished => "UNFINISHED".to_string(),
    }
}

/// The operators line: who started, resumed, handed over, approved and attached.
pub fn operators_line(r: &Report) -> String {
    let o = &r.operators;
    let mut parts = vec![format!("started by {} on {}", o.started_by, o.host)];
    for res in &o.resumes {
        let (who, host) = &res.value;
        parts.push(format!(
            "resumed by {who} on {host} at {}",
            time_of_day(&res.ts)
        ));
    }
    for h in &o.handovers {
        let (from, to) = &h.value;
        parts.push(format!(
            "handed over by {from} to {to} at {}",
            time_of_day(&h.ts)
        ));
    }
    let join =
        |s: &std::collections::BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(", ");
    if !o.confirmed.is_empty() {
        parts.push(format!("steps confirmed by {}", join(&o.confirmed)));
    }
    if !o.approvers.is_empty() {
        parts.push(format!("approvals by {}", join(&o.approvers)));
    }
    if !o.attached.is_empty() {
        parts.push(format!("attached: {}", join(&o.attached)));
    }
    one_line(&parts.join("; "))
}

/// Write unavailability per probed step, or that nothing was probed.
pub fn probes_line(r: &Report) -> String {
    if r.probes.is_empty() {
        return "no write-availability probe was configured".to_string();
    }
    let each: Vec<String> = r
        .probes
        .iter()
        .map(|p| format!("{}: {}", p.value.step, p.value.summary()))
        .collect();
    one_line(&each.join("; "))
}

/// `name (sha256 0123456789ab…)`.
pub fn digest(path: &str, sha: &str) -> String {
    format!("{path} (sha256 {}…)", sha.get(..12).unwrap_or(sha))
}

/// Who confirmed a step: `alice (typed server2), bob`.
pub fn confirmed_by(st: &StepReport) -> String {
    let mut who: Vec<String> = st
        .confirmations
        .iter()
        .map(|c| match &c.value.1 {
            Some(typed) => format!("{} (typed {typed})", c.value.0),
            None => c.value.0.clone(),
        })
        .collect();
    if let Some(m) = &st.manual_done {
        who.push(format!("{} (done by hand)", m.value));
    }
    who.dedup();
    one_line(&who.join(", "))
}

/// The step's servers over every attempt, in order.
pub fn servers(st: &StepReport) -> String {
    let mut all: Vec<&str> = Vec::new();
    for s in st.attempts.iter().flat_map(|a| &a.servers) {
        if !all.contains(&s.as_str()) {
            all.push(s);
        }
    }
    all.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_and_terminal_colours_dropped() {
        assert_eq!(printable("\u{1b}[1;31mred\u{1b}[0m\r\n\u{7}"), "red\n␇");
        assert_eq!(printable("a\tb\u{0}"), "a\tb␀");
    }

    #[test]
    fn an_excerpt_keeps_the_first_and_last_lines_and_counts_the_rest() {
        let text: String = (1..=12).map(|i| format!("line {i}\n")).collect();
        let ex = excerpt(&text);
        assert_eq!(ex.head.first().map(String::as_str), Some("line 1"));
        assert_eq!(ex.omitted, 2);
        assert_eq!(ex.tail.last().map(String::as_str), Some("line 12"));

        let short = excerpt("a\nb\n");
        assert_eq!(
            (short.head.len(), short.omitted, short.tail.len()),
            (2, 0, 0)
        );

        let long = "x".repeat(EXCERPT_LINE_CHARS + 50);
        let cut = excerpt(&long);
        assert_eq!(cut.head[0].chars().count(), EXCERPT_LINE_CHARS + 1);
        assert!(cut.head[0].ends_with('…'));
    }

    #[test]
    fn times_are_read_from_journal_timestamps() {
        assert_eq!(time_of_day("2026-11-01T09:30:01.123Z"), "09:30:01");
        assert_eq!(
            date_time("2026-11-01T09:30:01.123Z"),
            "2026-11-01 09:30:01 UTC"
        );
        assert_eq!(time_of_day("garbage"), "garbage");
    }
}

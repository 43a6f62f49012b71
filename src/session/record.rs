//! A journal as people read it in a change ticket: who did what, when, and why. The plan
//! prints it as its journal section (`flightdeck plan … --journal FILE`): every note, every
//! confirmation, four-eyes approval and refusal, override with its justification, skip,
//! verification, step outcome, handover and attachment, in journal order. Output lines,
//! gate evaluations and role changes are left to the journal itself. The journal is masked
//! when written, so nothing here reveals a secret.

use std::fmt::Write as _;

use crate::session::journal::{Event, Outcome, Record};
use crate::session::replay::Replayed;

/// One line of the record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The event's time, as journaled (RFC 3339, UTC).
    pub ts: String,
    /// What happened, one word: `note`, `approved`, `OVERRIDE`, …
    pub what: &'static str,
    /// The step it concerns, if any.
    pub step: Option<String>,
    /// Who did it, if the journal says.
    pub who: String,
    pub detail: String,
}

/// The record of a replayed journal; `runbook_sha256` is the digest of the runbook the plan
/// was resolved from, to say when the journal was written for another version of it.
pub struct JournalSection<'a> {
    pub path: &'a str,
    pub replayed: &'a Replayed,
    pub runbook_sha256: &'a str,
}

impl JournalSection<'_> {
    pub fn entries(&self) -> Vec<Entry> {
        self.replayed.events.iter().filter_map(entry).collect()
    }

    fn heading(&self) -> (String, Option<String>) {
        let h = &self.replayed.header;
        let head = format!(
            "{}: session started {} by {} on {}",
            self.path, self.replayed.started, h.operator, h.host
        );
        let mismatch = (h.runbook_sha256 != self.runbook_sha256).then(|| {
            format!(
                "this journal was written for another version of the runbook \
                 ({} sha256 {}…, this one {}…)",
                h.runbook_path,
                short(&h.runbook_sha256),
                short(self.runbook_sha256)
            )
        });
        (head, mismatch)
    }

    pub fn text(&self) -> String {
        let mut o = String::new();
        let (head, mismatch) = self.heading();
        let _ = writeln!(o, "\nJOURNAL   {head}");
        if let Some(m) = mismatch {
            let _ = writeln!(o, "  WARNING {m}");
        }
        let entries = self.entries();
        if entries.is_empty() {
            let _ = writeln!(o, "  nothing done yet");
        }
        for e in entries {
            let step = e.step.map(|s| format!(" {s}")).unwrap_or_default();
            let who = if e.who.is_empty() {
                String::new()
            } else {
                format!(" ({})", e.who)
            };
            let detail = if e.detail.is_empty() {
                String::new()
            } else {
                format!(": {}", one_line(&e.detail))
            };
            let head = format!("{:<9}{step}{who}", e.what);
            let _ = writeln!(o, "  {}  {}{detail}", e.ts, head.trim_end());
        }
        o
    }

    pub fn markdown(&self) -> String {
        let mut o = String::new();
        let (head, mismatch) = self.heading();
        let _ = writeln!(o, "\n## Journal\n\n{}\n", cell(&head));
        if let Some(m) = mismatch {
            let _ = writeln!(o, "> **Warning:** {}\n", cell(&m));
        }
        let entries = self.entries();
        if entries.is_empty() {
            let _ = writeln!(o, "Nothing done yet.");
            return o;
        }
        let _ = writeln!(o, "| time (UTC) | what | step | who | detail |");
        let _ = writeln!(o, "|---|---|---|---|---|");
        for e in entries {
            let step = e
                .step
                .map(|s| format!("`{}`", cell(&s)))
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "| {} | {} | {step} | {} | {} |",
                e.ts,
                e.what,
                cell(&e.who),
                cell(&e.detail)
            );
        }
        o
    }
}

/// The record's line for an event, or `None` for what the record leaves to the journal.
fn entry(r: &Record) -> Option<Entry> {
    let (what, step, who, detail): (&'static str, Option<&str>, String, String) = match &r.event {
        Event::Note { operator, text } => ("note", None, operator.clone(), text.clone()),
        Event::Confirm {
            step,
            operator,
            typed,
        } => (
            "confirm",
            Some(step),
            operator.clone(),
            typed
                .as_ref()
                .map(|t| format!("typed {t}"))
                .unwrap_or_default(),
        ),
        Event::Approval {
            step,
            driver,
            approver,
            typed,
        } => (
            "approved",
            Some(step),
            approver.clone(),
            format!("second operator for {driver}, typed {typed}"),
        ),
        Event::ApprovalRefused {
            step,
            approver,
            reason,
        } => ("refused", Some(step), approver.clone(), reason.clone()),
        Event::Override {
            step,
            justification,
            failed_gates,
        } => (
            "OVERRIDE",
            Some(step),
            String::new(),
            format!("{justification} (failed: {})", failed_gates.join("; ")),
        ),
        Event::Skip { step, reason } => ("skip", Some(step), String::new(), reason.clone()),
        Event::Verified {
            step,
            operator,
            reason,
        } => ("verified", Some(step), operator.clone(), reason.clone()),
        Event::ManualDone { step, operator } => (
            "done",
            Some(step),
            operator.clone(),
            "manual step".to_string(),
        ),
        Event::StepEnd {
            step,
            attempt,
            outcome,
            detail,
            ..
        } => {
            let what = match outcome {
                Outcome::Succeeded => "succeeded",
                Outcome::Failed => "FAILED",
                Outcome::Cancelled => "cancelled",
                Outcome::TimedOut => "TIMED OUT",
                Outcome::Unknown => "UNKNOWN",
            };
            let detail = match (attempt, detail.is_empty()) {
                (1, _) => detail.clone(),
                (n, true) => format!("attempt {n}"),
                (n, false) => format!("attempt {n}: {detail}"),
            };
            (what, Some(step), String::new(), detail)
        }
        Event::Handover { from, to } => (
            "handover",
            None,
            from.clone(),
            format!("{from} handed the session to {to}"),
        ),
        Event::Attached { operator, .. } => ("attached", None, operator.clone(), String::new()),
        Event::Detached { operator } => ("detached", None, operator.clone(), String::new()),
        Event::AttachRefused { user, uid, reason } => (
            "refused",
            None,
            format!("{user} (uid {uid})"),
            format!("attach refused: {reason}"),
        ),
        Event::SessionResume {
            operator,
            host,
            pid,
        } => (
            "resumed",
            None,
            operator.clone(),
            format!("on {host}, pid {pid}"),
        ),
        Event::Complete {
            operator,
            duration_s,
            ..
        } => (
            "complete",
            None,
            operator.clone(),
            format!("every step finished, {duration_s:.0} s after the start"),
        ),
        Event::SessionEnd { reason } => ("ended", None, String::new(), reason.clone()),
        Event::Probe(p) => ("probe", Some(&p.step), String::new(), p.summary()),
        Event::SessionStart(_)
        | Event::Sample { .. }
        | Event::ServerVersion { .. }
        | Event::Gate { .. }
        | Event::StepStart { .. }
        | Event::Output { .. }
        | Event::OutputTruncated { .. }
        | Event::Roles { .. } => return None,
    };
    Some(Entry {
        ts: r.ts.clone(),
        what,
        step: step.map(str::to_string),
        who,
        detail,
    })
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Text safe inside a Markdown table cell.
pub(crate) fn cell(text: &str) -> String {
    one_line(text).replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq: u64, event: Event) -> Record {
        Record {
            seq,
            ts: format!("2026-11-26T23:10:0{seq}.000Z"),
            event,
        }
    }

    #[test]
    fn notes_approvals_and_overrides_are_in_the_record_output_is_not() {
        let events = [
            record(
                1,
                Event::Note {
                    operator: "bob".into(),
                    text: "backup | verified\nat 23:00".into(),
                },
            ),
            record(
                2,
                Event::Output {
                    step: "s1".into(),
                    stream: crate::session::journal::Stream::Stdout,
                    text: "noise".into(),
                },
            ),
            record(
                3,
                Event::Approval {
                    step: "switchover".into(),
                    driver: "alice".into(),
                    approver: "bob".into(),
                    typed: "server2".into(),
                },
            ),
            record(
                4,
                Event::Override {
                    step: "upgrade".into(),
                    justification: "lag is a reporting query".into(),
                    failed_gates: vec!["replica.lag < 5s".into()],
                },
            ),
        ];
        let got: Vec<_> = events.iter().filter_map(entry).collect();
        assert_eq!(
            got.iter().map(|e| e.what).collect::<Vec<_>>(),
            ["note", "approved", "OVERRIDE"]
        );
        assert_eq!(got[1].who, "bob");
        assert_eq!(
            got[1].detail,
            "second operator for alice, typed server2".to_string()
        );
        assert_eq!(
            got[2].detail,
            "lag is a reporting query (failed: replica.lag < 5s)"
        );
        assert_eq!(cell(&got[0].detail), "backup \\| verified at 23:00");
    }
}

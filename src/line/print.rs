//! What line mode prints, as pure functions of the session's view: a step as the run
//! reaches it (title, what it acts on, why, notes, gates with their live values, the exact
//! masked command or what was sent), its outcomes, its output, and the summary. Nothing
//! here judges anything: every fact comes from the [`SessionView`].

use crate::session::journal::Stream;
use crate::session::summary::{Deviation, PhaseEnd, Summary, human_duration};
use crate::session::view::{Judged, SessionView, Status, StepView};

/// `3.1`: the step's phase and its place in that phase, both from 1.
pub fn number(view: &SessionView, index: usize) -> String {
    let Some(step) = view.steps.get(index) else {
        return "?".into();
    };
    let first = view.phases.get(step.phase).map_or(0, |p| p.first);
    format!("{}.{}", step.phase + 1, index.saturating_sub(first) + 1)
}

/// `[3.1] p3-stop-service@server2 (shell, DESTRUCTIVE) Stop MariaDB on the replica`
pub fn title_line(view: &SessionView, index: usize) -> String {
    let Some(s) = view.steps.get(index) else {
        return format!("[?] step {index}");
    };
    let kind = if s.destructive {
        format!("{}, DESTRUCTIVE", s.kind)
    } else {
        s.kind.to_string()
    };
    format!("[{}] {} ({kind}) {}", number(view, index), s.id, s.title)
}

/// A step as the run reaches it, in the order an operator reads before answering: what
/// it acts on, why, the notes, where it stands, its gates, and last the command.
pub fn step_lines(view: &SessionView, index: usize) -> Vec<String> {
    let Some(s) = view.steps.get(index) else {
        return Vec::new();
    };
    let mut lines = vec![title_line(view, index)];
    if let Some(t) = &s.target {
        let when = if s.frozen { ", as first started" } else { "" };
        lines.push(format!("  on: {} (target {t}{when})", s.servers.join(", ")));
    }
    if let Some(d) = &s.direction {
        lines.push(format!("  writes move from {} to {}", d.from, d.to));
    }
    if let Some(w) = &s.why {
        lines.extend(labelled("why", w));
    }
    for n in &s.notes {
        lines.extend(labelled(&n.label.to_lowercase(), &n.text));
    }
    if let Some(r) = &s.rollback {
        lines.extend(labelled("rollback", r));
    }
    lines.extend(standing(s));
    if let Some(e) = &s.condition_now {
        let how = if e.holds { "holds" } else { "does not hold" };
        lines.push(format!("  now: {how}{}", observed(&e.observed)));
    }
    lines.extend(gate_lines(&s.gates));
    lines.extend(command_lines(s));
    lines
}

/// `label: text`, with the text's further lines indented under it.
fn labelled(label: &str, text: &str) -> Vec<String> {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    std::iter::once(format!("  {label}: {first}"))
        .chain(lines.map(|l| format!("    {l}")))
        .collect()
}

/// Where a step stands, when that is more than "ready": a failed or unknown attempt, an
/// override or a hand verification.
fn standing(s: &StepView) -> Vec<String> {
    let mut lines = Vec::new();
    match &s.status {
        Status::Failed { detail } => {
            lines.push(format!("  attempt {} failed: {detail}", s.attempts));
        }
        Status::Unknown => {
            lines.push(
                "  ? outcome unknown: the process stopped while this step ran. Verify by hand, \
                 then v (verified done, with a reason), y (re-run exactly what was sent) or s \
                 (skip)."
                    .into(),
            );
            lines.extend(s.verdict.iter().map(|v| format!("  {v}")));
        }
        _ => {}
    }
    if let Some(j) = &s.overridden {
        lines.push(format!("  overridden: {j}"));
    }
    lines
}

fn observed(facts: &[String]) -> String {
    if facts.is_empty() {
        String::new()
    } else {
        format!(" — observed: {}", facts.join("; "))
    }
}

/// `  gate ✔ db1.up — observed: db1.up = true`
pub fn gate_lines(gates: &[Judged]) -> Vec<String> {
    gates
        .iter()
        .map(|g| {
            let mark = if g.holds { "✔" } else { "✘" };
            format!("  gate {mark} {}{}", g.condition, observed(&g.observed))
        })
        .collect()
}

/// The exact masked command, or, for a step already started, what its latest attempt
/// sent (as journaled).
pub fn command_lines(s: &StepView) -> Vec<String> {
    let started = !matches!(s.status, Status::Pending | Status::Ready | Status::Blocked);
    if let (Some(sent), true) = (&s.sent, started) {
        let mut lines = vec![format!("  sent (attempt {}):", s.attempts)];
        lines.extend(sent.lines().map(|l| format!("    {l}")));
        return lines;
    }
    match &s.command {
        // Waits, checks, manual steps and notes say what they are in their own words.
        Ok(cmd) if matches!(s.kind.as_str(), "wait" | "check" | "manual" | "note") => {
            cmd.iter().map(|l| format!("  {l}")).collect()
        }
        Ok(cmd) => std::iter::once("  command:".to_string())
            .chain(cmd.iter().map(|l| format!("    {l}")))
            .collect(),
        Err(e) => vec![format!("  cannot resolve: {e}")],
    }
}

/// A step's new standing, as a line of its stream: started, ended, skipped.
pub fn status_line(s: &StepView) -> Option<String> {
    let id = &s.id;
    Some(match &s.status {
        Status::Running { .. } => {
            let on = if s.servers.is_empty() {
                String::new()
            } else {
                format!(" on {}", s.servers.join(", "))
            };
            format!("{id} │ ▶ started (attempt {}){on}", s.attempts)
        }
        Status::Succeeded { detail } => format!("{id} │ ✔ {}", or_done(detail)),
        Status::Failed { detail } => format!("{id} │ ✘ {detail}"),
        Status::Skipped { reason } => format!("{id} │ ↷ skipped: {reason}"),
        Status::Unknown => format!("{id} │ ? outcome unknown"),
        Status::Pending | Status::Ready | Status::Blocked => return None,
    })
}

fn or_done(detail: &str) -> &str {
    if detail.is_empty() { "done" } else { detail }
}

/// One line of a step's output: `p1-backup │ …`; stderr and flightdeck's own
/// commentary say so.
pub fn output_line(step: &str, stream: Stream, text: &str) -> String {
    match stream {
        Stream::Stdout => format!("{step} │ {text}"),
        Stream::Stderr => format!("{step} │ stderr: {text}"),
        Stream::Info => format!("{step} │ · {text}"),
    }
}

/// A running wait's progress.
pub fn progress_line(step: &str, progress: &str) -> String {
    format!("{step} │ … {progress}")
}

/// Why the current step cannot run now.
pub fn blocked_line(s: &StepView) -> String {
    match &s.blocked {
        Some(b) => format!("{} ■ waiting: {}", s.id, b.message),
        None => format!("{} ■ waiting", s.id),
    }
}

/// The end of the run: its duration, each phase's outcome, and every step that did not
/// simply succeed, with the operator's words.
pub fn summary_lines(view: &SessionView, s: &Summary) -> Vec<String> {
    let mut lines = vec![format!(
        "Runbook complete: {} · {} steps · {}",
        view.runbook,
        s.steps,
        human_duration(s.duration)
    )];
    for (i, p) in s.phases.iter().enumerate() {
        let (mark, how) = match p.end {
            PhaseEnd::Clean => ("✔", String::new()),
            PhaseEnd::Skipped => ("↷", format!(", {} skipped", p.skipped)),
            PhaseEnd::Deviated => ("!", format!(", {} overridden or verified", p.deviated)),
            PhaseEnd::Open => ("·", " not finished".into()),
        };
        lines.push(format!(
            "{mark} {} {} ({}/{}{how})",
            i + 1,
            p.title,
            p.finished,
            p.steps
        ));
    }
    let mut section = |title: &str, items: &[Deviation]| {
        if !items.is_empty() {
            lines.push(format!("{title}:"));
            lines.extend(
                items
                    .iter()
                    .map(|d| format!("  {} — {}: {}", d.step, d.what, d.why)),
            );
        }
    };
    section("Skipped", &s.skipped);
    section("Overridden", &s.overridden);
    section("Verified by hand", &s.verified);
    section("Retried", &s.retried);
    if s.skipped.is_empty() && s.overridden.is_empty() && s.verified.is_empty() {
        lines.push("Every step ran and succeeded as planned.".into());
    }
    lines
}

#[cfg(test)]
#[path = "print_tests.rs"]
mod tests;

//! The plan's outline, for the top of a change ticket: one row per phase with its number of
//! steps, the steps that need a second operator or are destructive, its rollback in brief
//! and how long it should take, then the total.
//!
//! The estimate comes from a rehearsal's journal when one is given (see
//! [`crate::session::timing`]), else from the steps' timeouts, an upper bound. The outline
//! says which.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use super::{Plan, PlanPhase};
use crate::runbook::Loaded;
use crate::session::record::cell;
use crate::session::replay::Replayed;
use crate::session::timing::{StepTimes, step_times};

/// The text outline fits this many columns.
const WIDTH: usize = 100;
/// Detail lines: indent, then a label column.
const DETAIL_PAD: usize = 7;
const LABEL: usize = 16;
/// A rollback's summary is its first sentence, cut to this many characters.
const ROLLBACK_CHARS: usize = 60;
/// At most this many characters of rollbacks in a Markdown cell.
const ROLLBACK_CELL: usize = 200;

/// A rehearsal's journal, to estimate the window from.
#[derive(Clone, Debug)]
pub struct Rehearsal {
    /// The journal, as named on the command line.
    pub path: String,
    pub times: StepTimes,
    /// Set when the journal was written for another runbook: what to say about it.
    pub other_runbook: Option<String>,
}

impl Rehearsal {
    /// What `replayed` (read from `path`) says about the steps of `loaded`. A journal of
    /// another runbook (the lab's, which extends production's, has the same step ids) is
    /// matched by step id, and the outline says so.
    pub fn new(path: &Path, replayed: &Replayed, loaded: &Loaded) -> Rehearsal {
        let header = &replayed.header;
        let other_runbook = (header.runbook_sha256 != loaded.sha256()).then(|| {
            let theirs = Path::new(&header.runbook_path).file_name();
            if theirs == loaded.file.path.file_name() {
                "It was written for another version of this runbook; steps are matched by id."
                    .to_string()
            } else {
                format!(
                    "It came from another runbook file, {}; steps are matched by id.",
                    header.runbook_path
                )
            }
        });
        Rehearsal {
            path: path.display().to_string(),
            times: step_times(replayed),
            other_runbook,
        }
    }
}

/// How long something should take.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Estimate {
    /// The time of the steps that were timed.
    pub known: Duration,
    /// Steps the journal does not have.
    pub untimed: Vec<String>,
}

impl Estimate {
    fn add(&mut self, other: &Estimate) {
        self.known = self.known.saturating_add(other.known);
        self.untimed.extend(other.untimed.iter().cloned());
    }

    /// `2 h 12 min`; `≥ 41 s` when some steps were not timed; `not in the journal`.
    fn shown(&self, steps: usize) -> String {
        if self.untimed.is_empty() {
            human(self.known)
        } else if self.untimed.len() >= steps {
            "not in the journal".to_string()
        } else {
            format!("≥ {}", human(self.known))
        }
    }
}

/// One phase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub number: usize,
    pub id: String,
    pub title: String,
    pub steps: usize,
    pub four_eyes: Vec<String>,
    pub destructive: Vec<String>,
    /// Step id and the first sentence of its rollback, for the steps that have one.
    pub rollback: Vec<(String, String)>,
    pub estimate: Estimate,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outline {
    /// Where the estimate comes from, as a sentence.
    pub source: String,
    pub rows: Vec<Row>,
    pub steps: usize,
    pub total: Estimate,
}

pub fn outline(plan: &Plan) -> Outline {
    let rows: Vec<Row> = plan
        .phases
        .iter()
        .map(|p| row(p, plan.rehearsal.as_ref()))
        .collect();
    let mut total = Estimate::default();
    let mut steps = 0_usize;
    for r in &rows {
        total.add(&r.estimate);
        steps = steps.saturating_add(r.steps);
    }
    let source = match &plan.rehearsal {
        Some(r) => {
            let mut s = format!(
                "Estimated from the rehearsal journal {} ({}, {} in all).",
                r.path,
                r.times.date,
                human(r.times.span)
            );
            if let Some(other) = &r.other_runbook {
                s = format!("{s} {other}");
            }
            if !total.untimed.is_empty() {
                s.push_str(
                    " ≥ marks a phase with steps the journal does not have (they count nothing).",
                );
            }
            s
        }
        None => "Upper bound from the step timeouts (manual steps and notes have none); give \
                 --from-journal FILE from a rehearsal for a realistic estimate."
            .to_string(),
    };
    Outline {
        source,
        rows,
        steps,
        total,
    }
}

fn row(phase: &PlanPhase, rehearsal: Option<&Rehearsal>) -> Row {
    let ids = |keep: fn(&super::PlanStep) -> bool| {
        phase
            .steps
            .iter()
            .filter(|s| keep(s))
            .map(|s| s.id.clone())
            .collect()
    };
    let mut estimate = Estimate::default();
    for s in &phase.steps {
        let took = match rehearsal {
            Some(r) => r.times.took.get(&s.id).copied(),
            None => Some(s.timeout.unwrap_or_default()),
        };
        match took {
            Some(d) => estimate.known = estimate.known.saturating_add(d),
            None => estimate.untimed.push(s.id.clone()),
        }
    }
    Row {
        number: phase.number,
        id: phase.id.clone(),
        title: phase.title.clone(),
        steps: phase.steps.len(),
        four_eyes: ids(|s| s.second_approval),
        destructive: ids(|s| s.destructive),
        rollback: phase
            .steps
            .iter()
            .filter_map(|s| Some((s.id.clone(), first_sentence(s.rollback.as_deref()?))))
            .collect(),
        estimate,
    }
}

/// The text outline, at most [`WIDTH`] columns wide.
pub fn text(o: &Outline) -> String {
    let mut out = String::new();
    let head = format!("{} phases, {} steps. {}", o.rows.len(), o.steps, o.source);
    let _ = writeln!(out, "OUTLINE   {}", wrap(&head, 10));
    for r in &o.rows {
        let name = format!("{} [{}]", r.title, r.id);
        main_line(&mut out, &r.number.to_string(), &name, r.steps, &r.estimate);
        let untimed = (r.estimate.untimed.len() < r.steps).then_some(&r.estimate.untimed);
        for (label, ids) in [
            ("four eyes", Some(&r.four_eyes)),
            ("destructive", Some(&r.destructive)),
            ("not in journal", untimed),
        ] {
            if let Some(ids) = ids.filter(|ids| !ids.is_empty()) {
                detail(&mut out, label, &wrap(&ids.join(", "), DETAIL_PAD + LABEL));
            }
        }
        detail(&mut out, "rollback", &rollback_line(&r.rollback));
    }
    main_line(&mut out, "", "total", o.steps, &o.total);
    out
}

/// `  NN  name  SSSS steps  estimate`, the estimate flush with the right edge.
fn main_line(out: &mut String, number: &str, name: &str, steps: usize, estimate: &Estimate) {
    let shown = estimate.shown(steps);
    let steps = match steps {
        1 => "1 step".to_string(),
        n => format!("{n} steps"),
    };
    let name_width = WIDTH.saturating_sub(2 + 2 + 2 + 2 + 9 + 2 + 18);
    let name = fit(name, name_width);
    let _ = writeln!(
        out,
        "  {number:>2}  {name:<name_width$}  {steps:>9}  {shown:>18}"
    );
}

fn detail(out: &mut String, label: &str, text: &str) {
    let _ = writeln!(out, "{:DETAIL_PAD$}{label:<LABEL$}{text}", "");
}

/// As many `id: summary` as fit on the rest of a detail line, then how many more.
fn rollback_line(rollback: &[(String, String)]) -> String {
    let room = WIDTH.saturating_sub(DETAIL_PAD + LABEL);
    if rollback.is_empty() {
        return "none written".to_string();
    }
    let mut line = String::new();
    for (shown, (id, summary)) in rollback.iter().enumerate() {
        let item = format!("{id}: {summary}");
        let more = rollback.len().saturating_sub(shown);
        let tail = if more > 1 {
            format!("; +{} more", more.saturating_sub(1))
        } else {
            String::new()
        };
        let sep = if line.is_empty() { "" } else { "; " };
        let fits = |s: &str| {
            [&line, sep, s, &tail]
                .iter()
                .fold(0_usize, |n, t| n.saturating_add(width(t)))
                <= room
        };
        if fits(&item) {
            line = format!("{line}{sep}{item}");
        } else if line.is_empty() {
            let cut = room.saturating_sub(width(&tail));
            return format!("{}{tail}", fit(&item, cut));
        } else {
            return format!("{line}; +{more} more");
        }
    }
    line
}

/// The Markdown outline: a table, one row per phase and the total, then the estimate's source.
pub fn markdown(o: &Outline) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## Outline\n");
    let _ = writeln!(
        out,
        "| phase | steps | four eyes | destructive | rollback | estimate |"
    );
    let _ = writeln!(out, "|---|--:|---|---|---|--:|");
    let code = |ids: &[String]| {
        ids.iter()
            .map(|id| format!("`{id}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for r in &o.rows {
        let mut estimate = r.estimate.shown(r.steps);
        if !r.estimate.untimed.is_empty() && r.estimate.untimed.len() < r.steps {
            estimate = format!(
                "{estimate} (not in the journal: {})",
                code(&r.estimate.untimed)
            );
        }
        let _ = writeln!(
            out,
            "| {}. {} (`{}`) | {} | {} | {} | {} | {estimate} |",
            r.number,
            cell(&r.title),
            r.id,
            r.steps,
            code(&r.four_eyes),
            code(&r.destructive),
            rollback_cell(&r.rollback),
        );
    }
    let _ = writeln!(
        out,
        "| **total** | **{}** | | | | **{}** |\n",
        o.steps,
        o.total.shown(o.steps)
    );
    let _ = writeln!(out, "*Estimate:* {}", cell(&o.source));
    out
}

fn rollback_cell(rollback: &[(String, String)]) -> String {
    if rollback.is_empty() {
        return "none written".to_string();
    }
    let mut items: Vec<String> = Vec::new();
    let mut used = 0_usize;
    for (id, summary) in rollback {
        let item = format!("`{id}`: {}", cell(summary));
        if !items.is_empty() && used.saturating_add(width(&item)) > ROLLBACK_CELL {
            let more = rollback.len().saturating_sub(items.len());
            items.push(format!("+{more} more"));
            break;
        }
        used = used.saturating_add(width(&item));
        items.push(item);
    }
    items.join("; ")
}

/// A rollback's first sentence (or line), at most [`ROLLBACK_CHARS`] characters.
fn first_sentence(text: &str) -> String {
    let text = text.trim();
    let line = text.lines().next().unwrap_or_default();
    let end = line
        .match_indices(". ")
        .next()
        .map_or(line.len(), |(i, _)| i.saturating_add(1));
    let sentence = line.get(..end).unwrap_or(line);
    fit(sentence.trim(), ROLLBACK_CHARS)
}

/// `text` in at most `max` characters, cut with `…`.
fn fit(text: &str, max: usize) -> String {
    if width(text) <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{}…", kept.trim_end())
}

/// The words of `text` that starts at column `indent`, on lines of at most [`WIDTH`]
/// columns, the next lines indented as much.
fn wrap(text: &str, indent: usize) -> String {
    let room = WIDTH.saturating_sub(indent);
    let mut lines: Vec<String> = vec![String::new()];
    for word in text.split_whitespace() {
        let Some(line) = lines.last_mut() else { break };
        if line.is_empty() {
            line.push_str(word);
        } else if width(line).saturating_add(1).saturating_add(width(word)) <= room {
            line.push(' ');
            line.push_str(word);
        } else {
            lines.push(word.to_string());
        }
    }
    lines.join(&format!("\n{:indent$}", ""))
}

fn width(text: &str) -> usize {
    text.chars().count()
}

/// `45 s`, `19 min`, `3 h 14 min`: to the second under a minute, else to the minute.
pub fn human(d: Duration) -> String {
    let secs = d.saturating_add(Duration::from_millis(500)).as_secs();
    if secs < 60 {
        return format!("{secs} s");
    }
    let minutes = secs.saturating_add(30) / 60;
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

#[cfg(test)]
#[path = "outline_tests.rs"]
mod tests;

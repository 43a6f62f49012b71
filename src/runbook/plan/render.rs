//! A resolved plan as plain text (a terminal, a log) or Markdown (a change ticket).

use std::fmt::Write as _;

use super::outline::{self, outline};
use super::{Block, Plan, PlanStep, format_duration};
use crate::runbook::model::Note;

pub fn render_text(plan: &Plan) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "RUNBOOK   {}", plan.name);
    if let Some(v) = &plan.versions {
        let _ = writeln!(o, "VERSIONS  {v}");
    }
    if let Some(d) = &plan.description {
        let _ = writeln!(o, "          {}", d.trim());
    }
    let _ = writeln!(o, "FILE      {}", plan.runbook_path);
    if let Some(s) = &plan.source {
        let _ = writeln!(o, "SOURCE    {s}");
    }
    let _ = writeln!(o, "INVENTORY {}", plan.inventory_path);
    for s in &plan.servers {
        let _ = writeln!(o, "  server  {s}");
    }
    for (alias, server) in &plan.pins {
        let _ = writeln!(
            o,
            "  pin     {alias} = {server} (captured when the run begins)"
        );
    }
    for (name, source) in &plan.secrets {
        let _ = writeln!(o, "  secret  {name} = **** from {source}");
    }
    let _ = write!(o, "\n{}", outline::text(&outline(plan)));
    for phase in &plan.phases {
        let _ = writeln!(
            o,
            "\nPHASE {}  {}  [{}]",
            phase.number, phase.title, phase.id
        );
        if let Some(w) = &phase.why {
            let _ = writeln!(o, "{}", indent(w.trim(), "  "));
        }
        notes_text(&mut o, &phase.notes, "  ");
        for step in &phase.steps {
            step_text(&mut o, step);
        }
    }
    o
}

fn step_text(o: &mut String, s: &PlanStep) {
    let reference = s
        .reference
        .as_deref()
        .map(|r| format!("  (seed {r})"))
        .unwrap_or_default();
    let _ = writeln!(
        o,
        "\n  {}  {}  [{}] {}{reference}",
        s.number, s.title, s.kind, s.id
    );
    let pad = "       ";
    if let Some(t) = &s.target {
        let _ = writeln!(o, "{pad}target: {t}");
    }
    if let Some(w) = &s.why {
        let _ = writeln!(o, "{}", indent(&format!("why: {}", w.trim()), pad));
    }
    for g in &s.gates {
        let _ = writeln!(o, "{pad}gate: {g}");
    }
    for b in &s.body {
        match b {
            Block::Code { lang, on, text } => {
                let on = on
                    .as_deref()
                    .map(|o| format!(" on {o}"))
                    .unwrap_or_default();
                let _ = writeln!(o, "{pad}{lang}{on}:");
                let _ = writeln!(o, "{}", indent(text.trim_end(), &format!("{pad}  ")));
            }
            Block::Line(label, text) => {
                let _ = writeln!(o, "{}", indent(&format!("{label}: {}", text.trim()), pad));
            }
        }
    }
    if s.destructive {
        let _ = writeln!(
            o,
            "{pad}DESTRUCTIVE: the operator types the target's name to confirm"
        );
    }
    if s.second_approval {
        let _ = writeln!(
            o,
            "{pad}FOUR EYES: a second operator, attached, approves before it runs"
        );
    }
    if let Some(configured) = s.probe {
        let _ = writeln!(o, "{pad}PROBE: {}", probe_line(configured));
    }
    if let Some(r) = &s.rollback {
        let _ = writeln!(o, "{}", indent(&format!("rollback: {}", r.trim()), pad));
    }
    if let Some(t) = s.timeout {
        let _ = writeln!(o, "{pad}timeout: {}", format_duration(t));
    }
    notes_text(o, &s.notes, pad);
}

fn notes_text(o: &mut String, notes: &[Note], pad: &str) {
    for n in notes {
        let _ = writeln!(
            o,
            "{}",
            indent(&format!("{}: {}", n.kind.label(), n.text.trim()), pad)
        );
    }
}

fn indent(text: &str, pad: &str) -> String {
    text.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{pad}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn render_markdown(plan: &Plan) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# {}\n", plan.name);
    if let Some(d) = &plan.description {
        let _ = writeln!(o, "{}\n", d.trim());
    }
    let _ = writeln!(o, "| | |\n|---|---|");
    if let Some(v) = &plan.versions {
        let _ = writeln!(o, "| Versions | {v} |");
    }
    let _ = writeln!(o, "| Runbook | `{}` |", plan.runbook_path);
    if let Some(s) = &plan.source {
        let _ = writeln!(o, "| Source | {s} |");
    }
    let _ = writeln!(o, "| Inventory | `{}` |", plan.inventory_path);
    for s in &plan.servers {
        let _ = writeln!(o, "| Server | {s} |");
    }
    for (alias, server) in &plan.pins {
        let _ = writeln!(
            o,
            "| Pin | `{alias}` = {server} (captured when the run begins) |"
        );
    }
    for (name, source) in &plan.secrets {
        let _ = writeln!(o, "| Secret | `{name}` = `****` from {source} |");
    }
    let _ = write!(o, "\n{}", outline::markdown(&outline(plan)));
    for phase in &plan.phases {
        let _ = writeln!(o, "\n## Phase {}: {}\n", phase.number, phase.title);
        if let Some(w) = &phase.why {
            let _ = writeln!(o, "{}\n", w.trim());
        }
        notes_md(&mut o, &phase.notes);
        for step in &phase.steps {
            step_md(&mut o, step);
        }
    }
    o
}

fn step_md(o: &mut String, s: &PlanStep) {
    let reference = s
        .reference
        .as_deref()
        .map(|r| format!(" (seed {r})"))
        .unwrap_or_default();
    let _ = writeln!(o, "### {} {}{reference}\n", s.number, s.title);
    let _ = writeln!(o, "- **Step:** `{}` ({})", s.id, s.kind);
    if let Some(t) = &s.target {
        let _ = writeln!(o, "- **Target:** {t}");
    }
    for g in &s.gates {
        let _ = writeln!(o, "- **Gate:** `{g}` must hold");
    }
    if s.destructive {
        let _ = writeln!(
            o,
            "- **Destructive:** the operator types the target's name to confirm"
        );
    }
    if s.second_approval {
        let _ = writeln!(
            o,
            "- **Four eyes:** a second operator, attached to the session, approves before it runs"
        );
    }
    if let Some(configured) = s.probe {
        let _ = writeln!(o, "- **Probe:** {}", probe_line(configured));
    }
    if let Some(t) = s.timeout {
        let _ = writeln!(o, "- **Timeout:** {}", format_duration(t));
    }
    if let Some(r) = &s.rollback {
        let _ = writeln!(o, "- **Rollback:** {}", r.trim().replace('\n', " "));
    }
    if let Some(w) = &s.why {
        let _ = writeln!(o, "\n{}", w.trim());
    }
    let _ = writeln!(o);
    for b in &s.body {
        match b {
            Block::Code { lang, on, text } => {
                if let Some(on) = on {
                    let _ = writeln!(o, "On {on}:\n");
                }
                let _ = writeln!(o, "```{lang}\n{}\n```\n", text.trim_end());
            }
            Block::Line(label, text) => {
                let _ = writeln!(o, "- *{label}:* {}", text.trim().replace('\n', " "));
            }
        }
    }
    if s.body.iter().any(|b| matches!(b, Block::Line(..))) {
        let _ = writeln!(o);
    }
    notes_md(o, &s.notes);
}

fn notes_md(o: &mut String, notes: &[Note]) {
    for n in notes {
        let _ = writeln!(
            o,
            "> **{}:** {}\n",
            n.kind.label(),
            n.text.trim().replace('\n', " ")
        );
    }
}

/// What a probed step's plan says, with or without a `[probe]` in the inventory.
fn probe_line(configured: bool) -> &'static str {
    if configured {
        "writes and reads through the router are measured while it runs"
    } else {
        "marked for the write-availability probe, but the inventory has no [probe]"
    }
}

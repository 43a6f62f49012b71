//! The report as Markdown, for a change ticket: the summary, write availability per
//! switchover, versions, the lag chart (an image beside the file), the timeline, each
//! step's details, the notes and the record.

use std::fmt::Write as _;

use super::text::{self, one_line};
use super::{Attempt, Report, StepReport};

/// Renders `r`; `chart` is the lag chart's path relative to the Markdown file, if one
/// was written.
pub fn render(r: &Report, chart: Option<&str>) -> String {
    let mut o = String::new();
    let title = r
        .runbook
        .as_ref()
        .map_or_else(|| r.header.runbook_path.clone(), |rb| rb.name.clone());
    let _ = writeln!(o, "# Change report: {}\n", one_line(&title));
    if let Some(banner) = r.unfinished() {
        let _ = writeln!(o, "> **{}**\n", banner);
    }
    summary(&mut o, r);
    versions(&mut o, r);
    lag(&mut o, r, chart);
    probes(&mut o, r);
    timeline(&mut o, r);
    if !r.steps.is_empty() {
        let _ = writeln!(o, "## Steps\n");
    }
    for (n, st) in (1..).zip(&r.steps) {
        step(&mut o, n, st);
    }
    notes(&mut o, r);
    record(&mut o, r);
    o
}

fn summary(o: &mut String, r: &Report) {
    let h = &r.header;
    let rows = [
        ("Outcome", text::outcome_line(r)),
        ("Runbook", text::digest(&h.runbook_path, &h.runbook_sha256)),
        (
            "Inventory",
            text::digest(&h.inventory_path, &h.inventory_sha256),
        ),
        ("Operators", text::operators_line(r)),
        ("Write unavailability", text::probes_line(r)),
        ("Start", text::date_time(&r.start)),
        ("End (last event)", text::date_time(&r.end)),
        ("Duration", text::duration(Some(r.duration))),
        ("Journal", r.journal.display().to_string()),
        ("flightdeck", h.flightdeck_version.clone()),
    ];
    let _ = writeln!(o, "| | |\n|---|---|");
    for (k, v) in rows {
        let _ = writeln!(o, "| **{k}** | {} |", cell(&v));
    }
    if r.runbook.is_none() {
        let _ = writeln!(
            o,
            "\nStep titles are not shown: the runbook file is not at its recorded path or \
             no longer has the recorded digest."
        );
    }
    if let Some(t) = &r.torn_tail {
        let _ = writeln!(
            o,
            "\nThe journal's last line ({}, {} bytes) is incomplete: a write cut short by a \
             crash, never acknowledged. It is left out.",
            t.line, t.bytes
        );
    }
    o.push('\n');
}

fn probes(o: &mut String, r: &Report) {
    let _ = writeln!(o, "## Write availability\n");
    if r.probes.is_empty() {
        let _ = writeln!(
            o,
            "No write-availability probe was configured: nothing was measured.\n"
        );
        return;
    }
    let _ = writeln!(
        o,
        "Measured through the router while each step ran.\n\n\
         | step | attempt | writes unavailable | failed writes | first error | reads unavailable | router |\n\
         |---|---|---|---|---|---|---|"
    );
    for p in &r.probes {
        let p = &p.value;
        let _ = writeln!(
            o,
            "| `{}` | {} | {:.2} s | {} of {} | {} | {:.2} s | {} |",
            code(&p.step),
            p.attempt,
            p.write_unavailable_s,
            p.writes_failed,
            p.writes_ok.saturating_add(p.writes_failed),
            cell(p.first_error.as_deref().unwrap_or("—")),
            p.read_unavailable_s,
            cell(&p.router)
        );
    }
    o.push('\n');
}

fn versions(o: &mut String, r: &Report) {
    let _ = writeln!(o, "## Server versions\n");
    if r.versions.is_empty() {
        let _ = writeln!(o, "No server version was journaled.\n");
        return;
    }
    let _ = writeln!(o, "| server | before | after |\n|---|---|---|");
    for v in &r.versions {
        let after = if v.after == v.before {
            format!("{} (unchanged)", v.after)
        } else {
            format!("**{}**", v.after)
        };
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            cell(&v.server),
            cell(&v.before),
            cell(&after)
        );
    }
    o.push('\n');
}

fn lag(o: &mut String, r: &Report, chart: Option<&str>) {
    let _ = writeln!(o, "## Replication lag\n");
    if r.lag.times.is_empty() {
        let _ = writeln!(o, "No sample was journaled: there is no lag chart.\n");
        return;
    }
    match chart {
        Some(path) => {
            let _ = writeln!(o, "![Replication lag across the window]({path})\n");
        }
        None => {
            let _ = writeln!(
                o,
                "The lag chart is an image: `flightdeck report JOURNAL -o report.md` writes it \
                 beside the report as `report-lag.svg`, and `--format html` puts it inline.\n"
            );
        }
    }
    let _ = writeln!(
        o,
        "{} samples; one line per server with a known lag, one point per sample. Where a \
         server's lag was unknown its line is drawn at 0 over a shaded band; a primary is \
         drawn at 0. Vertical lines mark switchover, MaxScale, probed and phase-opening \
         steps; ticks mark every other step start.\n",
        r.lag.times.len()
    );
}

fn timeline(o: &mut String, r: &Report) {
    let _ = writeln!(o, "## Timeline\n");
    if r.steps.is_empty() {
        let _ = writeln!(o, "No step was journaled.\n");
        return;
    }
    let _ = writeln!(
        o,
        "| # | step | confirmed by | started (UTC) | duration | outcome | servers |\n\
         |---|---|---|---|---|---|---|"
    );
    for (n, st) in (1..).zip(&r.steps) {
        let started = st
            .attempts
            .first()
            .map_or("—", |a| text::time_of_day(&a.started));
        let _ = writeln!(
            o,
            "| {n} | {} | {} | {started} | {} | {} | {} |",
            step_name(st),
            cell(&text::confirmed_by(st)),
            text::duration(text::step_duration(st)),
            cell(&outcome_cell(st)),
            cell(&text::servers(st)),
        );
    }
    if !r.not_reached.is_empty() {
        let _ = writeln!(o, "\nNot reached: {}.", cell(&r.not_reached.join(", ")));
    }
    o.push('\n');
}

fn outcome_cell(st: &StepReport) -> String {
    let s = text::step_outcome(st);
    if text::step_alarming(st) {
        format!("**{s}**")
    } else {
        s
    }
}

fn step_name(st: &StepReport) -> String {
    match &st.title {
        Some(t) => format!("`{}` {}", code(&st.id), cell(t)),
        None => format!("`{}`", code(&st.id)),
    }
}

fn step(o: &mut String, n: usize, st: &StepReport) {
    let _ = writeln!(o, "### {n}. {}\n", step_name(st));
    let mut facts: Vec<String> = Vec::new();
    if let Some(p) = &st.phase {
        facts.push(format!("Phase: {}", one_line(p)));
    }
    facts.push(format!("Outcome: {}", outcome_cell(st)));
    for c in &st.confirmations {
        let typed = c
            .value
            .1
            .as_ref()
            .map(|t| format!(", typing `{}`", one_line(t)))
            .unwrap_or_default();
        facts.push(format!(
            "Confirmed by {} at {}{typed}",
            one_line(&c.value.0),
            text::time_of_day(&c.ts)
        ));
    }
    for a in &st.approvals {
        let v = &a.value;
        facts.push(format!(
            "Approved by {} (second operator for {}, typed `{}`) at {}",
            one_line(&v.approver),
            one_line(&v.driver),
            one_line(&v.typed),
            text::time_of_day(&a.ts)
        ));
    }
    for f in &st.refusals {
        facts.push(format!(
            "Approval refused by {}: {}",
            one_line(&f.value.0),
            one_line(&f.value.1)
        ));
    }
    for ov in &st.overrides {
        facts.push(format!(
            "**OVERRIDE** at {}: {} (failed gates: {})",
            text::time_of_day(&ov.ts),
            one_line(&ov.value.0),
            one_line(&ov.value.1.join("; "))
        ));
    }
    if let Some(s) = &st.skip {
        facts.push(format!(
            "Skipped at {}: {}",
            text::time_of_day(&s.ts),
            one_line(&s.value)
        ));
    }
    if let Some(v) = &st.verified {
        facts.push(format!(
            "Verified done by hand by {} at {}: {}",
            one_line(&v.value.0),
            text::time_of_day(&v.ts),
            one_line(&v.value.1)
        ));
    }
    for g in &st.gates_unstarted {
        facts.push(format!("Gate (not followed by a start): {}", gate(g)));
    }
    for f in facts {
        let _ = writeln!(o, "- {f}");
    }
    o.push('\n');
    let mut previous: Option<&str> = None;
    for a in &st.attempts {
        attempt(o, a, previous);
        previous = Some(&a.rendered);
    }
}

fn gate(g: &super::Gate) -> String {
    let mark = if g.holds { "✔" } else { "✘" };
    let seen = if g.observed.is_empty() {
        String::new()
    } else {
        format!(" — observed {}", g.observed.join(", "))
    };
    one_line(&format!("{mark} `{}`{seen}", g.condition))
}

fn attempt(o: &mut String, a: &Attempt, previous: Option<&str>) {
    let _ = writeln!(
        o,
        "Attempt {} started {} on {}, {}: {}\n",
        a.attempt,
        text::time_of_day(&a.started),
        if a.servers.is_empty() {
            "—".to_string()
        } else {
            a.servers.join(", ")
        },
        text::duration(a.duration),
        if text::attempt_alarming(a) {
            format!("**{}**", text::attempt_outcome(a))
        } else {
            text::attempt_outcome(a)
        }
    );
    for g in &a.gates {
        let _ = writeln!(o, "- Gate at start: {}", gate(g));
    }
    if let Some(p) = &a.probe {
        let _ = writeln!(o, "- Write probe: {}", one_line(&p.summary()));
    }
    if !a.gates.is_empty() || a.probe.is_some() {
        o.push('\n');
    }
    match previous {
        Some(prev) if prev == a.rendered => {
            let _ = writeln!(o, "Sent the same as the attempt before.\n");
        }
        _ if a.rendered.is_empty() => {}
        _ => {
            let _ = writeln!(o, "Sent (masked):\n");
            fenced(o, &text::printable(&a.rendered));
        }
    }
    let ex = text::excerpt(&a.output);
    if ex.head.is_empty() {
        return;
    }
    let mut lines = ex.head.clone();
    if ex.omitted > 0 {
        lines.push(format!("… {} lines left out …", ex.omitted));
    }
    lines.extend(ex.tail);
    let _ = writeln!(o, "Output (excerpt):\n");
    fenced(o, &lines.join("\n"));
    if a.dropped_bytes > 0 {
        let _ = writeln!(
            o,
            "The journal dropped a further {} bytes of output.\n",
            a.dropped_bytes
        );
    }
}

/// A fenced block whose fence is longer than any backtick run inside.
fn fenced(o: &mut String, body: &str) {
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.saturating_add(1).max(3));
    let _ = writeln!(o, "{fence}text\n{}\n{fence}\n", body.trim_end());
}

fn notes(o: &mut String, r: &Report) {
    let _ = writeln!(o, "## Notes\n");
    if r.notes.is_empty() {
        let _ = writeln!(o, "No note was added.\n");
        return;
    }
    for n in &r.notes {
        let _ = writeln!(
            o,
            "- {} {}: {}",
            text::time_of_day(&n.ts),
            one_line(&n.operator),
            one_line(&n.text)
        );
    }
    o.push('\n');
}

fn record(o: &mut String, r: &Report) {
    let _ = writeln!(o, "## Record\n");
    let _ = writeln!(
        o,
        "| time (UTC) | what | step | who | detail |\n|---|---|---|---|---|"
    );
    for e in &r.record {
        let step = e
            .step
            .as_deref()
            .map(|s| format!("`{}`", code(s)))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "| {} | {} | {step} | {} | {} |",
            text::time_of_day(&e.ts),
            e.what,
            cell(&e.who),
            cell(&e.detail)
        );
    }
}

/// Text safe inside a Markdown table cell: one line, pipes escaped, no raw HTML.
fn cell(text: &str) -> String {
    one_line(text).replace('|', "\\|").replace('<', "&lt;")
}

/// Text for a code span inside a table cell: one line, pipes escaped.
fn code(text: &str) -> String {
    one_line(text).replace('|', "\\|")
}

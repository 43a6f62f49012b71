//! The report as one self-contained page: inline CSS and the lag chart as inline SVG,
//! nothing fetched (no fonts, scripts or images). It is well-formed XML (XHTML: every
//! tag closed, every text escaped, no named entity beyond XML's own), so it can be
//! checked with an XML parser, and prints cleanly.

use std::fmt::Write as _;

use super::text::{self, one_line};
use super::{Report, StepReport};

mod steps;

const CSS: &str = include_str!("report.css");

/// Renders `r`, with `svg` (the lag chart document) inline.
pub fn render(r: &Report, svg: Option<&str>) -> String {
    let mut o = String::new();
    let title = r
        .runbook
        .as_ref()
        .map_or_else(|| r.header.runbook_path.clone(), |rb| rb.name.clone());
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n\
         <meta charset=\"utf-8\"/>\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n\
         <title>Change report: {}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n",
        esc(&one_line(&title))
    );
    let _ = writeln!(
        o,
        "<h1>Change report: {}</h1>\n<p class=\"sub\">{} to {}</p>",
        esc(&one_line(&title)),
        esc(&text::date_time(&r.start)),
        esc(&text::date_time(&r.end))
    );
    if let Some(banner) = r.unfinished() {
        let _ = writeln!(o, "<p class=\"banner\">{}</p>", esc(&banner));
    }
    summary(&mut o, r);
    versions(&mut o, r);
    lag(&mut o, r, svg);
    probes(&mut o, r);
    timeline(&mut o, r);
    let _ = writeln!(o, "<h2>Steps</h2>");
    for (n, st) in (1..).zip(&r.steps) {
        steps::step(&mut o, n, st);
    }
    notes(&mut o, r);
    record(&mut o, r);
    let _ = writeln!(
        o,
        "<footer>Made by flightdeck {} from the journal {}. Times are UTC; secrets were \
         masked when the journal was written.</footer>\n</body>\n</html>",
        esc(env!("CARGO_PKG_VERSION")),
        esc(&r.journal.display().to_string())
    );
    o
}

fn summary(o: &mut String, r: &Report) {
    let h = &r.header;
    let outcome_class = if r.finished() { "ok" } else { "bad" };
    let _ = writeln!(o, "<section class=\"summary\">\n<dl>");
    let _ = writeln!(
        o,
        "<dt>Outcome</dt><dd class=\"{outcome_class}\">{}</dd>",
        esc(&text::outcome_line(r))
    );
    let rows = [
        ("Duration", text::duration(Some(r.duration))),
        ("Operators", text::operators_line(r)),
        ("Runbook", text::digest(&h.runbook_path, &h.runbook_sha256)),
        (
            "Inventory",
            text::digest(&h.inventory_path, &h.inventory_sha256),
        ),
    ];
    for (k, v) in rows {
        let _ = writeln!(o, "<dt>{k}</dt><dd>{}</dd>", esc(&v));
    }
    let _ = write!(o, "<dt>Write unavailability</dt><dd>");
    if r.probes.is_empty() {
        let _ = write!(o, "no write-availability probe was configured");
    } else {
        let _ = write!(o, "<ul>");
        for p in &r.probes {
            let _ = write!(
                o,
                "<li><code>{}</code>: {}</li>",
                esc(&p.value.step),
                esc(&one_line(&p.value.summary()))
            );
        }
        let _ = write!(o, "</ul>");
    }
    let _ = writeln!(o, "</dd>\n</dl>");
    if r.runbook.is_none() {
        let _ = writeln!(
            o,
            "<p class=\"small\">Step titles are not shown: the runbook file is not at its \
             recorded path or no longer has the recorded digest.</p>"
        );
    }
    if let Some(t) = &r.torn_tail {
        let _ = writeln!(
            o,
            "<p class=\"small\">The journal's last line ({}, {} bytes) is incomplete, a write \
             cut short by a crash and never acknowledged: it is left out.</p>",
            t.line, t.bytes
        );
    }
    let _ = writeln!(o, "</section>");
}

fn versions(o: &mut String, r: &Report) {
    let _ = writeln!(o, "<h2>Server versions</h2>");
    if r.versions.is_empty() {
        let _ = writeln!(o, "<p>No server version was journaled.</p>");
        return;
    }
    let _ = writeln!(
        o,
        "<table class=\"narrow\">\n<tr><th>server</th><th>before</th><th>after</th></tr>"
    );
    for v in &r.versions {
        let after = if v.after == v.before {
            format!("{} <span class=\"small\">(unchanged)</span>", esc(&v.after))
        } else {
            format!("<strong>{}</strong>", esc(&v.after))
        };
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{after}</td></tr>",
            esc(&v.server),
            esc(&v.before)
        );
    }
    let _ = writeln!(o, "</table>");
}

fn lag(o: &mut String, r: &Report, svg: Option<&str>) {
    let _ = writeln!(o, "<h2>Replication lag</h2>");
    let Some(svg) = svg else {
        let _ = writeln!(o, "<p>No sample was journaled: there is no lag chart.</p>");
        return;
    };
    let _ = writeln!(
        o,
        "<figure>\n{}\n<figcaption>{} samples; one line per server with a known lag, one \
         point per sample. Where a server's lag was unknown its line is drawn at 0 over a \
         shaded band; a primary is drawn at 0. Vertical lines mark switchover, MaxScale, \
         probed and phase-opening steps; ticks mark every other step start.</figcaption>\n\
         </figure>",
        svg.trim(),
        r.lag.times.len()
    );
}

fn probes(o: &mut String, r: &Report) {
    let _ = writeln!(o, "<h2>Write availability</h2>");
    if r.probes.is_empty() {
        let _ = writeln!(
            o,
            "<p>No write-availability probe was configured: nothing was measured.</p>"
        );
        return;
    }
    let _ = writeln!(
        o,
        "<p>Measured through the router while each step ran.</p>\n<table>\n<tr><th>step</th>\
         <th>attempt</th><th>writes unavailable</th><th>failed writes</th><th>first error</th>\
         <th>reads unavailable</th><th>router</th></tr>"
    );
    for p in &r.probes {
        let p = &p.value;
        let _ = writeln!(
            o,
            "<tr><td><code>{}</code></td><td>{}</td><td>{:.2} s</td><td>{} of {}</td>\
             <td>{}</td><td>{:.2} s</td><td>{}</td></tr>",
            esc(&p.step),
            p.attempt,
            p.write_unavailable_s,
            p.writes_failed,
            p.writes_ok.saturating_add(p.writes_failed),
            esc(&one_line(p.first_error.as_deref().unwrap_or("—"))),
            p.read_unavailable_s,
            esc(&p.router)
        );
    }
    let _ = writeln!(o, "</table>");
}

fn timeline(o: &mut String, r: &Report) {
    let _ = writeln!(o, "<h2>Timeline</h2>");
    if r.steps.is_empty() {
        let _ = writeln!(o, "<p>No step was journaled.</p>");
        return;
    }
    let _ = writeln!(
        o,
        "<table>\n<tr><th>#</th><th>step</th><th>confirmed by</th><th>started</th>\
         <th>duration</th><th>outcome</th><th>servers</th></tr>"
    );
    for (n, st) in (1..).zip(&r.steps) {
        let started = st
            .attempts
            .first()
            .map_or("—", |a| text::time_of_day(&a.started));
        let _ = writeln!(
            o,
            "<tr><td>{n}</td><td><a href=\"#step-{n}\">{}</a></td><td>{}</td><td>{}</td>\
             <td>{}</td>{}<td>{}</td></tr>",
            step_name(st),
            esc(&text::confirmed_by(st)),
            esc(started),
            esc(&text::duration(text::step_duration(st))),
            outcome_cell(st),
            esc(&text::servers(st))
        );
    }
    let _ = writeln!(o, "</table>");
    if !r.not_reached.is_empty() {
        let _ = writeln!(o, "<p>Not reached: {}.</p>", esc(&r.not_reached.join(", ")));
    }
}

fn outcome_cell(st: &StepReport) -> String {
    let class = if text::step_alarming(st) {
        " class=\"bad\""
    } else {
        ""
    };
    format!("<td{class}>{}</td>", esc(&text::step_outcome(st)))
}

pub(super) fn step_name(st: &StepReport) -> String {
    match &st.title {
        Some(t) => format!("<code>{}</code> {}", esc(&st.id), esc(&one_line(t))),
        None => format!("<code>{}</code>", esc(&st.id)),
    }
}

fn notes(o: &mut String, r: &Report) {
    let _ = writeln!(o, "<h2>Notes</h2>");
    if r.notes.is_empty() {
        let _ = writeln!(o, "<p>No note was added.</p>");
        return;
    }
    let _ = writeln!(o, "<ul>");
    for n in &r.notes {
        let _ = writeln!(
            o,
            "<li>{} <strong>{}</strong>: {}</li>",
            esc(text::time_of_day(&n.ts)),
            esc(&one_line(&n.operator)),
            esc(&one_line(&n.text))
        );
    }
    let _ = writeln!(o, "</ul>");
}

fn record(o: &mut String, r: &Report) {
    let _ = writeln!(
        o,
        "<h2>Record</h2>\n<table class=\"record\">\n<tr><th>time</th><th>what</th><th>step</th>\
         <th>who</th><th>detail</th></tr>"
    );
    for e in &r.record {
        let step = e
            .step
            .as_deref()
            .map(|s| format!("<code>{}</code>", esc(s)))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{step}</td><td>{}</td><td>{}</td></tr>",
            esc(text::time_of_day(&e.ts)),
            esc(e.what),
            esc(&one_line(&e.who)),
            esc(&one_line(&e.detail))
        );
    }
    let _ = writeln!(o, "</table>");
}

/// Text for XML: control characters made visible, `& < > " '` escaped.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text::printable(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

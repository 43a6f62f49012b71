//! One step of the HTML report: what was confirmed, approved, overridden, skipped or
//! verified, then each attempt with its gates, probe, command and output excerpt.

use std::fmt::Write as _;

use super::{esc, step_name};
use crate::report::text::{self, one_line};
use crate::report::{Attempt, Gate, StepReport};

pub(super) fn step(o: &mut String, n: usize, st: &StepReport) {
    let _ = writeln!(
        o,
        "<section class=\"step\" id=\"step-{n}\">\n<h3>{n}. {}</h3>\n<ul>",
        step_name(st)
    );
    if let Some(p) = &st.phase {
        let _ = writeln!(o, "<li>Phase: {}</li>", esc(&one_line(p)));
    }
    let unknown = if text::step_alarming(st) {
        " class=\"bad\""
    } else {
        ""
    };
    let _ = writeln!(
        o,
        "<li{unknown}>Outcome: {}</li>",
        esc(&text::step_outcome(st))
    );
    let mut facts: Vec<String> = Vec::new();
    for c in &st.confirmations {
        let typed = c
            .value
            .1
            .as_ref()
            .map(|t| format!(", typing {t}"))
            .unwrap_or_default();
        facts.push(format!(
            "Confirmed by {} at {}{typed}",
            c.value.0,
            text::time_of_day(&c.ts)
        ));
    }
    for a in &st.approvals {
        let v = &a.value;
        facts.push(format!(
            "Approved by {} (second operator for {}, typed {}) at {}",
            v.approver,
            v.driver,
            v.typed,
            text::time_of_day(&a.ts)
        ));
    }
    for f in &st.refusals {
        facts.push(format!("Approval refused by {}: {}", f.value.0, f.value.1));
    }
    if let Some(s) = &st.skip {
        facts.push(format!(
            "Skipped at {}: {}",
            text::time_of_day(&s.ts),
            s.value
        ));
    }
    if let Some(v) = &st.verified {
        facts.push(format!(
            "Verified done by hand by {} at {}: {}",
            v.value.0,
            text::time_of_day(&v.ts),
            v.value.1
        ));
    }
    for f in facts {
        let _ = writeln!(o, "<li>{}</li>", esc(&one_line(&f)));
    }
    for ov in &st.overrides {
        let _ = writeln!(
            o,
            "<li class=\"bad\">OVERRIDE at {}: {} (failed gates: {})</li>",
            esc(text::time_of_day(&ov.ts)),
            esc(&one_line(&ov.value.0)),
            esc(&one_line(&ov.value.1.join("; ")))
        );
    }
    for g in &st.gates_unstarted {
        let _ = writeln!(o, "<li>Gate (not followed by a start): {}</li>", gate(g));
    }
    let _ = writeln!(o, "</ul>");
    let mut previous: Option<&str> = None;
    for a in &st.attempts {
        attempt(o, a, previous);
        previous = Some(&a.rendered);
    }
    let _ = writeln!(o, "</section>");
}

fn gate(g: &Gate) -> String {
    let (mark, class) = if g.holds {
        ("✔", "ok")
    } else {
        ("✘", "bad")
    };
    let seen = if g.observed.is_empty() {
        String::new()
    } else {
        format!(" — observed {}", esc(&one_line(&g.observed.join(", "))))
    };
    format!(
        "<span class=\"{class}\">{mark}</span> <code>{}</code>{seen}",
        esc(&one_line(&g.condition))
    )
}

fn attempt(o: &mut String, a: &Attempt, previous: Option<&str>) {
    let class = if text::attempt_alarming(a) {
        " class=\"bad\""
    } else {
        ""
    };
    let servers = if a.servers.is_empty() {
        "—".to_string()
    } else {
        a.servers.join(", ")
    };
    let _ = writeln!(
        o,
        "<h4>Attempt {} started {} on {}, {}: <span{class}>{}</span></h4>",
        a.attempt,
        esc(text::time_of_day(&a.started)),
        esc(&servers),
        esc(&text::duration(a.duration)),
        esc(&text::attempt_outcome(a))
    );
    if !a.gates.is_empty() || a.probe.is_some() {
        let _ = writeln!(o, "<ul>");
        for g in &a.gates {
            let _ = writeln!(o, "<li>Gate at start: {}</li>", gate(g));
        }
        if let Some(p) = &a.probe {
            let _ = writeln!(o, "<li>Write probe: {}</li>", esc(&one_line(&p.summary())));
        }
        let _ = writeln!(o, "</ul>");
    }
    match previous {
        Some(prev) if prev == a.rendered => {
            let _ = writeln!(
                o,
                "<p class=\"small\">Sent the same as the attempt before.</p>"
            );
        }
        _ if a.rendered.is_empty() => {}
        _ => {
            let _ = writeln!(
                o,
                "<p class=\"label\">Sent (masked)</p>\n<pre>{}</pre>",
                esc(a.rendered.trim_end())
            );
        }
    }
    let ex = text::excerpt(&a.output);
    if ex.head.is_empty() {
        return;
    }
    let mut body = esc(&ex.head.join("\n"));
    if ex.omitted > 0 {
        let _ = write!(
            body,
            "\n<span class=\"small\">… {} lines left out …</span>",
            ex.omitted
        );
    }
    if !ex.tail.is_empty() {
        body.push('\n');
        body.push_str(&esc(&ex.tail.join("\n")));
    }
    let _ = writeln!(
        o,
        "<p class=\"label\">Output (excerpt)</p>\n<pre>{body}</pre>"
    );
    if a.dropped_bytes > 0 {
        let _ = writeln!(
            o,
            "<p class=\"small\">The journal dropped a further {} bytes of output.</p>",
            a.dropped_bytes
        );
    }
}

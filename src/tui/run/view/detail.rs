//! The selected step's detail, in the order an operator reads before confirming: what it
//! acts on, the exact command (or what was sent, for a started step), its gates with live
//! values, where it stands, its output, and then why and the notes. Scrolls with
//! PgUp/PgDn and the mouse wheel; the title says when there is more.

use std::time::Instant;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::runbook::{Action, NoteKind, Step};
use crate::session::run::StepState;
use crate::tui::run::app::RunApp;
use crate::tui::run::describe::{describe, unknown_switchover};
use crate::tui::theme::Theme;

/// Output lines shown at most (the newest); the journal holds them all.
const OUTPUT_SHOWN: usize = 200;

pub fn render(app: &RunApp, f: &mut Frame, area: Rect, now: Instant, theme: &Theme) {
    let Some(step) = app.selected_step() else {
        return;
    };
    let lines = lines(app, step, now, theme);
    let paragraph = Paragraph::new(lines).wrap(Wrap { trim: false });
    let inner_height = area.height.saturating_sub(2);
    let total = paragraph.line_count(area.width.saturating_sub(2)) as u16;
    let max = total.saturating_sub(inner_height);
    app.detail_scroll_max.set(max);
    let scroll = app.detail_scroll.min(max);
    let mut title = vec![Span::styled(" step ", theme.header())];
    if scroll > 0 {
        title.push(Span::styled(" ↑ PgUp ", theme.accent()));
    }
    if scroll < max {
        let below = max - scroll;
        title.push(Span::styled(
            format!(" ↓ {below} more lines: PgDn "),
            theme.accent(),
        ));
    }
    f.render_widget(
        paragraph
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(Line::from(title)),
            )
            .scroll((scroll, 0)),
        area,
    );
}

fn lines(app: &RunApp, step: &Step, now: Instant, theme: &Theme) -> Vec<Line<'static>> {
    let id = step.id.value.as_str();
    let state = app.run.state(id);
    let d = describe(app, step);
    let mut lines = vec![Line::styled(
        format!("{id} [{}] {}", step.action.kind(), step.title),
        theme.header(),
    )];
    if let Some(t) = &step.target {
        let when = if d.frozen { " (as first started)" } else { "" };
        lines.push(Line::raw(format!(
            "target: {} → {}{when}",
            t.value,
            d.servers.join(", ")
        )));
    }
    if let Some(dir) = &d.direction {
        lines.push(Line::styled(
            format!("writes move from {} to {}", dir.from, dir.to),
            theme.warn(),
        ));
    }
    if step.destructive {
        lines.push(Line::styled(
            "DESTRUCTIVE: confirmed by typing the name it acts on",
            theme.bad(),
        ));
    }
    if state == &StepState::Unknown {
        lines.push(Line::styled(
            "? outcome unknown: the process stopped while this step ran. Verify by hand, then \
             v (verified done, with a reason), Enter (re-run exactly what was sent) or s (skip).",
            theme.bad(),
        ));
        if let Some(s) = unknown_switchover(app, step) {
            lines.push(Line::styled(s, theme.warn()));
        }
    }
    let started = !matches!(state, StepState::Pending);
    match (&d.sent, started) {
        (Some(sent), true) => {
            let attempts = app.run.attempts(id);
            lines.push(Line::styled(
                format!("sent (attempt {attempts}):"),
                theme.dim(),
            ));
            lines.extend(
                sent.lines()
                    .map(|l| Line::styled(format!("  {l}"), theme.accent())),
            );
        }
        _ => match &d.command {
            Ok(cmd) => {
                lines.extend(
                    cmd.iter()
                        .map(|l| Line::styled(format!("  {l}"), theme.accent())),
                );
            }
            Err(e) => lines.push(Line::styled(format!("cannot resolve: {e}"), theme.bad())),
        },
    }
    if state == &StepState::Pending
        && let Some(e) = app.condition_now(step)
    {
        let (head, style) = if e.holds {
            ("holds now:", theme.ok())
        } else {
            ("does not hold now:", theme.warn())
        };
        lines.push(Line::styled(head, style));
        lines.extend(
            e.observed
                .into_iter()
                .map(|o| Line::styled(format!("    {o}"), theme.dim())),
        );
    }
    for (gate, e) in app.gates(step) {
        let (mark, style) = if e.holds {
            ("✔", theme.ok())
        } else {
            ("✘", theme.bad())
        };
        lines.push(Line::styled(format!("gate {mark} {gate}"), style));
        for o in e.observed {
            lines.push(Line::styled(format!("    {o}"), theme.dim()));
        }
    }
    lines.extend(state_lines(app, step, now, theme));
    if let Some(out) = app.output.get(id) {
        let skip = out.len().saturating_sub(OUTPUT_SHOWN);
        if skip > 0 {
            lines.push(Line::styled(
                format!("… {skip} earlier output lines are in the journal"),
                theme.dim(),
            ));
        }
        for (stream, text) in &out[skip..] {
            let style = if *stream == "stderr" {
                theme.warn()
            } else {
                theme.dim()
            };
            lines.push(Line::styled(format!("│ {text}"), style));
        }
    }
    if let Some(w) = &step.why {
        lines.push(Line::raw(format!("why: {}", w.trim())));
    }
    for n in &step.notes {
        let style = if n.kind == NoteKind::Warning {
            theme.warn()
        } else {
            theme.dim()
        };
        lines.push(Line::styled(
            format!("{}: {}", n.kind.label(), n.text.trim()),
            style,
        ));
    }
    if let Some(r) = &step.rollback {
        lines.push(Line::styled(format!("rollback: {}", r.trim()), theme.dim()));
    }
    lines
}

fn state_lines(app: &RunApp, step: &Step, now: Instant, theme: &Theme) -> Vec<Line<'static>> {
    let id = step.id.value.as_str();
    let mut lines = Vec::new();
    match app.run.state(id) {
        StepState::Running {
            started, progress, ..
        } => {
            let secs = now.saturating_duration_since(*started).as_secs_f64();
            lines.push(Line::styled(format!("running {secs:.1} s"), theme.accent()));
            if let Some(p) = progress {
                lines.push(Line::styled(p.clone(), theme.accent()));
            }
        }
        StepState::Succeeded { detail } | StepState::Failed { detail }
            if matches!(step.action, Action::Check { .. } | Action::Wait { .. })
                && !app.run.overrides.contains_key(id)
                && !app.run.verified.contains_key(id) =>
        {
            // A condition's result is its observed facts, each with its own mark.
            let (head, style) = match app.run.state(id) {
                StepState::Succeeded { .. } => ("✔ held, as observed:", theme.ok()),
                _ => ("✘ did not hold, as observed:", theme.bad()),
            };
            lines.push(Line::styled(head, style));
            lines.extend(
                detail
                    .split("; ")
                    .map(|fact| Line::styled(format!("    {fact}"), theme.dim())),
            );
        }
        StepState::Succeeded { detail } => {
            lines.push(Line::styled(format!("✔ {detail}"), theme.ok()));
        }
        StepState::Failed { detail } => {
            lines.push(Line::styled(format!("✘ {detail}"), theme.bad()));
        }
        StepState::Skipped { reason } => {
            lines.push(Line::styled(format!("↷ skipped: {reason}"), theme.warn()));
        }
        // Said first, above the command: see `lines`.
        StepState::Unknown | StepState::Pending => {}
    }
    if let Some(j) = app.run.overrides.get(id) {
        lines.push(Line::styled(format!("overridden: {j}"), theme.warn()));
    }
    lines
}

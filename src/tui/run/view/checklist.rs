//! The checklist: phases with how they ended, steps with their state icons.

use std::time::Instant;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::session::run::StepState;
use crate::tui::run::app::{DisplayState, RunApp};
use crate::tui::theme::Theme;

const SPINNER: [&str; 4] = ["◐", "◓", "◑", "◒"];

fn icon(state: DisplayState, now: Instant, theme: &Theme) -> Span<'static> {
    match state {
        DisplayState::Pending => Span::styled("·", theme.dim()),
        DisplayState::Ready => Span::styled("▶", theme.accent()),
        DisplayState::Blocked => Span::styled("■", theme.warn()),
        DisplayState::Running(t) => {
            let i = (now.saturating_duration_since(t).as_millis() / 250) as usize % 4;
            Span::styled(SPINNER[i], theme.accent())
        }
        DisplayState::Succeeded => Span::styled("✔", theme.ok()),
        DisplayState::Failed => Span::styled("✘", theme.bad()),
        DisplayState::Skipped => Span::styled("↷", theme.warn()),
        DisplayState::Unknown => Span::styled("?", theme.bad()),
    }
}

/// A phase's header: folded or open, and for a finished phase whether it ended clean
/// (✔), with skipped steps (↷ N skipped) or with overrides or hand-verified steps (!).
fn phase_header(app: &RunApp, pi: usize, folded: bool, theme: &Theme) -> Line<'static> {
    let phase = &app.run.runbook.phases[pi];
    let ids = phase.steps.iter().map(|s| s.id.value.as_str());
    let finished = ids
        .clone()
        .filter(|id| app.run.state(id).is_finished())
        .count();
    let skipped = ids
        .clone()
        .filter(|id| matches!(app.run.state(id), StepState::Skipped { .. }))
        .count();
    let overridden = ids
        .clone()
        .filter(|id| app.run.overrides.contains_key(*id))
        .count();
    let verified = ids.filter(|id| app.run.verified.contains_key(*id)).count();
    let deviated = overridden + verified;
    let marker = if folded { "▸" } else { "▾" };
    let total = phase.steps.len();
    let mut spans = vec![Span::styled(
        format!("{marker} {} {} ({finished}/{total}", pi + 1, phase.title),
        theme.header(),
    )];
    if skipped > 0 {
        spans.push(Span::styled(format!(", {skipped} skipped"), theme.warn()));
    }
    if deviated > 0 {
        spans.push(Span::styled(
            format!(", {deviated} overridden"),
            theme.warn(),
        ));
    }
    spans.push(Span::styled(")", theme.header()));
    if finished == total {
        spans.push(if skipped + deviated == 0 {
            Span::styled(" ✔", theme.ok())
        } else if skipped > 0 {
            Span::styled(" ↷", theme.warn())
        } else {
            Span::styled(" !", theme.warn())
        });
    }
    Line::from(spans)
}

pub fn render(app: &RunApp, f: &mut Frame, area: Rect, now: Instant, theme: &Theme) {
    let mut lines = Vec::new();
    let mut selected_line = 0;
    let mut n = 0;
    for (pi, phase) in app.run.runbook.phases.iter().enumerate() {
        let holds_selection = (n..n + phase.steps.len()).contains(&app.selected);
        let all_finished = phase
            .steps
            .iter()
            .all(|s| app.run.state(&s.id.value).is_finished());
        // A phase is folded when the operator folded it, or when it is finished; the
        // phase holding the cursor is always open.
        let folded = !holds_selection && (app.folded.contains(&pi) || all_finished);
        lines.push(phase_header(app, pi, folded, theme));
        if folded {
            n += phase.steps.len();
            continue;
        }
        for step in &phase.steps {
            let state = app.display_state(step);
            let mut line = Line::from(vec![
                Span::raw(" "),
                icon(state, now, theme),
                Span::raw(format!(" {}", step.title)),
            ]);
            if n == app.selected {
                selected_line = lines.len();
                line = line.patch_style(theme.focus().add_modifier(Modifier::REVERSED));
            }
            lines.push(line);
            n += 1;
        }
    }
    let height = area.height.saturating_sub(2) as usize;
    let scroll = selected_line.saturating_sub(height / 2) as u16;
    let done = app.run.states.values().filter(|s| s.is_finished()).count();
    let title = format!(" {} · {done}/{} ", app.run.runbook.meta.name, n);
    f.render_widget(
        Paragraph::new(lines)
            .block(Block::default().borders(Borders::ALL).title(title))
            .scroll((scroll, 0)),
        area,
    );
}

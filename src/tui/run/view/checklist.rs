//! The checklist: phases with how they ended, steps with their state icons.

use std::time::{Instant, SystemTime};

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::session::view::{PhaseView, SessionView, Status};
use crate::tui::run::app::RunApp;
use crate::tui::theme::Theme;

const SPINNER: [&str; 4] = ["◐", "◓", "◑", "◒"];

fn icon(status: &Status, now: SystemTime, theme: &Theme) -> Span<'static> {
    match status {
        Status::Pending => Span::styled("·", theme.dim()),
        Status::Ready => Span::styled("▶", theme.accent()),
        Status::Blocked => Span::styled("■", theme.warn()),
        Status::Running { since, .. } => {
            let ms = now.duration_since(*since).unwrap_or_default().as_millis();
            Span::styled(SPINNER[(ms / 250) as usize % 4], theme.accent())
        }
        Status::Succeeded { .. } => Span::styled("✔", theme.ok()),
        Status::Failed { .. } => Span::styled("✘", theme.bad()),
        Status::Skipped { .. } => Span::styled("↷", theme.warn()),
        Status::Unknown => Span::styled("?", theme.bad()),
    }
}

/// A phase's header: folded or open, and for a finished phase whether it ended clean
/// (✔), with skipped steps (↷) or with overridden or hand-verified steps (!).
fn phase_header(p: &PhaseView, pi: usize, folded: bool, theme: &Theme) -> Line<'static> {
    let marker = if folded { "▸" } else { "▾" };
    // A repetition leads with its member: the pane is narrow at 80 columns, and the member
    // is what tells one repetition of a phase from the next.
    let title = match &p.repetition {
        Some(r) => format!("{} ({} of {}) · {}", r.member, r.index, r.count, r.title),
        None => p.title.clone(),
    };
    let mut spans = vec![Span::styled(
        format!("{marker} {} {title} ({}/{}", pi + 1, p.finished, p.len),
        theme.header(),
    )];
    if p.skipped > 0 {
        spans.push(Span::styled(
            format!(", {} skipped", p.skipped),
            theme.warn(),
        ));
    }
    if p.overridden > 0 {
        spans.push(Span::styled(
            format!(", {} overridden", p.overridden),
            theme.warn(),
        ));
    }
    if p.verified > 0 {
        spans.push(Span::styled(
            format!(", {} verified by hand", p.verified),
            theme.warn(),
        ));
    }
    spans.push(Span::styled(")", theme.header()));
    if p.finished == p.len {
        spans.push(if p.skipped + p.overridden + p.verified == 0 {
            Span::styled(" ✔", theme.ok())
        } else if p.skipped > 0 {
            Span::styled(" ↷", theme.warn())
        } else {
            Span::styled(" !", theme.warn())
        });
    }
    Line::from(spans)
}

pub fn render(
    app: &RunApp,
    session: &SessionView,
    f: &mut Frame,
    area: Rect,
    now: Instant,
    theme: &Theme,
) {
    // Spinners turn with the screen's clock; the view carries wall-clock start times.
    let wall = SystemTime::now() - now.elapsed();
    let mut lines = Vec::new();
    let mut selected_line = 0;
    for (pi, phase) in session.phases.iter().enumerate() {
        let steps = &session.steps[phase.first..phase.first + phase.len];
        let holds_selection = (phase.first..phase.first + phase.len).contains(&app.selected);
        // A phase is folded when the operator folded it, or when it is finished; the
        // phase holding the cursor is always open.
        let folded = !holds_selection && (app.folded.contains(&pi) || phase.finished == phase.len);
        lines.push(phase_header(phase, pi, folded, theme));
        if folded {
            continue;
        }
        for (i, step) in steps.iter().enumerate() {
            let mut line = Line::from(vec![
                Span::raw(" "),
                icon(&step.status, wall, theme),
                Span::raw(format!(" {}", step.title)),
            ]);
            if phase.first + i == app.selected {
                selected_line = lines.len();
                line = line.patch_style(theme.focus().add_modifier(Modifier::REVERSED));
            }
            lines.push(line);
        }
    }
    let height = area.height.saturating_sub(2) as usize;
    let scroll = selected_line.saturating_sub(height / 2) as u16;
    let done = session
        .steps
        .iter()
        .filter(|s| s.status.is_finished())
        .count();
    let title = format!(" {} · {done}/{} ", session.runbook, session.steps.len());
    f.render_widget(
        Paragraph::new(lines)
            .block(Block::default().borders(Borders::ALL).title(title))
            .scroll((scroll, 0)),
        area,
    );
}

//! The selected step's detail, in the order an operator reads before confirming: what it
//! acts on, the exact command (or what was sent, for a started step), its gates with live
//! values, where it stands, its output, and then why and the notes. Scrolls with
//! PgUp/PgDn and the mouse wheel; the title says when there is more.

use std::cell::RefCell;
use std::time::SystemTime;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::session::journal::Stream;
use crate::session::view::{SessionView, Status, StepView};
use crate::tui::run::app::RunApp;
use crate::tui::theme::Theme;

pub fn render(app: &RunApp, session: &SessionView, f: &mut Frame, area: Rect, theme: &Theme) {
    let Some(step) = app.selected_step(session) else {
        return;
    };
    let width = area.width.saturating_sub(2);
    let inner_height = area.height.saturating_sub(2);
    let (head, tail) = (head_lines(step, theme), tail_lines(step, theme));
    let rows = |lines: &[Line<'static>]| {
        Paragraph::new(lines.to_vec())
            .wrap(Wrap { trim: false })
            .line_count(width)
    };
    let total = rows(&head) + app.output_rows.count(step, width, theme) + rows(&tail);
    let max = u16::try_from(total)
        .unwrap_or(u16::MAX)
        .saturating_sub(inner_height);
    app.detail_scroll_max.set(max);
    let scroll = app.detail_scroll.min(max);
    // Only the output lines that can reach the pane are laid out: each takes at least one
    // row, so none past `scroll + inner_height` can show.
    let reach = usize::from(scroll) + usize::from(inner_height);
    let mut lines = head;
    lines.extend(output_lines(step, theme).take(reach));
    if step.output.len() <= reach {
        lines.extend(tail);
    }
    let mut title = vec![Span::styled(" step ", theme.header())];
    if scroll > 0 {
        title.push(Span::styled(" ↑ PgUp ", theme.accent()));
    }
    if scroll < max {
        title.push(Span::styled(
            format!(" ↓ {} more lines: PgDn ", max - scroll),
            theme.accent(),
        ));
    }
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(Line::from(title)),
            )
            .scroll((scroll, 0)),
        area,
    );
}

/// The rows a step's output wraps to, kept between frames: wrapping a few hundred output
/// lines on every frame was most of a frame's time, and the output of a step changes only
/// when a line arrives.
#[derive(Debug, Default)]
pub struct OutputRows(RefCell<Option<(OutputKey, usize)>>);

/// What the count depends on. Output only grows at its end (older lines are dropped from
/// the front), so its length, the count dropped and the last line's length identify it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OutputKey {
    step: String,
    attempts: u32,
    dropped: usize,
    len: usize,
    last: usize,
    width: u16,
}

impl OutputRows {
    fn count(&self, step: &StepView, width: u16, theme: &Theme) -> usize {
        let key = OutputKey {
            step: step.id.clone(),
            attempts: step.attempts,
            dropped: step.output_dropped,
            len: step.output.len(),
            last: step.output.last().map_or(0, |(_, text)| text.len()),
            width,
        };
        let mut cached = self.0.borrow_mut();
        match &*cached {
            Some((k, rows)) if *k == key => *rows,
            _ => {
                let rows = Paragraph::new(output_lines(step, theme).collect::<Vec<_>>())
                    .wrap(Wrap { trim: false })
                    .line_count(width);
                *cached = Some((key, rows));
                rows
            }
        }
    }
}

/// Everything above the output: what the step is, acts on and sends, its gates, where it
/// stands.
fn head_lines(s: &StepView, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = vec![Line::styled(
        format!("{} [{}] {}", s.id, s.kind, s.title),
        theme.header(),
    )];
    if let Some(t) = &s.target {
        let when = if s.frozen { " (as first started)" } else { "" };
        // A server named directly (as a repetition's `item` is) resolves to itself.
        let servers = if s.servers == [t.clone()] {
            String::new()
        } else {
            format!(" → {}", s.servers.join(", "))
        };
        lines.push(Line::raw(format!("target: {t}{servers}{when}")));
    }
    if let Some(dir) = &s.direction {
        lines.push(Line::styled(
            format!("writes move from {} to {}", dir.from, dir.to),
            theme.warn(),
        ));
    }
    if s.destructive {
        lines.push(Line::styled(
            "DESTRUCTIVE: confirmed by typing the name it acts on",
            theme.bad(),
        ));
    }
    if s.status == Status::Unknown {
        lines.push(Line::styled(
            "? outcome unknown: nobody can say whether it happened (the process stopped while it \
             ran, or MaxScale stopped answering). Verify by hand, then v (verified done, with a \
             reason), Enter (re-run exactly what was sent) or s (skip).",
            theme.bad(),
        ));
        if let Some(v) = &s.verdict {
            lines.push(Line::styled(v.clone(), theme.warn()));
        }
    }
    let started = !matches!(s.status, Status::Pending | Status::Ready | Status::Blocked);
    match (&s.sent, started) {
        (Some(sent), true) => {
            lines.push(Line::styled(
                format!("sent (attempt {}):", s.attempts),
                theme.dim(),
            ));
            lines.extend(
                sent.lines()
                    .map(|l| Line::styled(format!("  {l}"), theme.accent())),
            );
        }
        _ => match &s.command {
            Ok(cmd) => lines.extend(
                cmd.iter()
                    .map(|l| Line::styled(format!("  {l}"), theme.accent())),
            ),
            Err(e) => lines.push(Line::styled(format!("cannot resolve: {e}"), theme.bad())),
        },
    }
    if let Some(e) = &s.condition_now {
        let (head, style) = if e.holds {
            ("holds now:", theme.ok())
        } else {
            ("does not hold now:", theme.warn())
        };
        lines.push(Line::styled(head, style));
        lines.extend(
            e.observed
                .iter()
                .map(|o| Line::styled(format!("    {o}"), theme.dim())),
        );
    }
    for g in &s.gates {
        let (mark, style) = if g.holds {
            ("✔", theme.ok())
        } else {
            ("✘", theme.bad())
        };
        lines.push(Line::styled(format!("gate {mark} {}", g.condition), style));
        lines.extend(
            g.observed
                .iter()
                .map(|o| Line::styled(format!("    {o}"), theme.dim())),
        );
    }
    lines.extend(state_lines(s, theme));
    if s.output_dropped > 0 {
        lines.push(Line::styled(
            format!(
                "… {} earlier output lines are in the journal",
                s.output_dropped
            ),
            theme.dim(),
        ));
    }
    lines
}

fn output_lines<'a>(s: &'a StepView, theme: &'a Theme) -> impl Iterator<Item = Line<'static>> + 'a {
    s.output.iter().map(|(stream, text)| {
        let style = if *stream == Stream::Stderr {
            theme.warn()
        } else {
            theme.dim()
        };
        Line::styled(format!("│ {text}"), style)
    })
}

/// Below the output: why, the notes, the rollback.
fn tail_lines(s: &StepView, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if let Some(w) = &s.why {
        lines.push(Line::raw(format!("why: {w}")));
    }
    for n in &s.notes {
        let style = if n.warning { theme.warn() } else { theme.dim() };
        lines.push(Line::styled(format!("{}: {}", n.label, n.text), style));
    }
    if let Some(r) = &s.rollback {
        lines.push(Line::styled(format!("rollback: {r}"), theme.dim()));
    }
    if let Some(r) = &s.replaces {
        lines.push(Line::styled(format!("override: {r}"), theme.dim()));
    }
    lines
}

fn state_lines(s: &StepView, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let condition = matches!(s.kind.as_str(), "check" | "wait");
    let judged = condition && s.overridden.is_none() && s.verified.is_none();
    match &s.status {
        Status::Running { since, progress } => {
            let secs = SystemTime::now()
                .duration_since(*since)
                .unwrap_or_default()
                .as_secs_f64();
            lines.push(Line::styled(format!("running {secs:.1} s"), theme.accent()));
            if let Some(p) = progress {
                lines.push(Line::styled(p.clone(), theme.accent()));
            }
        }
        // A condition's result is its observed facts, each with its own mark.
        Status::Succeeded { detail } | Status::Failed { detail } if judged => {
            let (head, style) = match &s.status {
                Status::Succeeded { .. } => ("✔ held, as observed:", theme.ok()),
                _ => ("✘ did not hold, as observed:", theme.bad()),
            };
            lines.push(Line::styled(head, style));
            lines.extend(
                detail
                    .split("; ")
                    .map(|fact| Line::styled(format!("    {fact}"), theme.dim())),
            );
        }
        Status::Succeeded { detail } => {
            lines.push(Line::styled(format!("✔ {detail}"), theme.ok()));
        }
        Status::Failed { detail } => {
            lines.push(Line::styled(format!("✘ {detail}"), theme.bad()));
        }
        Status::Skipped { reason } => {
            lines.push(Line::styled(format!("↷ skipped: {reason}"), theme.warn()));
        }
        // Said first, above the command.
        Status::Unknown | Status::Pending | Status::Ready | Status::Blocked => {}
    }
    if let Some(j) = &s.overridden {
        lines.push(Line::styled(format!("overridden: {j}"), theme.warn()));
    }
    lines
}

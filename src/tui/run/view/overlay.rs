//! What is drawn over the cockpit: the open question, the help, the run's summary.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::session::summary::{Deviation, PhaseEnd, Summary, human_duration};
use crate::session::view::SessionView;
use crate::tui::panes;
use crate::tui::run::app::RunApp;
use crate::tui::run::modal::{Modal, TextField};
use crate::tui::theme::Theme;

pub fn modal(m: &Modal, f: &mut Frame, area: Rect, theme: &Theme) {
    let field = |prompt: &str, input: &TextField| -> Vec<String> {
        vec![prompt.to_string(), format!("> {}▏", input.value())]
    };
    let (title, body): (&str, Vec<String>) = match m {
        Modal::Confirm { lines, .. } => {
            let mut body = lines.clone();
            body.push(String::new());
            body.push("y: run   any other key: no".into());
            (" confirm ", body)
        }
        Modal::TypeName { lines, input, .. } => {
            let mut body = lines.clone();
            body.extend(field("Esc cancels.", input));
            (" destructive step ", body)
        }
        Modal::Skip { step, input } => (
            " skip ",
            field(
                &format!("Why skip {step}? Type the reason (journaled), Enter:"),
                input,
            ),
        ),
        Modal::Override { step, why, input } => {
            let mut body = vec![format!("{step}: {why}")];
            body.extend(field("Type the justification (journaled), Enter:", input));
            (" override ", body)
        }
        Modal::Verify { lines, input, .. } => {
            let mut body = lines.clone();
            body.extend(field("Type what you checked (journaled), Enter:", input));
            (" verified done ", body)
        }
        Modal::Note { input } => (
            " note ",
            field(
                "A note for the journal, seen by every operator. Enter adds it:",
                input,
            ),
        ),
        Modal::Approve { lines, input, .. } => {
            let mut body = lines.clone();
            body.extend(field("Esc cancels.", input));
            (" four eyes ", body)
        }
        Modal::Quit { step } => (
            " quit ",
            vec![
                format!("Step {step} is running."),
                String::new(),
                "c: cancel it, then quit (remote commands are killed)".into(),
                "l: leave it running and quit (on resume it shows as outcome unknown)".into(),
                "any other key: stay".into(),
            ],
        ),
        Modal::Decide { lines, .. } => {
            let mut body = lines.clone();
            body.push(String::new());
            body.push("y: yes   any other key: no".into());
            (" confirm ", body)
        }
    };
    boxed(
        f,
        area,
        title,
        body.into_iter().map(Line::raw).collect(),
        theme,
    );
}

pub fn help(session: &SessionView, f: &mut Frame, area: Rect, theme: &Theme) {
    let keys = [
        (
            "Enter",
            "run the selected step: shows what it does, y confirms",
        ),
        (
            "",
            "destructive steps then ask to type the name they act on",
        ),
        ("Enter", "on a note: acknowledge it"),
        ("r", "retry a failed step (confirmed like Enter)"),
        ("s", "skip with a reason (journaled), then y"),
        (
            "o",
            "override failed gates, or accept a failed check, with a justification",
        ),
        ("m", "mark a manual step done, then y"),
        (
            "v",
            "a step of unknown outcome: verified done by hand, with a reason",
        ),
        (
            "Ctrl-C",
            "cancel the running step (remote commands are killed)",
        ),
        (
            "j/k ↑/↓",
            "move; g the current step; f fold the other phases",
        ),
        ("PgUp/PgDn", "scroll the step detail (also the mouse wheel)"),
        (
            "Tab",
            "cycle the live panes: servers, replication, GTID, MaxScale",
        ),
        ("S", "the summary, once the run is complete"),
        (
            "n",
            "add a note to the journal (every attached operator sees it)",
        ),
        ("h", "hand the wheel to an attached operator (they press y)"),
        ("q", "quit (not while a step runs); the journal resumes it"),
        (
            "",
            "in a question: Esc or Ctrl-C cancels; only a bare y answers yes",
        ),
        ("", "with the mouse on, hold Shift to select text"),
    ];
    // Where things are written comes first: at 80×24 the last keys may not fit.
    let files = [
        ("journal", super::home_relative(&session.journal)),
        ("log", super::home_relative(&crate::logging::described())),
    ];
    let lines = files
        .iter()
        .map(|(k, path)| Line::raw(format!("{k:>10}  {path}")))
        .chain([Line::raw("")])
        .chain(
            keys.iter()
                .map(|(k, what)| Line::raw(format!("{k:>10}  {what}"))),
        )
        .chain([
            Line::raw(""),
            Line::styled("any key closes this help", theme.dim()),
        ])
        .collect();
    boxed(f, area, " keys ", lines, theme);
}

pub fn summary(
    app: &RunApp,
    session: &SessionView,
    s: &Summary,
    f: &mut Frame,
    area: Rect,
    theme: &Theme,
) {
    let mut lines = vec![
        Line::styled(
            format!(
                "Runbook complete: {} · {} steps · {}",
                session.runbook,
                s.steps,
                human_duration(s.duration)
            ),
            theme.ok(),
        ),
        Line::raw(""),
    ];
    for (i, p) in s.phases.iter().enumerate() {
        let (mark, style, how) = match p.end {
            PhaseEnd::Clean => ("✔", theme.ok(), String::new()),
            PhaseEnd::Skipped => ("↷", theme.warn(), format!(", {} skipped", p.skipped)),
            PhaseEnd::Deviated => (
                "!",
                theme.warn(),
                format!(", {} overridden or verified by hand", p.deviated),
            ),
            PhaseEnd::Open => ("·", theme.bad(), " not finished".into()),
        };
        lines.push(Line::styled(
            format!(
                "{mark} {} {} ({}/{}{how})",
                i + 1,
                p.title,
                p.finished,
                p.steps
            ),
            style,
        ));
    }
    let mut section = |title: &str, items: &[Deviation]| {
        if items.is_empty() {
            return;
        }
        lines.push(Line::raw(""));
        lines.push(Line::styled(format!("{title}:"), theme.header()));
        for d in items {
            lines.push(Line::raw(format!("  {} — {}: {}", d.step, d.what, d.why)));
        }
    };
    section("Skipped", &s.skipped);
    section("Overridden", &s.overridden);
    section("Verified by hand", &s.verified);
    section("Retried", &s.retried);
    if s.skipped.is_empty() && s.overridden.is_empty() && s.verified.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            "Every step ran and succeeded as planned.",
            theme.ok(),
        ));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "The journal holds the full record. Enter closes this summary; S opens it again.",
        theme.dim(),
    ));
    // It scrolls like the step detail (PgUp/PgDn), which it replaces.
    let p = Paragraph::new(lines).wrap(Wrap { trim: false });
    let total = p.line_count(area.width.saturating_sub(2)) as u16;
    let max = total.saturating_sub(area.height.saturating_sub(2));
    app.detail_scroll_max.set(max);
    let scroll = app.detail_scroll.min(max);
    let title = if scroll < max {
        format!(" summary  ↓ {} more lines: PgDn ", max - scroll)
    } else {
        " summary ".to_string()
    };
    f.render_widget(Clear, area);
    f.render_widget(
        p.block(Block::default().borders(Borders::ALL).title(title))
            .scroll((scroll, 0)),
        area,
    );
}

/// A bordered box sized to its text, centred, at most the area less a margin.
fn boxed(f: &mut Frame, area: Rect, title: &str, lines: Vec<Line<'static>>, theme: &Theme) {
    let width = area.width.saturating_sub(4).min(100);
    let p = Paragraph::new(lines).wrap(Wrap { trim: false });
    let height = (p.line_count(width.saturating_sub(2)) as u16 + 2).min(area.height - 2);
    let rect = panes::centered(area, width, height);
    f.render_widget(Clear, rect);
    f.render_widget(
        p.block(
            Block::default()
                .borders(Borders::ALL)
                .title(title.to_string())
                .border_style(theme.focus()),
        ),
        rect,
    );
}

//! Drawing the cockpit: the checklist, the selected step's detail (what it will do, its
//! gates with live values, its output), the live panes, and any question being asked.

use std::collections::BTreeMap;
use std::time::Instant;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::app::{DisplayState, Modal, RunApp, facts};
use crate::exec::job::{JobContext, jobs};
use crate::inventory::Inventory;
use crate::runbook::{Action, Step};
use crate::session::run::StepState;
use crate::tui::panes;
use crate::tui::theme::Theme;

const SPINNER: [&str; 4] = ["◐", "◓", "◑", "◒"];

/// What the view needs besides the app: names and values that do not change.
pub struct ViewContext<'a> {
    pub inventory: &'a Inventory,
    pub vars: &'a BTreeMap<String, String>,
    pub theme: Theme,
}

pub fn view(app: &RunApp, ctx: &ViewContext<'_>, f: &mut Frame, now: Instant) {
    let servers = app.dash.servers.len() as u16;
    let [top, bottom, footer] = Layout::vertical([
        Constraint::Min(8),
        Constraint::Length(servers + 4),
        Constraint::Length(1),
    ])
    .areas(f.area());
    let [list, detail] =
        Layout::horizontal([Constraint::Percentage(38), Constraint::Percentage(62)]).areas(top);
    let [repl, gtid, mxs] = Layout::horizontal([
        Constraint::Percentage(40),
        Constraint::Percentage(25),
        Constraint::Percentage(35),
    ])
    .areas(bottom);
    let theme = &ctx.theme;
    checklist(app, f, list, now, theme);
    detail_pane(app, ctx, f, detail, now);
    panes::replication::render(f, repl, &app.dash, now, false, 0, theme);
    panes::gtid::render(f, gtid, &app.dash, now, false, 0, theme);
    panes::maxscale::render(f, mxs, &app.dash, now, false, 0, theme);
    let hint = app.message.clone().unwrap_or_else(|| {
        " Enter run · s skip · o override · m manual done · r retry · Ctrl-C cancel · j/k move · g current · f fold · q quit"
            .into()
    });
    let style = if app.message.is_some() {
        theme.warn()
    } else {
        theme.dim()
    };
    f.render_widget(Paragraph::new(Line::styled(hint, style)), footer);
    if let Some(m) = &app.modal {
        modal(m, f, f.area(), theme);
    }
}

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
        DisplayState::Skipped => Span::styled("↷", theme.dim()),
        DisplayState::Unknown => Span::styled("?", theme.bad()),
    }
}

fn checklist(app: &RunApp, f: &mut Frame, area: Rect, now: Instant, theme: &Theme) {
    let mut lines = Vec::new();
    let mut selected_line = 0;
    let mut n = 0;
    for (pi, phase) in app.run.runbook.phases.iter().enumerate() {
        let first = n;
        let holds_selection = (first..first + phase.steps.len()).contains(&app.selected);
        let finished = phase
            .steps
            .iter()
            .filter(|s| app.run.state(&s.id.value).is_finished())
            .count();
        // A phase is folded when the operator folded it, or when it is finished; the
        // phase holding the cursor is always open.
        let folded =
            !holds_selection && (app.folded.contains(&pi) || finished == phase.steps.len());
        let marker = if folded { "▸" } else { "▾" };
        lines.push(Line::styled(
            format!(
                "{marker} {} {} ({finished}/{})",
                pi + 1,
                phase.title,
                phase.steps.len()
            ),
            theme.header(),
        ));
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

fn detail_pane(app: &RunApp, ctx: &ViewContext<'_>, f: &mut Frame, area: Rect, now: Instant) {
    let theme = &ctx.theme;
    let Some(step) = app.selected_step() else {
        return;
    };
    let succeeded = app.run.succeeded();
    let facts = facts(&app.dash, &app.roles, &succeeded);
    let mut lines = vec![Line::styled(
        format!("{} [{}] {}", step.id.value, step.action.kind(), step.title),
        theme.header(),
    )];
    let servers = app.run.servers(step, &facts).unwrap_or_default();
    if let Some(t) = &step.target {
        lines.push(Line::raw(format!(
            "target: {} → {}",
            t.value,
            servers.join(", ")
        )));
    }
    if step.destructive {
        lines.push(Line::styled(
            "DESTRUCTIVE: confirm by typing the server's name",
            theme.bad(),
        ));
    }
    if let Some(w) = &step.why {
        lines.push(Line::raw(format!("why: {}", w.trim())));
    }
    for n in &step.notes {
        let style = if n.kind == crate::runbook::NoteKind::Warning {
            theme.warn()
        } else {
            theme.dim()
        };
        lines.push(Line::styled(
            format!("{}: {}", n.kind.label(), n.text.trim()),
            style,
        ));
    }
    lines.extend(will_do(step, &servers, app, ctx));
    for (gate, e) in app.run.gates(step, &facts) {
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
    match app.run.state(&step.id.value) {
        StepState::Running { started, progress, .. } => {
            let secs = now.saturating_duration_since(*started).as_secs_f64();
            lines.push(Line::styled(format!("running {secs:.1} s"), theme.accent()));
            if let Some(p) = progress {
                lines.push(Line::styled(p.clone(), theme.accent()));
            }
        }
        StepState::Succeeded { detail } => lines.push(Line::styled(format!("✔ {detail}"), theme.ok())),
        StepState::Failed { detail } => lines.push(Line::styled(format!("✘ {detail}"), theme.bad())),
        StepState::Skipped { reason } => lines.push(Line::raw(format!("skipped: {reason}"))),
        StepState::Unknown => lines.push(Line::styled(
            "outcome unknown — the process stopped while this step ran: verify by hand, then re-run (confirmed) or skip",
            theme.bad(),
        )),
        StepState::Pending => {}
    }
    if let Some(out) = app.output.get(&step.id.value) {
        let keep = area.height.saturating_sub(4) as usize / 2;
        for (stream, text) in out.iter().skip(out.len().saturating_sub(keep)) {
            let style = if *stream == "stderr" {
                theme.warn()
            } else {
                theme.dim()
            };
            lines.push(Line::styled(format!("│ {text}"), style));
        }
    }
    f.render_widget(
        Paragraph::new(lines)
            .block(Block::default().borders(Borders::ALL).title(" step "))
            .wrap(Wrap { trim: false }),
        area,
    );
}

/// The exact SQL, command or REST call, as it will be sent, secrets masked.
fn will_do(
    step: &Step,
    servers: &[String],
    app: &RunApp,
    ctx: &ViewContext<'_>,
) -> Vec<Line<'static>> {
    let theme = &ctx.theme;
    let no_secrets = BTreeMap::new();
    let mut jc = JobContext {
        vars: ctx.vars,
        secrets: &no_secrets,
        inventory: ctx.inventory,
        roles: &app.roles,
        target: None,
        reveal: crate::runbook::template::Reveal::Masked,
    };
    let mut out = Vec::new();
    match &step.action {
        Action::Wait { until, .. } => out.push(Line::raw(format!("wait until: {until}"))),
        Action::Check { condition } => out.push(Line::raw(format!("must hold: {condition}"))),
        Action::Manual { instructions, .. } => {
            out.push(Line::raw(format!("by hand: {}", instructions.trim())))
        }
        Action::Note { text } => out.push(Line::raw(text.trim().to_string())),
        _ => match jobs(step, servers, &mut jc) {
            // Rendering for display never reveals: a secret shows as ****.
            Ok(js) => {
                for j in js {
                    for l in j.shown().lines() {
                        out.push(Line::styled(format!("  {l}"), theme.accent()));
                    }
                }
            }
            Err(e) => out.push(Line::styled(format!("cannot resolve: {e}"), theme.bad())),
        },
    }
    out
}

fn modal(m: &Modal, f: &mut Frame, area: Rect, theme: &Theme) {
    let (title, body) = match m {
        Modal::Confirm { step } => (
            " confirm ",
            vec![
                format!("Run step {step}?"),
                String::new(),
                "y: run   any other key: no".into(),
            ],
        ),
        Modal::TypeName {
            step,
            expected,
            input,
            ..
        } => (
            " destructive step ",
            vec![
                format!("{step} acts on {expected}."),
                format!("Type `{expected}` and Enter to run it:"),
                format!("> {input}_"),
            ],
        ),
        Modal::Skip { step, input } => (
            " skip ",
            vec![
                format!("Why skip {step}? (journaled)"),
                format!("> {input}_"),
            ],
        ),
        Modal::Override { step, input } => (
            " override gates ",
            vec![
                format!("{step}: its gates do not hold."),
                "Type the justification (journaled), Enter to run:".into(),
                format!("> {input}_"),
            ],
        ),
    };
    let rect = panes::centered(area, 64, body.len() as u16 + 2);
    f.render_widget(Clear, rect);
    f.render_widget(
        Paragraph::new(body.into_iter().map(Line::raw).collect::<Vec<_>>())
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(title)
                    .border_style(theme.focus()),
            )
            .wrap(Wrap { trim: false }),
        rect,
    );
}

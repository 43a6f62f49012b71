//! Drawing the cockpit: the checklist, the selected step's detail, the live panes, and any
//! question, help or summary over them. Two layouts: a wide one (from 160×40) with the
//! three full panes side by side, and a compact one (down to 80×24) with one line per
//! server, `Tab` cycling the full panes. Below 80×24 it says so instead of drawing.

mod checklist;
pub(crate) mod detail;
mod overlay;

use std::time::Instant;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::app::{PaneChoice, RunApp};
use crate::session::live::Dashboard;
use crate::session::view::{SessionView, Status};
use crate::tui::panes;
use crate::tui::theme::Theme;

pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// What the view needs besides the app.
pub struct ViewContext {
    pub theme: Theme,
}

/// Draws the session as `session` shows it, with the live panes from `dash`, as the
/// operator looks at it (`app`).
pub fn view(
    app: &RunApp,
    session: &SessionView,
    dash: &Dashboard,
    ctx: &ViewContext,
    f: &mut Frame,
    now: Instant,
) {
    let area = f.area();
    view_in(app, session, dash, ctx, f, area, now);
}

/// [`view`] into `area` (an observer's screen keeps a line for the driver's fate).
pub fn view_in(
    app: &RunApp,
    session: &SessionView,
    dash: &Dashboard,
    ctx: &ViewContext,
    f: &mut Frame,
    area: Rect,
    now: Instant,
) {
    let theme = &ctx.theme;
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(f, area, theme);
        return;
    }
    let wide = area.width >= 160 && area.height >= 40;
    let servers = dash.servers.len() as u16;
    let panes_height = if wide {
        servers + 5
    } else if app.pane != PaneChoice::Servers {
        servers + 4
    } else {
        servers + 2
    }
    .min(area.height * 2 / 5);
    // A message longer than a line (a resume's notices) gets a second line.
    let message_len = app.message.as_ref().map_or(0, |m| m.chars().count() + 1);
    let footer_height = if message_len > area.width as usize {
        2
    } else {
        1
    };
    let [top, bottom, footer] = Layout::vertical([
        Constraint::Min(10),
        Constraint::Length(panes_height),
        Constraint::Length(footer_height),
    ])
    .areas(area);
    // Who drives, who watches, where to attach, and the latest note.
    let [header, top] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(top);
    let mut spans = Vec::new();
    if let Some(warning) = &dash.maxscale_warning {
        spans.push(Span::styled(format!(" {warning} ·"), theme.bad()));
    }
    spans.extend(probe_spans(session, theme));
    spans.push(Span::styled(header_text(app, session), theme.dim()));
    f.render_widget(Paragraph::new(Line::from(spans)), header);
    // Nothing runs unjournaled: while the journal cannot be written, say so on top.
    let top = match &session.journal_broken {
        Some(why) => {
            let [banner, rest] =
                Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(top);
            let text = format!(" JOURNAL NOT WRITABLE: {why} — no step starts until it is");
            f.render_widget(Paragraph::new(Line::styled(text, theme.bad())), banner);
            rest
        }
        None => top,
    };
    match (&session.summary, app.show_summary) {
        (Some(summary), true) => overlay::summary(app, session, summary, f, top, theme),
        _ => {
            let [list, detail] =
                Layout::horizontal([Constraint::Percentage(38), Constraint::Percentage(62)])
                    .areas(top);
            checklist::render(app, session, f, list, now, theme);
            detail::render(app, session, f, detail, theme);
        }
    }
    live_panes(app, dash, f, bottom, wide, now, theme);
    footer_line(app, session, f, footer, theme);
    if let Some(m) = &app.modal {
        overlay::modal(m, f, area, theme);
    } else if app.show_help {
        overlay::help(session, f, area, theme);
    }
}

fn live_panes(
    app: &RunApp,
    d: &Dashboard,
    f: &mut Frame,
    area: Rect,
    wide: bool,
    now: Instant,
    theme: &Theme,
) {
    use panes::layout::{Arrangement, Choice, Pane};
    let arrangement = match (wide, app.pane) {
        (true, _) => Arrangement::SideBySide,
        (false, PaneChoice::Servers) => Arrangement::Servers,
        (false, PaneChoice::Replication) => Arrangement::Only(Pane::Replication),
        (false, PaneChoice::Gtid) => Arrangement::Only(Pane::Gtid),
        (false, PaneChoice::Maxscale) => Arrangement::Only(Pane::Maxscale),
    };
    let mut choice = Choice::new(arrangement);
    // Side by side there is room for the line that names every problem first.
    choice.summary = wide;
    panes::layout::render(f, area, d, now, &choice, theme);
}

/// ` driver root · attached: bob · journal ~/J · attach: flightdeck attach ~/J · note
/// (bob): …`; the attach command takes the journal for its socket.
fn header_text(app: &RunApp, s: &SessionView) -> String {
    let mut parts = Vec::new();
    if app.observer {
        parts.push(format!(
            "observing {}'s session (a approves, n notes)",
            s.driver
        ));
    } else if !s.driver.is_empty() {
        parts.push(format!("driver {}", s.driver));
    }
    if !s.attached.is_empty() {
        parts.push(format!("attached: {}", s.attached.join(", ")));
    }
    let journal = home_relative(&s.journal);
    if !journal.is_empty() {
        parts.push(format!("journal {journal}"));
    }
    if let (Some(_), false) = (&s.socket, app.observer) {
        parts.push(format!("attach: flightdeck attach {journal}"));
    }
    if let Some((who, text)) = s.notes.last() {
        parts.push(format!("note ({who}): {text}"));
    }
    format!(" {}", parts.join(" · "))
}

/// `path` with the operator's home as `~/`, as a shell takes it back.
pub fn home_relative(path: &str) -> String {
    // Read once: the header draws it on every frame.
    static HOME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let home = HOME.get_or_init(|| std::env::var("HOME").unwrap_or_default());
    match path.strip_prefix(home.as_str()) {
        Some(rest) if !home.is_empty() && home != "/" && rest.starts_with('/') => {
            format!("~{rest}")
        }
        _ => path.to_string(),
    }
}

/// What clients feel while a probed step runs: ` writes OK ·` or ` writes failing for
/// 0.84 s (31 failed) ·`; after it, what the last probe measured.
fn probe_spans(s: &SessionView, theme: &Theme) -> Vec<Span<'static>> {
    let Some(p) = &s.probe else {
        return match &s.last_probe {
            Some(last) => vec![Span::styled(format!(" last probe {last} ·"), theme.dim())],
            None => Vec::new(),
        };
    };
    let mut spans = match p.writes_failing_for {
        Some(d) => vec![Span::styled(
            format!(
                " writes failing for {:.2} s ({} failed)",
                d.as_secs_f64(),
                p.writes_failed
            ),
            theme.bad(),
        )],
        None => vec![Span::styled(
            format!(" writes OK via {}", p.router),
            theme.ok(),
        )],
    };
    if let (Some(d), None) = (p.reads_failing_for, p.writes_failing_for) {
        spans.push(Span::styled(
            format!(", reads failing for {:.2} s", d.as_secs_f64()),
            theme.bad(),
        ));
    }
    spans.push(Span::styled(" ·", theme.dim()));
    spans
}

/// The message, or the keys that matter for the selected step, as many as fit.
fn footer_line(app: &RunApp, session: &SessionView, f: &mut Frame, area: Rect, theme: &Theme) {
    if let Some(m) = &app.message {
        let p = Paragraph::new(Line::styled(format!(" {m}"), theme.warn()));
        f.render_widget(p.wrap(Wrap { trim: false }), area);
        return;
    }
    let mut keys: Vec<&str> = Vec::new();
    if app.observer {
        keys.push("a approve a four-eyes step · n note");
    } else if app.show_summary && session.completed {
        keys.push("run complete · Enter closes the summary");
    } else if let Some(r) = &session.running {
        keys.push(if app.selected_step(session).is_some_and(|s| &s.id == r) {
            "Ctrl-C cancel the running step"
        } else {
            "a step is running · Ctrl-C cancels it"
        });
    } else if let Some(step) = app.selected_step(session) {
        match (step.kind.as_str(), &step.status) {
            (_, Status::Unknown) => keys.push("Enter re-run as first sent · v verified done"),
            ("check", Status::Failed { .. }) => {
                keys.push("r re-check · o accept with a justification")
            }
            (_, Status::Failed { .. }) => keys.push("r retry · s skip"),
            (_, s) if s.is_finished() => {}
            ("note", _) => keys.push("Enter acknowledge this note"),
            ("manual", _) => keys.push("m mark done (after doing it by hand)"),
            _ => keys.push("Enter run · s skip · o override"),
        }
    }
    keys.extend([
        "j/k move",
        "PgDn/PgUp detail",
        "Tab panes",
        "g current",
        "f fold",
    ]);
    let tail = " · ? help · q quit";
    let room = (area.width as usize).saturating_sub(tail.chars().count() + 1);
    let mut text = String::new();
    for k in keys {
        let sep = if text.is_empty() { "" } else { " · " };
        if text.chars().count() + sep.len() + k.chars().count() > room {
            break;
        }
        text.push_str(sep);
        text.push_str(k);
    }
    let line = format!(" {}{tail}", text.trim_start_matches(" · "));
    f.render_widget(Paragraph::new(Line::styled(line, theme.dim())), area);
}

fn too_small(f: &mut Frame, area: Rect, theme: &Theme) {
    let text = vec![
        Line::styled("flightdeck needs at least 80×24", theme.bad()),
        Line::raw(format!(
            "this terminal is {}×{}: enlarge it to see the run",
            area.width, area.height
        )),
        Line::raw("(nothing has stopped; q quits when no step runs)"),
    ];
    f.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
}

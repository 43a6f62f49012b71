//! `flightdeck watch`: the three live panes full screen, under a one-line summary of
//! what is wrong. State, a pure `update`, and a `view` that only draws; both place the
//! panes with [`panes::layout`], as the cockpit does, so scrolling is bounded by what the
//! screen shows.

use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::dashboard::Dashboard;
use super::panes;
use super::panes::layout::{Arrangement, Choice, PANES};
use super::theme::Theme;
use crate::poll::ServerSnapshot;
use crate::poll::maxscale::MaxscaleSnapshot;

pub use super::panes::layout::Pane;

/// Everything that can happen to the watch screen.
#[derive(Clone, Debug)]
pub enum Msg {
    Key(KeyEvent),
    Server(ServerSnapshot),
    Maxscale(MaxscaleSnapshot),
    /// Time passed: ages and staleness change even when no data does.
    Tick,
    /// The terminal's new width and height.
    Resize(u16, u16),
}

#[derive(Clone, Debug)]
pub struct WatchApp {
    pub dash: Dashboard,
    pub focus: Pane,
    pub scroll: [u16; 3],
    pub help: bool,
    pub quit: bool,
    /// The terminal's size as last reported, which bounds scrolling (0×0: not known yet).
    pub size: (u16, u16),
}

impl WatchApp {
    pub fn new(dash: Dashboard) -> Self {
        Self {
            dash,
            focus: Pane::Replication,
            scroll: [0; 3],
            help: false,
            quit: false,
            size: (0, 0),
        }
    }

    fn focus_index(&self) -> usize {
        self.focus.index()
    }

    /// How the panes are shown now.
    pub fn choice(&self) -> Choice {
        Choice {
            arrangement: Arrangement::Stacked,
            focus: Some(self.focus),
            scroll: self.scroll,
            summary: true,
        }
    }

    /// How far the focused pane can scroll on the screen as last reported.
    fn max_scroll(&self) -> u16 {
        let (w, h) = self.size;
        let screen = Rect::new(0, 0, w, h);
        let [_, body, _] = areas(screen, &self.dash);
        panes::layout::max_scroll(body, &self.dash, Instant::now(), &self.choice(), self.focus)
    }

    /// Applies a message; returns whether the screen must be redrawn.
    pub fn update(&mut self, msg: Msg) -> bool {
        match msg {
            Msg::Server(s) => self.dash.apply_server(s),
            Msg::Maxscale(m) => self.dash.apply_maxscale(m),
            Msg::Tick => self.dash.sample_lag(),
            Msg::Resize(w, h) => {
                // A taller screen leaves less to scroll. (New data may too: the view
                // bounds the scroll it draws, so applying snapshots stays cheap.)
                self.size = (w, h);
                let i = self.focus_index();
                self.scroll[i] = self.scroll[i].min(self.max_scroll());
            }
            Msg::Key(k) => return self.key(k),
        }
        true
    }

    fn key(&mut self, k: KeyEvent) -> bool {
        if k.kind == KeyEventKind::Release {
            return false;
        }
        let i = self.focus_index();
        match k.code {
            KeyCode::Char('q') | KeyCode::Esc if !self.help => self.quit = true,
            KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => self.quit = true,
            KeyCode::Char('?') => self.help = !self.help,
            KeyCode::Esc | KeyCode::Char('q') => self.help = false,
            KeyCode::Tab => self.focus = PANES[(i + 1) % PANES.len()],
            KeyCode::BackTab => self.focus = PANES[(i + PANES.len() - 1) % PANES.len()],
            KeyCode::Down | KeyCode::Char('j') => {
                self.scroll[i] = self.scroll[i].saturating_add(1).min(self.max_scroll());
            }
            KeyCode::Up | KeyCode::Char('k') => self.scroll[i] = self.scroll[i].saturating_sub(1),
            KeyCode::Home | KeyCode::Char('g') => self.scroll[i] = 0,
            KeyCode::End | KeyCode::Char('G') => self.scroll[i] = self.max_scroll(),
            _ => return false,
        }
        true
    }
}

/// The warning line (when MaxScale is reached unprotected), the panes (under the summary)
/// and the footer.
fn areas(screen: Rect, d: &Dashboard) -> [Rect; 3] {
    let warning = u16::from(d.maxscale_warning.is_some());
    Layout::vertical([
        Constraint::Length(warning),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(screen)
}

pub fn view(app: &WatchApp, f: &mut Frame, now: Instant, theme: &Theme) {
    let [warning, body, footer] = areas(f.area(), &app.dash);
    if let Some(text) = &app.dash.maxscale_warning {
        f.render_widget(
            Paragraph::new(Line::styled(format!(" {text}"), theme.bad())),
            warning,
        );
    }
    panes::layout::render(f, body, &app.dash, now, &app.choice(), theme);
    f.render_widget(
        Paragraph::new(Line::styled(
            " q quit · ? help · tab next pane · ↑↓/j k scroll · g/G top/bottom",
            theme.dim(),
        )),
        footer,
    );
    if app.help {
        help(f, f.area(), theme);
    }
}

fn help(f: &mut Frame, area: Rect, theme: &Theme) {
    let text = vec![
        Line::styled("flightdeck watch", theme.header()),
        Line::raw(""),
        Line::raw("q, Esc      quit (close this help first)"),
        Line::raw("?           this help"),
        Line::raw("Tab         next pane (Shift-Tab: previous)"),
        Line::raw("↑ ↓, j k    scroll the focused pane; g/G: top/bottom"),
        Line::raw(""),
        Line::raw("The top line names every problem, in view or not."),
        Line::raw("Titles: the age of the freshest row, how many"),
        Line::raw("are stale (older than three poll intervals)."),
        Line::raw("Stale rows are dimmed and say \"last known\"."),
        Line::raw("Red rows: a thread stopped, a server down; when"),
        Line::raw("not all rows fit, problems come first."),
    ];
    let popup = panes::centered(area, 56, text.len() as u16 + 2);
    f.render_widget(Clear, popup);
    f.render_widget(
        Paragraph::new(text).block(Block::default().borders(Borders::ALL).title(" help ")),
        popup,
    );
}

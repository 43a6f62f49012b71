//! `flightdeck watch`: the three live panes full screen. State, a pure `update`, and a
//! `view` that only draws.

use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::dashboard::Dashboard;
use super::panes;
use super::theme::Theme;
use crate::poll::ServerSnapshot;
use crate::poll::maxscale::MaxscaleSnapshot;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    Replication,
    Gtid,
    Maxscale,
}

const PANES: [Pane; 3] = [Pane::Replication, Pane::Gtid, Pane::Maxscale];

/// Everything that can happen to the watch screen.
#[derive(Clone, Debug)]
pub enum Msg {
    Key(KeyEvent),
    Server(ServerSnapshot),
    Maxscale(MaxscaleSnapshot),
    /// Time passed: ages and staleness change even when no data does.
    Tick,
    Resize,
}

#[derive(Clone, Debug)]
pub struct WatchApp {
    pub dash: Dashboard,
    pub focus: Pane,
    pub scroll: [u16; 3],
    pub help: bool,
    pub quit: bool,
}

impl WatchApp {
    pub fn new(dash: Dashboard) -> Self {
        Self {
            dash,
            focus: Pane::Replication,
            scroll: [0; 3],
            help: false,
            quit: false,
        }
    }

    fn focus_index(&self) -> usize {
        PANES.iter().position(|p| *p == self.focus).unwrap_or(0)
    }

    /// Applies a message; returns whether the screen must be redrawn.
    pub fn update(&mut self, msg: Msg) -> bool {
        match msg {
            Msg::Server(s) => self.dash.apply_server(s),
            Msg::Maxscale(m) => self.dash.apply_maxscale(m),
            Msg::Tick => self.dash.sample_lag(),
            Msg::Resize => {}
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
            KeyCode::Down | KeyCode::Char('j') => self.scroll[i] = self.scroll[i].saturating_add(1),
            KeyCode::Up | KeyCode::Char('k') => self.scroll[i] = self.scroll[i].saturating_sub(1),
            KeyCode::Home | KeyCode::Char('g') => self.scroll[i] = 0,
            _ => return false,
        }
        true
    }
}

pub fn view(app: &WatchApp, f: &mut Frame, now: Instant, theme: &Theme) {
    let [body, footer] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(f.area());
    // Each pane gets the rows its servers need, GTID and MaxScale at most a third of the
    // screen each, so many servers never squeeze a pane out of sight.
    let servers = app.dash.servers.len() as u16;
    let third = (body.height / 3).max(3);
    let [repl, gtid, mxs] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length((servers + 3).min(third)),
        Constraint::Length((servers + 4).min(third)),
    ])
    .areas(body);
    let focused = |p: Pane| app.focus == p;
    let d = &app.dash;
    panes::replication::render(
        f,
        repl,
        d,
        now,
        focused(Pane::Replication),
        app.scroll[0],
        theme,
    );
    panes::gtid::render(f, gtid, d, now, focused(Pane::Gtid), app.scroll[1], theme);
    panes::maxscale::render(
        f,
        mxs,
        d,
        now,
        focused(Pane::Maxscale),
        app.scroll[2],
        theme,
    );
    f.render_widget(
        Paragraph::new(Line::styled(
            " q quit · ? help · tab next pane · ↑↓/j k scroll",
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
        Line::raw("↑ ↓, j k    scroll the focused pane; g: top"),
        Line::raw(""),
        Line::raw("Ages show how old each pane's data is;"),
        Line::raw("STALE after three poll intervals without news."),
        Line::raw("Red rows: a thread stopped, a server down."),
    ];
    let popup = panes::centered(area, 52, text.len() as u16 + 2);
    f.render_widget(Clear, popup);
    f.render_widget(
        Paragraph::new(text).block(Block::default().borders(Borders::ALL).title(" help ")),
        popup,
    );
}

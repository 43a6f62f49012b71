//! One layout for the live panes, used by `watch` and by the cockpit: the summary line on
//! top (when asked for), then the panes stacked with heights that follow their content
//! (`watch`), side by side (the wide cockpit), the compact servers pane or one full pane
//! (the small cockpit). Each pane is built for the width it gets, so its rows fit.

use std::time::Instant;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::Paragraph;

use super::frame::{self, Body};
use super::{compact, gtid, maxscale, replication, summary};
use crate::tui::dashboard::Dashboard;
use crate::tui::theme::Theme;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    Replication,
    Gtid,
    Maxscale,
}

pub const PANES: [Pane; 3] = [Pane::Replication, Pane::Gtid, Pane::Maxscale];

impl Pane {
    pub fn index(self) -> usize {
        match self {
            Pane::Replication => 0,
            Pane::Gtid => 1,
            Pane::Maxscale => 2,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrangement {
    /// One above the other, each as tall as its content while there is room (`watch`).
    Stacked,
    /// Side by side, each the whole height (the wide cockpit).
    SideBySide,
    /// One line per server (the small cockpit).
    Servers,
    /// One full pane (the small cockpit's `Tab`).
    Only(Pane),
}

/// How the live panes are to be shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Choice {
    pub arrangement: Arrangement,
    /// The pane whose title is highlighted.
    pub focus: Option<Pane>,
    /// Rows scrolled, per pane (in [`PANES`] order); bounded when drawn.
    pub scroll: [u16; 3],
    /// The one-line summary of problems above the panes.
    pub summary: bool,
}

impl Choice {
    pub fn new(arrangement: Arrangement) -> Self {
        Self {
            arrangement,
            focus: match arrangement {
                Arrangement::Only(p) => Some(p),
                _ => None,
            },
            scroll: [0; 3],
            summary: false,
        }
    }
}

/// Draws the live panes in `area` as `choice` says.
pub fn render(
    f: &mut Frame,
    area: Rect,
    dash: &Dashboard,
    now: Instant,
    choice: &Choice,
    theme: &Theme,
) {
    let (top, area) = split_summary(area, choice);
    if let Some(top) = top {
        let line = summary::line(dash, now, usize::from(top.width), theme);
        f.render_widget(Paragraph::new(line), top);
    }
    if choice.arrangement == Arrangement::Servers {
        compact::render(f, area, dash, now, theme);
        return;
    }
    for p in place(area, dash, now, choice, theme) {
        let scroll = choice.scroll[p.pane.index()];
        let focused = choice.focus == Some(p.pane);
        frame::draw(f, p.area, &p.body, focused, scroll, now, theme);
    }
}

/// How far `pane` can scroll when drawn in `area` (0 when it is not shown).
pub fn max_scroll(area: Rect, dash: &Dashboard, now: Instant, choice: &Choice, pane: Pane) -> u16 {
    let (_, area) = split_summary(area, choice);
    place(area, dash, now, choice, &Theme::PLAIN)
        .into_iter()
        .find(|p| p.pane == pane)
        .map_or(0, |p| p.body.max_scroll(p.area.height))
}

fn split_summary(area: Rect, choice: &Choice) -> (Option<Rect>, Rect) {
    if !choice.summary || area.height < 2 {
        return (None, area);
    }
    let [top, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    (Some(top), rest)
}

/// A pane, built for the area it gets.
struct Placed {
    pane: Pane,
    area: Rect,
    body: Body,
}

fn body(pane: Pane, d: &Dashboard, now: Instant, area: Rect, theme: &Theme) -> Body {
    let width = usize::from(area.width.saturating_sub(2));
    match pane {
        Pane::Replication => replication::body(d, now, width, theme),
        Pane::Gtid => gtid::body(d, now, width, theme),
        Pane::Maxscale => maxscale::body(d, now, width, theme),
    }
}

fn place(area: Rect, d: &Dashboard, now: Instant, choice: &Choice, theme: &Theme) -> Vec<Placed> {
    let placed = |pane, area| Placed {
        pane,
        area,
        body: body(pane, d, now, area, theme),
    };
    match choice.arrangement {
        Arrangement::Servers => Vec::new(),
        Arrangement::Only(pane) => vec![placed(pane, area)],
        Arrangement::SideBySide => {
            let areas: [Rect; 3] = Layout::horizontal([
                Constraint::Percentage(40),
                Constraint::Percentage(25),
                Constraint::Percentage(35),
            ])
            .areas(area);
            PANES
                .iter()
                .zip(areas)
                .map(|(p, a)| placed(*p, a))
                .collect()
        }
        Arrangement::Stacked => {
            let bodies: Vec<Body> = PANES
                .iter()
                .map(|p| body(*p, d, now, area, theme))
                .collect();
            let wants: Vec<u16> = bodies.iter().map(Body::wanted).collect();
            let least: Vec<u16> = bodies.iter().map(Body::least).collect();
            let heights = share(&wants, &least, area.height);
            let mut y = area.y;
            PANES
                .iter()
                .zip(bodies)
                .zip(heights)
                .filter(|(_, h)| *h > 0)
                .map(|((pane, body), height)| {
                    let rect = Rect { y, height, ..area };
                    y += height;
                    Placed {
                        pane: *pane,
                        area: rect,
                        body,
                    }
                })
                .collect()
        }
    }
}

/// Heights for stacked panes in `total` rows: what each wants when all fit; else each its
/// least (in order, while rows last), then one more row each in turn until it has what it
/// wants or the rows run out.
fn share(wants: &[u16], least: &[u16], total: u16) -> Vec<u16> {
    if wants.iter().sum::<u16>() <= total {
        return wants.to_vec();
    }
    let mut left = total;
    let mut out: Vec<u16> = least
        .iter()
        .zip(wants)
        .map(|(l, w)| {
            let give = (*l).min(*w).min(left);
            left -= give;
            give
        })
        .collect();
    while left > 0 {
        let mut gave = false;
        for (h, w) in out.iter_mut().zip(wants) {
            if left > 0 && *h < *w {
                *h += 1;
                left -= 1;
                gave = true;
            }
        }
        if !gave {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::share;

    #[test]
    fn heights_follow_content_and_share_what_is_short() {
        assert_eq!(share(&[4, 5, 6], &[4, 5, 6], 48), [4, 5, 6]);
        assert_eq!(share(&[68, 67, 68], &[4, 4, 5], 22), [7, 7, 8]);
        assert_eq!(share(&[30, 5, 30], &[4, 4, 5], 40), [17, 5, 18]);
        assert_eq!(share(&[30, 30, 30], &[4, 4, 5], 10), [4, 4, 2]);
    }
}

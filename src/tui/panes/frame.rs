//! What every pane shares: rows that carry their own age and how bad their news is, a
//! title with the age of the freshest row and how many rows are stale, lines pinned
//! above and below the rows (a header, MaxScale's error and monitor lines), bounded
//! scrolling, problems first when not every row fits, and how many rows are out of view.

use std::time::Instant;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::fmt_age;
use crate::tui::theme::Theme;

/// How bad a row's news is; rows sort worst first when not all of them fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Bad,
    Warn,
    Ok,
}

/// One server (or replication connection) in a pane: one line, or more for a last error.
#[derive(Clone, Debug)]
pub struct Row {
    pub lines: Vec<Line<'static>>,
    pub severity: Severity,
    /// When the facts on the row were taken; `None` when there are none, or their age
    /// is unknown.
    pub at: Option<Instant>,
    /// Older than three poll periods (or last known facts of unknown age).
    pub stale: bool,
}

/// A pane's content for a given width, before it is placed.
#[derive(Clone, Debug, Default)]
pub struct Body {
    pub title: &'static str,
    /// More title marks after the age (the compact pane's MaxScale mark).
    pub marks: Vec<Span<'static>>,
    /// Pinned above the header (MaxScale's error).
    pub top: Vec<Line<'static>>,
    pub header: Option<Line<'static>>,
    pub rows: Vec<Row>,
    /// Shown in place of rows when there are none.
    pub empty: Option<Line<'static>>,
    /// Pinned below the rows (MaxScale's monitor line).
    pub bottom: Vec<Line<'static>>,
}

impl Body {
    /// Lines that never scroll.
    fn fixed(&self) -> usize {
        let empty = usize::from(self.rows.is_empty() && self.empty.is_some());
        self.top.len() + usize::from(self.header.is_some()) + empty + self.bottom.len()
    }

    fn row_lines(&self) -> usize {
        self.rows.iter().map(|r| r.lines.len()).sum()
    }

    /// The height that shows everything, borders included.
    pub fn wanted(&self) -> u16 {
        clamp_u16(2 + self.fixed() + self.row_lines())
    }

    /// The least height worth giving: the pinned lines and one row.
    pub fn least(&self) -> u16 {
        clamp_u16(2 + self.fixed() + self.rows.first().map_or(0, |r| r.lines.len()))
    }

    /// Row indexes in the order shown: as given when all fit in `room` lines, else the
    /// worst news first (in the given order among equals).
    fn order(&self, room: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.rows.len()).collect();
        if self.row_lines() > room {
            order.sort_by_key(|&i| self.rows[i].severity);
        }
        order
    }

    /// The furthest a pane of `height` (borders included) can scroll, in rows: the last
    /// row at the bottom.
    pub fn max_scroll(&self, height: u16) -> u16 {
        let room = rows_room(self, height);
        let order = self.order(room);
        let mut used = 0;
        let mut fit = 0;
        for &i in order.iter().rev() {
            used += self.rows[i].lines.len();
            if used > room {
                break;
            }
            fit += 1;
        }
        clamp_u16(order.len() - fit.min(order.len()))
    }

    /// The age of the freshest row, and whether it is stale; `None` without dated rows.
    fn freshest(&self) -> Option<(Instant, bool)> {
        self.rows
            .iter()
            .filter_map(|r| r.at.map(|at| (at, r.stale)))
            .max_by_key(|(at, _)| *at)
    }
}

fn clamp_u16(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

/// Lines left for rows inside a pane of `height`.
fn rows_room(body: &Body, height: u16) -> usize {
    usize::from(height.saturating_sub(2)).saturating_sub(body.fixed())
}

/// The title: the pane's name, the age of its freshest row (STALE when even that one is
/// stale), and how many rows are stale.
fn title(body: &Body, now: Instant, focused: bool, theme: &Theme) -> Line<'static> {
    let name_style = if focused {
        theme.focus()
    } else {
        theme.header()
    };
    let mut spans = vec![Span::styled(format!(" {} ", body.title), name_style)];
    match body.freshest() {
        None => spans.push(Span::styled(" waiting for data ", theme.dim())),
        Some((at, true)) => spans.push(Span::styled(
            format!(" STALE {} ", fmt_age(now.saturating_duration_since(at))),
            theme.bad(),
        )),
        Some((at, false)) => {
            let age = fmt_age(now.saturating_duration_since(at));
            let stale = body.rows.iter().filter(|r| r.stale).count();
            if stale == 0 {
                spans.push(Span::styled(format!(" {age} ago "), theme.dim()));
            } else {
                spans.push(Span::styled(format!(" {age} ago ·"), theme.dim()));
                spans.push(Span::styled(format!(" {stale} stale "), theme.bad()));
            }
        }
    }
    spans.extend(body.marks.iter().cloned());
    Line::from(spans)
}

/// Draws `body` in `area`: borders and title, the pinned lines, and the rows from
/// `scroll` (bounded: the last row never leaves the bottom), with how many are out of
/// view in the bottom border.
pub fn draw(
    f: &mut Frame,
    area: Rect,
    body: &Body,
    focused: bool,
    scroll: u16,
    now: Instant,
    theme: &Theme,
) {
    let mut block = Block::default()
        .borders(Borders::ALL)
        .title(title(body, now, focused, theme));
    let inner = block.inner(area);
    let room = rows_room(body, area.height);
    let order = body.order(room);
    let first = usize::from(scroll.min(body.max_scroll(area.height)));
    let mut shown_rows = Vec::new();
    let mut used = 0;
    let mut shown = 0;
    for &i in &order[first..] {
        let row = &body.rows[i];
        if used >= room {
            break;
        }
        let take = row.lines.len().min(room - used);
        shown_rows.extend(row.lines.iter().take(take).cloned());
        used += take;
        shown += 1;
    }
    let below = order.len() - first - shown;
    if first > 0 || below > 0 {
        let mut text = String::from(" ");
        if first > 0 {
            text.push_str(&format!("↑ {first} above"));
        }
        if below > 0 {
            if first > 0 {
                text.push_str(" · ");
            }
            text.push_str(&format!("+{below} more"));
        }
        text.push(' ');
        block = block.title_bottom(Line::styled(text, theme.warn()));
    }
    // The pinned lines, dropped last: the header first, then what is below, then above.
    let mut lines: Vec<Line<'static>> = body.top.clone();
    let mut header = body.header.clone();
    let mut bottom = body.bottom.clone();
    let height = usize::from(inner.height);
    let pinned = |h: &Option<Line>, b: &Vec<Line>| lines_len(h) + b.len();
    if body.top.len() + pinned(&header, &bottom) > height {
        header = None;
    }
    while body.top.len() + pinned(&header, &bottom) > height && !bottom.is_empty() {
        bottom.pop();
    }
    lines.extend(header);
    if body.rows.is_empty() {
        lines.extend(body.empty.clone());
    }
    lines.extend(shown_rows);
    lines.extend(bottom);
    f.render_widget(Paragraph::new(lines).block(block), area);
}

fn lines_len(l: &Option<Line<'_>>) -> usize {
    usize::from(l.is_some())
}

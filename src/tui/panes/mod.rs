//! The live panes: pure functions from the dashboard state to lines on screen.

pub mod compact;
pub mod gtid;
pub mod maxscale;
pub mod replication;

use std::time::{Duration, Instant};

use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders};

use super::theme::Theme;

/// A pane's frame: its title, the age of its data, and STALE after three intervals.
pub fn pane_block<'a>(
    title: &'a str,
    taken_at: Option<Instant>,
    interval: Duration,
    now: Instant,
    focused: bool,
    theme: &Theme,
) -> Block<'a> {
    let mut spans = vec![Span::styled(
        format!(" {title} "),
        if focused {
            theme.focus()
        } else {
            theme.header()
        },
    )];
    if let Some(t) = taken_at {
        let age = now.saturating_duration_since(t);
        if age > interval * 3 {
            spans.push(Span::styled(
                format!(" STALE {} ", fmt_age(age)),
                theme.bad(),
            ));
        } else {
            spans.push(Span::styled(format!(" {} ago ", fmt_age(age)), theme.dim()));
        }
    } else {
        spans.push(Span::styled(" waiting for data ", theme.dim()));
    }
    Block::default()
        .borders(Borders::ALL)
        .title(Line::from(spans))
}

pub fn fmt_age(d: Duration) -> String {
    if d < Duration::from_secs(10) {
        format!("{:.1}s", d.as_secs_f64())
    } else if d < Duration::from_secs(120) {
        format!("{}s", d.as_secs())
    } else {
        format!("{}m", d.as_secs() / 60)
    }
}

/// Pads or cuts to a column width (in characters).
pub fn cell(text: &str, width: usize) -> String {
    let mut s: String = text.chars().take(width).collect();
    let len = s.chars().count();
    s.extend(std::iter::repeat_n(' ', width.saturating_sub(len) + 1));
    s
}

/// A sparkline as block characters, scaled to the largest value shown (at least 1 s).
pub fn sparkline(values: impl DoubleEndedIterator<Item = u64>, width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let mut last: Vec<u64> = values.rev().take(width).collect();
    last.reverse();
    let max = last.iter().copied().max().unwrap_or(0).max(1);
    last.iter()
        .map(|v| BARS[((*v * 7) / max).min(7) as usize])
        .collect()
}

/// When the oldest live data of a pane was polled. A server whose last poll failed shows
/// its own age on its row ([`failed_row`]), so one dead server never makes the others look
/// stale; with no live server, the oldest failed poll. Servers not polled yet do not count.
pub fn oldest_poll(d: &crate::tui::dashboard::Dashboard) -> Option<Instant> {
    let polled = || {
        d.servers
            .iter()
            .filter(|s| s.info.is_some() || s.error.is_some())
    };
    polled()
        .filter(|s| s.error.is_none())
        .map(|s| s.taken_at)
        .min()
        .or_else(|| polled().map(|s| s.taken_at).min())
}

/// A server whose last poll failed, as a row: what failed (down, login refused, refusing
/// connections, reconnecting after the server closed the connection, a failed query), the
/// driver's words, and how old that news is. Only "down" is a server that did not answer.
pub fn failed_row(
    snap: &crate::poll::ServerSnapshot,
    error: &crate::poll::PollError,
    now: Instant,
    interval: Duration,
    theme: &Theme,
) -> Vec<Span<'static>> {
    let style = match error {
        crate::poll::PollError::Closed(_) => theme.warn(),
        _ => theme.bad(),
    };
    let age = now.saturating_duration_since(snap.taken_at);
    let (age_text, age_style) = if snap.is_stale(now, interval) {
        (format!("STALE {}", fmt_age(age)), theme.bad())
    } else {
        (format!("{} ago", fmt_age(age)), theme.dim())
    };
    vec![
        Span::styled(format!("{}  ", error.label()), style),
        Span::styled(format!("{} · ", error.detail()), style),
        Span::styled(age_text, age_style),
    ]
}

/// A box of `width` × `height` (clipped) in the middle of `area`, for questions and help.
pub fn centered(area: ratatui::layout::Rect, width: u16, height: u16) -> ratatui::layout::Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    ratatui::layout::Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

//! The live panes: pure functions from the dashboard state to lines on screen. Each pane
//! builds a [`frame::Body`] for its width (rows that carry their own age and severity);
//! [`frame::draw`] places it; [`layout::render`] arranges the panes for `watch` and the
//! cockpit alike.

pub mod compact;
pub mod frame;
pub mod gtid;
pub mod layout;
pub mod maxscale;
pub mod replication;
pub mod semisync;
pub mod summary;
pub mod text;
pub mod topology;

use std::time::{Duration, Instant};

use ratatui::text::Span;

use super::theme::Theme;

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

/// A sparkline as block characters, scaled to the largest value shown (at least 1 s of
/// milliseconds); an unknown sample is a `·`.
/// A whole window's history in `width` bars: neighbouring samples merged, keeping the
/// worse lag, so the first bar is the start of the window.
pub fn sparkline_whole(values: &[Option<u64>], width: usize) -> String {
    if width == 0 || values.is_empty() {
        return String::new();
    }
    let per_bar = values.len().div_ceil(width);
    let bars: Vec<Option<u64>> = values
        .chunks(per_bar)
        .map(|c| c.iter().flatten().copied().max())
        .collect();
    sparkline(bars.into_iter(), width)
}

pub fn sparkline(values: impl DoubleEndedIterator<Item = Option<u64>>, width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let mut last: Vec<Option<u64>> = values.rev().take(width).collect();
    last.reverse();
    let max = last.iter().flatten().copied().max().unwrap_or(0).max(1000);
    last.iter()
        .map(|v| v.map_or('·', |v| BARS[((v * 7) / max).min(7) as usize]))
        .collect()
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

/// A server whose last poll failed, as a pane row: its name (indented as the pane
/// wants), then [`failed_row`].
#[allow(clippy::too_many_arguments)]
pub fn failed_pane_row(
    d: &crate::tui::dashboard::Dashboard,
    snap: &crate::poll::ServerSnapshot,
    err: &crate::poll::PollError,
    shown: &str,
    name_width: usize,
    now: Instant,
    width: usize,
    theme: &Theme,
) -> frame::Row {
    let mut spans = failed_row(snap, err, now, d.sql_interval, theme);
    let tail = spans.pop().into_iter().collect();
    spans.insert(0, Span::raw(cell(shown, name_width)));
    frame::Row {
        lines: vec![text::fit(spans, tail, width)],
        severity: match err {
            crate::poll::PollError::Closed(_) => frame::Severity::Warn,
            _ => frame::Severity::Bad,
        },
        at: Some(snap.taken_at),
        stale: snap.is_stale(now, d.sql_interval),
    }
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

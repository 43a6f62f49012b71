//! Servers at a glance: one line per server (role, read_only, IO/SQL threads, lag,
//! heartbeat lag, GTID transactions behind the primary, MaxScale state), sized so that
//! every essential value fits in the 78 columns inside a border at 80×24. Wider areas
//! show the primary's full GTID position and the replica's last error; a line never wraps,
//! it is cut with "…". A server whose last poll failed says so as the other panes do
//! ([`super::failed_row`]).
//!
//! This file says what each row holds; `cells` what each value column says, `layout` how
//! the columns share the width.

mod cells;
mod layout;

use std::time::Instant;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::{failed_row, fmt_age, oldest_poll, pane_block};
use crate::poll::ServerSnapshot;
use crate::tui::dashboard::Dashboard;
use crate::tui::theme::Theme;
use layout::{Body, Cell, Row};

pub fn render(f: &mut Frame, area: Rect, dash: &Dashboard, now: Instant, theme: &Theme) {
    let mut block = pane_block(
        "Servers",
        oldest_poll(dash),
        dash.sql_interval,
        now,
        false,
        theme,
    );
    if let Some(mark) = maxscale_mark(dash, now, theme) {
        block = block.title(mark);
    }
    let inner = usize::from(area.width.saturating_sub(2));
    f.render_widget(
        Paragraph::new(lines(dash, inner, now, theme)).block(block),
        area,
    );
}

/// The lines for an area `width` columns wide, one per server in dashboard order.
pub fn lines(d: &Dashboard, width: usize, now: Instant, theme: &Theme) -> Vec<Line<'static>> {
    let rows: Vec<Row> = d.servers.iter().map(|s| row(d, s, now, theme)).collect();
    if rows.is_empty() {
        return vec![Line::styled("no server in the inventory", theme.dim())];
    }
    layout::lines(&rows, width, theme)
}

/// MaxScale's own freshness, which the title's age (the SQL pollers') does not cover.
fn maxscale_mark(d: &Dashboard, now: Instant, theme: &Theme) -> Option<Line<'static>> {
    let m = d.maxscale.as_ref().filter(|m| m.polled)?;
    let text = if m.error.is_some() {
        " MaxScale unreachable ".to_string()
    } else if m.is_stale(now, d.maxscale_interval) {
        format!(
            " MaxScale STALE {} ",
            fmt_age(now.saturating_duration_since(m.taken_at))
        )
    } else {
        return None;
    };
    Some(Line::styled(text, theme.bad()))
}

fn row(d: &Dashboard, snap: &ServerSnapshot, now: Instant, theme: &Theme) -> Row {
    let name = snap.server.clone();
    let state = cells::maxscale_state(d, &snap.server, theme);
    if let Some(error) = &snap.error {
        // What failed, the driver's words and, last, the age of that news (the title's
        // may not count it), which always shows.
        let mut text: Vec<_> = failed_row(snap, error, now, d.sql_interval, theme)
            .into_iter()
            .map(|s| (s.content.into_owned(), s.style))
            .collect();
        let tail = text.pop().map(|(t, style)| Cell::one(t, style));
        return Row {
            name,
            body: Body::Note {
                role: None,
                text: Cell(text),
                tail,
            },
            state,
            extra: None,
        };
    }
    let Some(info) = &snap.info else {
        return Row {
            name,
            body: Body::Note {
                role: Some(Cell::one("?", theme.dim())),
                text: Cell::one("waiting for data", theme.dim()),
                tail: None,
            },
            state,
            extra: None,
        };
    };
    let primary = d.primary();
    let is_primary = primary == Some(snap.server.as_str());
    let replicating = !info.replicas.is_empty();
    let role = if is_primary {
        Cell::one("PRIMARY", theme.accent())
    } else if replicating || primary.is_some() {
        Cell::one("replica", Style::default())
    } else {
        Cell::one("?", theme.dim())
    };
    // A read-only primary or a writable replica is worth a look.
    let ro = Cell::one(
        if info.read_only { "ro" } else { "rw" },
        if info.read_only == is_primary {
            theme.warn()
        } else {
            Style::default()
        },
    );
    let extra = info.replicas.iter().find_map(|r| {
        let err = r.last_error()?;
        let text = if r.connection_name.is_empty() {
            err
        } else {
            format!("{}: {err}", r.connection_name)
        };
        Some(Cell::one(text, theme.bad()))
    });
    Row {
        name,
        body: Body::Values {
            role,
            ro,
            threads: cells::threads(&info.replicas, is_primary, theme),
            lag: cells::lag(&info.replicas, theme),
            // A primary's own heartbeat row says nothing about it (after a switchover it
            // is the old primary's row, ageing): lag is a replica's measure.
            hb: info
                .heartbeat_lag
                .and_then(crate::poll::HeartbeatLag::behind)
                .filter(|_| !is_primary)
                .map(|h| cells::heartbeat(h, theme)),
            gtid: cells::gtid(d, info, is_primary, theme),
        },
        state,
        extra,
    }
}

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

use super::frame::{self, Severity};
use super::{failed_row, fmt_age};
use crate::poll::ServerSnapshot;
use crate::tui::dashboard::Dashboard;
use crate::tui::theme::Theme;
use layout::{Body, Cell, Row};

pub fn render(f: &mut Frame, area: Rect, dash: &Dashboard, now: Instant, theme: &Theme) {
    let b = body(dash, now, usize::from(area.width.saturating_sub(2)), theme);
    frame::draw(f, area, &b, false, 0, now, theme);
}

/// The pane for an area `width` columns wide: a line per server, in dashboard order (the
/// worst news first when not all fit).
pub fn body(d: &Dashboard, now: Instant, width: usize, theme: &Theme) -> frame::Body {
    let lines = lines(d, width, now, theme);
    let rows = if d.servers.is_empty() {
        Vec::new()
    } else {
        d.servers
            .iter()
            .zip(lines)
            .map(|(snap, line)| {
                let (severity, at, stale) = meta(d, snap, now);
                frame::Row {
                    lines: vec![line],
                    severity,
                    at,
                    stale,
                }
            })
            .collect()
    };
    frame::Body {
        title: "Servers",
        marks: maxscale_mark(d, now, theme)
            .map(|l| l.spans)
            .unwrap_or_default(),
        rows,
        empty: Some(Line::styled("no server in the inventory", theme.dim())),
        ..frame::Body::default()
    }
}

/// How bad a server's news is, when its facts were taken, and whether they are stale.
fn meta(d: &Dashboard, snap: &ServerSnapshot, now: Instant) -> (Severity, Option<Instant>, bool) {
    let stale = snap.is_stale(now, d.sql_interval);
    if let Some(error) = &snap.error {
        let severity = match error {
            crate::poll::PollError::Closed(_) => Severity::Warn,
            _ => Severity::Bad,
        };
        return (severity, Some(snap.taken_at), stale);
    }
    let Some(info) = &snap.info else {
        return (Severity::Ok, None, false);
    };
    let mxs = d
        .maxscale
        .as_ref()
        .filter(|m| m.error.is_none())
        .and_then(|m| {
            let name = d.maxscale_names.get(&snap.server).unwrap_or(&snap.server);
            m.server(name)
                .map(|s| super::maxscale::severity(&s.attributes.state))
        });
    let replication = info
        .replicas
        .iter()
        .map(|r| {
            let lag = crate::tui::dashboard::lag_sample(info, r, info.replicas.len() == 1).0;
            if r.io == crate::poll::IoState::No || !r.sql_running {
                Severity::Bad
            } else if lag.is_some_and(|ms| ms > super::replication::LAGGING.as_millis() as u64) {
                Severity::Warn
            } else {
                Severity::Ok
            }
        })
        .min();
    let mut severity = [mxs, replication]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(Severity::Ok);
    if stale {
        severity = severity.min(Severity::Warn);
    }
    (severity, Some(snap.taken_at), stale)
}

/// The lines for an area `width` columns wide, one per server in dashboard order.
fn lines(d: &Dashboard, width: usize, now: Instant, theme: &Theme) -> Vec<Line<'static>> {
    let rows: Vec<Row> = d.servers.iter().map(|s| row(d, s, now, theme)).collect();
    if rows.is_empty() {
        return Vec::new();
    }
    layout::lines(&rows, width, theme)
}

/// MaxScale's own freshness, which the title's age (the SQL pollers') does not cover.
fn maxscale_mark(d: &Dashboard, now: Instant, theme: &Theme) -> Option<Line<'static>> {
    let m = d.maxscale.as_ref().filter(|m| m.polled)?;
    let text = if m.error.is_some() && m.said_no {
        " MaxScale says no ".to_string()
    } else if m.error.is_some() {
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

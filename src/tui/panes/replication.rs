//! Replication: one row per replica connection, IO and SQL threads, lag, heartbeat lag,
//! a lag sparkline, and the last error in full.

use std::time::Instant;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{cell, pane_block, sparkline};
use crate::poll::{IoState, ReplicaStatus};
use crate::tui::dashboard::{Dashboard, lag_key};
use crate::tui::theme::Theme;

const SPARK: usize = 20;

/// The pane's rows; `now` dates the rows of servers whose last poll failed.
pub fn lines(d: &Dashboard, now: Instant, theme: &Theme) -> Vec<Line<'static>> {
    let mut out = vec![Line::styled(
        format!(
            "{}{}{}{}{}{}lag history",
            cell("replica", 10),
            cell("source", 21),
            cell("IO", 10),
            cell("SQL", 3),
            cell("behind", 7),
            cell("heartbeat", 9),
        ),
        theme.header(),
    )];
    let primary = d.primary();
    let mut any = false;
    for snap in &d.servers {
        if let Some(err) = &snap.error {
            any = true;
            let mut spans = vec![Span::raw(cell(&snap.server, 10))];
            spans.extend(super::failed_row(snap, err, now, d.sql_interval, theme));
            out.push(Line::from(spans));
            continue;
        }
        let Some(info) = &snap.info else { continue };
        if info.replicas.is_empty() && Some(snap.server.as_str()) != primary {
            any = true;
            out.push(Line::from(vec![
                Span::raw(cell(&snap.server, 10)),
                Span::styled("not replicating (no replica connection)", theme.warn()),
            ]));
        }
        for r in &info.replicas {
            any = true;
            out.extend(replica_lines(d, &snap.server, r, info.heartbeat_lag, theme));
        }
    }
    if !any {
        out.push(Line::styled("no replica reported yet", theme.dim()));
    }
    out
}

fn replica_lines(
    d: &Dashboard,
    server: &str,
    r: &ReplicaStatus,
    heartbeat: Option<crate::poll::HeartbeatLag>,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let name = if r.connection_name.is_empty() {
        server.to_string()
    } else {
        format!("{server}:{}", r.connection_name)
    };
    let io_style = match r.io {
        IoState::Yes => theme.ok(),
        IoState::Connecting => theme.warn(),
        IoState::No => theme.bad(),
    };
    let (sql_text, sql_style) = if r.sql_running {
        ("Yes", theme.ok())
    } else {
        ("No", theme.bad())
    };
    let (behind, behind_style) = match r.seconds_behind {
        Some(0) => ("0s".to_string(), theme.ok()),
        Some(s) => (format!("{s}s"), theme.warn()),
        None => ("NULL".to_string(), theme.bad()),
    };
    let hb = heartbeat.map_or("-".to_string(), |h| h.short());
    let history = d.lag.get(&lag_key(server, &r.connection_name));
    let spark = history.map_or(String::new(), |h| sparkline(h.iter().copied(), SPARK));
    let row_style = if r.healthy() { theme.ok() } else { theme.bad() };
    let mut out = vec![Line::from(vec![
        Span::styled(cell(&name, 10), row_style),
        Span::raw(cell(&format!("{}:{}", r.master_host, r.master_port), 21)),
        Span::styled(cell(r.io.as_str(), 10), io_style),
        Span::styled(cell(sql_text, 3), sql_style),
        Span::styled(cell(&behind, 7), behind_style),
        Span::raw(cell(&hb, 9)),
        Span::styled(spark, theme.accent()),
    ])];
    if let Some(err) = r.last_error() {
        out.push(Line::from(vec![
            Span::raw("  └ "),
            Span::styled(err, theme.bad()),
        ]));
    }
    out
}

pub fn render(
    f: &mut Frame,
    area: Rect,
    d: &Dashboard,
    now: Instant,
    focus: bool,
    scroll: u16,
    theme: &Theme,
) {
    let taken = super::oldest_poll(d);
    let block = pane_block("Replication", taken, d.sql_interval, now, focus, theme);
    let p = Paragraph::new(lines(d, now, theme))
        .block(block)
        .wrap(Wrap { trim: false })
        .scroll((scroll, 0));
    f.render_widget(p, area);
}

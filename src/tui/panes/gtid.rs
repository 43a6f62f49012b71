//! GTID positions: a row per server, a column per domain, how many transactions each
//! server lacks of the primary's binlog position, and errant transactions (ones the
//! primary does not have). A server whose poll failed, or whose facts are older than
//! three intervals, keeps its last known positions, dimmed and dated.

use std::collections::BTreeSet;
use std::time::Instant;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::frame::{self, Body, Row, Severity};
use super::text::{fit, last_known, restyle};
use super::{cell, failed_row};
use crate::poll::{Encryption, GtidPos, IoState, ServerSnapshot};
use crate::tui::dashboard::Dashboard;
use crate::tui::theme::Theme;

const ROLE: usize = 7;

pub fn body(d: &Dashboard, now: Instant, width: usize, theme: &Theme) -> Body {
    let primary_name = d.primary().map(str::to_string);
    let primary_pos: Option<GtidPos> = primary_name
        .as_deref()
        .and_then(|p| d.server(p))
        .and_then(|s| s.live())
        .map(|i| i.gtid_binlog_pos.clone());
    let domains: Vec<u32> = d
        .servers
        .iter()
        .filter_map(|s| s.info.as_ref())
        .flat_map(|i| i.gtid_current_pos.0.keys().copied())
        .chain(primary_pos.iter().flat_map(|p| p.0.keys().copied()))
        .collect::<BTreeSet<u32>>()
        .into_iter()
        .collect();
    let name_w = d
        .servers
        .iter()
        .map(|s| s.server.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(6, 16);
    let mut body = Body {
        title: "GTID",
        empty: Some(Line::styled("no GTID position reported yet", theme.dim())),
        ..Body::default()
    };
    if domains.is_empty() {
        body.header = Some(Line::styled(
            format!("{}{}", cell("server", name_w), cell("role", ROLE)),
            theme.header(),
        ));
        return body;
    }
    let cells: Vec<Vec<(String, Style)>> = d
        .servers
        .iter()
        .map(|snap| {
            let is_primary = primary_name.as_deref() == Some(snap.server.as_str());
            domain_cells(snap, &domains, primary_pos.as_ref(), is_primary, theme)
        })
        .collect();
    let col = |k: usize| {
        cells
            .iter()
            .filter_map(|c| c.get(k))
            .map(|(t, _)| t.chars().count())
            .chain(std::iter::once(format!("domain {}", domains[k]).len()))
            .max()
            .unwrap_or(0)
    };
    let cols: Vec<usize> = (0..domains.len()).map(col).collect();
    let mut header = format!("{}{}", cell("server", name_w), cell("role", ROLE));
    for (dom, w) in domains.iter().zip(&cols) {
        header.push_str(&cell(&format!("domain {dom}"), *w));
    }
    body.header = Some(fit(
        vec![Span::styled(header, theme.header())],
        vec![],
        width,
    ));
    for (snap, cells) in d.servers.iter().zip(cells) {
        let is_primary = primary_name.as_deref() == Some(snap.server.as_str());
        let role = if is_primary { "primary" } else { "replica" };
        let mut spans = vec![
            Span::raw(cell(&snap.server, name_w)),
            Span::raw(cell(role, ROLE)),
        ];
        if snap.info.is_none() {
            body.rows.push(no_data(snap, spans, width, now, d, theme));
            continue;
        }
        let errant = cells.iter().any(|(t, _)| t.ends_with("errant"));
        // A replica that stopped applying falls behind here too: it sorts first.
        let broken = snap.info.as_ref().is_some_and(|i| {
            i.replicas
                .iter()
                .any(|r| r.io == IoState::No || !r.sql_running)
        });
        for ((text, style), w) in cells.into_iter().zip(&cols) {
            spans.push(Span::styled(cell(&text, *w), style));
        }
        // The facts' own age: a failed poll never makes them younger.
        let at = d
            .answered(&snap.server)
            .or_else(|| snap.error.is_none().then_some(snap.taken_at));
        let stale = at.is_none_or(|t| now.saturating_duration_since(t) > d.sql_interval * 3);
        let last = snap.error.is_some() || stale;
        let mut tail: Vec<Span<'static>> = encryption_mark(snap, theme).into_iter().collect();
        let spans = if last {
            if !tail.is_empty() {
                tail.push(Span::raw(" "));
            }
            tail.push(Span::styled(last_known(at, now), theme.warn()));
            restyle(spans, theme.dim())
        } else {
            spans
        };
        let severity = match &snap.error {
            Some(e) if e.is_down() => Severity::Bad,
            _ if errant => Severity::Bad,
            Some(_) => Severity::Warn,
            None if broken => Severity::Bad,
            None if last => Severity::Warn,
            None => Severity::Ok,
        };
        body.rows.push(Row {
            lines: vec![fit(spans, tail, width)],
            severity,
            at,
            stale,
        });
    }
    body
}

/// `clear text` (a warning: passwords and statements readable on the wire) or `TLS`, as the
/// poller's connection found it; nothing while that is not known.
fn encryption_mark(snap: &ServerSnapshot, theme: &Theme) -> Option<Span<'static>> {
    match snap.info.as_ref()?.encryption.as_ref()? {
        Encryption::ClearText => Some(Span::styled("clear text", theme.warn())),
        Encryption::Tls { .. } => Some(Span::styled("TLS", theme.dim())),
    }
}

/// A server with no facts yet: waiting for its first poll, or what its polls say.
fn no_data(
    snap: &ServerSnapshot,
    mut spans: Vec<Span<'static>>,
    width: usize,
    now: Instant,
    d: &Dashboard,
    theme: &Theme,
) -> Row {
    let Some(error) = &snap.error else {
        spans.push(Span::styled("waiting for data", theme.dim()));
        return Row {
            lines: vec![fit(spans, vec![], width)],
            severity: Severity::Ok,
            at: None,
            stale: false,
        };
    };
    spans.truncate(1);
    let mut failed = failed_row(snap, error, now, d.sql_interval, theme);
    let tail = failed.pop().into_iter().collect();
    spans.extend(failed);
    Row {
        lines: vec![fit(spans, tail, width)],
        severity: Severity::Bad,
        at: Some(snap.taken_at),
        stale: snap.is_stale(now, d.sql_interval),
    }
}

/// Each domain's position on `snap`, and how it compares with the primary's.
fn domain_cells(
    snap: &ServerSnapshot,
    domains: &[u32],
    primary_pos: Option<&GtidPos>,
    is_primary: bool,
    theme: &Theme,
) -> Vec<(String, Style)> {
    let Some(info) = &snap.info else {
        return Vec::new();
    };
    let pos = &info.gtid_current_pos;
    let errant = primary_pos
        .filter(|_| !is_primary)
        .map(|p| pos.errant_against(p))
        .unwrap_or_default();
    domains
        .iter()
        .map(|dom| {
            let text = pos.domain(*dom).map_or("-".to_string(), |g| {
                format!("{}-{}-{}", g.domain, g.server_id, g.sequence)
            });
            let (suffix, style) = match (primary_pos, is_primary) {
                (_, true) => (String::new(), theme.ok()),
                (Some(p), false) if errant.contains(dom) => {
                    let ahead = p.behind_in(pos, *dom);
                    (format!(" +{ahead} errant"), theme.errant())
                }
                (Some(p), false) => match pos.behind_in(p, *dom) {
                    0 => (String::new(), theme.ok()),
                    n => (format!(" -{n}"), theme.warn()),
                },
                (None, false) => (String::new(), theme.dim()),
            };
            (format!("{text}{suffix}"), style)
        })
        .collect()
}

/// The pane in `area` (kept for callers that draw one pane by itself).
pub fn render(
    f: &mut Frame,
    area: Rect,
    d: &Dashboard,
    now: Instant,
    focus: bool,
    scroll: u16,
    theme: &Theme,
) {
    let b = body(d, now, usize::from(area.width.saturating_sub(2)), theme);
    frame::draw(f, area, &b, focus, scroll, now, theme);
}

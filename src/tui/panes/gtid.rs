//! GTID positions: a row per server, a column per domain, how many transactions each
//! server lacks of the primary's binlog position, and errant transactions (ones the
//! primary does not have).

use std::collections::BTreeSet;
use std::time::Instant;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{cell, pane_block};
use crate::poll::GtidPos;
use crate::tui::dashboard::Dashboard;
use crate::tui::theme::Theme;

const COL: usize = 22;

pub fn lines(d: &Dashboard, theme: &Theme) -> Vec<Line<'static>> {
    let primary_name = d.primary().map(str::to_string);
    let primary_pos: Option<GtidPos> = primary_name
        .as_deref()
        .and_then(|p| d.server(p))
        .and_then(|s| s.live())
        .map(|i| i.gtid_binlog_pos.clone());
    let domains: BTreeSet<u32> = d
        .servers
        .iter()
        .filter_map(|s| s.info.as_ref())
        .flat_map(|i| i.gtid_current_pos.0.keys().copied())
        .chain(primary_pos.iter().flat_map(|p| p.0.keys().copied()))
        .collect();
    let mut header = format!("{}{}", cell("server", 10), cell("role", 8));
    for dom in &domains {
        header.push_str(&cell(&format!("domain {dom}"), COL));
    }
    let mut out = vec![Line::styled(header, theme.header())];
    if domains.is_empty() {
        out.push(Line::styled("no GTID position reported yet", theme.dim()));
        return out;
    }
    for snap in &d.servers {
        let is_primary = primary_name.as_deref() == Some(snap.server.as_str());
        let role = if is_primary { "primary" } else { "replica" };
        let mut spans = vec![Span::raw(cell(&snap.server, 10)), Span::raw(cell(role, 8))];
        let Some(info) = &snap.info else {
            spans.push(Span::styled("no data", theme.dim()));
            out.push(Line::from(spans));
            continue;
        };
        let down = snap.error.is_some();
        let pos = &info.gtid_current_pos;
        let errant = primary_pos
            .as_ref()
            .filter(|_| !is_primary)
            .map(|p| pos.errant_against(p))
            .unwrap_or_default();
        for dom in &domains {
            let text = pos.domain(*dom).map_or("-".to_string(), |g| {
                format!("{}-{}-{}", g.domain, g.server_id, g.sequence)
            });
            let (suffix, style) = match (&primary_pos, is_primary, down) {
                (_, _, true) => (" (last known)".to_string(), theme.dim()),
                (_, true, _) => (String::new(), theme.ok()),
                (Some(p), false, _) if errant.contains(dom) => {
                    let ahead = p.behind_in(pos, *dom);
                    (format!(" +{ahead} errant"), theme.errant())
                }
                (Some(p), false, _) => match pos.behind_in(p, *dom) {
                    0 => (String::new(), theme.ok()),
                    n => (format!(" -{n}"), theme.warn()),
                },
                (None, false, _) => (String::new(), theme.dim()),
            };
            spans.push(Span::styled(cell(&format!("{text}{suffix}"), COL), style));
        }
        out.push(Line::from(spans));
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
    let block = pane_block("GTID", taken, d.sql_interval, now, focus, theme);
    f.render_widget(
        Paragraph::new(lines(d, theme))
            .block(block)
            .scroll((scroll, 0)),
        area,
    );
}

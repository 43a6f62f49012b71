//! The MaxScale server list, like `maxctrl list servers`, and the monitor's primary.

use std::time::Instant;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{cell, pane_block};
use crate::maxscale::ServerState;
use crate::tui::dashboard::Dashboard;
use crate::tui::theme::Theme;

pub fn lines(d: &Dashboard, theme: &Theme) -> Vec<Line<'static>> {
    let Some(m) = &d.maxscale else {
        return vec![Line::styled("no MaxScale in the inventory", theme.dim())];
    };
    let mut out = Vec::new();
    if let Some(err) = &m.error {
        out.push(Line::styled(
            format!("MaxScale unreachable: {err}"),
            theme.bad(),
        ));
    }
    if !m.polled {
        out.push(Line::styled("waiting for MaxScale…", theme.dim()));
        return out;
    }
    out.push(Line::styled(
        format!(
            "{}{}{}{}{}",
            cell("Server", 10),
            cell("Address", 15),
            cell("Port", 5),
            cell("Conns", 5),
            cell("State", 24),
        ) + "GTID",
        theme.header(),
    ));
    for s in &m.servers {
        let a = &s.attributes;
        let p = &a.parameters;
        let state_style = state_style(&a.state, theme);
        out.push(Line::from(vec![
            Span::raw(cell(&s.id, 10)),
            Span::raw(cell(p.address.as_deref().unwrap_or("-"), 15)),
            Span::raw(cell(&p.port.map_or("-".into(), |p| p.to_string()), 5)),
            Span::raw(cell(
                &a.statistics
                    .connections
                    .map_or("-".into(), |c| c.to_string()),
                5,
            )),
            Span::styled(cell(&a.state.raw, 24), state_style),
            Span::raw(a.gtid_current_pos.clone().unwrap_or_default()),
        ]));
    }
    let primary = m.monitor_master.as_deref().unwrap_or("none");
    out.push(Line::styled(
        format!("monitor {}: primary {primary}", m.monitor),
        theme.dim(),
    ));
    out
}

pub(crate) fn state_style(state: &ServerState, theme: &Theme) -> ratatui::style::Style {
    if state.down || (!state.running && !state.raw.is_empty()) {
        theme.bad()
    } else if state.maintenance || state.draining || state.drained {
        theme.warn()
    } else if state.master {
        theme.accent()
    } else if state.slave {
        theme.ok()
    } else {
        // Running but neither Master nor Slave: replication is broken.
        theme.bad()
    }
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
    let taken = d.maxscale.as_ref().filter(|m| m.polled).map(|m| m.taken_at);
    let block = pane_block("MaxScale", taken, d.maxscale_interval, now, focus, theme);
    f.render_widget(
        Paragraph::new(lines(d, theme))
            .block(block)
            .scroll((scroll, 0)),
        area,
    );
}

//! The MaxScale server list, like `maxctrl list servers`, and the monitor's primary. When
//! MaxScale does not answer, its error gets a line of its own above the list, and the
//! rows keep their last known state, dimmed and dated; the monitor line stays below.

use std::time::Instant;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::cell;
use super::frame::{self, Body, Row, Severity};
use super::text::{fit, last_known, restyle};
use crate::maxscale::ServerState;
use crate::tui::dashboard::Dashboard;
use crate::tui::theme::Theme;

pub fn body(d: &Dashboard, now: Instant, width: usize, theme: &Theme) -> Body {
    let mut body = Body {
        title: "MaxScale",
        ..Body::default()
    };
    let Some(m) = &d.maxscale else {
        body.empty = Some(Line::styled("no MaxScale in the inventory", theme.dim()));
        return body;
    };
    if let Some(err) = &m.error {
        body.top.push(fit(
            vec![Span::styled(
                if m.said_no {
                    format!("MaxScale answered with an error: {err}")
                } else {
                    format!("MaxScale unreachable: {err}")
                },
                theme.bad(),
            )],
            vec![],
            width,
        ));
    }
    if !m.polled {
        body.empty = Some(Line::styled("waiting for MaxScale…", theme.dim()));
        return body;
    }
    body.empty = Some(Line::styled("no server list yet", theme.dim()));
    let at = d
        .maxscale_answered_at
        .or_else(|| m.error.is_none().then_some(m.taken_at));
    let stale = at.is_none_or(|t| now.saturating_duration_since(t) > d.maxscale_interval * 3);
    let last = m.error.is_some() || stale;
    let widest = |f: &dyn Fn(&crate::maxscale::MaxscaleServer) -> usize, min: usize, max| {
        m.servers.iter().map(f).max().unwrap_or(0).clamp(min, max)
    };
    let name_w = widest(&|s| s.id.chars().count(), 6, 16);
    let addr_w = widest(
        &|s| {
            s.attributes
                .parameters
                .address
                .as_deref()
                .map_or(1, str::len)
        },
        7,
        21,
    );
    let state_w = widest(&|s| s.attributes.state.raw.chars().count(), 5, 30);
    body.header = Some(fit(
        vec![Span::styled(
            format!(
                "{}{}{}{}{}GTID",
                cell("Server", name_w),
                cell("Address", addr_w),
                cell("Port", 5),
                cell("Conns", 5),
                cell("State", state_w),
            ),
            theme.header(),
        )],
        vec![],
        width,
    ));
    for s in &m.servers {
        let a = &s.attributes;
        let p = &a.parameters;
        let spans = vec![
            Span::raw(cell(&s.id, name_w)),
            Span::raw(cell(p.address.as_deref().unwrap_or("-"), addr_w)),
            Span::raw(cell(&p.port.map_or("-".into(), |p| p.to_string()), 5)),
            Span::raw(cell(
                &a.statistics
                    .connections
                    .map_or("-".into(), |c| c.to_string()),
                5,
            )),
            Span::styled(cell(&a.state.raw, state_w), state_style(&a.state, theme)),
            Span::raw(a.gtid_current_pos.clone().unwrap_or_default()),
        ];
        let mut severity = severity(&a.state);
        let line = if last {
            severity = severity.min(Severity::Warn);
            let mark = Span::styled(last_known(at, now), theme.warn());
            fit(restyle(spans, theme.dim()), vec![mark], width)
        } else {
            fit(spans, vec![], width)
        };
        body.rows.push(Row {
            lines: vec![line],
            severity,
            at,
            stale,
        });
    }
    let known = if last { " (last known)" } else { "" };
    // A monitor that names no primary (a switchover that died halfway leaves every server
    // read-only) is said in red: writes go nowhere.
    let (text, style) = match m.monitor_master.as_deref() {
        Some(p) => (
            format!("monitor {}: primary {p}{known}", m.monitor),
            theme.dim(),
        ),
        None => (
            format!("monitor {}: no primary{known}", m.monitor),
            theme.bad(),
        ),
    };
    body.bottom
        .push(fit(vec![Span::styled(text, style)], vec![], width));
    body
}

/// How bad a state is: down or not running, or running as neither primary nor replica
/// (replication broken), is bad; maintenance and draining are worth a look.
pub fn severity(state: &ServerState) -> Severity {
    if state.down || !state.running || !(state.master || state.slave) {
        if state.maintenance && !state.down {
            Severity::Warn
        } else {
            Severity::Bad
        }
    } else if state.maintenance || state.draining || state.drained {
        Severity::Warn
    } else {
        Severity::Ok
    }
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

//! What each value column says about one server, and in which style: replication
//! threads, lag, GTID position, MaxScale state.

use std::time::Duration;

use ratatui::style::Style;

use super::layout::{Cell, Forms};
use crate::poll::{IoState, ReplicaStatus, ServerInfo, ServerSnapshot};
use crate::tui::dashboard::Dashboard;
use crate::tui::panes::fmt_age;
use crate::tui::theme::Theme;

/// Lag (Seconds_Behind_Master or heartbeat) at or above this shows as a warning.
const LAG_WARN: Duration = Duration::from_secs(10);

/// `IO✔ SQL✔`, a mark per replication connection (`IO✔✘ SQL✔✔` for two).
pub(super) fn threads(replicas: &[ReplicaStatus], is_primary: bool, theme: &Theme) -> Cell {
    if replicas.is_empty() {
        return if is_primary {
            Cell::one("-", theme.dim())
        } else {
            Cell::one("no repl", theme.warn())
        };
    }
    let mut cell = Cell(vec![("IO".into(), theme.dim())]);
    // The errno follows its thread's mark: the message itself needs more room.
    let errno =
        |n: u32, msg: &str| (n != 0 && !msg.is_empty()).then(|| (n.to_string(), theme.bad()));
    for r in replicas {
        cell.0.push(match r.io {
            IoState::Yes => ("✔".into(), theme.ok()),
            IoState::Connecting => ("…".into(), theme.warn()),
            IoState::No => ("✘".into(), theme.bad()),
        });
        cell.0.extend(errno(r.last_io_errno, &r.last_io_error));
    }
    cell.0.push((" SQL".into(), theme.dim()));
    for r in replicas {
        cell.0.push(if r.sql_running {
            ("✔".into(), theme.ok())
        } else {
            ("✘".into(), theme.bad())
        });
        cell.0.extend(errno(r.last_sql_errno, &r.last_sql_error));
    }
    cell
}

/// Seconds_Behind_Master, the worst of the connections; `?` when MariaDB says NULL.
pub(super) fn lag(replicas: &[ReplicaStatus], theme: &Theme) -> Cell {
    let (text, style) = if replicas.is_empty() {
        ("-".to_string(), theme.dim())
    } else if let Some(r) = replicas.iter().find(|r| r.seconds_behind.is_none()) {
        let style = if r.healthy() {
            theme.warn()
        } else {
            theme.bad()
        };
        ("?".to_string(), style)
    } else {
        let worst = replicas
            .iter()
            .filter_map(|r| r.seconds_behind)
            .max()
            .unwrap_or(0);
        let style = if Duration::from_secs(worst) >= LAG_WARN {
            theme.warn()
        } else {
            theme.ok()
        };
        (format!("{worst}s"), style)
    };
    Cell(vec![("lag ".into(), theme.dim()), (text, style)])
}

/// The primary's binlog position; for the others, how many transactions they lack of it
/// (or have that it lacks: errant), compared as the GTID pane does.
pub(super) fn gtid(d: &Dashboard, info: &ServerInfo, is_primary: bool, theme: &Theme) -> Forms {
    let label = |l: &str| (l.to_string(), theme.dim());
    if is_primary {
        let pos = info.gtid_binlog_pos.to_string();
        let pos = if pos.is_empty() { "-".into() } else { pos };
        return Forms {
            long: Cell(vec![label("gtid "), (pos.clone(), Style::default())]),
            short: Cell::one(pos, Style::default()),
        };
    }
    let primary_pos = d
        .primary()
        .and_then(|p| d.server(p))
        .and_then(ServerSnapshot::live)
        .map(|i| &i.gtid_binlog_pos);
    let pos = &info.gtid_current_pos;
    let Some(p) = primary_pos.filter(|_| !pos.is_empty()) else {
        return Forms::both(Cell(vec![label("behind "), ("?".into(), theme.dim())]));
    };
    let errant = pos.errant_against(p);
    if !errant.is_empty() {
        let ahead: u64 = errant.iter().map(|dom| p.behind_in(pos, *dom)).sum();
        return Forms::both(Cell(vec![
            label("errant "),
            (format!("+{ahead}"), theme.errant()),
        ]));
    }
    let behind: u64 = p.0.keys().map(|dom| pos.behind_in(p, *dom)).sum();
    let style = if behind == 0 {
        theme.ok()
    } else {
        theme.warn()
    };
    Forms::both(Cell(vec![label("behind "), (behind.to_string(), style)]))
}

/// The state as `maxctrl list servers` shows it, styled as the MaxScale pane does.
pub(super) fn maxscale_state(d: &Dashboard, server: &str, theme: &Theme) -> Forms {
    let Some(m) = &d.maxscale else {
        return Forms::both(Cell::one("-", theme.dim()));
    };
    let name = d.maxscale_names.get(server).map_or(server, String::as_str);
    match m.server(name) {
        Some(s) if !s.attributes.state.raw.is_empty() => {
            let style = if m.error.is_some() {
                // The last known state; the title says MaxScale is unreachable.
                theme.dim()
            } else {
                crate::tui::panes::maxscale::state_style(&s.attributes.state, theme)
            };
            let raw = &s.attributes.state.raw;
            let short: Vec<&str> = raw
                .split(',')
                .map(str::trim)
                .filter(|f| *f != "Running")
                .collect();
            Forms {
                long: Cell::one(raw.clone(), style),
                short: Cell::one(
                    if short.is_empty() {
                        raw.clone()
                    } else {
                        short.join(", ")
                    },
                    style,
                ),
            }
        }
        _ => Forms::both(Cell::one("?", theme.dim())),
    }
}

/// The heartbeat table's lag (`hb 0.1s`).
pub(super) fn heartbeat(lag: Duration, theme: &Theme) -> Cell {
    let style = if lag >= LAG_WARN {
        theme.warn()
    } else {
        Style::default()
    };
    Cell(vec![("hb ".into(), theme.dim()), (fmt_age(lag), style)])
}

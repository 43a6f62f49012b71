//! Servers at a glance: one line per server (role, read_only, IO/SQL threads, lag,
//! heartbeat lag, GTID transactions behind the primary, MaxScale state), sized so that
//! every essential value fits in the 78 columns inside a border at 80×24. Wider areas
//! show the primary's full GTID position and the replica's last error; a line never wraps,
//! it is cut with "…".

use std::time::{Duration, Instant};

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{fmt_age, oldest_poll, pane_block};
use crate::poll::{IoState, PollError, ReplicaStatus, ServerInfo, ServerSnapshot};
use crate::tui::dashboard::Dashboard;
use crate::tui::theme::Theme;

/// Lag (Seconds_Behind_Master or heartbeat) at or above this shows as a warning.
const LAG_WARN: Duration = Duration::from_secs(10);
const NAME_MAX: usize = 12;
const ROLE: usize = 7;
const RO: usize = 2;
/// `IO✔ SQL✔`
const THREADS_MIN: usize = 8;
const LAG_MIN: usize = "lag 0s".len();
const GTID_MIN: usize = "behind 0".len();
/// The GTID column may shrink to this when room is short (the primary's position is cut).
const GTID_CUT: usize = 10;
/// Below this, the trailing error column is not worth showing.
const EXTRA_MIN: usize = 8;

/// Styled pieces of one column's text.
#[derive(Clone)]
struct Cell(Vec<(String, Style)>);

impl Cell {
    fn one(text: impl Into<String>, style: Style) -> Self {
        Self(vec![(text.into(), style)])
    }

    fn len(&self) -> usize {
        self.0.iter().map(|(t, _)| t.chars().count()).sum()
    }

    /// Appends the cell cut to `width` (ending in "…" when cut), padded to it, and a space.
    fn put(&self, out: &mut Vec<Span<'static>>, width: usize) {
        let cut = self.len() > width;
        let mut room = if cut { width.saturating_sub(1) } else { width };
        let mut last = Style::default();
        for (text, style) in &self.0 {
            let piece: String = text.chars().take(room).collect();
            room -= piece.chars().count();
            last = *style;
            out.push(Span::styled(piece, *style));
        }
        if cut && width > 0 {
            out.push(Span::styled("…", last));
        }
        out.push(Span::raw(" ".repeat(width.saturating_sub(self.len()) + 1)));
    }
}

/// A column's text in a long form, and a shorter one for narrow areas.
#[derive(Clone)]
struct Forms {
    long: Cell,
    short: Cell,
}

impl Forms {
    fn both(cell: Cell) -> Self {
        Self {
            short: cell.clone(),
            long: cell,
        }
    }
}

enum Body {
    Values {
        ro: Cell,
        threads: Cell,
        lag: Cell,
        hb: Option<Cell>,
        gtid: Forms,
    },
    /// One text across the value columns (why the last poll failed, or that none came
    /// yet), cut before its tail (how old that news is), which always shows.
    Note(Cell, Option<Cell>),
}

struct Row {
    name: String,
    role: Cell,
    body: Body,
    /// Short: without `Running`, which the absence of `Down` already says.
    state: Forms,
    /// The replica's last error, shown when there is room.
    extra: Option<Cell>,
}

struct Widths {
    name: usize,
    /// From the read_only column to the GTID column, separators included.
    before_gtid: usize,
    threads: usize,
    lag: usize,
    hb: Option<usize>,
    gtid: usize,
    state: usize,
    /// Every row's state in its short form, because one long form did not fit.
    state_short: bool,
    extra: usize,
}

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
    let w = widths(&rows, width);
    rows.iter().map(|r| line(r, &w, theme)).collect()
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
    let state = maxscale_state(d, &snap.server, theme);
    // A failed poll's own age: the title's may not count it.
    let age = now.saturating_duration_since(snap.taken_at);
    let age = if snap.is_stale(now, d.sql_interval) {
        Cell::one(format!("STALE {}", fmt_age(age)), theme.bad())
    } else {
        Cell::one(format!("{} ago", fmt_age(age)), theme.dim())
    };
    let note = |role: &str, text: String, style: Style, tail: Option<Cell>| Row {
        name: name.clone(),
        role: Cell::one(role, style),
        body: Body::Note(Cell::one(text, style), tail),
        state: state.clone(),
        extra: None,
    };
    // Only a server that did not answer is DOWN; the others answered but would not serve.
    let info = match (&snap.error, &snap.info) {
        (Some(PollError::Unreachable(why)), _) => {
            return note("DOWN", why.clone(), theme.bad(), Some(age));
        }
        (Some(e), _) => return note("ERROR", e.to_string(), theme.bad(), Some(age)),
        (None, None) => return note("?", "waiting for data".into(), theme.dim(), None),
        (None, Some(info)) => info,
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
        role,
        body: Body::Values {
            ro,
            threads: threads(&info.replicas, is_primary, theme),
            lag: lag(&info.replicas, theme),
            hb: info.heartbeat_lag.map(|h| {
                let style = if h >= LAG_WARN {
                    theme.warn()
                } else {
                    Style::default()
                };
                Cell(vec![("hb ".into(), theme.dim()), (fmt_age(h), style)])
            }),
            gtid: gtid(d, info, is_primary, theme),
        },
        state,
        extra,
    }
}

/// `IO✔ SQL✔`, a mark per replication connection (`IO✔✘ SQL✔✔` for two).
fn threads(replicas: &[ReplicaStatus], is_primary: bool, theme: &Theme) -> Cell {
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
fn lag(replicas: &[ReplicaStatus], theme: &Theme) -> Cell {
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
fn gtid(d: &Dashboard, info: &ServerInfo, is_primary: bool, theme: &Theme) -> Forms {
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
fn maxscale_state(d: &Dashboard, server: &str, theme: &Theme) -> Forms {
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
                super::maxscale::state_style(&s.attributes.state, theme)
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

fn widths(rows: &[Row], total: usize) -> Widths {
    let values = || {
        rows.iter().filter_map(|r| match &r.body {
            Body::Values {
                threads,
                lag,
                hb,
                gtid,
                ..
            } => Some((threads, lag, hb, gtid)),
            Body::Note(..) => None,
        })
    };
    // Minimums keep the columns still while values come and go.
    let name = widest(rows.iter().map(|r| r.name.chars().count())).min(NAME_MAX);
    let threads = widest(values().map(|v| v.0.len())).max(THREADS_MIN);
    let lag = widest(values().map(|v| v.1.len())).max(LAG_MIN);
    let hb = values()
        .any(|v| v.2.is_some())
        .then(|| widest(values().map(|v| v.2.as_ref().map_or(4, Cell::len))));
    // A note spans the columns up to the state; whatever it needs beyond, the GTID
    // column gets when there is room.
    let before_gtid = RO + 1 + threads + 1 + lag + 1 + hb.map_or(0, |h| h + 1);
    let notes = rows.iter().filter_map(|r| match &r.body {
        Body::Note(n, t) => Some(n.len() + t.as_ref().map_or(0, |t| t.len() + 1)),
        Body::Values { .. } => None,
    });
    let gtid_need = widest(values().map(|v| v.3.long.len()))
        .max(GTID_MIN)
        .max(widest(notes).saturating_sub(before_gtid));
    let gtid_min = widest(values().map(|v| v.3.short.len().min(GTID_CUT)));
    let state_need = widest(rows.iter().map(|r| r.state.long.len()));
    let state_min = widest(rows.iter().map(|r| r.state.short.len()));
    let fixed = name + 1 + ROLE + 1 + before_gtid;
    let rest = total.saturating_sub(fixed);
    // The GTID column's essentials first, then the whole state, then the primary's
    // whole position; when the whole state does not fit, its short form.
    let gtid_room = rest.saturating_sub(state_need + 1);
    let (gtid, state) = if gtid_room >= gtid_min {
        (gtid_room.min(gtid_need), state_need)
    } else {
        let state = state_min.min(rest.saturating_sub(gtid_min + 1));
        let gtid = rest.saturating_sub(state + 1).min(gtid_need).max(gtid_min);
        (gtid, state)
    };
    Widths {
        name,
        before_gtid,
        threads,
        lag,
        hb,
        gtid,
        state,
        state_short: state < state_need,
        extra: rest.saturating_sub(gtid + 1 + state + 1),
    }
}

fn line(r: &Row, w: &Widths, theme: &Theme) -> Line<'static> {
    let mut out = Vec::new();
    Cell::one(r.name.clone(), Style::default()).put(&mut out, w.name);
    r.role.put(&mut out, ROLE);
    match &r.body {
        Body::Values {
            ro,
            threads,
            lag,
            hb,
            gtid,
        } => {
            ro.put(&mut out, RO);
            threads.put(&mut out, w.threads);
            lag.put(&mut out, w.lag);
            if let Some(hw) = w.hb {
                let none = Cell::one("hb -", theme.dim());
                hb.as_ref().unwrap_or(&none).put(&mut out, hw);
            }
            let g = if gtid.long.len() <= w.gtid {
                &gtid.long
            } else {
                &gtid.short
            };
            g.put(&mut out, w.gtid);
        }
        Body::Note(note, tail) => {
            let span = w.before_gtid + w.gtid;
            let tail_len = tail.as_ref().map_or(0, |t| t.len() + 1);
            note.put(&mut out, span.saturating_sub(tail_len));
            if let Some(t) = tail {
                t.put(&mut out, tail_len - 1);
            }
        }
    }
    let state = if w.state_short {
        &r.state.short
    } else {
        &r.state.long
    };
    state.put(&mut out, w.state);
    if let Some(extra) = r.extra.as_ref().filter(|_| w.extra >= EXTRA_MIN) {
        extra.put(&mut out, w.extra);
    }
    Line::from(out)
}

fn widest(lens: impl Iterator<Item = usize>) -> usize {
    lens.max().unwrap_or(1)
}

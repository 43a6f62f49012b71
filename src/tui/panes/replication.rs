//! Replication, as a tree of who replicates from whom ([`topology`]): the primary's line
//! (its semi-sync: in force or fallen back to async, clients, acknowledged and async
//! commits, timeout), then one row per replica connection (a multi-source replica's named
//! connections each under its source, a replica of a replica one level deeper): IO and
//! SQL threads, lag, heartbeat lag, semi-sync, parallel appliers, a lag sparkline (heartbeat lag when the server has a heartbeat, else
//! Seconds_Behind_Master; the header says which), and the last error in full. Every row
//! fits its line: the sparkline takes what the other columns leave, or goes.

use std::time::{Duration, Instant};

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::frame::{self, Body, Row, Severity};
use super::text::{fit, last_known, restyle, width_of, wrap};
use super::topology::{self, Entry};
use super::{cell, semisync, sparkline};
use crate::poll::{HeartbeatLag, IoState, ReplicaStatus, ServerInfo, ServerSnapshot};
use crate::tui::dashboard::{Dashboard, lag_key};
use crate::tui::theme::Theme;

/// Lag (heartbeat or Seconds_Behind_Master) above this is a problem worth sorting first.
pub const LAGGING: Duration = Duration::from_secs(5);
/// The sparkline's widest.
const SPARK_MAX: usize = 30;
/// Narrower than this, the sparkline goes.
const SPARK_MIN: usize = 5;
const IO: usize = 10;
const SQL: usize = 3;
const BEHIND: usize = 6;
const HEARTBEAT: usize = 9;

/// Column widths for one render.
struct Widths {
    name: usize,
    source: usize,
    spark: usize,
    /// The `semi` column: only when some server has semi-sync enabled (else it would say
    /// "off" on every row and take the sparkline's room).
    semi: bool,
    /// The `parallel` column: only when some replica applies in parallel.
    parallel: bool,
}

pub fn body(d: &Dashboard, now: Instant, width: usize, theme: &Theme) -> Body {
    let entries = topology::entries(d);
    let w = widths(d, &entries, width);
    let heartbeat = d
        .lag
        .values()
        .filter(|h| !h.samples.is_empty())
        .fold((false, false), |(hb, sbm), h| {
            (hb || h.heartbeat, sbm || !h.heartbeat)
        });
    let history = match (heartbeat, d.whole_window) {
        ((true, false), false) => "heartbeat history",
        ((true, true), false) => "heartbeat/behind history",
        (_, false) => "behind history",
        ((true, false), true) => "heartbeat, whole run",
        ((true, true), true) => "heartbeat/behind, whole run",
        (_, true) => "behind, whole run",
    };
    let mut header = format!(
        "{}{}{}{}{}{}",
        cell("replica", w.name),
        cell("source", w.source),
        cell("IO", IO),
        cell("SQL", SQL),
        cell("behind", BEHIND),
        cell("heartbeat", HEARTBEAT),
    );
    if w.semi {
        header.push_str(&cell("semi", semisync::SEMI));
    }
    if w.parallel {
        header.push_str(&cell("parallel", semisync::PARALLEL));
    }
    if w.spark > 0 {
        // A narrow sparkline gets a word that fits over it rather than a cut label.
        header.push_str(if history.len() <= w.spark {
            history
        } else {
            "lag"
        });
    }
    let header = fit(vec![Span::styled(header, theme.header())], vec![], width);
    let primary = d.primary();
    let sources = topology::sources(d);
    // A failed server's row is drawn once, where the tree first reaches it.
    let mut failed_drawn = vec![false; d.servers.len()];
    let mut rows = Vec::new();
    for entry in entries {
        let (i, depth) = match entry {
            Entry::Server { server, depth } | Entry::Connection { server, depth, .. } => {
                (server, depth)
            }
        };
        let snap = &d.servers[i];
        let shown = topology::indent(&snap.server, depth);
        if let Some(err) = &snap.error {
            if !std::mem::replace(&mut failed_drawn[i], true) {
                rows.push(super::failed_pane_row(
                    d, snap, err, &shown, w.name, now, width, theme,
                ));
            }
            continue;
        }
        let Some(info) = &snap.info else { continue };
        let at = d.answered(&snap.server).or(Some(snap.taken_at));
        let stale = snap.is_stale(now, d.sql_interval);
        let connection = match entry {
            Entry::Connection { connection, .. } => info.replicas.get(connection),
            Entry::Server { .. } => None,
        };
        let Some(r) = connection else {
            let is_primary = Some(snap.server.as_str()) == primary;
            // A source of inventory servers that replicates from nobody: the primary, or
            // (multi-source) one of several primaries.
            let is_source = info.replicas.is_empty() && sources[i];
            let (spans, detail, severity) = if is_primary || is_source {
                let (mut spans, detail, severity) = semisync::source_spans(&info.semi_sync, theme);
                let label = if is_primary { "primary" } else { "source" };
                spans.insert(0, Span::raw(cell(&shown, w.name)));
                spans.insert(1, Span::raw(cell(label, w.source)));
                (spans, detail, severity)
            } else if info.replicas.is_empty() {
                let spans = vec![
                    Span::raw(cell(&shown, w.name)),
                    Span::styled("not replicating (no replica connection)", theme.warn()),
                ];
                (spans, None, Severity::Warn)
            } else {
                continue; // its connections follow
            };
            let mut spans = spans;
            let tail = stale_mark(stale, at, now, theme);
            let mut more = Vec::new();
            // The detail goes on the same line when it fits, else on its own below.
            if let Some(detail) = detail {
                let room = width.saturating_sub(width_of(&spans) + width_of(&tail));
                if detail.chars().count() + 3 <= room {
                    spans.push(Span::raw(format!(" · {detail}")));
                } else {
                    more = wrap(&detail, "  └ ", width, theme.dim());
                }
            }
            let mut lines = vec![fit(spans, tail, width)];
            lines.extend(more);
            rows.push(Row {
                lines,
                severity,
                at,
                stale,
            });
            continue;
        };
        let single = info.replicas.len() == 1;
        let mut row = replica_row(d, snap, info, r, single, &w, width, theme);
        row.lines[0] = {
            let first = std::mem::take(&mut row.lines[0]);
            let mut spans = first.spans;
            if let Some(name) = spans.first_mut() {
                name.content = cell(&topology::indent(&name.content, depth), w.name).into();
            }
            Line::from(spans)
        };
        // An intermediate primary of a chain: how it serves its own replicas.
        if sources[i] && Some(snap.server.as_str()) != primary && info.semi_sync.known() {
            let lead = format!("{}  └ as a source: ", "  ".repeat(depth));
            let (spans, detail, _) = semisync::source_spans(&info.semi_sync, theme);
            let mut text: String = spans.iter().map(|s| s.content.as_ref()).collect();
            // The counters only where they fit: the primary's line has them in full.
            if let Some(detail) = detail.map(|d| format!(" · {d}"))
                && lead.chars().count() + text.chars().count() + detail.chars().count() <= width
            {
                text.push_str(&detail);
            }
            row.lines.extend(wrap(&text, &lead, width, theme.dim()));
        }
        if stale {
            let first = std::mem::take(&mut row.lines[0]);
            let spans = restyle(first.spans, theme.dim());
            row.lines[0] = fit(spans, stale_mark(true, at, now, theme), width);
            row.severity = row.severity.min(Severity::Warn);
        }
        row.at = at;
        row.stale = stale;
        rows.push(row);
    }
    Body {
        title: "Replication",
        header: Some(header),
        rows,
        empty: Some(Line::styled("no replica reported yet", theme.dim())),
        ..Body::default()
    }
}

/// `last known 4.2s`, for a row whose facts are older than three intervals.
fn stale_mark(stale: bool, at: Option<Instant>, now: Instant, theme: &Theme) -> Vec<Span<'static>> {
    if stale {
        vec![Span::styled(last_known(at, now), theme.warn())]
    } else {
        vec![]
    }
}

fn widths(d: &Dashboard, entries: &[Entry], width: usize) -> Widths {
    let names = entries.iter().map(|e| match *e {
        Entry::Server { server, depth } => topology::indent(&d.servers[server].server, depth),
        Entry::Connection {
            server,
            connection,
            depth,
        } => {
            let s = &d.servers[server];
            let conns = s.info.as_ref().map(|i| i.replicas.as_slice());
            match conns.unwrap_or_default().get(connection) {
                Some(r) => topology::indent(&name(&s.server, r), depth),
                None => topology::indent(&s.server, depth),
            }
        }
    });
    let name = names
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(7, 20);
    let source = d
        .servers
        .iter()
        .filter_map(|s| s.info.as_ref())
        .flat_map(|i| i.replicas.iter().map(|r| source(r).chars().count()))
        .max()
        .unwrap_or(0)
        .clamp(6, 21);
    let fixed = name + 1 + source + 1 + IO + 1 + SQL + 1 + BEHIND + 1 + HEARTBEAT + 1;
    let infos = || d.servers.iter().filter_map(|s| s.info.as_ref());
    let semi = infos().any(|i| {
        i.semi_sync.master_enabled == Some(true) || i.semi_sync.slave_enabled == Some(true)
    });
    let parallel = infos().any(|i| {
        !i.replicas.is_empty()
            && i.setting("slave_parallel_threads")
                .is_some_and(|t| t != "0" && !t.is_empty())
    });
    let fixed = fixed
        + if semi { semisync::SEMI + 1 } else { 0 }
        + if parallel { semisync::PARALLEL + 1 } else { 0 };
    let rest = width.saturating_sub(fixed);
    let spark = if rest >= SPARK_MIN {
        rest.min(SPARK_MAX)
    } else {
        0
    };
    Widths {
        name,
        source,
        spark,
        semi,
        parallel,
    }
}

fn name(server: &str, r: &ReplicaStatus) -> String {
    if r.connection_name.is_empty() {
        server.to_string()
    } else {
        format!("{server}:{}", r.connection_name)
    }
}

fn source(r: &ReplicaStatus) -> String {
    format!("{}:{}", r.master_host, r.master_port)
}

#[allow(clippy::too_many_arguments)]
fn replica_row(
    d: &Dashboard,
    snap: &ServerSnapshot,
    info: &ServerInfo,
    r: &ReplicaStatus,
    single: bool,
    w: &Widths,
    width: usize,
    theme: &Theme,
) -> Row {
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
    let heartbeat = info.heartbeat_lag.filter(|_| single);
    let hb = heartbeat.map_or("-".to_string(), HeartbeatLag::short);
    let hb_style = match heartbeat {
        Some(HeartbeatLag::Skew { .. }) => theme.warn(),
        Some(HeartbeatLag::Behind(lag)) if lag > LAGGING => theme.warn(),
        _ => ratatui::style::Style::default(),
    };
    let history = d.lag.get(&lag_key(&snap.server, &r.connection_name));
    let spark = history.map_or(String::new(), |h| {
        if h.whole {
            let all: Vec<Option<u64>> = h.samples.iter().copied().collect();
            super::sparkline_whole(&all, w.spark)
        } else {
            sparkline(h.samples.iter().copied(), w.spark)
        }
    });
    let row_style = if r.healthy() { theme.ok() } else { theme.bad() };
    let (semi, semi_style) = semisync::replica_cell(&info.semi_sync, theme);
    let mut spans = vec![
        Span::styled(cell(&name(&snap.server, r), w.name), row_style),
        Span::raw(cell(&source(r), w.source)),
        Span::styled(cell(r.io.as_str(), IO), io_style),
        Span::styled(cell(sql_text, SQL), sql_style),
        Span::styled(cell(&behind, BEHIND), behind_style),
        Span::styled(cell(&hb, HEARTBEAT), hb_style),
    ];
    if w.semi {
        spans.push(Span::styled(cell(semi, semisync::SEMI), semi_style));
    }
    if w.parallel {
        let parallel = semisync::parallel_cell(info);
        spans.push(Span::raw(cell(&parallel, semisync::PARALLEL)));
    }
    if w.spark > 0 {
        spans.push(Span::styled(spark, theme.accent()));
    }
    let mut lines = vec![fit(spans, vec![], width)];
    if let Some(err) = r.last_error() {
        lines.extend(wrap(&err, "  └ ", width, theme.bad()));
    }
    if let Some(skew) = heartbeat.filter(|h| h.is_skew()) {
        lines.extend(wrap(&skew.describe(), "  └ ", width, theme.warn()));
    }
    let lag = crate::tui::dashboard::lag_sample(info, r, single).0;
    let severity = if r.io == IoState::No || !r.sql_running {
        Severity::Bad
    } else if r.io == IoState::Connecting
        || heartbeat.is_some_and(HeartbeatLag::is_skew)
        || lag.is_some_and(|ms| ms > LAGGING.as_millis() as u64)
    {
        Severity::Warn
    } else {
        Severity::Ok
    };
    Row {
        lines,
        severity,
        at: None,
        stale: false,
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

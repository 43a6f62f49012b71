//! What the replication pane says about semi-synchronous and parallel replication: a
//! replica's `semi` and `parallel` cells, and a source's line (the primary's, or an
//! intermediate primary's in a chain). A value the server does not report is "—".

use ratatui::style::Style;
use ratatui::text::Span;

use super::frame::Severity;
use crate::poll::{SemiSync, ServerInfo};
use crate::tui::theme::Theme;

/// Shown for a value the server does not report.
pub const UNKNOWN: &str = "—";
/// Width of the `semi` column: `ON`, `OFF`, `off`, `—`.
pub const SEMI: usize = 4;
/// Width of the `parallel` column: `serial`, `4 opt`, `16 aggr`.
pub const PARALLEL: usize = 8;

/// A replica's semi-sync: `ON` (acknowledging), `OFF` (enabled, but not acknowledging:
/// its source does not have it, or the IO thread started before it was enabled), `off`
/// (not enabled: asynchronous, as configured).
pub fn replica_cell(s: &SemiSync, theme: &Theme) -> (&'static str, Style) {
    match (s.slave_enabled, s.slave_status) {
        (_, Some(true)) => ("ON", theme.ok()),
        (Some(true), _) => ("OFF", theme.warn()),
        (Some(false), _) => ("off", theme.dim()),
        (None, _) => (UNKNOWN, theme.dim()),
    }
}

/// `serial`, or the applier threads and the mode, short: `4 opt`, `16 cons`.
pub fn parallel_cell(info: &ServerInfo) -> String {
    let Some(threads) = info.setting("slave_parallel_threads") else {
        return UNKNOWN.to_string();
    };
    if threads == "0" {
        return "serial".to_string();
    }
    let mode = match info.setting("slave_parallel_mode") {
        Some("conservative") => "cons",
        Some("optimistic") => "opt",
        Some("aggressive") => "aggr",
        Some("minimal") => "min",
        Some("none") => "none",
        Some(_) | None => "",
    };
    format!("{threads} {mode}").trim_end().to_string()
}

/// The source side, after the server's name: `semi-sync ON · 2 clients` and the detail
/// `1205 acked / 3 async tx · timeout 10s` (drawn on the same line where it fits);
/// `semi-sync OFF: fell back to async` when the replicas did not acknowledge in time;
/// `semi-sync off (async)` when not enabled, with no detail.
pub fn source_spans(s: &SemiSync, theme: &Theme) -> (Vec<Span<'static>>, Option<String>, Severity) {
    let (head, style, severity) = match (s.master_enabled, s.master_status) {
        (Some(true), Some(true)) => ("semi-sync ON".to_string(), theme.ok(), Severity::Ok),
        (Some(true), _) => (
            "semi-sync OFF: fell back to async".to_string(),
            theme.warn(),
            Severity::Warn,
        ),
        (Some(false), _) => (
            "semi-sync off (async)".to_string(),
            theme.dim(),
            Severity::Ok,
        ),
        (None, _) => (format!("semi-sync {UNKNOWN}"), theme.dim(), Severity::Ok),
    };
    let mut spans = vec![Span::styled(head, style)];
    if s.master_enabled != Some(true) {
        return (spans, None, severity);
    }
    let num = |v: Option<u64>| v.map_or(UNKNOWN.to_string(), |n| n.to_string());
    let clients = match s.master_clients {
        Some(1) => "1 client".to_string(),
        other => format!("{} clients", num(other)),
    };
    let clients_style = if s.master_clients == Some(0) {
        theme.warn()
    } else {
        Style::default()
    };
    spans.push(Span::raw(" · "));
    spans.push(Span::styled(clients, clients_style));
    let detail = format!(
        "{} acked / {} async tx · timeout {}",
        num(s.master_yes_tx),
        num(s.master_no_tx),
        s.master_timeout_ms.map_or(UNKNOWN.to_string(), timeout)
    );
    (spans, Some(detail), severity)
}

/// `10s`, `1.5s`, `500ms`.
fn timeout(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{:.1}s", ms as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_is_short() {
        let mut info = ServerInfo::default();
        assert_eq!(parallel_cell(&info), UNKNOWN);
        info.settings = vec![
            ("slave_parallel_threads".into(), "16".into()),
            ("slave_parallel_mode".into(), "aggressive".into()),
        ];
        assert_eq!(parallel_cell(&info), "16 aggr");
        assert!(parallel_cell(&info).chars().count() <= PARALLEL);
        info.settings[0].1 = "0".into();
        assert_eq!(parallel_cell(&info), "serial");
        assert_eq!(timeout(10_000), "10s");
        assert_eq!(timeout(1500), "1.5s");
        assert_eq!(timeout(250), "250ms");
    }
}

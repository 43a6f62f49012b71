//! Problems first: one line over the panes that names what is wrong anywhere, so a broken
//! replica out of view is never out of mind: `8 servers · 1 replica broken (server50:
//! SQL stopped, 1062) · 2 lagging > 5 s · MaxScale: 1 down`, or `2 servers · all healthy`.

use std::collections::BTreeMap;
use std::time::Instant;

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::replication::LAGGING;
use super::text::cut;
use crate::poll::{IoState, ReplicaStatus};
use crate::tui::dashboard::{Dashboard, lag_sample};
use crate::tui::theme::Theme;

/// How many servers a part names before it says how many more.
const NAMED: usize = 2;

/// One part of the summary and how bad it is.
struct Part {
    text: String,
    style: Style,
}

/// The summary in one line of at most `width` characters.
pub fn line(d: &Dashboard, now: Instant, width: usize, theme: &Theme) -> Line<'static> {
    let n = d.servers.len();
    let mut spans = vec![Span::raw(format!(
        "{n} server{}",
        if n == 1 { "" } else { "s" }
    ))];
    let parts = parts(d, now, theme);
    if parts.is_empty() {
        spans.push(Span::raw(" · "));
        spans.push(Span::styled("all healthy", theme.ok()));
    }
    for p in parts {
        spans.push(Span::raw(" · "));
        spans.push(Span::styled(p.text, p.style));
    }
    Line::from(cut(spans, width))
}

/// `server1, server2 +3`.
fn names(list: &[String]) -> String {
    let mut text = list
        .iter()
        .take(NAMED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if list.len() > NAMED {
        text.push_str(&format!(" +{}", list.len() - NAMED));
    }
    text
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// What stops a replica: `SQL stopped, 1062`, `IO stopped, 2003`, `IO connecting`.
fn broken(r: &ReplicaStatus) -> Option<String> {
    let errno = |n: u32| {
        if n == 0 {
            String::new()
        } else {
            format!(", {n}")
        }
    };
    if !r.sql_running {
        Some(format!("SQL stopped{}", errno(r.last_sql_errno)))
    } else if r.io == IoState::No {
        Some(format!("IO stopped{}", errno(r.last_io_errno)))
    } else if r.io == IoState::Connecting {
        Some(format!("IO connecting{}", errno(r.last_io_errno)))
    } else {
        None
    }
}

fn parts(d: &Dashboard, now: Instant, theme: &Theme) -> Vec<Part> {
    let mut failed: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut broken_list = Vec::new();
    let mut lagging: Vec<(String, u64)> = Vec::new();
    let mut stale = Vec::new();
    let mut idle = Vec::new();
    let mut waiting = 0;
    let primary = d.primary();
    for snap in &d.servers {
        if let Some(e) = &snap.error {
            failed
                .entry(e.label())
                .or_default()
                .push(snap.server.clone());
            continue;
        }
        let Some(info) = &snap.info else {
            waiting += 1;
            continue;
        };
        if snap.is_stale(now, d.sql_interval) {
            stale.push(snap.server.clone());
        }
        if info.replicas.is_empty() && primary.is_some() && primary != Some(&snap.server) {
            idle.push(snap.server.clone());
        }
        let single = info.replicas.len() == 1;
        for r in &info.replicas {
            let name = if r.connection_name.is_empty() {
                snap.server.clone()
            } else {
                format!("{}:{}", snap.server, r.connection_name)
            };
            if let Some(why) = broken(r) {
                broken_list.push(format!("{name}: {why}"));
            } else if let (Some(ms), _) = lag_sample(info, r, single)
                && ms > LAGGING.as_millis() as u64
            {
                lagging.push((name, ms / 1000));
            }
        }
    }
    let mut out = Vec::new();
    for (label, list) in &failed {
        let style = if *label == "RECONNECTING" {
            theme.warn()
        } else {
            theme.bad()
        };
        out.push(Part {
            text: format!("{} {} ({})", list.len(), label.to_lowercase(), names(list)),
            style,
        });
    }
    if !broken_list.is_empty() {
        let mut text = count(broken_list.len(), "replica broken", "replicas broken");
        let shown: Vec<String> = broken_list.iter().take(NAMED).cloned().collect();
        text.push_str(&format!(" ({}", shown.join("; ")));
        if broken_list.len() > NAMED {
            text.push_str(&format!("; +{}", broken_list.len() - NAMED));
        }
        text.push(')');
        out.push(Part {
            text,
            style: theme.bad(),
        });
    }
    if primary.is_none() && d.servers.iter().any(|s| s.live().is_some()) {
        out.push(Part {
            text: "no primary known".into(),
            style: theme.bad(),
        });
    }
    // Commits that no longer wait for a replica: a switchover now may lose what only the
    // primary has.
    if let Some(p) = primary.and_then(|p| d.server(p)).and_then(|s| s.live())
        && p.semi_sync.fallen_back()
        && let Some(name) = primary
    {
        out.push(Part {
            text: format!("{name}: semi-sync fell back to async"),
            style: theme.warn(),
        });
    }
    if !lagging.is_empty() {
        lagging.sort_by_key(|(_, s)| std::cmp::Reverse(*s));
        let (worst, secs) = &lagging[0];
        out.push(Part {
            text: format!(
                "{} lagging > {} s (worst {worst}: {secs} s)",
                lagging.len(),
                LAGGING.as_secs()
            ),
            style: theme.warn(),
        });
    }
    if !idle.is_empty() {
        out.push(Part {
            text: format!("{} not replicating ({})", idle.len(), names(&idle)),
            style: theme.warn(),
        });
    }
    if !stale.is_empty() {
        out.push(Part {
            text: format!("{} stale ({})", stale.len(), names(&stale)),
            style: theme.warn(),
        });
    }
    out.extend(maxscale(d, now, theme));
    if waiting > 0 {
        out.push(Part {
            text: format!("{waiting} waiting for data"),
            style: theme.dim(),
        });
    }
    out
}

/// `MaxScale: 1 down, 1 in maintenance`, or that it does not answer.
fn maxscale(d: &Dashboard, now: Instant, theme: &Theme) -> Option<Part> {
    let m = d.maxscale.as_ref().filter(|m| m.polled)?;
    if m.error.is_some() {
        let known = d
            .maxscale_answered_at
            .map(|t| {
                format!(
                    " (last known {})",
                    super::fmt_age(now.saturating_duration_since(t))
                )
            })
            .unwrap_or_default();
        return Some(Part {
            text: if m.said_no {
                format!("MaxScale answers with an error{known}")
            } else {
                format!("MaxScale unreachable{known}")
            },
            style: theme.bad(),
        });
    }
    if m.is_stale(now, d.maxscale_interval) {
        return Some(Part {
            text: format!(
                "MaxScale stale {}",
                super::fmt_age(now.saturating_duration_since(m.taken_at))
            ),
            style: theme.warn(),
        });
    }
    let states = || m.servers.iter().map(|s| &s.attributes.state);
    let down = states().filter(|s| s.down).count();
    let maintenance = states().filter(|s| s.maintenance).count();
    let draining = states().filter(|s| s.draining || s.drained).count();
    let mut said = Vec::new();
    if down > 0 {
        said.push(format!("{down} down"));
    }
    if maintenance > 0 {
        said.push(format!("{maintenance} in maintenance"));
    }
    if draining > 0 {
        said.push(format!("{draining} draining"));
    }
    if said.is_empty() {
        return None;
    }
    Some(Part {
        text: format!("MaxScale: {}", said.join(", ")),
        style: if down > 0 { theme.bad() } else { theme.warn() },
    })
}

//! The window's history as the journal keeps it: once a second, a compact sample of every
//! server (role, threads, lag, GTID distance, MaxScale's word for it), and each server's
//! version when first seen and when it changes. Pure: built from the dashboard, journaled
//! by the driver, read back by the change report.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::session::journal::{Event, ServerSample};
use crate::session::live::{Dashboard, lag_sample};

/// How often the driver samples.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(1);

/// The versions journaled so far, to journal only changes.
#[derive(Debug, Default)]
pub struct History {
    last_sample: Option<Instant>,
    versions: BTreeMap<String, String>,
}

impl History {
    /// What to journal at `now`: a sample when one is due, and any new versions.
    pub fn due(&mut self, dash: &Dashboard, primary: Option<&str>, now: Instant) -> Vec<Event> {
        if self
            .last_sample
            .is_some_and(|at| now.saturating_duration_since(at) < SAMPLE_EVERY)
        {
            return Vec::new();
        }
        self.last_sample = Some(now);
        let mut events = Vec::new();
        for snap in &dash.servers {
            let Some(info) = snap.live() else { continue };
            if info.version.is_empty() || self.versions.get(&snap.server) == Some(&info.version) {
                continue;
            }
            self.versions
                .insert(snap.server.clone(), info.version.clone());
            events.push(Event::ServerVersion {
                server: snap.server.clone(),
                version: info.version.clone(),
            });
        }
        events.push(Event::Sample {
            servers: sample(dash, primary, now),
        });
        events
    }
}

/// Every server as it stands at `now`; a server whose data is stale counts as not up,
/// and its facts as unknown.
pub fn sample(dash: &Dashboard, primary: Option<&str>, now: Instant) -> Vec<ServerSample> {
    let primary_pos = primary
        .and_then(|p| dash.server(p))
        .and_then(|s| s.live())
        .map(|i| i.gtid_binlog_pos.clone());
    dash.servers
        .iter()
        .map(|snap| {
            let mxs_name = dash
                .maxscale_names
                .get(&snap.server)
                .map_or(snap.server.as_str(), String::as_str);
            let mxs = dash
                .maxscale
                .as_ref()
                .filter(|m| m.polled)
                .and_then(|m| m.live_state(mxs_name))
                .map(str::to_string);
            let fresh = !snap.is_stale(now, dash.sql_interval);
            let mut s = ServerSample {
                server: snap.server.clone(),
                mxs,
                ..ServerSample::default()
            };
            let Some(info) = snap.live().filter(|_| fresh) else {
                return s;
            };
            s.up = true;
            s.role = Some(if primary == Some(snap.server.as_str()) {
                "primary".into()
            } else if info.replicas.is_empty() {
                "standalone".into()
            } else {
                "replica".into()
            });
            let single = info.replicas.len() == 1;
            if let Some(r) = info.replicas.first() {
                s.io = Some(r.io.as_str().to_string());
                s.sql = Some(r.sql_running);
                s.sbm = r.seconds_behind;
                let (lag, heartbeat) = lag_sample(info, r, single);
                s.hb_ms = lag.filter(|_| heartbeat);
                s.gtid_behind = primary_pos.as_ref().map(|p| {
                    p.0.keys()
                        .map(|d| info.gtid_current_pos.behind_in(p, *d))
                        .fold(0u64, u64::saturating_add)
                });
            }
            s
        })
        .collect()
}

//! The MaxScale poller: `GET /v1/servers` and the monitor, through one shared client.

use std::time::{Duration, Instant, SystemTime};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::maxscale::{MaxscaleClient, MaxscaleServer};

/// The latest view of MaxScale, as published on its `watch` channel.
#[derive(Clone, Debug)]
pub struct MaxscaleSnapshot {
    pub taken_at: Instant,
    pub wall_time: SystemTime,
    /// The last successful server list; kept while MaxScale is unreachable, but then stale.
    pub servers: Vec<MaxscaleServer>,
    /// The monitor's primary (`monitor_diagnostics.master`).
    pub monitor_master: Option<String>,
    pub monitor: String,
    /// The last poll's error, verbatim.
    pub error: Option<String>,
    /// MaxScale answered the last poll, with an error (it is up, and said no: bad
    /// credentials, an unknown monitor); false when it could not be reached.
    pub said_no: bool,
    /// False until the first poll finished.
    pub polled: bool,
}

impl MaxscaleSnapshot {
    pub fn pending(monitor: &str) -> Self {
        Self {
            taken_at: Instant::now(),
            wall_time: SystemTime::now(),
            servers: Vec::new(),
            monitor_master: None,
            monitor: monitor.to_string(),
            error: None,
            said_no: false,
            polled: false,
        }
    }

    pub fn server(&self, maxscale_name: &str) -> Option<&MaxscaleServer> {
        self.servers.iter().find(|s| s.id == maxscale_name)
    }

    /// Live state of a server: only when the last poll succeeded.
    pub fn live_state(&self, maxscale_name: &str) -> Option<&str> {
        if self.error.is_some() {
            return None;
        }
        self.server(maxscale_name)
            .map(|s| s.attributes.state.raw.as_str())
    }

    pub fn is_stale(&self, now: Instant, interval: Duration) -> bool {
        now.saturating_duration_since(self.taken_at) > interval * 3
    }
}

pub fn spawn(
    client: MaxscaleClient,
    monitor: String,
    interval: Duration,
    cancel: CancellationToken,
) -> watch::Receiver<MaxscaleSnapshot> {
    let (tx, rx) = watch::channel(MaxscaleSnapshot::pending(&monitor));
    tokio::spawn(async move {
        loop {
            let started = Instant::now();
            let polled = tokio::select! {
                _ = cancel.cancelled() => break,
                r = poll_once(&client, &monitor) => r,
            };
            // Receivers are woken only when what MaxScale said changed (or on the first
            // poll); the poll time is in the channel for whoever reads it.
            tx.send_if_modified(|snap| {
                let first = !snap.polled;
                snap.taken_at = Instant::now();
                snap.wall_time = SystemTime::now();
                snap.polled = true;
                match polled {
                    Ok((servers, master)) => {
                        if let Some(was) = &snap.error {
                            tracing::info!(%monitor, "MaxScale answering again (was: {was})");
                        }
                        let changed = first
                            || snap.error.is_some()
                            || snap.servers != servers
                            || snap.monitor_master != master;
                        snap.servers = servers;
                        snap.monitor_master = master;
                        snap.error = None;
                        snap.said_no = false;
                        changed
                    }
                    Err((e, said_no)) => {
                        let changed = first || snap.error.as_ref() != Some(&e);
                        if changed {
                            tracing::warn!(%monitor, "MaxScale poll: {e}");
                        }
                        snap.error = Some(e);
                        snap.said_no = said_no;
                        changed
                    }
                }
            });
            if tx.is_closed() {
                break;
            }
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep_until((started + interval).into()) => {}
            }
        }
    });
    rx
}

async fn poll_once(
    client: &MaxscaleClient,
    monitor: &str,
) -> Result<(Vec<MaxscaleServer>, Option<String>), (String, bool)> {
    // Both requests in flight at once: one cycle costs one round trip of latency.
    let (servers, mon) = tokio::join!(client.servers(), client.monitor(monitor));
    let servers = servers.map_err(|e| (e.to_string(), e.status().is_some()))?;
    let master = mon.ok().and_then(|m| m.master().map(str::to_string));
    Ok((servers, master))
}

//! The dashboards' state: the latest snapshot of each server and of MaxScale, when each
//! last answered (the age of its last known data: a failed poll never makes it younger),
//! and the lag history behind the sparklines. Updated only by applying snapshots; read by
//! the panes.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use crate::poll::maxscale::MaxscaleSnapshot;
use crate::poll::{ReplicaStatus, ServerInfo, ServerSnapshot};

/// How many lag samples a sparkline keeps (ten minutes at one a second), or buckets of
/// samples for a history of the whole window.
const LAG_HISTORY: usize = 600;

/// One replication connection's lag over time, oldest first, in milliseconds; `None`
/// where it was unknown (NULL Seconds_Behind_Master without a heartbeat, stale data).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct LagHistory {
    pub samples: VecDeque<Option<u64>>,
    /// Whether the latest sample is heartbeat lag (else Seconds_Behind_Master).
    pub heartbeat: bool,
    /// A history of the whole window: when full, neighbouring buckets merge (keeping the
    /// worse lag) instead of the oldest falling off. Else the last ten minutes.
    #[serde(default)]
    pub whole: bool,
    /// Samples per bucket (1 until the first merge), and how many the newest holds.
    #[serde(default)]
    per_bucket: u32,
    #[serde(default)]
    newest_holds: u32,
}

impl LagHistory {
    fn push(&mut self, value: Option<u64>) {
        if !self.whole {
            if self.samples.len() == LAG_HISTORY {
                self.samples.pop_front();
            }
            self.samples.push_back(value);
            return;
        }
        let per_bucket = self.per_bucket.max(1);
        match self.samples.back_mut() {
            Some(newest) if self.newest_holds < per_bucket => {
                *newest = worse(*newest, value);
                self.newest_holds = self.newest_holds.saturating_add(1);
            }
            _ => {
                self.samples.push_back(value);
                self.newest_holds = 1;
            }
        }
        if self.samples.len() > LAG_HISTORY {
            let old: Vec<Option<u64>> = self.samples.drain(..).collect();
            self.samples = old
                .chunks(2)
                .map(|c| c.iter().copied().fold(None, worse))
                .collect();
            self.newest_holds = if old.len() % 2 == 1 {
                per_bucket
            } else {
                per_bucket.saturating_mul(2)
            };
            self.per_bucket = per_bucket.saturating_mul(2);
        }
    }
}

/// The worse of two lags; unknown only when both are.
fn worse(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

#[derive(Clone, Debug)]
pub struct Dashboard {
    /// In inventory order.
    pub servers: Vec<ServerSnapshot>,
    /// Inventory name → the server's name in MaxScale.
    pub maxscale_names: BTreeMap<String, String>,
    pub maxscale: Option<MaxscaleSnapshot>,
    /// `server/connection` → its lag history.
    pub lag: BTreeMap<String, LagHistory>,
    /// Server → when its last successful poll finished: the age of its last known facts.
    pub answered_at: BTreeMap<String, Instant>,
    /// When MaxScale last answered.
    pub maxscale_answered_at: Option<Instant>,
    pub sql_interval: Duration,
    pub maxscale_interval: Duration,
    /// How MaxScale is reached is not protected (`insecure = true`, or `http://` off
    /// loopback): a permanent warning in the header bar ([`crate::inventory::maxscale_warning`]).
    pub maxscale_warning: Option<String>,
    /// Lag histories cover the whole window (a session) rather than the last minutes.
    pub whole_window: bool,
    /// Inventory name → its MySQL host and port: a replica's `Master_Host:Master_Port` is
    /// matched to these to draw chained replication as a tree. Empty: no tree, every
    /// connection at the top level.
    pub addresses: BTreeMap<String, (String, u16)>,
}

/// Each inventory server's MySQL address, for [`Dashboard::addresses`].
pub fn addresses(inv: &crate::inventory::Inventory) -> BTreeMap<String, (String, u16)> {
    inv.servers
        .iter()
        .map(|s| (s.name.clone(), (s.mysql.host.clone(), s.mysql.port)))
        .collect()
}

impl Dashboard {
    pub fn new(
        servers: &[(String, String)],
        sql_interval: Duration,
        maxscale_interval: Duration,
    ) -> Self {
        Self {
            servers: servers
                .iter()
                .map(|(name, _)| ServerSnapshot::pending(name))
                .collect(),
            maxscale_names: servers.iter().cloned().collect(),
            maxscale: None,
            lag: BTreeMap::new(),
            answered_at: BTreeMap::new(),
            maxscale_answered_at: None,
            sql_interval,
            maxscale_interval,
            maxscale_warning: None,
            whole_window: false,
            addresses: BTreeMap::new(),
        }
    }

    /// Records each replica's lag once; called on a regular tick so the sparkline's x axis
    /// is time, not the irregular arrival of changes.
    pub fn sample_lag(&mut self) {
        self.sample_lag_at(Instant::now());
    }

    /// [`Dashboard::sample_lag`] as of `now`: data older than three intervals (a stalled
    /// poller) is recorded as unknown, not as its last value.
    pub fn sample_lag_at(&mut self, now: Instant) {
        for snap in &self.servers {
            let Some(info) = snap.live() else { continue };
            let stale = snap.is_stale(now, self.sql_interval);
            let single = info.replicas.len() == 1;
            for r in &info.replicas {
                let (value, heartbeat) = lag_sample(info, r, single);
                let key = lag_key(&snap.server, &r.connection_name);
                let history = self.lag.entry(key).or_insert_with(|| LagHistory {
                    whole: self.whole_window,
                    ..LagHistory::default()
                });
                history.push(value.filter(|_| !stale));
                history.heartbeat = heartbeat;
            }
        }
    }

    pub fn apply_server(&mut self, snap: ServerSnapshot) {
        if snap.error.is_none() && snap.info.is_some() {
            match self.answered_at.get_mut(&snap.server) {
                Some(at) => *at = snap.taken_at,
                None => {
                    self.answered_at.insert(snap.server.clone(), snap.taken_at);
                }
            }
        }
        match self.servers.iter_mut().find(|s| s.server == snap.server) {
            Some(slot) => *slot = snap,
            None => self.servers.push(snap),
        }
    }

    pub fn apply_maxscale(&mut self, snap: MaxscaleSnapshot) {
        if snap.polled && snap.error.is_none() {
            self.maxscale_answered_at = Some(snap.taken_at);
        }
        self.maxscale = Some(snap);
    }

    /// Takes only the newer poll time of `snap` when its news is what is shown (pollers
    /// publish their time without waking anyone, so ages stay true); false when `snap`
    /// says something new and must be applied whole.
    pub fn touch_server(&mut self, snap: &ServerSnapshot) -> bool {
        let Some(shown) = self.servers.iter_mut().find(|s| s.server == snap.server) else {
            return false;
        };
        if shown.taken_at == snap.taken_at {
            return true;
        }
        if shown.info != snap.info || shown.error != snap.error {
            return false;
        }
        shown.taken_at = snap.taken_at;
        shown.wall_time = snap.wall_time;
        if snap.is_up()
            && let Some(at) = self.answered_at.get_mut(&snap.server)
        {
            *at = snap.taken_at;
        }
        true
    }

    /// As [`Dashboard::touch_server`], for MaxScale.
    pub fn touch_maxscale(&mut self, snap: &MaxscaleSnapshot) -> bool {
        let Some(shown) = self.maxscale.as_mut() else {
            return false;
        };
        if shown.taken_at == snap.taken_at {
            return true;
        }
        if shown.polled != snap.polled
            || shown.error != snap.error
            || shown.said_no != snap.said_no
            || shown.monitor_master != snap.monitor_master
            || shown.monitor != snap.monitor
            || shown.servers != snap.servers
        {
            return false;
        }
        shown.taken_at = snap.taken_at;
        shown.wall_time = snap.wall_time;
        if snap.polled && snap.error.is_none() {
            self.maxscale_answered_at = Some(snap.taken_at);
        }
        true
    }

    pub fn server(&self, name: &str) -> Option<&ServerSnapshot> {
        self.servers.iter().find(|s| s.server == name)
    }

    /// When the facts shown for `server` were taken: the last successful poll, kept while
    /// its polls fail. `None` when it never answered (as far as this dashboard saw).
    pub fn answered(&self, server: &str) -> Option<Instant> {
        self.answered_at.get(server).copied()
    }

    /// The primary now: MaxScale's `Master` when MaxScale answers (none when it names
    /// none: writes through it go nowhere, whatever a server's `read_only` says), else the
    /// one live server that is writable and replicates from nobody.
    pub fn primary(&self) -> Option<&str> {
        if let Some(m) = &self.maxscale
            && m.polled
            && m.error.is_none()
        {
            let master = m.servers.iter().find(|s| s.attributes.state.master)?;
            return self
                .maxscale_names
                .iter()
                .find(|(_, mxs)| **mxs == master.id)
                .map(|(name, _)| name.as_str());
        }
        let mut writable = self
            .servers
            .iter()
            .filter(|s| s.live().is_some_and(ServerInfo::looks_primary));
        match (writable.next(), writable.next()) {
            (Some(only), None) => Some(&only.server),
            _ => None,
        }
    }
}

/// A connection's lag in milliseconds and whether it is heartbeat lag: the heartbeat
/// when the server has one (it covers a single replication connection), else
/// Seconds_Behind_Master.
pub fn lag_sample(info: &ServerInfo, r: &ReplicaStatus, single: bool) -> (Option<u64>, bool) {
    match info
        .heartbeat_lag
        .and_then(crate::poll::HeartbeatLag::behind)
    {
        Some(hb) if single => (Some(hb.as_millis() as u64), true),
        _ => (r.seconds_behind.map(|s| s.saturating_mul(1000)), false),
    }
}

pub fn lag_key(server: &str, connection: &str) -> String {
    format!("{server}/{connection}")
}

//! The dashboards' state: the latest snapshot of each server and of MaxScale, and the lag
//! history behind the sparklines. Updated only by applying snapshots; read by the panes.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use crate::poll::maxscale::MaxscaleSnapshot;
use crate::poll::{ServerInfo, ServerSnapshot};

/// How many lag samples a sparkline keeps (ten minutes at one a second).
const LAG_HISTORY: usize = 600;

#[derive(Clone, Debug)]
pub struct Dashboard {
    /// In inventory order.
    pub servers: Vec<ServerSnapshot>,
    /// Inventory name → the server's name in MaxScale.
    pub maxscale_names: BTreeMap<String, String>,
    pub maxscale: Option<MaxscaleSnapshot>,
    /// `server/connection` → seconds behind, oldest first.
    pub lag: BTreeMap<String, VecDeque<u64>>,
    pub sql_interval: Duration,
    pub maxscale_interval: Duration,
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
            sql_interval,
            maxscale_interval,
        }
    }

    /// Records each replica's lag once; called on a regular tick so the sparkline's x axis
    /// is time, not the irregular arrival of changes.
    pub fn sample_lag(&mut self) {
        for snap in &self.servers {
            let Some(info) = snap.live() else { continue };
            for r in &info.replicas {
                let key = lag_key(&snap.server, &r.connection_name);
                let history = self.lag.entry(key).or_default();
                if history.len() == LAG_HISTORY {
                    history.pop_front();
                }
                history.push_back(r.seconds_behind.unwrap_or(0));
            }
        }
    }

    pub fn apply_server(&mut self, snap: ServerSnapshot) {
        match self.servers.iter_mut().find(|s| s.server == snap.server) {
            Some(slot) => *slot = snap,
            None => self.servers.push(snap),
        }
    }

    pub fn apply_maxscale(&mut self, snap: MaxscaleSnapshot) {
        self.maxscale = Some(snap);
    }

    pub fn server(&self, name: &str) -> Option<&ServerSnapshot> {
        self.servers.iter().find(|s| s.server == name)
    }

    /// The primary now: MaxScale's `Master` when MaxScale answers, else the one live
    /// server that is writable and replicates from nobody.
    pub fn primary(&self) -> Option<&str> {
        if let Some(m) = &self.maxscale
            && m.error.is_none()
            && let Some(master) = m.servers.iter().find(|s| s.attributes.state.master)
        {
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

pub fn lag_key(server: &str, connection: &str) -> String {
    format!("{server}/{connection}")
}

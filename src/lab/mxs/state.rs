//! The monitor's picture of the cluster and how server states are derived from
//! probes, the way mariadbmon does it (simplified: one primary, GTID replication).

use crate::maxscale::{Drain, ServerState};

use super::probe::Probe;

/// A server's replication role as the monitor derives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    #[default]
    None,
    Master,
    Slave,
}

/// One monitored server.
#[derive(Debug, Clone, Default)]
pub struct ServerView {
    pub name: String,
    pub host: String,
    pub port: u16,
    /// Last successful probe; kept when the server goes down.
    pub probe: Option<Probe>,
    /// Whether the last probe succeeded.
    pub running: bool,
    /// Why the last probe failed.
    pub last_error: Option<String>,
    pub maintenance: bool,
    pub drain: bool,
    pub role: Role,
    /// Seconds; -1 unknown.
    pub replication_lag: i64,
    /// Per `probe.slaves` row: the monitored server it replicates from, when the link is live.
    pub link_targets: Vec<Option<String>>,
    pub last_event: Option<String>,
    pub triggered_at: Option<String>,
    /// `running` as of the previous derivation, for `*_up` / `*_down` events.
    pub(crate) was_running: bool,
}

impl ServerView {
    pub fn new(name: &str, host: &str, port: u16) -> Self {
        Self {
            name: name.to_owned(),
            host: host.to_owned(),
            port,
            replication_lag: -1,
            ..Self::default()
        }
    }

    pub fn state(&self) -> ServerState {
        let drain = if self.drain {
            Drain::Drained
        } else {
            Drain::None
        };
        ServerState::compose(
            self.running,
            self.role == Role::Master,
            self.role == Role::Slave,
            self.maintenance,
            drain,
        )
    }

    /// Running and not in maintenance.
    pub fn usable(&self) -> bool {
        self.running && !self.maintenance
    }

    /// `master_id`: the server id this one replicates from, -1 without a replica connection.
    pub fn master_id(&self) -> i64 {
        self.probe
            .as_ref()
            .and_then(|p| p.slaves.first())
            .map(|s| s.master_server_id)
            .unwrap_or(-1)
    }

    fn endpoint_is(&self, host: &str, port: i64) -> bool {
        i64::from(self.port) == port && normalize_host(&self.host) == normalize_host(host)
    }
}

fn normalize_host(h: &str) -> &str {
    match h {
        "localhost" | "::1" => "127.0.0.1",
        other => other,
    }
}

/// Everything the monitor knows, published on each tick.
#[derive(Debug, Clone, Default)]
pub struct ClusterView {
    pub servers: Vec<ServerView>,
    /// The primary's name.
    pub master: Option<String>,
    pub ticks: u64,
    /// A switchover is between demotion and promotion: the router holds new clients.
    pub switching: bool,
}

impl ClusterView {
    pub fn server(&self, name: &str) -> Option<&ServerView> {
        self.servers.iter().find(|s| s.name == name)
    }

    pub fn server_mut(&mut self, name: &str) -> Option<&mut ServerView> {
        self.servers.iter_mut().find(|s| s.name == name)
    }

    pub fn primary(&self) -> Option<&ServerView> {
        self.server(self.master.as_deref()?)
    }

    /// Where the router may send clients: the primary, if usable and not mid-switchover.
    pub fn route_target(&self) -> Option<&ServerView> {
        if self.switching {
            return None;
        }
        self.primary().filter(|s| s.usable())
    }

    /// Which monitored server a replica row points at (by host and port).
    pub fn server_at(&self, host: &str, port: i64) -> Option<&ServerView> {
        self.servers.iter().find(|s| s.endpoint_is(host, port))
    }

    /// Recompute links, the primary, roles, lag and events from the probes.
    /// `now` is the HTTP date stamped on new events.
    pub fn derive(&mut self, now: &str) {
        let n = self.servers.len();
        // Live links: IO thread not "No" and SQL thread running (mariadbmon's rule).
        let mut links: Vec<Vec<Option<usize>>> = Vec::with_capacity(n);
        for s in &self.servers {
            let rows = s.probe.as_ref().map(|p| p.slaves.as_slice()).unwrap_or(&[]);
            links.push(
                rows.iter()
                    .map(|r| {
                        if !s.running || r.slave_io_running == "No" || r.slave_sql_running != "Yes"
                        {
                            return None;
                        }
                        self.servers
                            .iter()
                            .position(|t| t.endpoint_is(&r.master_host, r.master_port))
                    })
                    .collect(),
            );
        }
        let replicas_of = |i: usize| links.iter().filter(|l| l.contains(&Some(i))).count();
        let replicates_from_running =
            |i: usize| links[i].iter().flatten().any(|&j| self.servers[j].running);
        let read_only = |i: usize| self.servers[i].probe.as_ref().is_none_or(|p| p.read_only);
        let valid_master = |i: usize| {
            self.servers[i].usable()
                && !replicates_from_running(i)
                && (!read_only(i) || replicas_of(i) > 0)
        };
        let previous = self
            .master
            .as_deref()
            .and_then(|m| self.servers.iter().position(|s| s.name == m));
        let master = match previous.filter(|&i| valid_master(i)) {
            Some(i) => Some(i),
            None => (0..n)
                .filter(|&i| valid_master(i))
                .max_by_key(|&i| (!read_only(i), replicas_of(i), std::cmp::Reverse(i))),
        };

        // Replicas: reachable from the primary through live links.
        let mut roles = vec![Role::None; n];
        let mut lag = vec![-1i64; n];
        if let Some(m) = master {
            roles[m] = Role::Master;
            lag[m] = 0;
            let mut changed = true;
            while changed {
                changed = false;
                for i in 0..n {
                    if roles[i] != Role::None {
                        continue;
                    }
                    let up = links[i]
                        .iter()
                        .enumerate()
                        .find(|(_, t)| t.is_some_and(|j| roles[j] != Role::None));
                    if let Some((row, _)) = up {
                        roles[i] = Role::Slave;
                        lag[i] = self.servers[i]
                            .probe
                            .as_ref()
                            .and_then(|p| p.slaves.get(row))
                            .and_then(|r| r.seconds_behind_master)
                            .unwrap_or(-1);
                        changed = true;
                    }
                }
            }
        }

        let names: Vec<String> = self.servers.iter().map(|s| s.name.clone()).collect();
        for (i, s) in self.servers.iter_mut().enumerate() {
            if s.running {
                s.link_targets = links[i]
                    .iter()
                    .map(|t| t.map(|j| names[j].clone()))
                    .collect();
            }
            let role = if s.running { roles[i] } else { Role::None };
            if let Some(event) = event_for(s.was_running, s.running, s.role, role) {
                s.last_event = Some(event.to_owned());
                s.triggered_at = Some(now.to_owned());
            }
            s.was_running = s.running;
            s.role = role;
            s.replication_lag = if s.running { lag[i] } else { -1 };
        }
        self.master = master.map(|m| names[m].clone());
        self.ticks += 1;
    }
}

/// mariadbmon's event name for a change from (`was_running`, `old`) to (`running`, `new`).
fn event_for(was_running: bool, running: bool, old: Role, new: Role) -> Option<&'static str> {
    match (was_running, running) {
        (false, false) => None,
        (false, true) => Some(match new {
            Role::Master => "master_up",
            Role::Slave => "slave_up",
            Role::None => "server_up",
        }),
        (true, false) => Some(match old {
            Role::Master => "master_down",
            Role::Slave => "slave_down",
            Role::None => "server_down",
        }),
        (true, true) => match (old, new) {
            (a, b) if a == b => None,
            (_, Role::Master) => Some("new_master"),
            (_, Role::Slave) => Some("new_slave"),
            (Role::Master, Role::None) => Some("lost_master"),
            (Role::Slave, Role::None) => Some("lost_slave"),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::probe::{Probe, SlaveRow};
    use super::*;

    fn server(
        name: &str,
        port: u16,
        read_only: bool,
        replicates_from: Option<(u16, &str, &str)>,
    ) -> ServerView {
        let mut s = ServerView::new(name, "127.0.0.1", port);
        s.running = true;
        s.probe = Some(Probe {
            server_id: i64::from(port),
            read_only,
            log_bin: true,
            gtid_binlog_pos: "0-1-5".into(),
            slaves: replicates_from
                .map(|(p, io, sql)| SlaveRow {
                    master_host: "127.0.0.1".into(),
                    master_port: i64::from(p),
                    slave_io_running: io.into(),
                    slave_sql_running: sql.into(),
                    seconds_behind_master: (sql == "Yes").then_some(2),
                    master_server_id: i64::from(p),
                    ..SlaveRow::default()
                })
                .into_iter()
                .collect(),
            ..Probe::default()
        });
        s
    }

    fn states(v: &ClusterView) -> Vec<(String, String, Option<String>, i64)> {
        v.servers
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    s.state().raw,
                    s.last_event.clone(),
                    s.replication_lag,
                )
            })
            .collect()
    }

    #[test]
    fn primary_replica_then_broken_then_down() {
        let mut v = ClusterView {
            servers: vec![
                server("server1", 1, false, None),
                server("server2", 2, true, Some((1, "Yes", "Yes"))),
            ],
            ..ClusterView::default()
        };
        v.derive("t1");
        let ev = |e: &str| Some(e.to_owned());
        assert_eq!(
            states(&v),
            vec![
                (
                    "server1".into(),
                    "Master, Running".into(),
                    ev("master_up"),
                    0
                ),
                ("server2".into(), "Slave, Running".into(), ev("slave_up"), 2),
            ]
        );
        assert_eq!(v.servers[0].master_id(), -1);
        assert_eq!(v.servers[1].master_id(), 1);
        assert_eq!(v.servers[1].link_targets, vec![Some("server1".to_owned())]);

        // SQL thread stopped: no longer a replica, lag unknown, link gone.
        v.servers[1] = server("server2", 2, true, Some((1, "Yes", "No")));
        v.servers[1].was_running = true;
        v.servers[1].role = Role::Slave;
        v.derive("t2");
        assert_eq!(
            states(&v)[1],
            ("server2".into(), "Running".into(), ev("lost_slave"), -1)
        );
        assert_eq!(v.servers[1].link_targets, vec![None]);

        v.servers[1].running = false;
        v.servers[1].maintenance = true;
        v.derive("t3");
        assert_eq!(
            states(&v)[1],
            (
                "server2".into(),
                "Maintenance, Down".into(),
                ev("server_down"),
                -1
            )
        );
        assert_eq!(
            v.servers[1]
                .probe
                .as_ref()
                .map(|p| p.gtid_binlog_pos.as_str()),
            Some("0-1-5")
        );
        assert_eq!(v.route_target().map(|s| s.name.as_str()), Some("server1"));
    }

    #[test]
    fn switching_or_maintenance_hides_the_route() {
        let mut v = ClusterView {
            servers: vec![server("server1", 1, false, None)],
            ..ClusterView::default()
        };
        v.derive("t");
        assert!(v.route_target().is_some());
        v.switching = true;
        assert!(v.route_target().is_none());
        v.switching = false;
        v.servers[0].running = false;
        v.derive("t");
        assert_eq!(v.master, None);
        assert!(v.route_target().is_none());
    }

    #[test]
    fn a_read_only_server_without_replicas_is_not_primary() {
        let mut v = ClusterView {
            servers: vec![
                server("server1", 1, true, None),
                server("server2", 2, true, None),
            ],
            ..ClusterView::default()
        };
        v.derive("t");
        assert_eq!(v.master, None);
        assert_eq!(v.servers[0].state().raw, "Running");
    }
}

//! Live facts for gates, `wait` and `check`: the pollers' latest snapshots, the roles as
//! they are now, and which steps of this session succeeded.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::poll::maxscale::MaxscaleSnapshot;
use crate::poll::{IoState, ServerSnapshot};
use crate::runbook::condition::Fact;
use crate::runbook::eval::{FactSource, FactValue};
use crate::runbook::roles::{RoleError, RoleMap};
use crate::session::run::StepState;

pub struct LiveFacts<'a> {
    pub servers: &'a [ServerSnapshot],
    pub maxscale: Option<&'a MaxscaleSnapshot>,
    /// Inventory name → name in MaxScale.
    pub maxscale_names: &'a BTreeMap<String, String>,
    pub roles: &'a RoleMap,
    pub succeeded: Succeeded<'a>,
}

/// Which steps of this session succeeded: the run's own states where facts are only read
/// (a screen judges every step's gates on every publish, and collecting the set for each
/// was most of the cost), or a set taken beforehand where the run changes meanwhile.
#[derive(Clone, Copy)]
pub enum Succeeded<'a> {
    Ids(&'a HashSet<String>),
    States(&'a HashMap<String, StepState>),
}

impl LiveFacts<'_> {
    fn snapshot(&self, server: &str) -> Option<&ServerSnapshot> {
        self.servers.iter().find(|s| s.server == server)
    }
}

impl FactSource for LiveFacts<'_> {
    fn resolve(&self, subject: &str) -> Result<Vec<String>, RoleError> {
        self.roles.resolve(subject)
    }

    fn fact(&self, server: &str, fact: Fact) -> FactValue {
        if fact == Fact::MaxscaleState {
            let Some(m) = self.maxscale else {
                return FactValue::Unknown("no MaxScale in the inventory".into());
            };
            if let Some(e) = &m.error {
                return FactValue::Unknown(format!("MaxScale: {e}"));
            }
            if !m.polled {
                return FactValue::Unknown("MaxScale not polled yet".into());
            }
            let name = self
                .maxscale_names
                .get(server)
                .map_or(server, String::as_str);
            return match m.live_state(name) {
                Some(state) => FactValue::Text(state.to_string()),
                None => FactValue::Unknown(format!("MaxScale does not list {name}")),
            };
        }
        let Some(snap) = self.snapshot(server) else {
            return FactValue::Unknown(format!("{server} is not polled"));
        };
        if fact == Fact::Up {
            // Only a server that did not answer is down. One that answered but would not
            // serve the poller (login refused, refusing connections, closing them while
            // it reconnects) is neither; one whose query failed is up. A server whose
            // connection was killed but that took the reconnect was published live.
            return match (&snap.error, &snap.info) {
                (Some(e), _) => match e.server_up() {
                    Some(up) => FactValue::Bool(up),
                    None => FactValue::Unknown(e.to_string()),
                },
                (None, Some(_)) => FactValue::Bool(true),
                (None, None) => FactValue::Unknown("not polled yet".into()),
            };
        }
        let Some(info) = snap.live() else {
            let why = snap
                .error
                .as_ref()
                .map_or("not polled yet".to_string(), |e| e.to_string());
            return FactValue::Unknown(why);
        };
        // `replica.*` reads the default (unnamed) connection, or the only one; with several
        // named connections and no default one, its facts are unknown rather than one
        // connection's picked at random.
        let replica = match info.default_replica() {
            Ok(r) => r,
            Err(why) if replica_fact(fact) => {
                return FactValue::Unknown(format!("{why}; replica facts read the default one"));
            }
            Err(_) => None,
        };
        let semi = &info.semi_sync;
        let status = |v: Option<bool>, name: &str| match v {
            Some(on) => FactValue::Bool(on),
            None => FactValue::Unknown(format!("the server has no {name}")),
        };
        match fact {
            Fact::SemiSync if !info.replicas.is_empty() => {
                status(semi.slave_status, "Rpl_semi_sync_slave_status")
            }
            Fact::SemiSync | Fact::SemiSyncMaster => {
                status(semi.master_status, "Rpl_semi_sync_master_status")
            }
            Fact::SemiSyncSlave => status(semi.slave_status, "Rpl_semi_sync_slave_status"),
            Fact::SemiSyncClients => match semi.master_clients {
                Some(n) => FactValue::Int(i64::try_from(n).unwrap_or(i64::MAX)),
                None => FactValue::Unknown("the server has no Rpl_semi_sync_master_clients".into()),
            },
            Fact::IoRunning => FactValue::Bool(replica.is_some_and(|r| r.io == IoState::Yes)),
            Fact::SqlRunning => FactValue::Bool(replica.is_some_and(|r| r.sql_running)),
            Fact::ReadOnly => FactValue::Bool(info.read_only),
            Fact::SecondsBehind => match replica.and_then(|r| r.seconds_behind) {
                Some(s) => FactValue::Int(s as i64),
                None if replica.is_none() => FactValue::Unknown("not a replica".into()),
                None => FactValue::Unknown("Seconds_Behind_Master is NULL".into()),
            },
            Fact::ServerId => FactValue::Int(i64::from(info.server_id)),
            Fact::Version => FactValue::Text(info.version.clone()),
            Fact::BinlogFormat => FactValue::Text(info.binlog_format.clone()),
            Fact::GtidBinlogPos => FactValue::Text(info.gtid_binlog_pos.to_string()),
            Fact::GtidCurrentPos => FactValue::Text(info.gtid_current_pos.to_string()),
            Fact::GtidSlavePos => FactValue::Text(info.gtid_slave_pos.to_string()),
            Fact::LastError => {
                FactValue::Text(replica.and_then(|r| r.last_error()).unwrap_or_default())
            }
            Fact::Up | Fact::MaxscaleState => FactValue::Unknown("handled above".into()),
        }
    }

    fn caught_up(&self, replica: &str, primary: &str) -> Result<bool, String> {
        let live = |name: &str| {
            self.snapshot(name)
                .and_then(|s| s.live())
                .ok_or_else(|| format!("{name} is down or not polled yet"))
        };
        let target = &live(primary)?.gtid_binlog_pos;
        if target.is_empty() {
            return Err(format!("{primary} has an empty gtid_binlog_pos"));
        }
        Ok(live(replica)?.gtid_current_pos.has_reached(target))
    }

    fn succeeded(&self, step_id: &str) -> bool {
        match self.succeeded {
            Succeeded::Ids(ids) => ids.contains(step_id),
            Succeeded::States(states) => {
                matches!(states.get(step_id), Some(StepState::Succeeded { .. }))
            }
        }
    }
}

/// Facts read from a replication connection.
fn replica_fact(fact: Fact) -> bool {
    matches!(
        fact,
        Fact::IoRunning | Fact::SqlRunning | Fact::SecondsBehind | Fact::LastError
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poll::{PollError, ServerInfo};

    fn up_with(error: Option<PollError>) -> FactValue {
        fact_with(ServerInfo::default(), error, Fact::Up)
    }

    #[test]
    fn only_a_server_that_did_not_answer_is_down() {
        assert_eq!(up_with(None), FactValue::Bool(true));
        let refused = PollError::Unreachable("Connection refused (os error 111)".into());
        assert_eq!(up_with(Some(refused)), FactValue::Bool(false));
        let query = PollError::Query("Unknown column (1054)".into());
        assert_eq!(up_with(Some(query)), FactValue::Bool(true));
        for answered in [
            PollError::AccessDenied("Access denied for user".into()),
            PollError::Refused("Too many connections (1040)".into()),
            PollError::Closed("connection closed".into()),
        ] {
            assert!(
                matches!(up_with(Some(answered.clone())), FactValue::Unknown(_)),
                "{answered}"
            );
        }
    }

    fn fact_of(info: ServerInfo, fact: Fact) -> FactValue {
        fact_with(info, None, fact)
    }

    /// `fact` of `db1`, polled with `info` and `error`.
    fn fact_with(info: ServerInfo, error: Option<PollError>, fact: Fact) -> FactValue {
        let mut snap = ServerSnapshot::pending("db1");
        snap.info = Some(info);
        snap.error = error;
        let roles = RoleMap::default();
        let names = BTreeMap::new();
        let succeeded = HashSet::new();
        let facts = LiveFacts {
            servers: std::slice::from_ref(&snap),
            maxscale: None,
            maxscale_names: &names,
            roles: &roles,
            succeeded: Succeeded::Ids(&succeeded),
        };
        facts.fact("db1", fact)
    }

    fn connection(name: &str, io: IoState) -> crate::poll::ReplicaStatus {
        crate::poll::ReplicaStatus {
            connection_name: name.into(),
            master_host: "127.0.0.1".into(),
            master_port: 3306,
            io,
            sql_running: true,
            seconds_behind: Some(0),
            ..Default::default()
        }
    }

    #[test]
    fn semi_sync_is_read_in_the_server_s_own_direction() {
        let mut primary = ServerInfo::default();
        primary.semi_sync.master_status = Some(true);
        primary.semi_sync.master_clients = Some(2);
        primary.semi_sync.slave_status = Some(false);
        assert_eq!(
            fact_of(primary.clone(), Fact::SemiSync),
            FactValue::Bool(true)
        );
        assert_eq!(
            fact_of(primary.clone(), Fact::SemiSyncClients),
            FactValue::Int(2)
        );
        assert_eq!(
            fact_of(primary, Fact::SemiSyncSlave),
            FactValue::Bool(false)
        );
        let mut replica = ServerInfo {
            replicas: vec![connection("", IoState::Yes)],
            ..ServerInfo::default()
        };
        replica.semi_sync.master_status = Some(true);
        replica.semi_sync.slave_status = Some(false);
        assert_eq!(
            fact_of(replica.clone(), Fact::SemiSync),
            FactValue::Bool(false)
        );
        assert_eq!(
            fact_of(replica, Fact::SemiSyncMaster),
            FactValue::Bool(true)
        );
        // A server without semi-sync: unknown, never false.
        assert!(matches!(
            fact_of(ServerInfo::default(), Fact::SemiSyncClients),
            FactValue::Unknown(_)
        ));
    }

    #[test]
    fn replica_facts_read_the_default_connection() {
        let both = ServerInfo {
            replicas: vec![
                connection("east", IoState::No),
                connection("", IoState::Yes),
            ],
            ..ServerInfo::default()
        };
        assert_eq!(fact_of(both, Fact::IoRunning), FactValue::Bool(true));
        let only = ServerInfo {
            replicas: vec![connection("east", IoState::Yes)],
            ..ServerInfo::default()
        };
        assert_eq!(fact_of(only, Fact::IoRunning), FactValue::Bool(true));
        let named = ServerInfo {
            replicas: vec![
                connection("east", IoState::Yes),
                connection("west", IoState::Yes),
            ],
            ..ServerInfo::default()
        };
        assert!(matches!(
            fact_of(named.clone(), Fact::IoRunning),
            FactValue::Unknown(_)
        ));
        assert_eq!(fact_of(named, Fact::ReadOnly), FactValue::Bool(false));
    }
}

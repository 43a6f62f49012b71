//! How often each server is polled when its pollers share [`Tiers`] (`watch` and the
//! session driver do; without them every server is polled at the fast interval).
//!
//! - **Fast** (the SQL interval, 250 ms by default): a server that looks like the primary
//!   (writable, replicating from nobody), one whose last poll failed, one that is not a
//!   settled replica (a replication thread stopped or connecting, [`SETTLED_LAG`] or more
//!   behind, a heartbeat dated in the future, no replication connection, writable), and one
//!   its owner marked hot with [`Tiers::set_hot`] (the servers of a running step).
//! - **Relaxed**: a settled replica is polled as soon as the primary's binlog position has
//!   moved since its last poll (at most once per fast interval), and otherwise at least
//!   every [`RELAXED`] (1 s) plus one fast interval: 1.25 s. Following the primary means its
//!   GTID position is compared with the primary's of the same moment and never shows a
//!   replica "behind" only because its poll is older; the slack keeps a deadline from
//!   falling just before the primary's next move (a heartbeat moves it every second) and
//!   polling twice for one move. On an idle lab with its heartbeat, a settled replica is
//!   polled once a second. A primary taking writes continuously has its replicas polled
//!   at the fast interval; the saving is for quiet moments, which is most of a change
//!   window.
//!
//! Each poller judges its own server from its last answer, so a switchover needs no
//! coordination: the new primary looks like one at its next poll and goes fast.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::gtid::GtidPos;
use super::heartbeat::HeartbeatLag;
use super::snapshot::ServerInfo;

/// The relaxed interval `watch` uses for settled replicas (or the SQL interval, if longer).
pub const RELAXED: Duration = Duration::from_secs(1);

/// A replica this far behind (Seconds_Behind_Master or heartbeat lag) is polled fast. The
/// panes call a replica lagging from 5 s on, so it is fast well before it is reported.
pub const SETTLED_LAG: Duration = Duration::from_secs(2);

/// Shared by the pollers of one inventory and their owner.
#[derive(Clone, Debug)]
pub struct Tiers {
    relaxed: Duration,
    /// Bumped by a poller whose server looks like the primary when its binlog position
    /// moved.
    moved: Arc<watch::Sender<u64>>,
    /// Servers polled fast whatever they look like.
    hot: Arc<watch::Sender<BTreeSet<String>>>,
}

impl Tiers {
    pub fn new(relaxed: Duration) -> Self {
        Self {
            relaxed,
            moved: Arc::new(watch::channel(0).0),
            hot: Arc::new(watch::channel(BTreeSet::new()).0),
        }
    }

    pub fn relaxed(&self) -> Duration {
        self.relaxed
    }

    /// Marks the servers to poll at the fast interval whatever they look like (replacing
    /// the previous set). A server that becomes hot is polled at once (at most one fast
    /// interval after its last poll began).
    pub fn set_hot<I: IntoIterator<Item = String>>(&self, servers: I) {
        let set: BTreeSet<String> = servers.into_iter().collect();
        self.hot.send_if_modified(|old| {
            let changed = *old != set;
            *old = set;
            changed
        });
    }

    /// The servers marked hot.
    pub fn hot(&self) -> BTreeSet<String> {
        self.hot.borrow().clone()
    }

    /// One poller's side of the tiers.
    pub(super) fn schedule(&self, server: &str) -> Schedule {
        Schedule {
            server: server.to_string(),
            moved_rx: self.moved.subscribe(),
            hot_rx: self.hot.subscribe(),
            tiers: self.clone(),
            last_binlog: None,
        }
    }
}

/// Whether a server's last answer is a settled replica's: read-only, replicating on every
/// connection (IO and SQL threads running), less than [`SETTLED_LAG`] behind by
/// Seconds_Behind_Master and by its heartbeat, if it has one.
pub fn settled(info: &ServerInfo) -> bool {
    let lag = SETTLED_LAG.as_secs();
    let caught_up = info
        .replicas
        .iter()
        .all(|r| r.healthy() && r.seconds_behind.is_some_and(|s| s < lag));
    let heartbeat = match info.heartbeat_lag {
        None => true,
        Some(HeartbeatLag::Behind(d)) => d < SETTLED_LAG,
        Some(HeartbeatLag::Skew { .. }) => false,
    };
    info.read_only && !info.replicas.is_empty() && caught_up && heartbeat
}

/// One poller's view of the tiers.
pub(super) struct Schedule {
    server: String,
    moved_rx: watch::Receiver<u64>,
    hot_rx: watch::Receiver<BTreeSet<String>>,
    /// Keeps both channels open for as long as the poller runs.
    tiers: Tiers,
    /// The binlog position of the last poll, while this server looks like the primary.
    last_binlog: Option<GtidPos>,
}

impl Schedule {
    /// A poll begins: what the primary did until now is in this poll's answer.
    pub fn polling(&mut self) {
        self.moved_rx.borrow_and_update();
        self.hot_rx.borrow_and_update();
    }

    /// A poll ended with `info` (`None`: it failed). Tells the other pollers when this
    /// server looks like the primary and its binlog position moved; returns whether the
    /// server is polled at the relaxed interval until its next poll.
    pub fn polled(&mut self, info: Option<&ServerInfo>) -> bool {
        match info.filter(|i| i.looks_primary()) {
            Some(i) if self.last_binlog.as_ref() != Some(&i.gtid_binlog_pos) => {
                self.last_binlog = Some(i.gtid_binlog_pos.clone());
                self.tiers.moved.send_modify(|n| *n = n.wrapping_add(1));
            }
            Some(_) => {}
            None => self.last_binlog = None,
        }
        info.is_some_and(settled) && !self.hot_rx.borrow().contains(&self.server)
    }

    /// Waits until the next poll is due: `fast` after `started`; for a relaxed server, then
    /// until the primary moved, the server was marked hot, or the relaxed interval plus
    /// `fast` has passed, whichever comes first.
    pub async fn wait(&mut self, started: Instant, fast: Duration, relaxed: bool) {
        tokio::time::sleep_until((started + fast).into()).await;
        if !relaxed {
            return;
        }
        // One fast interval of slack: the heartbeat moves the primary about once a second,
        // so a deadline of exactly the relaxed interval would fall just before each move and
        // poll twice for it.
        let deadline = tokio::time::Instant::from(started + self.tiers.relaxed.max(fast) + fast);
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return,
                // The sender lives in `self.tiers`: these never fail.
                _ = self.moved_rx.changed() => return,
                _ = self.hot_rx.changed() => {
                    if self.hot_rx.borrow_and_update().contains(&self.server) {
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poll::{IoState, ReplicaStatus};

    fn replica(io: IoState, sql: bool, behind: Option<u64>) -> ReplicaStatus {
        ReplicaStatus {
            connection_name: String::new(),
            master_host: "127.0.0.1".into(),
            master_port: 3306,
            io,
            sql_running: sql,
            seconds_behind: behind,
            gtid_io_pos: GtidPos::default(),
            using_gtid: "Slave_Pos".into(),
            last_io_errno: 0,
            last_io_error: String::new(),
            last_sql_errno: 0,
            last_sql_error: String::new(),
            sql_state: String::new(),
            master_user: String::new(),
            ssl_allowed: false,
        }
    }

    fn info(read_only: bool, replicas: Vec<ReplicaStatus>, hb: Option<HeartbeatLag>) -> ServerInfo {
        ServerInfo {
            read_only,
            replicas,
            heartbeat_lag: hb,
            ..ServerInfo::default()
        }
    }

    #[test]
    fn only_a_healthy_caught_up_read_only_replica_is_settled() {
        let ok = || replica(IoState::Yes, true, Some(0));
        let hb = |ms| Some(HeartbeatLag::Behind(Duration::from_millis(ms)));
        assert!(settled(&info(true, vec![ok()], None)));
        assert!(settled(&info(true, vec![ok()], hb(1_900))));
        assert!(settled(&info(true, vec![ok(), ok()], None)));
        assert!(settled(&info(
            true,
            vec![replica(IoState::Yes, true, Some(1))],
            None
        )));

        // The primary, a writable replica, a server replicating from nobody.
        assert!(!settled(&info(false, vec![], None)));
        assert!(!settled(&info(false, vec![ok()], None)));
        assert!(!settled(&info(true, vec![], None)));
        // A thread stopped or connecting, on any connection.
        assert!(!settled(&info(
            true,
            vec![replica(IoState::No, true, None)],
            None
        )));
        assert!(!settled(&info(
            true,
            vec![ok(), replica(IoState::Yes, false, None)],
            None
        )));
        assert!(!settled(&info(
            true,
            vec![replica(IoState::Connecting, true, Some(0))],
            None
        )));
        // Behind by either measure, or a heartbeat dated in the future.
        assert!(!settled(&info(
            true,
            vec![replica(IoState::Yes, true, Some(2))],
            None
        )));
        assert!(!settled(&info(true, vec![ok()], hb(2_000))));
        let skew = Some(HeartbeatLag::Skew {
            ahead: Duration::from_secs(9),
        });
        assert!(!settled(&info(true, vec![ok()], skew)));
    }

    #[test]
    fn hot_servers_are_never_relaxed_and_the_primary_moving_wakes_replicas() {
        let tiers = Tiers::new(RELAXED);
        let mut replica_side = tiers.schedule("server2");
        let mut primary_side = tiers.schedule("server1");
        let settled_replica = info(true, vec![replica(IoState::Yes, true, Some(0))], None);
        replica_side.polling();
        assert!(replica_side.polled(Some(&settled_replica)));
        assert!(!replica_side.polled(None), "a failed poll is fast");

        tiers.set_hot(["server2".to_string()]);
        assert_eq!(tiers.hot(), BTreeSet::from(["server2".to_string()]));
        assert!(!replica_side.polled(Some(&settled_replica)));
        tiers.set_hot([]);
        assert!(replica_side.polled(Some(&settled_replica)));

        // The primary's position moves: a replica that polled before hears of it.
        replica_side.polling();
        assert!(!replica_side.moved_rx.has_changed().expect("open"));
        let mut primary = info(false, vec![], None);
        primary.gtid_binlog_pos = "0-1-5".parse().expect("gtid");
        primary_side.polling();
        assert!(!primary_side.polled(Some(&primary)), "the primary is fast");
        assert!(replica_side.moved_rx.has_changed().expect("open"));
        // The same position again is no news.
        replica_side.polling();
        primary_side.polled(Some(&primary));
        assert!(!replica_side.moved_rx.has_changed().expect("open"));
        primary.gtid_binlog_pos = "0-1-6".parse().expect("gtid");
        primary_side.polled(Some(&primary));
        assert!(replica_side.moved_rx.has_changed().expect("open"));
    }
}

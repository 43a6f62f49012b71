//! Heartbeat lag, in pt-heartbeat's table layout.
//!
//! A writer updates one row per primary (`ts` as an ISO-8601 UTC string with microseconds,
//! `server_id` as key) every interval; every server reads the newest row written by
//! another server and reports how old it is. Because the layout is pt-heartbeat's, an
//! existing `pt-heartbeat --update` can be read instead of writing our own.
//!
//! The writer only writes on the one server that the pollers show as primary (writable,
//! replicating from nobody), and its statement is also guarded by `@@read_only = 0`, so a
//! heartbeat can never become an errant transaction on a replica.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::mysql::{SqlTarget, connect};
use super::snapshot::ServerSnapshot;

/// `database.table`, both plain identifiers (they are put into SQL text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeartbeatTable {
    database: String,
    table: String,
}

#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a plain identifier (letters, digits, _ and $ only)")]
pub struct BadIdentifier(String);

impl HeartbeatTable {
    pub fn new(database: &str, table: &str) -> Result<Self, BadIdentifier> {
        for name in [database, table] {
            let plain = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
            if !plain {
                return Err(BadIdentifier(name.to_string()));
            }
        }
        Ok(Self {
            database: database.to_string(),
            table: table.to_string(),
        })
    }

    fn name(&self) -> String {
        format!("`{}`.`{}`", self.database, self.table)
    }

    /// Microseconds since the newest heartbeat written by another server, computed by the
    /// server itself (no clock of this machine involved).
    pub fn lag_query(&self) -> String {
        format!(
            "SELECT TIMESTAMPDIFF(MICROSECOND, STR_TO_DATE(ts, '%Y-%m-%dT%H:%i:%s.%f'), \
             UTC_TIMESTAMP(6)) FROM {} WHERE server_id <> @@server_id ORDER BY ts DESC LIMIT 1",
            self.name()
        )
    }

    /// Writes (or moves forward) this server's heartbeat row, only if it is writable.
    pub fn update_statement(&self) -> String {
        format!(
            "INSERT INTO {} (ts, server_id) SELECT DATE_FORMAT(UTC_TIMESTAMP(6), \
             '%Y-%m-%dT%H:%i:%s.%f'), @@server_id FROM DUAL WHERE @@global.read_only = 0 \
             ON DUPLICATE KEY UPDATE ts = VALUES(ts)",
            self.name()
        )
    }

    /// pt-heartbeat's table, for servers that have none yet.
    pub fn create_statement(&self) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {} (ts varchar(26) NOT NULL, \
             server_id int unsigned NOT NULL PRIMARY KEY, file varchar(255) DEFAULT NULL, \
             position bigint unsigned DEFAULT NULL, relay_master_log_file varchar(255) DEFAULT NULL, \
             exec_master_log_pos bigint unsigned DEFAULT NULL) ENGINE=InnoDB",
            self.name()
        )
    }
}

pub fn lag_from_row(row: &Row) -> Option<Duration> {
    let micros: i64 = row.get_opt::<Option<i64>, usize>(0)?.ok()??;
    Some(Duration::from_micros(micros.max(0) as u64))
}

/// The one server the snapshots show as primary: live, writable, replicating from nobody.
pub fn primary_of(snapshots: &[watch::Receiver<ServerSnapshot>]) -> Option<String> {
    let mut writable = snapshots.iter().filter_map(|rx| {
        let s = rx.borrow();
        let info = s.live()?;
        info.looks_primary().then(|| s.server.clone())
    });
    match (writable.next(), writable.next()) {
        (Some(one), None) => Some(one),
        _ => None, // none, or several: writing could split history; write nothing
    }
}

/// Writes a heartbeat on the current primary every `interval` until cancelled.
pub fn spawn_writer(
    table: HeartbeatTable,
    targets: Vec<SqlTarget>,
    snapshots: Vec<watch::Receiver<ServerSnapshot>>,
    interval: Duration,
    cancel: CancellationToken,
) {
    tokio::spawn(async move {
        let mut conn: Option<(String, Conn)> = None;
        let mut created = false;
        let mut tick = tokio::time::interval(interval);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tick.tick() => {}
            }
            let Some(primary) = primary_of(&snapshots) else {
                continue;
            };
            if conn.as_ref().is_none_or(|(name, _)| *name != primary) {
                let Some(target) = targets.iter().find(|t| t.server == primary) else {
                    continue;
                };
                conn = connect(target, Duration::from_secs(2))
                    .await
                    .ok()
                    .map(|c| (primary.clone(), c));
                created = false;
            }
            let Some((_, c)) = conn.as_mut() else {
                continue;
            };
            if !created {
                created = c.query_drop(table.create_statement()).await.is_ok();
            }
            if c.query_drop(table.update_statement()).await.is_err() {
                conn = None; // reconnect next time
            }
        }
    });
}

//! Heartbeat lag, in pt-heartbeat's table layout.
//!
//! A writer updates one row per primary every interval, as `pt-heartbeat --update --utc`
//! does: `ts` (ISO-8601 UTC with microseconds), `server_id` as key, and where the writer's
//! binary log stands (`file`, `position`) and, if it replicates itself, where its SQL thread
//! stands (`relay_master_log_file`, `exec_master_log_pos`). Every server reads the newest row
//! written by another server and reports how old it is ([`HeartbeatLag`]). Because the
//! layout is pt-heartbeat's, an existing `pt-heartbeat --update --utc` can be read instead.
//!
//! A heartbeat more than [`SKEW_TOLERANCE`] in the future is never shown as 0 lag: it is
//! [`HeartbeatLag::Skew`] (pt-heartbeat without `--utc` writes local time).
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

mod lag;
pub use lag::{HeartbeatLag, SKEW_TOLERANCE, format_lag};

/// Where the writing server stands, recorded beside `ts` as pt-heartbeat does:
/// `SHOW MASTER STATUS`'s file and position, and, when the writer is itself a replica,
/// `SHOW SLAVE STATUS`'s `Relay_Master_Log_File` and `Exec_Master_Log_Pos` (else NULL).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriterPosition {
    pub file: Option<String>,
    pub position: Option<u64>,
    pub relay_master_log_file: Option<String>,
    pub exec_master_log_pos: Option<u64>,
}

impl WriterPosition {
    /// Reads both in one round trip; a statement the server refuses leaves its part NULL.
    pub async fn read(conn: &mut Conn) -> Result<Self, mysql_async::Error> {
        let mut out = WriterPosition::default();
        let master: Vec<Row> = match conn.query("SHOW MASTER STATUS").await {
            Ok(rows) => rows,
            Err(mysql_async::Error::Server(_)) => Vec::new(), // no BINLOG MONITOR grant
            Err(e) => return Err(e),
        };
        if let Some(row) = master.first() {
            out.file = text(row, "File");
            out.position = text(row, "Position").and_then(|p| p.parse().ok());
        }
        let slave: Vec<Row> = match conn.query("SHOW SLAVE STATUS").await {
            Ok(rows) => rows,
            Err(mysql_async::Error::Server(_)) => Vec::new(),
            Err(e) => return Err(e),
        };
        if let Some(row) = slave.first() {
            out.relay_master_log_file = text(row, "Relay_Master_Log_File");
            out.exec_master_log_pos = text(row, "Exec_Master_Log_Pos").and_then(|p| p.parse().ok());
        }
        Ok(out)
    }
}

fn text(row: &Row, name: &str) -> Option<String> {
    row.get_opt::<Option<String>, &str>(name)
        .and_then(Result::ok)
        .flatten()
        .filter(|s| !s.is_empty())
}

/// A value as SQL text: NULL, or a quoted string literal with `'` and `\` escaped.
fn sql_text(v: Option<&str>) -> String {
    v.map_or("NULL".into(), |s| {
        format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
    })
}

fn sql_num(v: Option<u64>) -> String {
    v.map_or("NULL".into(), |n| n.to_string())
}

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
    /// server itself (no clock of this machine involved); negative when it is dated ahead.
    /// A heartbeat older than the server's own last one predates its time as a replica (it
    /// was the primary since): just after a switchover back, the new primary's old row would
    /// read as minutes of lag until its writer's first heartbeat arrives. No row then, and
    /// the pane falls back to Seconds_Behind_Master.
    pub fn lag_query(&self) -> String {
        format!(
            "SELECT TIMESTAMPDIFF(MICROSECOND, STR_TO_DATE(ts, '%Y-%m-%dT%H:%i:%s.%f'), \
             UTC_TIMESTAMP(6)) FROM {t} WHERE server_id <> @@server_id \
             AND ts >= (SELECT COALESCE(MAX(ts), '') FROM {t} WHERE server_id = @@server_id) \
             ORDER BY ts DESC LIMIT 1",
            t = self.name()
        )
    }

    /// Writes (or moves forward) this server's heartbeat row with every column
    /// pt-heartbeat fills, only if the server is writable.
    pub fn update_statement(&self, at: &WriterPosition) -> String {
        format!(
            "INSERT INTO {} (ts, server_id, file, position, relay_master_log_file, \
             exec_master_log_pos) SELECT DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%dT%H:%i:%s.%f'), \
             @@server_id, {}, {}, {}, {} FROM DUAL WHERE @@global.read_only = 0 \
             ON DUPLICATE KEY UPDATE ts = VALUES(ts), file = VALUES(file), \
             position = VALUES(position), relay_master_log_file = VALUES(relay_master_log_file), \
             exec_master_log_pos = VALUES(exec_master_log_pos)",
            self.name(),
            sql_text(at.file.as_deref()),
            sql_num(at.position),
            sql_text(at.relay_master_log_file.as_deref()),
            sql_num(at.exec_master_log_pos),
        )
    }

    /// The same for a table made with only `ts` and `server_id` (not pt-heartbeat's).
    pub fn update_ts_statement(&self) -> String {
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

/// The first column of a [`HeartbeatTable::lag_query`] row; `None` for NULL (a `ts` that
/// does not parse).
pub fn lag_from_row(row: &Row) -> Option<HeartbeatLag> {
    let micros: i64 = row.get_opt::<Option<i64>, usize>(0)?.ok()??;
    Some(HeartbeatLag::from_micros(micros))
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

/// MariaDB's ER_BAD_FIELD_ERROR: the table lacks pt-heartbeat's position columns.
const BAD_FIELD: u16 = 1054;
/// Deadline of each of the writer's statements: a stalled primary must not hold the writer
/// (after a switchover it must write on the new one).
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// The writer's connection to the current primary and what it learnt about its table.
struct Writer {
    server: String,
    conn: Conn,
    created: bool,
    /// The table has only `ts` and `server_id`.
    ts_only: bool,
}

impl Writer {
    /// One heartbeat; `Err` drops the connection (reconnect next time).
    async fn beat(&mut self, table: &HeartbeatTable) -> Result<(), ()> {
        if !self.created {
            self.created = self.conn.query_drop(table.create_statement()).await.is_ok();
        }
        if !self.ts_only {
            let at = WriterPosition::read(&mut self.conn).await.map_err(|_| ())?;
            match self.conn.query_drop(table.update_statement(&at)).await {
                Ok(()) => return Ok(()),
                Err(mysql_async::Error::Server(e)) if e.code == BAD_FIELD => self.ts_only = true,
                Err(_) => return Err(()),
            }
        }
        self.conn
            .query_drop(table.update_ts_statement())
            .await
            .map_err(|_| ())
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
        let mut writer: Option<Writer> = None;
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tick.tick() => {}
            }
            let Some(primary) = primary_of(&snapshots) else {
                continue;
            };
            if writer.as_ref().is_none_or(|w| w.server != primary) {
                let Some(target) = targets.iter().find(|t| t.server == primary) else {
                    continue;
                };
                writer = connect(target, WRITE_TIMEOUT)
                    .await
                    .ok()
                    .map(|conn| Writer {
                        server: primary.clone(),
                        conn,
                        created: false,
                        ts_only: false,
                    });
            }
            let Some(w) = writer.as_mut() else {
                continue;
            };
            let done = tokio::select! {
                _ = cancel.cancelled() => break,
                r = tokio::time::timeout(WRITE_TIMEOUT, w.beat(&table)) => r,
            };
            if !matches!(done, Ok(Ok(()))) {
                writer = None; // reconnect next time
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writer_fills_what_pt_heartbeat_fills() {
        let t = HeartbeatTable::new("app", "heartbeat").expect("plain");
        let primary = WriterPosition {
            file: Some("mysql-bin.000003".into()),
            position: Some(14491),
            ..WriterPosition::default()
        };
        let sql = t.update_statement(&primary);
        assert!(
            sql.contains("@@server_id, 'mysql-bin.000003', 14491, NULL, NULL FROM DUAL"),
            "{sql}"
        );
        for col in [
            "file",
            "position",
            "relay_master_log_file",
            "exec_master_log_pos",
        ] {
            assert!(sql.contains(&format!("{col} = VALUES({col})")), "{sql}");
        }
        assert!(sql.contains("WHERE @@global.read_only = 0"), "{sql}");
        let chained = WriterPosition {
            relay_master_log_file: Some("it's\\odd".into()),
            exec_master_log_pos: Some(7),
            ..primary
        };
        assert!(
            t.update_statement(&chained)
                .contains("14491, 'it''s\\\\odd', 7 FROM DUAL"),
            "escaped"
        );
    }
}

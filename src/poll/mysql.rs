//! The SQL poller: one long-lived connection per server, one round trip per cycle.
//!
//! Each cycle sends the variables query and `SHOW ALL SLAVES STATUS` as one multi-statement
//! batch and publishes a [`ServerSnapshot`]. A server that is down, refuses the login or
//! times out is published as such; the poller reconnects with backoff and never gives up
//! until cancelled.

use std::time::{Duration, Instant, SystemTime};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, Row};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::gtid::GtidPos;
use super::heartbeat::HeartbeatTable;
use super::snapshot::{IoState, PollError, ReplicaStatus, ServerInfo, ServerSnapshot};

/// Everything a poller needs to reach one server. The password is resolved already.
#[derive(Clone)]
pub struct SqlTarget {
    pub server: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<crate::inventory::Secret>,
}

#[derive(Clone, Debug)]
pub struct SqlPollConfig {
    pub interval: Duration,
    /// Connect and query deadline; a server that does not answer in time is "down".
    pub timeout: Duration,
    /// A pt-heartbeat compatible table (`db.heartbeat`) to read lag from, if any.
    pub heartbeat: Option<HeartbeatTable>,
}

impl Default for SqlPollConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_millis(250),
            timeout: Duration::from_secs(2),
            heartbeat: None,
        }
    }
}

const VARIABLES: &str = "SELECT @@version, @@server_id, @@read_only, @@log_bin, @@binlog_format, \
     @@gtid_current_pos, @@gtid_binlog_pos, @@gtid_slave_pos, @@slave_parallel_threads, \
     @@slave_parallel_mode, @@rpl_semi_sync_master_enabled, @@rpl_semi_sync_slave_enabled";
const SLAVES: &str = "SHOW ALL SLAVES STATUS";

/// Starts the poller task; the receiver always holds the latest snapshot.
pub fn spawn(
    target: SqlTarget,
    config: SqlPollConfig,
    cancel: CancellationToken,
) -> watch::Receiver<ServerSnapshot> {
    let (tx, rx) = watch::channel(ServerSnapshot::pending(&target.server));
    tokio::spawn(run(target, config, tx, cancel));
    rx
}

async fn run(
    target: SqlTarget,
    config: SqlPollConfig,
    tx: watch::Sender<ServerSnapshot>,
    cancel: CancellationToken,
) {
    let mut conn: Option<Conn> = None;
    let mut backoff = config.interval;
    let mut last_info: Option<ServerInfo> = None;
    loop {
        let started = Instant::now();
        let result = tokio::select! {
            _ = cancel.cancelled() => break,
            r = poll_once(&target, &config, &mut conn) => r,
        };
        let error = match result {
            Ok(info) => {
                last_info = Some(info);
                backoff = config.interval;
                None
            }
            Err(e) => {
                conn = None; // a failed connection is not reused
                backoff = (backoff * 2).min(Duration::from_secs(5));
                Some(e)
            }
        };
        let wait = if error.is_some() {
            backoff
        } else {
            config.interval
        };
        let snapshot = ServerSnapshot {
            server: target.server.clone(),
            taken_at: Instant::now(),
            wall_time: SystemTime::now(),
            info: last_info.clone(),
            error,
        };
        // Only wake receivers when something other than the time changed.
        tx.send_if_modified(|old| {
            let changed = old.info != snapshot.info || old.error != snapshot.error;
            *old = snapshot;
            changed
        });
        if tx.is_closed() {
            break;
        }
        let next = started + wait;
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep_until(next.into()) => {}
        }
    }
    if let Some(c) = conn {
        let _ = tokio::time::timeout(Duration::from_secs(1), c.disconnect()).await;
    }
}

async fn poll_once(
    target: &SqlTarget,
    config: &SqlPollConfig,
    conn: &mut Option<Conn>,
) -> Result<ServerInfo, PollError> {
    if conn.is_none() {
        *conn = Some(connect(target, config.timeout).await?);
    }
    let Some(c) = conn.as_mut() else {
        return Err(PollError::Unreachable("no connection".into()));
    };
    match tokio::time::timeout(config.timeout, query(c, config.heartbeat.as_ref())).await {
        Ok(r) => r.map_err(|e| classify(&e)),
        Err(_) => Err(PollError::Unreachable(format!(
            "no answer within {:?}",
            config.timeout
        ))),
    }
}

pub async fn connect(target: &SqlTarget, timeout: Duration) -> Result<Conn, PollError> {
    let opts = OptsBuilder::default()
        .ip_or_hostname(target.host.clone())
        .tcp_port(target.port)
        .user(Some(target.user.clone()))
        .pass(target.password.as_ref().map(|p| p.expose().to_string()))
        .prefer_socket(false)
        .stmt_cache_size(0);
    match tokio::time::timeout(timeout, Conn::new(opts)).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(classify(&e)),
        Err(_) => Err(PollError::Unreachable(format!(
            "{}:{} did not answer within {timeout:?}",
            target.host, target.port
        ))),
    }
}

fn classify(e: &mysql_async::Error) -> PollError {
    match e {
        mysql_async::Error::Server(s) if s.code == 1045 || s.code == 1044 => {
            PollError::AccessDenied(s.message.clone())
        }
        mysql_async::Error::Server(s) => PollError::Query(format!("{} ({})", s.message, s.code)),
        mysql_async::Error::Io(_) | mysql_async::Error::Driver(_) => {
            PollError::Unreachable(e.to_string())
        }
        other => PollError::Query(other.to_string()),
    }
}

async fn query(
    conn: &mut Conn,
    heartbeat: Option<&HeartbeatTable>,
) -> Result<ServerInfo, mysql_async::Error> {
    // One round trip: the heartbeat read rides in the same batch, last, so that a missing
    // table fails only its own statement.
    let batch = match heartbeat {
        Some(h) => format!("{VARIABLES}; {SLAVES}; {}", h.lag_query()),
        None => format!("{VARIABLES}; {SLAVES}"),
    };
    let mut result = conn.query_iter(batch).await?;
    let vars: Vec<Row> = result.collect().await?;
    let slaves: Vec<Row> = result.collect().await?;
    let heartbeat_lag = match heartbeat {
        Some(_) => match result.collect::<Row>().await {
            Ok(rows) => rows.first().and_then(super::heartbeat::lag_from_row),
            // No heartbeat table (yet) on this server: no lag to show, not a failed poll.
            Err(mysql_async::Error::Server(_)) => None,
            Err(e) => return Err(e),
        },
        None => None,
    };
    drop(result);
    let v = vars.first();
    let col = |i: usize| v.and_then(|r| text_at(r, i)).unwrap_or_default();
    let settings = [
        (8, "slave_parallel_threads"),
        (9, "slave_parallel_mode"),
        (10, "rpl_semi_sync_master_enabled"),
        (11, "rpl_semi_sync_slave_enabled"),
    ]
    .into_iter()
    .map(|(i, name)| (name.to_string(), col(i)))
    .filter(|(_, value)| !value.is_empty())
    .collect();
    Ok(ServerInfo {
        version: col(0),
        server_id: col(1).parse().unwrap_or(0),
        read_only: col(2) == "1",
        log_bin: col(3) == "1",
        binlog_format: col(4),
        gtid_current_pos: GtidPos::parse_lenient(&col(5)),
        gtid_binlog_pos: GtidPos::parse_lenient(&col(6)),
        gtid_slave_pos: GtidPos::parse_lenient(&col(7)),
        replicas: slaves.iter().map(replica_status).collect(),
        settings,
        heartbeat_lag,
    })
}

fn text_at(row: &Row, i: usize) -> Option<String> {
    row.get_opt::<Option<String>, usize>(i)
        .and_then(Result::ok)
        .flatten()
}

fn text(row: &Row, name: &str) -> String {
    row.get_opt::<Option<String>, &str>(name)
        .and_then(Result::ok)
        .flatten()
        .unwrap_or_default()
}

fn replica_status(row: &Row) -> ReplicaStatus {
    let num = |name: &str| text(row, name).parse().unwrap_or(0);
    ReplicaStatus {
        connection_name: text(row, "Connection_name"),
        master_host: text(row, "Master_Host"),
        master_port: num("Master_Port") as u16,
        io: IoState::parse(&text(row, "Slave_IO_Running")),
        sql_running: text(row, "Slave_SQL_Running") == "Yes",
        seconds_behind: text(row, "Seconds_Behind_Master").parse().ok(),
        gtid_io_pos: GtidPos::parse_lenient(&text(row, "Gtid_IO_Pos")),
        using_gtid: text(row, "Using_Gtid"),
        last_io_errno: num("Last_IO_Errno") as u32,
        last_io_error: text(row, "Last_IO_Error"),
        last_sql_errno: num("Last_SQL_Errno") as u32,
        last_sql_error: text(row, "Last_SQL_Error"),
        sql_state: text(row, "Slave_SQL_Running_State"),
    }
}

//! The SQL poller: one long-lived connection per server, one round trip per cycle.
//!
//! Each cycle sends the variables query and `SHOW ALL SLAVES STATUS` (every named
//! connection of a multi-source replica is a row) as one multi-statement batch, with the
//! semi-sync statement added every few cycles ([`super::semisync::EVERY`]), and publishes
//! a [`ServerSnapshot`]. Every server has its own task, and a failed
//! server is tried again every interval with a connect timeout shorter than the interval,
//! so its row is as fresh as a live one's and it never holds back another server.
//!
//! Failures are told apart ([`PollError`]): down (refused, nothing answered), login
//! refused, refusing connections, and a connection the server closed or killed. The last
//! is what MaxScale does to a demoted primary's client connections during a switchover:
//! the poller reconnects at once, in the same cycle, and a server that takes the
//! reconnect is published live, never as down.

use std::time::{Duration, Instant, SystemTime};

use futures::future::BoxFuture;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::classify::{Failure, on_connect, on_open_connection};
use super::gtid::GtidPos;
use super::heartbeat::HeartbeatTable;
use super::rows::{replica_status, text_at};
use super::semisync::SemiSync;
use super::snapshot::{Encryption, PollError, ServerInfo, ServerSnapshot};
use super::tier::Tiers;
use super::tls::open;

/// Everything a poller needs to reach one server. The password is resolved already.
#[derive(Clone)]
pub struct SqlTarget {
    pub server: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<crate::inventory::Secret>,
    pub tls: crate::inventory::MysqlTls,
}

#[derive(Clone, Debug)]
pub struct SqlPollConfig {
    pub interval: Duration,
    /// Deadline of a poll's queries on an open connection; a server that does not answer
    /// in time is "down".
    pub timeout: Duration,
    /// Deadline of a (re)connection. `None`: four fifths of the interval (at most
    /// `timeout`), so a down server is tried again every interval.
    pub connect_timeout: Option<Duration>,
    /// A pt-heartbeat compatible table (`db.heartbeat`) to read lag from, if any.
    pub heartbeat: Option<HeartbeatTable>,
    /// Settled replicas polled at a longer interval ([`super::tier`]); `None`: every
    /// server at `interval`.
    pub tiers: Option<Tiers>,
}

impl Default for SqlPollConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_millis(250),
            timeout: Duration::from_secs(2),
            connect_timeout: None,
            heartbeat: None,
            tiers: None,
        }
    }
}

impl SqlPollConfig {
    /// The connect deadline in force: shorter than the interval unless set explicitly.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
            .unwrap_or_else(|| (self.interval * 4 / 5).min(self.timeout))
            .max(Duration::from_millis(1))
    }
}

const VARIABLES: &str = "SELECT @@version, @@server_id, @@read_only, @@log_bin, @@binlog_format, \
     @@gtid_current_pos, @@gtid_binlog_pos, @@gtid_slave_pos, @@slave_parallel_threads, \
     @@slave_parallel_mode";
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
    let mut schedule = config.tiers.as_ref().map(|t| t.schedule(&target.server));
    let mut poller = Poller::new(target, config);
    let mut last_error: Option<PollError> = None;
    loop {
        let started = Instant::now();
        if let Some(s) = schedule.as_mut() {
            s.polling();
        }
        let result = tokio::select! {
            _ = cancel.cancelled() => break,
            r = poller.cycle() => r,
        };
        let (info, error) = match result {
            Ok(info) => (Some(info), None),
            Err(e) => (None, Some(e)),
        };
        let wait = error.as_ref().map_or(poller.config.interval, |e| {
            e.retry_after(poller.config.interval)
        });
        let relaxed = schedule.as_mut().is_some_and(|s| s.polled(info.as_ref()));
        if info.is_some() {
            poller.last_info = info;
        }
        log_change(&poller.target.server, last_error.as_ref(), error.as_ref());
        last_error.clone_from(&error);
        let snapshot = ServerSnapshot {
            server: poller.target.server.clone(),
            taken_at: Instant::now(),
            wall_time: SystemTime::now(),
            info: poller.last_info.clone(),
            error,
        };
        // Only wake receivers when something other than the time changed; the time is
        // in the channel for whoever reads it (the UI loops do before they draw).
        tx.send_if_modified(|old| {
            let changed = old.info != snapshot.info || old.error != snapshot.error;
            *old = snapshot;
            changed
        });
        if tx.is_closed() {
            break;
        }
        let next = async {
            match schedule.as_mut() {
                Some(s) => s.wait(started, wait, relaxed).await,
                None => tokio::time::sleep_until((started + wait).into()).await,
            }
        };
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = next => {}
        }
    }
    if let Some(c) = poller.conn.take() {
        let _ = tokio::time::timeout(Duration::from_secs(1), c.disconnect()).await;
    }
}

/// Logs a server going away, failing differently, or answering again: the transitions,
/// not every failed cycle.
fn log_change(server: &str, before: Option<&PollError>, now: Option<&PollError>) {
    match (before, now) {
        (_, Some(e)) if before != Some(e) => tracing::warn!(server, "poller: {e}"),
        (Some(was), None) => tracing::info!(server, "poller: answering again (was: {was})"),
        _ => {}
    }
}

/// A connection being made. It may outlive one cycle's connect timeout (the cycle
/// publishes "no answer" and the next one keeps waiting), so a slow network still gets its
/// connection; it is given up after the query timeout.
struct Connecting {
    since: Instant,
    future: BoxFuture<'static, Result<(Conn, Encryption), mysql_async::Error>>,
}

/// One server's poller state: its connection and what the last cycles saw.
struct Poller {
    target: SqlTarget,
    config: SqlPollConfig,
    conn: Option<Conn>,
    /// Whether `conn` is encrypted, read once when it opened.
    encryption: Option<Encryption>,
    connecting: Option<Connecting>,
    last_info: Option<ServerInfo>,
    /// When and how the server closed our connection, while reconnecting has not
    /// succeeded.
    closed: Option<(Instant, String)>,
    /// Polls answered on this connection: semi-sync is read on the first and every
    /// [`super::semisync::EVERY`]th.
    answered: u64,
    /// Semi-sync as last read, published in the cycles that do not read it.
    semi_sync: Box<SemiSync>,
}

impl Poller {
    fn new(target: SqlTarget, config: SqlPollConfig) -> Self {
        Self {
            target,
            config,
            conn: None,
            encryption: None,
            connecting: None,
            last_info: None,
            closed: None,
            answered: 0,
            semi_sync: Box::default(),
        }
    }

    /// One poll; a connection the server closed is replaced at once and polled again.
    async fn cycle(&mut self) -> Result<ServerInfo, PollError> {
        let had_connection = self.conn.is_some();
        let result = match self.attempt().await {
            Err(Failure::Lost(why)) if had_connection => {
                self.closed.get_or_insert((Instant::now(), why));
                self.attempt().await
            }
            other => other,
        };
        match result {
            Ok(info) => {
                self.closed = None;
                Ok(info)
            }
            Err(f) => Err(self.judge(f)),
        }
    }

    /// Turns a failure into what the panes and the gates see. A server that closed our
    /// connection stays "reconnecting" while reconnects merely time out, for at most the
    /// query timeout; if it then refuses connections, it is down.
    fn judge(&mut self, failure: Failure) -> PollError {
        if let Failure::Lost(why) = &failure {
            self.closed
                .get_or_insert_with(|| (Instant::now(), why.clone()));
        }
        let closed = self
            .closed
            .as_ref()
            .filter(|(since, _)| since.elapsed() <= self.config.timeout)
            .map(|(_, why)| why.clone());
        let error = match (failure, closed) {
            (Failure::ConnectTimeout(_) | Failure::Lost(_), Some(why)) => PollError::Closed(why),
            // Closed again and again: still not down.
            (Failure::Lost(why), None) => PollError::Closed(why),
            (Failure::NoConnection(e), _) | (Failure::ConnectTimeout(e), None) => {
                PollError::Unreachable(e)
            }
            (Failure::Other(e), _) => e,
        };
        if !matches!(error, PollError::Closed(_)) {
            self.closed = None;
        }
        error
    }

    async fn attempt(&mut self) -> Result<ServerInfo, Failure> {
        if self.conn.is_none() {
            let (c, encryption) = self.connect().await?;
            self.conn = Some(c);
            self.encryption = Some(encryption);
            self.answered = 0;
        }
        let Some(conn) = self.conn.as_mut() else {
            return Err(Failure::NoConnection("no connection".into()));
        };
        let timeout = self.config.timeout;
        let heartbeat = self.config.heartbeat.as_ref();
        let read_semi_sync = self.answered % super::semisync::EVERY == 0;
        let polled = query(conn, heartbeat, read_semi_sync);
        let result = match tokio::time::timeout(timeout, polled).await {
            Ok(Ok(info)) => {
                self.answered += 1;
                if read_semi_sync {
                    self.semi_sync.clone_from(&info.semi_sync);
                }
                return Ok(ServerInfo {
                    encryption: self.encryption.clone(),
                    semi_sync: self.semi_sync.clone(),
                    ..info
                });
            }
            Ok(Err(e)) => Err(on_open_connection(&e)),
            Err(_) => Err(Failure::Other(PollError::Unreachable(format!(
                "no answer within {timeout:?}"
            )))),
        };
        // A connection that failed is not reused (a query error may leave it mid-result).
        self.conn = None;
        result
    }

    /// Waits for a connection for at most the connect timeout.
    async fn connect(&mut self) -> Result<(Conn, Encryption), Failure> {
        let deadline = self.config.connect_timeout();
        let target = &self.target;
        let pending = self.connecting.get_or_insert_with(|| Connecting {
            since: Instant::now(),
            future: open(target),
        });
        match tokio::time::timeout(deadline, &mut pending.future).await {
            Ok(result) => {
                self.connecting = None;
                result.map_err(|e| on_connect(&e))
            }
            Err(_) => {
                if pending.since.elapsed() >= self.config.timeout {
                    self.connecting = None; // start afresh next cycle
                }
                Err(Failure::ConnectTimeout(format!(
                    "{}:{} did not answer within {deadline:?}",
                    target.host, target.port
                )))
            }
        }
    }
}

/// Connects for a one-off job (an executor's statements); failures as a pane shows them.
pub async fn connect(target: &SqlTarget, timeout: Duration) -> Result<Conn, PollError> {
    match tokio::time::timeout(timeout, open(target)).await {
        Ok(Ok((c, _))) => Ok(c),
        Ok(Err(e)) => Err(match on_connect(&e) {
            Failure::NoConnection(e) | Failure::ConnectTimeout(e) => PollError::Unreachable(e),
            Failure::Lost(e) => PollError::Closed(e),
            Failure::Other(e) => e,
        }),
        Err(_) => Err(PollError::Unreachable(format!(
            "{}:{} did not answer within {timeout:?}",
            target.host, target.port
        ))),
    }
}

/// One poll's worth of facts from an open connection (also `check --connect`'s look);
/// semi-sync only when `semi_sync` (else left unknown, for the caller to fill in).
pub(crate) async fn query(
    conn: &mut Conn,
    heartbeat: Option<&HeartbeatTable>,
    semi_sync: bool,
) -> Result<ServerInfo, mysql_async::Error> {
    // One round trip: semi-sync and the heartbeat read ride in the same batch, the
    // heartbeat last, so that a missing table fails only its own statement.
    let mut batch = format!("{VARIABLES}; {SLAVES}");
    if semi_sync {
        batch.push_str("; ");
        batch.push_str(super::semisync::QUERY);
    }
    if let Some(h) = heartbeat {
        batch.push_str("; ");
        batch.push_str(&h.lag_query());
    }
    let mut result = conn.query_iter(batch).await?;
    let vars: Vec<Row> = result.collect().await?;
    let slaves: Vec<Row> = result.collect().await?;
    let semi_sync = if semi_sync {
        Box::new(SemiSync::from_rows(&result.collect::<Row>().await?))
    } else {
        Box::default()
    };
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
    let settings = [(8, "slave_parallel_threads"), (9, "slave_parallel_mode")]
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
        semi_sync,
        heartbeat_lag,
        encryption: None, // the poller's, filled in by the caller
    })
}

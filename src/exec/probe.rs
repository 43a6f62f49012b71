//! The write-availability probe: while a step marked `probe` runs (by default a MaxScale
//! switchover and the wait after it), write one row through the router every
//! [`INTERVAL`] on a connection of its own, read it back, and reconnect after any error.
//! It never connects to a server directly: what it measures is what clients of the
//! router feel.
//!
//! The live state goes to the driver as [`ExecMsg::Probe`] (on a change, and every
//! [`REPORT_EVERY`] while statements fail); when the step ends, the measurement as a [`ProbeReport`].
//! A statement is unavailable between two successes when a failure, or a stall longer
//! than [`STALL`], lies between them.

use std::time::{Duration, Instant, SystemTime};

use mysql_async::Conn;
use mysql_async::prelude::Queryable;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::exec::spawn::ExecMsg;
use crate::poll::mysql::SqlTarget;
use crate::session::journal::ProbeReport;
use crate::session::mask::Masker;

/// How often it writes.
pub const INTERVAL: Duration = Duration::from_millis(20);
/// A gap between two successful writes longer than this is unavailability even without
/// an error (a router that holds statements during a switchover).
pub const STALL: Duration = Duration::from_millis(200);
/// A statement (or a connection) that takes longer has failed.
const ATTEMPT: Duration = Duration::from_secs(1);
/// How often the live state is sent while statements fail.
const REPORT_EVERY: Duration = Duration::from_millis(250);

/// Where the probe writes: the router, as the inventory's `[probe]` names it.
#[derive(Clone)]
pub struct ProbeTarget {
    /// `server` is the router's `host:port`.
    pub sql: SqlTarget,
    pub database: String,
    pub table: String,
}

impl ProbeTarget {
    pub fn router(&self) -> String {
        format!("{}:{}", self.sql.host, self.sql.port)
    }

    /// Makes the table when it is missing. Looked up first, because `CREATE … IF NOT
    /// EXISTS` is binlogged even when the table exists. A user without CREATE writes to an
    /// existing table; the writes then say what is wrong.
    async fn ensure_table(&self, conn: &mut Conn) -> bool {
        let exists = format!(
            "SELECT COUNT(*) FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = '{}'",
            self.database, self.table
        );
        match tokio::time::timeout(ATTEMPT, conn.query_first::<u64, _>(exists)).await {
            Ok(Ok(Some(n))) if n > 0 => return true,
            Ok(Ok(_)) => {}
            _ => return false,
        }
        for create in self.create_statements() {
            if !matches!(
                tokio::time::timeout(ATTEMPT, conn.query_drop(create)).await,
                Ok(Ok(()))
            ) {
                return false;
            }
        }
        true
    }

    fn create_statements(&self) -> [String; 2] {
        [
            format!("CREATE DATABASE IF NOT EXISTS `{}`", self.database),
            format!(
                "CREATE TABLE IF NOT EXISTS `{}`.`{}` (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, \
             seq BIGINT UNSIGNED NOT NULL, written_at DATETIME(6) NOT NULL) ENGINE=InnoDB",
                self.database, self.table
            ),
        ]
    }

    /// Numbers only are put in the statements: nothing templated becomes code.
    fn write_statement(&self, id: u64, seq: u64) -> String {
        format!(
            "INSERT INTO `{}`.`{}` (id, seq, written_at) VALUES ({id}, {seq}, NOW(6)) \
             ON DUPLICATE KEY UPDATE seq = VALUES(seq), written_at = VALUES(written_at)",
            self.database, self.table
        )
    }

    fn read_statement(&self, id: u64) -> String {
        format!(
            "SELECT seq FROM `{}`.`{}` WHERE id = {id}",
            self.database, self.table
        )
    }
}

/// The probe's state as screens show it.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ProbeStatus {
    pub step: String,
    pub router: String,
    pub writes_ok: u64,
    pub writes_failed: u64,
    /// Since when writes fail (the first failure after the last success).
    pub writes_failing_since: Option<SystemTime>,
    pub reads_failing_since: Option<SystemTime>,
    /// The latest error, masked.
    pub last_error: Option<String>,
}

/// What the driver hears from a probe.
#[derive(Clone, Debug, PartialEq)]
pub enum ProbeMsg {
    Status(ProbeStatus),
    Done(ProbeReport),
}

/// One kind of statement's availability (writes, or reads).
#[derive(Debug)]
struct Availability {
    ok: u64,
    failed: u64,
    last_ok: Option<Instant>,
    failing_since: Option<(Instant, SystemTime)>,
    unavailable: Duration,
}

impl Availability {
    fn new() -> Self {
        Self {
            ok: 0,
            failed: 0,
            last_ok: None,
            failing_since: None,
            unavailable: Duration::ZERO,
        }
    }

    fn succeeded(&mut self, at: Instant, started: Instant) {
        let gap = at.saturating_duration_since(self.last_ok.unwrap_or(started));
        let first = self.last_ok.is_none();
        if self.failing_since.is_some() || (!first && gap > STALL) {
            self.unavailable = self.unavailable.saturating_add(gap);
        }
        self.ok = self.ok.saturating_add(1);
        self.last_ok = Some(at);
        self.failing_since = None;
    }

    fn failed(&mut self, attempt_began: Instant) {
        self.failed = self.failed.saturating_add(1);
        if self.failing_since.is_none() {
            let ago = attempt_began.elapsed();
            let wall = SystemTime::now()
                .checked_sub(ago)
                .unwrap_or(SystemTime::now());
            self.failing_since = Some((attempt_began, wall));
        }
    }

    /// The step ended: a failure that was still going on counts up to now.
    fn close(&mut self, at: Instant, started: Instant) {
        if self.failing_since.is_some() {
            let gap = at.saturating_duration_since(self.last_ok.unwrap_or(started));
            self.unavailable = self.unavailable.saturating_add(gap);
        }
    }
}

/// A running probe's bookkeeping.
struct Probe {
    target: ProbeTarget,
    step: String,
    attempt: u32,
    /// This probe's row.
    id: u64,
    seq: u64,
    conn: Option<Conn>,
    /// The table was found or made.
    table_ready: bool,
    writes: Availability,
    reads: Availability,
    first_error: Option<String>,
    last_error: Option<String>,
    started: Instant,
    masker: std::sync::Arc<Masker>,
}

/// How long a step waits for the probe's first write before it acts anyway.
pub const PATIENCE: Duration = Duration::from_secs(2);

/// Starts a probe for one step attempt; it stops when `cancel` fires and then sends
/// its [`ProbeReport`]. The receiver fires at its first successful write: a step that
/// waits for it (at most [`PATIENCE`]) is measured from a working baseline.
pub fn spawn(
    target: ProbeTarget,
    step: String,
    attempt: u32,
    masker: std::sync::Arc<Masker>,
    tx: mpsc::Sender<ExecMsg>,
    cancel: CancellationToken,
) -> oneshot::Receiver<()> {
    let (ready_tx, ready) = oneshot::channel();
    let mut ready_tx = Some(ready_tx);
    let id = row_id();
    tokio::spawn(async move {
        let mut probe = Probe {
            target,
            step,
            attempt,
            id,
            seq: 0,
            conn: None,
            table_ready: false,
            writes: Availability::new(),
            reads: Availability::new(),
            first_error: None,
            last_error: None,
            started: Instant::now(),
            masker,
        };
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut sent: Option<(Instant, ProbeStatus)> = None;
        loop {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                _ = tick.tick() => {}
            }
            tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                _ = probe.once() => {}
            }
            if probe.writes.ok > 0
                && let Some(ready) = ready_tx.take()
            {
                let _ = ready.send(());
            }
            let status = probe.status();
            // Screens hear of a change at once and, while statements fail, of the count
            // every [`REPORT_EVERY`]; a steady "writes OK" needs no news (each one is a
            // redraw).
            let due = sent.as_ref().is_none_or(|(at, last)| {
                let failing =
                    status.writes_failing_since.is_some() || status.reads_failing_since.is_some();
                (failing && at.elapsed() >= REPORT_EVERY)
                    || last.writes_failing_since.is_some() != status.writes_failing_since.is_some()
                    || last.reads_failing_since.is_some() != status.reads_failing_since.is_some()
            });
            if due {
                let _ = tx.try_send(probe.msg(ProbeMsg::Status(status.clone())));
                sent = Some((Instant::now(), status));
            }
        }
        let report = probe.finish();
        if let Some(conn) = probe.conn.take() {
            let _ = tokio::time::timeout(ATTEMPT, conn.disconnect()).await;
        }
        let _ = tx.send(probe.msg(ProbeMsg::Done(report))).await;
    });
    ready
}

impl Probe {
    /// One write and one read, connecting first when needed.
    async fn once(&mut self) {
        let began = Instant::now();
        if self.conn.is_none() {
            match tokio::time::timeout(ATTEMPT, crate::poll::tls::open(&self.target.sql)).await {
                Ok(Ok((mut conn, _))) => {
                    if !self.table_ready {
                        self.table_ready = self.target.ensure_table(&mut conn).await;
                    }
                    self.conn = Some(conn);
                }
                Ok(Err(e)) => return self.both_failed(began, &said(&e)),
                Err(_) => return self.both_failed(began, "no connection within 1 s"),
            }
        }
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        self.seq = self.seq.saturating_add(1);
        let write = self.target.write_statement(self.id, self.seq);
        match tokio::time::timeout(ATTEMPT, conn.query_drop(write)).await {
            Ok(Ok(())) => self.writes.succeeded(Instant::now(), self.started),
            Ok(Err(e)) => {
                self.writes.failed(began);
                self.error(&said(&e));
                // A server's refusal (read-only) leaves the connection usable; any other
                // error or a timeout does not.
                if !matches!(e, mysql_async::Error::Server(_)) {
                    self.conn = None;
                    return self.reads.failed(began);
                }
            }
            Err(_) => {
                self.writes.failed(began);
                self.error("the write got no answer within 1 s");
                self.conn = None;
                return self.reads.failed(began);
            }
        }
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        let read_began = Instant::now();
        let read = self.target.read_statement(self.id);
        match tokio::time::timeout(ATTEMPT, conn.query_first::<u64, _>(read)).await {
            Ok(Ok(_)) => self.reads.succeeded(Instant::now(), self.started),
            Ok(Err(e)) => {
                self.reads.failed(read_began);
                self.error(&said(&e));
                self.conn = None;
            }
            Err(_) => {
                self.reads.failed(read_began);
                self.error("the read got no answer within 1 s");
                self.conn = None;
            }
        }
    }

    fn both_failed(&mut self, began: Instant, why: &str) {
        self.writes.failed(began);
        self.reads.failed(began);
        self.error(why);
    }

    fn error(&mut self, why: &str) {
        let masked = self.masker.mask(why);
        if self.first_error.is_none() {
            self.first_error = Some(masked.clone());
        }
        self.last_error = Some(masked);
    }

    fn status(&self) -> ProbeStatus {
        ProbeStatus {
            step: self.step.clone(),
            router: self.target.router(),
            writes_ok: self.writes.ok,
            writes_failed: self.writes.failed,
            writes_failing_since: self.writes.failing_since.map(|(_, wall)| wall),
            reads_failing_since: self.reads.failing_since.map(|(_, wall)| wall),
            last_error: self.last_error.clone(),
        }
    }

    fn finish(&mut self) -> ProbeReport {
        let now = Instant::now();
        self.writes.close(now, self.started);
        self.reads.close(now, self.started);
        ProbeReport {
            step: self.step.clone(),
            attempt: self.attempt,
            router: self.target.router(),
            duration_s: now.saturating_duration_since(self.started).as_secs_f64(),
            writes_ok: self.writes.ok,
            writes_failed: self.writes.failed,
            write_unavailable_s: self.writes.unavailable.as_secs_f64(),
            reads_ok: self.reads.ok,
            reads_failed: self.reads.failed,
            read_unavailable_s: self.reads.unavailable.as_secs_f64(),
            first_error: self.first_error.clone(),
        }
    }

    fn msg(&self, msg: ProbeMsg) -> ExecMsg {
        ExecMsg::Probe {
            step: self.step.clone(),
            attempt: self.attempt,
            msg,
        }
    }
}

/// What went wrong, in the server's or the socket's words: mysql_async's own wording
/// says "Input/output error" twice over a socket error.
fn said(e: &mysql_async::Error) -> String {
    match e {
        mysql_async::Error::Server(se) => format!("ERROR {}: {}", se.code, se.message),
        // rustls says why at length (with a URL) when the peer closes without TLS's goodbye.
        mysql_async::Error::Io(mysql_async::IoError::Io(io))
            if io.kind() == std::io::ErrorKind::UnexpectedEof =>
        {
            "connection closed".into()
        }
        mysql_async::Error::Io(mysql_async::IoError::Io(io)) => io.to_string(),
        other => other.to_string(),
    }
}

/// A row of its own per probe: the process id and the time, so that two cockpits (or a
/// rehearsal and a test) never write the same row.
fn row_id() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    (u64::from(std::process::id()) << 32) | u64::from(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_between_two_successes_is_unavailability() {
        let t0 = Instant::now();
        let mut a = Availability::new();
        a.succeeded(t0 + Duration::from_millis(20), t0);
        a.failed(t0 + Duration::from_millis(40));
        a.failed(t0 + Duration::from_millis(60));
        a.succeeded(t0 + Duration::from_millis(1020), t0);
        a.succeeded(t0 + Duration::from_millis(1040), t0);
        assert_eq!(a.unavailable, Duration::from_millis(1000));
        assert_eq!((a.ok, a.failed), (3, 2));
    }

    #[test]
    fn a_stall_without_errors_counts_and_a_steady_beat_does_not() {
        let t0 = Instant::now();
        let mut a = Availability::new();
        for ms in [20, 40, 60, 80] {
            a.succeeded(t0 + Duration::from_millis(ms), t0);
        }
        assert_eq!(a.unavailable, Duration::ZERO);
        a.succeeded(t0 + Duration::from_millis(580), t0);
        assert_eq!(a.unavailable, Duration::from_millis(500));
    }

    #[test]
    fn a_failure_that_lasts_to_the_end_counts_to_the_end() {
        let t0 = Instant::now();
        let mut a = Availability::new();
        a.succeeded(t0 + Duration::from_millis(20), t0);
        a.failed(t0 + Duration::from_millis(40));
        a.close(t0 + Duration::from_millis(820), t0);
        assert_eq!(a.unavailable, Duration::from_millis(800));
    }

    #[test]
    fn statements_hold_numbers_and_quoted_identifiers_only() {
        let t = ProbeTarget {
            sql: SqlTarget {
                server: "router".into(),
                host: "127.0.0.1".into(),
                port: 4006,
                user: "probe".into(),
                password: None,
                tls: Default::default(),
            },
            database: "flightdeck".into(),
            table: "probe".into(),
        };
        assert_eq!(
            t.write_statement(7, 42),
            "INSERT INTO `flightdeck`.`probe` (id, seq, written_at) VALUES (7, 42, NOW(6)) \
             ON DUPLICATE KEY UPDATE seq = VALUES(seq), written_at = VALUES(written_at)"
        );
        assert_eq!(
            t.read_statement(7),
            "SELECT seq FROM `flightdeck`.`probe` WHERE id = 7"
        );
        assert_eq!(t.router(), "127.0.0.1:4006");
    }
}

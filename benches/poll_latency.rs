//! Poll-to-snapshot latency at the default 250 ms SQL interval, against a real 2-server lab.
//!
//! The pollers run as `watch` runs them (one SQL poller per server with the heartbeat read
//! in its batch, and the heartbeat writer on the primary; no MaxScale poller: this lab has
//! no endpoint). The bench makes a change on a server, takes the time when the server has
//! acknowledged it, and waits on the poller's `watch` receiver until a snapshot shows it:
//!
//! - INSERT on the primary: its exact GTID (`@@last_gtid`) in the primary's
//!   `gtid_binlog_pos`, and (same samples) in the replica's `gtid_current_pos`;
//! - `STOP SLAVE SQL_THREAD` / `START SLAVE SQL_THREAD` on the replica: `Slave_SQL_Running`.
//!
//! A random pause between samples keeps them from locking onto the poll phase, so the
//! expected latency is uniform in [0, interval] plus one poll round trip, measured last
//! with the same batch on its own connection.
//!
//! `cargo bench --bench poll_latency` (about two minutes; needs mariadb-server).

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/stats.rs"]
mod stats;

use std::error::Error;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use flightdeck::inventory;
use flightdeck::lab::{Lab, LabOptions};
use flightdeck::poll::heartbeat::{self, HeartbeatTable};
use flightdeck::poll::mysql::{self, SqlPollConfig};
use flightdeck::poll::start::sql_targets;
use flightdeck::poll::{GtidPos, ServerSnapshot};
use mysql_async::Conn;
use mysql_async::prelude::Queryable;
use stats::Samples;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

const INSERTS: usize = 150;
const SQL_THREAD_CYCLES: usize = 100;
const ROUND_TRIPS: usize = 500;
const DEADLINE: Duration = Duration::from_secs(10);

fn main() -> Result<()> {
    // `watch` runs on tokio's default runtime: one worker per core (two here).
    tokio::runtime::Runtime::new()?.block_on(run())
}

async fn run() -> Result<()> {
    let dir = tempfile::tempdir()?;
    eprintln!("starting a 2-server lab in {}", dir.path().display());
    let lab = Lab::up(LabOptions::new(dir.path())).await?.guard();
    let inv = inventory::load_file(lab.inventory_path())?;
    let targets = sql_targets(&inv)?;
    let table = HeartbeatTable::new("app", "heartbeat")?;
    let config = SqlPollConfig {
        heartbeat: Some(table.clone()),
        ..SqlPollConfig::default()
    };
    let cancel = CancellationToken::new();
    let mut rxs: Vec<_> = targets
        .iter()
        .map(|t| mysql::spawn(t.clone(), config.clone(), cancel.child_token()))
        .collect();
    heartbeat::spawn_writer(
        table.clone(),
        targets.clone(),
        rxs.clone(),
        Duration::from_secs(1),
        cancel.child_token(),
    );
    let [primary, replica] = rxs.as_mut_slice() else {
        return Err("the lab should have two servers".into());
    };
    seen(replica, |s| first_replica(s).is_some_and(|r| r.1)).await?;
    seen(primary, |s| s.live().is_some()).await?;
    println!("SQL interval {:?}", config.interval);

    let mut conn = lab.connect("server1", "flightdeck").await?;
    let (on_primary, on_replica) = insert_samples(&mut conn, primary, replica).await?;
    conn.disconnect().await?;

    let mut conn = lab.connect("server2", "flightdeck").await?;
    let (stopped, started) = sql_thread_samples(&mut conn, replica).await?;
    let round_trips = round_trip_samples(&mut conn, &table).await?;
    conn.disconnect().await?;

    let all: Vec<Duration> = [&on_primary, &stopped, &started]
        .into_iter()
        .flatten()
        .copied()
        .collect();
    println!("{}", stats::header());
    for samples in [
        Samples::new("INSERT -> primary snapshot gtid_binlog_pos", on_primary),
        Samples::new("INSERT -> replica snapshot gtid_current_pos", on_replica),
        Samples::new("STOP SLAVE SQL_THREAD -> snapshot", stopped),
        Samples::new("START SLAVE SQL_THREAD -> snapshot", started),
        Samples::new("every change, on the server changed (rows 1, 3, 4)", all),
        Samples::new(
            "poll batch round trip (vars; slaves; heartbeat)",
            round_trips,
        ),
    ] {
        println!("{}", samples.row());
    }

    cancel.cancel();
    lab.down(true).await?;
    Ok(())
}

/// INSERTs on the primary; per sample, the time until the primary's snapshot shows the
/// GTID in `gtid_binlog_pos`, and until the replica's shows it applied.
async fn insert_samples(
    conn: &mut Conn,
    primary: &mut watch::Receiver<ServerSnapshot>,
    replica: &mut watch::Receiver<ServerSnapshot>,
) -> Result<(Vec<Duration>, Vec<Duration>)> {
    let mut rng = Rng::seeded();
    let (mut on_primary, mut on_replica) = (Vec::new(), Vec::new());
    for i in 0..INSERTS {
        tokio::time::sleep(rng.pause()).await;
        conn.query_drop(format!("INSERT INTO app.demo (name) VALUES ('bench-{i}')"))
            .await?;
        let t0 = Instant::now();
        let gtid: Option<String> = conn.query_first("SELECT @@last_gtid").await?;
        let target = GtidPos::parse_lenient(&gtid.unwrap_or_default());
        if target.is_empty() {
            return Err("the INSERT left no @@last_gtid".into());
        }
        let (p, r) = tokio::join!(
            seen(primary, |s| s
                .live()
                .is_some_and(|i| i.gtid_binlog_pos.has_reached(&target))),
            seen(replica, |s| s
                .live()
                .is_some_and(|i| i.gtid_current_pos.has_reached(&target))),
        );
        on_primary.push(p? - t0);
        on_replica.push(r? - t0);
    }
    Ok((on_primary, on_replica))
}

/// Stops and starts the replica's SQL thread; the time until the snapshot shows each.
async fn sql_thread_samples(
    conn: &mut Conn,
    replica: &mut watch::Receiver<ServerSnapshot>,
) -> Result<(Vec<Duration>, Vec<Duration>)> {
    let mut rng = Rng::seeded();
    let (mut stopped, mut started) = (Vec::new(), Vec::new());
    for _ in 0..SQL_THREAD_CYCLES {
        for (statement, running, out) in [
            ("STOP SLAVE SQL_THREAD", false, &mut stopped),
            ("START SLAVE SQL_THREAD", true, &mut started),
        ] {
            tokio::time::sleep(rng.pause()).await;
            conn.query_drop(statement).await?;
            let t0 = Instant::now();
            let at = seen(replica, |s| {
                first_replica(s).is_some_and(|r| r.0 == running)
            })
            .await?;
            out.push(at - t0);
        }
    }
    Ok((stopped, started))
}

/// One poll's round trip: a copy of the SQL poller's batch (src/poll/mysql.rs), timed.
async fn round_trip_samples(conn: &mut Conn, table: &HeartbeatTable) -> Result<Vec<Duration>> {
    let batch = format!(
        "SELECT @@version, @@server_id, @@read_only, @@log_bin, @@binlog_format, \
         @@gtid_current_pos, @@gtid_binlog_pos, @@gtid_slave_pos, @@slave_parallel_threads, \
         @@slave_parallel_mode, @@rpl_semi_sync_master_enabled, @@rpl_semi_sync_slave_enabled; \
         SHOW ALL SLAVES STATUS; {}",
        table.lag_query()
    );
    let mut out = Vec::with_capacity(ROUND_TRIPS);
    for _ in 0..ROUND_TRIPS {
        let t0 = Instant::now();
        let mut result = conn.query_iter(batch.as_str()).await?;
        for _ in 0..3 {
            let _: Vec<mysql_async::Row> = result.collect().await?;
        }
        drop(result);
        out.push(t0.elapsed());
    }
    Ok(out)
}

/// (SQL thread running, IO and SQL both running) of the replica's first connection.
fn first_replica(s: &ServerSnapshot) -> Option<(bool, bool)> {
    let r = s.live()?.replicas.first()?;
    Some((r.sql_running, r.healthy()))
}

/// Waits until the latest snapshot satisfies `check`; returns when it was seen.
async fn seen(
    rx: &mut watch::Receiver<ServerSnapshot>,
    check: impl Fn(&ServerSnapshot) -> bool,
) -> Result<Instant> {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if check(&rx.borrow_and_update()) {
            return Ok(Instant::now());
        }
        tokio::time::timeout_at(deadline, rx.changed()).await??;
    }
}

/// xorshift64: pauses between samples, so that changes land at every phase of the poll.
struct Rng(u64);

impl Rng {
    fn seeded() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.subsec_nanos());
        Self(u64::from(nanos) | 1)
    }

    /// 50 ms plus a uniform 0–250 ms.
    fn pause(&mut self) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        Duration::from_millis(50 + self.0 % 250)
    }
}

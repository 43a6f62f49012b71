//! The SQL pollers against a real lab: what a DBA would see change in the panes.
//! One 2-server lab for the whole file; it is torn down even if a phase panics.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use std::sync::{Arc, Mutex};

use flightdeck::inventory::{self, Secret};
use flightdeck::lab::{Action, Lab, LabOptions};
use flightdeck::poll::heartbeat::{self, HeartbeatTable};
use flightdeck::poll::mysql::{self, SqlPollConfig};
use flightdeck::poll::start::sql_targets;
use flightdeck::poll::{HeartbeatLag, PollError, ServerSnapshot};
use mysql_async::prelude::Queryable;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

const DEADLINE: Duration = Duration::from_secs(60);

/// `file, position, relay_master_log_file, exec_master_log_pos` of a heartbeat row.
type HeartbeatRow = (Option<String>, Option<u64>, Option<String>, Option<u64>);

/// Waits until the latest snapshot satisfies `check`; panics with `what` after the deadline.
async fn until(
    rx: &mut watch::Receiver<ServerSnapshot>,
    what: &str,
    check: impl Fn(&ServerSnapshot) -> bool,
) -> ServerSnapshot {
    let begun = Instant::now();
    loop {
        {
            let snap = rx.borrow_and_update();
            if check(&snap) {
                return snap.clone();
            }
        }
        let left = DEADLINE.saturating_sub(begun.elapsed());
        assert!(!left.is_zero(), "timed out waiting for {what}");
        let _ = tokio::time::timeout(left.min(Duration::from_millis(500)), rx.changed()).await;
    }
}

async fn sql(lab: &Lab, server: &str, statement: &str) {
    let mut conn = lab.connect(server, "flightdeck").await.expect("connect");
    conn.query_drop(statement).await.expect(statement);
    conn.disconnect().await.expect("disconnect");
}

/// `server`'s copy of the heartbeat row of `server_id` (all NULL when there is none).
async fn heartbeat_row(lab: &Lab, server: &str, server_id: u32) -> HeartbeatRow {
    let mut conn = lab.connect(server, "flightdeck").await.expect("connect");
    let row: Option<HeartbeatRow> = conn
        .exec_first(
            "SELECT file, position, relay_master_log_file, exec_master_log_pos \
             FROM app.heartbeat WHERE server_id = ?",
            (server_id,),
        )
        .await
        .expect("the heartbeat row");
    conn.disconnect().await.expect("disconnect");
    row.unwrap_or_default()
}

/// Every error `rx` publishes from now on, until the task is aborted.
fn record_errors(
    mut rx: watch::Receiver<ServerSnapshot>,
) -> (Arc<Mutex<Vec<PollError>>>, tokio::task::JoinHandle<()>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let out = seen.clone();
    let task = tokio::spawn(async move {
        while rx.changed().await.is_ok() {
            let error = rx.borrow_and_update().error.clone();
            if let Some(e) = error {
                out.lock().expect("not poisoned").push(e);
            }
        }
    });
    (seen, task)
}

/// Kills every connection of the pollers' user (`flightdeck_watch`) on `server`, as a
/// server restart or an operator's KILL would; returns how many it killed.
async fn kill_clients(lab: &Lab, server: &str) -> usize {
    let mut conn = lab.connect(server, "flightdeck").await.expect("connect");
    let ids: Vec<u64> = conn
        .query(
            "SELECT ID FROM information_schema.PROCESSLIST \
             WHERE USER = 'flightdeck_watch' AND ID <> CONNECTION_ID()",
        )
        .await
        .expect("processlist");
    for id in &ids {
        // A client may be gone already ("Unknown thread id"): fine.
        let _ = conn.query_drop(format!("KILL CONNECTION {id}")).await;
    }
    conn.disconnect().await.expect("disconnect");
    ids.len()
}

/// The snapshot stays fresh (polled less than a second ago) for `span`.
async fn stays_fresh(rx: &watch::Receiver<ServerSnapshot>, span: Duration) {
    let end = Instant::now() + span;
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let age = rx.borrow().taken_at.elapsed();
        assert!(
            age < Duration::from_secs(1),
            "{} polled {age:?} ago",
            rx.borrow().server
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pollers_follow_a_real_lab() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut lab = Lab::up(LabOptions::new(dir.path()))
        .await
        .expect("lab up")
        .guard();
    let inv = inventory::load_file(lab.inventory_path()).expect("lab inventory is valid");
    let cancel = CancellationToken::new();
    let heartbeat = HeartbeatTable::new("app", "heartbeat").expect("plain names");
    let config = SqlPollConfig {
        heartbeat: Some(heartbeat.clone()),
        ..SqlPollConfig::default()
    };
    let targets = sql_targets(&inv).expect("lab credentials resolve");
    let server1 = targets[0].clone();
    let mut rxs: Vec<_> = targets
        .iter()
        .map(|t| mysql::spawn(t.clone(), config.clone(), cancel.child_token()))
        .collect();
    heartbeat::spawn_writer(
        heartbeat,
        targets,
        rxs.clone(),
        Duration::from_millis(200),
        cancel.child_token(),
    );
    let (primary, replica) = rxs.split_at_mut(1);
    let (primary, replica) = (&mut primary[0], &mut replica[0]);

    // Healthy: the replica's connection has both threads running.
    let snap = until(replica, "healthy replication", |s| {
        s.live()
            .and_then(|i| i.replicas.first())
            .is_some_and(|r| r.healthy())
    })
    .await;
    assert!(snap.live().expect("live").read_only);
    let p = until(primary, "the primary", |s| s.live().is_some()).await;
    assert!(p.live().expect("live").replicas.is_empty());

    // The heartbeat written on the primary is read on the replica as a small lag; the
    // primary reads no heartbeat of another server.
    until(replica, "a heartbeat lag under 5 s", |s| {
        s.live()
            .and_then(|i| i.heartbeat_lag?.behind())
            .is_some_and(|lag| lag < Duration::from_secs(5))
    })
    .await;
    let p = until(primary, "the primary polled again", |s| s.live().is_some()).await;
    assert_eq!(p.live().expect("live").heartbeat_lag, None);

    // The writer fills what pt-heartbeat fills: where the primary's binlog stands, and no
    // relay position (the primary replicates from nobody). The lab's setup wrote only `ts`.
    let begun = Instant::now();
    let (file, position, relay_file, exec_pos) = loop {
        let row = heartbeat_row(&lab, "server2", 1).await;
        if row.0.is_some() || begun.elapsed() > DEADLINE {
            break row;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(file.is_some_and(|f| !f.is_empty()), "file is filled");
    assert!(position.is_some_and(|p| p > 0), "position is filled");
    assert_eq!((relay_file, exec_pos), (None, None));

    // A heartbeat dated an hour ahead (pt-heartbeat writing local time east of UTC, or a
    // clock ahead) is reported as skew, never as 0 lag.
    sql(
        &lab,
        "server1",
        "INSERT INTO app.heartbeat (ts, server_id) VALUES (DATE_FORMAT(UTC_TIMESTAMP(6) \
         + INTERVAL 1 HOUR, '%Y-%m-%dT%H:%i:%s.%f'), 99)",
    )
    .await;
    let s = until(
        replica,
        "the future-dated heartbeat reported as skew",
        |s| {
            s.live()
                .and_then(|i| i.heartbeat_lag)
                .is_some_and(HeartbeatLag::is_skew)
        },
    )
    .await;
    let lag = s.live().and_then(|i| i.heartbeat_lag).expect("a heartbeat");
    let HeartbeatLag::Skew { ahead } = lag else {
        panic!("not skew: {lag:?}");
    };
    assert!(
        ahead > Duration::from_secs(3500) && ahead <= Duration::from_secs(3600),
        "{ahead:?}"
    );
    assert!(lag.describe().contains("--utc"), "{}", lag.describe());
    sql(
        &lab,
        "server1",
        "DELETE FROM app.heartbeat WHERE server_id = 99",
    )
    .await;
    until(replica, "a heartbeat lag again", |s| {
        s.live()
            .and_then(|i| i.heartbeat_lag?.behind())
            .is_some_and(|lag| lag < Duration::from_secs(5))
    })
    .await;

    // Just after a switchover back, a replica that was the primary holds its own newer
    // heartbeat: the new primary's row is older and would read as minutes of lag until its
    // writer's first heartbeat arrives. No heartbeat lag then, not a false one.
    sql(
        &lab,
        "server2",
        "SET SESSION sql_log_bin = 0; INSERT INTO app.heartbeat (ts, server_id) VALUES \
         (DATE_FORMAT(UTC_TIMESTAMP(6) + INTERVAL 1 MINUTE, '%Y-%m-%dT%H:%i:%s.%f'), @@server_id)",
    )
    .await;
    until(
        replica,
        "no heartbeat lag while its own row is newer",
        |s| s.live().is_some_and(|i| i.heartbeat_lag.is_none()),
    )
    .await;
    sql(
        &lab,
        "server2",
        "SET SESSION sql_log_bin = 0; DELETE FROM app.heartbeat WHERE server_id = @@server_id",
    )
    .await;
    until(replica, "a heartbeat lag once its own row is older", |s| {
        s.live()
            .and_then(|i| i.heartbeat_lag?.behind())
            .is_some_and(|lag| lag < Duration::from_secs(5))
    })
    .await;

    // A stopped SQL thread shows as such.
    sql(&lab, "server2", "STOP SLAVE SQL_THREAD").await;
    until(replica, "SQL thread stopped", |s| {
        s.live()
            .and_then(|i| i.replicas.first())
            .is_some_and(|r| !r.sql_running && r.seconds_behind.is_none())
    })
    .await;
    sql(&lab, "server2", "START SLAVE SQL_THREAD").await;

    // A write on the primary advances both GTID positions.
    let before = until(primary, "a GTID position", |s| {
        s.live().is_some_and(|i| !i.gtid_binlog_pos.is_empty())
    })
    .await
    .info
    .expect("info")
    .gtid_binlog_pos;
    sql(
        &lab,
        "server1",
        "INSERT INTO app.demo (name) VALUES ('poll-test')",
    )
    .await;
    let after = until(primary, "the primary's GTID to advance", |s| {
        s.live().is_some_and(|i| i.gtid_binlog_pos != before)
    })
    .await
    .info
    .expect("info")
    .gtid_binlog_pos;
    until(replica, "the replica to apply the write", |s| {
        s.live()
            .is_some_and(|i| i.gtid_current_pos.has_reached(&after))
    })
    .await;

    // The server kills the poller's connection (an operator's KILL; MaxScale's kick of a
    // privileged user at a switchover): the poller reconnects in the same cycle and never
    // publishes an error, let alone "down".
    let (errors, recorder) = record_errors(primary.clone());
    for round in 0..3 {
        let killed_at = Instant::now();
        assert!(
            kill_clients(&lab, "server1").await > 0,
            "the poller was connected"
        );
        until(
            primary,
            &format!("server1 polled after kill {round}"),
            |s| s.taken_at > killed_at + Duration::from_millis(300) && s.live().is_some(),
        )
        .await;
    }
    recorder.abort();
    let errors = errors.lock().expect("not poisoned").clone();
    assert!(
        errors.is_empty(),
        "killed connections were published: {errors:?}"
    );

    // A refused login is told apart from a down server.
    let mut wrong = server1.clone();
    wrong.password = Some(Secret::new("not-the-password"));
    let mut denied = mysql::spawn(wrong, config.clone(), cancel.child_token());
    let s = until(&mut denied, "login refused", |s| {
        matches!(s.error, Some(PollError::AccessDenied(_)))
    })
    .await;
    let e = s.error.expect("error");
    assert_eq!((e.label(), e.server_up()), ("LOGIN REFUSED", None));

    // Nothing listening: down, and tried again every interval, so its row is as fresh as
    // a live one's.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut nowhere = server1.clone();
    nowhere.port = port;
    let mut dead = mysql::spawn(nowhere, config.clone(), cancel.child_token());
    let s = until(&mut dead, "nothing listening is down", |s| {
        matches!(s.error, Some(PollError::Unreachable(_)))
    })
    .await;
    let e = s.error.expect("error");
    assert_eq!((e.label(), e.server_up()), ("DOWN", Some(false)));
    stays_fresh(&dead, Duration::from_secs(2)).await;

    // A killed server is reported down, keeps its last known facts, then recovers.
    lab.ctl("server2", Action::Kill)
        .await
        .expect("kill server2");
    let down = until(replica, "server2 reported down", |s| {
        matches!(s.error, Some(PollError::Unreachable(_)))
    })
    .await;
    assert!(down.live().is_none());
    assert!(down.info.is_some(), "last known facts are kept");
    stays_fresh(replica, Duration::from_secs(2)).await;
    stays_fresh(primary, Duration::from_secs(1)).await;
    lab.ctl("server2", Action::Start)
        .await
        .expect("start server2");
    until(replica, "server2 back and replicating", |s| {
        s.live()
            .and_then(|i| i.replicas.first())
            .is_some_and(|r| r.healthy())
    })
    .await;

    cancel.cancel();
    lab.down(true).await.expect("lab down");
}

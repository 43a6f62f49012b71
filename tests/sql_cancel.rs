//! An SQL step stopped by the operator or by its timeout does not leave its statement
//! running: the executor kills it from a side connection and says so on the `info`
//! stream. Against a real one-server lab, torn down even if a phase panics.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use flightdeck::exec::host::{HostPool, SshOptions};
use flightdeck::exec::job::Job;
use flightdeck::exec::spawn::{ExecMsg, Executors};
use flightdeck::inventory;
use flightdeck::lab::{Lab, LabOptions};
use flightdeck::poll::start::operator_targets;
use flightdeck::session::mask::Masker;
use mysql_async::prelude::Queryable;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const SLEEP: &str = "SELECT SLEEP(60)";
/// Far below the 60 s the statement would run on its own.
const DEADLINE: Duration = Duration::from_secs(20);

/// Processlist ids running `SELECT SLEEP(60)` on the lab's server.
async fn sleepers(lab: &Lab) -> Vec<u64> {
    let mut conn = lab
        .connect("server1", "root")
        .await
        .expect("connect as root");
    let ids: Vec<u64> = conn
        .query(
            "SELECT ID FROM information_schema.PROCESSLIST \
             WHERE INFO LIKE 'SELECT SLEEP(60)%'",
        )
        .await
        .expect("processlist");
    conn.disconnect().await.expect("disconnect");
    ids
}

/// How many `KILL` statements the server has run. A dropped client's `SLEEP` also ends
/// on its own within about 5 s, when the server notices nobody waits for it; this counter
/// tells a kill from that.
async fn kills(lab: &Lab) -> u64 {
    let mut conn = lab
        .connect("server1", "root")
        .await
        .expect("connect as root");
    let row: Option<(String, u64)> = conn
        .query_first("SHOW GLOBAL STATUS LIKE 'Com_kill'")
        .await
        .expect("status");
    conn.disconnect().await.expect("disconnect");
    row.expect("Com_kill is a status variable").1
}

/// Waits until `sleepers` satisfies `done`; panics with `what` after the deadline.
async fn until_sleepers(lab: &Lab, what: &str, done: impl Fn(&[u64]) -> bool) -> Vec<u64> {
    let begun = Instant::now();
    loop {
        let ids = sleepers(lab).await;
        if done(&ids) {
            return ids;
        }
        assert!(begun.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The `info` lines and the outcome (as debug text) of the step, once it finished.
async fn finished(rx: &mut mpsc::Receiver<ExecMsg>, step: &str) -> (Vec<String>, String) {
    let mut info = Vec::new();
    loop {
        let msg = tokio::time::timeout(DEADLINE, rx.recv())
            .await
            .expect("the executor reports within the deadline")
            .expect("the channel stays open");
        match msg {
            ExecMsg::Output {
                step: s,
                stream: "info",
                text,
                ..
            } if s == step => info.push(text),
            ExecMsg::Finished {
                step: s, outcome, ..
            } if s == step => return (info, format!("{outcome:?}")),
            _ => {}
        }
    }
}

fn sleep_job() -> Vec<Job> {
    vec![Job::Sql {
        server: "server1".into(),
        statements: vec![SLEEP.into()],
        shown: vec![SLEEP.into()],
        expect: Vec::new(),
    }]
}

/// The locked-out accounts of `user`, for the phase where no side connection opens.
async fn set_locked(lab: &Lab, user: &str, locked: bool) {
    let mut root = lab
        .connect("server1", "root")
        .await
        .expect("connect as root");
    let hosts: Vec<String> = root
        .exec("SELECT Host FROM mysql.user WHERE User = ?", (user,))
        .await
        .expect("accounts");
    assert!(!hosts.is_empty(), "the lab has {user} accounts");
    let how = if locked { "LOCK" } else { "UNLOCK" };
    for host in hosts {
        root.query_drop(format!("ALTER USER '{user}'@'{host}' ACCOUNT {how}"))
            .await
            .expect("lock or unlock the account");
    }
    root.disconnect().await.expect("disconnect");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_or_timed_out_sql_is_killed_on_the_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut opts = LabOptions::new(dir.path());
    opts.replicas = 0;
    let lab = Lab::up(opts).await.expect("lab up").guard();
    let inv = inventory::load_file(lab.inventory_path()).expect("lab inventory is valid");
    let (tx, mut rx) = mpsc::channel(64);
    let executors = Executors {
        sql: Arc::new(operator_targets(&inv).expect("lab credentials resolve")),
        hosts: HostPool::new(SshOptions::default()),
        maxscale: None,
        inventory: None,
        masker: Arc::new(Masker::new(Vec::<String>::new())),
        tx,
        panic_on: None,
    };

    // Cancelled by the operator once the statement runs.
    let cancel = CancellationToken::new();
    let long = Duration::from_secs(300);
    let before = kills(&lab).await;
    executors.spawn("sleep".into(), 1, sleep_job(), long, cancel.clone());
    let running = until_sleepers(&lab, "the statement to start", |ids| ids.len() == 1).await;
    cancel.cancel();
    let (info, outcome) = finished(&mut rx, "sleep").await;
    assert!(outcome.contains("server1: cancelled"), "{outcome}");
    let said = format!(
        "cancelled: KILL QUERY {} sent on a side connection",
        running[0]
    );
    assert_eq!(info, [said]);
    assert_eq!(kills(&lab).await, before + 1, "one KILL reached the server");
    until_sleepers(&lab, "the cancelled statement to end", <[u64]>::is_empty).await;

    // Stopped by a step timeout of 1 s.
    let before = kills(&lab).await;
    let begun = Instant::now();
    let never = CancellationToken::new();
    executors.spawn("slow".into(), 1, sleep_job(), Duration::from_secs(1), never);
    let (info, outcome) = finished(&mut rx, "slow").await;
    assert!(begun.elapsed() < Duration::from_secs(10), "{outcome}");
    assert!(outcome.contains("server1: timed out after 1s"), "{outcome}");
    assert_eq!(info.len(), 1, "{info:?}");
    assert!(
        info[0].starts_with("timed out after 1s: KILL QUERY ")
            && info[0].ends_with(" sent on a side connection"),
        "{info:?}"
    );
    assert_eq!(kills(&lab).await, before + 1, "one KILL reached the server");
    until_sleepers(&lab, "the timed-out statement to end", <[u64]>::is_empty).await;

    // No side connection (the account was locked meanwhile): the step says so.
    let before = kills(&lab).await;
    let cancel = CancellationToken::new();
    executors.spawn("locked".into(), 1, sleep_job(), long, cancel.clone());
    let running = until_sleepers(&lab, "the statement to start", |ids| ids.len() == 1).await;
    set_locked(&lab, "flightdeck", true).await;
    cancel.cancel();
    let (info, outcome) = finished(&mut rx, "locked").await;
    set_locked(&lab, "flightdeck", false).await;
    assert!(outcome.contains("server1: cancelled"), "{outcome}");
    let id = running[0];
    assert_eq!(info.len(), 1, "{info:?}");
    assert!(
        info[0].starts_with(&format!(
            "cancelled: no side connection to send KILL QUERY {id} ("
        )) && info[0].ends_with("the statement may still be running on the server"),
        "{info:?}"
    );
    assert_eq!(kills(&lab).await, before, "no KILL reached the server");
    let mut root = lab
        .connect("server1", "root")
        .await
        .expect("connect as root");
    // Perhaps gone already ("Unknown thread id"): fine.
    let _ = root.query_drop(format!("KILL QUERY {id}")).await;
    root.disconnect().await.expect("disconnect");

    lab.down(true).await.expect("lab down");
}

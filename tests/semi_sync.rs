//! `lab up --semi-sync` against the pollers and the gates: the primary's semi-sync is in
//! force with a client, a commit is acknowledged, `primary.semi_sync_clients >= 1` holds,
//! and after a switchover the new primary waits for acknowledgements and the old one gives
//! them (both sides are enabled on every server). Its own 2-server lab, on 127.0.0.1.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use flightdeck::inventory;
use flightdeck::lab::mxs::{self, Backend, ServeConfig};
use flightdeck::lab::{Lab, LabOptions};
use flightdeck::maxscale::{CommandResult, MaxscaleClient, MaxscaleConfig};
use flightdeck::poll::ServerSnapshot;
use flightdeck::poll::mysql::{self, SqlPollConfig};
use flightdeck::poll::start::sql_targets;
use flightdeck::runbook::condition::Condition;
use flightdeck::runbook::eval::evaluate;
use flightdeck::runbook::roles::RoleMap;
use flightdeck::session::facts::{LiveFacts, Succeeded};
use mysql_async::prelude::Queryable;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

const DEADLINE: Duration = Duration::from_secs(60);
const MON: &str = "MariaDB-Monitor";

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
        assert!(
            !left.is_zero(),
            "timed out waiting for {what}: {:?}",
            rx.borrow().info.as_ref().map(|i| &i.semi_sync)
        );
        let _ = tokio::time::timeout(left.min(Duration::from_millis(500)), rx.changed()).await;
    }
}

/// Semi-sync in force on the source side, with at least one acknowledging replica.
fn waits_for_acks(s: &ServerSnapshot) -> bool {
    s.live().is_some_and(|i| {
        i.semi_sync.master_enabled == Some(true)
            && i.semi_sync.master_status == Some(true)
            && i.semi_sync.master_clients.is_some_and(|n| n >= 1)
    })
}

fn acknowledges(s: &ServerSnapshot) -> bool {
    s.live()
        .is_some_and(|i| i.semi_sync.slave_status == Some(true) && !i.replicas.is_empty())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_semi_sync_lab_is_seen_and_gated_and_survives_a_switchover() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut opts = LabOptions::new(dir.path().join("lab"));
    opts.semi_sync = true;
    let lab = Lab::up(opts).await.expect("lab up --semi-sync").guard();
    let inv = inventory::load_file(lab.inventory_path()).expect("lab inventory is valid");
    let cancel = CancellationToken::new();
    let targets = sql_targets(&inv).expect("lab credentials resolve");
    let mut rxs: Vec<_> = targets
        .iter()
        .map(|t| mysql::spawn(t.clone(), SqlPollConfig::default(), cancel.child_token()))
        .collect();

    // The primary waits for acknowledgements from one client; the replica gives them.
    let p = until(&mut rxs[0], "server1 in semi-sync", waits_for_acks).await;
    let semi = &p.live().expect("live").semi_sync;
    assert_eq!(semi.master_timeout_ms, Some(2000), "the lab's timeout");
    until(&mut rxs[1], "server2 acknowledging", acknowledges).await;

    // A commit on the primary is acknowledged (counted as a semi-sync transaction).
    let mut conn = lab.connect("server1", "flightdeck").await.expect("connect");
    conn.query_drop("CREATE TABLE IF NOT EXISTS app.semi (id INT PRIMARY KEY)")
        .await
        .expect("create");
    conn.query_drop("INSERT INTO app.semi VALUES (1)")
        .await
        .expect("insert");
    conn.disconnect().await.expect("disconnect");
    until(&mut rxs[0], "an acknowledged commit", |s| {
        waits_for_acks(s)
            && s.live()
                .is_some_and(|i| i.semi_sync.master_yes_tx >= Some(1))
    })
    .await;

    // The gates a runbook would write hold on these snapshots.
    let snaps: Vec<ServerSnapshot> = rxs.iter().map(|rx| rx.borrow().clone()).collect();
    let roles = RoleMap::from_inventory(&inv, &BTreeMap::new());
    let names = BTreeMap::new();
    let succeeded = HashSet::new();
    let facts = LiveFacts {
        servers: &snaps,
        maxscale: None,
        maxscale_names: &names,
        roles: &roles,
        succeeded: Succeeded::Ids(&succeeded),
    };
    for gate in [
        "primary.semi_sync_clients >= 1",
        "primary.semi_sync and replica.semi_sync",
        "not (replica.semi_sync_master) or replica.semi_sync_clients == 0",
    ] {
        let c = Condition::parse(gate, 0..0).expect(gate);
        let e = evaluate(&c, &facts);
        assert!(e.holds, "{gate}: {:?}", e.observed);
    }
    let c = Condition::parse("primary.semi_sync_clients >= 2", 0..0).expect("parses");
    assert!(!evaluate(&c, &facts).holds, "one replica, one client");

    // A switchover by the lab's endpoint: the new primary waits for acknowledgements, the
    // old one gives them, with no change to either server's configuration.
    let servers = lab
        .servers()
        .iter()
        .map(|s| Backend::new(&s.name, &s.host, s.port))
        .collect();
    let mut cfg = ServeConfig::new(
        servers,
        "monitor",
        lab.secret("monitor").expect("monitor secret"),
    );
    cfg.replication_user = Some("repl".to_owned());
    cfg.replication_password = Some(lab.secret("repl").expect("repl secret"));
    cfg.rest_bind = "127.0.0.1:0".parse().expect("addr");
    cfg.monitor_interval = Duration::from_millis(250);
    let endpoint = mxs::spawn(cfg).await.expect("endpoint");
    let client = MaxscaleClient::new(MaxscaleConfig {
        base_url: endpoint.base_url(),
        ..MaxscaleConfig::default()
    })
    .expect("client");
    let begun = Instant::now();
    loop {
        let primary = client
            .servers()
            .await
            .ok()
            .and_then(|s| s.into_iter().find(|s| s.state().raw.contains("Master")));
        if primary.is_some_and(|p| p.id == "server1") {
            break;
        }
        assert!(begun.elapsed() < DEADLINE, "the endpoint never saw server1");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    client
        .switchover(MON, "server2", Some("server1"))
        .await
        .expect("switchover");
    assert_eq!(
        client.fetch_cmd_result(MON).await.expect("fetch"),
        CommandResult::Done("switchover completed successfully.".to_owned())
    );
    // The new primary's commits during the switchover found no replica yet: it fell back
    // to async, and goes back to semi-sync once a replica acknowledges a new commit.
    let fell_back = until(&mut rxs[1], "server2 writable", |s| {
        s.live().is_some_and(|i| !i.read_only)
    })
    .await;
    eprintln!(
        "server2 after the switchover: {:?}",
        fell_back.live().map(|i| &i.semi_sync)
    );
    let mut conn = lab.connect("server2", "flightdeck").await.expect("connect");
    let begun = Instant::now();
    for id in 2.. {
        conn.query_drop(format!("INSERT INTO app.semi VALUES ({id})"))
            .await
            .expect("insert on the new primary");
        if waits_for_acks(&rxs[1].borrow()) {
            break;
        }
        assert!(
            begun.elapsed() < DEADLINE,
            "server2 never back in semi-sync: {:?}",
            rxs[1].borrow().info.as_ref().map(|i| &i.semi_sync)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    conn.disconnect().await.expect("disconnect");
    until(
        &mut rxs[0],
        "server1 acknowledging as a replica",
        acknowledges,
    )
    .await;
    cancel.cancel();
}

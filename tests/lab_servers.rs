//! The lab's real MariaDB servers: one 2-server lab (primary + replica) shared by the phases
//! of one test, because each lab costs seconds. The lab is a `LabGuard`, so it is torn down
//! even if a phase panics.
//!
//! When MariaDB 10.11.18 can be fetched (apt-get download), the lab starts on it and the last
//! phase upgrades the replica in place to the installed build.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use flightdeck::lab::{Action, BuildSpec, Lab, LabError, LabOptions, versions};
use mysql_async::prelude::Queryable;

const OLD: &str = "10.11.18";
const DEADLINE: Duration = Duration::from_secs(120);

/// Polls `check` until it returns true; panics with `what` after `DEADLINE`.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let begun = Instant::now();
    while !check().await {
        assert!(begun.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn insert(lab: &Lab, name: &str) {
    let mut conn = lab
        .connect("server1", "app")
        .await
        .expect("connect to the primary as app");
    conn.exec_drop("INSERT INTO app.demo (name) VALUES (?)", (name,))
        .await
        .expect("insert on the primary");
    conn.disconnect().await.expect("disconnect");
}

async fn replica_has(lab: &Lab, name: &str) -> bool {
    let Ok(mut conn) = lab.connect("server2", "flightdeck").await else {
        return false;
    };
    let n: Option<u64> = conn
        .exec_first("SELECT COUNT(*) FROM app.demo WHERE name = ?", (name,))
        .await
        .unwrap_or(None);
    let _ = conn.disconnect().await;
    n == Some(1)
}

async fn version(lab: &Lab, server: &str) -> String {
    let mut conn = lab.connect(server, "flightdeck").await.expect("connect");
    let v: Option<String> = conn
        .query_first("SELECT VERSION()")
        .await
        .expect("VERSION()");
    conn.disconnect().await.expect("disconnect");
    v.unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_server_lab_replicates_survives_a_crash_and_upgrades_in_place() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let old = match versions::resolve(&BuildSpec::Version(OLD.into()), &|m| eprintln!("{m}")).await
    {
        Ok(build) if !build.installed => Some(build),
        Ok(_) => {
            eprintln!("SKIP upgrade phase: the installed MariaDB is {OLD} itself");
            None
        }
        Err(e) => {
            eprintln!("SKIP upgrade phase: MariaDB {OLD} cannot be fetched here: {e}");
            None
        }
    };
    let mut opts = LabOptions::new(tmp.path().join("lab"));
    opts.quiet = false;
    if let Some(build) = &old {
        opts.from = BuildSpec::Version(build.version.clone());
    }
    let begun = Instant::now();
    let mut lab = Lab::up(opts.clone()).await.expect("lab up").guard();
    eprintln!("lab up took {:.1}s", begun.elapsed().as_secs_f64());

    // The lab is what it says it is.
    assert_eq!(lab.servers().len(), 2);
    let inventory: toml::Table = std::fs::read_to_string(lab.inventory_path())
        .expect("inventory.toml")
        .parse()
        .expect("inventory is TOML");
    let servers = inventory["server"].as_array().expect("[[server]]");
    assert_eq!(servers[0]["role"].as_str(), Some("primary"));
    assert_eq!(
        servers[1]["mysql"]["port"].as_integer(),
        Some(i64::from(lab.servers()[1].port))
    );
    let status = lab.status().await;
    assert!(status.iter().all(|s| s.up), "{status:?}");
    assert_eq!(status[1].role, "replica");
    assert_eq!(status[1].read_only, Some(true));

    // A second `up` on a running lab refuses.
    let again = Lab::up(opts.clone()).await;
    assert!(
        matches!(again, Err(LabError::AlreadyRunning { .. })),
        "{again:?}"
    );

    // Phase 1: a row written on the primary shows up on the replica.
    assert!(
        replica_has(&lab, "alpha").await,
        "the demo rows replicated during setup"
    );
    insert(&lab, "phase-1").await;
    eventually("phase-1 on the replica", || replica_has(&lab, "phase-1")).await;

    // Phase 2: the replica crashes; rows written meanwhile arrive once it is back.
    let killed = lab.ctl("server2", Action::Kill).await.expect("kill");
    assert!(killed.contains("killed"), "{killed}");
    assert_eq!(lab.running_pid("server2").expect("server2"), None);
    insert(&lab, "while-down").await;
    lab.ctl("server2", Action::Start)
        .await
        .expect("start after the crash");
    eventually("while-down on the replica", || {
        replica_has(&lab, "while-down")
    })
    .await;
    lab.wait_caught_up("server2", DEADLINE)
        .await
        .expect("caught up");
    let status = lab.status().await;
    let repl = status[1]
        .replication
        .as_ref()
        .expect("server2 still replicates");
    assert!(repl.running(), "{repl:?}");

    // Phase 3: in-place upgrade of the replica to the installed build.
    if old.is_some() {
        let before = version(&lab, "server2").await;
        assert!(before.starts_with(OLD), "{before}");
        let begun = Instant::now();
        let said = lab
            .ctl("server2", Action::Upgrade { to: None })
            .await
            .expect("upgrade");
        eprintln!("{said} (ctl took {:.1}s)", begun.elapsed().as_secs_f64());
        let after = version(&lab, "server2").await;
        let installed = versions::installed().await.expect("installed build");
        assert!(after.starts_with(&installed.version), "{before} → {after}");
        assert_ne!(before, after);
        assert_eq!(
            lab.server("server2").expect("server2").version.as_deref(),
            Some(after.as_str())
        );
        insert(&lab, "after-upgrade").await;
        eventually("after-upgrade on the replica", || {
            replica_has(&lab, "after-upgrade")
        })
        .await;
    }

    lab.down(false).await.expect("lab down");
}

#[tokio::test]
async fn a_tree_without_mariadbd_is_refused_before_anything_starts() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut opts = LabOptions::new(tmp.path().join("lab"));
    opts.from = BuildSpec::Path(tmp.path().to_path_buf());
    let err = Lab::up(opts).await.expect_err("no build there");
    assert!(matches!(err, LabError::BuildMissing { .. }), "{err}");
    assert!(!tmp.path().join("lab/lab.json").exists());
}

//! A server that stops answering without closing anything (SIGSTOP: the kernel still
//! accepts connections, nothing replies) through the pollers `watch` and the cockpit start
//! (`poll::start::start`): the other server's snapshots stay fresh, and the stopped one
//! turns into a timeout error that keeps being republished, not a hang.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use flightdeck::inventory;
use flightdeck::lab::{Lab, LabOptions};
use flightdeck::poll::start::{PollIntervals, start};
use flightdeck::poll::{PollError, ServerSnapshot};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Generous: how long a lab may take to reach a state (never a property under test).
const DEADLINE: Duration = Duration::from_secs(60);
/// The property under test: a server polled every 250 ms is never older than this.
const FRESH: Duration = Duration::from_secs(1);

/// A SIGSTOPped process, sent SIGCONT when dropped (also when a phase panics), so the lab
/// can be torn down.
struct Stopped(Pid);

impl Stopped {
    fn new(pid: u32) -> Self {
        let pid = Pid::from_raw(i32::try_from(pid).expect("a pid"));
        kill(pid, Signal::SIGSTOP).expect("SIGSTOP");
        Stopped(pid)
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = kill(self.0, Signal::SIGCONT);
    }
}

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
        assert!(begun.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_times_out_and_the_other_stays_fresh() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lab = Lab::up(LabOptions::new(dir.path()))
        .await
        .expect("lab up")
        .guard();
    let inv = inventory::load_file(lab.inventory_path()).expect("lab inventory");
    let cancel = CancellationToken::new();
    let pollers = start(&inv, PollIntervals::default(), &cancel).expect("pollers start");
    let [primary, replica] = &pollers.servers[..] else {
        panic!("two servers");
    };
    let (mut primary, mut replica) = (primary.clone(), replica.clone());
    until(&mut primary, "server1 live", |s| s.live().is_some()).await;
    until(&mut replica, "server2 live", |s| s.live().is_some()).await;

    // Stop the primary (the heartbeat writer's server, too): it answers nothing.
    let pid = lab
        .running_pid("server1")
        .expect("server1")
        .expect("server1 runs");
    let stopped = Stopped::new(pid);
    let stalled = until(&mut primary, "server1 timed out", |s| s.error.is_some()).await;
    let error = stalled.error.clone().expect("an error");
    assert!(
        matches!(&error, PollError::Unreachable(why) if why.contains("within")),
        "a timeout: {error:?}"
    );
    assert_eq!(error.label(), "DOWN");
    assert!(stalled.live().is_none() && stalled.info.is_some());

    // For several seconds: server2 polled less than a second ago at every look, and server1
    // republished again and again (a timeout each time, not one poll hanging).
    let end = Instant::now() + Duration::from_secs(5);
    let mut republished = 0;
    let mut last = stalled.taken_at;
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let age = replica.borrow().taken_at.elapsed();
        assert!(
            age < FRESH,
            "server2 polled {age:?} ago while server1 is stopped"
        );
        assert!(replica.borrow().live().is_some(), "server2 stays live");
        let s1 = primary.borrow().clone();
        assert!(s1.error.is_some(), "server1 stays failed: {s1:?}");
        if s1.taken_at > last {
            republished += 1;
            last = s1.taken_at;
        }
    }
    assert!(republished >= 2, "server1 republished {republished} times");

    drop(stopped); // SIGCONT
    until(&mut primary, "server1 live again", |s| s.live().is_some()).await;
    cancel.cancel();
    lab.down(true).await.expect("lab down");
}

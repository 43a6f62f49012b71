//! flightdeck costs no write downtime of its own at a switchover. mariadbmon kicks every
//! client holding READ_ONLY ADMIN (or SUPER) off the old primary and then blocks writes for
//! another 500 ms; the lab's endpoint does the same. The session's pollers log in as the
//! monitoring user (no SUPER, READ_ONLY ADMIN or CONNECTION ADMIN) and `sql` steps connect
//! as the operator only while they run, so while a switchover is pending the old primary
//! has no privileged connection of flightdeck's, and the endpoint finds nothing to kick.
//! A privileged connection held open by hand is kicked, and the endpoint's log says so.
//! A switchover MaxScale refuses is journaled `failed` with MaxScale's words (which end in
//! "Switchover cancelled."), never `cancelled`: only the operator cancels.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use flightdeck::inventory;
use flightdeck::lab::{Lab, LabOptions};
use flightdeck::poll::start::PollIntervals;
use flightdeck::runbook;
use flightdeck::session::driver::{Driver, Inputs};
use flightdeck::session::journal::{Event, Outcome};
use flightdeck::session::replay::replay;
use flightdeck::session::run::{Command, StepState};
use mysql_async::prelude::Queryable;
use tokio_util::sync::CancellationToken;

const DEADLINE: Duration = Duration::from_secs(120);

const RUNBOOK: &str = r#"
[runbook]
name = "switchover-privileges"

[[phase]]
id = "p"
title = "switch over and back"

[[phase.step]]
id = "touch"
title = "An sql step on the primary: the operator connects and disconnects"
kind = "sql"
target = "server1"
sql = "SELECT 1"

[[phase.step]]
id = "switch"
title = "Switch writes over to server2"
kind = "maxscale"
action = "switchover"
new_primary = "server2"
old_primary = "server1"
timeout = "1m"

[[phase.step]]
id = "switch-back"
title = "Switch writes back to server1"
kind = "maxscale"
action = "switchover"
new_primary = "server1"
old_primary = "server2"
timeout = "1m"

[[phase.step]]
id = "refused"
title = "A switchover MaxScale refuses: server1 is the primary already"
kind = "maxscale"
action = "switchover"
new_primary = "server1"
old_primary = "server2"
timeout = "1m"
"#;

/// What the endpoint's monitor sees as privileged: users whose global privileges hold
/// READ_ONLY ADMIN (bit 33) or SUPER (bit 15), the mask mariadbmon uses before 10.11.
const PRIVILEGED: &str = "SELECT DISTINCT P.ID, P.USER FROM information_schema.PROCESSLIST AS P \
     JOIN (SELECT User FROM mysql.global_priv \
           WHERE CAST(JSON_VALUE(Priv, '$.access') AS UNSIGNED) & ((1 << 33) | (1 << 15)) <> 0) \
     AS U ON U.User = P.USER \
     WHERE P.ID <> CONNECTION_ID() AND P.USER NOT IN ('monitor', 'system user') \
     AND P.COMMAND NOT LIKE 'Binlog Dump%'";

/// What a watcher on one server saw while it looked.
#[derive(Default)]
struct Seen {
    /// Every client user with a connection (the pollers' among them).
    users: BTreeSet<String>,
    /// Privileged connections: (id, user).
    privileged: BTreeSet<(u64, String)>,
}

/// Reads `server`'s PROCESSLIST every 20 ms until `stop`, as the lab's `monitor` user: the
/// user the endpoint's switchover never kicks, so looking changes nothing.
fn watch_processlist(lab: &Lab, server: &str, stop: CancellationToken) -> Arc<Mutex<Seen>> {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let (s, pw) = (
        lab.server(server).expect("server").clone(),
        lab.secret("monitor").expect("secret"),
    );
    let out = seen.clone();
    tokio::spawn(async move {
        let opts = mysql_async::OptsBuilder::default()
            .ip_or_hostname(s.host.clone())
            .tcp_port(s.port)
            .prefer_socket(false)
            .user(Some("monitor"))
            .pass(Some(pw));
        let mut conn = mysql_async::Conn::new(opts)
            .await
            .expect("monitor connects");
        while !stop.is_cancelled() {
            let users: Vec<String> = conn
                .query(
                    "SELECT USER FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID()",
                )
                .await
                .expect("processlist");
            let privileged: Vec<(u64, String)> = conn.query(PRIVILEGED).await.expect("grants");
            {
                let mut seen = out.lock().unwrap();
                seen.users.extend(users);
                seen.privileged.extend(privileged);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    seen
}

/// Feeds the driver until `done` holds.
async fn pump(d: &mut Driver, inputs: &mut Inputs, what: &str, done: impl Fn(&Driver) -> bool) {
    let begun = Instant::now();
    while !done(d) {
        assert!(begun.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::select! {
            Some(e) = inputs.exec_rx.recv() => d.exec(e, Instant::now()).expect("journal"),
            _ = tokio::time::sleep(Duration::from_millis(100)) => {
                d.refresh(&inputs.pollers, Instant::now()).expect("journal");
                d.tick(Instant::now()).expect("journal");
            }
        }
    }
}

/// Runs step `id` once it may run, and waits for it to succeed.
async fn run_step(d: &mut Driver, inputs: &mut Inputs, id: &str) {
    let state = finish_step(d, inputs, id).await;
    assert!(
        matches!(state, StepState::Succeeded { .. }),
        "{id}: {state:?}\noutput: {:?}",
        d.core.output.get(id)
    );
}

/// Runs step `id` once it may run, and waits for it to end, however it ends.
async fn finish_step(d: &mut Driver, inputs: &mut Inputs, id: &str) -> StepState {
    pump(d, inputs, &format!("{id} to be runnable"), |d| {
        let s = d.core.run.runbook.step(id).expect("step");
        d.core.may_run(s).is_ok()
    })
    .await;
    let cmd = Command::Run {
        step: id.to_owned(),
        typed: None,
        justification: None,
    };
    d.command(cmd, Instant::now())
        .expect("the command is taken");
    pump(d, inputs, &format!("{id} to finish"), |d| {
        !matches!(
            d.core.run.state(id),
            StepState::Running { .. } | StepState::Pending
        )
    })
    .await;
    d.core.run.state(id).clone()
}

/// The endpoint's log lines that say it kicked privileged users out.
fn kicks(lab: &Lab) -> Vec<String> {
    std::fs::read_to_string(&lab.state().endpoint.log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("Kicking them out"))
        .map(str::to_owned)
        .collect()
}

/// `user`'s global grants on `server`, as one line each.
async fn grants(lab: &Lab, server: &str, user: &str) -> Vec<String> {
    let mut root = lab.connect(server, "root").await.expect("root");
    let rows: Vec<String> = root
        .query(format!("SHOW GRANTS FOR '{user}'@'127.0.0.1'"))
        .await
        .expect("grants");
    root.disconnect().await.expect("disconnect");
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_switchover_finds_no_privileged_connection_of_flightdeck_on_the_old_primary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_flightdeck"));
    let mut opts = LabOptions::new(dir.path().join("lab"));
    opts.serve_exe = Some(exe.clone());
    opts.flightdeck_exe = Some(exe);
    let lab = Lab::up(opts).await.expect("lab up").guard();

    // The pollers' user holds monitoring grants only; the operator's holds everything.
    let watch = grants(&lab, "server1", "flightdeck_watch").await.join("\n");
    for privilege in [
        "ALL PRIVILEGES",
        "SUPER",
        "READ_ONLY ADMIN",
        "CONNECTION ADMIN",
    ] {
        assert!(!watch.contains(privilege), "{privilege} in {watch}");
    }
    assert!(
        watch.contains("SLAVE MONITOR") && watch.contains("BINLOG MONITOR"),
        "{watch}"
    );
    let operator = grants(&lab, "server1", "flightdeck").await.join("\n");
    assert!(operator.contains("ALL PRIVILEGES"), "{operator}");

    let inv = inventory::load_file(lab.inventory_path()).expect("lab inventory");
    let path = dir.path().join("runbook.toml");
    std::fs::write(&path, RUNBOOK).expect("write runbook");
    let loaded = runbook::load_checked(&path, Some(&inv)).expect("runbook is valid");
    let journal = dir.path().join("switch.jsonl");
    let (mut d, mut inputs) = Driver::open(loaded, inv, &journal, PollIntervals::default())
        .await
        .expect("session opens");
    run_step(&mut d, &mut inputs, "touch").await;

    // Server1 while the switchover runs: the pollers (and the heartbeat writer) are there,
    // nothing of flightdeck's is privileged, and the endpoint kicks nobody.
    let stop = CancellationToken::new();
    let seen = watch_processlist(&lab, "server1", stop.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;
    run_step(&mut d, &mut inputs, "switch").await;
    stop.cancel();
    {
        let seen = seen.lock().unwrap();
        assert!(
            seen.privileged.is_empty(),
            "privileged connections on the old primary: {:?}",
            seen.privileged
        );
        assert!(
            seen.users.contains("flightdeck_watch"),
            "the pollers were connected: {:?}",
            seen.users
        );
    }
    assert_eq!(
        kicks(&lab),
        Vec::<String>::new(),
        "the endpoint kicked nobody"
    );

    // A privileged client on the old primary (now server2) is kicked out, as MaxScale does.
    let mut held = lab
        .connect("server2", "flightdeck")
        .await
        .expect("operator");
    let id: Option<u64> = held
        .query_first("SELECT CONNECTION_ID()")
        .await
        .expect("id");
    let stop = CancellationToken::new();
    let seen = watch_processlist(&lab, "server2", stop.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;
    run_step(&mut d, &mut inputs, "switch-back").await;
    stop.cancel();
    let id = id.expect("a connection id");
    assert!(
        seen.lock()
            .unwrap()
            .privileged
            .contains(&(id, "flightdeck".to_owned())),
        "the watcher saw the held connection"
    );
    assert!(
        held.query_drop("SELECT 1").await.is_err(),
        "the held operator connection was killed"
    );
    let kicked = kicks(&lab);
    assert_eq!(kicked.len(), 1, "{kicked:?}");
    assert!(
        kicked[0].contains("Detected 1 super or read_only admin users logged in on server2"),
        "{kicked:?}"
    );

    // Refused: failed, with MaxScale's words, in the run and in the journal.
    let state = finish_step(&mut d, &mut inputs, "refused").await;
    assert!(matches!(state, StepState::Failed { .. }), "{state:?}");
    d.finish("switchover privileges checked").await;
    let r = replay(&journal).expect("the journal replays");
    let end = r
        .events
        .iter()
        .find_map(|rec| match &rec.event {
            Event::StepEnd {
                step,
                outcome,
                detail,
                ..
            } if step == "refused" => Some((*outcome, detail.clone())),
            _ => None,
        })
        .expect("the refused step ended");
    assert_eq!(end.0, Outcome::Failed, "{end:?}");
    let detail = end.1;
    assert!(
        detail.contains("'server1' is not a valid promotion target for switchover because it is already the primary")
            && detail.contains("Switchover cancelled."),
        "{detail}"
    );
}

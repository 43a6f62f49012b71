//! `flightdeck watch` has no runbook and opens no session, yet its panes show server error
//! texts that can quote a password (a replica's `Last_SQL_Error` quoting the statement that
//! failed, a server echoing a statement `near '…'`). Starting its pollers teaches the
//! process the inventory's secrets, so those texts reach the screen masked.
//!
//! Its own test binary: what a process has learned of secrets is process-wide.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use flightdeck::inventory;
use flightdeck::poll::start::PollIntervals;
use flightdeck::poll::{IoState, PollError, ServerSnapshot};
use flightdeck::tui::dashboard::Dashboard;
use flightdeck::tui::theme::Theme;
use flightdeck::tui::watch::{Msg, WatchApp, view};
use flightdeck::tui::watch_loop::start_pollers;
use tokio_util::sync::CancellationToken;

mod common;

use common::dash;

/// The replication password (in the inventory's `[secrets]`) and the monitoring login's.
const REPL_PW: &str = "Repl7Hq2xWv9NcT4";
const MYSQL_PW: &str = "Mon3Jd8kPz6LsQ1e";

fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
}

/// A primary, a replica whose SQL thread stopped on a statement quoting `REPL_PW`, and a
/// replica whose last poll failed with an error quoting `MYSQL_PW`.
fn broken_replicas() -> Dashboard {
    let now = Instant::now();
    let mut replica = dash::replica("0-1-100", None);
    if let Some(r) = replica.replicas.first_mut() {
        r.io = IoState::Yes;
        r.sql_running = false;
        r.last_sql_errno = 1396;
        r.last_sql_error = format!(
            "Error 'Operation CREATE USER failed' on query. Query: 'CREATE USER r IDENTIFIED BY '{REPL_PW}''"
        );
    }
    let mut failed = dash::snapshot("db3", now, dash::replica("0-1-100", Some(0)));
    failed.error = Some(PollError::Query(format!(
        "You have an error in your SQL syntax near 'SET PASSWORD = PASSWORD('{MYSQL_PW}')' at line 1 (1064)"
    )));
    let servers = vec![
        dash::snapshot("db1", now, dash::primary("0-1-100")),
        dash::snapshot("db2", now, replica),
        failed,
    ];
    let names: Vec<(String, String)> = servers
        .iter()
        .map(|s: &ServerSnapshot| (s.server.clone(), s.server.clone()))
        .collect();
    let mut d = Dashboard::new(&names, Duration::from_secs(3), Duration::from_secs(1));
    for s in servers {
        d.apply_server(s);
    }
    d
}

fn screen(d: Dashboard) -> String {
    let mut app = WatchApp::new(d);
    app.update(Msg::Resize(160, 48));
    common::draw(160, 48, |f| view(&app, f, Instant::now(), &Theme::PLAIN))
}

#[tokio::test]
async fn watch_masks_the_inventory_secrets_in_server_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_private(&dir.path().join("repl_pw"), REPL_PW);
    write_private(&dir.path().join("mysql_pw"), MYSQL_PW);
    let path = dir.path().join("inventory.toml");
    std::fs::write(
        &path,
        "[mysql]\npassword = { file = \"mysql_pw\" }\n\n\
         [secrets]\nrepl_password = { file = \"repl_pw\" }\n\n\
         [[server]]\nname = \"db1\"\nrole = \"primary\"\n\
         mysql = { host = \"127.0.0.1\", port = 1 }\ntransport = \"local\"\n\n\
         [[server]]\nname = \"db2\"\nrole = \"replica\"\n\
         mysql = { host = \"127.0.0.1\", port = 1 }\ntransport = \"local\"\n",
    )
    .expect("write inventory");
    let inv = inventory::load_file(&path).expect("valid inventory");

    // Before watch starts, the process knows no secret: the errors reach the screen whole
    // (so the texts below are on screen, and masking is what hides them).
    let before = screen(broken_replicas());
    assert!(
        before.contains(REPL_PW) && before.contains(MYSQL_PW),
        "{before}"
    );

    let cancel = CancellationToken::new();
    let _pollers =
        start_pollers(&inv, PollIntervals::default(), None, &cancel).expect("pollers start");
    let after = screen(broken_replicas());
    cancel.cancel();
    assert!(
        !after.contains(REPL_PW) && !after.contains(MYSQL_PW),
        "{after}"
    );
    assert!(after.contains("****"), "{after}");
    assert!(after.contains("CREATE USER failed"), "{after}");
}

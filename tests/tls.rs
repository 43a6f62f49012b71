//! TLS against real servers (issue 11, item 5): a `lab up --tls` lab, whose inventory
//! verifies every server and the endpoint against the lab CA, and a plain lab for what
//! `preferred` and `disabled` do without TLS. One lab of each kind for the whole file.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use flightdeck::exec::sql::{self, SqlError};
use flightdeck::inventory::{self, MysqlTls, TlsMode};
use flightdeck::lab::tls::Authority;
use flightdeck::lab::{Lab, LabOptions, mxs, serve};
use flightdeck::maxscale::{MaxscaleClient, MaxscaleConfig, MaxscaleError};
use flightdeck::poll::mysql::{self, SqlPollConfig, SqlTarget};
use flightdeck::poll::start::sql_targets;
use flightdeck::poll::{Encryption, PollError, ServerSnapshot};
use mysql_async::prelude::Queryable;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

mod common;

const DEADLINE: Duration = Duration::from_secs(60);

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
        assert!(
            !left.is_zero(),
            "timed out waiting for {what}: {:?}",
            rx.borrow()
        );
        let _ = tokio::time::timeout(left.min(Duration::from_millis(500)), rx.changed()).await;
    }
}

/// Polls `target` until its snapshot satisfies `check`.
async fn polled(
    target: &SqlTarget,
    what: &str,
    check: impl Fn(&ServerSnapshot) -> bool,
) -> ServerSnapshot {
    let cancel = CancellationToken::new();
    let mut rx = mysql::spawn(target.clone(), SqlPollConfig::default(), cancel.clone());
    let snap = until(&mut rx, what, check).await;
    cancel.cancel();
    snap
}

/// One statement as a `sql` step runs it.
async fn step(target: &SqlTarget) -> Result<sql::ResultTable, SqlError> {
    let statements = ["SELECT 1".to_string()];
    sql::run(
        target,
        &statements,
        Duration::from_secs(30),
        &CancellationToken::new(),
    )
    .await
}

fn with_tls(target: &SqlTarget, mode: TlsMode, ca: Option<&Path>) -> SqlTarget {
    SqlTarget {
        tls: MysqlTls {
            mode,
            ca_file: ca.map(Path::to_path_buf),
        },
        ..target.clone()
    }
}

fn encryption(snap: &ServerSnapshot) -> Option<Encryption> {
    snap.live().and_then(|i| i.encryption.clone())
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("written");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_lab_is_verified_and_refuses_the_wrong_ca_and_host_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut opts = LabOptions::new(dir.path().join("lab"));
    opts.tls = true;
    let lab = Lab::up(opts).await.expect("lab up --tls").guard();
    let inv = inventory::load_file(lab.inventory_path()).expect("the lab inventory is valid");
    let targets = sql_targets(&inv).expect("credentials");
    let server1 = &targets[0];
    assert_eq!(server1.tls.mode, TlsMode::VerifyIdentity);
    let lab_ca = server1.tls.ca_file.clone().expect("the lab CA");

    // verify_identity: the poller and a step connect, and the pane knows it is TLS.
    let snap = polled(server1, "a verified TLS poll", |s| encryption(s).is_some()).await;
    assert!(
        matches!(encryption(&snap), Some(Encryption::Tls { ref cipher }) if !cipher.is_empty()),
        "{snap:?}"
    );
    step(server1).await.expect("a sql step over verified TLS");

    // The endpoint over https, verified with ca_file (added to the system roots).
    let mut cfg = serve::serve_config(lab.state()).expect("endpoint config");
    cfg.rest_bind = SocketAddr::from(([127, 0, 0, 1], 0));
    cfg.router_bind = None;
    cfg.journal = None;
    let endpoint = mxs::spawn(cfg).await.expect("https endpoint");
    let base_url = endpoint.base_url();
    assert!(base_url.starts_with("https://"), "{base_url}");
    let client = |ca_file: Option<PathBuf>| {
        MaxscaleClient::new(MaxscaleConfig {
            base_url: base_url.clone(),
            password: lab
                .state()
                .secret(flightdeck::lab::secrets::MAXSCALE_ADMIN)
                .expect("admin password"),
            ca_file,
            ..MaxscaleConfig::default()
        })
        .expect("client")
    };
    let servers = client(Some(lab_ca.clone()))
        .servers()
        .await
        .expect("servers over verified https");
    assert_eq!(servers.len(), 2);
    // The system roots alone do not know the lab CA: refused, and said why.
    match client(None).servers().await {
        Err(e @ MaxscaleError::Tls { .. }) => {
            assert!(e.to_string().contains("not signed by a trusted CA"), "{e}")
        }
        other => panic!("expected a TLS error, got {other:?}"),
    }

    // A second, unrelated CA: the poller's pane, a step and the endpoint all refuse.
    let other = Authority::generate("an unrelated CA").expect("CA");
    let other_ca = write(dir.path(), "other-ca.pem", &other.cert_pem);
    let wrong = with_tls(server1, TlsMode::VerifyIdentity, Some(&other_ca));
    let snap = polled(&wrong, "a refused certificate", |s| s.error.is_some()).await;
    match &snap.error {
        Some(e @ PollError::Tls(_)) => {
            assert_eq!(e.label(), "TLS FAILED");
            assert!(e.detail().contains("not signed by a trusted CA"), "{e}");
        }
        other => panic!("expected a TLS error, got {other:?}"),
    }
    let failed = step(&wrong).await.expect_err("a step with the wrong CA");
    assert!(
        failed.to_string().contains("not signed by a trusted CA"),
        "{failed}"
    );
    let wrong_ca = client(Some(other_ca.clone())).servers().await;
    assert!(
        matches!(wrong_ca, Err(MaxscaleError::Tls { .. })),
        "{wrong_ca:?}"
    );
    endpoint.shutdown().await.expect("endpoint stops");

    // A certificate for another name: server2 reloads one for db.example (its own CA);
    // connected to as 127.0.0.1, verify_identity refuses it and verify_ca accepts it.
    let named = Authority::generate("another CA").expect("CA");
    let issued = named.issue(&["db.example"]).expect("certificate");
    let named_ca = write(dir.path(), "named-ca.pem", &named.cert_pem);
    let cert = write(dir.path(), "db.example.pem", &issued.cert_pem);
    let key = write(dir.path(), "db.example-key.pem", &issued.key_pem);
    // The lab's servers share one certificate file: server2 alone reloads it (FLUSH SSL).
    let files = lab.state().tls.clone().expect("lab TLS files");
    std::fs::copy(&cert, &files.cert).expect("cert");
    std::fs::copy(&key, &files.key).expect("key");
    let mut conn = lab.connect("server2", "flightdeck").await.expect("connect");
    conn.query_drop("FLUSH SSL").await.expect("FLUSH SSL");
    conn.disconnect().await.expect("disconnect");
    let server2 = &targets[1];
    let by_identity = with_tls(server2, TlsMode::VerifyIdentity, Some(&named_ca));
    let failed = step(&by_identity)
        .await
        .expect_err("wrong host name refused");
    assert!(failed.to_string().contains("host name"), "{failed}");
    let by_ca = with_tls(server2, TlsMode::VerifyCa, Some(&named_ca));
    step(&by_ca)
        .await
        .expect("verify_ca does not check the name");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_tls_preferred_and_disabled_are_clear_text_and_required_refuses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lab = Lab::up(LabOptions::new(dir.path()))
        .await
        .expect("lab up")
        .guard();
    let inv = inventory::load_file(lab.inventory_path()).expect("the lab inventory is valid");
    let targets = sql_targets(&inv).expect("credentials");
    let server1 = &targets[0];
    assert_eq!(server1.tls.mode, TlsMode::Preferred, "the default");

    for mode in [TlsMode::Preferred, TlsMode::Disabled] {
        let target = with_tls(server1, mode, None);
        let snap = polled(&target, "a clear text poll", |s| encryption(s).is_some()).await;
        assert_eq!(encryption(&snap), Some(Encryption::ClearText), "{mode:?}");
        step(&target).await.expect("a step in clear text");
    }
    let required = with_tls(server1, TlsMode::Required, None);
    let failed = step(&required).await.expect_err("required needs TLS");
    assert!(
        failed.to_string().contains("does not offer TLS"),
        "{failed}"
    );
}

/// What watch shows: the permanent MaxScale warning on top, and `clear text` or `TLS` on
/// each server's GTID row.
#[test]
fn watch_shows_the_maxscale_warning_and_each_connection_in_clear_text_or_tls() {
    use flightdeck::tui::theme::Theme;
    use flightdeck::tui::watch::{Msg, WatchApp, view};
    let now = Instant::now();
    let mut d = common::dash::live_pair(now);
    d.servers[0].info.as_mut().expect("info").encryption = Some(Encryption::ClearText);
    d.servers[1].info.as_mut().expect("info").encryption = Some(Encryption::Tls {
        cipher: "TLS_AES_256_GCM_SHA384".into(),
    });
    d.maxscale_warning = Some(
        "⚠ MaxScale over http:// to maxscale.example: password and commands in clear text".into(),
    );
    let mut app = WatchApp::new(d);
    app.update(Msg::Resize(120, 30));
    let text = common::draw(120, 30, |f| view(&app, f, now, &Theme::PLAIN));
    let first = text.lines().next().unwrap_or_default();
    assert!(
        first.contains("MaxScale over http:// to maxscale.example"),
        "{text}"
    );
    let gtid_row = |server: &str| {
        text.lines()
            .find(|l| l.contains(server) && l.contains("0-1-"))
            .unwrap_or_else(|| panic!("{server}'s GTID row in\n{text}"))
            .to_string()
    };
    assert!(gtid_row("server1").contains("clear text"), "{text}");
    assert!(gtid_row("server2").contains("TLS"), "{text}");
}

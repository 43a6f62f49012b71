//! Pairing: a driver serves its session on JOURNAL.sock; second operators attach, watch
//! every step, approve four-eyes steps and add notes. Driven without a screen on a
//! local-transport inventory (shell steps run here; no database is needed).

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use flightdeck::diag::SourceFile;
use flightdeck::inventory;
use flightdeck::poll::start::PollIntervals;
use flightdeck::runbook::check_text;
use flightdeck::session::driver::{Driver, Inputs};
use flightdeck::session::journal::Event;
use flightdeck::session::pair::PairEvent;
use flightdeck::session::run::{Command, StepState};
use flightdeck::session::view::Status;
use flightdeck::session::wire::{self, DashWire, MAX_MESSAGE, PROTOCOL, ToDriver, ToObserver};
use flightdeck::tui::attach;
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;
use tokio::sync::mpsc;

mod common;

const DEADLINE: Duration = Duration::from_secs(60);

const INVENTORY: &str = common::LOCAL_DB1;

const RUNBOOK: &str = r#"
[runbook]
name = "pairing"

[[phase]]
id = "p"
title = "steps"

[[phase.step]]
id = "one"
title = "one"
kind = "shell"
target = "db1"
command = "sleep 0.3; echo one"

[[phase.step]]
id = "two"
title = "two"
kind = "shell"
target = "db1"
command = "sleep 0.3; echo two"

[[phase.step]]
id = "switch"
title = "the step that needs four eyes"
kind = "shell"
target = "db1"
command = "echo switched"
approval = "second"
"#;

struct Session {
    d: Driver,
    inputs: Inputs,
    events: mpsc::Receiver<PairEvent>,
    journal: PathBuf,
}

async fn open(dir: &Path) -> Session {
    let inv = inventory::parse(&dir.join("inv.toml"), INVENTORY).expect("inventory");
    let loaded = check_text(SourceFile::new("rb.toml", RUNBOOK), Some(&inv)).expect("runbook");
    let journal = dir.join("pair.jsonl");
    let (mut d, inputs) = Driver::open(loaded, inv, &journal, PollIntervals::default())
        .await
        .expect("session opens");
    let events = d.serve().expect("serves JOURNAL.sock");
    d.publish();
    Session {
        d,
        inputs,
        events,
        journal,
    }
}

impl Session {
    /// Feeds the driver what happens until `done` holds, publishing after each input.
    async fn pump(&mut self, what: &str, done: impl Fn(&Driver) -> bool) {
        let begun = Instant::now();
        while !done(&self.d) {
            assert!(begun.elapsed() < DEADLINE, "timed out waiting for {what}");
            tokio::select! {
                Some(e) = self.inputs.exec_rx.recv() => self.d.exec(e, Instant::now()).expect("journal"),
                Some(e) = self.events.recv() => self.d.pair(e).expect("journal"),
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
            self.d.publish();
        }
    }

    /// One round: whatever arrives within 100 ms.
    async fn round(&mut self) {
        tokio::select! {
            Some(e) = self.inputs.exec_rx.recv() => self.d.exec(e, Instant::now()).expect("journal"),
            Some(e) = self.events.recv() => self.d.pair(e).expect("journal"),
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
        self.d.publish();
    }

    async fn run(&mut self, step: &'static str) {
        let cmd = Command::Run {
            step: step.into(),
            typed: None,
            justification: None,
        };
        self.d.command(cmd, Instant::now()).expect("starts");
        self.d.publish();
        self.pump(step, move |d| {
            matches!(d.core.run.state(step), StepState::Succeeded { .. })
        })
        .await;
    }
}

/// Collects `(step, status)` transitions as an observer sees them.
fn watch_transitions(mut a: attach::Attached) -> tokio::task::JoinHandle<Vec<(String, String)>> {
    tokio::spawn(async move {
        let mut seen: Vec<(String, String)> = Vec::new();
        let _still_talking = &a.requests;
        while let Some(msg) = a.news.recv().await {
            if let ToObserver::View(v) = msg {
                for s in &v.steps {
                    let status = match s.status {
                        Status::Running { .. } => "running",
                        Status::Succeeded { .. } => "succeeded",
                        _ => continue,
                    };
                    let t = (s.id.clone(), status.to_string());
                    if seen.iter().rev().find(|(id, _)| *id == s.id) != Some(&t) {
                        seen.push(t);
                    }
                }
            }
        }
        seen
    })
}

#[test]
fn views_and_panes_cross_the_wire_intact() {
    let now = Instant::now();
    let d = common::dash::live_pair(now);
    let msg = ToObserver::Dash(Box::new(DashWire::of(&d, now)));
    let text = serde_json::to_string(&msg).expect("serializes");
    let back: ToObserver = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let ToObserver::Dash(w) = back else {
        panic!("a dash")
    };
    assert_eq!(w.into_dashboard(now).primary(), Some("server1"));

    let s = common::cockpit::Screen::seed(common::dash::live_pair(now));
    let msg = ToObserver::View(Box::new(s.view.clone()));
    let text = serde_json::to_string(&msg).expect("serializes");
    let back: ToObserver = serde_json::from_str(&text).expect("deserializes");
    let ToObserver::View(v) = back else {
        panic!("a view")
    };
    assert_eq!(v.steps.len(), s.view.steps.len());
    assert_eq!(v.steps[0].confirm, s.view.steps[0].confirm);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_observers_see_every_step_in_order_and_the_drivers_death() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = open(dir.path()).await;
    let first = watch_transitions(attach::connect(&s.journal).await.expect("attach"));
    let second = watch_transitions(attach::connect(&s.journal).await.expect("attach"));
    s.pump("both observers attached", |d| d.core.attached.len() == 2)
        .await;
    s.run("one").await;
    s.run("two").await;
    // The driver goes away: both observers hear it (their streams end).
    s.d.finish("test over").await;
    drop(s);
    let expected: Vec<(String, String)> = [
        ("one", "running"),
        ("one", "succeeded"),
        ("two", "running"),
        ("two", "succeeded"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    for observer in [first, second] {
        let seen = tokio::time::timeout(DEADLINE, observer)
            .await
            .expect("the observer hears that the driver went away")
            .expect("observer task");
        assert_eq!(seen, expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_clients_and_a_stalled_one_leave_the_others_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = open(dir.path()).await;
    let sock = flightdeck::session::pair::socket_path(&s.journal);
    let mut good = attach::connect(&s.journal).await.expect("attach");

    // Garbage, an oversized message, and a client of another version.
    let mut garbage = UnixStream::connect(&sock).await.expect("connect");
    garbage
        .write_all(b"\x00\x00\x00\x05hello")
        .await
        .expect("write");
    let mut huge = UnixStream::connect(&sock).await.expect("connect");
    let too_long = u32::try_from(MAX_MESSAGE + 1).expect("fits");
    huge.write_all(&too_long.to_be_bytes())
        .await
        .expect("write");
    let mut other = UnixStream::connect(&sock).await.expect("connect");
    let hello = ToDriver::Hello {
        protocol: PROTOCOL + 98,
        version: "9.9.9".into(),
    };
    wire::send(&mut other, &hello).await.expect("send");
    match wire::recv::<_, ToObserver>(&mut other).await {
        Ok(Some(ToObserver::Refused { reason })) => {
            assert!(reason.contains(&format!("protocol {PROTOCOL}")), "{reason}");
            assert!(reason.contains("9.9.9"), "{reason}");
        }
        other => panic!("a client of another version is refused: {other:?}"),
    }

    // A client that attaches and then stops reading.
    let stalled = attach::connect(&s.journal).await.expect("attach");
    // The driver keeps going: 200 notes, each published to every client.
    for i in 0..200 {
        s.d.note("root", &format!("note {i}: {}", "x".repeat(2000)))
            .expect("journal");
        s.d.publish();
    }
    s.pump("the good observer still attached", |d| {
        !d.core.attached.is_empty()
    })
    .await;
    // The good observer gets the newest state.
    let begun = Instant::now();
    loop {
        assert!(
            begun.elapsed() < DEADLINE,
            "the good observer hears the last note"
        );
        let msg = tokio::time::timeout(DEADLINE, good.news.recv())
            .await
            .expect("news")
            .expect("still connected");
        if let ToObserver::View(v) = msg
            && v.notes
                .last()
                .is_some_and(|(_, t)| t.starts_with("note 199"))
        {
            break;
        }
    }
    drop(stalled);
    s.d.finish("test over").await;
}

/// `fd_pair_second` (in the journal's group) and `fd_pair_stranger` (not): created when
/// the tests run as root, as CI does.
fn second_users() -> Option<(u32, u32, u32)> {
    let run = |args: &[&str]| {
        std::process::Command::new(args[0])
            .args(&args[1..])
            .status()
            .is_ok_and(|s| s.success())
    };
    let id = |what: &str, name: &str| -> Option<u32> {
        let out = std::process::Command::new("id")
            .arg(what)
            .arg(name)
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    if !nix::unistd::Uid::effective().is_root() {
        return None;
    }
    let _ = run(&["groupadd", "-f", "fdpair"]);
    if id("-u", "fd_pair_second").is_none() {
        run(&["useradd", "-M", "-N", "-G", "fdpair", "fd_pair_second"]);
    }
    if id("-u", "fd_pair_stranger").is_none() {
        run(&["useradd", "-M", "-N", "fd_pair_stranger"]);
    }
    let gid = std::fs::read_to_string("/etc/group")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("fdpair:"))
        .and_then(|rest| rest.split(':').nth(1)?.parse().ok())?;
    Some((
        id("-u", "fd_pair_second")?,
        id("-u", "fd_pair_stranger")?,
        gid,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_four_eyes_step_waits_for_another_os_user() {
    let Some((second, stranger, gid)) = second_users() else {
        println!("skipped: creating a second OS user needs root");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    // A directory the operators share: the journal's group may enter it.
    std::os::unix::fs::chown(dir.path(), None, Some(gid)).expect("chgrp");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o750)).expect("chmod");
    let journal = dir.path().join("pair.jsonl");
    // The journal is created by the driver; give it the shared group before serving.
    let inv = inventory::parse(&dir.path().join("inv.toml"), INVENTORY).expect("inventory");
    let loaded = check_text(SourceFile::new("rb.toml", RUNBOOK), Some(&inv)).expect("runbook");
    let (mut d, inputs) = Driver::open(loaded, inv, &journal, PollIntervals::default())
        .await
        .expect("session opens");
    std::os::unix::fs::chown(&journal, None, Some(gid)).expect("chgrp journal");
    let events = d.serve().expect("serves");
    d.publish();
    let mut s = Session {
        d,
        inputs,
        events,
        journal: journal.clone(),
    };
    s.run("one").await;
    s.run("two").await;

    // Nobody approved: the step is blocked by its four-eyes gate.
    let step = s.d.core.run.runbook.step("switch").expect("step").clone();
    let refused =
        s.d.core
            .may_run(&step)
            .expect_err("waits for a second operator");
    assert!(format!("{refused}").contains("approved by a second operator"));

    // The driver's own user cannot approve.
    let said =
        s.d.approve(&s.d.operator.clone(), "switch", "db1")
            .expect("journal");
    assert!(said.starts_with("not approved"), "{said}");

    // A stranger (not in the journal's group) cannot even connect.
    let exe = env!("CARGO_BIN_EXE_flightdeck");
    let stranger_run = tokio::task::spawn_blocking({
        let journal = journal.clone();
        move || {
            std::process::Command::new(exe)
                .args(["attach", "--approve", "switch", "--typed", "db1"])
                .arg(&journal)
                .uid(stranger)
                .output()
        }
    });
    use std::os::unix::process::CommandExt;
    // The second operator approves from their own account; the driver judges it.
    let approve = tokio::task::spawn_blocking({
        let journal = journal.clone();
        move || {
            std::process::Command::new(exe)
                .args(["attach", "--approve", "switch", "--typed", "db1"])
                .arg(&journal)
                // Their own account, in the group the operators share.
                .uid(second)
                .gid(gid)
                .output()
        }
    });
    let begun = Instant::now();
    while !approve.is_finished() {
        assert!(begun.elapsed() < DEADLINE, "the approval process ends");
        s.round().await;
    }
    let out = approve.await.expect("join").expect("runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    s.pump("the second operator's approval", |d| {
        d.core.run.approved.contains_key("switch")
    })
    .await;
    let out = stranger_run.await.expect("join").expect("runs");
    assert!(!out.status.success(), "a stranger is kept out");
    s.run("switch").await;
    s.d.finish("test over").await;

    let text = std::fs::read_to_string(&journal).expect("journal");
    let events: Vec<Event> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<flightdeck::session::journal::Record>(l).ok())
        .map(|r| r.event)
        .collect();
    assert!(events.iter().any(|e| matches!(
        e,
        Event::ApprovalRefused { approver, .. } if approver == "root"
    )));
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Approval { driver, approver, step, .. }
            if driver == "root" && approver == "fd_pair_second" && step == "switch"
    )));
}

#[test]
fn a_running_step_crosses_the_wire() {
    let now = Instant::now();
    let mut s = common::cockpit::Screen::seed(common::dash::live_pair(now));
    s.at_step("p1-version-primary");
    s.press(crossterm::event::KeyCode::Enter, now);
    s.press(crossterm::event::KeyCode::Char('y'), now);
    s.core.push_output(
        "p1-version-primary",
        flightdeck::session::journal::Stream::Stdout,
        "10.11.19\n",
    );
    s.refresh(now);
    let msg = ToObserver::View(Box::new(s.view.clone()));
    let text = serde_json::to_string(&msg).expect("serializes");
    let back: Result<ToObserver, _> = serde_json::from_str(&text);
    assert!(back.is_ok(), "{back:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handover_moves_the_lock() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = open(dir.path()).await;
    let mut observer = attach::connect(&s.journal).await.expect("attach");
    s.pump("the observer attached", |d| !d.core.attached.is_empty())
        .await;
    s.run("one").await;

    // The driver offers the wheel; the observer is told and accepts.
    let said = s.d.offer(None);
    assert!(said.contains("offered the wheel to root"), "{said}");
    let begun = Instant::now();
    loop {
        assert!(begun.elapsed() < DEADLINE, "the offer arrives");
        match tokio::time::timeout(DEADLINE, observer.news.recv()).await {
            Ok(Some(ToObserver::Offer { from, journal, .. })) => {
                assert_eq!(from, "root");
                // The offer names the files, so the observer can check it could drive.
                assert_eq!(
                    std::fs::canonicalize(&s.journal).expect("journal"),
                    PathBuf::from(&journal)
                );
                break;
            }
            Ok(Some(_)) => {}
            other => panic!("the observer hears the offer: {other:?}"),
        }
    }
    observer
        .requests
        .send(ToDriver::Accept)
        .await
        .expect("send");
    s.pump("the handover", |d| d.handed_over().is_some()).await;

    // The lock is free: whoever took the wheel drives the same journal now.
    let paths = loop {
        match tokio::time::timeout(DEADLINE, observer.news.recv()).await {
            Ok(Some(ToObserver::HandedOver {
                runbook,
                inventory,
                journal,
            })) => break (runbook, inventory, journal),
            Ok(Some(_)) => {}
            other => panic!("the observer is handed the session: {other:?}"),
        }
    };
    assert_eq!(
        std::fs::canonicalize(&s.journal).expect("journal"),
        PathBuf::from(&paths.2)
    );
    s.d.finish("handed over").await;
    let inv = inventory::parse(&dir.path().join("inv.toml"), INVENTORY).expect("inventory");
    let loaded = check_text(SourceFile::new("rb.toml", RUNBOOK), Some(&inv)).expect("runbook");
    let (next, _inputs) = Driver::open(loaded, inv, &s.journal, PollIntervals::default())
        .await
        .expect("the new driver takes the lock and resumes");
    assert!(matches!(
        next.core.run.state("one"),
        StepState::Succeeded { .. }
    ));
    let text = std::fs::read_to_string(&s.journal).expect("journal");
    assert!(text.contains("\"event\":\"handover\""), "{text}");
    assert!(text.contains("handed over to root"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_who_could_not_drive_declines_and_the_driver_keeps_the_wheel() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = open(dir.path()).await;
    let mut observer = attach::connect(&s.journal).await.expect("attach");
    s.pump("the observer attached", |d| !d.core.attached.is_empty())
        .await;

    s.d.offer(None);
    let files = loop {
        match tokio::time::timeout(DEADLINE, observer.news.recv()).await {
            Ok(Some(ToObserver::Offer {
                runbook, journal, ..
            })) => {
                // As if this operator's inventory could not be read.
                break attach::Offered {
                    runbook,
                    inventory: dir.path().join("not-mine.toml").display().to_string(),
                    journal,
                };
            }
            Ok(Some(_)) => {}
            other => panic!("the observer hears the offer: {other:?}"),
        }
    };
    let (said, request) = attach::take_wheel(true, &files);
    assert!(said.contains("you cannot drive this session"), "{said}");
    assert!(said.contains("not-mine.toml"), "{said}");
    let Some(decline @ ToDriver::Decline { .. }) = request else {
        panic!("a decline is sent, not an accept: {request:?}");
    };
    observer.requests.send(decline).await.expect("send");
    s.pump("the decline is noted", |d| {
        d.core
            .notes
            .iter()
            .any(|(_, text)| text.starts_with("declined the wheel: the inventory"))
    })
    .await;

    // Nothing was let go: the driver still drives and journals.
    assert!(s.d.handed_over().is_none());
    s.run("one").await;
    let text = std::fs::read_to_string(&s.journal).expect("journal");
    assert!(text.contains("declined the wheel"), "{text}");
    assert!(!text.contains("\"event\":\"handover\""), "{text}");
}

//! The session needs no screen: the whole lab rehearsal driven through the session
//! driver's commands, as a line-mode front end or a second operator's tool would drive
//! it, ends where the cockpit's rehearsal ends.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use flightdeck::inventory;
use flightdeck::lab::{BuildSpec, Lab, LabOptions};
use flightdeck::poll::start::PollIntervals;
use flightdeck::runbook;
use flightdeck::session::driver::Driver;
use flightdeck::session::journal::{Event, ProbeReport, Record};
use mysql_async::prelude::Queryable;

mod common;

use common::xml::{parse_html, polylines_with_points};
use flightdeck::report::Report;

use common::headless::take_step;
use common::writer::{writer, writer_rows};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rehearsal_runs_through_the_driver_without_a_screen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_flightdeck"));
    let mut opts = LabOptions::new(dir.path().join("lab"));
    opts.from = BuildSpec::Version("10.11.18".into());
    opts.serve_exe = Some(exe.clone());
    opts.flightdeck_exe = Some(exe);
    let lab: Lab = Lab::up(opts).await.expect("lab up");
    let lab = lab.guard();
    let inv = inventory::load_file(lab.inventory_path()).expect("lab inventory");
    let path = Path::new("runbooks/lab-rolling-upgrade.toml");
    let loaded = runbook::load_checked(path, Some(&inv)).expect("lab runbook is valid");
    let journal = dir.path().join("headless.jsonl");
    let (mut d, mut inputs) = Driver::open(loaded.clone(), inv, &journal, PollIntervals::default())
        .await
        .expect("session opens");

    for (_, step) in loaded.runbook.steps() {
        take_step(&mut d, &mut inputs, step).await;
    }
    assert!(d.core.run.completed, "the runbook is complete");
    d.publish();
    let view = d.view().clone();
    assert!(view.summary.is_some(), "the view carries the summary");
    assert_eq!(view.primary.as_deref(), Some("server1"));
    d.finish("headless rehearsal complete").await;

    // Where the cockpit's rehearsal ends: both servers on the new build, server1 the
    // writable primary again, and a journal that says the run completed.
    upgraded_with_one_writer(&lab, &["server1", "server2"], "server1").await;
    let replayed = flightdeck::session::replay::replay(&journal).expect("replays");
    assert!(replayed.completed);
    assert!(replayed.unknown_outcomes().next().is_none());
    what_clients_felt(&loaded, &replayed.events);
    the_change_report(&loaded, &journal, &replayed.events, lab.dir());
    print_wall_time(2, &loaded, &replayed.events);
}

/// Every server on the new build, and `writer` the only one not read-only.
async fn upgraded_with_one_writer(lab: &Lab, servers: &[&str], writer: &str) {
    for server in servers {
        let mut c = lab.connect(server, "flightdeck").await.expect("connect");
        let v: Option<String> = c.query_first("SELECT VERSION()").await.expect("version");
        assert!(
            v.unwrap_or_default().starts_with("10.11.19"),
            "{server} upgraded"
        );
        let ro: Option<u8> = c.query_first("SELECT @@read_only").await.expect("ro");
        assert_eq!(ro, Some(u8::from(*server != writer)), "{server} read_only");
    }
}

/// The rehearsal's own time, from the journal's `complete` event: the benchmark's figure
/// (BENCHMARKS.md, "The rehearsal on 2 and 3 servers"), printed, never asserted.
fn print_wall_time(servers: usize, loaded: &runbook::Loaded, records: &[Record]) {
    let wall = records.iter().find_map(|r| match &r.event {
        Event::Complete { duration_s, .. } => Some(*duration_s),
        _ => None,
    });
    println!(
        "REHEARSAL_WALL servers={servers} steps={} wall_s={:.1}",
        loaded.runbook.steps().count(),
        wall.unwrap_or(f64::NAN)
    );
}

/// The report of the rehearsal: every step, both switchovers' measured unavailability,
/// versions before and after, a well-formed page whose chart has one point per sample
/// for each replica's line, and no password of the lab anywhere.
fn the_change_report(loaded: &runbook::Loaded, journal: &Path, records: &[Record], lab: &Path) {
    let report = Report::from_journal(journal).expect("a report");
    assert!(report.unfinished().is_none(), "the rehearsal finished");
    let html = report.html().expect("html");
    let markdown = report.markdown(None);
    let page = parse_html(&html);
    for (_, step) in loaded.runbook.steps() {
        let id = &step.id.value;
        assert!(html.contains(id.as_str()), "{id} in the HTML report");
        assert!(
            markdown.contains(id.as_str()),
            "{id} in the markdown report"
        );
    }
    for r in records {
        match &r.event {
            Event::Probe(p) if p.step.contains("switchover") => {
                let figure = format!("{:.2} s", p.write_unavailable_s);
                assert!(html.contains(&figure), "{}: {figure} in the report", p.step);
            }
            Event::ServerVersion { version, .. } => {
                assert!(html.contains(version.as_str()), "{version} in the report");
            }
            _ => {}
        }
    }
    let samples = records
        .iter()
        .filter(|r| matches!(r.event, Event::Sample { .. }))
        .count();
    let svg = page
        .descendants()
        .find(|n| n.has_tag_name("svg"))
        .expect("the chart is inline");
    let series = polylines_with_points(svg);
    assert!(!series.is_empty(), "a lag line");
    assert!(
        series.iter().all(|&points| points == samples),
        "one point per sample ({samples}): {series:?}"
    );
    for entry in std::fs::read_dir(lab.join("secrets")).expect("the lab's secrets") {
        let secret = std::fs::read_to_string(entry.expect("entry").path()).expect("secret");
        assert!(!secret.is_empty());
        assert!(
            !html.contains(&secret) && !markdown.contains(&secret),
            "a lab password in the report"
        );
    }
}

/// The lab inventory configures the write-availability probe: each switchover, and the
/// wait after it, journals what writes through the router felt; the rest of the window
/// left a sample a second and the servers' versions before and after.
fn what_clients_felt(loaded: &runbook::Loaded, records: &[Record]) {
    let probes: Vec<ProbeReport> = records
        .iter()
        .filter_map(|r| match &r.event {
            Event::Probe(p) => Some(p.clone()),
            _ => None,
        })
        .collect();
    let probed: Vec<&str> = loaded
        .runbook
        .steps()
        .filter(|(_, s)| s.probed())
        .map(|(_, s)| s.id.value.as_str())
        .collect();
    assert!(
        probed.len() >= 4,
        "two switchovers and the waits after them are probed: {probed:?}"
    );
    for step in &probed {
        let p = probes
            .iter()
            .find(|p| p.step == *step)
            .unwrap_or_else(|| panic!("{step} journals a probe: {probes:?}"));
        assert!(p.writes_ok > 0, "{step}: writes went through: {p:?}");
        assert!(p.router.starts_with("127.0.0.1:"), "{p:?}");
    }
    for switchover in loaded.runbook.steps().filter(|(_, s)| s.is_switchover()) {
        let id = &switchover.1.id.value;
        let p = probes.iter().find(|p| &p.step == id).expect("probed");
        assert!(
            p.write_unavailable_s > 0.0 && p.writes_failed > 0,
            "{id}: a switchover is felt by writers: {}",
            p.summary()
        );
        assert!(p.first_error.is_some(), "{id}: {p:?}");
    }
    let samples = records
        .iter()
        .filter(|r| matches!(r.event, Event::Sample { .. }))
        .count();
    let at = |r: &Record| humantime::parse_rfc3339(&r.ts).expect("rfc 3339");
    let window = at(records.last().expect("events"))
        .duration_since(at(&records[0]))
        .expect("time runs forward")
        .as_secs();
    assert!(
        samples > 10 && samples as u64 + 3 >= window,
        "a sample a second: {samples} in {window} s"
    );
    let versions: Vec<(&str, &str)> = records
        .iter()
        .filter_map(|r| match &r.event {
            Event::ServerVersion { server, version } => Some((server.as_str(), version.as_str())),
            _ => None,
        })
        .collect();
    for server in ["server1", "server2"] {
        let seen: Vec<&str> = versions
            .iter()
            .filter(|(s, _)| *s == server)
            .map(|(_, v)| *v)
            .collect();
        assert!(
            seen.len() >= 2 && seen.first() != seen.last(),
            "{server}: before and after: {seen:?}"
        );
    }
}

/// The rehearsal on a primary and two replicas (`lab up --replicas 2`, the inventory naming
/// server3 the candidate): phases 2–4 for server2 then server3, the switchover to server3,
/// the old primary upgraded, the switch back; every server on the new build at the end,
/// server1 the only writable one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rehearsal_on_three_servers_upgrades_every_replica_then_switches_to_the_candidate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_flightdeck"));
    let mut opts = LabOptions::new(dir.path().join("lab"));
    opts.from = BuildSpec::Version("10.11.18".into());
    opts.replicas = 2;
    opts.serve_exe = Some(exe.clone());
    opts.flightdeck_exe = Some(exe);
    let lab = Lab::up(opts).await.expect("lab up --replicas 2").guard();
    let text = std::fs::read_to_string(lab.inventory_path()).expect("lab inventory");
    let named = lab.dir().join("three.toml");
    std::fs::write(
        &named,
        format!("{text}\n[roles]\ncandidate = \"server3\"\n"),
    )
    .expect("write");
    let inv = inventory::load_file(&named).expect("lab inventory with a candidate");
    let path = Path::new("runbooks/lab-rolling-upgrade.toml");
    let loaded = runbook::load_checked(path, Some(&inv)).expect("lab runbook is valid");
    let ids: Vec<&str> = loaded
        .runbook
        .steps()
        .map(|(_, s)| s.id.value.as_str())
        .collect();
    let at = |id: &str| {
        ids.iter()
            .position(|i| *i == id)
            .unwrap_or_else(|| panic!("{id}"))
    };
    assert!(at("p3-stop-service@server2") < at("p3-stop-service@server3"));
    assert!(at("p4-wait-pool@server3") < at("p5-switchover"));
    let journal = dir.path().join("three.jsonl");
    let (mut d, mut inputs) = Driver::open(loaded.clone(), inv, &journal, PollIntervals::default())
        .await
        .expect("session opens");
    // A client writes through the router the whole time, across both switchovers.
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let writer_task = writer(&lab, stop.clone(), written.clone());
    for (_, step) in loaded.runbook.steps() {
        take_step(&mut d, &mut inputs, step).await;
    }
    assert!(d.core.run.completed, "the runbook is complete");
    stop.store(true, Ordering::SeqCst);
    writer_task.await.expect("writer");
    d.finish("three-server rehearsal complete").await;

    // Every write the router acknowledged is on all three servers, and they hold the same.
    let n = written.load(Ordering::SeqCst);
    assert!(n > 0, "the writer wrote through the router");
    for replica in ["server2", "server3"] {
        lab.wait_caught_up(replica, std::time::Duration::from_secs(60))
            .await
            .expect("caught up");
    }
    let mut rows = Vec::new();
    for server in ["server1", "server2", "server3"] {
        rows.push(writer_rows(&lab, server, n).await);
    }
    assert!(
        rows.iter().all(|(acked, _)| *acked == n),
        "every acknowledged write ({n}) is on all three servers: {rows:?}"
    );
    assert!(
        rows.iter().all(|(_, all)| *all == rows[0].1),
        "all three servers hold the same writer rows: {rows:?}"
    );

    upgraded_with_one_writer(&lab, &["server1", "server2", "server3"], "server1").await;
    // The first switchover promoted the candidate, not the first replica; the second gave
    // the writes back. The journal's role changes say who was primary when.
    let replayed = flightdeck::session::replay::replay(&journal).expect("replays");
    assert!(replayed.completed);
    let mut primaries: Vec<String> = Vec::new();
    for r in &replayed.events {
        if let Event::Roles {
            primary: Some(p), ..
        } = &r.event
            && primaries.last() != Some(p)
        {
            primaries.push(p.clone());
        }
    }
    assert_eq!(
        primaries,
        ["server1", "server3", "server1"],
        "{primaries:?}"
    );
    print_wall_time(3, &loaded, &replayed.events);
}

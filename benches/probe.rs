//! The write-availability probe (issue 15): its own cost, and what it measures of the lab's
//! switchover.
//!
//! **Cost.** The probe alone (no pollers, no driver) writes and reads back through the lab
//! router for SECS s with no switchover: statements per second through the router, and
//! this process's CPU (utime+stime of `/proc/self/stat`; the lab's servers and endpoint
//! are other processes) as a share of one core.
//!
//! **Switchovers.** `benches/support/five-switchovers.toml` driven headless through the
//! session driver, as the cockpit drives it: five MaxScale switchovers back and forth,
//! each followed by a wait, both probed. Printed per switchover: writes and reads
//! unavailable, failed attempts, the first error, and the step's length.
//!
//! `cargo bench --bench probe`; env SECS (20). Starts and purges its own 2-server lab with
//! the MaxScale-compatible endpoint.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use flightdeck::exec::probe::{self, ProbeMsg};
use flightdeck::exec::spawn::ExecMsg;
use flightdeck::inventory::{self, Inventory};
use flightdeck::lab::{Lab, LabOptions};
use flightdeck::poll::start::{PollIntervals, probe_target};
use flightdeck::runbook;
use flightdeck::session::driver::{Driver, Inputs};
use flightdeck::session::journal::ProbeReport;
use flightdeck::session::mask::Masker;
use flightdeck::session::run::{Command, StepState};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    tokio::runtime::Runtime::new()?.block_on(run())
}

async fn run() -> Result<()> {
    let secs: u64 = std::env::var("SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir()?;
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_flightdeck"));
    let mut opts = LabOptions::new(dir.path().join("lab"));
    opts.serve_exe = Some(exe.clone());
    opts.flightdeck_exe = Some(exe);
    let lab = Lab::up(opts).await?.guard();
    let inv = inventory::load_file(lab.inventory_path())?;
    println!(
        "probe benchmark, 2-server lab behind the lab endpoint's router, {} cores, load {}",
        std::thread::available_parallelism().map_or(0, usize::from),
        std::fs::read_to_string("/proc/loadavg")?
            .split(' ')
            .next()
            .unwrap_or("?")
    );
    cost(&inv, secs).await?;
    switchovers(&inv, dir.path()).await?;
    Ok(())
}

/// The probe alone for `secs`: statements per second and CPU.
async fn cost(inv: &Inventory, secs: u64) -> Result<()> {
    let target = probe_target(inv)?.ok_or("the lab inventory has no [probe]")?;
    let (tx, mut rx) = mpsc::channel(1024);
    let cancel = CancellationToken::new();
    let ready = probe::spawn(
        target,
        "cost".into(),
        1,
        Arc::new(Masker::new(Vec::<String>::new())),
        tx,
        cancel.clone(),
    );
    ready.await?;
    let (t0, at) = (cpu_ticks()?, Instant::now());
    let drain = tokio::spawn(async move {
        while let Some(msg) = rx.recv().await {
            if let ExecMsg::Probe {
                msg: ProbeMsg::Done(report),
                ..
            } = msg
            {
                return Some(report);
            }
        }
        None
    });
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let (t1, window) = (cpu_ticks()?, at.elapsed());
    cancel.cancel();
    let report = drain.await?.ok_or("the probe sent no report")?;
    let hz = 100.0; // CLK_TCK on Linux
    let cpu = (t1 - t0) as f64 / hz / window.as_secs_f64() * 100.0;
    let statements = (report.writes_ok + report.reads_ok) as f64 / report.duration_s;
    println!();
    println!("| measurement | result |");
    println!("|---|---|");
    println!(
        "| statements/s through the router (a write and a read back each 20 ms) | {statements:.1} |"
    );
    println!(
        "| CPU of the probe, {secs} s window | {cpu:.2} % of one core ({} ticks) |",
        t1 - t0
    );
    println!(
        "| writes failed / unavailable, no switchover | {} / {:.3} s |",
        report.writes_failed, report.write_unavailable_s
    );
    Ok(())
}

/// Five switchovers through the driver, each with its wait, all probed.
async fn switchovers(inv: &Inventory, dir: &Path) -> Result<()> {
    let path = Path::new("benches/support/five-switchovers.toml");
    let loaded = runbook::load_checked(path, Some(inv)).map_err(|e| format!("{e:?}"))?;
    let journal = dir.join("switchovers.jsonl");
    let (mut d, mut inputs) = Driver::open(
        loaded.clone(),
        inv.clone(),
        &journal,
        PollIntervals::default(),
    )
    .await?;
    let mut lengths = Vec::new();
    for (_, step) in loaded.runbook.steps() {
        let id = step.id.value.clone();
        pump(&mut d, &mut inputs, |d| {
            d.core
                .may_run(d.core.run.runbook.step(&id).expect("step"))
                .is_ok()
        })
        .await;
        let began = Instant::now();
        d.command(
            Command::Run {
                step: id.clone(),
                typed: None,
                justification: None,
            },
            Instant::now(),
        )?;
        pump(&mut d, &mut inputs, |d| {
            !matches!(
                d.core.run.state(&id),
                StepState::Running { .. } | StepState::Pending
            )
        })
        .await;
        lengths.push((id.clone(), began.elapsed()));
        assert!(
            matches!(d.core.run.state(&id), StepState::Succeeded { .. }),
            "{id}: {:?}",
            d.core.run.state(&id)
        );
    }
    pump(&mut d, &mut inputs, |d| {
        d.core.probed.len() == lengths.len()
    })
    .await;
    let reports: Vec<ProbeReport> = d.core.probed.clone();
    d.finish("benchmark done").await;
    println!();
    println!(
        "| step | step length | writes unavailable | failed writes | reads unavailable | first error |"
    );
    println!("|---|---|---|---|---|---|");
    for (id, length) in &lengths {
        let r = reports.iter().find(|r| &r.step == id).expect("probed");
        println!(
            "| {id} | {:.3} s | {:.3} s | {} | {:.3} s | {} |",
            length.as_secs_f64(),
            r.write_unavailable_s,
            r.writes_failed,
            r.read_unavailable_s,
            r.first_error.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}

/// Applies executor news and ticks until `done` holds (2 minutes at most).
async fn pump(d: &mut Driver, inputs: &mut Inputs, done: impl Fn(&Driver) -> bool) {
    let begun = Instant::now();
    while !done(d) {
        assert!(begun.elapsed() < Duration::from_secs(120), "timed out");
        tokio::select! {
            Some(e) = inputs.exec_rx.recv() => d.exec(e, Instant::now()).expect("journal"),
            _ = tokio::time::sleep(Duration::from_millis(250)) => {
                d.refresh(&inputs.pollers, Instant::now()).expect("journal");
                d.tick(Instant::now()).expect("journal");
            }
        }
    }
}

/// utime + stime of this process, in clock ticks.
fn cpu_ticks() -> Result<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let rest = &stat[stat.rfind(')').ok_or("odd /proc stat")? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Ok(fields[11].parse::<u64>()? + fields[12].parse::<u64>()?)
}

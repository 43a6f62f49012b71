//! Pairing (issue 12): driver → observer latency of a step transition with 1 and with 8
//! attached observers (target p99 ≤ 50 ms), and the driver's CPU with 8 observers attached
//! and nothing running (target ≤ 2 % of a core).
//!
//! The driver runs headless on a local-transport inventory, as `tests/pairing.rs` does:
//! the one server's MySQL port (1) is dead, so its poller reports an error every 250 ms,
//! and shell steps run here. The driver loop is the cockpit's, without a screen: executor
//! news and pairing events are applied and published at once, and a 250 ms tick calls
//! `refresh` + `tick` + `publish` (the cockpit ticks every 250 ms; this publishes on every
//! tick, which is the most a cockpit publishes when idle).
//!
//! **Latency.** The runbook has 64 shell steps (`sleep 0.05; echo step N`; the shipped
//! runbooks have 62 steps), run one after another in SESSIONS sessions. Observers attach
//! with `tui::attach::connect` in this process (so their clocks are the driver's). A sample
//! is the time from just before the driver applies the executor's `Finished` (then
//! publishes) to an observer receiving the first `View` in which that step is Succeeded;
//! each observer gives one sample per transition. The next step starts after every
//! observer has seen the transition and a uniform 0–250 ms pause, so transitions land at
//! every phase of the tick. Also printed: the same from the end of `publish`, and the
//! driver's two parts, `Driver::exec` (it waits for the journal's fdatasync of the step's
//! end) and the `publish` after it.
//!
//! **Idle CPU.** A fresh session runs its first 32 steps, then sits idle (no step running)
//! with the tick loop above. With 8 observers, they run in a child process (this binary,
//! re-executed with `FLIGHTDECK_BENCH_OBSERVE=JOURNAL`), so that this process's
//! utime+stime (`/proc/self/stat`) over the window is the driver's alone. A run with no
//! observer gives the baseline (the pollers and the tick loop). Also printed: the same
//! from `/proc/self/task/*/schedstat` (exact ns, split into the main thread, which runs the
//! driver's loop, and the others: tokio's workers, where the socket's clients serialize and
//! send), the observers' process's CPU, what they received, and each `publish`'s time.
//!
//! `cargo bench --bench pairing`; env SESSIONS (4), IDLE_SECS (30; 0 skips the idle
//! part), WARMUP_SECS (5), FRAME_MS (0). FRAME_MS=33 paces publishing as the cockpit's
//! loop (`Prepared::drive`) does instead: news is published at the next frame (at most one
//! per 33 ms), and a tick alone publishes once a second.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/stats.rs"]
mod stats;

use std::collections::HashMap;
use std::error::Error;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use flightdeck::diag::SourceFile;
use flightdeck::exec::spawn::ExecMsg;
use flightdeck::inventory;
use flightdeck::poll::start::PollIntervals;
use flightdeck::runbook::check_text;
use flightdeck::session::driver::{Driver, Inputs};
use flightdeck::session::pair::PairEvent;
use flightdeck::session::run::{Command, StepState};
use flightdeck::session::view::Status;
use flightdeck::session::wire::{DashWire, ToObserver};
use flightdeck::tui::attach;
use stats::Samples;
use tokio::sync::mpsc;

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

const STEPS: usize = 64;
const STEPS_PER_PHASE: usize = 8;
const TICK: Duration = Duration::from_millis(250);
const DEADLINE: Duration = Duration::from_secs(30);
const OBSERVE_ENV: &str = "FLIGHTDECK_BENCH_OBSERVE";

const INVENTORY: &str = r#"
[[server]]
name = "db1"
role = "primary"
mysql = { host = "127.0.0.1", port = 1 }
transport = "local"
"#;

fn main() -> Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    if let Ok(journal) = std::env::var(OBSERVE_ENV) {
        return rt.block_on(observe(PathBuf::from(journal)));
    }
    rt.block_on(run())
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn runbook() -> String {
    let mut text = String::from("[runbook]\nname = \"pairing-bench\"\n");
    for phase in 0..STEPS / STEPS_PER_PHASE {
        text.push_str(&format!(
            "\n[[phase]]\nid = \"p{phase}\"\ntitle = \"phase {phase}\"\n"
        ));
        for i in phase * STEPS_PER_PHASE..(phase + 1) * STEPS_PER_PHASE {
            text.push_str(&format!(
                "\n[[phase.step]]\nid = \"{}\"\ntitle = \"step {i}\"\nkind = \"shell\"\n\
                 target = \"db1\"\ncommand = \"sleep 0.05; echo step {i}\"\n",
                step_id(i)
            ));
        }
    }
    text
}

fn step_id(i: usize) -> String {
    format!("s{i:02}")
}

fn step_index(id: &str) -> Option<usize> {
    id.strip_prefix('s')?.parse().ok()
}

/// What the bench loop saw, besides what it applied.
enum Got {
    /// An observer saw step `.1` Succeeded at `.2`.
    Report(usize, usize, Instant),
    Other,
    Timeout,
}

/// A headless driver and the cockpit's loop around it.
struct Bench {
    d: Driver,
    inputs: Inputs,
    events: mpsc::Receiver<PairEvent>,
    tick: tokio::time::Interval,
    /// When the driver began applying each step's `Finished`, and when it had published.
    finished: HashMap<String, (Instant, Instant)>,
    /// How long applying a `Finished` took (`Driver::exec`, which waits for the journal's
    /// fdatasync of the step's end), and the `publish` after it.
    apply: Vec<Duration>,
    publish: Vec<Duration>,
    publishes: u64,
    /// How long each `publish` took.
    publish_all: Vec<Duration>,
    /// Steps whose `Finished` was applied but not yet published (cockpit pacing).
    unpublished: Vec<String>,
    /// Zero: publish at once. Otherwise the cockpit's pacing (`Prepared::drive`): news
    /// is published at the next frame, at most one per `frame`; a tick alone publishes
    /// once a second.
    frame: Duration,
    dirty: bool,
    next_frame: tokio::time::Instant,
    last_publish: Instant,
    _dir: tempfile::TempDir,
}

impl Bench {
    async fn open() -> Result<Bench> {
        let dir = tempfile::tempdir()?;
        let inv = inventory::parse(&dir.path().join("inv.toml"), INVENTORY)?;
        let loaded = check_text(SourceFile::new("bench.toml", runbook()), Some(&inv))
            .map_err(|e| format!("runbook: {e:?}"))?;
        let journal = dir.path().join("pair.jsonl");
        let (mut d, inputs) = Driver::open(loaded, inv, &journal, PollIntervals::default()).await?;
        let events = d.serve()?;
        d.publish();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        Ok(Bench {
            d,
            inputs,
            events,
            tick,
            finished: HashMap::new(),
            apply: Vec::new(),
            publish: Vec::new(),
            publishes: 1,
            publish_all: Vec::new(),
            unpublished: Vec::new(),
            frame: Duration::from_millis(env_or("FRAME_MS", 0)),
            dirty: false,
            next_frame: tokio::time::Instant::now(),
            last_publish: Instant::now(),
            _dir: dir,
        })
    }

    fn journal(&self) -> PathBuf {
        self._dir.path().join("pair.jsonl")
    }

    fn publish(&mut self) {
        let begun = Instant::now();
        self.d.publish();
        let done = Instant::now();
        self.publish_all.push(done - begun);
        self.publishes += 1;
        self.last_publish = done;
        for step in self.unpublished.drain(..) {
            self.publish.push(done - begun);
            if let Some(f) = self.finished.get_mut(&step) {
                f.1 = done;
            }
        }
    }

    /// Something changed: published at once, or at the next frame.
    fn news(&mut self) {
        if self.frame.is_zero() {
            self.publish();
        } else {
            self.dirty = true;
        }
    }

    /// Applies whatever comes first (until `until`) as the cockpit would.
    async fn once(
        &mut self,
        reports: Option<&mut mpsc::UnboundedReceiver<(usize, usize, Instant)>>,
        until: tokio::time::Instant,
    ) -> Result<Got> {
        let report = async {
            match reports {
                Some(r) => r.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            Some(e) = self.inputs.exec_rx.recv() => {
                let now = Instant::now();
                let finished = match &e {
                    ExecMsg::Finished { step, .. } => Some(step.clone()),
                    _ => None,
                };
                self.d.exec(e, now)?;
                if let Some(step) = finished {
                    self.apply.push(now.elapsed());
                    self.finished.insert(step.clone(), (now, now));
                    self.unpublished.push(step);
                }
                self.news();
                Ok(Got::Other)
            }
            Some(e) = self.events.recv() => {
                self.d.pair(e)?;
                self.news();
                Ok(Got::Other)
            }
            Some((o, s, at)) = report => Ok(Got::Report(o, s, at)),
            _ = self.tick.tick() => {
                let now = Instant::now();
                self.d.refresh(&self.inputs.pollers, now)?;
                self.d.tick(now)?;
                if self.frame.is_zero() {
                    self.publish();
                } else if self.last_publish.elapsed() >= Duration::from_secs(1) {
                    self.dirty = true;
                }
                Ok(Got::Other)
            }
            _ = tokio::time::sleep_until(self.next_frame), if self.dirty => {
                self.publish();
                self.dirty = false;
                self.next_frame = tokio::time::Instant::now() + self.frame;
                Ok(Got::Other)
            }
            _ = tokio::time::sleep_until(until) => Ok(Got::Timeout),
        }
    }

    /// Runs the loop until `done` holds.
    async fn until(&mut self, what: &str, done: impl Fn(&Driver) -> bool) -> Result<()> {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while !done(&self.d) {
            if let Got::Timeout = self.once(None, deadline).await? {
                return Err(format!("timed out waiting for {what}").into());
            }
        }
        Ok(())
    }

    /// Runs the loop for `d`.
    async fn idle(&mut self, d: Duration) -> Result<()> {
        let until = tokio::time::Instant::now() + d;
        while !matches!(self.once(None, until).await?, Got::Timeout) {}
        Ok(())
    }

    fn start(&mut self, i: usize) -> Result<()> {
        let cmd = Command::Run {
            step: step_id(i),
            typed: None,
            justification: None,
        };
        self.d.command(cmd, Instant::now())?;
        self.publish();
        Ok(())
    }

    /// Runs step `i` to its end, without observers.
    async fn run_step(&mut self, i: usize) -> Result<()> {
        self.start(i)?;
        let id = step_id(i);
        self.until(&id.clone(), move |d| {
            matches!(d.core.run.state(&id), StepState::Succeeded { .. })
        })
        .await
    }

    async fn finish(mut self) {
        self.d.finish("bench over").await;
    }
}

/// An observer: reports the first view in which each step is Succeeded.
fn observer(
    index: usize,
    mut a: attach::Attached,
    reports: mpsc::UnboundedSender<(usize, usize, Instant)>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let _keep_talking = &a.requests;
        let mut seen = [false; STEPS];
        while let Some(msg) = a.news.recv().await {
            let at = Instant::now();
            if let ToObserver::View(v) = msg {
                for s in &v.steps {
                    if let (Status::Succeeded { .. }, Some(i)) = (&s.status, step_index(&s.id))
                        && i < STEPS
                        && !seen[i]
                    {
                        seen[i] = true;
                        if reports.send((index, i, at)).is_err() {
                            return;
                        }
                    }
                }
            }
        }
    })
}

struct Latency {
    /// Every observer's sample of every transition.
    all: Vec<Duration>,
    /// Per transition, the last observer's.
    last: Vec<Duration>,
    /// Every observer's sample, from the end of `publish`.
    from_publish: Vec<Duration>,
    apply: Vec<Duration>,
    publish: Vec<Duration>,
}

async fn latency(observers: usize, sessions: usize, rng: &mut Rng) -> Result<Latency> {
    let mut out = Latency {
        all: Vec::new(),
        last: Vec::new(),
        from_publish: Vec::new(),
        apply: Vec::new(),
        publish: Vec::new(),
    };
    for session in 0..sessions {
        let mut b = Bench::open().await?;
        let (tx, mut reports) = mpsc::unbounded_channel();
        let mut tasks = Vec::new();
        for o in 0..observers {
            let a = attach::connect(&b.journal()).await?;
            tasks.push(observer(o, a, tx.clone()));
        }
        drop(tx);
        b.until("the observers attached", |d| {
            d.core.attached.len() == observers
        })
        .await?;
        for i in 0..STEPS {
            b.idle(rng.pause()).await?;
            b.start(i)?;
            let mut got: Vec<Option<Instant>> = vec![None; observers];
            let deadline = tokio::time::Instant::now() + DEADLINE;
            while got.iter().any(Option::is_none) {
                match b.once(Some(&mut reports), deadline).await? {
                    Got::Report(o, s, at) if s == i => got[o] = Some(at),
                    Got::Report(o, s, _) => {
                        return Err(format!("observer {o} saw step {s} during step {i}").into());
                    }
                    Got::Timeout => {
                        return Err(format!(
                            "session {session}, step {i}: {} of {observers} observers saw it",
                            got.iter().flatten().count()
                        )
                        .into());
                    }
                    Got::Other => {}
                }
            }
            let (t0, t1) = b.finished[&step_id(i)];
            let got: Vec<Instant> = got.into_iter().flatten().collect();
            let each: Vec<Duration> = got
                .iter()
                .map(|at| at.saturating_duration_since(t0))
                .collect();
            out.from_publish
                .extend(got.iter().map(|at| at.saturating_duration_since(t1)));
            out.last
                .push(each.iter().copied().max().unwrap_or_default());
            out.all.extend(each);
        }
        out.apply.append(&mut b.apply);
        out.publish.append(&mut b.publish);
        b.finish().await;
        for t in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
    }
    Ok(out)
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: &str) -> Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let rest = &stat[stat.rfind(')').ok_or("odd /proc stat")? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    Ok(fields[11].parse::<u64>()? + fields[12].parse::<u64>()?)
}

/// Time on a CPU of each thread of a process (`/proc/PID/task/*/schedstat`, in ns: exact,
/// where utime+stime are sampled at each clock tick).
fn thread_ns(pid: u32) -> Result<HashMap<u32, u64>> {
    let mut out = HashMap::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let task = task?;
        let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) else {
            continue;
        };
        // A thread may end between listing and reading.
        if let Ok(text) = std::fs::read_to_string(task.path().join("schedstat"))
            && let Some(ns) = text.split_whitespace().next().and_then(|n| n.parse().ok())
        {
            out.insert(tid, ns);
        }
    }
    Ok(out)
}

/// The main thread's and the other threads' CPU between two [`thread_ns`] readings (a
/// thread that ended in between is not counted).
fn split_ns(pid: u32, before: &HashMap<u32, u64>, after: &HashMap<u32, u64>) -> (u64, u64) {
    let mut main = 0;
    let mut others = 0;
    for (tid, ns) in after {
        let d = ns - before.get(tid).copied().unwrap_or(0);
        if *tid == pid {
            main += d;
        } else {
            others += d;
        }
    }
    (main, others)
}

fn clock_ticks_per_sec() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100)
}

struct Idle {
    driver_ticks: u64,
    /// The driver's main thread (its loop: apply, `publish`) and its other threads (tokio's
    /// workers: the pairing socket's clients, the pollers; the journal), in ns.
    main_ns: u64,
    others_ns: u64,
    observers_ticks: Option<u64>,
    secs: f64,
    publishes: u64,
    view_bytes: usize,
    dash_bytes: usize,
    /// Messages the observers received in the window: views, dashes, others.
    received: Option<[u64; 3]>,
    /// Each `publish` in the window.
    publish_time: Vec<Duration>,
}

async fn idle_cpu(observers: usize, warmup: Duration, window: Duration) -> Result<Idle> {
    let mut b = Bench::open().await?;
    for i in 0..STEPS / 2 {
        b.run_step(i).await?;
    }
    let mut child: Option<(Child, tokio::task::JoinHandle<Vec<String>>)> = None;
    if observers > 0 {
        let mut c = std::process::Command::new(std::env::current_exe()?)
            .env(OBSERVE_ENV, b.journal())
            .env("OBSERVERS", observers.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = c.stdout.take().ok_or("child stdout")?;
        let lines = tokio::task::spawn_blocking(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(|l| l.ok())
                .collect::<Vec<_>>()
        });
        child = Some((c, lines));
        b.until("the observers attached", |d| {
            d.core.attached.len() == observers
        })
        .await?;
    }
    b.idle(warmup).await?;
    let mark = |child: &mut Option<(Child, _)>| -> Result<Option<u64>> {
        match child {
            Some((c, _)) => {
                c.stdin
                    .as_mut()
                    .ok_or("child stdin")?
                    .write_all(b"mark\n")?;
                Ok(Some(cpu_ticks(&c.id().to_string())?))
            }
            None => Ok(None),
        }
    };
    let child_before = mark(&mut child)?;
    let pid = std::process::id();
    let before = cpu_ticks("self")?;
    let threads_before = thread_ns(pid)?;
    let publishes = b.publishes;
    let from = b.publish_all.len();
    let begun = Instant::now();
    b.idle(window).await?;
    let publish_time = b.publish_all[from..].to_vec();
    let driver_ticks = cpu_ticks("self")? - before;
    let (main_ns, others_ns) = split_ns(pid, &threads_before, &thread_ns(pid)?);
    let secs = begun.elapsed().as_secs_f64();
    let child_after = mark(&mut child)?;
    let publishes = b.publishes - publishes;
    let view = ToObserver::View(Box::new(b.d.view().clone()));
    let dash = ToObserver::Dash(Box::new(DashWire::of(&b.d.core.dash, Instant::now())));
    let view_bytes = serde_json::to_vec(&view)?.len();
    let dash_bytes = serde_json::to_vec(&dash)?.len();
    let mut received = None;
    if let Some((mut c, lines)) = child {
        drop(c.stdin.take());
        // Serve the observers until their process has read its last mark and gone.
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while !lines.is_finished() {
            if let Got::Timeout = b.once(None, deadline).await? {
                return Err("the observers' process did not end".into());
            }
        }
        let lines = lines.await?;
        c.wait()?;
        let counts: Vec<[u64; 3]> = lines
            .iter()
            .filter_map(|l| {
                let n: Vec<u64> = l
                    .strip_prefix("counts ")?
                    .split(' ')
                    .filter_map(|n| n.parse().ok())
                    .collect();
                Some([*n.first()?, *n.get(1)?, *n.get(2)?])
            })
            .collect();
        if let [a, z, ..] = counts.as_slice() {
            received = Some([z[0] - a[0], z[1] - a[1], z[2] - a[2]]);
        }
    }
    b.finish().await;
    Ok(Idle {
        driver_ticks,
        main_ns,
        others_ns,
        observers_ticks: child_before.zip(child_after).map(|(a, z)| z - a),
        secs,
        publishes,
        view_bytes,
        dash_bytes,
        received,
        publish_time,
    })
}

/// The child process: OBSERVERS observers attached to JOURNAL's driver, reading every
/// message (as an observer's cockpit does). Prints how many it received at each line on
/// stdin; ends when stdin closes.
async fn observe(journal: PathBuf) -> Result<()> {
    let n: usize = env_or("OBSERVERS", 8);
    let counts = Arc::new([AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)]);
    for _ in 0..n {
        let mut a = attach::connect(&journal).await?;
        let counts = counts.clone();
        tokio::spawn(async move {
            let _keep_talking = &a.requests;
            while let Some(msg) = a.news.recv().await {
                let kind = match msg {
                    ToObserver::View(_) => 0,
                    ToObserver::Dash(_) => 1,
                    _ => 2,
                };
                counts[kind].fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {
            let [v, d, o] = counts
                .as_ref()
                .each_ref()
                .map(|c| c.load(Ordering::Relaxed));
            println!("counts {v} {d} {o}");
            let _ = std::io::stdout().flush();
            line.clear();
        }
    })
    .await?;
    Ok(())
}

/// xorshift64: pauses between transitions, so that they land at every phase of the tick.
struct Rng(u64);

impl Rng {
    fn seeded() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.subsec_nanos());
        Self(u64::from(nanos) | 1)
    }

    /// A uniform 0–250 ms.
    fn pause(&mut self) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        Duration::from_millis(self.0 % 250)
    }
}

async fn run() -> Result<()> {
    let sessions: usize = env_or("SESSIONS", 4);
    let window = Duration::from_secs(env_or("IDLE_SECS", 30));
    let warmup = Duration::from_secs(env_or("WARMUP_SECS", 5));
    let mut rng = Rng::seeded();
    match env_or("FRAME_MS", 0u64) {
        0 => println!("publishing: at once (executor news, pairing events, every tick)"),
        ms => println!(
            "publishing: the cockpit's pacing (news at the next {ms} ms frame; ticks once a second)"
        ),
    }
    println!("{}", stats::header());
    for observers in [1, 8] {
        let l = latency(observers, sessions, &mut rng).await?;
        let name = |what: &str| format!("{observers} observer(s): {what}");
        println!(
            "{}",
            Samples::new(name("Finished → observer's View"), l.all).row()
        );
        if observers > 1 {
            println!(
                "{}",
                Samples::new(name("… the last observer of each"), l.last).row()
            );
        }
        println!(
            "{}",
            Samples::new(name("… from the end of publish"), l.from_publish).row()
        );
        println!(
            "{}",
            Samples::new(name("driver: apply Finished (exec)"), l.apply).row()
        );
        println!(
            "{}",
            Samples::new(name("driver: publish after it"), l.publish).row()
        );
    }
    let hz = clock_ticks_per_sec() as f64;
    println!();
    let idle_runs: &[usize] = if window.is_zero() { &[] } else { &[0, 8] };
    for &observers in idle_runs {
        let i = idle_cpu(observers, warmup, window).await?;
        let pct = |ticks: u64| 100.0 * ticks as f64 / hz / i.secs;
        let ns_pct = |ns: u64| 100.0 * ns as f64 / 1e9 / i.secs;
        print!(
            "idle, {observers} observer(s), {:.1} s: driver {:.2} % of a core ({} ticks); \
             schedstat {:.2} % (main thread {:.2} %, other threads {:.2} %); \
             {:.2} publishes/s; a view {} B, a dash {} B",
            i.secs,
            pct(i.driver_ticks),
            i.driver_ticks,
            ns_pct(i.main_ns + i.others_ns),
            ns_pct(i.main_ns),
            ns_pct(i.others_ns),
            i.publishes as f64 / i.secs,
            i.view_bytes,
            i.dash_bytes,
        );
        if let Some(t) = i.observers_ticks {
            print!("; observers' process {:.2} % ({t} ticks)", pct(t));
        }
        if let Some([v, d, o]) = i.received {
            print!(
                "; received {:.1} views/s, {:.1} dashes/s, {o} other",
                v as f64 / i.secs,
                d as f64 / i.secs
            );
        }
        println!();
        println!(
            "{}",
            Samples::new(
                format!("idle, {observers} observer(s): one publish"),
                i.publish_time
            )
            .row()
        );
    }
    Ok(())
}

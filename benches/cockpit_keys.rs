//! Key press → the frame that shows its effect, in the cockpit, while a step floods its
//! output (issue 10: p99 ≤ 16 ms).
//!
//! The real loop (`Prepared::drive` with a real `CrosstermBackend<Stdout>` terminal of a
//! fixed 120×40 viewport) runs a session on a local-transport inventory (the shell runs
//! here; the one server, on port 1, is down and its poller says so every 250 ms), as
//! `tests/driver_faults.rs` does. This process's stdout is a pipe that a thread of its own
//! reads into a terminal emulator (the `vt100` crate); the results go to the original
//! stdout.
//!
//! The `flood` step prints 50 MB (`head -c 50000000 /dev/zero | tr '\0' x | fold -w 100`).
//! While it runs, keys go in on the cockpit's input channel, as its keyboard task sends
//! them: `j`, then `k`, and so on, each 20–80 ms after the previous one's effect was seen.
//! A sample is the time from just before a key is sent to the moment the emulator's
//! screen shows its effect: the detail pane's first line names the step selected
//! (`n1 [note]` after `j`, `flood [shell]` after `k`). Only keys whose effect was seen
//! while the step still ran count.
//!
//! A run is SESSIONS sessions, each with one flood (a flood lasts a few seconds, so one
//! gives only a few dozen samples).
//!
//! `cargo bench --bench cockpit_keys`; env RUNS (3), SESSIONS (8), FLOOD_MB (50), WIDTH
//! and HEIGHT (120, 40).

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/stats.rs"]
mod stats;

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use flightdeck::diag::SourceFile;
use flightdeck::inventory;
use flightdeck::poll::start::PollIntervals;
use flightdeck::runbook::check_text;
use flightdeck::session::run::Command;
use flightdeck::tui::run::app::Msg;
use flightdeck::tui::run::runtime::Input;
use flightdeck::tui::run::start::prepare;
use flightdeck::tui::theme::Theme;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use stats::Samples;

const INVENTORY: &str = r#"
[[server]]
name = "db1"
role = "primary"
mysql = { host = "127.0.0.1", port = 1 }
transport = "local"
"#;

/// The key's wait for its effect before it counts as lost.
const LOST: Duration = Duration::from_secs(2);

fn runbook(megabytes: u64) -> String {
    format!(
        r#"
[runbook]
name = "keys under a flood"

[[phase]]
id = "p"
title = "flood"

[[phase.step]]
id = "flood"
title = "{megabytes} MB of output"
kind = "shell"
target = "db1"
command = "head -c {bytes} /dev/zero | tr '\\0' x | fold -w 100"

[[phase.step]]
id = "n1"
title = "a note to move to"
kind = "note"
text = "nothing to do"

[[phase.step]]
id = "n2"
title = "another note"
kind = "note"
text = "nothing to do"
"#,
        bytes = megabytes * 1_000_000
    )
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What the screen reader is asked to watch for.
#[derive(Default)]
struct Watch {
    /// The text whose appearance is the key's effect, and when the key was sent.
    want: Option<(String, Instant)>,
    /// Whether the last screen still showed the step running.
    running: bool,
    frames: u64,
    /// The screen as last read.
    screen: String,
}

fn main() {
    let runs = env_u64("RUNS", 3);
    let sessions = env_u64("SESSIONS", 8);
    let megabytes = env_u64("FLOOD_MB", 50);
    let width = env_u64("WIDTH", 120) as u16;
    let height = env_u64("HEIGHT", 40) as u16;

    // Our stdout becomes a pipe that the reader thread turns into a screen.
    // SAFETY: plain fd calls on fds this process owns; nothing else uses fd 1 meanwhile.
    let (mut report, read_end) = unsafe {
        let saved = libc::dup(1);
        let mut fds = [0; 2];
        assert!(saved >= 0 && libc::pipe(fds.as_mut_ptr()) == 0, "pipe");
        assert!(libc::dup2(fds[1], 1) >= 0, "dup2");
        libc::close(fds[1]);
        (File::from_raw_fd(saved), OwnedFd::from_raw_fd(fds[0]))
    };
    let watch = Arc::new(Mutex::new(Watch::default()));
    let (seen_tx, seen_rx) = std_mpsc::channel::<Duration>();
    {
        let watch = watch.clone();
        std::thread::spawn(move || {
            read_screen(File::from(read_end), width, height, watch, seen_tx)
        });
    }

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let _ = writeln!(
        report,
        "key → frame with its effect, cockpit {width}x{height}, a step printing {megabytes} MB, {runs} runs of {sessions} sessions"
    );
    let _ = writeln!(report, "{}", stats::header());
    let mut all = Vec::new();
    for run in 1..=runs {
        let (mut samples, mut lost, mut flood, mut frames) = (Vec::new(), 0, Duration::ZERO, 0);
        for _ in 0..sessions {
            let (s, l, f, n) = rt.block_on(one_run(
                &runbook(megabytes),
                width,
                height,
                &watch,
                &seen_rx,
            ));
            samples.extend(s);
            if std::env::var_os("FLIGHTDECK_BENCH_DUMP").is_some() {
                let _ = writeln!(report, "{}", watch.lock().expect("watch").screen);
            }
            lost += l;
            flood += f;
            frames += n;
        }
        all.extend(samples.iter().copied());
        let _ = writeln!(
            report,
            "{}",
            Samples::new(format!("run {run}"), samples).row()
        );
        let _ = writeln!(
            report,
            "    {sessions} floods, {:.1} s in all, {:.1} frames/s, {lost} keys lost (no effect within {LOST:?})",
            flood.as_secs_f64(),
            frames as f64 / flood.as_secs_f64()
        );
    }
    let _ = writeln!(report, "{}", Samples::new("all runs", all).row());
}

/// One session: starts the flood, presses keys until it ends. Returns the samples, the
/// keys lost, how long the flood ran and the frames drawn meanwhile.
async fn one_run(
    runbook: &str,
    width: u16,
    height: u16,
    watch: &Arc<Mutex<Watch>>,
    seen: &std_mpsc::Receiver<Duration>,
) -> (Vec<Duration>, usize, Duration, u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let inv = inventory::parse(&dir.path().join("inv.toml"), INVENTORY).expect("inventory");
    let loaded = check_text(SourceFile::new("keys.toml", runbook), Some(&inv)).expect("runbook");
    let journal = dir.path().join("keys.jsonl");
    let mut p = prepare(loaded, inv, &journal, PollIntervals::default())
        .await
        .expect("cockpit");
    let backend = CrosstermBackend::new(std::io::stdout());
    let viewport = Viewport::Fixed(Rect::new(0, 0, width, height));
    let mut term = Terminal::with_options(backend, TerminalOptions { viewport }).expect("term");

    let flood = Command::Run {
        step: "flood".into(),
        typed: None,
        justification: None,
    };
    p.driver
        .command(flood, Instant::now())
        .expect("the flood starts");
    *watch.lock().expect("watch") = Watch {
        running: true,
        ..Watch::default()
    };
    let began = Instant::now();

    let keys = p.tx.clone();
    let presser = {
        let watch = watch.clone();
        // Samples come back on `seen`, which stays with the caller: collect them there.
        tokio::task::spawn_blocking(move || press(keys, &watch))
    };
    let mut inputs = std::mem::replace(&mut p.rx, tokio::sync::mpsc::channel(1).1);
    p.drive(&mut inputs, Some(&mut term), Theme { color: true })
        .await
        .expect("the loop runs");
    let flood_time = began.elapsed();
    let (lost, flood_end) = presser.await.expect("presser");
    let flood_time = flood_end.map_or(flood_time, |t| t - began);
    p.driver.finish("bench over").await;
    let frames = watch.lock().expect("watch").frames;
    let samples: Vec<Duration> = seen.try_iter().collect();
    (samples, lost, flood_time, frames)
}

/// Presses `j` and `k` in turn while the flood runs, each after the previous one's effect
/// (or its loss); then quits the cockpit. Returns the keys lost and when the flood was
/// seen to end.
fn press(keys: tokio::sync::mpsc::Sender<Input>, watch: &Mutex<Watch>) -> (usize, Option<Instant>) {
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let mut lost = 0;
    let mut down = true;
    // Let the flood get going first.
    std::thread::sleep(Duration::from_millis(500));
    let flood_end = loop {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::thread::sleep(Duration::from_millis(20 + rng % 61));
        if !watch.lock().expect("watch").running {
            break Some(Instant::now());
        }
        let (code, want) = if down {
            (KeyCode::Char('j'), "n1 [note]")
        } else {
            (KeyCode::Char('k'), "flood [shell]")
        };
        let sent = Instant::now();
        watch.lock().expect("watch").want = Some((want.to_string(), sent));
        let key = Input::Ui(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
        if keys.blocking_send(key).is_err() {
            break None;
        }
        while watch.lock().expect("watch").want.is_some() {
            if sent.elapsed() > LOST {
                let mut w = watch.lock().expect("watch");
                w.want = None;
                // A key sent as the flood ended may act on the next step, where the
                // cursor went by itself: not a key lost under the flood.
                lost += usize::from(w.running);
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        down = !down;
    };
    let _ = keys.blocking_send(Input::Shutdown("bench over".into()));
    (lost, flood_end)
}

/// Reads the cockpit's terminal output into an emulated screen; reports each awaited
/// effect as soon as a read shows it.
fn read_screen(
    mut pipe: File,
    width: u16,
    height: u16,
    watch: Arc<Mutex<Watch>>,
    seen: std_mpsc::Sender<Duration>,
) {
    let size = |n: u16| std::num::NonZeroU16::new(n).expect("size");
    let mut parser = vt100::Parser::new(size(height), size(width), 0);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match pipe.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let at = Instant::now();
        parser.process(&buf[..n]);
        // ratatui hides the cursor at the end of every frame.
        let frames = buf[..n].windows(6).filter(|w| w == b"\x1b[?25l").count() as u64;
        let screen = parser.screen().contents();
        let mut w = watch.lock().expect("watch");
        w.frames += frames;
        w.running = screen.contains("running");
        if let Some((want, sent)) = &w.want
            && screen.contains(want.as_str())
        {
            if w.running {
                let _ = seen.send(at - *sent);
            }
            w.want = None;
        }
        w.screen = screen;
    }
}

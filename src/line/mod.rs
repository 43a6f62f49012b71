//! `flightdeck run --no-tui`: the session in plain lines, on the same [`Driver`] as the
//! cockpit. It prints each step as the run reaches it (from the session's view: title,
//! why, notes, gates with their live values, the exact masked command), asks the same
//! questions on stdin, one line each, streams output and outcomes prefixed by the step
//! id, and prints the summary at the end. Everything is journaled by the driver, so it
//! resumes a journal the cockpit wrote and the other way round.
//!
//! Chosen by itself when stdin or stdout is not a terminal: under `script(1)`, with a
//! screen reader, into a log. A line answers only a question already printed: a line
//! typed while a step runs is `c` (cancel it), `q` (quit) or ignored. End of input quits
//! as `q` does, leaving a running step running; SIGTERM and SIGHUP end it as they end the
//! cockpit; Ctrl-C cancels the running step, closes an open question, or quits.

pub mod follow;
pub mod observe;
pub mod print;
pub mod prompt;
#[cfg(test)]
mod testkit;

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::exec::probe::ProbeMsg;
use crate::exec::spawn::ExecMsg;
use crate::inventory::Inventory;
use crate::poll::start::PollIntervals;
use crate::runbook::Loaded;
use crate::session::driver::{Driver, DriverError, Inputs};
use crate::session::journal::{JournalError, Stream};
use crate::session::run::Command;
use follow::{Follow, Out};

#[derive(Debug, thiserror::Error)]
pub enum LineError {
    #[error(transparent)]
    Driver(#[from] DriverError),
    #[error("cannot write to stdout: {0}")]
    Output(#[from] std::io::Error),
}

/// Whether `run` goes line mode: asked for, or stdin or stdout is not a terminal.
pub fn wanted(no_tui: bool) -> bool {
    no_tui || !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal()
}

/// `flightdeck run` in line mode, until the run is complete or the operator quits.
pub async fn run_line(
    loaded: Loaded,
    inv: Inventory,
    journal: &Path,
    intervals: PollIntervals,
) -> Result<(), LineError> {
    let (mut driver, mut inputs) = Driver::open(loaded, inv, journal, intervals).await?;
    let mut out = Printer {
        w: std::io::stdout(),
        at_prompt: false,
        // A terminal echoes what is typed; a pipe does not, so the transcript shows it.
        echo: !std::io::stdin().is_terminal(),
    };
    let result = drive(&mut driver, &mut inputs, &mut out).await;
    let reason = match &result {
        Ok(reason) => reason.clone(),
        Err(e) => format!("line mode stopped: {e}"),
    };
    driver.finish(&reason).await;
    result.map(|_| ())
}

/// Writes what [`Follow`] prints; a prompt stays open on its line until answered.
struct Printer<W: Write> {
    w: W,
    at_prompt: bool,
    echo: bool,
}

impl<W: Write> Printer<W> {
    fn emit(&mut self, outs: Vec<Out>) -> std::io::Result<()> {
        if outs.is_empty() {
            return Ok(());
        }
        for o in outs {
            if self.at_prompt {
                writeln!(self.w)?;
                self.at_prompt = false;
            }
            match o {
                Out::Line(l) => writeln!(self.w, "{l}")?,
                Out::Prompt(p) => {
                    write!(self.w, "{p} ")?;
                    self.at_prompt = true;
                }
            }
        }
        self.w.flush()
    }

    /// A line was read: a terminal has echoed it with its line break.
    fn answered(&mut self, line: &str) -> std::io::Result<()> {
        if self.echo {
            let shown = if self.at_prompt {
                line.to_string()
            } else {
                format!("> {line}")
            };
            writeln!(self.w, "{shown}")?;
        }
        self.at_prompt = false;
        self.w.flush()
    }
}

/// Stdin, line by line, read on a thread of its own: a blocking read of a terminal
/// cannot be interrupted, and this thread never holds up the exit. `Ok(None)` is the end
/// of input.
pub(crate) fn stdin_lines() -> mpsc::Receiver<std::io::Result<Option<String>>> {
    let (tx, rx) = mpsc::channel(16);
    let spawned = std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            use std::io::BufRead;
            for line in std::io::stdin().lock().lines() {
                let failed = line.is_err();
                if tx.blocking_send(line.map(Some)).is_err() || failed {
                    return;
                }
            }
            let _ = tx.blocking_send(Ok(None));
        });
    if let Err(e) = spawned {
        // Without a reader, no question can be answered: as if stdin were closed.
        let (tx, rx) = mpsc::channel(1);
        let _ = tx.try_send(Err(e));
        return rx;
    }
    rx
}

#[derive(Clone, Copy, Debug)]
enum Signal {
    /// Ctrl-C.
    Interrupt,
    /// SIGTERM or SIGHUP: the session ends, with this reason.
    End(&'static str),
}

/// SIGTERM, and SIGHUP (the SSH session to the bastion was lost), end the session as `q`
/// does, with the reason journaled and the lock released; SIGINT is Ctrl-C.
fn signals() -> mpsc::Receiver<Signal> {
    use tokio::signal::unix::{SignalKind, signal};
    let (tx, rx) = mpsc::channel(8);
    for (kind, sig) in [
        (
            SignalKind::terminate(),
            Signal::End("SIGTERM: asked to stop"),
        ),
        (
            SignalKind::hangup(),
            Signal::End("SIGHUP: the terminal went away"),
        ),
        (SignalKind::interrupt(), Signal::Interrupt),
    ] {
        let tx = tx.clone();
        if let Ok(mut s) = signal(kind) {
            tokio::spawn(async move {
                while s.recv().await.is_some() {
                    if tx.send(sig).await.is_err() {
                        break;
                    }
                }
            });
        }
    }
    rx
}

/// The one loop: stdin lines, signals, executor news and a 250 ms tick (the pollers'
/// latest snapshots, wait timeouts) go to the driver; after each, the published view is
/// followed. Returns why the session ended.
async fn drive<W: Write>(
    driver: &mut Driver,
    inputs: &mut Inputs,
    out: &mut Printer<W>,
) -> Result<String, LineError> {
    let mut stdin = stdin_lines();
    let mut stdin_open = true;
    let mut sigs = signals();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut follow = Follow::new();
    let mut last_error: Option<String> = None;
    driver.publish();
    out.emit(follow.observe(&driver.view(), Instant::now()))?;
    loop {
        if let Some(reason) = follow.quit_now() {
            return Ok(reason.to_string());
        }
        let mut news = true;
        let mut command = None;
        let mut result: Result<(), JournalError> = Ok(());
        // Biased: a line is taken against the question shown when it was typed, before
        // executor news can move the run on.
        tokio::select! {
            biased;
            Some(sig) = sigs.recv() => {
                let said = match sig {
                    Signal::Interrupt => {
                        let (said, cmd) = follow.interrupt(&driver.view());
                        command = cmd;
                        said
                    }
                    Signal::End(why) => vec![Out::Line(follow.end(why, &driver.view()))],
                };
                out.emit(said)?;
            }
            line = stdin.recv(), if stdin_open => match line.unwrap_or(Ok(None)) {
                Ok(Some(line)) => {
                    let line = line.strip_suffix('\r').unwrap_or(&line).to_string();
                    out.answered(&line)?;
                    let (said, cmd) = follow.line(&line, &driver.view());
                    command = cmd;
                    out.emit(said)?;
                }
                Ok(None) => {
                    stdin_open = false;
                    let reason = follow.end("stdin closed: operator quit", &driver.view());
                    out.emit(vec![Out::Line(reason)])?;
                }
                Err(e) => {
                    stdin_open = false;
                    let why = format!("stdin unreadable ({e}): operator quit");
                    let reason = follow.end(&why, &driver.view());
                    out.emit(vec![Out::Line(reason)])?;
                }
            },
            Some(e) = inputs.exec_rx.recv() => {
                if let ExecMsg::Output { step, stream, text, .. } = &e {
                    // Output changes nothing else a step shows: no new view for it.
                    news = false;
                    if driver.core.current_attempt(&e) {
                        let stream = Stream::from_label(stream);
                        out.emit(
                            text.lines()
                                .map(|l| Out::Line(print::output_line(step, stream, l)))
                                .collect(),
                        )?;
                    }
                }
                match &e {
                    ExecMsg::Probe { step, msg: ProbeMsg::Done(report), .. } => {
                        let line = print::output_line(step, Stream::Info, &report.summary());
                        out.emit(vec![Out::Line(line)])?;
                    }
                    // The probe's live state is for screens; its result is printed.
                    ExecMsg::Probe { .. } => news = false,
                    _ => {}
                }
                result = driver.exec(e, Instant::now());
            }
            _ = tick.tick() => {
                let now = Instant::now();
                result = driver
                    .refresh(&inputs.pollers, now)
                    .and_then(|()| driver.tick(now));
            }
        }
        if let Some(cmd) = command {
            out.emit(give(driver, &mut follow, cmd))?;
        }
        // A journal that cannot be written stops no one: the driver refuses to start
        // steps and the view says why; the error is said once.
        let error = result.err().map(|e| format!("journal: {e}"));
        if error.is_some() && error != last_error {
            out.emit(error.iter().cloned().map(Out::Line).collect())?;
        }
        last_error = error;
        if news {
            driver.publish();
            out.emit(follow.observe(&driver.view(), Instant::now()))?;
        }
    }
}

/// Gives the session an operator's command; a refusal is said and the step's question is
/// asked again.
fn give(driver: &mut Driver, follow: &mut Follow, cmd: Command) -> Vec<Out> {
    match driver.command(cmd, Instant::now()) {
        Ok(()) => Vec::new(),
        Err(e) => follow.refused(&e.to_string()),
    }
}

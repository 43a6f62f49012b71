//! Starting the cockpit: the session driver (pollers, lock, journal, executors), the
//! cockpit's own state, and the channel the loop reads. `prepare` is shared by the
//! terminal (`run_cockpit`) and by tests that drive the same loop with key messages.

use std::path::Path;

use tokio::sync::mpsc;

use super::app::RunApp;
use super::runtime::{Input, RuntimeError};
use crate::inventory::Inventory;
use crate::poll::start::{PollIntervals, forward};
use crate::runbook::Loaded;
use crate::session::driver::{Driver, DriverError, Inputs};
use crate::tui::terminal;
use crate::tui::theme::Theme;

#[derive(Debug, thiserror::Error)]
pub enum CockpitError {
    #[error(transparent)]
    Driver(#[from] DriverError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error("terminal: {0}")]
    Terminal(#[from] std::io::Error),
}

/// A cockpit ready to drive.
pub struct Prepared {
    pub driver: Driver,
    pub inputs: Inputs,
    pub app: RunApp,
    /// The operator's inputs (keys, signals): read before anything else, so a key never
    /// waits behind snapshots.
    pub tx: mpsc::Sender<Input>,
    pub rx: mpsc::Receiver<Input>,
    /// The pollers' news (a snapshot that changed), forwarded from their watch channels.
    pub news: mpsc::Receiver<Input>,
}

pub async fn prepare(
    loaded: Loaded,
    inv: Inventory,
    journal: &Path,
    intervals: PollIntervals,
) -> Result<Prepared, CockpitError> {
    let (mut driver, inputs) = Driver::open(loaded, inv, journal, intervals).await?;
    let (tx, rx) = mpsc::channel(256);
    let (news_tx, news) = mpsc::channel(256);
    for r in &inputs.pollers.servers {
        forward(r.clone(), news_tx.clone(), Input::Server);
    }
    if let Some(m) = &inputs.pollers.maxscale {
        forward(m.clone(), news_tx.clone(), Input::Maxscale);
    }
    // A second operator attaches on JOURNAL.sock; a socket that cannot be made is said,
    // and the session goes on without pairing.
    let mut notice = None;
    match driver.serve() {
        Ok(mut events) => {
            let tx = tx.clone();
            tokio::spawn(async move {
                while let Some(e) = events.recv().await {
                    if tx.send(Input::Pair(e)).await.is_err() {
                        break;
                    }
                }
            });
        }
        Err(e) => notice = Some(format!("no pairing socket: {e}")),
    }
    driver.publish();
    let mut app = RunApp::new(&driver.view());
    if let Some(n) = notice {
        app.message = Some(n);
    }
    Ok(Prepared {
        driver,
        inputs,
        app,
        tx,
        rx,
        news,
    })
}

/// `flightdeck run`: the cockpit in the terminal.
pub async fn run_cockpit(
    loaded: Loaded,
    inv: Inventory,
    journal: &Path,
    intervals: PollIntervals,
) -> Result<(), CockpitError> {
    let mut p = prepare(loaded, inv, journal, intervals).await?;
    let keyboard = terminal::keyboard(p.tx.clone(), Input::Ui);
    signals(p.tx.clone());
    let (mut term, guard) = terminal::enter_cockpit()?;
    let mut rx = std::mem::replace(&mut p.rx, mpsc::channel(1).1);
    let result = p.drive(&mut rx, Some(&mut term), Theme::from_env()).await;
    drop(guard);
    keyboard.abort();
    let reason = p
        .app
        .quit_reason
        .clone()
        .unwrap_or_else(|| "operator quit".into());
    p.driver.finish(&reason).await;
    if p.driver.handed_over().is_some() {
        // Roles swap: the former driver stays on as an observer of the same session.
        use std::os::unix::process::CommandExt;
        drop(p);
        let exe = std::env::current_exe()?;
        let err = std::process::Command::new(exe)
            .arg("attach")
            .args(["--wait", "30"])
            .arg(journal)
            .exec();
        return Err(CockpitError::Terminal(err));
    }
    result.map_err(Into::into)
}

/// SIGTERM, and SIGHUP (the SSH session to the bastion was lost), end the cockpit as `q`
/// does, with the reason journaled and the lock released.
fn signals(tx: mpsc::Sender<Input>) {
    use tokio::signal::unix::{SignalKind, signal};
    for (kind, reason) in [
        (SignalKind::terminate(), "SIGTERM: asked to stop"),
        (SignalKind::hangup(), "SIGHUP: the terminal went away"),
    ] {
        let tx = tx.clone();
        if let Ok(mut s) = signal(kind) {
            tokio::spawn(async move {
                if s.recv().await.is_some() {
                    let _ = tx.send(Input::Shutdown(reason.into())).await;
                }
            });
        }
    }
}

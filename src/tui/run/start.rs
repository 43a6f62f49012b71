//! Starting the cockpit: pollers, live roles and pins, the session (lock, secrets,
//! journal), executors, and the channels the loop reads. `prepare` is shared by the
//! terminal (`run_cockpit`) and by tests that drive the same loop with key messages.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, EventStream, MouseEventKind};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::app::{Msg, RunApp};
use super::runtime::{Runtime, RuntimeError};
use crate::exec::host::{HostPool, SshOptions};
use crate::exec::spawn::{ExecMsg, Executors};
use crate::inventory::Inventory;
use crate::poll::start::{PollIntervals, StartError, forward, sql_targets, start};
use crate::runbook::Loaded;
use crate::runbook::roles::RoleMap;
use crate::session::journal::{Event, Stream};
use crate::session::open::{self as session, SessionError};
use crate::session::run::Run;
use crate::tui::dashboard::Dashboard;
use crate::tui::terminal;
use crate::tui::theme::Theme;

#[derive(Debug, thiserror::Error)]
pub enum CockpitError {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error("terminal: {0}")]
    Terminal(#[from] std::io::Error),
}

/// A cockpit ready to drive.
pub struct Prepared {
    pub app: RunApp,
    pub runtime: Runtime,
    /// Send key messages here (the keyboard task does, and so do tests).
    pub msgs_tx: mpsc::Sender<Msg>,
    pub msgs: mpsc::Receiver<Msg>,
    pub exec_rx: mpsc::Receiver<ExecMsg>,
    pub cancel: CancellationToken,
}

pub async fn prepare(
    loaded: Loaded,
    inv: Inventory,
    journal: &Path,
    intervals: PollIntervals,
    theme: Theme,
) -> Result<Prepared, CockpitError> {
    let cancel = CancellationToken::new();
    let pollers = start(&inv, intervals, &cancel)?;
    let names: Vec<(String, String)> = inv
        .servers
        .iter()
        .map(|s| (s.name.clone(), s.maxscale_name.clone()))
        .collect();
    let mut dash = Dashboard::new(&names, intervals.sql, intervals.maxscale);
    // Pins capture who holds each role when the run begins: wait briefly for live roles.
    let begun = Instant::now();
    while begun.elapsed() < Duration::from_secs(5) {
        for r in &pollers.servers {
            dash.apply_server(r.borrow().clone());
        }
        if let Some(m) = &pollers.maxscale {
            dash.apply_maxscale(m.borrow().clone());
        }
        if dash.primary().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut roles = RoleMap::from_inventory(&inv, &loaded.runbook.pins);
    let mut notices = Vec::new();
    match dash.primary() {
        Some(p) => {
            roles.switchover(p);
            roles.pins.clear();
            roles.capture_pins(&loaded.runbook.pins);
        }
        None => {
            notices.push("no live primary yet: roles and pins come from the inventory".to_string())
        }
    }
    let mut run = Run::new(loaded.runbook.clone());
    let session = session::open(journal, &loaded, &inv, &mut run, &mut roles)?;
    notices.extend(session.notices.clone());

    let (exec_tx, exec_rx) = mpsc::channel(1024);
    let executors = Executors {
        sql: Arc::new(sql_targets(&inv)?),
        hosts: HostPool::new(SshOptions::default()),
        maxscale: crate::poll::start::maxscale_client(&inv)?,
        masker: Arc::new(session.masker.clone()),
        tx: exec_tx,
    };
    let (msgs_tx, msgs) = mpsc::channel(1024);
    for r in &pollers.servers {
        forward(r.clone(), msgs_tx.clone(), Msg::Server);
    }
    if let Some(m) = &pollers.maxscale {
        forward(m.clone(), msgs_tx.clone(), Msg::Maxscale);
    }
    let mut vars = loaded.runbook.vars.clone();
    vars.extend(inv.vars.clone());
    let inv = Arc::new(inv);
    let mut app = RunApp::new(run, dash, roles, inv.clone(), vars.clone());
    app.began = session.began;
    app.completed_at = session.completed_at;
    for (step, out) in &session.restored_output {
        let lines = app.output.entry(step.clone()).or_default();
        for (stream, text) in out {
            let stream = match stream {
                Stream::Stdout => "stdout",
                Stream::Stderr => "stderr",
                Stream::Info => "info",
            };
            lines.extend(text.lines().map(|l| (stream, l.to_string())));
        }
    }
    if app.run.completed {
        notices.push("this run is complete (Enter closes its summary)".into());
    }
    if !notices.is_empty() {
        app.message = Some(notices.join(" · "));
    }
    let mut runtime = Runtime::new(inv, vars, session, executors, theme);
    runtime.pollers = Some(pollers);
    Ok(Prepared {
        app,
        runtime,
        msgs_tx,
        msgs,
        exec_rx,
        cancel,
    })
}

/// `flightdeck run`: the cockpit in the terminal.
pub async fn run_cockpit(
    loaded: Loaded,
    inv: Inventory,
    journal: &Path,
    intervals: PollIntervals,
) -> Result<(), CockpitError> {
    let mut p = prepare(loaded, inv, journal, intervals, Theme::from_env()).await?;
    let keys = p.msgs_tx.clone();
    let keyboard = tokio::spawn(async move {
        let mut events = EventStream::new();
        while let Some(Ok(ev)) = events.next().await {
            let msg = match ev {
                TermEvent::Key(k) => Msg::Key(k),
                TermEvent::Paste(text) => Msg::Paste(text),
                TermEvent::Mouse(m) => match m.kind {
                    MouseEventKind::ScrollDown => Msg::Scroll(3),
                    MouseEventKind::ScrollUp => Msg::Scroll(-3),
                    _ => continue,
                },
                TermEvent::Resize(..) => Msg::Tick,
                _ => continue,
            };
            if keys.send(msg).await.is_err() {
                break;
            }
        }
    });
    let (mut term, guard) = terminal::enter_cockpit()?;
    let result = p
        .runtime
        .drive(&mut p.app, &mut p.msgs, &mut p.exec_rx, Some(&mut term))
        .await;
    drop(guard);
    keyboard.abort();
    finish(&mut p, "operator quit").await;
    result.map_err(Into::into)
}

/// Ends the session: the journal says so, tasks stop, SSH sessions close.
pub async fn finish(p: &mut Prepared, reason: &str) {
    let _ = p.runtime.session.journal.append(&Event::SessionEnd {
        reason: reason.to_string(),
    });
    p.cancel.cancel();
    p.runtime.executors.hosts.close().await;
}

//! The one event loop of `watch`: terminal events, snapshot changes and a once-a-second
//! tick (ages move on), applied to the state; one draw after each batch of messages.

use std::time::{Duration, Instant};

use crossterm::event::{Event, EventStream};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::dashboard::Dashboard;
use super::terminal;
use super::theme::Theme;
use super::watch::{Msg, WatchApp, view};
use crate::inventory::Inventory;
use crate::poll::start::{PollIntervals, StartError, forward, start};

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error("terminal: {0}")]
    Terminal(#[from] std::io::Error),
}

pub async fn run(inv: &Inventory, intervals: PollIntervals) -> Result<(), WatchError> {
    let cancel = CancellationToken::new();
    let pollers = start(inv, intervals, &cancel)?;
    let names: Vec<(String, String)> = inv
        .servers
        .iter()
        .map(|s| (s.name.clone(), s.maxscale_name.clone()))
        .collect();
    let mut app = WatchApp::new(Dashboard::new(&names, intervals.sql, intervals.maxscale));
    let (tx, mut rx) = mpsc::channel(256);
    for r in &pollers.servers {
        forward(r.clone(), tx.clone(), Msg::Server);
    }
    if let Some(m) = &pollers.maxscale {
        forward(m.clone(), tx.clone(), Msg::Maxscale);
    }
    drop(tx);

    let theme = Theme::from_env();
    let (mut term, _guard) = terminal::enter()?;
    let size = term.size()?;
    app.update(Msg::Resize(size.width, size.height));
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut dirty = true;
    while !app.quit {
        if dirty {
            // Pollers publish without waking us when only the poll time changed: take the
            // latest times now, so ages are true and STALE means a poller has stalled.
            for r in &pollers.servers {
                app.dash.apply_server(r.borrow().clone());
            }
            if let Some(m) = &pollers.maxscale {
                app.dash.apply_maxscale(m.borrow().clone());
            }
            term.draw(|f| view(&app, f, Instant::now(), &theme))?;
            dirty = false;
        }
        let msg = tokio::select! {
            biased;
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) => Msg::Key(k),
                Some(Ok(Event::Resize(w, h))) => Msg::Resize(w, h),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e.into()),
                None => break,
            },
            Some(msg) = rx.recv() => msg,
            _ = tick.tick() => Msg::Tick,
        };
        dirty |= app.update(msg);
        // Apply everything already queued before drawing once.
        while let Ok(msg) = rx.try_recv() {
            dirty |= app.update(msg);
        }
    }
    cancel.cancel();
    Ok(())
}

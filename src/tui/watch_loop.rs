//! The one event loop of `watch`: terminal events, news from the pollers and a
//! once-a-second tick (ages move on, the sparklines take a sample) change the state; the
//! screen is drawn once for all that arrived together, at most every [`FRAME`], and at
//! once after a key.
//!
//! A poller's news is only *which* poller has something new: the loop takes the latest
//! snapshot from the poller's channel itself when it draws, so a snapshot is cloned once
//! per frame at most, and a server that did not change costs a time stamp. Settled
//! replicas are polled at the relaxed interval ([`crate::poll::tier`]).

use std::time::{Duration, Instant};

use crossterm::event::{Event, EventStream};
use futures::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::dashboard::Dashboard;
use super::terminal;
use super::theme::Theme;
use super::watch::{Msg, WatchApp, view};
use crate::inventory::{Inventory, maxscale_warning};
use crate::poll::start::{PollIntervals, Pollers, StartError, start_with};
use crate::poll::tier::{RELAXED, Tiers};

/// Draws at most this often for news from the pollers (keys draw at once).
pub const FRAME: Duration = Duration::from_millis(100);

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error("terminal: {0}")]
    Terminal(#[from] std::io::Error),
}

pub async fn run(inv: &Inventory, intervals: PollIntervals) -> Result<(), WatchError> {
    let cancel = CancellationToken::new();
    let tiers = Tiers::new(intervals.sql.max(RELAXED));
    // Rows turn stale after three relaxed intervals, the longest a settled replica waits.
    let stale_after = tiers.relaxed();
    let pollers = start_pollers(inv, intervals, Some(tiers), &cancel)?;
    let names: Vec<(String, String)> = inv
        .servers
        .iter()
        .map(|s| (s.name.clone(), s.maxscale_name.clone()))
        .collect();
    let mut dash = Dashboard::new(&names, stale_after, intervals.maxscale);
    dash.maxscale_warning = inv.maxscale.as_ref().and_then(maxscale_warning);
    dash.addresses = crate::session::live::addresses(inv);
    let mut app = WatchApp::new(dash);
    let (tx, mut news) = mpsc::channel(pollers.servers.len() + 1);
    for r in &pollers.servers {
        notify(r.clone(), tx.clone());
    }
    if let Some(m) = &pollers.maxscale {
        notify(m.clone(), tx.clone());
    }
    drop(tx);

    let theme = Theme::from_env();
    let (mut term, _guard) = terminal::enter()?;
    let size = term.size()?;
    app.update(Msg::Resize(size.width, size.height));
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut receivers = Receivers::new(&pollers);
    let mut dirty = true;
    let mut next_frame = tokio::time::Instant::now();
    while !app.quit {
        let frame_due = tokio::time::sleep_until(next_frame);
        tokio::select! {
            biased;
            ev = events.next() => {
                let msg = match ev {
                    Some(Ok(Event::Key(k))) => Msg::Key(k),
                    Some(Ok(Event::Resize(w, h))) => Msg::Resize(w, h),
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err(e.into()),
                    None => break,
                };
                if app.update(msg) {
                    dirty = true;
                    next_frame = tokio::time::Instant::now();
                }
            }
            // Before news: a draw takes the latest of every poller, news or not.
            _ = frame_due, if dirty => {
                receivers.latest(&mut app.dash);
                term.draw(|f| view(&app, f, Instant::now(), &theme))?;
                dirty = false;
                next_frame = tokio::time::Instant::now() + FRAME;
            }
            Some(()) = news.recv() => {
                while news.try_recv().is_ok() {}
                dirty = true;
            }
            _ = tick.tick() => dirty |= app.update(Msg::Tick),
        }
    }
    cancel.cancel();
    Ok(())
}

/// Starts the pollers after teaching this process the inventory's secrets: server errors
/// in the panes (a failed login, a `Last_SQL_Error` quoting a statement) are masked with
/// what the process knows, and without a session nothing else would tell it.
pub fn start_pollers(
    inv: &Inventory,
    intervals: PollIntervals,
    tiers: Option<Tiers>,
    cancel: &CancellationToken,
) -> Result<Pollers, StartError> {
    crate::session::mask::remember(&crate::session::open::inventory_masker(inv));
    start_with(inv, intervals, tiers, cancel)
}

/// Says on `tx` that `rx` has news, each time it has, until either side closes. Many
/// changes before the loop reads the news are one piece of news.
fn notify<T: Send + Sync + 'static>(mut rx: watch::Receiver<T>, tx: mpsc::Sender<()>) {
    tokio::spawn(async move {
        while rx.changed().await.is_ok() {
            rx.borrow_and_update();
            if tx.send(()).await.is_err() {
                break;
            }
        }
    });
}

/// The loop's own receivers of every poller, to take the latest snapshots before a draw.
struct Receivers {
    servers: Vec<watch::Receiver<crate::poll::ServerSnapshot>>,
    maxscale: Option<watch::Receiver<crate::poll::maxscale::MaxscaleSnapshot>>,
}

impl Receivers {
    fn new(pollers: &Pollers) -> Self {
        Self {
            servers: pollers.servers.clone(),
            maxscale: pollers.maxscale.clone(),
        }
    }

    /// Brings `dash` up to date: a snapshot that changed is applied whole; one that did
    /// not only brings its newer poll time (pollers publish their time without waking
    /// anyone), so ages are true and STALE means a poller has stalled.
    fn latest(&mut self, dash: &mut Dashboard) {
        for rx in &mut self.servers {
            let changed = rx.has_changed().unwrap_or(false);
            let snap = rx.borrow_and_update();
            if changed || !dash.touch_server(&snap) {
                dash.apply_server(snap.clone());
            }
        }
        if let Some(rx) = &mut self.maxscale {
            let changed = rx.has_changed().unwrap_or(false);
            let snap = rx.borrow_and_update();
            if changed || !dash.touch_maxscale(&snap) {
                dash.apply_maxscale(snap.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use tokio::sync::watch;

    use super::Receivers;
    use crate::poll::{ServerInfo, ServerSnapshot};
    use crate::tui::dashboard::Dashboard;

    fn snap(server: &str, at: Instant, server_id: u32) -> ServerSnapshot {
        ServerSnapshot {
            server: server.into(),
            taken_at: at,
            wall_time: std::time::SystemTime::now(),
            info: Some(ServerInfo {
                server_id,
                ..ServerInfo::default()
            }),
            error: None,
        }
    }

    #[test]
    fn a_draw_takes_what_changed_whole_and_only_the_poll_time_of_the_rest() {
        let t0 = Instant::now();
        let names = [("a", "a"), ("b", "b")].map(|(n, m)| (n.to_string(), m.to_string()));
        let mut dash = Dashboard::new(&names, Duration::from_secs(1), Duration::from_secs(1));
        let (a_tx, a_rx) = watch::channel(snap("a", t0, 1));
        let (b_tx, b_rx) = watch::channel(snap("b", t0, 2));
        let mut rx = Receivers {
            servers: vec![a_rx, b_rx],
            maxscale: None,
        };
        rx.latest(&mut dash);
        assert_eq!(dash.answered("b"), Some(t0));

        // `a` changes (woken); `b` only polled again (published without waking anyone).
        let t1 = t0 + Duration::from_millis(300);
        a_tx.send_replace(snap("a", t1, 7));
        b_tx.send_if_modified(|s| {
            s.taken_at = t1;
            false
        });
        rx.latest(&mut dash);
        let a = dash.server("a").expect("a");
        assert_eq!(a.info.as_ref().map(|i| i.server_id), Some(7));
        let b = dash.server("b").expect("b");
        assert_eq!((b.taken_at, dash.answered("b")), (t1, Some(t1)));
        assert_eq!(b.info.as_ref().map(|i| i.server_id), Some(2));
    }
}

//! The cockpit's one loop: keys, poller snapshots, executor news and a tick go to the
//! session [`Driver`] (keys through [`RunApp::key`], which turns them into commands);
//! the screen is redrawn from the driver's published view when something changed, at most
//! 30 times a second. A test drives the same path with [`Prepared::apply`].

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::app::{Msg, Request, RunApp};
use super::start::Prepared;
use super::view::{ViewContext, view};
use crate::exec::spawn::ExecMsg;
use crate::poll::ServerSnapshot;
use crate::poll::maxscale::MaxscaleSnapshot;
use crate::session::pair::PairEvent;
use crate::tui::terminal::Term;
use crate::tui::theme::Theme;

/// Redraws at most this often.
const FRAME: Duration = Duration::from_millis(33);
/// With nothing else new, ages and spinners move this often.
const AGES: Duration = Duration::from_secs(1);
/// A poller's news waits this long for the others' (the primary's heartbeat, the replica
/// that follows it, MaxScale's list) so that they make one frame, not three.
const NEWS: Duration = Duration::from_millis(200);

/// Everything the loop reacts to.
#[derive(Debug)]
pub enum Input {
    Ui(Msg),
    Server(ServerSnapshot),
    Maxscale(MaxscaleSnapshot),
    Exec(ExecMsg),
    /// Time passes: ages, spinners, wait timeouts; and poll times that woke nobody.
    Tick,
    /// Something happened on the pairing socket (a second operator, their approval…).
    Pair(PairEvent),
    /// The process is asked to stop (SIGTERM, or SIGHUP when the terminal went away): as
    /// `q`, with this reason journaled; a running step is left running.
    Shutdown(String),
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("terminal: {0}")]
    Terminal(#[from] std::io::Error),
}

impl Prepared {
    /// Applies one input and shows the operator the session as it now is.
    pub fn apply(&mut self, input: Input, now: Instant) {
        self.feed(input, now);
        self.driver.publish();
        self.app.observe(&self.driver.view(), now);
    }

    /// Applies one input without republishing the view (the loop publishes once a frame).
    /// A journal that cannot be written does not stop the cockpit: the driver refuses to
    /// start steps and the screen says why.
    fn feed(&mut self, input: Input, now: Instant) {
        let result = match input {
            Input::Ui(Msg::Key(k)) => {
                let request = self.app.key(k, &self.driver.view(), now);
                let result = match request {
                    Some(Request::Session(cmd)) => match self.driver.command(cmd, now) {
                        Err(e) => {
                            self.app.message = Some(e.to_string());
                            Ok(())
                        }
                        Ok(()) => Ok(()),
                    },
                    Some(Request::Note(text)) => {
                        let me = self.driver.operator.clone();
                        self.driver.note(&me, &text)
                    }
                    Some(Request::HandOver) => {
                        self.app.message = Some(self.driver.offer(None));
                        Ok(())
                    }
                    Some(Request::Approve { step, typed }) => {
                        let me = self.driver.operator.clone();
                        self.driver
                            .approve(&me, &step, &typed)
                            .map(|said| self.app.message = Some(said))
                    }
                    None => Ok(()),
                };
                // The answer shows at once, not at the next frame.
                self.driver.publish();
                result
            }
            Input::Ui(Msg::Paste(text)) => {
                self.app.paste(&text);
                Ok(())
            }
            Input::Ui(Msg::Scroll(lines)) => {
                self.app.scroll_detail(lines);
                Ok(())
            }
            Input::Server(s) => self.driver.server(s, now),
            Input::Maxscale(m) => self.driver.maxscale(m, now),
            Input::Exec(e) => self.driver.exec(e, now),
            Input::Tick => self
                .driver
                .refresh(&self.inputs.pollers, now)
                .and_then(|()| self.driver.tick(now)),
            Input::Pair(e) => self.driver.pair(e),
            Input::Shutdown(reason) => {
                self.app.quit = true;
                self.app.quit_reason = Some(reason);
                Ok(())
            }
        };
        if let Err(e) = result {
            self.app.message = Some(format!("journal: {e}"));
        }
        if self.app.quit_when_idle && self.driver.view().running.is_none() {
            self.app.quit = true;
        }
        if let Some(to) = self.driver.handed_over() {
            self.app.quit = true;
            self.app.quit_reason = Some(format!("handed over to {to}"));
        }
    }

    /// Runs until the operator quits or the inputs close. Draws when a terminal is given.
    pub async fn drive(
        &mut self,
        inputs: &mut mpsc::Receiver<Input>,
        mut term: Option<&mut Term>,
        theme: Theme,
    ) -> Result<(), RuntimeError> {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut dirty = true;
        let mut last_draw = Instant::now();
        let mut next_frame = tokio::time::Instant::now();
        while !self.app.quit {
            // A frame that is due is drawn before anything else is read: under a flood of
            // executor news the channel is never empty, and a frame waiting for a lull
            // would leave a key's effect unseen for seconds.
            let due = dirty && tokio::time::Instant::now() >= next_frame;
            let frame_due = tokio::time::sleep_until(next_frame);
            // Keys first, then executor news, then snapshots, then time.
            let input = if due {
                None
            } else {
                tokio::select! {
                    biased;
                    i = inputs.recv() => match i { Some(i) => Some(i), None => break },
                    Some(e) = self.inputs.exec_rx.recv() => Some(Input::Exec(e)),
                    Some(n) = self.news.recv() => Some(n),
                    _ = tick.tick() => Some(Input::Tick),
                    _ = frame_due, if dirty => None,
                }
            };
            let now = Instant::now();
            match input {
                Some(i) => {
                    // Keys answer at once; news waits for the next frame; a tick alone
                    // redraws (ages, spinners) once a second.
                    let key = matches!(i, Input::Ui(_));
                    let tick = matches!(i, Input::Tick);
                    let polled = matches!(i, Input::Server(_) | Input::Maxscale(_));
                    self.feed(i, now);
                    if !tick || last_draw.elapsed() >= AGES {
                        if polled && !dirty {
                            next_frame = next_frame.max(tokio::time::Instant::now() + NEWS);
                        }
                        dirty = true;
                    }
                    if key {
                        next_frame = tokio::time::Instant::now();
                    }
                }
                None => {
                    self.driver.publish();
                    self.app.observe(&self.driver.view(), now);
                    if let Some(t) = term.as_deref_mut() {
                        let ctx = ViewContext { theme };
                        let session = self.driver.view();
                        let dash = &self.driver.core.dash;
                        let app: &RunApp = &self.app;
                        t.draw(|f| view(app, &session, dash, &ctx, f, now))?;
                    }
                    dirty = false;
                    last_draw = Instant::now();
                    next_frame = tokio::time::Instant::now() + FRAME;
                }
            }
        }
        Ok(())
    }
}

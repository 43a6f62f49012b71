//! The cockpit's one loop: messages (keys, snapshots, executor news, ticks) go through
//! `RunApp::update`; the effects it returns are performed here — executors started or
//! cancelled, every decision and result journaled — and the screen is drawn once per batch.
//! A test drives the same loop by sending key messages instead of a keyboard.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::app::{Msg, RunApp};
use super::view::{ViewContext, view};
use crate::exec::job::{JobContext, jobs};
use crate::exec::spawn::{ExecMsg, Executors};
use crate::inventory::Inventory;
use crate::session::journal::{Event, Outcome as JOutcome, Stream};
use crate::session::lock::current_operator;
use crate::session::open::{Session, roles_event};
use crate::session::run::{Effect, Outcome, Record};
use crate::session::summary::Summary;
use crate::tui::terminal::Term;
use crate::tui::theme::Theme;

/// What the loop needs that does not change during the run.
pub struct Runtime {
    pub inventory: Arc<Inventory>,
    pub vars: BTreeMap<String, String>,
    pub session: Session,
    pub executors: Executors,
    pub theme: Theme,
    cancels: HashMap<String, CancellationToken>,
    last_roles: Option<String>,
    /// The pollers' receivers: read on every tick, because pollers publish without
    /// waking anyone when only the poll time changed.
    pub pollers: Option<crate::poll::start::Pollers>,
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("journal: {0}")]
    Journal(#[from] crate::session::journal::JournalError),
    #[error("terminal: {0}")]
    Terminal(#[from] std::io::Error),
}

impl Runtime {
    pub fn new(
        inventory: Arc<Inventory>,
        vars: BTreeMap<String, String>,
        session: Session,
        executors: Executors,
        theme: Theme,
    ) -> Self {
        Self {
            inventory,
            vars,
            session,
            executors,
            theme,
            cancels: HashMap::new(),
            last_roles: None,
            pollers: None,
        }
    }

    /// Runs until the operator quits or `msgs` closes. Draws when a terminal is given.
    pub async fn drive(
        &mut self,
        app: &mut RunApp,
        msgs: &mut mpsc::Receiver<Msg>,
        exec_rx: &mut mpsc::Receiver<ExecMsg>,
        mut term: Option<&mut Term>,
    ) -> Result<(), RuntimeError> {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        while !app.quit {
            // Every message changes something on screen (ticks move spinners and ages).
            if let Some(t) = term.as_deref_mut() {
                self.refresh(app);
                let ctx = ViewContext { theme: self.theme };
                t.draw(|f| view(app, &ctx, f, Instant::now()))?;
            }
            let msg = tokio::select! {
                biased;
                m = msgs.recv() => match m { Some(m) => m, None => break },
                Some(e) = exec_rx.recv() => Msg::Exec(e),
                _ = tick.tick() => Msg::Tick,
            };
            self.apply(app, msg)?;
            while let Ok(e) = exec_rx.try_recv() {
                self.apply(app, Msg::Exec(e))?;
            }
        }
        Ok(())
    }

    /// The pollers' latest snapshots, including poll times that did not wake anyone.
    fn refresh(&self, app: &mut RunApp) {
        if let Some(p) = &self.pollers {
            for r in &p.servers {
                app.dash.apply_server(r.borrow().clone());
            }
            if let Some(m) = &p.maxscale {
                app.dash.apply_maxscale(m.borrow().clone());
            }
        }
    }

    pub fn apply(&mut self, app: &mut RunApp, msg: Msg) -> Result<(), RuntimeError> {
        if let Msg::Exec(ExecMsg::Output {
            step, stream, text, ..
        }) = &msg
        {
            let stream = match *stream {
                "stderr" => Stream::Stderr,
                "info" => Stream::Info,
                _ => Stream::Stdout,
            };
            self.session.journal.append(&Event::Output {
                step: step.clone(),
                stream,
                text: text.clone(),
            })?;
        }
        if matches!(msg, Msg::Tick) {
            self.refresh(app);
        }
        let effects = app.update(msg, Instant::now());
        for effect in effects {
            self.perform(app, effect)?;
        }
        let roles = format!("{:?}", app.roles.primary);
        if self.last_roles.as_ref() != Some(&roles) {
            self.last_roles = Some(roles);
            self.session.journal.append(&roles_event(&app.roles))?;
        }
        Ok(())
    }

    fn perform(&mut self, app: &mut RunApp, effect: Effect) -> Result<(), RuntimeError> {
        let journal = &mut self.session.journal;
        match effect {
            Effect::Record(Record::Confirmed { step, typed }) => {
                journal.append(&Event::Confirm {
                    step,
                    operator: current_operator(),
                    typed,
                })?
            }
            Effect::Record(Record::Override {
                step,
                justification,
                failed,
            }) => journal.append(&Event::Override {
                step,
                justification,
                failed_gates: failed,
            })?,
            Effect::Record(Record::Skipped { step, reason }) => {
                journal.append(&Event::Skip { step, reason })?
            }
            Effect::Record(Record::Verified { step, reason }) => {
                journal.append(&Event::Verified {
                    step,
                    operator: current_operator(),
                    reason,
                })?
            }
            Effect::Record(Record::Complete) => {
                let summary = Summary::of(&app.run, self.session.began, SystemTime::now());
                journal.append(&summary.event(current_operator()))?
            }
            Effect::Record(Record::Ended {
                step,
                attempt,
                outcome,
            }) => {
                self.cancels.remove(&step);
                let (outcome, detail) = match outcome {
                    Outcome::Succeeded(d) => (JOutcome::Succeeded, d),
                    Outcome::Failed(d) if d.contains("cancelled") => (JOutcome::Cancelled, d),
                    Outcome::Failed(d) if d.contains("timed out") => (JOutcome::TimedOut, d),
                    Outcome::Failed(d) => (JOutcome::Failed, d),
                };
                journal.append(&Event::StepEnd {
                    step,
                    attempt,
                    outcome,
                    detail,
                    exit_code: None,
                })?
            }
            Effect::Cancel { step } => {
                if let Some(c) = self.cancels.get(&step) {
                    c.cancel();
                }
            }
            Effect::Start {
                step,
                attempt,
                servers,
            } => {
                let Some(s) = app.run.runbook.step(&step).cloned() else {
                    return Ok(());
                };
                for (gate, e) in app.gates(&s) {
                    journal.append(&Event::Gate {
                        step: step.clone(),
                        condition: gate,
                        holds: e.holds,
                        observed: e.observed,
                    })?;
                }
                // The roles the step was first started with, never today's (see Resolved).
                let roles = app.roles_for(&s);
                let mut ctx = JobContext {
                    vars: &self.vars,
                    secrets: &self.session.secrets,
                    inventory: &self.inventory,
                    roles: &roles,
                    target: None,
                    reveal: crate::runbook::template::Reveal::Secrets,
                };
                let built = jobs(&s, &servers, &mut ctx);
                let rendered = match &built {
                    Ok(js) => js.iter().map(|j| j.shown()).collect::<Vec<_>>().join("\n"),
                    Err(e) => format!("cannot build: {e}"),
                };
                let primary = app.run.resolved.get(&step).and_then(|r| r.primary.clone());
                if let Some(r) = app.run.resolved.get_mut(&step) {
                    r.sent = Some(rendered.clone());
                }
                journal.append(&Event::StepStart {
                    step: step.clone(),
                    attempt,
                    target_servers: servers.clone(),
                    rendered,
                    primary,
                })?;
                match built {
                    Ok(js) if js.is_empty() => {} // wait/check: the state machine ends them
                    Ok(js) => {
                        let cancel = CancellationToken::new();
                        self.cancels.insert(step.clone(), cancel.clone());
                        self.executors.spawn(step, attempt, js, s.timeout, cancel);
                    }
                    Err(e) => {
                        let effects = app.run.finished(&step, attempt, Outcome::Failed(e));
                        for effect in effects {
                            self.perform(app, effect)?;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

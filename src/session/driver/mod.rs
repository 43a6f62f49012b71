//! The session, driven: [`Core`] plus what it needs to act, the journal and the
//! executors. Inputs come from any front end (the cockpit's keys, a line-mode prompt, a
//! test) as typed [`Command`]s, and from the pollers and executors. Every decision is
//! journaled before the effect it announces; a screen reads the [`SessionView`] the
//! driver publishes and never evaluates anything itself.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::exec::host::{HostPool, SshOptions};
use crate::exec::job::{JobContext, jobs};
use crate::exec::probe::{ProbeMsg, ProbeTarget};
use crate::exec::spawn::{ExecMsg, Executors};
use crate::inventory::{Inventory, maxscale_warning};
use crate::poll::ServerSnapshot;
use crate::poll::maxscale::MaxscaleSnapshot;
use crate::poll::start::{
    PollIntervals, Pollers, StartError, operator_targets, probe_target, start_with,
};
use crate::poll::tier::{RELAXED, Tiers};
use crate::runbook::Loaded;
use crate::runbook::roles::RoleMap;
use crate::runbook::template::Reveal;
use crate::session::core::Core;
use crate::session::history::History;
use crate::session::journal::{Event, JournalError, Outcome as JOutcome, Stream};
use crate::session::live::Dashboard;
use crate::session::lock::current_operator;
use crate::session::open::{self, Session, SessionError, roles_event};
use crate::session::run::{Command, Effect, FailCode, Outcome, Record, Refusal, Run};
use crate::session::summary::Summary;
use crate::session::view::SessionView;
use crate::session::wire::{DashWire, ToObserver};

mod pairing;

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error("journal: {0}")]
    Journal(#[from] JournalError),
}

/// Why a command did nothing.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{}", crate::session::view::refusal_hint(.0))]
    Refused(Refusal),
    #[error("journal: {0}")]
    Journal(#[from] JournalError),
    #[error("{0}: nothing was started; no step starts until the journal can be written")]
    JournalBroken(String),
}

/// What the driver reads besides commands: the pollers' latest snapshots and the
/// executors' news. A front end selects on these and hands them to [`Driver`].
pub struct Inputs {
    pub pollers: Pollers,
    pub exec_rx: mpsc::Receiver<ExecMsg>,
}

pub struct Driver {
    pub core: Core,
    session: Session,
    /// Public for tests' hooks (`panic_on`); the driver alone starts jobs.
    #[doc(hidden)]
    pub executors: Executors,
    cancels: HashMap<String, CancellationToken>,
    last_roles: Option<String>,
    view_tx: watch::Sender<SessionView>,
    /// The live panes for attached operators (sent only while someone listens).
    dash_tx: watch::Sender<DashWire>,
    /// Where the session is served to a second operator, once it is.
    socket: Option<PathBuf>,
    /// Who drives (the journal's and the lock's name for this process's operator).
    pub operator: String,
    /// Attached clients, by OS user, and how to reach each.
    clients: Vec<(String, mpsc::UnboundedSender<ToObserver>)>,
    offered_to: Option<String>,
    handed_over: Option<String>,
    /// The runbook and inventory files, for whoever takes the wheel.
    paths: (PathBuf, PathBuf),
    /// Stops the pollers when the session ends.
    pub cancel: CancellationToken,
    /// How often each server is polled: settled replicas relaxed, the servers of running
    /// steps fast (all of them for a step that names none: a wait or check judges them all).
    tiers: Tiers,
    /// The servers each running step keeps hot.
    hot: BTreeMap<String, Vec<String>>,
    /// The pairing socket's client tasks.
    pair_tasks: TaskTracker,
    /// Where the write-availability probe writes, when the inventory has a `[probe]`.
    probe_target: Option<ProbeTarget>,
    /// The running probes, by step: cancelled when the step ends.
    probes: HashMap<String, CancellationToken>,
    /// When the journal last got a sample, and the versions it has.
    history: History,
}

impl Driver {
    /// Starts the pollers, waits briefly for live roles (pins capture who holds each role
    /// when the run begins), opens or resumes the session, and readies the executors.
    pub async fn open(
        loaded: Loaded,
        inv: Inventory,
        journal: &Path,
        intervals: PollIntervals,
    ) -> Result<(Driver, Inputs), DriverError> {
        let cancel = CancellationToken::new();
        // The cockpit spends its time waiting between steps; polling settled replicas once
        // a second then, and every server fast while a step runs, costs a third of the CPU.
        let tiers = Tiers::new(intervals.sql.max(RELAXED));
        let pollers = start_with(&inv, intervals, Some(tiers.clone()), &cancel)?;
        let names: Vec<(String, String)> = inv
            .servers
            .iter()
            .map(|s| (s.name.clone(), s.maxscale_name.clone()))
            .collect();
        // Rows turn stale after three relaxed intervals, the longest a settled replica waits.
        let mut dash = Dashboard::new(&names, tiers.relaxed(), intervals.maxscale);
        dash.whole_window = true;
        dash.addresses = crate::session::live::addresses(&inv);
        dash.maxscale_warning = inv.maxscale.as_ref().and_then(maxscale_warning);
        let begun = Instant::now();
        while begun.elapsed() < Duration::from_secs(5) {
            latest(&pollers, &mut dash);
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
            None => notices
                .push("no live primary yet: roles and pins come from the inventory".to_string()),
        }
        let paths = (loaded.file.path.clone(), inv.file.path.clone());
        let mut run = Run::new(loaded.runbook.clone());
        let session = open::open(journal, &loaded, &inv, &mut run, &mut roles)?;
        notices.extend(session.notices.clone());
        if run.completed {
            notices.push("this run is complete (Enter closes its summary)".into());
        }
        let probe_target = probe_target(&inv)?;
        let (exec_tx, exec_rx) = mpsc::channel(1024);
        // One inventory for the session and the executors (`preflight` steps read it).
        let inv = Arc::new(inv);
        let executors = Executors {
            sql: Arc::new(operator_targets(&inv)?),
            hosts: HostPool::new(SshOptions::default()),
            maxscale: crate::poll::start::maxscale_client(&inv)?,
            inventory: Some(inv.clone()),
            masker: Arc::new(session.masker.clone()),
            tx: exec_tx,
            panic_on: None,
        };
        let mut vars = loaded.runbook.vars.clone();
        vars.extend(inv.vars.clone());
        let mut core = Core::new(run, dash, roles, inv, vars);
        core.began = session.began;
        core.completed_at = session.completed_at;
        core.notices = notices;
        for (step, out) in &session.restored_output {
            for (stream, text) in out {
                core.push_output(step, *stream, text);
            }
        }
        crate::session::crash::register(&session.journal);
        core.notes = session.notes.clone();
        let view = SessionView::of(&core, SystemTime::now());
        let (view_tx, _) = watch::channel(view);
        let (dash_tx, _) = watch::channel(DashWire::of(&core.dash, Instant::now()));
        let driver = Driver {
            core,
            session,
            executors,
            cancels: HashMap::new(),
            last_roles: None,
            view_tx,
            dash_tx,
            socket: None,
            operator: current_operator(),
            clients: Vec::new(),
            offered_to: None,
            handed_over: None,
            paths,
            cancel,
            tiers,
            hot: BTreeMap::new(),
            pair_tasks: TaskTracker::new(),
            probe_target,
            probes: HashMap::new(),
            history: History::default(),
        };
        Ok((driver, Inputs { pollers, exec_rx }))
    }

    /// The view as of the last [`Driver::publish`].
    pub fn view(&self) -> watch::Ref<'_, SessionView> {
        self.view_tx.borrow()
    }

    /// A receiver of every published view (for a second screen).
    pub fn subscribe(&self) -> watch::Receiver<SessionView> {
        self.view_tx.subscribe()
    }

    /// Recomputes the view from the session as it is now and publishes it (and the live
    /// panes, to attached operators).
    pub fn publish(&self) {
        let mut view = SessionView::of(&self.core, SystemTime::now());
        view.journal_broken = self.session.journal.broken();
        view.driver = self.operator.clone();
        view.socket = self.socket.as_ref().map(|s| s.display().to_string());
        view.journal = self.session.journal.path().display().to_string();
        self.view_tx.send_replace(view);
        // The socket's server always holds a receiver; the panes (their lag history is
        // the bulk) are copied only while someone is attached to see them.
        if !self.clients.is_empty() {
            self.send_dash();
        }
    }

    fn send_dash(&self) {
        self.dash_tx
            .send_replace(DashWire::of(&self.core.dash, Instant::now()));
    }

    /// The latest snapshot of every poller, including poll times that woke nobody.
    pub fn refresh(&mut self, pollers: &Pollers, now: Instant) -> Result<(), JournalError> {
        // Most ticks bring only newer poll times: those are taken in place, and only news
        // is applied (and judged) whole.
        let mut effects = Vec::new();
        for r in &pollers.servers {
            let news = {
                let snap = r.borrow();
                (!self.core.dash.touch_server(&snap)).then(|| snap.clone())
            };
            if let Some(snap) = news {
                effects.extend(self.core.server(snap, now));
            }
        }
        if let Some(m) = &pollers.maxscale {
            let news = {
                let snap = m.borrow();
                (!self.core.dash.touch_maxscale(&snap)).then(|| snap.clone())
            };
            if let Some(snap) = news {
                effects.extend(self.core.maxscale(snap, now));
            }
        }
        self.perform_all(effects)
    }

    pub fn server(&mut self, snap: ServerSnapshot, now: Instant) -> Result<(), JournalError> {
        let effects = self.core.server(snap, now);
        self.perform_all(effects)
    }

    pub fn maxscale(&mut self, snap: MaxscaleSnapshot, now: Instant) -> Result<(), JournalError> {
        let effects = self.core.maxscale(snap, now);
        self.perform_all(effects)
    }

    /// Time passes: once a second the lag histories and the journal get a sample (and
    /// any server's new version); waits may time out.
    pub fn tick(&mut self, now: Instant) -> Result<(), JournalError> {
        let primary = self.core.roles.primary.clone();
        let due = self.history.due(&self.core.dash, primary.as_deref(), now);
        if !due.is_empty() {
            self.core.dash.sample_lag_at(now);
        }
        for event in &due {
            self.session.journal.append(event)?;
        }
        let effects = self.core.tick(now);
        self.perform_all(effects)
    }

    /// An operator's command: refused, or journaled and carried out.
    pub fn command(&mut self, cmd: Command, now: Instant) -> Result<(), CommandError> {
        let run = match &cmd {
            Command::Run { step, .. } => Some(step.clone()),
            _ => None,
        };
        let effects = self.core.command(cmd, now).map_err(CommandError::Refused)?;
        if let Err(e) = self.perform_all(effects) {
            // Never act unjournaled. The confirmation and `step_start` are written before
            // anything is sent, so a failed write means nothing was sent: the step did not
            // start, and says why.
            if let Some(step) = run {
                self.core
                    .run
                    .not_started(&step, &format!("not started: {e}"));
            }
            return Err(CommandError::JournalBroken(e.to_string()));
        }
        Ok(())
    }

    /// An executor's news: output is journaled (in whole lines) and kept for screens.
    pub fn exec(&mut self, e: ExecMsg, now: Instant) -> Result<(), JournalError> {
        // What a probe measured is journaled whatever became of its step since.
        if let ExecMsg::Probe {
            msg: msg @ ProbeMsg::Done(report),
            ..
        } = &e
        {
            self.session.journal.append(&Event::Probe(report.clone()))?;
            self.core.probe(msg.clone());
            return Ok(());
        }
        if !self.core.current_attempt(&e) {
            return Ok(()); // an earlier attempt's news is neither shown nor journaled
        }
        if let ExecMsg::Output {
            step, stream, text, ..
        } = &e
        {
            self.session.journal.output(Event::Output {
                step: step.clone(),
                stream: Stream::from_label(stream),
                text: text.clone(),
            });
        }
        let effects = self.core.exec(e, now);
        self.perform_all(effects)
    }

    /// Ends the session: the journal says so, pollers stop, SSH sessions close.
    pub async fn finish(&mut self, reason: &str) {
        tracing::info!(reason, "session ended");
        if self.handed_over.is_none() {
            let _ = self.session.journal.append(&Event::SessionEnd {
                reason: reason.to_string(),
            });
        }
        self.session.lock = None;
        let _ = self.session.journal.close();
        self.cancel.cancel();
        self.executors.hosts.close().await;
        // Attached operators get the last state (and a handover its files) before this
        // process ends or becomes an observer; a client that stopped reading is not waited
        // for long.
        self.pair_tasks.close();
        let _ = tokio::time::timeout(Duration::from_secs(2), self.pair_tasks.wait()).await;
    }

    fn perform_all(&mut self, effects: Vec<Effect>) -> Result<(), JournalError> {
        for effect in effects {
            self.perform(effect)?;
        }
        let roles = format!("{:?}", self.core.roles.primary);
        if self.last_roles.as_ref() != Some(&roles) {
            self.last_roles = Some(roles);
            self.session
                .journal
                .append(&roles_event(&self.core.roles))?;
        }
        Ok(())
    }

    fn perform(&mut self, effect: Effect) -> Result<(), JournalError> {
        let journal = &self.session.journal;
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
                let summary = Summary::of(&self.core.run, self.core.began, SystemTime::now());
                journal.append(&summary.event(current_operator()))?
            }
            Effect::Record(Record::Ended {
                step,
                attempt,
                outcome,
            }) => {
                self.cancels.remove(&step);
                if let Some(probe) = self.probes.remove(&step) {
                    probe.cancel(); // it journals what it measured when it stops
                }
                // Why nobody knows, on screen with the step (the journal has it as detail).
                if let Outcome::Unknown(why) = &outcome {
                    self.core.push_output(&step, Stream::Info, why);
                }
                if self.hot.remove(&step).is_some() {
                    self.tiers.set_hot(self.hot.values().flatten().cloned());
                }
                let (exit_code, sql_errno) = match &outcome {
                    Outcome::Failed {
                        code: Some(FailCode::Exit(c)),
                        ..
                    } => (Some(*c), None),
                    Outcome::Failed {
                        code: Some(FailCode::Sql(n)),
                        ..
                    } => (None, Some(*n)),
                    _ => (None, None),
                };
                let kind = match &outcome {
                    Outcome::Succeeded(_) => JOutcome::Succeeded,
                    Outcome::Failed { .. } => JOutcome::Failed,
                    Outcome::Cancelled(_) => JOutcome::Cancelled,
                    Outcome::TimedOut(_) => JOutcome::TimedOut,
                    Outcome::Unknown(_) => JOutcome::Unknown,
                };
                tracing::info!(%step, attempt, outcome = ?kind, detail = outcome.detail(), "step ended");
                journal.append(&Event::StepEnd {
                    step,
                    attempt,
                    outcome: kind,
                    detail: outcome.detail().to_string(),
                    exit_code,
                    sql_errno,
                })?
            }
            Effect::Cancel { step } => {
                tracing::warn!(%step, "cancel asked: stopping the step's commands");
                if let Some(c) = self.cancels.get(&step) {
                    c.cancel();
                }
            }
            Effect::Start {
                step,
                attempt,
                servers,
            } => self.start(step, attempt, servers)?,
        }
        Ok(())
    }

    /// Journals the gates and what is sent (masked), then hands the jobs to the executors.
    fn start(
        &mut self,
        step: String,
        attempt: u32,
        servers: Vec<String>,
    ) -> Result<(), JournalError> {
        let Some(s) = self.core.run.runbook.step(&step).cloned() else {
            return Ok(());
        };
        self.heat(&step, &servers);
        let journal = &self.session.journal;
        for (gate, e) in self.core.gates(&s) {
            journal.append(&Event::Gate {
                step: step.clone(),
                condition: gate,
                holds: e.holds,
                observed: e.observed,
            })?;
        }
        // The roles the step was first started with, never today's (see Resolved).
        let roles = self.core.roles_for(&s);
        let mut ctx = JobContext {
            vars: &self.core.vars,
            secrets: &self.session.secrets,
            inventory: &self.core.inventory,
            roles: &roles,
            target: None,
            reveal: Reveal::Secrets,
        };
        let built = jobs(&s, &servers, &mut ctx);
        let rendered = match &built {
            Ok(js) => js.iter().map(|j| j.shown()).collect::<Vec<_>>().join("\n"),
            Err(e) => format!("cannot build: {e}"),
        };
        let resolved = self.core.run.resolved.get_mut(&step);
        let primary = resolved.as_ref().and_then(|r| r.primary.clone());
        if let Some(r) = resolved {
            r.sent = Some(rendered.clone());
        }
        tracing::info!(%step, attempt, kind = s.action.kind(), servers = servers.join(","), "step started");
        journal.append(&Event::StepStart {
            step: step.clone(),
            attempt,
            target_servers: servers,
            rendered,
            primary,
        })?;
        // The probe starts first; the step acts once it has written through the router.
        let ready = match (s.probed(), &self.probe_target) {
            (true, Some(target)) => {
                let cancel = self.cancel.child_token();
                if let Some(old) = self.probes.insert(step.clone(), cancel.clone()) {
                    old.cancel();
                }
                Some(crate::exec::probe::spawn(
                    target.clone(),
                    step.clone(),
                    attempt,
                    self.executors.masker.clone(),
                    self.executors.tx.clone(),
                    cancel,
                ))
            }
            _ => None,
        };
        match built {
            Ok(js) if js.is_empty() => {} // wait/check: the state machine ends them
            Ok(js) => {
                let cancel = CancellationToken::new();
                self.cancels.insert(step.clone(), cancel.clone());
                match ready {
                    Some(ready) => self.executors.spawn_after(
                        ready,
                        crate::exec::probe::PATIENCE,
                        step,
                        attempt,
                        js,
                        s.timeout,
                        cancel,
                    ),
                    None => self.executors.spawn(step, attempt, js, s.timeout, cancel),
                }
            }
            Err(e) => {
                let effects = self.core.run.finished(&step, attempt, Outcome::failed(e));
                self.perform_all(effects)?;
            }
        }
        Ok(())
    }

    /// Polls `servers` (every server when the step names none) fast while `step` runs.
    fn heat(&mut self, step: &str, servers: &[String]) {
        let servers = if servers.is_empty() {
            self.core
                .inventory
                .servers
                .iter()
                .map(|s| s.name.clone())
                .collect()
        } else {
            servers.to_vec()
        };
        self.hot.insert(step.to_string(), servers);
        self.tiers.set_hot(self.hot.values().flatten().cloned());
    }
}

/// Applies every poller's latest snapshot to a dashboard.
fn latest(pollers: &Pollers, dash: &mut Dashboard) {
    for r in &pollers.servers {
        dash.apply_server(r.borrow().clone());
    }
    if let Some(m) = &pollers.maxscale {
        dash.apply_maxscale(m.borrow().clone());
    }
}

/// Vars as templates see them: the runbook's, overridden by the inventory's.
pub fn vars(loaded: &Loaded, inv: &Inventory) -> BTreeMap<String, String> {
    let mut vars = loaded.runbook.vars.clone();
    vars.extend(inv.vars.clone());
    vars
}

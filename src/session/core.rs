//! The session without I/O: the run's state machine, the live facts it judges gates on,
//! the roles and pins, and what each started step was resolved to. Inputs (operator
//! commands, poller snapshots, executor news, time) go in; effects come out for the
//! [`Driver`] to perform. Everything a screen shows is derived from it in
//! [`SessionView`]; nothing here knows about terminals.
//!
//! [`Driver`]: crate::session::driver::Driver
//! [`SessionView`]: crate::session::view::SessionView

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use crate::exec::probe::{ProbeMsg, ProbeStatus};
use crate::exec::spawn::ExecMsg;
use crate::inventory::Inventory;
use crate::poll::ServerSnapshot;
use crate::poll::maxscale::MaxscaleSnapshot;
use crate::runbook::eval::{Evaluation, evaluate};
use crate::runbook::model::Located;
use crate::runbook::roles::RoleMap;
use crate::runbook::{Action, Step};
use crate::session::facts::{LiveFacts, Succeeded};
use crate::session::journal::{ProbeReport, Stream};
use crate::session::live::Dashboard;
use crate::session::run::{Command, Effect, Record, Refusal, Resolved, Run};

/// Lines of output kept per step for screens (the journal keeps its own bound).
const OUTPUT_LINES: usize = 2000;

pub struct Core {
    pub run: Run,
    pub dash: Dashboard,
    pub roles: RoleMap,
    pins: BTreeMap<String, Located<String>>,
    pins_captured: bool,
    /// Where names and values in templates come from (for showing steps, never secrets).
    pub inventory: Arc<Inventory>,
    pub vars: BTreeMap<String, String>,
    /// Each step's output, newest last, bounded.
    pub output: HashMap<String, Vec<(Stream, String)>>,
    /// What the operator must know (resume, a changed runbook, a journal problem).
    pub notices: Vec<String>,
    pub began: SystemTime,
    pub completed_at: Option<SystemTime>,
    /// Notes the operators added: (operator, text), oldest first.
    pub notes: Vec<(String, String)>,
    /// The write-availability probe while a probed step runs.
    pub probe: Option<ProbeStatus>,
    /// What the probe measured, step by step, in this process.
    pub probed: Vec<ProbeReport>,
    /// Who else is attached to the session (OS user names).
    pub attached: Vec<String>,
    /// Each step's command as shown, with what it was rendered from (see [`ShownCommand`]).
    pub(crate) shown: Mutex<HashMap<String, ShownCommand>>,
}

/// A step's command rendered for showing (masked), kept while the roles and servers it was
/// rendered with hold: a view is published at every frame, and rendering the templates of
/// every step each time was a fifth of the idle cockpit's CPU. Vars and the inventory do
/// not change during a session.
pub(crate) struct ShownCommand {
    pub roles: RoleMap,
    pub servers: Vec<String>,
    pub command: Result<Vec<String>, String>,
}

impl Core {
    pub fn new(
        run: Run,
        dash: Dashboard,
        roles: RoleMap,
        inventory: Arc<Inventory>,
        vars: BTreeMap<String, String>,
    ) -> Self {
        let pins = run.runbook.pins.clone();
        let pins_captured = !roles.pins.is_empty() || pins.is_empty();
        Self {
            run,
            dash,
            roles,
            pins,
            pins_captured,
            inventory,
            vars,
            output: HashMap::new(),
            notices: Vec::new(),
            began: SystemTime::now(),
            completed_at: None,
            notes: Vec::new(),
            probe: None,
            probed: Vec::new(),
            attached: Vec::new(),
            shown: Mutex::new(HashMap::new()),
        }
    }

    /// The roles a step's subjects resolve with: as they were when it first started (so a
    /// retry or a resumed re-run means the same servers), or as they are now.
    pub fn roles_for(&self, step: &Step) -> Cow<'_, RoleMap> {
        match self.run.resolved.get(&step.id.value) {
            Some(r) => Cow::Owned(RoleMap {
                primary: r.primary.clone(),
                ..self.roles.clone()
            }),
            None => Cow::Borrowed(&self.roles),
        }
    }

    /// The live facts under `roles`, for reading (the run's states say what succeeded).
    pub fn facts<'a>(&'a self, roles: &'a RoleMap) -> LiveFacts<'a> {
        facts(&self.dash, roles, Succeeded::States(&self.run.states))
    }

    /// Whether a step may run now, with its gates judged under its roles.
    pub fn may_run(&self, step: &Step) -> Result<(), Refusal> {
        let roles = self.roles_for(step);
        self.run.may_run(step, &self.facts(&roles))
    }

    /// Each gate of a step with its live value, under the step's roles.
    pub fn gates(&self, step: &Step) -> Vec<(String, Evaluation)> {
        let roles = self.roles_for(step);
        self.run.gates(step, &self.facts(&roles))
    }

    /// What a destructive step asks the operator to type.
    pub fn confirm_name(&self, step: &Step) -> Result<String, Refusal> {
        let roles = self.roles_for(step);
        self.run.confirm_name(step, &self.facts(&roles))
    }

    /// A check's or wait's condition judged on the live facts now (before it runs).
    pub fn condition_now(&self, step: &Step) -> Option<Evaluation> {
        let condition = match &step.action {
            Action::Check { condition } => condition,
            Action::Wait { until } => until,
            _ => return None,
        };
        let roles = self.roles_for(step);
        Some(evaluate(condition, &self.facts(&roles)))
    }

    /// An operator command, judged with facts under the step's roles. A step's first
    /// start fixes what it resolves to.
    pub fn command(&mut self, cmd: Command, now: Instant) -> Result<Vec<Effect>, Refusal> {
        let step = match &cmd {
            Command::Run { step, .. }
            | Command::Skip { step, .. }
            | Command::Done { step }
            | Command::Verified { step, .. }
            | Command::Cancel { step } => self.run.runbook.step(step).cloned(),
        };
        let roles = match &step {
            Some(s) => self.roles_for(s).into_owned(),
            None => self.roles.clone(),
        };
        let succeeded = self.run.succeeded();
        let facts = facts(&self.dash, &roles, Succeeded::Ids(&succeeded));
        let mut effects = self.run.command(cmd, &facts, now)?;
        for e in &effects {
            if let Effect::Start { step, servers, .. } = e {
                self.run
                    .resolved
                    .entry(step.clone())
                    .or_insert_with(|| Resolved {
                        primary: roles.primary.clone(),
                        servers: servers.clone(),
                        sent: None,
                    });
            }
        }
        self.completed(&mut effects);
        Ok(effects)
    }

    pub fn server(&mut self, snap: ServerSnapshot, now: Instant) -> Vec<Effect> {
        self.dash.apply_server(snap);
        self.refresh_roles();
        self.poll_conditions(now)
    }

    pub fn maxscale(&mut self, snap: MaxscaleSnapshot, now: Instant) -> Vec<Effect> {
        self.dash.apply_maxscale(snap);
        self.refresh_roles();
        self.poll_conditions(now)
    }

    /// Time passes: waits may time out (the driver samples lag history).
    pub fn tick(&mut self, now: Instant) -> Vec<Effect> {
        self.poll_conditions(now)
    }

    pub fn exec(&mut self, e: ExecMsg, now: Instant) -> Vec<Effect> {
        if !self.current_attempt(&e) {
            return Vec::new(); // news from an earlier attempt of the step
        }
        let mut effects = match e {
            ExecMsg::Output {
                step, stream, text, ..
            } => {
                self.push_output(&step, Stream::from_label(stream), &text);
                Vec::new()
            }
            ExecMsg::Progress { step, line, .. } => {
                self.run.progress(&step, line);
                Vec::new()
            }
            ExecMsg::Finished {
                step,
                attempt,
                outcome,
            } => self.run.finished(&step, attempt, outcome),
            ExecMsg::Probe { msg, .. } => {
                self.probe(msg);
                Vec::new()
            }
        };
        effects.extend(self.poll_conditions(now));
        self.completed(&mut effects);
        effects
    }

    /// Whether executor news is about the latest attempt of its step.
    pub fn current_attempt(&self, e: &ExecMsg) -> bool {
        let (ExecMsg::Output { step, attempt, .. }
        | ExecMsg::Progress { step, attempt, .. }
        | ExecMsg::Finished { step, attempt, .. }
        | ExecMsg::Probe { step, attempt, .. }) = e;
        self.run.attempts(step) == *attempt
    }

    /// The probe's news: its live state for the header, and at the end of the step what
    /// it measured, with the step's output.
    pub fn probe(&mut self, msg: ProbeMsg) {
        match msg {
            ProbeMsg::Status(status) => self.probe = Some(status),
            ProbeMsg::Done(report) => {
                if self.probe.as_ref().is_some_and(|p| p.step == report.step) {
                    self.probe = None;
                }
                self.push_output(&report.step, Stream::Info, &report.summary());
                self.probed.push(report);
            }
        }
    }

    /// Keeps a step's output for screens (whole lines, bounded).
    pub fn push_output(&mut self, step: &str, stream: Stream, text: &str) {
        let lines = self.output.entry(step.to_string()).or_default();
        lines.extend(text.lines().map(|l| (stream, l.to_string())));
        let excess = lines.len().saturating_sub(OUTPUT_LINES);
        lines.drain(..excess);
    }

    /// Notes when the run completed.
    fn completed(&mut self, effects: &mut [Effect]) {
        if effects
            .iter()
            .any(|e| matches!(e, Effect::Record(Record::Complete)))
        {
            self.completed_at = Some(SystemTime::now());
        }
    }

    /// Waits and checks judge the facts with the roles their step was started with.
    fn poll_conditions(&mut self, now: Instant) -> Vec<Effect> {
        let Some(step) = self
            .run
            .running()
            .and_then(|id| self.run.runbook.step(id))
            .cloned()
        else {
            return Vec::new();
        };
        let roles = self.roles_for(&step).into_owned();
        let succeeded = self.run.succeeded();
        let since = self.facts_observed_since();
        let facts = facts(&self.dash, &roles, Succeeded::Ids(&succeeded));
        let mut effects = self.run.poll_conditions(&facts, now, since);
        self.completed(&mut effects);
        effects
    }

    /// When the oldest of the live facts was observed.
    fn facts_observed_since(&self) -> Instant {
        let servers = self.dash.servers.iter().map(|s| s.taken_at);
        let maxscale = self.dash.maxscale.iter().map(|m| m.taken_at);
        servers.chain(maxscale).min().unwrap_or_else(Instant::now)
    }

    /// Roles follow what MaxScale and the servers report; pins are taken once.
    fn refresh_roles(&mut self) {
        if let Some(p) = self.dash.primary() {
            let p = p.to_string();
            self.roles.switchover(&p);
            if !self.pins_captured {
                self.roles.capture_pins(&self.pins);
                self.pins_captured = self.roles.pins.len() == self.pins.len();
            }
        }
    }
}

pub fn facts<'a>(
    dash: &'a Dashboard,
    roles: &'a RoleMap,
    succeeded: Succeeded<'a>,
) -> LiveFacts<'a> {
    LiveFacts {
        servers: &dash.servers,
        maxscale: dash.maxscale.as_ref(),
        maxscale_names: &dash.maxscale_names,
        roles,
        succeeded,
    }
}

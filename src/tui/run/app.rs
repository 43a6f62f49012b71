//! The cockpit's state and its one `update`: keys, snapshots and executor news in,
//! effects out. No I/O here; the runtime performs the effects. Keys are read in `keys.rs`.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crossterm::event::KeyEvent;

pub use super::modal::Modal;
use crate::exec::spawn::ExecMsg;
use crate::inventory::Inventory;
use crate::poll::ServerSnapshot;
use crate::poll::maxscale::MaxscaleSnapshot;
use crate::runbook::model::Located;
use crate::runbook::roles::RoleMap;
use crate::runbook::{Action, Step};
use crate::session::facts::LiveFacts;
use crate::session::run::{Command, Effect, Outcome, Record, Refusal, Resolved, Run, StepState};
use crate::tui::dashboard::Dashboard;

/// Lines of output kept per step for the screen (the journal keeps its own bound).
const OUTPUT_LINES: usize = 2000;

/// After the run moves the cursor by itself (a step ended), action keys are ignored this
/// long, so keys typed for the old screen never act on the new one.
pub const TYPE_AHEAD_GUARD: Duration = Duration::from_millis(500);

#[derive(Clone, Debug)]
pub enum Msg {
    Key(KeyEvent),
    /// Text pasted into the terminal (bracketed paste): only a text field takes it.
    Paste(String),
    /// Mouse wheel over the cockpit: lines to scroll the step detail (negative = up).
    Scroll(i16),
    Server(ServerSnapshot),
    Maxscale(MaxscaleSnapshot),
    Exec(ExecMsg),
    Tick,
}

/// Which live pane the small layout shows (`Tab` cycles).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PaneChoice {
    #[default]
    Servers,
    Replication,
    Gtid,
    Maxscale,
}

impl PaneChoice {
    pub fn next(self) -> Self {
        match self {
            PaneChoice::Servers => PaneChoice::Replication,
            PaneChoice::Replication => PaneChoice::Gtid,
            PaneChoice::Gtid => PaneChoice::Maxscale,
            PaneChoice::Maxscale => PaneChoice::Servers,
        }
    }
}

pub struct RunApp {
    pub run: Run,
    pub dash: Dashboard,
    pub roles: RoleMap,
    pins: BTreeMap<String, Located<String>>,
    pub pins_captured: bool,
    /// Where names and values in templates come from (for showing steps, never secrets).
    pub inventory: Arc<Inventory>,
    pub vars: BTreeMap<String, String>,
    /// Index into the runbook's steps in order.
    pub selected: usize,
    pub modal: Option<Modal>,
    pub output: HashMap<String, Vec<(&'static str, String)>>,
    pub message: Option<String>,
    pub quit: bool,
    /// Phases the operator folded (by index).
    pub folded: HashSet<usize>,
    /// Lines the step detail is scrolled down by.
    pub detail_scroll: u16,
    /// The most the detail can scroll, as the last frame found it (the view knows the
    /// pane's size; update only clamps with it).
    pub detail_scroll_max: Cell<u16>,
    pub pane: PaneChoice,
    pub show_help: bool,
    /// The summary screen, once the run is complete, until the operator closes it.
    pub show_summary: bool,
    /// Action keys before this instant are ignored (see [`TYPE_AHEAD_GUARD`]).
    pub guard_until: Option<Instant>,
    /// When the session began and when the run completed (for the summary's duration).
    pub began: SystemTime,
    pub completed_at: Option<SystemTime>,
}

impl RunApp {
    pub fn new(
        run: Run,
        dash: Dashboard,
        roles: RoleMap,
        inventory: Arc<Inventory>,
        vars: BTreeMap<String, String>,
    ) -> Self {
        let pins = run.runbook.pins.clone();
        let pins_captured = !roles.pins.is_empty() || pins.is_empty();
        let show_summary = run.completed;
        let mut app = Self {
            run,
            dash,
            roles,
            pins,
            pins_captured,
            inventory,
            vars,
            selected: 0,
            modal: None,
            output: HashMap::new(),
            message: None,
            quit: false,
            folded: HashSet::new(),
            detail_scroll: 0,
            detail_scroll_max: Cell::new(0),
            pane: PaneChoice::default(),
            show_help: false,
            show_summary,
            guard_until: None,
            began: SystemTime::now(),
            completed_at: None,
        };
        app.select_current();
        app
    }

    pub fn steps(&self) -> Vec<&Step> {
        self.run.runbook.steps().map(|(_, s)| s).collect()
    }

    /// The phase index of the n-th step.
    pub fn phase_of(&self, step_index: usize) -> usize {
        let mut n = 0;
        for (pi, phase) in self.run.runbook.phases.iter().enumerate() {
            n += phase.steps.len();
            if step_index < n {
                return pi;
            }
        }
        0
    }

    pub fn selected_step(&self) -> Option<&Step> {
        self.run.runbook.steps().nth(self.selected).map(|(_, s)| s)
    }

    pub fn select(&mut self, index: usize) {
        if index != self.selected {
            self.detail_scroll = 0;
        }
        self.selected = index;
    }

    pub(super) fn select_current(&mut self) {
        if let Some(cur) = self.run.current().map(|s| s.id.value.clone()) {
            let i = self
                .steps()
                .iter()
                .position(|s| s.id.value == cur)
                .unwrap_or(0);
            self.select(i);
        }
    }

    /// The roles a step's subjects resolve with: as they were when it first started (so a
    /// retry or a resumed re-run means the same servers), or as they are now.
    pub fn roles_for(&self, step: &Step) -> RoleMap {
        match self.run.resolved.get(&step.id.value) {
            Some(r) => RoleMap {
                servers: self.roles.servers.clone(),
                primary: r.primary.clone(),
                pins: self.roles.pins.clone(),
            },
            None => self.roles.clone(),
        }
    }

    /// Whether action keys are ignored now (the screen just changed under the operator).
    pub fn guarded(&self, now: Instant) -> bool {
        self.guard_until.is_some_and(|t| now < t)
    }

    /// Applies one message; returns the effects for the runtime.
    pub fn update(&mut self, msg: Msg, now: Instant) -> Vec<Effect> {
        let mut effects = match msg {
            Msg::Key(k) => self.key(k, now),
            Msg::Paste(text) => {
                self.paste(&text);
                Vec::new()
            }
            Msg::Scroll(lines) => {
                self.scroll_detail(lines);
                Vec::new()
            }
            Msg::Server(s) => {
                self.dash.apply_server(s);
                self.refresh_roles();
                Vec::new()
            }
            Msg::Maxscale(m) => {
                self.dash.apply_maxscale(m);
                self.refresh_roles();
                Vec::new()
            }
            Msg::Exec(e) => self.exec(e),
            Msg::Tick => {
                self.dash.sample_lag();
                Vec::new()
            }
        };
        effects.extend(self.poll_conditions(now));
        // After a result or a skip, the cursor follows the run to the next step, and
        // keys typed for the old screen are held off for a moment.
        let moved = effects.iter().any(|e| {
            matches!(
                e,
                Effect::Record(
                    Record::Ended { .. } | Record::Skipped { .. } | Record::Verified { .. }
                )
            )
        });
        if moved {
            self.select_current();
            self.guard_until = Some(now + TYPE_AHEAD_GUARD);
        }
        if effects
            .iter()
            .any(|e| matches!(e, Effect::Record(Record::Complete)))
        {
            self.show_summary = true;
            self.completed_at = Some(SystemTime::now());
        }
        effects
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
        let roles = self.roles_for(&step);
        let succeeded = self.run.succeeded();
        let since = self.facts_observed_since();
        let facts = facts(&self.dash, &roles, &succeeded);
        self.run.poll_conditions(&facts, now, since)
    }

    pub fn scroll_detail(&mut self, lines: i16) {
        let max = self.detail_scroll_max.get();
        self.detail_scroll = self.detail_scroll.saturating_add_signed(lines).min(max);
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

    fn exec(&mut self, e: ExecMsg) -> Vec<Effect> {
        match e {
            ExecMsg::Output {
                step, stream, text, ..
            } => {
                let lines = self.output.entry(step).or_default();
                for line in text.lines() {
                    lines.push((stream, line.to_string()));
                }
                let excess = lines.len().saturating_sub(OUTPUT_LINES);
                lines.drain(..excess);
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
        }
    }

    /// Gives an operator command to the run, with facts under the step's roles. A step's
    /// first start fixes what it resolves to.
    pub(super) fn command(&mut self, cmd: Command, now: Instant) -> Vec<Effect> {
        let step = match &cmd {
            Command::Run { step, .. }
            | Command::Skip { step, .. }
            | Command::Done { step }
            | Command::Verified { step, .. }
            | Command::Cancel { step } => self.run.runbook.step(step).cloned(),
        };
        let roles = match &step {
            Some(s) => self.roles_for(s),
            None => self.roles.clone(),
        };
        let succeeded = self.run.succeeded();
        let facts = facts(&self.dash, &roles, &succeeded);
        match self.run.command(cmd, &facts, now) {
            Ok(effects) => {
                self.message = None;
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
                effects
            }
            Err(r) => {
                self.message = Some(refusal_hint(&r));
                Vec::new()
            }
        }
    }

    /// The state of a step for display, with "ready" and "blocked" derived.
    pub fn display_state(&self, step: &Step) -> DisplayState {
        match self.run.state(&step.id.value) {
            StepState::Pending => match self.may_run(step) {
                Ok(()) => DisplayState::Ready,
                Err(Refusal::Gates(_)) => DisplayState::Blocked,
                Err(_) => DisplayState::Pending,
            },
            StepState::Running { started, .. } => DisplayState::Running(*started),
            StepState::Succeeded { .. } => DisplayState::Succeeded,
            StepState::Failed { .. } => DisplayState::Failed,
            StepState::Skipped { .. } => DisplayState::Skipped,
            StepState::Unknown => DisplayState::Unknown,
        }
    }

    /// Whether a step may run now, with its gates judged under its roles.
    pub fn may_run(&self, step: &Step) -> Result<(), Refusal> {
        let roles = self.roles_for(step);
        let succeeded = self.run.succeeded();
        self.run
            .may_run(step, &facts(&self.dash, &roles, &succeeded))
    }

    /// Each gate of a step with its live value, under the step's roles.
    pub fn gates(&self, step: &Step) -> Vec<(String, crate::runbook::eval::Evaluation)> {
        let roles = self.roles_for(step);
        let succeeded = self.run.succeeded();
        self.run.gates(step, &facts(&self.dash, &roles, &succeeded))
    }

    /// A check's or wait's condition judged on the live facts now (before it runs).
    pub fn condition_now(&self, step: &Step) -> Option<crate::runbook::eval::Evaluation> {
        let condition = match &step.action {
            Action::Check { condition } => condition,
            Action::Wait { until } => until,
            _ => return None,
        };
        let roles = self.roles_for(step);
        let succeeded = self.run.succeeded();
        let facts = facts(&self.dash, &roles, &succeeded);
        Some(crate::runbook::eval::evaluate(condition, &facts))
    }

    /// What a destructive step asks the operator to type.
    pub fn confirm_name(&self, step: &Step) -> Result<String, Refusal> {
        let roles = self.roles_for(step);
        let succeeded = self.run.succeeded();
        self.run
            .confirm_name(step, &facts(&self.dash, &roles, &succeeded))
    }

    pub fn outcome_of(&self, id: &str) -> Option<Outcome> {
        match self.run.state(id) {
            StepState::Succeeded { detail } => Some(Outcome::Succeeded(detail.clone())),
            StepState::Failed { detail } => Some(Outcome::Failed(detail.clone())),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisplayState {
    Pending,
    Ready,
    Blocked,
    Running(Instant),
    Succeeded,
    Failed,
    Skipped,
    Unknown,
}

pub fn facts<'a>(
    dash: &'a Dashboard,
    roles: &'a RoleMap,
    succeeded: &'a HashSet<String>,
) -> LiveFacts<'a> {
    LiveFacts {
        servers: &dash.servers,
        maxscale: dash.maxscale.as_ref(),
        maxscale_names: &dash.maxscale_names,
        roles,
        succeeded,
    }
}

pub(super) fn refusal_hint(r: &Refusal) -> String {
    match r {
        Refusal::Gates(_) => format!("{r} — o overrides with a typed justification"),
        _ => r.to_string(),
    }
}

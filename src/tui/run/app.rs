//! The cockpit's state and its one `update`: keys, snapshots and executor news in,
//! effects out. No I/O here; the runtime performs the effects.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::exec::spawn::ExecMsg;
use crate::poll::ServerSnapshot;
use crate::poll::maxscale::MaxscaleSnapshot;
use crate::runbook::model::Located;
use crate::runbook::roles::RoleMap;
use crate::runbook::{Action, Step};
use crate::session::facts::LiveFacts;
use crate::session::run::{Command, Effect, Outcome, Record, Refusal, Run, StepState};
use crate::tui::dashboard::Dashboard;

/// Lines of output kept per step for the screen (the journal keeps its own bound).
const OUTPUT_LINES: usize = 2000;

#[derive(Clone, Debug)]
pub enum Msg {
    Key(KeyEvent),
    Server(ServerSnapshot),
    Maxscale(MaxscaleSnapshot),
    Exec(ExecMsg),
    Tick,
}

/// A question the cockpit is asking the operator.
#[derive(Clone, Debug, PartialEq)]
pub enum Modal {
    /// "Run STEP? y/n"
    Confirm {
        step: String,
    },
    /// A destructive step: type the target server's name.
    TypeName {
        step: String,
        expected: String,
        input: String,
        justification: Option<String>,
    },
    Skip {
        step: String,
        input: String,
    },
    Override {
        step: String,
        input: String,
    },
}

pub struct RunApp {
    pub run: Run,
    pub dash: Dashboard,
    pub roles: RoleMap,
    pins: BTreeMap<String, Located<String>>,
    pub pins_captured: bool,
    /// Index into the runbook's steps in order.
    pub selected: usize,
    pub modal: Option<Modal>,
    pub output: HashMap<String, Vec<(&'static str, String)>>,
    pub message: Option<String>,
    pub quit: bool,
    /// Phases the operator folded (by index).
    pub folded: std::collections::HashSet<usize>,
}

impl RunApp {
    pub fn new(run: Run, dash: Dashboard, roles: RoleMap) -> Self {
        let pins = run.runbook.pins.clone();
        let pins_captured = !roles.pins.is_empty() || pins.is_empty();
        let mut app = Self {
            run,
            dash,
            roles,
            pins,
            pins_captured,
            selected: 0,
            modal: None,
            output: HashMap::new(),
            message: None,
            quit: false,
            folded: std::collections::HashSet::new(),
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

    fn select_current(&mut self) {
        if let Some(cur) = self.run.current().map(|s| s.id.value.clone()) {
            self.selected = self
                .steps()
                .iter()
                .position(|s| s.id.value == cur)
                .unwrap_or(0);
        }
    }

    /// Applies one message; returns the effects for the runtime.
    pub fn update(&mut self, msg: Msg, now: Instant) -> Vec<Effect> {
        let mut effects = match msg {
            Msg::Key(k) => self.key(k, now),
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
        let succeeded = self.run.succeeded();
        let facts = facts(&self.dash, &self.roles, &succeeded);
        effects.extend(
            self.run
                .poll_conditions(&facts, now, self.facts_observed_since()),
        );
        // After a result or a skip, the cursor follows the run to the next step.
        let moved = effects.iter().any(|e| {
            matches!(
                e,
                Effect::Record(Record::Ended { .. } | Record::Skipped { .. })
            )
        });
        if moved {
            self.select_current();
        }
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
            self.roles.switchover(p);
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

    fn command(&mut self, cmd: Command, now: Instant) -> Vec<Effect> {
        let succeeded = self.run.succeeded();
        let facts = facts(&self.dash, &self.roles, &succeeded);
        match self.run.command(cmd, &facts, now) {
            Ok(effects) => {
                self.message = None;
                effects
            }
            Err(r) => {
                self.message = Some(refusal_hint(&r));
                Vec::new()
            }
        }
    }

    fn key(&mut self, k: KeyEvent, now: Instant) -> Vec<Effect> {
        if k.kind == KeyEventKind::Release {
            return Vec::new();
        }
        if let Some(modal) = self.modal.take() {
            return self.modal_key(modal, k, now);
        }
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        let Some(step) = self.selected_step().cloned() else {
            return Vec::new();
        };
        let id = step.id.value.clone();
        match k.code {
            KeyCode::Char('c') if ctrl => {
                if let Some(running) = self.run.running().map(str::to_string) {
                    return self.command(Command::Cancel { step: running }, now);
                }
                self.message = Some("nothing is running; q quits".into());
            }
            KeyCode::Char('q') => {
                if let Some(r) = self.run.running() {
                    self.message = Some(format!("step {r} is running: Ctrl-C cancels it first"));
                } else {
                    self.quit = true;
                }
            }
            KeyCode::Down | KeyCode::Char('j') => {
                self.selected = (self.selected + 1).min(self.steps().len().saturating_sub(1));
            }
            KeyCode::Up | KeyCode::Char('k') => self.selected = self.selected.saturating_sub(1),
            KeyCode::Char('g') => self.select_current(),
            // Fold or unfold the phases other than the one being worked on.
            KeyCode::Char('f') => {
                let phase = self.phase_of(self.selected);
                let all: Vec<usize> = (0..self.run.runbook.phases.len())
                    .filter(|p| *p != phase)
                    .collect();
                if all.iter().all(|p| self.folded.contains(p)) {
                    self.folded.clear();
                } else {
                    self.folded.extend(all);
                }
            }
            KeyCode::Enter | KeyCode::Char('r') => match step.action {
                Action::Manual { .. } => {
                    self.message = Some("a manual step: do it by hand, then press m".into());
                }
                Action::Note { .. } => return self.command(Command::Done { step: id }, now),
                _ => {
                    let succeeded = self.run.succeeded();
                    let facts = facts(&self.dash, &self.roles, &succeeded);
                    match self.run.may_run(&step, &facts) {
                        Ok(()) => self.modal = Some(Modal::Confirm { step: id }),
                        Err(r) => self.message = Some(refusal_hint(&r)),
                    }
                }
            },
            KeyCode::Char('m') => return self.command(Command::Done { step: id }, now),
            KeyCode::Char('s') => {
                self.modal = Some(Modal::Skip {
                    step: id,
                    input: String::new(),
                })
            }
            KeyCode::Char('o') => {
                self.modal = Some(Modal::Override {
                    step: id,
                    input: String::new(),
                })
            }
            _ => {}
        }
        Vec::new()
    }

    fn modal_key(&mut self, modal: Modal, k: KeyEvent, now: Instant) -> Vec<Effect> {
        if k.code == KeyCode::Esc {
            self.message = Some("cancelled: nothing was run".into());
            return Vec::new();
        }
        match modal {
            Modal::Confirm { step } => match k.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => self.confirmed(step, None, now),
                _ => {
                    self.message = Some("not confirmed: nothing was run".into());
                    Vec::new()
                }
            },
            Modal::Override { step, mut input } => {
                if k.code == KeyCode::Enter && !input.trim().is_empty() {
                    return self.confirmed(step, Some(input), now);
                }
                edit(&mut input, k);
                self.modal = Some(Modal::Override { step, input });
                Vec::new()
            }
            Modal::Skip { step, mut input } => {
                if k.code == KeyCode::Enter && !input.trim().is_empty() {
                    return self.command(
                        Command::Skip {
                            step,
                            reason: input,
                        },
                        now,
                    );
                }
                edit(&mut input, k);
                self.modal = Some(Modal::Skip { step, input });
                Vec::new()
            }
            Modal::TypeName {
                step,
                expected,
                mut input,
                justification,
            } => {
                if k.code == KeyCode::Enter {
                    return self.command(
                        Command::Run {
                            step,
                            typed: Some(input),
                            justification,
                        },
                        now,
                    );
                }
                edit(&mut input, k);
                self.modal = Some(Modal::TypeName {
                    step,
                    expected,
                    input,
                    justification,
                });
                Vec::new()
            }
        }
    }

    /// After "yes" (or a justification): a destructive step still asks for the name.
    fn confirmed(
        &mut self,
        step: String,
        justification: Option<String>,
        now: Instant,
    ) -> Vec<Effect> {
        let Some(s) = self.run.runbook.step(&step).cloned() else {
            return Vec::new();
        };
        if s.destructive {
            let succeeded = self.run.succeeded();
            let facts = facts(&self.dash, &self.roles, &succeeded);
            let expected = match self.run.servers(&s, &facts) {
                Ok(servers) => servers.join(","),
                Err(r) => {
                    self.message = Some(refusal_hint(&r));
                    return Vec::new();
                }
            };
            self.modal = Some(Modal::TypeName {
                step,
                expected,
                input: String::new(),
                justification,
            });
            return Vec::new();
        }
        self.command(
            Command::Run {
                step,
                typed: None,
                justification,
            },
            now,
        )
    }

    /// The state of a step for display, with "ready" and "blocked" derived.
    pub fn display_state(&self, step: &Step) -> DisplayState {
        match self.run.state(&step.id.value) {
            StepState::Pending => {
                let succeeded = self.run.succeeded();
                let facts = facts(&self.dash, &self.roles, &succeeded);
                match self.run.may_run(step, &facts) {
                    Ok(()) => DisplayState::Ready,
                    Err(Refusal::Gates(_)) => DisplayState::Blocked,
                    Err(_) => DisplayState::Pending,
                }
            }
            StepState::Running { started, .. } => DisplayState::Running(*started),
            StepState::Succeeded { .. } => DisplayState::Succeeded,
            StepState::Failed { .. } => DisplayState::Failed,
            StepState::Skipped { .. } => DisplayState::Skipped,
            StepState::Unknown => DisplayState::Unknown,
        }
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
    succeeded: &'a std::collections::HashSet<String>,
) -> LiveFacts<'a> {
    LiveFacts {
        servers: &dash.servers,
        maxscale: dash.maxscale.as_ref(),
        maxscale_names: &dash.maxscale_names,
        roles,
        succeeded,
    }
}

fn edit(input: &mut String, k: KeyEvent) {
    match k.code {
        KeyCode::Char(c) => input.push(c),
        KeyCode::Backspace => {
            input.pop();
        }
        _ => {}
    }
}

fn refusal_hint(r: &Refusal) -> String {
    match r {
        Refusal::Gates(_) => format!("{r} — o overrides with a typed justification"),
        _ => r.to_string(),
    }
}

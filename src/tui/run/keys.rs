//! What each key does. An open question takes every key; without one, moving, folding,
//! scrolling and help always work, while the keys that change the run (run, skip,
//! override, done, verified) are refused while a step runs and ignored for a moment after
//! the run moved the cursor by itself. A key yields at most one command for the session.

use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::app::{Request, RunApp};
use super::modal::{Decision, Modal, TextField, is_dismiss, is_yes};
use crate::session::run::{APPROVAL_GATE, Command};
use crate::session::view::{SessionView, Status, StepView};

/// Lines a PgUp/PgDn scrolls the detail by.
const PAGE: i16 = 10;

impl RunApp {
    /// A key: what it changes on screen, and at most one command for the session (the
    /// front end carries it out and puts a refusal in [`RunApp::message`]).
    pub fn key(&mut self, k: KeyEvent, view: &SessionView, now: Instant) -> Option<Request> {
        if k.kind == KeyEventKind::Release {
            return None;
        }
        // A key answers the last message; what it does may say something new.
        self.message = None;
        if let Some(modal) = self.modal.take() {
            return self.modal_key(modal, k, view);
        }
        if self.show_help {
            self.show_help = false;
            return None;
        }
        match k.code {
            KeyCode::Char('n') => {
                self.modal = Some(Modal::Note {
                    input: TextField::default(),
                });
                return None;
            }
            KeyCode::Char('h') if !self.observer => return Some(Request::HandOver),
            KeyCode::Char('a') if self.observer => {
                self.ask_approval(view);
                return None;
            }
            KeyCode::Enter | KeyCode::Char('r' | 's' | 'o' | 'm' | 'v') if self.observer => {
                self.message = Some(format!(
                    "you observe {}'s session: a approves a four-eyes step, n adds a note",
                    view.driver
                ));
                return None;
            }
            KeyCode::Char('c') if self.observer && k.modifiers.contains(KeyModifiers::CONTROL) => {
                self.message = Some("only the driver cancels steps; q leaves".into());
                return None;
            }
            KeyCode::Char('q') if self.observer => {
                self.quit = true;
                return None;
            }
            _ => {}
        }
        self.key_for_driver(k, view, now).map(Request::Session)
    }

    /// The approval question for the selected step (an attached operator's `a`).
    fn ask_approval(&mut self, view: &SessionView) {
        let Some(step) = self.selected_step(view) else {
            return;
        };
        if !step.gates.iter().any(|g| g.condition == APPROVAL_GATE) {
            self.message = Some(format!("{} needs no approval", step.id));
            return;
        }
        let expected = step
            .confirm_name
            .clone()
            .unwrap_or_else(|_| step.id.clone());
        let mut lines = step.confirm.clone();
        lines.push(format!(
            "Approve it as the second operator? Type `{expected}` and Enter:"
        ));
        self.modal = Some(Modal::Approve {
            step: step.id.clone(),
            expected,
            lines,
            input: TextField::default(),
        });
    }

    fn key_for_driver(&mut self, k: KeyEvent, view: &SessionView, now: Instant) -> Option<Command> {
        if self.show_help {
            self.show_help = false;
            return None;
        }
        if self.show_summary && matches!(k.code, KeyCode::Esc | KeyCode::Enter) {
            self.show_summary = false;
            return None;
        }
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        match k.code {
            KeyCode::Char('c') if ctrl => {
                if let Some(running) = &view.running {
                    return Some(Command::Cancel {
                        step: running.clone(),
                    });
                }
                self.message = Some("nothing is running; q quits".into());
            }
            KeyCode::Char('q') => match &view.running {
                Some(r) => self.modal = Some(Modal::Quit { step: r.clone() }),
                None => self.quit = true,
            },
            KeyCode::Down | KeyCode::Char('j') => {
                self.select((self.selected + 1).min(view.steps.len().saturating_sub(1)));
            }
            KeyCode::Up | KeyCode::Char('k') => self.select(self.selected.saturating_sub(1)),
            KeyCode::Char('g') => self.select_current(view),
            KeyCode::Char('f') => self.fold_others(view),
            KeyCode::PageDown => self.scroll_detail(PAGE),
            KeyCode::PageUp => self.scroll_detail(-PAGE),
            KeyCode::Tab => self.pane = self.pane.next(),
            KeyCode::Char('?') => self.show_help = true,
            KeyCode::Char('S') if view.completed => self.show_summary = true,
            KeyCode::Enter | KeyCode::Char('r' | 's' | 'o' | 'm' | 'v') => {
                return self.action_key(k.code, view, now);
            }
            _ => {}
        }
        None
    }

    /// Fold or unfold the phases other than the one being worked on.
    fn fold_others(&mut self, view: &SessionView) {
        let phase = view.steps.get(self.selected).map_or(0, |s| s.phase);
        let all: Vec<usize> = (0..view.phases.len()).filter(|p| *p != phase).collect();
        if all.iter().all(|p| self.folded.contains(p)) {
            self.folded.clear();
        } else {
            self.folded.extend(all);
        }
    }

    /// A key that changes the run: refused while a step runs, ignored just after the
    /// cursor moved by itself.
    fn action_key(&mut self, code: KeyCode, view: &SessionView, now: Instant) -> Option<Command> {
        if let Some(r) = &view.running {
            self.message = Some(format!(
                "step {r} is running: wait for it, or Ctrl-C cancels it"
            ));
            return None;
        }
        if self.guarded(now) {
            self.message =
                Some("the run just moved on: key ignored; look, then press it again".into());
            return None;
        }
        let step = self.selected_step(view)?;
        let id = step.id.clone();
        match code {
            KeyCode::Enter | KeyCode::Char('r') => self.ask_to_run(step),
            KeyCode::Char('m') => {
                if step.kind != "manual" {
                    self.message = Some("m marks a manual step done; this is not one".into());
                } else if let Some(b) = &step.blocked {
                    self.message = Some(b.message.clone());
                } else {
                    let mut lines = vec![format!("Mark {id} — {} done?", step.title)];
                    lines.extend(step.command.clone().unwrap_or_default());
                    lines.push("Only if you did it by hand. Journaled with your name.".into());
                    self.modal = Some(Modal::Decide {
                        step: id,
                        lines,
                        decision: Decision::Done,
                    });
                }
                None
            }
            KeyCode::Char('s') => {
                if step.status.is_finished() {
                    self.message = Some("the step is already finished".into());
                } else {
                    self.modal = Some(Modal::Skip {
                        step: id,
                        input: TextField::default(),
                    });
                }
                None
            }
            KeyCode::Char('o') => {
                self.ask_override(step);
                None
            }
            KeyCode::Char('v') => {
                if step.status != Status::Unknown {
                    self.message =
                        Some("only a step whose outcome is unknown is marked verified done".into());
                    return None;
                }
                let mut lines = vec![format!(
                    "{id}: its outcome is unknown. You checked by hand that it is done?"
                )];
                lines.extend(step.verdict.clone());
                self.modal = Some(Modal::Verify {
                    step: id,
                    lines,
                    input: TextField::default(),
                });
                None
            }
            _ => None,
        }
    }

    fn ask_to_run(&mut self, step: &StepView) -> Option<Command> {
        match step.kind.as_str() {
            "manual" => {
                self.message = Some("a manual step: do it by hand, then press m".into());
                None
            }
            "note" => Some(Command::Done {
                step: step.id.clone(),
            }),
            _ => {
                match &step.blocked {
                    None => {
                        self.modal = Some(Modal::Confirm {
                            lines: step.confirm.clone(),
                            step: step.id.clone(),
                            justification: None,
                        })
                    }
                    Some(b) => self.message = Some(b.message.clone()),
                }
                None
            }
        }
    }

    fn ask_override(&mut self, step: &StepView) {
        let why = match (&step.status, &step.blocked) {
            (Status::Failed { detail }, _) if step.kind == "check" => {
                let condition = step.command.clone().unwrap_or_default().join(" ");
                format!("the check failed: {condition} ({detail}). Accept it and go on?")
            }
            (_, Some(b)) if !b.gates.is_empty() => {
                format!("gates that do not hold: {}", b.gates.join("; "))
            }
            (_, Some(b)) => {
                self.message = Some(b.message.clone());
                return;
            }
            (_, None) => {
                self.message = Some("its gates hold: Enter runs it, no override needed".into());
                return;
            }
        };
        self.modal = Some(Modal::Override {
            step: step.id.clone(),
            why,
            input: TextField::default(),
        });
    }

    pub fn paste(&mut self, text: &str) {
        match self.modal.as_mut() {
            Some(m) => match m.field() {
                Some(field) => field.paste(text),
                // A paste never answers a yes/no question.
                None => {
                    self.modal = None;
                    self.message = Some("a paste is not an answer: nothing was run".into());
                }
            },
            None => self.message = Some("paste ignored: no question is open".into()),
        }
    }

    fn modal_key(&mut self, modal: Modal, k: KeyEvent, view: &SessionView) -> Option<Request> {
        if is_dismiss(&k) {
            self.message = Some("cancelled: nothing was run".into());
            return None;
        }
        let submit = k.code == KeyCode::Enter;
        match modal {
            Modal::Note { input } if submit && !input.value().trim().is_empty() => {
                Some(Request::Note(input.value().trim().to_string()))
            }
            Modal::Approve { step, input, .. } if submit => Some(Request::Approve {
                step,
                typed: input.value().to_string(),
            }),
            modal => self.modal_command(modal, k, view).map(Request::Session),
        }
    }

    fn modal_command(
        &mut self,
        mut modal: Modal,
        k: KeyEvent,
        view: &SessionView,
    ) -> Option<Command> {
        let submit = k.code == KeyCode::Enter;
        match modal {
            Modal::Confirm {
                step,
                justification,
                ..
            } => {
                if is_yes(&k) {
                    return self.confirmed(step, justification, view);
                }
                self.message = Some("not confirmed: nothing was run".into());
                None
            }
            Modal::Quit { step } => match k.code {
                KeyCode::Char('c') if k.modifiers.is_empty() => {
                    self.quit_when_idle = true;
                    self.quit_reason = Some(format!("operator quit after cancelling {step}"));
                    self.message = Some(format!("cancelling {step}; quitting when it has stopped"));
                    Some(Command::Cancel { step })
                }
                KeyCode::Char('l') if k.modifiers.is_empty() => {
                    self.quit = true;
                    self.quit_reason = Some(format!(
                        "operator quit leaving {step} running (its outcome is unknown on resume)"
                    ));
                    None
                }
                _ => {
                    self.message = Some("still here: nothing changed".into());
                    None
                }
            },
            Modal::Decide { step, decision, .. } => {
                if !is_yes(&k) {
                    self.message = Some("not confirmed: nothing changed".into());
                    return None;
                }
                Some(match decision {
                    Decision::Skip { reason } => Command::Skip { step, reason },
                    Decision::Verified { reason } => Command::Verified { step, reason },
                    Decision::Done => Command::Done { step },
                })
            }
            Modal::Skip { step, input } if submit && !input.value().trim().is_empty() => {
                let reason = input.value().trim().to_string();
                self.modal = Some(Modal::Decide {
                    lines: vec![
                        format!("Skip {step}? Nothing is run; the reason is journaled:"),
                        format!("  {reason}"),
                    ],
                    step,
                    decision: Decision::Skip { reason },
                });
                None
            }
            Modal::Verify { step, input, .. } if submit && !input.value().trim().is_empty() => {
                let reason = input.value().trim().to_string();
                self.modal = Some(Modal::Decide {
                    lines: vec![
                        format!("Mark {step} verified done? Nothing is run; journaled:"),
                        format!("  {reason}"),
                    ],
                    step,
                    decision: Decision::Verified { reason },
                });
                None
            }
            Modal::Override { step, input, .. } if submit && !input.value().trim().is_empty() => {
                let justification = input.value().trim().to_string();
                let s = view.step(&step)?;
                if s.kind == "check" {
                    // Accepting a failed check runs nothing: the justification is the act.
                    return Some(Command::Run {
                        step,
                        typed: None,
                        justification: Some(justification),
                    });
                }
                let mut lines = s.confirm.clone();
                lines.push(format!("Overriding its gates: {justification}"));
                self.modal = Some(Modal::Confirm {
                    lines,
                    step,
                    justification: Some(justification),
                });
                None
            }
            Modal::TypeName {
                step,
                input,
                justification,
                ..
            } if submit => Some(Command::Run {
                step,
                typed: Some(input.value().to_string()),
                justification,
            }),
            _ => {
                if let Some(field) = modal.field() {
                    field.key(k);
                }
                self.modal = Some(modal);
                None
            }
        }
    }

    /// After "yes": a destructive step still asks for the name it acts on.
    fn confirmed(
        &mut self,
        step: String,
        justification: Option<String>,
        view: &SessionView,
    ) -> Option<Command> {
        let s = view.step(&step)?;
        if !s.destructive {
            return Some(Command::Run {
                step,
                typed: None,
                justification,
            });
        }
        let expected = match &s.confirm_name {
            Ok(name) => name.clone(),
            Err(e) => {
                self.message = Some(e.clone());
                return None;
            }
        };
        let mut lines = vec![format!("{step} is destructive.")];
        match &s.direction {
            Some(d) => lines.push(format!(
                "Writes move from {} to {}. Type `{expected}` (the new primary) and Enter:",
                d.from, d.to
            )),
            None => lines.push(format!(
                "It acts on {expected}. Type `{expected}` and Enter to run it:"
            )),
        }
        self.modal = Some(Modal::TypeName {
            step,
            expected,
            lines,
            input: TextField::default(),
            justification,
        });
        None
    }
}

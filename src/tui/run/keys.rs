//! What each key does. An open question takes every key; without one, moving, folding,
//! scrolling and help always work, while the keys that change the run (run, skip,
//! override, done, verified) are refused while a step runs and ignored for a moment after
//! the run moved the cursor by itself.

use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::app::{RunApp, refusal_hint};
use super::describe::{confirm_lines, describe, unknown_switchover};
use super::modal::{Decision, Modal, TextField, is_dismiss, is_yes};
use crate::runbook::{Action, Step};
use crate::session::run::{Command, Effect, Refusal, StepState};

/// Lines a PgUp/PgDn scrolls the detail by.
const PAGE: i16 = 10;

impl RunApp {
    pub(super) fn key(&mut self, k: KeyEvent, now: Instant) -> Vec<Effect> {
        if k.kind == KeyEventKind::Release {
            return Vec::new();
        }
        // A key answers the last message; what it does may say something new.
        self.message = None;
        if let Some(modal) = self.modal.take() {
            return self.modal_key(modal, k, now);
        }
        if self.show_help {
            self.show_help = false;
            return Vec::new();
        }
        if self.show_summary && matches!(k.code, KeyCode::Esc | KeyCode::Enter) {
            self.show_summary = false;
            return Vec::new();
        }
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
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
                self.select((self.selected + 1).min(self.steps().len().saturating_sub(1)));
            }
            KeyCode::Up | KeyCode::Char('k') => self.select(self.selected.saturating_sub(1)),
            KeyCode::Char('g') => self.select_current(),
            KeyCode::Char('f') => self.fold_others(),
            KeyCode::PageDown => self.scroll_detail(PAGE),
            KeyCode::PageUp => self.scroll_detail(-PAGE),
            KeyCode::Tab => self.pane = self.pane.next(),
            KeyCode::Char('?') => self.show_help = true,
            KeyCode::Char('S') if self.run.completed => self.show_summary = true,
            KeyCode::Enter | KeyCode::Char('r' | 's' | 'o' | 'm' | 'v') => {
                return self.action_key(k.code, now);
            }
            _ => {}
        }
        Vec::new()
    }

    /// Fold or unfold the phases other than the one being worked on.
    fn fold_others(&mut self) {
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

    /// A key that changes the run: refused while a step runs, ignored just after the
    /// cursor moved by itself.
    fn action_key(&mut self, code: KeyCode, now: Instant) -> Vec<Effect> {
        if let Some(r) = self.run.running() {
            self.message = Some(format!(
                "step {r} is running: wait for it, or Ctrl-C cancels it"
            ));
            return Vec::new();
        }
        if self.guarded(now) {
            self.message =
                Some("the run just moved on: key ignored; look, then press it again".into());
            return Vec::new();
        }
        let Some(step) = self.selected_step().cloned() else {
            return Vec::new();
        };
        let id = step.id.value.clone();
        match code {
            KeyCode::Enter | KeyCode::Char('r') => self.ask_to_run(&step, now),
            KeyCode::Char('m') => {
                if !matches!(step.action, Action::Manual { .. }) {
                    self.message = Some("m marks a manual step done; this is not one".into());
                    return Vec::new();
                }
                if let Err(r) = self.may_run(&step) {
                    self.message = Some(refusal_hint(&r));
                    return Vec::new();
                }
                let mut lines = vec![format!("Mark {id} — {} done?", step.title)];
                if let Ok(cmd) = describe(self, &step).command {
                    lines.extend(cmd);
                }
                lines.push("Only if you did it by hand. Journaled with your name.".into());
                self.modal = Some(Modal::Decide {
                    step: id,
                    lines,
                    decision: Decision::Done,
                });
                Vec::new()
            }
            KeyCode::Char('s') => {
                if self.run.state(&id).is_finished() {
                    self.message = Some(refusal_hint(&Refusal::AlreadyDone));
                } else {
                    self.modal = Some(Modal::Skip {
                        step: id,
                        input: TextField::default(),
                    });
                }
                Vec::new()
            }
            KeyCode::Char('o') => {
                self.ask_override(&step);
                Vec::new()
            }
            KeyCode::Char('v') => {
                if self.run.state(&id) != &StepState::Unknown {
                    self.message = Some(refusal_hint(&Refusal::NotUnknown));
                    return Vec::new();
                }
                let mut lines = vec![format!(
                    "{id}: its outcome is unknown. You checked by hand that it is done?"
                )];
                lines.extend(unknown_switchover(self, &step));
                self.modal = Some(Modal::Verify {
                    step: id,
                    lines,
                    input: TextField::default(),
                });
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn ask_to_run(&mut self, step: &Step, now: Instant) -> Vec<Effect> {
        let id = step.id.value.clone();
        match step.action {
            Action::Manual { .. } => {
                self.message = Some("a manual step: do it by hand, then press m".into());
                Vec::new()
            }
            Action::Note { .. } => self.command(Command::Done { step: id }, now),
            _ => {
                match self.may_run(step) {
                    Ok(()) => {
                        self.modal = Some(Modal::Confirm {
                            lines: confirm_lines(self, step, None),
                            step: id,
                            justification: None,
                        })
                    }
                    Err(r) => self.message = Some(refusal_hint(&r)),
                }
                Vec::new()
            }
        }
    }

    fn ask_override(&mut self, step: &Step) {
        let id = step.id.value.clone();
        let why = match (&step.action, self.run.state(&id), self.may_run(step)) {
            (Action::Check { condition }, StepState::Failed { detail }, _) => {
                format!("the check failed: {condition} ({detail}). Accept it and go on?")
            }
            (_, _, Err(Refusal::Gates(failed))) => {
                format!("gates that do not hold: {}", failed.join("; "))
            }
            (_, _, Ok(())) => {
                self.message = Some("its gates hold: Enter runs it, no override needed".into());
                return;
            }
            (_, _, Err(r)) => {
                self.message = Some(r.to_string());
                return;
            }
        };
        self.modal = Some(Modal::Override {
            step: id,
            why,
            input: TextField::default(),
        });
    }

    pub(super) fn paste(&mut self, text: &str) {
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

    fn modal_key(&mut self, mut modal: Modal, k: KeyEvent, now: Instant) -> Vec<Effect> {
        if is_dismiss(&k) {
            self.message = Some("cancelled: nothing was run".into());
            return Vec::new();
        }
        let submit = k.code == KeyCode::Enter;
        match modal {
            Modal::Confirm {
                step,
                justification,
                ..
            } => {
                if is_yes(&k) {
                    return self.confirmed(step, justification, now);
                }
                self.message = Some("not confirmed: nothing was run".into());
                Vec::new()
            }
            Modal::Decide { step, decision, .. } => {
                if !is_yes(&k) {
                    self.message = Some("not confirmed: nothing changed".into());
                    return Vec::new();
                }
                let cmd = match decision {
                    Decision::Skip { reason } => Command::Skip { step, reason },
                    Decision::Verified { reason } => Command::Verified { step, reason },
                    Decision::Done => Command::Done { step },
                };
                self.command(cmd, now)
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
                Vec::new()
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
                Vec::new()
            }
            Modal::Override { step, input, .. } if submit && !input.value().trim().is_empty() => {
                let justification = input.value().trim().to_string();
                let Some(s) = self.run.runbook.step(&step).cloned() else {
                    return Vec::new();
                };
                if matches!(s.action, Action::Check { .. }) {
                    // Accepting a failed check runs nothing: the justification is the act.
                    return self.command(
                        Command::Run {
                            step,
                            typed: None,
                            justification: Some(justification),
                        },
                        now,
                    );
                }
                self.modal = Some(Modal::Confirm {
                    lines: confirm_lines(self, &s, Some(&justification)),
                    step,
                    justification: Some(justification),
                });
                Vec::new()
            }
            Modal::TypeName {
                step,
                input,
                justification,
                ..
            } if submit => self.command(
                Command::Run {
                    step,
                    typed: Some(input.value().to_string()),
                    justification,
                },
                now,
            ),
            _ => {
                if let Some(field) = modal.field() {
                    field.key(k);
                }
                self.modal = Some(modal);
                Vec::new()
            }
        }
    }

    /// After "yes": a destructive step still asks for the name it acts on.
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
            let expected = match self.confirm_name(&s) {
                Ok(name) => name,
                Err(r) => {
                    self.message = Some(refusal_hint(&r));
                    return Vec::new();
                }
            };
            let mut lines = vec![format!("{step} is destructive.")];
            match describe(self, &s).direction {
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
}

//! The questions line mode asks on stdin, one line each, and what an answer means. The
//! same decisions as the cockpit's: only a bare `y` confirms, a destructive step then
//! asks to type the name it acts on, a skip needs a reason, an override a justification,
//! a step of unknown outcome is verified done with a reason. Pure: a question, a line and
//! the session's view in; what to say, at most one command, the next question out.

use crate::session::run::Command;
use crate::session::view::{SessionView, Status, StepView};

/// A question open on stdin.
#[derive(Clone, Debug, PartialEq)]
pub enum Question {
    /// What to do with the current step; its choices follow where the step stands.
    Main {
        step: String,
    },
    /// A destructive step: type the name it acts on.
    TypeName {
        step: String,
        expected: String,
        justification: Option<String>,
    },
    SkipReason {
        step: String,
    },
    SkipConfirm {
        step: String,
        reason: String,
    },
    /// A justification for running despite failed gates, or accepting a failed check.
    Justify {
        step: String,
    },
    OverrideConfirm {
        step: String,
        justification: String,
    },
    VerifyReason {
        step: String,
    },
    VerifyConfirm {
        step: String,
        reason: String,
    },
    /// `q` while a step runs: cancel it and quit, or leave it running and quit.
    Quit {
        step: String,
    },
}

impl Question {
    pub fn step(&self) -> &str {
        match self {
            Question::Main { step }
            | Question::TypeName { step, .. }
            | Question::SkipReason { step }
            | Question::SkipConfirm { step, .. }
            | Question::Justify { step }
            | Question::OverrideConfirm { step, .. }
            | Question::VerifyReason { step }
            | Question::VerifyConfirm { step, .. }
            | Question::Quit { step } => step,
        }
    }
}

/// How the session ends.
#[derive(Clone, Debug, PartialEq)]
pub enum Quit {
    /// Now, with this reason journaled.
    Now(String),
    /// As soon as no step runs (the running one was asked to cancel).
    WhenIdle(String),
}

/// What an answer does.
#[derive(Debug, Default, PartialEq)]
pub struct Reply {
    pub say: Vec<String>,
    pub command: Option<Command>,
    /// `None`: back to the step's main question (asked again once the view is seen).
    pub next: Option<Question>,
    pub quit: Option<Quit>,
}

impl Reply {
    fn say(text: impl Into<String>) -> Self {
        Reply {
            say: vec![text.into()],
            ..Reply::default()
        }
    }

    fn ask(next: Question) -> Self {
        Reply {
            next: Some(next),
            ..Reply::default()
        }
    }

    fn run(command: Command) -> Self {
        Reply {
            command: Some(command),
            ..Reply::default()
        }
    }
}

/// The reason journaled when the operator quits while `step` runs and leaves it running.
pub fn left_running(how: &str, step: &str) -> String {
    format!("{how} leaving {step} running (its outcome is unknown on resume)")
}

/// The line that asks `q`.
pub fn prompt(q: &Question, view: &SessionView) -> String {
    match q {
        Question::Main { step } => match view.step(step) {
            Some(s) => main_prompt(s),
            None => format!("{step}? [q(uit)]"),
        },
        Question::TypeName { expected, .. } => format!("type {expected} to confirm:"),
        Question::SkipReason { step } => format!("reason to skip {step}:"),
        Question::SkipConfirm { step, .. } => {
            format!("skip {step}? nothing is run; the reason is journaled [y/N]")
        }
        Question::Justify { step } => match view.step(step) {
            Some(s) if s.kind == "check" && matches!(s.status, Status::Failed { .. }) => {
                format!("justification to accept the failed check {step} and go on:")
            }
            _ => format!("justification to run {step} despite its gates:"),
        },
        Question::OverrideConfirm { step, .. } => {
            format!("run {step} despite its gates? [y/N]")
        }
        Question::VerifyReason { step } => {
            format!("what did you check by hand to know {step} is done?")
        }
        Question::VerifyConfirm { step, .. } => {
            format!("mark {step} verified done? nothing is run [y/N]")
        }
        Question::Quit { step } => {
            format!("{step} is running: c(ancel it, then quit)/l(eave it running and quit)/N")
        }
    }
}

fn main_prompt(s: &StepView) -> String {
    let id = &s.id;
    let unknown = s.status == Status::Unknown;
    let v = if unknown { "v(erified)/" } else { "" };
    match &s.blocked {
        Some(b) if !b.gates.is_empty() => {
            format!("waiting for the gates of {id}: {v}o(verride)/s(kip)/q(uit)")
        }
        Some(_) => format!("{id} cannot run now: {v}s(kip)/q(uit)"),
        None => match s.kind.as_str() {
            "note" => format!("acknowledge {id}? [Enter/s(kip)/q(uit)]"),
            "manual" => format!("{id}: done by hand? [y/N/s(kip)/q(uit)]"),
            _ if unknown => format!("re-run {id}? [y/N/v(erified)/s(kip)/q(uit)]"),
            _ if matches!(s.status, Status::Failed { .. }) => {
                format!("retry {id}? [y/N/s(kip)/o(verride)/q(uit)]")
            }
            _ => format!("run {id}? [y/N/s(kip)/o(verride)/q(uit)]"),
        },
    }
}

/// What `line` (without its line ending) answers to `q`. Only a bare `y` confirms.
pub fn answer(q: Question, line: &str, view: &SessionView) -> Reply {
    let Some(s) = view.step(q.step()) else {
        return Reply::say(format!("no step {}", q.step()));
    };
    let text = line.trim();
    match q {
        Question::Main { .. } => main_answer(s, line),
        Question::TypeName {
            step,
            justification,
            ..
        } => Reply::run(Command::Run {
            step,
            typed: Some(line.to_string()),
            justification,
        }),
        Question::SkipReason { step } if !text.is_empty() => Reply::ask(Question::SkipConfirm {
            step,
            reason: text.to_string(),
        }),
        Question::SkipReason { .. } => Reply::say("no reason given: nothing was skipped"),
        Question::SkipConfirm { step, reason } if line == "y" => {
            Reply::run(Command::Skip { step, reason })
        }
        Question::Justify { step } if !text.is_empty() => {
            let justification = text.to_string();
            if s.kind == "check" {
                // Accepting a failed check runs nothing: the justification is the act.
                return Reply::run(Command::Run {
                    step,
                    typed: None,
                    justification: Some(justification),
                });
            }
            Reply::ask(Question::OverrideConfirm {
                step,
                justification,
            })
        }
        Question::Justify { .. } => Reply::say("no justification given: nothing was run"),
        Question::OverrideConfirm {
            step,
            justification,
        } if line == "y" => confirmed(s, step, Some(justification)),
        Question::VerifyReason { step } if !text.is_empty() => {
            Reply::ask(Question::VerifyConfirm {
                step,
                reason: text.to_string(),
            })
        }
        Question::VerifyReason { .. } => Reply::say("no reason given: nothing changed"),
        Question::VerifyConfirm { step, reason } if line == "y" => {
            Reply::run(Command::Verified { step, reason })
        }
        Question::Quit { step } => match line {
            "c" => Reply {
                say: vec![format!("cancelling {step}; quitting when it has stopped")],
                quit: Some(Quit::WhenIdle(format!(
                    "operator quit after cancelling {step}"
                ))),
                command: Some(Command::Cancel { step }),
                next: None,
            },
            "l" => Reply {
                quit: Some(Quit::Now(left_running("operator quit", &step))),
                ..Reply::default()
            },
            _ => Reply::say("still here: nothing changed"),
        },
        Question::SkipConfirm { .. } | Question::VerifyConfirm { .. } => {
            Reply::say("not confirmed: nothing changed")
        }
        Question::OverrideConfirm { .. } => Reply::say("not confirmed: nothing was run"),
    }
}

/// An answer to the current step's main question.
fn main_answer(s: &StepView, line: &str) -> Reply {
    let step = s.id.clone();
    let unknown = s.status == Status::Unknown;
    match line {
        "q" => {
            return Reply {
                quit: Some(Quit::Now("operator quit".into())),
                ..Reply::default()
            };
        }
        "s" if s.status.is_finished() => return Reply::say("the step is already finished"),
        "s" => return Reply::ask(Question::SkipReason { step }),
        "v" if unknown => return Reply::ask(Question::VerifyReason { step }),
        "v" => {
            return Reply::say("only a step whose outcome is unknown is marked verified done");
        }
        _ => {}
    }
    if let Some(b) = &s.blocked {
        return match line {
            "o" if !b.gates.is_empty() => Reply::ask(Question::Justify { step }),
            _ if !b.gates.is_empty() => Reply::say(format!(
                "waiting for the gates to hold ({}): o overrides them with a justification",
                b.gates.join("; ")
            )),
            _ => Reply::say(b.message.clone()),
        };
    }
    match (s.kind.as_str(), line) {
        ("note", "") => Reply::run(Command::Done { step }),
        ("note", _) => Reply::say("Enter acknowledges the note: nothing changed"),
        ("manual", "y") => Reply::run(Command::Done { step }),
        ("manual", _) => Reply::say("not confirmed: nothing changed"),
        (_, "y") => confirmed(s, step, None),
        ("check", "o") if matches!(s.status, Status::Failed { .. }) => {
            Reply::ask(Question::Justify { step })
        }
        (_, "o") => Reply::say("its gates hold: y runs it, no override needed"),
        _ => Reply::say("not confirmed: nothing was run"),
    }
}

/// After a `y`: a destructive step still asks for the name it acts on.
fn confirmed(s: &StepView, step: String, justification: Option<String>) -> Reply {
    if !s.destructive {
        return Reply::run(Command::Run {
            step,
            typed: None,
            justification,
        });
    }
    match &s.confirm_name {
        Ok(expected) => Reply {
            say: vec![match &s.direction {
                Some(d) => format!(
                    "{step} is destructive: writes move from {} to {}; type the new primary",
                    d.from, d.to
                ),
                None => format!("{step} is destructive: it acts on {expected}"),
            }],
            next: Some(Question::TypeName {
                step,
                expected: expected.clone(),
                justification,
            }),
            ..Reply::default()
        },
        Err(e) => Reply::say(format!("{e}: nothing was run")),
    }
}

#[cfg(test)]
#[path = "prompt_tests.rs"]
mod tests;

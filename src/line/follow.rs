//! Following the session in lines: each published view is compared with what was already
//! printed, and only the news is printed (a step reached, started or ended, gates that
//! changed while the run waits on them, the summary). It also holds the open question, so
//! that an answer is always read against the question it answers. Pure: views, lines
//! and the time in; lines to print and commands out.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::print;
use super::prompt::{self, Question, Quit, Reply};
use crate::session::run::Command;
use crate::session::view::{SessionView, Status, StepView};

/// A running step's progress is printed at most this often.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Something to print.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Out {
    Line(String),
    /// A question: printed without a line break, the answer is typed after it.
    Prompt(String),
}

/// A step reached: announced in full once per step, attempt and kind of standing (to
/// run, failed, unknown). Whether its gates hold is followed apart, in short lines.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Reached {
    step: String,
    attempts: u32,
    status: &'static str,
}

/// Ready, blocked and pending are one standing for announcing: the gates say which.
fn standing(s: &Status) -> &'static str {
    match s {
        Status::Ready | Status::Blocked | Status::Pending => "to run",
        other => tag(other),
    }
}

fn tag(s: &Status) -> &'static str {
    match s {
        Status::Pending => "pending",
        Status::Ready => "ready",
        Status::Blocked => "blocked",
        Status::Running { .. } => "running",
        Status::Succeeded { .. } => "succeeded",
        Status::Failed { .. } => "failed",
        Status::Skipped { .. } => "skipped",
        Status::Unknown => "unknown",
    }
}

#[derive(Debug, Default)]
pub struct Follow {
    question: Option<Question>,
    prompted: bool,
    announced: Option<Reached>,
    /// Why the step reached could not run, as last printed.
    blocked_shown: Option<String>,
    /// The failing gates' values last printed for the step the run waits on.
    gates_shown: Vec<(String, bool, Vec<String>)>,
    /// Each step's standing as last printed: status and attempts.
    seen: HashMap<String, (&'static str, u32)>,
    progress: Option<(String, String, Instant)>,
    notices: usize,
    journal_broken: Option<String>,
    summary_shown: bool,
    quit: Option<Quit>,
    started: bool,
}

impl Follow {
    pub fn new() -> Self {
        Follow::default()
    }

    /// The session should end now, with this reason.
    pub fn quit_now(&self) -> Option<&str> {
        match &self.quit {
            Some(Quit::Now(reason)) => Some(reason),
            _ => None,
        }
    }

    /// The news in `view` since the last one, and the question to ask next.
    pub fn observe(&mut self, view: &SessionView, now: Instant) -> Vec<Out> {
        let mut out = Vec::new();
        let mut line = |s: String| out.push(Out::Line(s));
        for n in view.notices.iter().skip(self.notices) {
            line(format!("notice: {n}"));
        }
        self.notices = view.notices.len();
        if view.journal_broken != self.journal_broken {
            match &view.journal_broken {
                Some(why) => line(format!(
                    "journal: {why} — no step starts until it can be written"
                )),
                None => line("journal: writable again".into()),
            }
            self.journal_broken = view.journal_broken.clone();
        }
        for s in &view.steps {
            let now_seen = (tag(&s.status), s.attempts);
            let before = self.seen.insert(s.id.clone(), now_seen);
            // The first view is where the session stands (a resume): not news.
            if self.started && before != Some(now_seen) {
                out.extend(print::status_line(s).map(Out::Line));
            }
        }
        self.started = true;
        if let Some(step) = &view.running {
            out.extend(self.progress(view, step, now));
            // Nothing is asked while a step runs but whether to quit.
            if !matches!(self.question, Some(Question::Quit { .. })) {
                self.question = None;
            }
        } else {
            if let Some(Quit::WhenIdle(reason)) = &self.quit {
                self.quit = Some(Quit::Now(reason.clone()));
            }
            if matches!(self.question, Some(Question::Quit { .. })) {
                self.question = None; // the step ended before the answer: nothing to ask
            }
        }
        if view.completed {
            if !self.summary_shown {
                self.summary_shown = true;
                if let Some(s) = &view.summary {
                    out.extend(print::summary_lines(view, s).into_iter().map(Out::Line));
                }
            }
            self.question = None;
            if self.quit.is_none() {
                self.quit = Some(Quit::Now("run complete".into()));
            }
            return out;
        }
        if matches!(self.quit, Some(Quit::Now(_))) {
            return out; // nothing more is asked of an operator who is leaving
        }
        if view.running.is_none()
            && let Some(i) = view.current
        {
            out.extend(self.current(view, i));
        }
        if let (Some(q), false) = (&self.question, self.prompted) {
            out.push(Out::Prompt(prompt::prompt(q, view)));
            self.prompted = true;
        }
        out
    }

    /// The step the run stands at, when nothing runs: announced when it is reached or its
    /// standing changes, its failing gates re-printed when their values change.
    fn current(&mut self, view: &SessionView, i: usize) -> Vec<Out> {
        let mut out = Vec::new();
        let Some(s) = view.steps.get(i) else {
            return out;
        };
        // A question about another step is stale; one being answered about this step is
        // finished first (the command is judged again when it is given).
        match &self.question {
            Some(q) if q.step() != s.id => self.question = None,
            Some(Question::Main { .. }) | None => {}
            Some(_) => return out,
        }
        let reached = Reached {
            step: s.id.clone(),
            attempts: s.attempts,
            status: standing(&s.status),
        };
        let blocked = s.blocked.as_ref().map(|b| b.message.clone());
        let failing = failing_gates(s);
        let line = |text: String| Out::Line(text);
        if self.announced.as_ref() != Some(&reached) {
            out.extend(print::step_lines(view, i).into_iter().map(line));
            if s.blocked.is_some() {
                out.push(line(print::blocked_line(s)));
            }
        } else if blocked != self.blocked_shown {
            // The same step, its gates now holding or not: said in short.
            match &blocked {
                Some(_) => {
                    out.push(line(print::blocked_line(s)));
                    out.extend(print::gate_lines(&failing_of(s)).into_iter().map(line));
                }
                None => {
                    out.push(line(format!("{} ✔ its gates hold now:", s.id)));
                    out.extend(print::gate_lines(&s.gates).into_iter().map(line));
                }
            }
        } else if blocked.is_some() && failing != self.gates_shown {
            out.push(line(format!("{} ■ the gates now:", s.id)));
            out.extend(print::gate_lines(&failing_of(s)).into_iter().map(line));
        } else {
            if self.question.is_none() {
                self.ask(Question::Main { step: s.id.clone() });
            }
            return out;
        }
        self.announced = Some(reached);
        self.blocked_shown = blocked;
        self.gates_shown = failing;
        self.ask(Question::Main { step: s.id.clone() });
        out
    }

    fn ask(&mut self, q: Question) {
        self.question = Some(q);
        self.prompted = false;
    }

    /// A running step's progress, when it changed, at most every [`PROGRESS_EVERY`].
    fn progress(&mut self, view: &SessionView, step: &str, now: Instant) -> Option<Out> {
        let Some(Status::Running {
            progress: Some(p), ..
        }) = view.step(step).map(|s| &s.status)
        else {
            return None;
        };
        let due = match &self.progress {
            Some((s, last, at)) if s == step => {
                last != p && now.saturating_duration_since(*at) >= PROGRESS_EVERY
            }
            _ => true,
        };
        if !due {
            return None;
        }
        self.progress = Some((step.to_string(), p.clone(), now));
        Some(Out::Line(print::progress_line(step, p)))
    }

    /// A line typed on stdin: an answer to the open question, or, while a step runs,
    /// `c` (cancel it) or `q` (quit). Returns what to print and the command to give.
    pub fn line(&mut self, line: &str, view: &SessionView) -> (Vec<Out>, Option<Command>) {
        let q = match self.question.take() {
            Some(q) if self.prompted => q,
            other => {
                self.question = other;
                return self.while_running(line, view);
            }
        };
        let Reply {
            say,
            command,
            next,
            quit,
        } = prompt::answer(q, line, view);
        self.question = next;
        self.prompted = false;
        if quit.is_some() {
            self.quit = quit;
        }
        (say.into_iter().map(Out::Line).collect(), command)
    }

    /// A line while no question is open: a step runs (lines typed for a question not yet
    /// asked never answer it).
    fn while_running(&mut self, line: &str, view: &SessionView) -> (Vec<Out>, Option<Command>) {
        let Some(step) = view.running.clone() else {
            let say = "no question is open: the line is ignored".to_string();
            return (vec![Out::Line(say)], None);
        };
        match line {
            "c" => (
                vec![Out::Line(format!("cancelling {step}"))],
                Some(Command::Cancel { step }),
            ),
            "q" => {
                self.ask(Question::Quit { step });
                (Vec::new(), None)
            }
            _ => {
                let say = format!(
                    "{step} is running: c cancels it, q quits; nothing else is taken while it runs"
                );
                (vec![Out::Line(say)], None)
            }
        }
    }

    /// Stdin closed, or a signal: the session ends, and says what it left running.
    pub fn end(&mut self, why: &str, view: &SessionView) -> String {
        let reason = match &view.running {
            Some(step) => prompt::left_running(why, step),
            None => why.to_string(),
        };
        self.quit = Some(Quit::Now(reason.clone()));
        reason
    }

    /// A command the session refused: say why; the step's question is asked again.
    pub fn refused(&mut self, why: &str) -> Vec<Out> {
        self.question = None;
        vec![Out::Line(format!("refused: {why}"))]
    }

    /// Ctrl-C: closes an open question without acting, cancels a running step, and
    /// otherwise quits.
    pub fn interrupt(&mut self, view: &SessionView) -> (Vec<Out>, Option<Command>) {
        if let Some(step) = &view.running {
            self.question = None;
            let say = vec![Out::Line(format!("cancelling {step}"))];
            return (say, Some(Command::Cancel { step: step.clone() }));
        }
        match &self.question {
            Some(Question::Main { .. }) | None => {
                let reason = self.end("operator interrupted (Ctrl-C)", view);
                (vec![Out::Line(reason)], None)
            }
            Some(_) => {
                self.question = None;
                (vec![Out::Line("cancelled: nothing was run".into())], None)
            }
        }
    }
}

fn failing_of(s: &StepView) -> Vec<crate::session::view::Judged> {
    s.gates.iter().filter(|g| !g.holds).cloned().collect()
}

fn failing_gates(s: &StepView) -> Vec<(String, bool, Vec<String>)> {
    s.gates
        .iter()
        .filter(|g| !g.holds)
        .map(|g| (g.condition.clone(), g.holds, g.observed.clone()))
        .collect()
}

#[cfg(test)]
#[path = "follow_tests.rs"]
mod tests;

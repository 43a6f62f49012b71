//! The cockpit's own state: what the operator looks at (selection, folds, scroll, the
//! pane shown, help, summary) and asks (the open question). The session's state is not
//! here: it arrives as a [`SessionView`], and keys become [`Command`]s for the session.
//! Keys are read in `keys.rs`.

use std::cell::Cell;
use std::collections::HashSet;
use std::time::{Duration, Instant};

use crossterm::event::KeyEvent;

pub use super::modal::Modal;
use crate::session::run::Command;
use crate::session::view::{SessionView, StepView};

/// After the run moves the cursor by itself (a step ended), the keys that change the run
/// are ignored this long, so keys typed for the old screen never act on the new one.
pub const TYPE_AHEAD_GUARD: Duration = Duration::from_millis(500);

/// What a key asks of the session (the front end carries it out).
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    /// For the driver's own session.
    Session(Command),
    /// A note for the journal.
    Note(String),
    /// A second operator's approval of a four-eyes step, with what they typed.
    Approve { step: String, typed: String },
    /// Offer the wheel to an attached operator.
    HandOver,
}

/// What a front end feeds the cockpit besides the session's view.
#[derive(Clone, Debug)]
pub enum Msg {
    Key(KeyEvent),
    /// Text pasted into the terminal (bracketed paste): only a text field takes it.
    Paste(String),
    /// Mouse wheel over the cockpit: lines to scroll the detail (negative = up).
    Scroll(i16),
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

#[derive(Debug, Default)]
pub struct RunApp {
    /// Index into the view's steps.
    pub selected: usize,
    pub modal: Option<Modal>,
    pub message: Option<String>,
    pub quit: bool,
    /// Why the session ends, for the journal (`operator quit` when unset).
    pub quit_reason: Option<String>,
    /// Quit as soon as no step runs (the operator chose to cancel the running one).
    pub quit_when_idle: bool,
    /// Phases the operator folded (by index).
    pub folded: HashSet<usize>,
    /// Lines the step detail (or the summary) is scrolled down by.
    pub detail_scroll: u16,
    /// The most it can scroll, as the last frame found it (the view knows the pane's
    /// size; keys only clamp with it).
    pub detail_scroll_max: Cell<u16>,
    /// How many rows the selected step's output wraps to, as the last frame counted it.
    pub(crate) output_rows: super::view::detail::OutputRows,
    pub pane: PaneChoice,
    pub show_help: bool,
    /// The summary screen, once the run is complete, until the operator closes it.
    pub show_summary: bool,
    /// Keys that change the run are ignored before this instant (see [`TYPE_AHEAD_GUARD`]).
    pub guard_until: Option<Instant>,
    /// Where the run stood at the last view, to notice when it moves by itself.
    seen: Option<Seen>,
    /// An attached second operator: watches, approves and adds notes; runs nothing.
    pub observer: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    current: Option<usize>,
    completed: bool,
}

impl RunApp {
    /// A cockpit looking at `view`: the cursor on the current step, the summary open if
    /// the run is complete, the session's notices in the message line.
    pub fn new(view: &SessionView) -> Self {
        let mut app = RunApp::default();
        if !view.notices.is_empty() {
            app.message = Some(view.notices.join(" · "));
        }
        app.observe(view, Instant::now());
        app
    }

    /// Takes a new view of the session. When the run moved on by itself, the cursor
    /// follows it and keys typed for the old screen are held off for a moment.
    pub fn observe(&mut self, view: &SessionView, now: Instant) {
        let seen = Seen {
            current: view.current,
            completed: view.completed,
        };
        match self.seen {
            None => {
                self.select_current(view);
                self.show_summary = view.completed;
            }
            Some(before) if before != seen => {
                self.select_current(view);
                self.guard_until = Some(now + TYPE_AHEAD_GUARD);
                if seen.completed && !before.completed {
                    self.show_summary = true;
                }
            }
            Some(_) => {}
        }
        self.seen = Some(seen);
        self.selected = self.selected.min(view.steps.len().saturating_sub(1));
    }

    pub fn selected_step<'v>(&self, view: &'v SessionView) -> Option<&'v StepView> {
        view.steps.get(self.selected)
    }

    pub fn select(&mut self, index: usize) {
        if index != self.selected {
            self.detail_scroll = 0;
        }
        self.selected = index;
    }

    pub(super) fn select_current(&mut self, view: &SessionView) {
        if let Some(i) = view.current {
            self.select(i);
        }
    }

    /// Whether keys that change the run are ignored now.
    pub fn guarded(&self, now: Instant) -> bool {
        self.guard_until.is_some_and(|t| now < t)
    }

    pub fn scroll_detail(&mut self, lines: i16) {
        let max = self.detail_scroll_max.get();
        self.detail_scroll = self.detail_scroll.saturating_add_signed(lines).min(max);
    }
}

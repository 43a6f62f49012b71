//! The questions the cockpit asks. While one is open it owns the keyboard: only editing
//! keys, Enter and Esc (or Ctrl-C) act, so type-ahead meant for a question never reaches
//! the checklist. Yes/no questions accept a bare `y` and nothing else.

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

/// A line of text the operator types (a reason, a justification, a server's name).
#[derive(Clone, Debug, Default)]
pub struct TextField {
    input: Input,
}

impl TextField {
    pub fn value(&self) -> &str {
        self.input.value()
    }

    pub fn cursor(&self) -> usize {
        self.input.visual_cursor()
    }

    /// Applies an editing key (characters, Backspace, Delete, arrows, Home/End, Ctrl-U…).
    pub fn key(&mut self, k: KeyEvent) {
        self.input.handle_event(&TermEvent::Key(k));
    }

    /// Inserts pasted text as typed characters; line breaks and control characters are
    /// dropped, so a paste never submits the field.
    pub fn paste(&mut self, text: &str) {
        for c in text.chars().filter(|c| !c.is_control()) {
            self.key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
    }
}

/// What a final `y` decides.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    Skip {
        reason: String,
    },
    Verified {
        reason: String,
    },
    /// Mark a manual step done.
    Done,
}

/// A question the cockpit is asking the operator about `step`.
#[derive(Clone, Debug)]
pub enum Modal {
    /// "Run STEP?" with what it does; `y` runs (or asks for the name if destructive).
    Confirm {
        step: String,
        lines: Vec<String>,
        justification: Option<String>,
    },
    /// A destructive step: type the name it acts on.
    TypeName {
        step: String,
        expected: String,
        lines: Vec<String>,
        input: TextField,
        justification: Option<String>,
    },
    Skip {
        step: String,
        input: TextField,
    },
    /// A justification for running despite failed gates, or accepting a failed check.
    Override {
        step: String,
        why: String,
        input: TextField,
    },
    /// A reason for marking a step of unknown outcome verified done.
    Verify {
        step: String,
        lines: Vec<String>,
        input: TextField,
    },
    /// A note for the journal, seen by every operator.
    Note {
        input: TextField,
    },
    /// A second operator approves a four-eyes step by typing what it acts on.
    Approve {
        step: String,
        expected: String,
        lines: Vec<String>,
        input: TextField,
    },
    /// `q` while a step runs: cancel it and quit, or leave it running and quit.
    Quit {
        step: String,
    },
    /// The last `y` for a decision that runs nothing but changes the run.
    Decide {
        step: String,
        lines: Vec<String>,
        decision: Decision,
    },
}

impl Modal {
    pub fn step(&self) -> &str {
        match self {
            Modal::Confirm { step, .. }
            | Modal::TypeName { step, .. }
            | Modal::Skip { step, .. }
            | Modal::Override { step, .. }
            | Modal::Verify { step, .. }
            | Modal::Quit { step }
            | Modal::Approve { step, .. }
            | Modal::Decide { step, .. } => step,
            Modal::Note { .. } => "",
        }
    }

    /// The text field being typed into, if this question has one.
    pub fn field(&mut self) -> Option<&mut TextField> {
        match self {
            Modal::TypeName { input, .. }
            | Modal::Skip { input, .. }
            | Modal::Override { input, .. }
            | Modal::Verify { input, .. }
            | Modal::Note { input }
            | Modal::Approve { input, .. } => Some(input),
            Modal::Confirm { .. } | Modal::Decide { .. } | Modal::Quit { .. } => None,
        }
    }
}

/// A bare `y`: no modifier, no paste.
pub fn is_yes(k: &KeyEvent) -> bool {
    k.code == KeyCode::Char('y') && k.modifiers.is_empty()
}

/// Esc, or Ctrl-C, closes a question without acting.
pub fn is_dismiss(k: &KeyEvent) -> bool {
    k.code == KeyCode::Esc
        || (k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL))
}

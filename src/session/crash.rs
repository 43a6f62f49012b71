//! The last word of a process that panics: the journal of the session being driven says
//! the cockpit crashed, and why, before the terminal is restored and the process exits.
//! The journal is written on its own thread, so this works even from a panicking loop.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use crate::session::journal::{Event, JournalHandle};

static JOURNAL: OnceLock<Mutex<Option<JournalHandle>>> = OnceLock::new();

/// The journal a crash is reported to (the one the driver of this process writes).
pub fn register(journal: &JournalHandle) {
    let slot = JOURNAL.get_or_init(|| Mutex::new(None));
    if let Ok(mut s) = slot.lock() {
        *s = Some(journal.clone());
    }
}

/// Journals `session_end` with `reason`, waiting at most a second. False if there is no
/// journal or it did not answer.
pub fn journal(reason: &str) -> bool {
    let Some(slot) = JOURNAL.get() else {
        return false;
    };
    let Ok(guard) = slot.try_lock() else {
        return false;
    };
    guard.as_ref().is_some_and(|j| {
        let event = Event::SessionEnd {
            reason: reason.to_string(),
        };
        j.append_within(&event, Duration::from_secs(1))
    })
}

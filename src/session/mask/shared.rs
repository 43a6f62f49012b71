//! The secrets this process has learned, for texts made far from any session: a poller's
//! error, a replica's `Last_SQL_Error` (which quotes the statement that failed). A
//! process only ever adds to it; it never forgets a secret.

use std::sync::{Arc, RwLock};

use super::Masker;

static KNOWN: RwLock<Option<Arc<Masker>>> = RwLock::new(None);

/// Adds `masker`'s values to what [`remembered`] masks.
pub fn remember(masker: &Masker) {
    if masker.is_empty() {
        return;
    }
    let mut known = KNOWN
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let merged = match known.as_deref() {
        Some(old) => old.union(masker),
        None => masker.clone(),
    };
    *known = Some(Arc::new(merged));
}

/// Every value this process was told to [`remember`] (none before a session opens).
pub fn remembered() -> Arc<Masker> {
    KNOWN
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
        .unwrap_or_default()
}

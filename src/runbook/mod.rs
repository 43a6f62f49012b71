//! Runbooks: the TOML format, loading with source spans, validation, templates,
//! conditions and the printed plan. No I/O beyond reading the file.

// Offsets and counts here come from runbook text, which anyone may write.
#![deny(clippy::arithmetic_side_effects)]

mod bind;
mod cond_parse;
pub mod condition;
mod duration;
pub mod eval;
pub mod expand;
mod lexer;
mod load;
pub mod model;
pub mod overlay;
pub mod plan;
mod raw;
mod repeat;
pub mod roles;
pub mod schema;
pub mod sql_context;
mod step;
pub mod template;
pub mod validate;

use std::path::Path;

pub use duration::{DurationError, MAX_DURATION, parse_bounded, parse_duration};
pub use model::{Action, Expect, ExpectTest, MaxscaleAction, Note, NoteKind, Phase, Runbook, Step};

use crate::diag::{Diagnostics, ReadError, SourceFile};
use crate::inventory::Inventory;

/// A runbook with the file it came from (and, when that file extends another, the base).
#[derive(Clone, Debug)]
pub struct Loaded {
    pub runbook: Runbook,
    pub file: SourceFile,
    pub base: Option<SourceFile>,
}

impl Loaded {
    /// What a session records to know the runbook again on resume: the SHA-256 of its text,
    /// and of the base's after it when it extends one (a change to either is a change).
    pub fn sha256(&self) -> String {
        let mut text = self.file.text.as_bytes().to_vec();
        if let Some(base) = &self.base {
            text.push(0);
            text.extend_from_slice(base.text.as_bytes());
        }
        crate::session::journal::sha256_hex(&text)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunbookError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("{} has {} error(s)", .0.errors.first().map(|e| e.path.display().to_string()).unwrap_or_default(), .0.len())]
    Invalid(Diagnostics),
}

/// Loads and validates a runbook, against an inventory when one is given: all errors, or
/// the runbook.
pub fn load_checked(path: &Path, inventory: Option<&Inventory>) -> Result<Loaded, RunbookError> {
    let file = SourceFile::read(path)?;
    check_text(file, inventory).map_err(RunbookError::Invalid)
}

/// Same, from text already read.
pub fn check_text(file: SourceFile, inventory: Option<&Inventory>) -> Result<Loaded, Diagnostics> {
    let overrides = inventory.map(|i| i.vars.clone()).unwrap_or_default();
    if overlay::extends_another(&file) {
        let (runbook, base) = overlay::load_overlay(&file, &overrides)?;
        let diags = validate::validate(&runbook, &base, Some(&file), inventory);
        return if diags.is_empty() {
            Ok(Loaded {
                runbook: expanded(runbook, inventory),
                file,
                base: Some(base),
            })
        } else {
            Err(diags)
        };
    }
    let (runbook, mut diags) = load::load(&file, &overrides)?;
    diags.extend(validate::validate(&runbook, &file, None, inventory));
    if diags.is_empty() {
        Ok(Loaded {
            runbook: expanded(runbook, inventory),
            file,
            base: None,
        })
    } else {
        Err(diags)
    }
}

/// With an inventory, `for_each` phases written out for its servers (`expand`); without
/// one, the runbook as written (`check` of the runbook alone).
fn expanded(runbook: Runbook, inventory: Option<&Inventory>) -> Runbook {
    match inventory {
        Some(inv) => expand::expand(&runbook, inv),
        None => runbook,
    }
}

//! The runbook file a journal names, read again for step titles, kinds and phases: only
//! when it is still the file the journal was written for (the same digest). Nothing else
//! of it reaches the report.

use std::path::{Path, PathBuf};

use super::{RunbookInfo, StepReport};
use crate::runbook::Runbook;

/// The runbook at the header's path (as given, else beside the journal), if it still has
/// the digest the journal recorded: its titles and phases are then the run's.
pub(super) fn runbook_of(
    journal: &Path,
    path: &str,
    sha256: &str,
) -> Option<(RunbookInfo, Runbook)> {
    let given = PathBuf::from(path);
    let beside = journal.parent().map(|d| d.join(&given));
    let candidates = std::iter::once(given.clone()).chain(beside.filter(|_| given.is_relative()));
    candidates.filter(|p| p.is_file()).find_map(|p| {
        let loaded = crate::runbook::load_checked(&p, None).ok()?;
        (loaded.sha256() == sha256).then(|| {
            let rb = loaded.runbook;
            let info = RunbookInfo {
                name: rb.meta.name.clone(),
                phases: rb
                    .phases
                    .iter()
                    .map(|ph| {
                        (
                            ph.title.clone(),
                            ph.steps.iter().map(|s| s.id.value.clone()).collect(),
                        )
                    })
                    .collect(),
            };
            (info, rb)
        })
    })
}

/// Titles, phases and kinds from the runbook.
pub(super) fn annotate(steps: &mut [StepReport], info: &RunbookInfo, rb: &Runbook) {
    for step in steps {
        // A copy of a `for_each` step (`ID@server3`): the runbook, read here without the
        // inventory, holds it once, as written.
        let (id, member) = match step.id.split_once('@') {
            Some((id, member)) => (id.to_string(), Some(member.to_string())),
            None => (step.id.clone(), None),
        };
        if let Some(s) = rb.step(&id) {
            step.title = Some(s.title.clone());
            step.kind = Some(s.action.kind());
        }
        step.phase = info
            .phases
            .iter()
            .find(|(_, ids)| ids.contains(&id))
            .map(|(title, _)| match &member {
                Some(m) => format!("{title} — {m}"),
                None => title.clone(),
            });
    }
}

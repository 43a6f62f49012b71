//! Before an attached operator takes the wheel: can this process drive the session? The
//! driver lets go of the journal and the lock once the wheel is accepted, so everything
//! the new driver's `run` needs is checked first, as this OS user: the runbook and the
//! inventory load, every secret and credential resolves from this operator's own
//! environment and files, the journal can be appended to, and its directory takes the
//! lock and the socket. Any failure declines the offer, and the driver keeps driving.

use std::fs::OpenOptions;
use std::path::Path;

use crate::inventory;
use crate::poll::start::{maxscale_client, operator_targets, sql_targets};
use crate::runbook;
use crate::session::open::resolve_secrets;

/// `Ok` when this process could drive the session, else what stands in the way, in words.
pub fn can_drive(runbook: &Path, inventory: &Path, journal: &Path) -> Result<(), String> {
    let inv = inventory::load_file(inventory).map_err(|e| format!("the inventory: {e}"))?;
    let loaded = runbook::load_checked(runbook, Some(&inv))
        .map_err(|e| format!("the runbook {}: {e}", runbook.display()))?;
    resolve_secrets(&loaded, &inv).map_err(|e| one_line(&e.to_string()))?;
    sql_targets(&inv).map_err(|e| e.to_string())?;
    operator_targets(&inv).map_err(|e| e.to_string())?;
    maxscale_client(&inv).map_err(|e| e.to_string())?;
    OpenOptions::new()
        .append(true)
        .open(journal)
        .map_err(|e| format!("cannot write the journal {}: {e}", journal.display()))?;
    let dir = journal
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let probe = dir.join(format!(".flightdeck-takeover-{}", std::process::id()));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(|e| {
            format!(
                "cannot create the lock and the socket in {}: {e}",
                dir.display()
            )
        })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Errors that list several lines (every secret missing) as one line for a status bar.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_inventory_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = can_drive(
            Path::new("runbooks/lab-rolling-upgrade.toml"),
            &dir.path().join("nowhere.toml"),
            &dir.path().join("j.jsonl"),
        )
        .unwrap_err();
        assert!(err.starts_with("the inventory: "), "{err}");
        assert!(err.contains("nowhere.toml"), "{err}");
    }
}

//! The commands that read files and report on them: loading with diagnostics, `check`
//! (with `--connect`'s live facts) and `plan`.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use super::{EXIT_INVALID, Format, PreflightFormat, runtime};
use crate::diag::Diagnostics;
use crate::inventory::{self, Inventory, InventoryError};
use crate::runbook::{self, RunbookError, plan};

pub(super) fn color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

fn print_diags(d: &Diagnostics) {
    eprint!("{}", d.render(color()));
    eprintln!("{} error(s)", d.len());
}

/// Loads an inventory, or prints why not and says which exit code to use.
/// As [`load_inventory`], with the candidate the operator named on the command line.
pub(super) fn load_inventory_naming(
    path: &Path,
    candidate: Option<&str>,
) -> Result<Inventory, ExitCode> {
    let mut inv = load_inventory(path)?;
    if let Some(name) = candidate {
        inv.name_candidate(name).map_err(|e| {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_INVALID)
        })?;
    }
    Ok(inv)
}

pub(super) fn load_inventory(path: &Path) -> Result<Inventory, ExitCode> {
    inventory::load_file(path).map_err(|e| {
        match e {
            InventoryError::Invalid(_) if kind_of(path) == Some(FileKind::Runbook) => eprintln!(
                "error: {} is a runbook, not an inventory: give the runbook first and the \
                 inventory with --inventory",
                path.display()
            ),
            InventoryError::Invalid(d) => print_diags(&d),
            InventoryError::Read(e) => eprintln!("error: {e}"),
        }
        ExitCode::from(EXIT_INVALID)
    })
}

/// Loads and checks a runbook, or prints why not and says which exit code to use. `cmd`
/// names the command, for the hint when the file is an inventory.
pub(super) fn load_runbook(
    cmd: &str,
    path: &Path,
    inv: Option<&Inventory>,
) -> Result<runbook::Loaded, ExitCode> {
    runbook::load_checked(path, inv).map_err(|e| {
        match e {
            RunbookError::Invalid(_) if kind_of(path) == Some(FileKind::Inventory) => eprintln!(
                "error: {p} is an inventory, not a runbook: {cmd} a runbook against it with \
                 `flightdeck {cmd} RUNBOOK --inventory {p}`",
                p = path.display()
            ),
            RunbookError::Invalid(d) => print_diags(&d),
            RunbookError::Read(e) => eprintln!("error: {e}"),
        }
        ExitCode::from(EXIT_INVALID)
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FileKind {
    Runbook,
    Inventory,
}

/// What a TOML file evidently is, by its top-level tables: a runbook has `[runbook]` or
/// `[[phase]]`; an inventory has `[[server]]`, `[maxscale]`, `[mysql]` or `[inventory]`
/// and neither of the runbook's. `None` when it cannot be read or parsed, or is neither.
fn kind_of(path: &Path) -> Option<FileKind> {
    let text = std::fs::read_to_string(path).ok()?;
    let table: toml::Table = toml::from_str(&text).ok()?;
    let has = |keys: &[&str]| keys.iter().any(|k| table.contains_key(*k));
    match (
        has(&["runbook", "phase"]),
        has(&["server", "maxscale", "mysql", "inventory"]),
    ) {
        (true, false) => Some(FileKind::Runbook),
        (false, true) => Some(FileKind::Inventory),
        _ => None,
    }
}

/// Exit code for `check --connect` when a live fact fails.
pub const EXIT_LIVE_FACT: u8 = 1;

pub(super) fn check(runbook: Option<&Path>, inventory: Option<&Path>, connect: bool) -> ExitCode {
    let inv = match inventory.map(load_inventory).transpose() {
        Ok(inv) => inv,
        Err(code) => return code,
    };
    if let Some(path) = runbook {
        let code = check_runbook(path, inv.as_ref());
        if code != ExitCode::SUCCESS {
            return code;
        }
    }
    match (&inv, connect) {
        (Some(inv), true) => check_live(inv),
        _ => ExitCode::SUCCESS,
    }
}

/// `check --connect`: the live facts, one line each; 1 when one fails.
fn check_live(inv: &Inventory) -> ExitCode {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    println!("live facts for {}:", inv.file.path.display());
    let facts = rt.block_on(crate::poll::live_facts::check(inv));
    for fact in &facts {
        println!("  {fact}");
    }
    let failed = facts
        .iter()
        .filter(|f| f.verdict == crate::poll::live_facts::Verdict::Fails)
        .count();
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        eprintln!("error: {failed} live fact(s) failed");
        ExitCode::from(EXIT_LIVE_FACT)
    }
}

fn check_runbook(path: &Path, inv: Option<&Inventory>) -> ExitCode {
    match load_runbook("check", path, inv) {
        Ok(loaded) => {
            let steps = loaded.runbook.steps().count();
            let against = inv
                .map(|i| format!(" against {}", i.file.path.display()))
                .unwrap_or_default();
            println!(
                "ok: {}: {} phases, {steps} steps{against}",
                path.display(),
                loaded.runbook.phases.len()
            );
            // Weak or default credentials, and secret files others can read: warnings,
            // not errors (the runbook is valid), but the operator hears before the window.
            if let Some(inv) = inv {
                let names = loaded.runbook.secrets.keys().map(String::as_str);
                for warning in inventory::audit(inv, names) {
                    eprintln!("warning: {warning}");
                }
            }
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

pub(super) fn plan_cmd(
    path: &Path,
    inventory: &Path,
    format: Format,
    journal: Option<&Path>,
    from_journal: Option<&Path>,
    candidate: Option<&str>,
) -> ExitCode {
    let inv = match load_inventory_naming(inventory, candidate) {
        Ok(inv) => inv,
        Err(code) => return code,
    };
    let loaded = match load_runbook("plan", path, Some(&inv)) {
        Ok(l) => l,
        Err(code) => return code,
    };
    // Read before anything is printed: a journal that cannot be read is an error, not half
    // a plan.
    let read = |path: Option<&Path>| path.map(crate::session::replay::replay).transpose();
    let (replayed, rehearsal) = match (read(journal), read(from_journal)) {
        (Ok(r), Ok(h)) => (r, h),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_INVALID);
        }
    };
    let mut plan = plan::resolve(&loaded, &inv);
    if let (Some(path), Some(rehearsal)) = (from_journal, &rehearsal) {
        plan.rehearsal = Some(plan::Rehearsal::new(path, rehearsal, &loaded));
    }
    let mut out = match format {
        Format::Text => plan::render_text(&plan),
        Format::Markdown => plan::render_markdown(&plan),
    };
    if let (Some(path), Some(replayed)) = (journal, &replayed) {
        let path = path.display().to_string();
        let sha = loaded.sha256();
        let section = crate::session::record::JournalSection {
            path: &path,
            replayed,
            runbook_sha256: &sha,
        };
        out.push_str(&match format {
            Format::Text => section.text(),
            Format::Markdown => section.markdown(),
        });
    }
    print!("{out}");
    ExitCode::SUCCESS
}

/// `preflight`: the report, and 0 / 1 / 2 for clean / warnings / a blocker.
pub(super) fn preflight_cmd(inventory: &Path, to: &str, format: PreflightFormat) -> ExitCode {
    let inv = match load_inventory(inventory) {
        Ok(inv) => inv,
        Err(code) => return code,
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let pool = crate::exec::host::HostPool::new(crate::exec::host::SshOptions::default());
    let report = rt.block_on(async {
        let report = crate::preflight::run(&inv, &pool, to).await;
        pool.close().await;
        report
    });
    match report {
        Ok(report) => {
            match format {
                PreflightFormat::Text => print!("{}", report.text()),
                PreflightFormat::Json => match serde_json::to_string_pretty(&report) {
                    Ok(json) => println!("{json}"),
                    Err(e) => {
                        eprintln!("error: {e}");
                        return ExitCode::from(EXIT_INVALID);
                    }
                },
            }
            ExitCode::from(report.exit_code())
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_INVALID)
        }
    }
}

//! Command-line interface: argument definitions and dispatch to the library.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use crate::diag::Diagnostics;
use crate::inventory::{self, Inventory, InventoryError};
use crate::poll::start::PollIntervals;
use crate::runbook::{self, RunbookError, plan};

#[derive(Debug, Parser)]
#[command(
    name = "flightdeck",
    version,
    about = "A terminal cockpit for database change windows"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a runbook (and its fit with an inventory) without connecting anywhere.
    Check {
        runbook: PathBuf,
        #[arg(long, short)]
        inventory: Option<PathBuf>,
    },
    /// Print the fully resolved runbook for a change ticket; secrets show as ****.
    Plan {
        runbook: PathBuf,
        #[arg(long, short)]
        inventory: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// The cockpit: run a runbook step by step, confirmed, gated and journaled.
    Run {
        runbook: PathBuf,
        #[arg(long, short)]
        inventory: PathBuf,
        /// The session journal (JSON lines); an existing one is resumed.
        #[arg(long, short)]
        journal: Option<PathBuf>,
    },
    /// A local rehearsal lab: real MariaDB servers behind a MaxScale-compatible endpoint.
    Lab(crate::lab::LabArgs),
    /// Live replication, GTID and MaxScale panes, full screen.
    Watch {
        #[arg(long, short)]
        inventory: PathBuf,
        /// SQL poll interval in milliseconds.
        #[arg(long, default_value_t = 250)]
        sql_interval_ms: u64,
        /// MaxScale poll interval in milliseconds.
        #[arg(long, default_value_t = 1000)]
        maxscale_interval_ms: u64,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    Text,
    Markdown,
}

/// Exit code for invalid input (a runbook or inventory with errors).
pub const EXIT_INVALID: u8 = 2;

pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Check { runbook, inventory } => check(&runbook, inventory.as_deref()),
        Command::Plan {
            runbook,
            inventory,
            format,
        } => plan_cmd(&runbook, &inventory, format),
        Command::Lab(args) => lab_cmd(args),
        Command::Run {
            runbook,
            inventory,
            journal,
        } => run_cmd(&runbook, &inventory, journal),
        Command::Watch {
            inventory,
            sql_interval_ms,
            maxscale_interval_ms,
        } => watch_cmd(
            &inventory,
            PollIntervals {
                sql: Duration::from_millis(sql_interval_ms.max(10)),
                maxscale: Duration::from_millis(maxscale_interval_ms.max(100)),
            },
        ),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Runtime::new().map_err(|e| {
        eprintln!("error: cannot start the async runtime: {e}");
        ExitCode::FAILURE
    })
}

fn run_cmd(path: &Path, inventory: &Path, journal: Option<PathBuf>) -> ExitCode {
    let inv = match load_inventory(inventory) {
        Ok(inv) => inv,
        Err(code) => return code,
    };
    let loaded = match load_runbook(path, Some(&inv)) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let journal = journal.unwrap_or_else(|| crate::session::open::default_journal(path));
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let run = crate::tui::run::start::run_cockpit(loaded, inv, &journal, PollIntervals::default());
    match rt.block_on(run) {
        Ok(()) => {
            println!("journal: {}", journal.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn lab_cmd(args: crate::lab::LabArgs) -> ExitCode {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    match rt.block_on(crate::lab::run(args)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn watch_cmd(inventory: &Path, intervals: PollIntervals) -> ExitCode {
    let inv = match load_inventory(inventory) {
        Ok(inv) => inv,
        Err(code) => return code,
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    match rt.block_on(crate::tui::watch_loop::run(&inv, intervals)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

fn print_diags(d: &Diagnostics) {
    eprint!("{}", d.render(color()));
    eprintln!("{} error(s)", d.len());
}

/// Loads an inventory, or prints why not and says which exit code to use.
fn load_inventory(path: &Path) -> Result<Inventory, ExitCode> {
    inventory::load_file(path).map_err(|e| {
        match e {
            InventoryError::Invalid(d) => print_diags(&d),
            InventoryError::Read(e) => eprintln!("error: {e}"),
        }
        ExitCode::from(EXIT_INVALID)
    })
}

fn load_runbook(path: &Path, inv: Option<&Inventory>) -> Result<runbook::Loaded, ExitCode> {
    runbook::load_checked(path, inv).map_err(|e| {
        match e {
            RunbookError::Invalid(d) => print_diags(&d),
            RunbookError::Read(e) => eprintln!("error: {e}"),
        }
        ExitCode::from(EXIT_INVALID)
    })
}

fn check(path: &Path, inventory: Option<&Path>) -> ExitCode {
    let inv = match inventory.map(load_inventory).transpose() {
        Ok(inv) => inv,
        Err(code) => return code,
    };
    match load_runbook(path, inv.as_ref()) {
        Ok(loaded) => {
            let steps = loaded.runbook.steps().count();
            let against = inv
                .as_ref()
                .map(|i| format!(" against {}", i.file.path.display()))
                .unwrap_or_default();
            println!(
                "ok: {}: {} phases, {steps} steps{against}",
                path.display(),
                loaded.runbook.phases.len()
            );
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

fn plan_cmd(path: &Path, inventory: &Path, format: Format) -> ExitCode {
    let inv = match load_inventory(inventory) {
        Ok(inv) => inv,
        Err(code) => return code,
    };
    let loaded = match load_runbook(path, Some(&inv)) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let plan = plan::resolve(&loaded, &inv);
    let out = match format {
        Format::Text => plan::render_text(&plan),
        Format::Markdown => plan::render_markdown(&plan),
    };
    print!("{out}");
    ExitCode::SUCCESS
}

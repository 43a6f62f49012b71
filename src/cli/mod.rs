//! Command-line interface: argument definitions and dispatch to the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

mod check;
mod docs;
mod report;
mod schema;

use crate::poll::start::PollIntervals;
use check::{check, load_inventory, load_runbook, plan_cmd};

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
    /// Validate a runbook (and its fit with an inventory) without connecting anywhere;
    /// with --connect, also look at the live servers and MaxScale.
    ///
    /// Prints every error, each as file:line:column with the source excerpt. Exits 0 when
    /// the runbook is valid, 2 when it is not; with --connect, 1 when a live fact fails.
    Check {
        /// The runbook to validate (TOML); optional with --connect.
        #[arg(required_unless_present = "connect")]
        runbook: Option<PathBuf>,
        /// Also check the runbook against this inventory: targets, roles and servers,
        /// vars and secrets.
        #[arg(long, short, value_name = "INVENTORY", env = "FLIGHTDECK_INVENTORY")]
        inventory: Option<PathBuf>,
        /// Connect and verify the live facts, one line each (✔ or ✘): every server
        /// answers, MaxScale answers with these credentials, the monitor and every
        /// maxscale_name exist, and the roles match what MaxScale and the servers report.
        /// Warns when the pollers' user holds SUPER or READ_ONLY ADMIN. Changes nothing.
        #[arg(long, requires = "inventory")]
        connect: bool,
    },
    /// Look for the upgrade's hazards before the window: every server is read once (as
    /// the operator's user) and each hazard is reported with its severity, evidence, fix
    /// and source. Exits 0 when clean, 1 with warnings, 2 with a blocker. Changes nothing.
    Preflight {
        /// The inventory: servers, credentials, MaxScale (for its monitor user's grants).
        #[arg(long, short, value_name = "INVENTORY", env = "FLIGHTDECK_INVENTORY")]
        inventory: PathBuf,
        /// The version the servers are upgraded to, e.g. 11.4.
        #[arg(long, value_name = "VERSION")]
        to: String,
        /// How to print the findings.
        #[arg(long, value_enum, default_value_t = PreflightFormat::Text)]
        format: PreflightFormat,
    },
    /// Print the fully resolved runbook for a change ticket; secrets show as ****.
    Plan {
        /// The runbook to resolve (TOML); it is checked first.
        runbook: PathBuf,
        /// The inventory the plan is for: servers, credentials, MaxScale.
        #[arg(long, short, value_name = "INVENTORY", env = "FLIGHTDECK_INVENTORY")]
        inventory: PathBuf,
        /// How to print the plan.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// A session's journal: the plan ends with its record (notes, confirmations,
        /// four-eyes approvals and refusals, overrides with their justification, skips,
        /// outcomes, handovers), for the change ticket.
        #[arg(long, short, value_name = "FILE")]
        journal: Option<PathBuf>,
        /// A rehearsal's journal (e.g. the lab's) to estimate each phase's duration from,
        /// in the outline at the top: the time each step took there, matched by step id.
        /// Without it, the estimate is the sum of the step timeouts, an upper bound.
        #[arg(long, value_name = "FILE")]
        from_journal: Option<PathBuf>,
        /// The replica a `candidate` switchover promotes, for this run: over the
        /// inventory's `[roles] candidate` (needed when there are several replicas).
        #[arg(long, value_name = "SERVER")]
        candidate: Option<String>,
    },
    /// The change report of a session, for the change ticket and the post-mortem: outcome,
    /// operators, write unavailability per switchover, server versions before and after,
    /// a lag chart, every step with who confirmed it, its command, output and outcome.
    ///
    /// Built from the journal alone (masked when it was written). Exits 0, or 2 when the
    /// journal is missing or corrupt.
    Report {
        /// The session's journal (JSON lines), finished or not.
        journal: PathBuf,
        /// Markdown (the lag chart as an SVG file beside -o FILE) or one self-contained
        /// HTML page (the chart inline).
        #[arg(long, value_enum, default_value_t = ReportFormat::Markdown)]
        format: ReportFormat,
        /// Write the report to FILE instead of standard output; with Markdown, the lag
        /// chart goes beside it (report.md → report-lag.svg).
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// The cockpit: run a runbook step by step, confirmed, gated and journaled.
    #[command(after_long_help = docs::RUN_AFTER_HELP)]
    Run {
        /// The runbook to run (TOML); it is checked first, and an invalid one is not run.
        runbook: PathBuf,
        /// The inventory to run against: servers, credentials, MaxScale.
        #[arg(long, short, value_name = "INVENTORY", env = "FLIGHTDECK_INVENTORY")]
        inventory: PathBuf,
        /// The session journal (JSON lines); an existing one is resumed.
        /// [default: the runbook's newest unfinished journal under
        /// $XDG_STATE_HOME/flightdeck/journals/, else a new RUNBOOK-DATE.jsonl there]
        #[arg(long, short, value_name = "FILE")]
        journal: Option<PathBuf>,
        /// The operator's name in the journal and the lock, for shared accounts.
        /// [default: $SUDO_USER, else the login name of the user running flightdeck]
        #[arg(long, value_name = "NAME", value_parser = parse_operator)]
        operator: Option<String>,
        /// The replica a `candidate` switchover promotes, for this run: over the
        /// inventory's `[roles] candidate` (needed when there are several replicas).
        #[arg(long, value_name = "SERVER")]
        candidate: Option<String>,
        /// Line mode instead of the full-screen cockpit (chosen by itself when stdin or
        /// stdout is not a terminal).
        ///
        /// Each step is printed as the run reaches it, the cockpit's questions are asked
        /// on stdin one line each, and output and outcomes come as plain lines prefixed
        /// by the step id: for script(1), a screen reader, a log.
        #[arg(long)]
        no_tui: bool,
    },
    /// A local rehearsal lab: real MariaDB servers behind a MaxScale-compatible endpoint.
    Lab(crate::lab::LabArgs),
    /// Live replication, GTID and MaxScale panes, full screen.
    Watch {
        /// The inventory whose servers and MaxScale to watch.
        #[arg(long, short, value_name = "INVENTORY", env = "FLIGHTDECK_INVENTORY")]
        inventory: PathBuf,
        /// SQL poll interval in milliseconds.
        #[arg(long, default_value_t = 250, value_name = "MS")]
        sql_interval_ms: u64,
        /// MaxScale poll interval in milliseconds.
        #[arg(long, default_value_t = 1000, value_name = "MS")]
        maxscale_interval_ms: u64,
    },
    /// Attach to a running cockpit as a second operator: watch it step by step, approve
    /// four-eyes steps (`a`), add notes (`n`). Served by the driver on JOURNAL.sock.
    Attach {
        /// The driver's journal (its socket is JOURNAL.sock) or the socket itself.
        #[arg(
            default_value = "lab/rehearsal.jsonl",
            value_name = "SOCKET_OR_JOURNAL"
        )]
        target: PathBuf,
        /// Instead of a cockpit: approve this four-eyes step and exit (with --typed).
        #[arg(long, value_name = "STEP", requires = "typed")]
        approve: Option<String>,
        /// What the step's confirmation asks to type (the server it acts on).
        #[arg(long, value_name = "NAME")]
        typed: Option<String>,
        /// Instead of a cockpit: add this note to the journal and exit.
        #[arg(long, value_name = "TEXT", conflicts_with = "approve")]
        note: Option<String>,
        /// Plain lines instead of the cockpit (chosen by itself when stdin or stdout is not
        /// a terminal): steps as they change; `a STEP NAME`, `n TEXT`, `y`, `q` on stdin.
        #[arg(long)]
        no_tui: bool,
        /// Waits up to SECS for a driver to serve the session (the former driver of a
        /// handover attaches while the new one starts).
        #[arg(long, hide = true, value_name = "SECS", default_value_t = 0)]
        wait: u64,
    },
    /// Print the shell completion script for SHELL, e.g.
    /// `flightdeck completions bash > /etc/bash_completion.d/flightdeck`.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the JSON Schema of runbook or inventory files, for editors: taplo (Even Better
    /// TOML) reads a file's first line `#:schema PATH`; assets/schema/ holds both.
    Schema {
        /// Which file format.
        #[arg(value_enum)]
        format: schema::SchemaFormat,
    },
    /// Print the man page flightdeck(1), generated from these definitions; with --dir,
    /// write it and one page per command (flightdeck-run.1, …) into DIR.
    Man {
        /// Write every page into this directory instead of printing flightdeck(1).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// An operator name: not blank, no control characters.
fn parse_operator(s: &str) -> Result<String, String> {
    let name = s.trim();
    if name.is_empty() {
        return Err("the operator's name is empty".into());
    }
    if name.chars().any(char::is_control) {
        return Err("the operator's name has a control character".into());
    }
    Ok(name.to_string())
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum PreflightFormat {
    /// One block per finding, for a terminal.
    Text,
    /// The report as JSON, for tooling.
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    /// Plain text, for a terminal.
    Text,
    /// Markdown, for a change ticket.
    Markdown,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ReportFormat {
    /// Markdown, for a change ticket.
    Markdown,
    /// One self-contained HTML page (inline CSS and SVG, nothing fetched).
    Html,
}

/// Exit code for invalid input (a runbook or inventory with errors).
pub const EXIT_INVALID: u8 = 2;

impl Command {
    /// Whether the command talks to servers, hosts or MaxScale, and so keeps a log file;
    /// the ones that only read files or print documentation do not.
    pub fn logs(&self) -> bool {
        match self {
            Command::Check { connect, .. } => *connect,
            Command::Plan { .. }
            | Command::Report { .. }
            | Command::Completions { .. }
            | Command::Man { .. }
            | Command::Schema { .. } => false,
            Command::Preflight { .. }
            | Command::Run { .. }
            | Command::Attach { .. }
            | Command::Watch { .. }
            | Command::Lab(_) => true,
        }
    }
}

pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Check {
            runbook,
            inventory,
            connect,
        } => check(runbook.as_deref(), inventory.as_deref(), connect),
        Command::Plan {
            runbook,
            inventory,
            format,
            journal,
            from_journal,
            candidate,
        } => plan_cmd(
            &runbook,
            &inventory,
            format,
            journal.as_deref(),
            from_journal.as_deref(),
            candidate.as_deref(),
        ),
        Command::Report {
            journal,
            format,
            output,
        } => report::report_cmd(&journal, format, output.as_deref()),
        Command::Lab(args) => lab_cmd(args),
        Command::Completions { shell } => docs::completions(shell),
        Command::Man { dir } => docs::man(dir.as_deref()),
        Command::Schema { format } => schema::schema_cmd(format),
        Command::Preflight {
            inventory,
            to,
            format,
        } => check::preflight_cmd(&inventory, &to, format),
        Command::Run {
            runbook,
            inventory,
            journal,
            operator,
            candidate,
            no_tui,
        } => {
            if let Some(name) = operator {
                crate::session::lock::set_operator(name);
            }
            let line = crate::line::wanted(no_tui);
            run_cmd(&runbook, &inventory, candidate.as_deref(), journal, line)
        }
        Command::Attach {
            target,
            approve,
            typed,
            note,
            no_tui,
            wait,
        } => {
            use crate::session::wire::ToDriver;
            let once = match (approve, typed, note) {
                (Some(step), Some(typed), _) => Some(ToDriver::Approve { step, typed }),
                (_, _, Some(text)) => Some(ToDriver::Note { text }),
                _ => None,
            };
            let wait = Duration::from_secs(wait);
            attach_cmd(&target, once, crate::line::wanted(no_tui), wait)
        }
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

fn run_cmd(
    path: &Path,
    inventory: &Path,
    candidate: Option<&str>,
    journal: Option<PathBuf>,
    line: bool,
) -> ExitCode {
    let inv = match check::load_inventory_naming(inventory, candidate) {
        Ok(inv) => inv,
        Err(code) => return code,
    };
    let loaded = match load_runbook("run", path, Some(&inv)) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let journal = match journal.map_or_else(|| crate::session::journals::default_journal(path), Ok)
    {
        Ok(journal) => journal,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_INVALID);
        }
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let result = if line {
        let run = crate::line::run_line(loaded, inv, &journal, PollIntervals::default());
        rt.block_on(run).map_err(|e| e.to_string())
    } else {
        let run =
            crate::tui::run::start::run_cockpit(loaded, inv, &journal, PollIntervals::default());
        rt.block_on(run).map_err(|e| e.to_string())
    };
    match result {
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

fn attach_cmd(
    target: &Path,
    once: Option<crate::session::wire::ToDriver>,
    lines: bool,
    wait: Duration,
) -> ExitCode {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let result = match once {
        Some(request) => rt.block_on(crate::tui::attach::once(target, request)),
        None if lines => rt
            .block_on(crate::line::observe::run(target, wait))
            .map(|()| true),
        None => rt
            .block_on(crate::tui::attach::run(target, wait))
            .map(|()| true),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
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

//! The tool's own documentation, generated from the clap definitions so it never drifts
//! from what the parser accepts: man pages (clap_mangen) and shell completions
//! (clap_complete).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use clap::CommandFactory;

use super::Cli;

/// The cockpit's keys and where its journal goes, after `flightdeck run --help`.
pub(super) const RUN_AFTER_HELP: &str = "\
Keys:
  Enter        run the selected step: confirm with y; a destructive step asks you to type
               the target server's name
  s            skip the selected step, with a typed reason
  o            override failed gates, with a typed justification
  m            mark a manual step done (asks to confirm)
  v            mark a step whose outcome is unknown \"verified done\", with a typed reason
  r            retry a failed step
  Ctrl-C       cancel the running step
  j/k, ↓/↑     move the selection
  g            go to the current step
  f            fold the other phases
  PgUp/PgDn    scroll the step detail (or the mouse wheel)
  Tab          cycle the live panes
  ?            help
  q            quit (not while a step runs)

Journal:
  Without --journal, the journal is $XDG_STATE_HOME/flightdeck/journals/RUNBOOK-DATE.jsonl
  (~/.local/state/… without XDG_STATE_HOME; DATE in UTC; for
  runbooks/lab-rolling-upgrade.toml: lab-rolling-upgrade-2026-11-27.jsonl). Running the
  same command again resumes the runbook's newest unfinished journal there, whatever day
  it began; once that is complete, the next run starts a new one. The header shows the
  path, and ? shows it in full. FILE.lock beside it names the operator driving it; one
  driver per journal. For a second operator under another OS user, name a journal in a
  folder you both can reach with --journal.

Log:
  $XDG_STATE_HOME/flightdeck/flightdeck.DATE.log, daily, kept 14 days; the level from
  FLIGHTDECK_LOG (default info; e.g. FLIGHTDECK_LOG=debug). Nothing is printed to the
  terminal while the cockpit runs.";

/// Prints the completion script for `shell` to stdout.
pub fn completions(shell: clap_complete::Shell) -> ExitCode {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "flightdeck", &mut std::io::stdout());
    ExitCode::SUCCESS
}

/// Prints `flightdeck(1)` to stdout, or writes it and one page per subcommand
/// (`flightdeck-run.1`, …) into `dir`.
pub fn man(dir: Option<&Path>) -> ExitCode {
    let cmd = Cli::command();
    let result = match dir {
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .and_then(|()| out.flush())
        }
        Some(dir) => std::fs::create_dir_all(dir).and_then(|()| clap_mangen::generate_to(cmd, dir)),
    };
    match result {
        Ok(()) => {
            if let Some(dir) = dir {
                println!("wrote the man pages into {}", dir.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("flightdeck man: {e}");
            ExitCode::FAILURE
        }
    }
}

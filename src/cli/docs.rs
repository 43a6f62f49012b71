//! The tool's own documentation, generated from the clap definitions so it never drifts
//! from what the parser accepts: man pages (clap_mangen) and shell completions
//! (clap_complete).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use clap::CommandFactory;

use super::Cli;

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

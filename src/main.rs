use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = flightdeck::cli::Cli::parse();
    // The log file for every command that does work; without one (no home, a read-only
    // disk) the command goes on, and the help screens say there is none and why.
    let _log = cli
        .command
        .logs()
        .then(flightdeck::logging::init)
        .and_then(Result::ok);
    flightdeck::cli::run(cli)
}

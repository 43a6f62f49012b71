use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = flightdeck::cli::Cli::parse();
    flightdeck::cli::run(cli)
}

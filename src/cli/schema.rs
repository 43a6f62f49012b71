//! `flightdeck schema runbook|inventory`: the JSON Schema of a file format, for editors.

use std::io::Write;
use std::process::ExitCode;

use clap::ValueEnum;

use crate::schema::Format;

/// The file formats `flightdeck schema` prints a schema for.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SchemaFormat {
    /// Runbooks, plain or extending another (`[runbook] extends`, `[[override]]`).
    Runbook,
    /// Inventories: servers, credentials, MaxScale.
    Inventory,
}

/// Prints the schema as pretty JSON: what assets/schema/ holds.
pub fn schema_cmd(format: SchemaFormat) -> ExitCode {
    let format = match format {
        SchemaFormat::Runbook => Format::Runbook,
        SchemaFormat::Inventory => Format::Inventory,
    };
    let json = crate::schema::to_json(&crate::schema::schema(format));
    let mut out = std::io::stdout().lock();
    match out.write_all(json.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("flightdeck schema: {e}");
            ExitCode::FAILURE
        }
    }
}

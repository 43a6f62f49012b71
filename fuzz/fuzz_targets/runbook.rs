//! Any text as a runbook, alone and against the loopback pair inventory: it loads, or every
//! diagnostic names a real file:line:col and renders.
#![no_main]

use std::path::Path;
use std::sync::LazyLock;

use flightdeck::inventory::{self, Inventory};
use libfuzzer_sys::fuzz_target;

#[path = "../../tests/fuzz_props/checks.rs"]
#[allow(dead_code)]
mod checks;

static PAIR: LazyLock<Inventory> = LazyLock::new(|| {
    let text = include_str!("../../tests/fixtures/pair.toml");
    inventory::parse(Path::new("pair.toml"), text).expect("the pair fixture loads")
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(broken) = checks::runbook_text(text, None) {
        panic!("{broken}");
    }
    if let Err(broken) = checks::runbook_text(text, Some(&PAIR)) {
        panic!("{broken}");
    }
});

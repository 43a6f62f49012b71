//! Any text as a GTID position: a position that prints and reads back the same, or an
//! error; two positions parsed from the halves (split at `|`) compare per domain.
#![no_main]

use flightdeck::poll::GtidPos;
use libfuzzer_sys::fuzz_target;

#[path = "../../tests/fuzz_props/checks.rs"]
#[allow(dead_code)]
mod checks;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(broken) = checks::gtid_text(text) {
        panic!("{broken}");
    }
    let (a, b) = text.split_once('|').unwrap_or((text, ""));
    if let (Ok(a), Ok(b)) = (a.parse::<GtidPos>(), b.parse::<GtidPos>()) {
        if let Err(broken) = checks::gtid_compare(&a, &b) {
            panic!("{broken}");
        }
    }
});

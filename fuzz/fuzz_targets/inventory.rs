//! Any text as an inventory: it loads, or every diagnostic names a real file:line:col.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/fuzz_props/checks.rs"]
#[allow(dead_code)]
mod checks;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(broken) = checks::inventory_text(text) {
        panic!("{broken}");
    }
});

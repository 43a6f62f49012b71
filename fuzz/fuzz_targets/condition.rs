//! Any condition, with any value for `vars.v` (after a NUL): it parses and evaluates, or is
//! refused at a range inside its text. Nesting past the cap is refused, never a stack
//! overflow.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/fuzz_props/checks.rs"]
#[allow(dead_code)]
mod checks;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (source, v) = checks::split_condition_input(text);
    if let Err(broken) = checks::condition_text(source, v) {
        panic!("{broken}");
    }
});

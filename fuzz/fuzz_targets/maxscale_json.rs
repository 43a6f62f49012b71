//! Any bytes as each MaxScale document flightdeck reads (servers, a server, a monitor,
//! monitors, an error or command body): a value that reads back the same once served, or
//! an error.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/fuzz_props/checks.rs"]
#[allow(dead_code)]
mod checks;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = checks::maxscale_json(data) {
        panic!("{broken}");
    }
});

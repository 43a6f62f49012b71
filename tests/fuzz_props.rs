//! Fuzzing in CI: the properties of the cargo-fuzz targets (`fuzz/`, which needs a nightly
//! toolchain and runs by hand) as proptest properties that run in `.ci/run`.
//!
//! Case counts, per property (see [`CASES`], [`LOADER_CASES`]):
//! - loaders (runbook, inventory): 256 cases each, arbitrary and TOML-shaped text, then
//!   edits of every shipped runbook and inventory;
//! - GTID positions, conditions, MaxScale JSON: 512 cases each.
//!
//! The whole file runs in about 2.2 s in a debug build on 2 cores (measured 2026-11-26).
//!
//! Failures are not persisted to `proptest-regressions/`: an input that broke a promise
//! becomes an explicit `#[test]` named after it, in the module that owns the code it broke.
//! Inputs cargo fuzz finds go into `fuzz/seeds/TARGET/`, which `seeds.rs` replays here.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "fuzz_props/checks.rs"]
mod checks;
#[path = "fuzz_props/conditions.rs"]
mod conditions;
#[path = "fuzz_props/gtid.rs"]
mod gtid;
#[path = "fuzz_props/loaders.rs"]
mod loaders;
#[path = "fuzz_props/maxscale_json.rs"]
mod maxscale_json;
#[path = "fuzz_props/seeds.rs"]
mod seeds;

use proptest::test_runner::Config;

/// Cases for the cheap parsers: GTID positions, conditions, MaxScale JSON.
pub const CASES: u32 = 512;
/// Cases for whole-file loaders, which validate and render every diagnostic.
pub const LOADER_CASES: u32 = 256;

/// `cases` cases, with no regression file written into the tree.
pub fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

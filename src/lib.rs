//! flightdeck: a terminal cockpit for database change windows.
//!
//! Data flows one way: pollers and executors (I/O) → typed messages on channels →
//! one `App` state updated by a pure `update` → a `view` that only draws.

pub mod cli;
pub mod diag;
pub mod exec;
pub mod inventory;
pub mod lab;
pub mod line;
pub mod logging;
pub mod maxscale;
pub mod poll;
pub mod preflight;
pub mod report;
pub mod runbook;
pub mod schema;
pub mod session;
pub mod tui;

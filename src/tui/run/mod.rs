//! `flightdeck run`: the cockpit.

pub mod app;
pub mod runtime;
pub mod session;
pub mod start;
pub mod view;

//! `flightdeck run`: the cockpit.

pub mod app;
pub mod runtime;
pub mod start;
pub mod view;

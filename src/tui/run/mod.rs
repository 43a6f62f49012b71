//! `flightdeck run`: the cockpit.

pub mod app;

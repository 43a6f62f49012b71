//! `flightdeck run`: the cockpit.

pub mod app;
mod keys;
pub mod modal;
pub mod runtime;
pub mod start;
pub mod view;

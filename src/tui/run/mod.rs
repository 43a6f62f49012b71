//! `flightdeck run`: the cockpit.

pub mod app;
pub mod describe;
mod keys;
pub mod modal;
pub mod runtime;
pub mod start;
pub mod view;

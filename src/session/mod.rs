//! A run session, without UI: the state machine, live facts for gates, opening (lock,
//! secrets, journal, resume), the journal itself, its replay, the lock, and masking.

// Sequence numbers, times and offsets here come from journals, output and the clock.
#![deny(clippy::arithmetic_side_effects)]

pub mod clock;
pub mod core;
pub mod crash;
pub mod driver;
pub mod facts;
pub mod history;
pub mod journal;
pub mod journals;
pub mod live;
pub mod lock;
pub mod mask;
pub mod open;
pub mod pair;
pub mod record;
pub mod replay;
pub mod run;
pub mod summary;
pub mod takeover;
pub mod timing;
pub mod view;
pub mod wire;

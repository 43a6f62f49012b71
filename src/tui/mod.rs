//! The terminal UI: dashboard state, pure views, and (later) the event loop.

pub mod attach;
pub mod dashboard;
pub mod panes;
pub mod run;
pub mod terminal;
pub mod theme;
pub mod watch;
pub mod watch_loop;

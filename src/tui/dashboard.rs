//! The dashboards' state lives with the session (`session::live`), which judges gates on
//! it; the panes read it from there.

pub use crate::session::live::*;

pub mod host;
pub mod job;
pub mod maxscale;
pub mod probe;
pub mod spawn;
pub mod sql;

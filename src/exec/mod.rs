pub mod host;
pub mod job;
pub mod maxscale;
pub mod spawn;
pub mod sql;

//! Pollers: long-lived tasks that watch servers and MaxScale and publish owned snapshots
//! on `watch` channels. No UI code here.

mod classify;
pub mod gtid;
pub mod heartbeat;
pub mod live_facts;
pub mod maxscale;
pub mod mysql;
mod rows;
pub mod semisync;
pub mod snapshot;
pub mod start;
pub mod tier;
pub(crate) mod tls;

pub use gtid::{Gtid, GtidPos};
pub use heartbeat::HeartbeatLag;
pub use semisync::SemiSync;
pub use snapshot::{Encryption, IoState, PollError, ReplicaStatus, ServerInfo, ServerSnapshot};

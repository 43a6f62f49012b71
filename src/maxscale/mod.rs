//! MaxScale REST API client: typed documents, the client, and how an action reads
//! as a REST line and as `maxctrl`. No UI here; the lab endpoint serializes the same
//! structs, so what flightdeck parses and what the lab serves cannot drift apart.

mod client;
mod command;
mod error;
mod monitor;
mod server;
mod types;

pub use client::{MaxscaleClient, MaxscaleConfig};
pub use command::{AdminState, CommandResult, MaxscaleAction, RequestParts};
pub use error::MaxscaleError;
pub use monitor::{MaxscaleMonitor, MonitorAttributes, MonitorDiagnostics, MonitorServerInfo};
pub use server::{
    Drain, MaxscaleServer, ServerAttributes, ServerParameters, ServerState, ServerStatistics,
    SlaveConnection,
};
pub use types::{
    Document, ErrorDetail, Links, Meta, Relationship, Relationships, ResourceRef, ResponseBody,
};

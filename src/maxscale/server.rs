//! `/v1/servers` resources: attributes, state flags, replica connections.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::types::{Links, Relationships, lenient, lenient_or_default};

/// `attributes.state`: the raw comma-separated string and the flags parsed from it.
/// Serializes back to the raw string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerState {
    pub raw: String,
    pub master: bool,
    pub slave: bool,
    pub relay: bool,
    pub running: bool,
    pub down: bool,
    pub maintenance: bool,
    pub draining: bool,
    pub drained: bool,
    pub synced: bool,
    pub auth_error: bool,
    /// Flags this parser does not know, verbatim.
    pub other: Vec<String>,
}

impl ServerState {
    pub fn parse(raw: &str) -> Self {
        let mut s = ServerState {
            raw: raw.to_owned(),
            ..ServerState::default()
        };
        for flag in raw.split(',').map(str::trim).filter(|f| !f.is_empty()) {
            match flag {
                "Master" => s.master = true,
                "Slave" => s.slave = true,
                "Relay Master" => s.relay = true,
                "Running" => s.running = true,
                "Down" => s.down = true,
                "Maintenance" => s.maintenance = true,
                "Draining" => s.draining = true,
                "Drained" => s.drained = true,
                "Synced" => s.synced = true,
                "Auth Error" => s.auth_error = true,
                other => s.other.push(other.to_owned()),
            }
        }
        s
    }

    /// Compose a state the way MaxScale prints it: admin flags first, then the role
    /// (hidden in maintenance), then `Running` or `Down`.
    pub fn compose(
        running: bool,
        master: bool,
        slave: bool,
        maintenance: bool,
        drain: Drain,
    ) -> Self {
        let mut flags: Vec<&str> = Vec::new();
        if maintenance {
            flags.push("Maintenance");
        }
        match drain {
            Drain::None => {}
            Drain::Draining => flags.push("Draining"),
            Drain::Drained => flags.push("Drained"),
        }
        if running && !maintenance {
            if master {
                flags.push("Master");
            }
            if slave {
                flags.push("Slave");
            }
        }
        flags.push(if running { "Running" } else { "Down" });
        Self::parse(&flags.join(", "))
    }
}

/// The drain admin state, for [`ServerState::compose`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Drain {
    #[default]
    None,
    Draining,
    Drained,
}

impl fmt::Display for ServerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl Serialize for ServerState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for ServerState {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw: Option<String> = lenient(d)?;
        Ok(ServerState::parse(raw.as_deref().unwrap_or("")))
    }
}

/// One replica connection, as in `attributes.slave_connections[]` and
/// `monitor_diagnostics.server_info[].slave_connections[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SlaveConnection {
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub connection_name: String,
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub gtid_io_pos: String,
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub last_io_error: String,
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub last_sql_error: String,
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub master_host: String,
    #[serde(default, deserialize_with = "lenient")]
    pub master_port: Option<i64>,
    #[serde(default, deserialize_with = "lenient")]
    pub master_server_id: Option<i64>,
    /// Absent while the link is broken (sample 100, 120).
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub master_server_name: Option<String>,
    /// `null` while the SQL thread is stopped.
    #[serde(default, deserialize_with = "lenient")]
    pub seconds_behind_master: Option<i64>,
    /// `"Yes"`, `"No"`, `"Connecting"`.
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub slave_io_running: String,
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub slave_sql_running: String,
    /// `"Slave_Pos"`, `"Current_Pos"`, `"No"`.
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub using_gtid: String,
}

impl SlaveConnection {
    pub fn io_running(&self) -> bool {
        self.slave_io_running == "Yes"
    }
    pub fn sql_running(&self) -> bool {
        self.slave_sql_running == "Yes"
    }
}

/// `attributes.parameters`: the fields flightdeck reads, everything else kept in `other`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerParameters {
    #[serde(default, deserialize_with = "lenient")]
    pub address: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub port: Option<u16>,
    #[serde(default, deserialize_with = "lenient")]
    pub socket: Option<String>,
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// `attributes.statistics`: the counters flightdeck reads, everything else kept in `other`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerStatistics {
    #[serde(default, deserialize_with = "lenient")]
    pub connections: Option<i64>,
    #[serde(default, deserialize_with = "lenient")]
    pub total_connections: Option<i64>,
    #[serde(default, deserialize_with = "lenient")]
    pub active_operations: Option<i64>,
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// `attributes` of a server. Field names are MaxScale's. A `Down` server keeps its
/// last known `gtid_*`, `version_string` and `uptime`: don't treat them as live.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerAttributes {
    #[serde(default, deserialize_with = "lenient")]
    pub gtid_binlog_pos: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub gtid_current_pos: Option<String>,
    /// `master_up`, `slave_up`, `new_master`, `new_slave`, `lost_slave`, `server_down`, …
    #[serde(default, deserialize_with = "lenient")]
    pub last_event: Option<String>,
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub lock_held: Value,
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub master_group: Value,
    /// `-1` on the primary.
    #[serde(default, deserialize_with = "lenient")]
    pub master_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient")]
    pub name: Option<String>,
    /// `@@server_id`.
    #[serde(default, deserialize_with = "lenient")]
    pub node_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub parameters: ServerParameters,
    #[serde(default, deserialize_with = "lenient")]
    pub read_only: Option<bool>,
    /// Seconds; `-1` when unknown.
    #[serde(default, deserialize_with = "lenient")]
    pub replication_lag: Option<i64>,
    /// Not sent by MaxScale 24.02.3.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub replication_depth: Option<i64>,
    #[serde(default, deserialize_with = "lenient")]
    pub server_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub slave_connections: Vec<SlaveConnection>,
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub source: Value,
    #[serde(default)]
    pub state: ServerState,
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub statistics: ServerStatistics,
    /// An HTTP date: when `last_event` happened.
    #[serde(default, deserialize_with = "lenient")]
    pub triggered_at: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub uptime: Option<i64>,
    #[serde(default, deserialize_with = "lenient")]
    pub version_string: Option<String>,
}

/// A server resource: `{"id", "type": "servers", "attributes", "relationships", "links"}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MaxscaleServer {
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub id: String,
    #[serde(rename = "type", default, deserialize_with = "lenient_or_default")]
    pub kind: String,
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub attributes: ServerAttributes,
    #[serde(
        default,
        deserialize_with = "lenient_or_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub relationships: Relationships,
    #[serde(
        default,
        deserialize_with = "lenient_or_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub links: Links,
}

impl MaxscaleServer {
    pub fn state(&self) -> &ServerState {
        &self.attributes.state
    }

    /// `address:port` from the parameters, when both are known.
    pub fn endpoint(&self) -> Option<String> {
        let p = &self.attributes.parameters;
        Some(format!("{}:{}", p.address.as_deref()?, p.port?))
    }
}

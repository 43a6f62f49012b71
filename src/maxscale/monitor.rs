//! `/v1/monitors` resources and mariadbmon's `monitor_diagnostics`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::server::SlaveConnection;
use super::types::{Links, Relationships, lenient, lenient_or_default};

/// `monitor_diagnostics.server_info[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MonitorServerInfo {
    #[serde(default, deserialize_with = "lenient")]
    pub gtid_binlog_pos: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub gtid_current_pos: Option<String>,
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub lock_held: Value,
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub master_group: Value,
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient")]
    pub read_only: Option<bool>,
    #[serde(default, deserialize_with = "lenient")]
    pub server_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub slave_connections: Vec<SlaveConnection>,
    /// Sent by some MaxScale versions, not by 24.02.3.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub state_details: Option<String>,
}

/// mariadbmon's `attributes.monitor_diagnostics`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MonitorDiagnostics {
    /// Name of the primary server, when there is one.
    #[serde(default, deserialize_with = "lenient")]
    pub master: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub master_gtid_domain_id: Option<i64>,
    /// Cooperative monitoring: this MaxScale is the primary one. `null` without locks.
    #[serde(default, deserialize_with = "lenient")]
    pub primary: Option<bool>,
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub server_info: Vec<MonitorServerInfo>,
    /// e.g. `"Idle"`.
    #[serde(default, deserialize_with = "lenient")]
    pub state: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MonitorAttributes {
    /// `"mariadbmon"`.
    #[serde(default, deserialize_with = "lenient")]
    pub module: Option<String>,
    /// Absent or of another shape for other monitor modules: then `None`.
    #[serde(default, deserialize_with = "lenient")]
    pub monitor_diagnostics: Option<MonitorDiagnostics>,
    /// Passwords come back as `"*****"`.
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub parameters: BTreeMap<String, Value>,
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub source: Value,
    /// `"Running"`, `"Stopped"`.
    #[serde(default, deserialize_with = "lenient")]
    pub state: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub ticks: Option<i64>,
}

/// A monitor resource.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MaxscaleMonitor {
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub id: String,
    #[serde(rename = "type", default, deserialize_with = "lenient_or_default")]
    pub kind: String,
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub attributes: MonitorAttributes,
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

impl MaxscaleMonitor {
    pub fn diagnostics(&self) -> Option<&MonitorDiagnostics> {
        self.attributes.monitor_diagnostics.as_ref()
    }

    /// The primary's name as the monitor sees it.
    pub fn master(&self) -> Option<&str> {
        self.diagnostics()?.master.as_deref()
    }
}

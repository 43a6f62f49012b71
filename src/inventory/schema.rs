//! The JSON Schema of inventory files (`flightdeck schema inventory`): the tables the
//! loader reads, each from the type it deserializes.

use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema};

use super::model::{HeartbeatConfig, MaxscaleEndpoint, MysqlDefaults, ProbeConfig, SecretSource};
use super::raw::{RawHeader, RawRoles, RawServer};

/// The schema of an inventory file.
pub fn schema() -> Schema {
    let mut schema = crate::schema::generator().into_root_schema_for::<InventoryFile>();
    schema.insert("title".into(), "flightdeck inventory".into());
    schema
}

/// An inventory: where the servers are, how to reach them and where their credentials
/// come from. One runbook runs against many inventories (a lab, staging, production); no
/// password lives in one.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Inventory")]
// Only its schema is used: the loader reads each table on its own, to report every error.
#[allow(dead_code)]
struct InventoryFile {
    /// What this inventory describes.
    inventory: Option<RawHeader>,
    /// Defaults for every server's `mysql` table. The pollers' user needs monitoring
    /// grants only (no SUPER, READ_ONLY ADMIN or CONNECTION ADMIN); `[mysql.operator]` runs
    /// `sql` steps.
    mysql: Option<MysqlDefaults>,
    /// MaxScale's REST API, which `maxscale` steps call and the panes poll.
    maxscale: Option<MaxscaleEndpoint>,
    /// Where each runbook secret comes from (default: the environment variable
    /// FLIGHTDECK_SECRET_<NAME>).
    #[serde(default)]
    secrets: BTreeMap<String, SecretSource>,
    /// Values over the runbook's `[vars]`.
    #[serde(default)]
    vars: BTreeMap<String, String>,
    /// pt-heartbeat's table, read for lag on every server.
    heartbeat: Option<HeartbeatConfig>,
    /// The write-availability probe: a row written and read back through the router every
    /// 20 ms while a probed step runs.
    probe: Option<ProbeConfig>,
    /// Which server a runbook's one-server role means.
    roles: Option<RawRoles>,
    /// The servers, one `[[server]]` table each.
    #[schemars(length(min = 1))]
    server: Vec<RawServer>,
}

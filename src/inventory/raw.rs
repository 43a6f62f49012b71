//! The inventory's tables as written, before they are checked and resolved into the model.
//!
//! Their doc comments, and those of the model types they hold, are the descriptions of the
//! inventory's JSON Schema (`super::schema`): what an editor shows on hover.

use serde::Deserialize;
use toml::Spanned;

use super::model::{MysqlIdentity, Role, SecretSource, SshEndpoint};

/// `[roles]`: which server a runbook's one-server role means when the inventory has
/// several replicas.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Roles")]
pub(super) struct RawRoles {
    /// With several replicas, the one a runbook's `replica` means: with the initial
    /// primary, the pair the runbook works on. Its initial role must be replica.
    #[schemars(with = "Option<String>")]
    pub replica: Option<Spanned<String>>,
    /// The server a switchover promotes: what a runbook's `candidate` means. Its initial
    /// role must be replica. Default: `replica` above, else the only replica.
    #[schemars(with = "Option<String>")]
    pub candidate: Option<Spanned<String>>,
}

/// `[inventory]`: what this inventory describes.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "InventoryTable")]
pub(super) struct RawHeader {
    /// Its name, shown in the cockpit, plans and reports.
    pub name: Option<String>,
}

/// One `[[server]]`: a MariaDB server, how to reach its host, its name in MaxScale.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Server")]
// `transport = "local"` takes no `ssh` table, `transport = "ssh"` needs one.
#[schemars(extend(
    "if" = { "required": ["transport"], "properties": { "transport": { "const": "local" } } },
    "then" = { "properties": { "ssh": false } },
    "else" = {
        "if": { "required": ["transport"], "properties": { "transport": { "const": "ssh" } } },
        "then": { "required": ["ssh"] }
    }
))]
pub(super) struct RawServer {
    /// The server's name, unique in the inventory; runbooks and the cockpit use it.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// Its role when the run begins; the live role follows switchovers.
    #[schemars(with = "Role")]
    pub role: Spanned<String>,
    /// Where its MySQL listens; `user`, `password`, `operator` and `tls` override `[mysql]`'s.
    pub mysql: RawMysql,
    /// How shell steps reach its host (the system `ssh` client: ~/.ssh/config applies).
    /// Without `ssh` or `transport`, the server is only polled.
    pub ssh: Option<SshEndpoint>,
    /// `local`: commands run on this machine (a lab host); `ssh` (the default with an `ssh`
    /// table): over SSH.
    #[schemars(with = "Option<String>", extend("enum" = ["ssh", "local"]))]
    pub transport: Option<Spanned<String>>,
    /// The server's name in MaxScale (default: `name`).
    pub maxscale_name: Option<String>,
    /// The option file the server starts with, on its host (e.g. "/etc/my.cnf"): `preflight`
    /// reads it for options the target version removed.
    pub config: Option<String>,
}

/// A server's `mysql` table.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ServerMysql")]
pub(super) struct RawMysql {
    /// Host name or address of the server's MySQL listener.
    pub host: String,
    /// Its port.
    #[serde(default = "default_port")]
    pub port: u16,
    /// The pollers' user (default: `[mysql]`'s, else root).
    pub user: Option<String>,
    /// Where the pollers' password comes from (default: `[mysql]`'s).
    pub password: Option<SecretSource>,
    /// Who runs `sql` steps on this server (default: `[mysql.operator]`, else the pollers'
    /// user).
    pub operator: Option<MysqlIdentity>,
    /// TLS to this server, key by key over `[mysql]`'s.
    pub tls: Option<super::tls::TlsSpec>,
}

fn default_port() -> u16 {
    3306
}

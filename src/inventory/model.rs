//! The inventory: where the servers are and where credentials come from.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diag::SourceFile;

#[derive(Clone, Debug)]
pub struct Inventory {
    pub name: Option<String>,
    pub mysql: MysqlDefaults,
    pub maxscale: Option<MaxscaleEndpoint>,
    /// Where each runbook secret comes from.
    pub secrets: BTreeMap<String, SecretSource>,
    /// Overrides of the runbook's `[vars]`.
    pub vars: BTreeMap<String, String>,
    pub servers: Vec<Server>,
    /// Heartbeat lag: where the pt-heartbeat compatible table is, and whether to write it.
    pub heartbeat: Option<HeartbeatConfig>,
    /// `[probe]`: the write-availability probe, through the router clients use.
    pub probe: Option<ProbeConfig>,
    /// `[roles] replica = "server2"`: with several replicas, the one a runbook's `replica`
    /// means (with the initial primary, the pair the runbook works on), and where it is
    /// written.
    pub named_replica: Option<(String, Range<usize>)>,
    /// `[roles] candidate = "server2"`: the server a switchover promotes (a runbook's
    /// `candidate`), and where it is written.
    pub named_candidate: Option<(String, Range<usize>)>,
    /// The file it was read from, for diagnostics and relative paths.
    pub file: SourceFile,
}

/// A server's initial role: primary or replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The primary when the run begins.
    Primary,
    /// A replica when the run begins.
    Replica,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Primary => "primary",
            Role::Replica => "replica",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Server {
    pub name: String,
    pub role: Role,
    pub mysql: MysqlEndpoint,
    pub transport: Transport,
    /// The server's name in MaxScale.
    pub maxscale_name: String,
    /// The option file the server starts with, on its host (`config = "/etc/my.cnf"`):
    /// `preflight` reads it for options the target version removed.
    pub config: Option<String>,
    /// Where the server's table stands in the inventory file.
    pub span: Range<usize>,
}

/// A server's MySQL endpoint. `user` and `password` are the pollers' identity: they hold a
/// connection to every server all the time, so they should hold no SUPER, READ_ONLY ADMIN or
/// CONNECTION ADMIN (MaxScale kicks such connections off the old primary at a switchover and
/// then blocks writes for another 500 ms). `operator` runs `sql` steps, one connection per
/// step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MysqlEndpoint {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<SecretSource>,
    /// Who runs `sql` steps; `None`: the pollers' user does (one identity for both).
    pub operator: Option<MysqlIdentity>,
    pub tls: super::tls::MysqlTls,
}

/// A MySQL user and where its password comes from.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MysqlIdentity {
    /// The MySQL user.
    pub user: String,
    /// Where its password comes from.
    pub password: Option<SecretSource>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MysqlDefaults {
    /// The pollers' user (monitoring grants only).
    pub user: Option<String>,
    /// Where the pollers' password comes from.
    pub password: Option<SecretSource>,
    /// `[mysql.operator]`: the user `sql` steps connect as.
    pub operator: Option<MysqlIdentity>,
    /// Every server's TLS unless its own `mysql.tls` says otherwise (key by key).
    pub tls: Option<super::tls::TlsSpec>,
}

impl MysqlEndpoint {
    /// The identity `sql` steps connect as: the operator's, else the pollers'.
    pub fn operator_identity(&self) -> MysqlIdentity {
        self.operator.clone().unwrap_or_else(|| MysqlIdentity {
            user: self.user.clone(),
            password: self.password.clone(),
        })
    }
}

/// How commands reach a server's host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transport {
    Ssh(SshEndpoint),
    /// The lab: commands run on this machine.
    Local,
    /// None declared (no `ssh` table, no `transport`): the server is only polled, as
    /// `watch` needs; `check` refuses shell steps against such an inventory.
    None,
}

/// `ssh = { host = "…" }`: how shell steps reach the server's host.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SshEndpoint {
    /// The host (or an alias of ~/.ssh/config).
    pub host: String,
    /// The SSH user (default: ssh's).
    pub user: Option<String>,
    /// The SSH port (default: ssh's).
    pub port: Option<u16>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MaxscaleEndpoint {
    /// The REST API's URL, with its scheme: "https://maxscale.example:8989" (http:// on
    /// loopback).
    #[schemars(regex(pattern = r"^[Hh][Tt][Tt][Pp][Ss]?://[^/?#]+"))]
    pub url: String,
    /// The REST API user.
    #[serde(default = "default_maxscale_user")]
    pub user: String,
    /// Where the REST API user's password comes from.
    pub password: Option<SecretSource>,
    /// The name of MaxScale's mariadbmon monitor of these servers.
    #[serde(default = "default_monitor")]
    pub monitor: String,
    /// How the REST API's certificate is checked.
    #[serde(default)]
    pub tls: TlsOptions,
}

fn default_maxscale_user() -> String {
    "admin".into()
}

fn default_monitor() -> String {
    "MariaDB-Monitor".into()
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsOptions {
    /// A CA bundle to trust in addition to the system's.
    pub ca_file: Option<PathBuf>,
    /// Accept any certificate (a lab with a self-signed cert); never for production.
    #[serde(default)]
    pub insecure: bool,
}

/// `[heartbeat]`: a pt-heartbeat compatible table, read for lag on every server.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatConfig {
    /// The database of pt-heartbeat's table.
    pub database: String,
    /// The table (pt-heartbeat's layout; created when flightdeck writes and it is missing).
    #[serde(default = "default_heartbeat_table")]
    pub table: String,
    /// Write a heartbeat on the primary every second. Off: read what an existing
    /// `pt-heartbeat --update` writes.
    #[serde(default)]
    pub update: bool,
}

fn default_heartbeat_table() -> String {
    "heartbeat".into()
}

/// `[probe]`: while a step marked `probe` runs, flightdeck writes a row through the
/// router every 20 ms and reads it back, to measure what clients feel. The user needs
/// `CREATE, INSERT, UPDATE, SELECT` on the table's database (CREATE only until the table
/// exists), and nothing more.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProbeConfig {
    /// Where clients connect: MaxScale's readwritesplit listener.
    pub router: RouterAddr,
    /// The probe's MySQL user: CREATE, INSERT, UPDATE, SELECT on the table's database.
    pub user: String,
    /// Where its password comes from.
    pub password: Option<SecretSource>,
    /// `database.table`, created when missing.
    #[serde(default = "default_probe_table")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9_$]+\.[A-Za-z0-9_$]+$"))]
    pub table: String,
}

/// A listener's address.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouterAddr {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
}

fn default_probe_table() -> String {
    "flightdeck.probe".into()
}

impl ProbeConfig {
    /// The table as (database, table), when it is two plain identifiers.
    pub fn table_parts(&self) -> Option<(&str, &str)> {
        let (db, table) = self.table.split_once('.')?;
        let plain = |n: &str| {
            !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        };
        (plain(db) && plain(table)).then_some((db, table))
    }
}

/// Where a password comes from, never the password itself: `{ env = "VAR" }`,
/// `{ file = "PATH" }` (mode 0600), `{ mycnf = true }` (~/.my.cnf) or `{ mycnf = "PATH" }`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "lowercase")]
pub enum SecretSource {
    /// An environment variable.
    Env(String),
    /// A file holding the value (trailing newline trimmed).
    File(PathBuf),
    /// The password a MariaDB client reads from a MySQL option file (its `[client]`,
    /// `[client-server]` and `[client-mariadb]` groups, see `option_file`).
    Mycnf(MycnfFile),
}

/// Which option file: `mycnf = true` is the operator's own `~/.my.cnf`, as for the
/// client; `mycnf = "PATH"` another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MycnfFile {
    Home,
    Path(PathBuf),
}

impl JsonSchema for MycnfFile {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "MycnfFile".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "`true` for the operator's own ~/.my.cnf (as the mariadb client reads it), or the path of a MySQL option file.",
            "anyOf": [
                { "const": true },
                { "type": "string", "minLength": 1 }
            ]
        })
    }
}

impl<'de> Deserialize<'de> for MycnfFile {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = MycnfFile;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("true (the operator's ~/.my.cnf) or the path of a MySQL option file")
            }

            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<MycnfFile, E> {
                if v {
                    Ok(MycnfFile::Home)
                } else {
                    Err(E::custom(
                        "`mycnf = false` names no file: use `mycnf = true` for ~/.my.cnf, \
                         or a path",
                    ))
                }
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<MycnfFile, E> {
                Ok(MycnfFile::Path(PathBuf::from(v)))
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl std::fmt::Display for MycnfFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MycnfFile::Home => f.write_str("~/.my.cnf"),
            MycnfFile::Path(p) => write!(f, "{}", p.display()),
        }
    }
}

impl std::fmt::Display for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretSource::Env(v) => write!(f, "environment variable {v}"),
            SecretSource::File(p) => write!(f, "file {}", p.display()),
            SecretSource::Mycnf(file) => write!(f, "[client] password in {file}"),
        }
    }
}

impl Server {
    /// A fact of this server as templates name it (`{{ primary.host }}`).
    pub fn field(&self, field: crate::runbook::template::ServerField) -> String {
        use crate::runbook::template::ServerField;
        match field {
            ServerField::Name => self.name.clone(),
            ServerField::Host => self.mysql.host.clone(),
            ServerField::Port => self.mysql.port.to_string(),
            ServerField::MaxscaleName => self.maxscale_name.clone(),
            ServerField::SshHost => match &self.transport {
                Transport::Ssh(ssh) => ssh.host.clone(),
                Transport::Local => "localhost".into(),
                Transport::None => self.mysql.host.clone(),
            },
        }
    }
}

impl Inventory {
    pub fn server(&self, name: &str) -> Option<&Server> {
        self.servers.iter().find(|s| s.name == name)
    }

    /// The servers whose initial role is replica, in inventory order.
    pub fn initial_replicas(&self) -> Vec<&str> {
        self.servers
            .iter()
            .filter(|s| s.role == Role::Replica)
            .map(|s| s.name.as_str())
            .collect()
    }

    /// The server a switchover promotes (a runbook's `candidate`): `[roles] candidate`, else
    /// `[roles] replica` (the pair a runbook works on promotes its replica), else the only
    /// replica. It comes from the file alone, never from live roles, so it is the same server
    /// before and after a switchover and on resume. `Err` holds the replicas to choose from
    /// (none, or several).
    pub fn candidate(&self) -> Result<&str, Vec<&str>> {
        if let Some((name, _)) = self
            .named_candidate
            .as_ref()
            .or(self.named_replica.as_ref())
        {
            return Ok(name);
        }
        match self.initial_replicas().as_slice() {
            [one] => Ok(one),
            many => Err(many.to_vec()),
        }
    }

    /// The operator names the candidate for this run (`--candidate`), over the file's
    /// `[roles] candidate`. It must be a server whose initial role is replica.
    pub fn name_candidate(&mut self, name: &str) -> Result<(), String> {
        let Some(server) = self.servers.iter().find(|s| s.name == name) else {
            let names: Vec<&str> = self.servers.iter().map(|s| s.name.as_str()).collect();
            return Err(format!(
                "--candidate {name}: no such server in the inventory ({})",
                names.join(", ")
            ));
        };
        if server.role != Role::Replica {
            return Err(format!(
                "--candidate {name}: it is not a replica in the inventory; the candidate is                  the replica a switchover promotes ({})",
                self.initial_replicas().join(", ")
            ));
        }
        // No place in the file: it came from the command line.
        self.named_candidate = Some((name.to_string(), 0..0));
        Ok(())
    }

    /// Where a runbook secret comes from: the inventory's `[secrets]`, else the
    /// environment variable `FLIGHTDECK_SECRET_<NAME>`.
    pub fn secret_source(&self, name: &str) -> SecretSource {
        self.secrets.get(name).cloned().unwrap_or_else(|| {
            SecretSource::Env(format!("FLIGHTDECK_SECRET_{}", name.to_ascii_uppercase()))
        })
    }
}

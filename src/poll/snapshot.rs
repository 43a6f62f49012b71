//! What a poller publishes: owned snapshots, each with when it was taken and why the last
//! poll failed, if it did. Panes and gates read these; nothing here does I/O.
//!
//! Error texts are read through [`PollError::detail`], its `Display` and
//! [`ReplicaStatus::last_error`], which mask what the process knows of secrets, fragments
//! included: a replica's `Last_SQL_Error` quotes the statement that failed, and a server
//! may quote a statement `near '…'` cut mid-password.

use std::time::{Duration, Instant, SystemTime};

use super::gtid::GtidPos;
use super::heartbeat::HeartbeatLag;
use super::semisync::SemiSync;
use crate::session::mask::{PARTIAL_MIN_CHARS, remembered};

/// A server's error text with what this process knows of secrets masked, fragments too.
fn masked(text: &str) -> String {
    remembered().mask_partial(text, PARTIAL_MIN_CHARS)
}

/// A replica IO thread's state as MariaDB reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum IoState {
    Yes,
    /// What an empty `Slave_IO_Running` parses as, and so the default.
    #[default]
    No,
    Connecting,
}

impl IoState {
    pub fn parse(s: &str) -> Self {
        match s {
            "Yes" => IoState::Yes,
            "Connecting" | "Preparing" => IoState::Connecting,
            _ => IoState::No,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            IoState::Yes => "Yes",
            IoState::No => "No",
            IoState::Connecting => "Connecting",
        }
    }
}

/// One replication connection of a replica (`SHOW ALL SLAVES STATUS` row).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReplicaStatus {
    /// Empty for the default connection.
    pub connection_name: String,
    pub master_host: String,
    pub master_port: u16,
    pub io: IoState,
    pub sql_running: bool,
    /// `None` when MariaDB reports NULL (SQL thread stopped or IO not connected).
    pub seconds_behind: Option<u64>,
    pub gtid_io_pos: GtidPos,
    pub using_gtid: String,
    pub last_io_errno: u32,
    pub last_io_error: String,
    pub last_sql_errno: u32,
    pub last_sql_error: String,
    pub sql_state: String,
    /// The user it logs in to its source with (`Master_User`).
    #[serde(default)]
    pub master_user: String,
    /// Whether the channel uses TLS (`Master_SSL_Allowed`).
    #[serde(default)]
    pub ssl_allowed: bool,
}

impl ReplicaStatus {
    pub fn healthy(&self) -> bool {
        self.io == IoState::Yes && self.sql_running
    }

    /// The error to show, SQL first (it stops apply), with its errno; masked.
    pub fn last_error(&self) -> Option<String> {
        if !self.last_sql_error.is_empty() {
            Some(format!(
                "SQL {}: {}",
                self.last_sql_errno,
                masked(&self.last_sql_error)
            ))
        } else if !self.last_io_error.is_empty() {
            Some(format!(
                "IO {}: {}",
                self.last_io_errno,
                masked(&self.last_io_error)
            ))
        } else {
            None
        }
    }
}

/// What one server said in one poll cycle.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ServerInfo {
    pub version: String,
    pub server_id: u32,
    pub read_only: bool,
    pub log_bin: bool,
    pub binlog_format: String,
    pub gtid_current_pos: GtidPos,
    pub gtid_binlog_pos: GtidPos,
    pub gtid_slave_pos: GtidPos,
    pub replicas: Vec<ReplicaStatus>,
    /// Parallel replication settings (`slave_parallel_threads`, `slave_parallel_mode`), as
    /// (name, value); one the server lacks is absent.
    pub settings: Vec<(String, String)>,
    /// Semi-synchronous replication, read every few cycles (the last reading in between).
    /// Boxed: a snapshot travels in every UI message, which stay small.
    #[serde(default)]
    pub semi_sync: Box<SemiSync>,
    /// Heartbeat lag read from a pt-heartbeat compatible table, when there is one; a
    /// heartbeat dated in the future is [`HeartbeatLag::Skew`], never 0.
    pub heartbeat_lag: Option<HeartbeatLag>,
    /// Whether the poller's connection is encrypted; `None` when not known.
    #[serde(default)]
    pub encryption: Option<Encryption>,
}

/// How the poller's connection travels, read once per connection (`Ssl_cipher`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Encryption {
    ClearText,
    Tls { cipher: String },
}

impl ServerInfo {
    /// A setting of [`ServerInfo::settings`], if the server reported it.
    pub fn setting(&self, name: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The connection `replica.*` facts read: the default (unnamed) one, else the only one.
    /// `Err` when several named connections and no default one leave it ambiguous.
    pub fn default_replica(&self) -> Result<Option<&ReplicaStatus>, String> {
        if let Some(r) = self.replicas.iter().find(|r| r.connection_name.is_empty()) {
            return Ok(Some(r));
        }
        match self.replicas.as_slice() {
            [] => Ok(None),
            [only] => Ok(Some(only)),
            many => Err(format!(
                "{} named replication connections and no default one",
                many.len()
            )),
        }
    }

    /// Looks like a primary: writable and replicating from nobody. Two servers looking
    /// like this at once is a split brain, so callers only trust a single one.
    pub fn looks_primary(&self) -> bool {
        !self.read_only && self.replicas.is_empty()
    }
}

/// How often a poller tries again after the login was refused: a wrong password stays
/// wrong, and a failed login four times a second fills the server's error log (and can
/// trip `max_password_errors`).
pub const LOGIN_RETRY: Duration = Duration::from_secs(2);

/// Why the last poll failed. Only [`PollError::Unreachable`] means the server is down;
/// the others are a server that answered but would not serve the poller.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PollError {
    /// Down: the connection was refused, or nothing answered in time.
    Unreachable(String),
    /// The server answered, but refused the login (password, grants).
    AccessDenied(String),
    /// The server answered, but would not take a connection: too many connections, a
    /// shutdown in progress, a blocked host, or it closed the connection during the login.
    Refused(String),
    /// The server closed or killed the poller's connection (as MaxScale does to a demoted
    /// primary's client connections in a switchover) and the reconnect has not finished
    /// yet. The server was up a moment ago; it is not known to be down.
    Closed(String),
    /// Connected, but a query failed.
    Query(String),
    /// The TLS the inventory asks for failed: a certificate from an unknown CA or for
    /// another host name, or a server without TLS.
    Tls(String),
}

impl PollError {
    /// A few words for a pane's row: what a DBA should read first.
    pub fn label(&self) -> &'static str {
        match self {
            PollError::Unreachable(_) => "DOWN",
            PollError::AccessDenied(_) => "LOGIN REFUSED",
            PollError::Refused(_) => "REFUSING CONNECTIONS",
            PollError::Closed(_) => "RECONNECTING",
            PollError::Query(_) => "QUERY FAILED",
            PollError::Tls(_) => "TLS FAILED",
        }
    }

    /// The driver's or the server's own words, masked.
    pub fn detail(&self) -> String {
        masked(self.words())
    }

    fn words(&self) -> &str {
        match self {
            PollError::Unreachable(e)
            | PollError::AccessDenied(e)
            | PollError::Refused(e)
            | PollError::Closed(e)
            | PollError::Query(e)
            | PollError::Tls(e) => e,
        }
    }

    /// Whether the server is down: only when nothing answered.
    pub fn is_down(&self) -> bool {
        matches!(self, PollError::Unreachable(_))
    }

    /// What the failure says about the server running: `Some(false)` when it did not
    /// answer at all, `Some(true)` when it ran our query (which then failed), `None` when
    /// it answered but would not serve us (login refused, refusing or closing connections).
    pub fn server_up(&self) -> Option<bool> {
        match self {
            PollError::Unreachable(_) => Some(false),
            PollError::Query(_) => Some(true),
            PollError::AccessDenied(_)
            | PollError::Refused(_)
            | PollError::Closed(_)
            | PollError::Tls(_) => None,
        }
    }

    /// How long the poller waits (from the start of a cycle) before trying again: one
    /// interval, so a failed server's row is as fresh as a live one's, except after a
    /// refused login.
    pub fn retry_after(&self, interval: Duration) -> Duration {
        match self {
            // A refused login or certificate stays refused until someone changes it.
            PollError::AccessDenied(_) | PollError::Tls(_) => interval.max(LOGIN_RETRY),
            _ => interval,
        }
    }
}

impl std::fmt::Display for PollError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let e = self.detail();
        match self {
            PollError::Unreachable(_) => write!(f, "unreachable: {e}"),
            PollError::AccessDenied(_) => write!(f, "access denied: {e}"),
            PollError::Refused(_) => write!(f, "refusing connections: {e}"),
            PollError::Closed(_) => write!(f, "reconnecting: {e}"),
            PollError::Query(_) => write!(f, "query failed: {e}"),
            PollError::Tls(_) => write!(f, "TLS failed: {e}"),
        }
    }
}

/// The latest state of one server, as published on its `watch` channel.
#[derive(Clone, Debug)]
pub struct ServerSnapshot {
    pub server: String,
    /// When the last poll finished (successful or not).
    pub taken_at: Instant,
    pub wall_time: SystemTime,
    /// The last successful answer; kept while the server is down, but then not live.
    pub info: Option<ServerInfo>,
    /// Set when the last poll failed.
    pub error: Option<PollError>,
}

impl ServerSnapshot {
    pub fn pending(server: &str) -> Self {
        Self {
            server: server.to_string(),
            taken_at: Instant::now(),
            wall_time: SystemTime::now(),
            info: None,
            error: None,
        }
    }

    /// Live facts: the last answer, only if the last poll succeeded.
    pub fn live(&self) -> Option<&ServerInfo> {
        if self.error.is_none() {
            self.info.as_ref()
        } else {
            None
        }
    }

    pub fn is_up(&self) -> bool {
        self.error.is_none() && self.info.is_some()
    }

    /// Stale when the poller missed its schedule: nothing new for three of its retry
    /// periods (the poll interval, or [`LOGIN_RETRY`] after a refused login).
    pub fn is_stale(&self, now: Instant, interval: Duration) -> bool {
        let period = self
            .error
            .as_ref()
            .map_or(interval, |e| e.retry_after(interval));
        now.saturating_duration_since(self.taken_at) > period * 3
    }
}

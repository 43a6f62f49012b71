//! Starting every poller an inventory calls for, with credentials resolved up front so a
//! missing password is one clear error before anything connects.

use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::heartbeat::{self, BadIdentifier, HeartbeatTable};
use super::maxscale::{self as mxs_poll, MaxscaleSnapshot};
use super::mysql::{self, SqlPollConfig, SqlTarget};
use super::snapshot::ServerSnapshot;
use super::tier::Tiers;
use crate::inventory::{self, CredentialError, Inventory, MysqlIdentity, Server};
use crate::maxscale::{MaxscaleClient, MaxscaleConfig, MaxscaleError};

#[derive(Clone, Copy, Debug)]
pub struct PollIntervals {
    pub sql: Duration,
    pub maxscale: Duration,
}

impl Default for PollIntervals {
    fn default() -> Self {
        Self {
            sql: Duration::from_millis(250),
            maxscale: Duration::from_secs(1),
        }
    }
}

/// The receivers of every running poller.
pub struct Pollers {
    pub servers: Vec<watch::Receiver<ServerSnapshot>>,
    pub maxscale: Option<watch::Receiver<MaxscaleSnapshot>>,
    /// The SQL pollers' tiers, when settled replicas are polled at a longer interval:
    /// [`Tiers::set_hot`] keeps chosen servers fast.
    pub tiers: Option<Tiers>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("password of {what}: {source}")]
    Credential {
        what: String,
        #[source]
        source: CredentialError,
    },
    #[error("MaxScale client: {0}")]
    Maxscale(#[from] MaxscaleError),
    #[error("[heartbeat] in the inventory: {0}")]
    Heartbeat(#[from] BadIdentifier),
}

/// The pollers' SQL targets, one per server of the inventory, passwords resolved: the
/// monitoring identity (`[mysql]` `user` and `password`).
pub fn sql_targets(inv: &Inventory) -> Result<Vec<SqlTarget>, StartError> {
    inv.servers
        .iter()
        .map(|s| {
            let identity = MysqlIdentity {
                user: s.mysql.user.clone(),
                password: s.mysql.password.clone(),
            };
            target(inv, s, &identity)
        })
        .collect()
}

/// The targets `sql` steps connect to, one per server: the operator identity
/// (`[mysql.operator]`), else the pollers' when the inventory names no operator.
pub fn operator_targets(inv: &Inventory) -> Result<Vec<SqlTarget>, StartError> {
    inv.servers
        .iter()
        .map(|s| target(inv, s, &s.mysql.operator_identity()))
        .collect()
}

fn target(inv: &Inventory, s: &Server, identity: &MysqlIdentity) -> Result<SqlTarget, StartError> {
    let password = identity
        .password
        .as_ref()
        .map(|src| inventory::resolve(src, inv.base_dir()))
        .transpose()
        .map_err(|source| StartError::Credential {
            what: format!("MySQL user {} on {}", identity.user, s.name),
            source,
        })?;
    Ok(SqlTarget {
        server: s.name.clone(),
        host: s.mysql.host.clone(),
        port: s.mysql.port,
        user: identity.user.clone(),
        password,
        tls: s.mysql.tls.clone(),
    })
}

/// Where the write-availability probe writes, if the inventory has a `[probe]`.
pub fn probe_target(
    inv: &Inventory,
) -> Result<Option<crate::exec::probe::ProbeTarget>, StartError> {
    let Some(p) = &inv.probe else {
        return Ok(None);
    };
    let password = p
        .password
        .as_ref()
        .map(|src| inventory::resolve(src, inv.base_dir()))
        .transpose()
        .map_err(|source| StartError::Credential {
            what: format!("the probe's user {}", p.user),
            source,
        })?;
    // The loader refused any other table name.
    let (database, table) = p.table_parts().unwrap_or(("flightdeck", "probe"));
    Ok(Some(crate::exec::probe::ProbeTarget {
        sql: SqlTarget {
            server: format!("router {}:{}", p.router.host, p.router.port),
            host: p.router.host.clone(),
            port: p.router.port,
            user: p.user.clone(),
            password,
            // TLS when the router offers it, as the mysql client does by default.
            tls: crate::inventory::MysqlTls::default(),
        },
        database: database.to_string(),
        table: table.to_string(),
    }))
}

/// The MaxScale client the inventory describes, if it names a MaxScale.
pub fn maxscale_client(inv: &Inventory) -> Result<Option<MaxscaleClient>, StartError> {
    let Some(m) = &inv.maxscale else {
        return Ok(None);
    };
    let password = match &m.password {
        Some(src) => inventory::resolve(src, inv.base_dir())
            .map_err(|source| StartError::Credential {
                what: format!("MaxScale user {}", m.user),
                source,
            })?
            .expose()
            .to_string(),
        None => String::new(),
    };
    let client = MaxscaleClient::new(MaxscaleConfig {
        base_url: m.url.clone(),
        user: m.user.clone(),
        password,
        timeout: Duration::from_secs(5),
        ca_file: m.tls.ca_file.clone(),
        insecure_tls: m.tls.insecure,
    })?;
    Ok(Some(client))
}

/// Starts one SQL poller per server and one MaxScale poller, every server polled at the
/// SQL interval. Must run inside a runtime.
pub fn start(
    inv: &Inventory,
    intervals: PollIntervals,
    cancel: &CancellationToken,
) -> Result<Pollers, StartError> {
    start_with(inv, intervals, None, cancel)
}

/// As [`start`]; with `tiers`, settled replicas are polled at its relaxed interval (see
/// [`super::tier`]).
pub fn start_with(
    inv: &Inventory,
    intervals: PollIntervals,
    tiers: Option<Tiers>,
    cancel: &CancellationToken,
) -> Result<Pollers, StartError> {
    let targets = sql_targets(inv)?;
    let client = maxscale_client(inv)?;
    let heartbeat = inv
        .heartbeat
        .as_ref()
        .map(|h| HeartbeatTable::new(&h.database, &h.table))
        .transpose()?;
    let config = SqlPollConfig {
        interval: intervals.sql,
        heartbeat: heartbeat.clone(),
        tiers: tiers.clone(),
        ..SqlPollConfig::default()
    };
    let servers: Vec<_> = targets
        .iter()
        .map(|t| mysql::spawn(t.clone(), config.clone(), cancel.child_token()))
        .collect();
    if let (Some(table), Some(h)) = (heartbeat, &inv.heartbeat)
        && h.update
    {
        heartbeat::spawn_writer(
            table,
            targets,
            servers.clone(),
            Duration::from_secs(1),
            cancel.child_token(),
        );
    }
    let maxscale = match (client, &inv.maxscale) {
        (Some(c), Some(m)) => Some(mxs_poll::spawn(
            c,
            m.monitor.clone(),
            intervals.maxscale,
            cancel.child_token(),
        )),
        _ => None,
    };
    Ok(Pollers {
        servers,
        maxscale,
        tiers,
    })
}

/// Forwards every change of a `watch` channel as a message on an `mpsc` channel, until
/// either side closes: how a UI loop hears of new snapshots.
pub fn forward<T, M>(mut rx: watch::Receiver<T>, tx: tokio::sync::mpsc::Sender<M>, wrap: fn(T) -> M)
where
    T: Clone + Send + Sync + 'static,
    M: Send + 'static,
{
    tokio::spawn(async move {
        while rx.changed().await.is_ok() {
            let value = rx.borrow_and_update().clone();
            if tx.send(wrap(value)).await.is_err() {
                break;
            }
        }
    });
}

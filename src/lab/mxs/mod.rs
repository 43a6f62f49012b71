//! The lab's MaxScale-compatible endpoint (MaxScale itself is not installable here):
//! a mariadbmon-like monitor over the real lab servers, MaxScale's REST API for
//! what flightdeck uses, switchover performed on the servers, and a router that
//! sends clients to the current primary.
//!
//! Tasks: the monitor owns the view and the server connections and publishes on
//! `watch` channels; the REST API reads the view and sends commands to the
//! monitor; the router follows the primary. One `CancellationToken` stops them all.

mod api;
mod commands;
pub mod https;
mod journal;
mod kick;
mod monitor;
mod probe;
mod render;
mod state;
mod switchover;
mod util;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::lab::router::{self, RouterStats};

pub use api::PRIMARY_REFUSAL;
pub use journal::{JOURNAL_MAX_AGE, Journal, JournalError, JournalServer};
pub use monitor::CmdState;
pub use probe::{Probe, SlaveRow};
pub use state::{ClusterView, Role, ServerView};
pub use util::http_date;

/// One monitored server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    pub name: String,
    pub host: String,
    pub port: u16,
}

impl Backend {
    pub fn new(name: impl Into<String>, host: impl Into<String>, port: u16) -> Self {
        Self {
            name: name.into(),
            host: host.into(),
            port,
        }
    }
}

/// What the endpoint serves and monitors. [`ServeConfig::new`] fills MaxScale's defaults.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub servers: Vec<Backend>,
    /// mariadbmon's `user`/`password`: the monitor's and the switchover's logins.
    pub monitor_user: String,
    pub monitor_password: String,
    /// mariadbmon's `replication_user`/`replication_password`, for CHANGE MASTER TO;
    /// `None` uses the monitor's, as MaxScale does.
    pub replication_user: Option<String>,
    pub replication_password: Option<String>,
    /// REST API address (default 127.0.0.1:8989; port 0 picks a free one).
    pub rest_bind: SocketAddr,
    pub admin_user: String,
    pub admin_password: String,
    /// Default `MariaDB-Monitor`.
    pub monitor_name: String,
    /// Router address (default 127.0.0.1:4006); `None` runs no router.
    pub router_bind: Option<SocketAddr>,
    /// Default 1 s.
    pub monitor_interval: Duration,
    /// mariadbmon's `switchover_timeout` (default 90 s): lag limit and catch-up wait.
    pub switchover_timeout: Duration,
    /// Where the monitor keeps its journal (admin states and the primary, restored when it
    /// starts; see `journal.rs`); `None` (the default) keeps them in memory only.
    pub journal: Option<PathBuf>,
    /// MaxScale's `journal_max_age` (default 8 h): an older journal is discarded at start.
    pub journal_max_age: Duration,
    /// Serve the REST API over https with this configuration (`lab up --tls`); `None`: http.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl ServeConfig {
    pub fn new(
        servers: Vec<Backend>,
        monitor_user: impl Into<String>,
        monitor_password: impl Into<String>,
    ) -> Self {
        Self {
            servers,
            monitor_user: monitor_user.into(),
            monitor_password: monitor_password.into(),
            replication_user: None,
            replication_password: None,
            rest_bind: SocketAddr::from(([127, 0, 0, 1], 8989)),
            admin_user: "admin".to_owned(),
            admin_password: "mariadb".to_owned(),
            monitor_name: "MariaDB-Monitor".to_owned(),
            router_bind: Some(SocketAddr::from(([127, 0, 0, 1], 4006))),
            monitor_interval: Duration::from_secs(1),
            switchover_timeout: Duration::from_secs(90),
            journal: None,
            journal_max_age: JOURNAL_MAX_AGE,
            tls: None,
        }
    }

    pub fn replication_user(&self) -> &str {
        self.replication_user
            .as_deref()
            .unwrap_or(&self.monitor_user)
    }

    pub fn replication_password(&self) -> &str {
        self.replication_password
            .as_deref()
            .unwrap_or(&self.monitor_password)
    }

    /// Connect and query timeout of each monitor probe (MaxScale's backend timeouts).
    pub(crate) fn probe_timeout(&self) -> Duration {
        Duration::from_secs(3)
    }

    fn validate(&self) -> Result<(), LabMxsError> {
        if self.servers.is_empty() {
            return Err(LabMxsError::Config("no servers to monitor".to_owned()));
        }
        let mut names = HashSet::new();
        for s in &self.servers {
            if s.name.is_empty() || !names.insert(s.name.as_str()) {
                return Err(LabMxsError::Config(format!(
                    "server name {:?} is empty or repeated",
                    s.name
                )));
            }
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LabMxsError {
    #[error("invalid lab endpoint configuration: {0}")]
    Config(String),
    #[error("cannot listen for the lab MaxScale REST API on {addr}: {source}")]
    BindRest {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot listen for the lab router on {addr}: {source}")]
    BindRouter {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the lab MaxScale REST API stopped: {0}")]
    Serve(#[source] std::io::Error),
}

/// A running endpoint. Dropping it cancels every task; [`LabMxsHandle::shutdown`] also waits.
#[derive(Debug)]
pub struct LabMxsHandle {
    rest_addr: SocketAddr,
    router_addr: Option<SocketAddr>,
    view: watch::Receiver<Arc<ClusterView>>,
    cancel: CancellationToken,
    tasks: TaskTracker,
    rest: Option<JoinHandle<std::io::Result<()>>>,
    /// `https` or `http`.
    scheme: &'static str,
}

impl LabMxsHandle {
    pub fn rest_addr(&self) -> SocketAddr {
        self.rest_addr
    }

    /// `http://127.0.0.1:PORT` (`https://` with TLS), for `MaxscaleConfig::base_url`.
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme, self.rest_addr)
    }

    pub fn router_addr(&self) -> Option<SocketAddr> {
        self.router_addr
    }

    /// The monitor's latest view (updated every tick).
    pub fn view(&self) -> watch::Receiver<Arc<ClusterView>> {
        self.view.clone()
    }

    /// Stop every task and wait for them.
    pub async fn shutdown(mut self) -> Result<(), LabMxsError> {
        self.cancel.cancel();
        self.tasks.close();
        self.tasks.wait().await;
        match self.rest.take() {
            Some(rest) => match rest.await {
                Ok(Err(e)) => Err(LabMxsError::Serve(e)),
                _ => Ok(()),
            },
            None => Ok(()),
        }
    }
}

impl Drop for LabMxsHandle {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Start the endpoint in this process: bind, start the monitor, the REST API and
/// the router, and return their addresses.
pub async fn spawn(cfg: ServeConfig) -> Result<LabMxsHandle, LabMxsError> {
    cfg.validate()?;
    let rest_listener =
        TcpListener::bind(cfg.rest_bind)
            .await
            .map_err(|source| LabMxsError::BindRest {
                addr: cfg.rest_bind,
                source,
            })?;
    let rest_addr = rest_listener
        .local_addr()
        .map_err(|source| LabMxsError::BindRest {
            addr: cfg.rest_bind,
            source,
        })?;
    let router_listener = match cfg.router_bind {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .map_err(|source| LabMxsError::BindRouter { addr, source })?,
        ),
        None => None,
    };
    let router_addr = router_listener.as_ref().and_then(|l| l.local_addr().ok());

    let tls = cfg.tls.clone();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let cfg = Arc::new(cfg);
    let cancel = CancellationToken::new();
    let tasks = TaskTracker::new();
    let (view_tx, view_rx) = watch::channel(Arc::new(ClusterView::default()));
    let (route_tx, route_rx) = watch::channel(None);
    let (cmd_state, _) = watch::channel(CmdState::None);
    let (cmd_tx, cmd_rx) = mpsc::channel(16);
    let stats = Arc::new(RouterStats::default());

    let mon = monitor::Monitor::new(Arc::clone(&cfg), view_tx, route_tx, cmd_state.clone());
    tasks.spawn(mon.run(cmd_rx, cancel.clone()));
    if let Some(listener) = router_listener {
        tasks.spawn(router::run(
            listener,
            route_rx,
            Arc::clone(&stats),
            cancel.clone(),
        ));
    }
    let state = Arc::new(api::ApiState {
        cfg: Arc::clone(&cfg),
        base: format!("{scheme}://{rest_addr}"),
        view: view_rx.clone(),
        cmd_tx,
        cmd_state,
        stats,
    });
    let app = api::app(state);
    let shutdown = cancel.clone().cancelled_owned();
    let rest = match tls {
        Some(config) => {
            let listener = https::HttpsListener::new(rest_listener, config).map_err(|source| {
                LabMxsError::BindRest {
                    addr: rest_addr,
                    source,
                }
            })?;
            tokio::spawn(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(shutdown)
                    .await
            })
        }
        None => tokio::spawn(async move {
            axum::serve(rest_listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        }),
    };
    tracing::info!(%rest_addr, ?router_addr, "lab MaxScale-compatible endpoint listening");
    Ok(LabMxsHandle {
        rest_addr,
        router_addr,
        view: view_rx,
        cancel,
        tasks,
        rest: Some(rest),
        scheme,
    })
}

/// Run the endpoint until `cancel` fires (or the REST server fails).
pub async fn serve(cfg: ServeConfig, cancel: CancellationToken) -> Result<(), LabMxsError> {
    run_until(spawn(cfg).await?, cancel).await
}

/// Run a [`spawn`]ed endpoint until `cancel` fires (or the REST server fails), then stop it.
pub async fn run_until(
    mut handle: LabMxsHandle,
    cancel: CancellationToken,
) -> Result<(), LabMxsError> {
    let Some(mut rest) = handle.rest.take() else {
        return handle.shutdown().await;
    };
    let failed = tokio::select! {
        _ = cancel.cancelled() => None,
        result = &mut rest => Some(result),
    };
    match failed {
        None => {
            let own = handle.cancel.clone();
            handle.rest = Some(rest);
            own.cancel();
            handle.shutdown().await
        }
        Some(result) => {
            let _ = handle.shutdown().await;
            match result {
                Ok(Err(e)) => Err(LabMxsError::Serve(e)),
                _ => Err(LabMxsError::Serve(std::io::Error::other(
                    "the REST server task ended",
                ))),
            }
        }
    }
}

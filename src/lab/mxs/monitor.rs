//! The monitor task: sole owner of the cluster view and of one connection per
//! server. It ticks every interval, applies admin commands between ticks, runs
//! switchovers (monitoring pauses meanwhile, as in mariadbmon), and publishes the
//! view on a `watch` channel for the REST API and the router.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::future::join_all;
use mysql_async::Conn;
use mysql_async::prelude::Queryable;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

use crate::lab::router::RouteTarget;
use crate::maxscale::AdminState;

use super::ServeConfig;
use super::journal::JournalFile;
use super::probe::{Login, Probe, connect, probe};
use super::state::{ClusterView, Role, ServerView};
use super::switchover;
use super::util::http_date;

/// Requests from the REST API to the monitor.
#[derive(Debug)]
pub(crate) enum MonitorCmd {
    SetState {
        server: String,
        state: AdminState,
        on: bool,
        reply: oneshot::Sender<Result<(), SetStateError>>,
    },
    /// `reply` is `None` for `async-switchover`: the outcome goes to [`CmdState`] only.
    Switchover {
        new: String,
        old: Option<String>,
        reply: Option<oneshot::Sender<Result<(), Vec<String>>>>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SetStateError {
    UnknownServer,
    Primary,
}

/// The last manual command, for `fetch-cmd-result`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CmdState {
    #[default]
    None,
    Running(&'static str),
    /// `errors` empty means success.
    Done {
        name: &'static str,
        errors: Vec<String>,
    },
}

pub(crate) struct Monitor {
    pub(super) cfg: Arc<ServeConfig>,
    pub(super) conns: Vec<Option<Conn>>,
    pub(super) view: ClusterView,
    view_tx: watch::Sender<Arc<ClusterView>>,
    route_tx: watch::Sender<Option<RouteTarget>>,
    cmd_state: watch::Sender<CmdState>,
    journal: Option<JournalFile>,
}

impl Monitor {
    pub(crate) fn new(
        cfg: Arc<ServeConfig>,
        view_tx: watch::Sender<Arc<ClusterView>>,
        route_tx: watch::Sender<Option<RouteTarget>>,
        cmd_state: watch::Sender<CmdState>,
    ) -> Self {
        let view = ClusterView {
            servers: cfg
                .servers
                .iter()
                .map(|b| ServerView::new(&b.name, &b.host, b.port))
                .collect(),
            ..ClusterView::default()
        };
        let journal = cfg
            .journal
            .clone()
            .map(|path| JournalFile::new(path, cfg.journal_max_age, &cfg.monitor_name));
        Self {
            conns: cfg.servers.iter().map(|_| None).collect(),
            journal,
            cfg,
            view,
            view_tx,
            route_tx,
            cmd_state,
        }
    }

    pub(crate) async fn run(
        mut self,
        mut rx: mpsc::Receiver<MonitorCmd>,
        cancel: CancellationToken,
    ) {
        if let Some(journal) = &self.journal {
            journal.restore(&mut self.view);
        }
        self.tick().await;
        let period = self.cfg.monitor_interval.max(Duration::from_millis(50));
        let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                cmd = rx.recv() => match cmd {
                    Some(cmd) => self.handle(cmd).await,
                    None => break,
                },
                _ = interval.tick() => self.tick().await,
            }
        }
        self.save_journal(true).await;
        for slot in &mut self.conns {
            if let Some(conn) = slot.take() {
                let _ = tokio::time::timeout(Duration::from_secs(2), conn.disconnect()).await;
            }
        }
    }

    pub(super) fn login(&self, i: usize) -> Login {
        let b = &self.cfg.servers[i];
        Login {
            host: b.host.clone(),
            port: b.port,
            user: self.cfg.monitor_user.clone(),
            password: self.cfg.monitor_password.clone(),
        }
    }

    /// Probe every server (concurrently, one connection each), derive, publish.
    pub(super) async fn tick(&mut self) {
        let timeout = self.cfg.probe_timeout();
        let logins: Vec<Login> = (0..self.conns.len()).map(|i| self.login(i)).collect();
        let results = join_all(
            self.conns
                .iter_mut()
                .zip(logins.iter())
                .map(|(slot, login)| probe_slot(slot, login, timeout)),
        )
        .await;
        for (server, result) in self.view.servers.iter_mut().zip(results) {
            match result {
                Ok(p) => {
                    server.probe = Some(p);
                    server.running = true;
                    server.last_error = None;
                }
                Err(e) => {
                    if server.running {
                        tracing::warn!(server = %server.name, error = %e, "lab monitor: server unreachable");
                    }
                    server.running = false;
                    server.last_error = Some(e);
                }
            }
        }
        self.view.derive(&http_date(SystemTime::now()));
        self.enforce_read_only_slaves().await;
        self.publish();
        self.save_journal(false).await;
    }

    /// Writes the journal if what it keeps changed (or `force`); see [`JournalFile::save`].
    async fn save_journal(&mut self, force: bool) {
        if let Some(journal) = &mut self.journal {
            journal.save(&self.view, force).await;
        }
    }

    /// Like mariadbmon's `enforce_read_only_slaves` (on in the real setup the samples come
    /// from): a replica that came back writable, e.g. restarted with its primary-era
    /// my.cnf after a switchover, is set read-only again so nothing writes to it.
    async fn enforce_read_only_slaves(&mut self) {
        for (server, slot) in self.view.servers.iter_mut().zip(self.conns.iter_mut()) {
            let writable_slave = server.running
                && server.role == Role::Slave
                && server.probe.as_ref().is_some_and(|p| !p.read_only);
            if !writable_slave {
                continue;
            }
            if let Some(conn) = slot.as_mut()
                && conn.query_drop("SET GLOBAL read_only = 1").await.is_ok()
                && let Some(p) = server.probe.as_mut()
            {
                p.read_only = true;
            }
        }
    }

    pub(super) fn publish(&self) {
        let view = Arc::new(self.view.clone());
        let target = view.route_target().map(|s| RouteTarget {
            name: s.name.clone(),
            host: s.host.clone(),
            port: s.port,
        });
        self.route_tx.send_if_modified(|current| {
            if *current == target {
                return false;
            }
            *current = target;
            true
        });
        self.view_tx.send_replace(view);
    }

    async fn handle(&mut self, cmd: MonitorCmd) {
        match cmd {
            MonitorCmd::SetState {
                server,
                state,
                on,
                reply,
            } => {
                let result = self.set_state(&server, state, on);
                if result.is_ok() {
                    // On disk before the 204, so a client that saw it may count on it.
                    self.save_journal(false).await;
                }
                let _ = reply.send(result);
            }
            MonitorCmd::Switchover { new, old, reply } => {
                self.cmd_state.send_replace(CmdState::Running("switchover"));
                let result = switchover::run(self, &new, old.as_deref()).await;
                self.cmd_state.send_replace(CmdState::Done {
                    name: "switchover",
                    errors: result.clone().err().unwrap_or_default(),
                });
                if let Some(reply) = reply {
                    let _ = reply.send(result);
                }
            }
        }
    }

    fn set_state(
        &mut self,
        server: &str,
        state: AdminState,
        on: bool,
    ) -> Result<(), SetStateError> {
        let s = self
            .view
            .server_mut(server)
            .ok_or(SetStateError::UnknownServer)?;
        if on && s.running && s.role == Role::Master {
            return Err(SetStateError::Primary);
        }
        match state {
            AdminState::Maintenance => s.maintenance = on,
            AdminState::Drain => s.drain = on,
        }
        self.publish();
        Ok(())
    }
}

/// Probe through the slot's connection, opening it first if needed; a failed
/// connection is dropped so the next tick reconnects.
async fn probe_slot(
    slot: &mut Option<Conn>,
    login: &Login,
    timeout: Duration,
) -> Result<Probe, String> {
    if slot.is_none() {
        *slot = Some(connect(login, timeout).await?);
    }
    let Some(conn) = slot.as_mut() else {
        return Err("no connection".to_owned());
    };
    let result = match tokio::time::timeout(timeout, probe(conn)).await {
        Ok(result) => result,
        Err(_) => Err(format!("monitor query timed out after {timeout:?}")),
    };
    if result.is_err() {
        *slot = None;
    }
    result
}

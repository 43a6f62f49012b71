//! The lab's router: a TCP proxy that sends each client connection to the current
//! primary as the monitor sees it (never to a server in maintenance or down), and
//! closes client connections to a primary that is no longer the primary, so
//! clients reconnect and land on the new one.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Where clients go now. Published by the monitor; `None` while there is no
/// usable primary or a switchover is between demotion and promotion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTarget {
    pub name: String,
    pub host: String,
    pub port: u16,
}

/// Per-server connection counters, read by the REST API (`statistics`).
#[derive(Debug, Default)]
pub struct RouterStats {
    counts: Mutex<HashMap<String, (u64, u64)>>,
}

impl RouterStats {
    /// (current, total) connections routed to `server`.
    pub fn counts(&self, server: &str) -> (u64, u64) {
        self.counts
            .lock()
            .map(|m| m.get(server).copied().unwrap_or_default())
            .unwrap_or_default()
    }

    fn opened(&self, server: &str) {
        if let Ok(mut m) = self.counts.lock() {
            let e = m.entry(server.to_owned()).or_default();
            e.0 += 1;
            e.1 += 1;
        }
    }

    fn closed(&self, server: &str) {
        if let Ok(mut m) = self.counts.lock() {
            if let Some(e) = m.get_mut(server) {
                e.0 = e.0.saturating_sub(1);
            }
        }
    }
}

/// How long a new client waits for a primary (e.g. during a switchover) before it is dropped.
const WAIT_FOR_PRIMARY: Duration = Duration::from_secs(15);
const BACKEND_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Accept clients on `listener` until `cancel` fires; then close every spliced connection.
pub async fn run(
    listener: TcpListener,
    target: watch::Receiver<Option<RouteTarget>>,
    stats: Arc<RouterStats>,
    cancel: CancellationToken,
) {
    let tasks = TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((client, peer)) => {
                tasks.spawn(serve_client(
                    client,
                    peer,
                    target.clone(),
                    Arc::clone(&stats),
                    cancel.clone(),
                ));
            }
            Err(e) => {
                tracing::warn!(error = %e, "lab router: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    tasks.close();
    tasks.wait().await;
}

async fn serve_client(
    mut client: TcpStream,
    peer: SocketAddr,
    mut target: watch::Receiver<Option<RouteTarget>>,
    stats: Arc<RouterStats>,
    cancel: CancellationToken,
) {
    let Some(to) = wait_for_target(&mut target, &cancel).await else {
        tracing::debug!(%peer, "lab router: no primary to route to; closing client");
        return;
    };
    let connect = TcpStream::connect((to.host.as_str(), to.port));
    let mut backend = match tokio::time::timeout(BACKEND_CONNECT_TIMEOUT, connect).await {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            tracing::warn!(%peer, server = %to.name, error = %e, "lab router: cannot reach the primary");
            return;
        }
        Err(_) => {
            tracing::warn!(%peer, server = %to.name, "lab router: connecting to the primary timed out");
            return;
        }
    };
    let _ = client.set_nodelay(true);
    let _ = backend.set_nodelay(true);
    stats.opened(&to.name);
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut backend) => {}
        _ = target_moved_away(&mut target, &to.name) => {
            tracing::debug!(%peer, server = %to.name, "lab router: primary changed; closing client");
        }
        _ = cancel.cancelled() => {}
    }
    stats.closed(&to.name);
}

async fn wait_for_target(
    target: &mut watch::Receiver<Option<RouteTarget>>,
    cancel: &CancellationToken,
) -> Option<RouteTarget> {
    let wait = target.wait_for(Option::is_some);
    tokio::select! {
        found = tokio::time::timeout(WAIT_FOR_PRIMARY, wait) => match found {
            Ok(Ok(t)) => t.clone(),
            _ => None,
        },
        _ = cancel.cancelled() => None,
    }
}

/// Resolves when the target is no longer `name` (or the monitor is gone).
async fn target_moved_away(target: &mut watch::Receiver<Option<RouteTarget>>, name: &str) {
    let _ = target
        .wait_for(|t| t.as_ref().is_none_or(|t| t.name != name))
        .await;
}

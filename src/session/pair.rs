//! The session served to a second operator: a Unix socket next to the journal
//! (`FILE.sock`, mode 0660). The kernel says who connects (`SO_PEERCRED`); only the
//! journal owner and members of the journal's group may attach, and a refusal is
//! reported for the journal. Each client gets the newest view and panes as they change
//! (a slow client skips states, it never slows the driver), and may send approvals and
//! notes, which the driver judges.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::session::view::SessionView;
use crate::session::wire::{self, DashWire, PROTOCOL, ToDriver, ToObserver};

/// What happens on the socket, for the driver to judge and journal.
#[derive(Debug)]
pub enum PairEvent {
    Attached {
        user: String,
        pid: Option<i32>,
        /// Reaches this client only (an offer of the wheel, an answer).
        to: mpsc::UnboundedSender<ToObserver>,
    },
    Detached {
        user: String,
    },
    Refused {
        user: String,
        uid: u32,
        reason: String,
    },
    /// A message from an attached operator; `reply` reaches that operator only.
    Said {
        user: String,
        msg: ToDriver,
        reply: mpsc::UnboundedSender<ToObserver>,
    },
}

/// What a client is sent.
#[derive(Clone)]
pub struct Feeds {
    pub views: watch::Receiver<SessionView>,
    pub dash: watch::Receiver<DashWire>,
    pub driver: String,
    pub journal: PathBuf,
    /// The clients' tasks, so the driver can let their last words out before it ends.
    pub tasks: TaskTracker,
}

/// The socket a journal is served on.
pub fn socket_path(journal: &Path) -> PathBuf {
    let mut s = journal.as_os_str().to_owned();
    s.push(".sock");
    PathBuf::from(s)
}

/// Serves the session until `cancel`. A socket left by a dead driver is replaced.
pub fn serve(
    feeds: Feeds,
    events: mpsc::Sender<PairEvent>,
    cancel: CancellationToken,
) -> std::io::Result<PathBuf> {
    let path = socket_path(&feeds.journal);
    if path.exists() {
        // The lock says we drive this journal: whatever answers there is stale.
        std::fs::remove_file(&path)?;
    }
    let listener = UnixListener::bind(&path)?;
    // The kernel lets the journal's group in (connecting needs write permission on the
    // socket); who connects is checked again below, and refusals are journaled.
    let meta = std::fs::metadata(&feeds.journal)?;
    let owner = (meta.uid(), meta.gid());
    std::os::unix::fs::chown(&path, None, Some(owner.1))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o660))?;
    let bound = std::fs::metadata(&path)?.ino();
    let served = path.clone();
    tokio::spawn(async move {
        loop {
            let stream = tokio::select! {
                _ = cancel.cancelled() => break,
                s = listener.accept() => match s { Ok((s, _)) => s, Err(_) => continue },
            };
            feeds.tasks.spawn(client(
                stream,
                owner,
                feeds.clone(),
                events.clone(),
                cancel.child_token(),
            ));
        }
        // Only our own socket: after a handover the path may already be the new driver's.
        if std::fs::metadata(&served).is_ok_and(|m| m.ino() == bound) {
            let _ = std::fs::remove_file(&served);
        }
    });
    Ok(path)
}

/// Whether the peer may attach: the journal's owner, root, or a member of its group.
fn allowed(uid: u32, gid: u32, pid: Option<i32>, owner: (u32, u32)) -> bool {
    uid == owner.0
        || uid == 0
        || gid == owner.1
        || pid.is_some_and(|p| groups(p).contains(&owner.1))
}

/// A process's supplementary groups, from /proc.
fn groups(pid: i32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| l.strip_prefix("Groups:")).map(|g| {
                g.split_whitespace()
                    .filter_map(|n| n.parse().ok())
                    .collect()
            })
        })
        .unwrap_or_default()
}

fn user_name(uid: u32) -> String {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map_or_else(|| format!("uid:{uid}"), |u| u.name)
}

async fn client(
    stream: UnixStream,
    owner: (u32, u32),
    mut feeds: Feeds,
    events: mpsc::Sender<PairEvent>,
    cancel: CancellationToken,
) {
    let Ok(cred) = stream.peer_cred() else {
        return;
    };
    let user = user_name(cred.uid());
    let (mut rd, mut wr) = stream.into_split();
    if !allowed(cred.uid(), cred.gid(), cred.pid(), owner) {
        let reason = format!(
            "{user} is not in the journal's group (gid {}): ask the driver to add you",
            owner.1
        );
        let _ = wire::send(
            &mut wr,
            &ToObserver::Refused {
                reason: reason.clone(),
            },
        )
        .await;
        let _ = events
            .send(PairEvent::Refused {
                user,
                uid: cred.uid(),
                reason,
            })
            .await;
        return;
    }
    // The client says hello first, within a few seconds, in our protocol.
    let hello =
        tokio::time::timeout(Duration::from_secs(5), wire::recv::<_, ToDriver>(&mut rd)).await;
    match hello {
        Ok(Ok(Some(ToDriver::Hello { protocol, .. }))) if protocol == PROTOCOL => {}
        Ok(Ok(Some(ToDriver::Hello { protocol, version }))) => {
            let reason = format!(
                "this driver speaks protocol {PROTOCOL} (flightdeck {}); the client speaks protocol {protocol} (flightdeck {version})",
                env!("CARGO_PKG_VERSION")
            );
            let _ = wire::send(&mut wr, &ToObserver::Refused { reason }).await;
            return;
        }
        _ => return, // garbage, silence or a closed connection: that client only
    }
    let hello = ToObserver::Hello {
        protocol: PROTOCOL,
        version: env!("CARGO_PKG_VERSION").into(),
        driver: feeds.driver.clone(),
        journal: feeds.journal.display().to_string(),
    };
    if wire::send(&mut wr, &hello).await.is_err() {
        return;
    }
    let (reply_tx, mut replies) = mpsc::unbounded_channel::<ToObserver>();
    let _ = events
        .send(PairEvent::Attached {
            user: user.clone(),
            pid: cred.pid(),
            to: reply_tx.clone(),
        })
        .await;
    // Reading runs apart from writing, so a client that stops reading still gets heard
    // and one that stops writing still gets views.
    let reader_events = events.clone();
    let reader_user = user.clone();
    let mut reader = tokio::spawn(async move {
        loop {
            match wire::recv::<_, ToDriver>(&mut rd).await {
                Ok(Some(ToDriver::Hello { .. })) => {}
                Ok(Some(msg)) => {
                    let said = PairEvent::Said {
                        user: reader_user.clone(),
                        msg,
                        reply: reply_tx.clone(),
                    };
                    if reader_events.send(said).await.is_err() {
                        return false;
                    }
                }
                // The client stopped writing: it may still read views.
                Ok(None) => return false,
                // Garbage or an oversized message: that client goes.
                Err(_) => return true,
            }
        }
    });
    let mut reading = true;
    feeds.views.mark_changed();
    feeds.dash.mark_changed();
    loop {
        let msg = tokio::select! {
            _ = cancel.cancelled() => {
                // The driver is ending: its last state goes out before the connection ends,
                // then whatever it still had to say (the wheel handed over).
                let last = ToObserver::View(Box::new(feeds.views.borrow().clone()));
                let _ = wire::send(&mut wr, &last).await;
                while let Ok(direct) = replies.try_recv() {
                    let _ = wire::send(&mut wr, &direct).await;
                }
                break;
            }
            r = feeds.views.changed() => match r {
                Ok(()) => ToObserver::View(Box::new(feeds.views.borrow_and_update().clone())),
                Err(_) => break,
            },
            r = feeds.dash.changed() => match r {
                Ok(()) => ToObserver::Dash(Box::new(feeds.dash.borrow_and_update().clone())),
                Err(_) => break,
            },
            Some(direct) = replies.recv() => direct,
            bad = &mut reader, if reading => {
                reading = false;
                if bad.unwrap_or(true) {
                    break;
                }
                continue;
            }
        };
        if wire::send(&mut wr, &msg).await.is_err() {
            break;
        }
    }
    reader.abort();
    let _ = events.send(PairEvent::Detached { user }).await;
}

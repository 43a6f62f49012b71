//! The pairing protocol between a driving cockpit and the operators attached to it.
//!
//! Each message is a 4-byte big-endian length and that many bytes of JSON, at most
//! [`MAX_MESSAGE`]. The first message each way is a hello naming the protocol version; a
//! peer of another version is refused with a message that names both. The driver sends
//! the latest [`SessionView`] and the live panes' state ([`DashWire`]) whenever they
//! change, never a backlog: a slow observer gets the newest state, not every one.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::maxscale::MaxscaleServer;
use crate::poll::maxscale::MaxscaleSnapshot;
use crate::poll::{PollError, ServerInfo, ServerSnapshot};
use crate::session::live::{Dashboard, LagHistory};
use crate::session::view::SessionView;

/// Bumped when a message changes shape.
pub const PROTOCOL: u32 = 1;
/// No message may be longer (a view of a long runbook with output tails fits easily).
pub const MAX_MESSAGE: usize = 8 * 1024 * 1024;

/// Driver → attached operator.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToObserver {
    Hello {
        protocol: u32,
        version: String,
        /// Who drives.
        driver: String,
        journal: String,
    },
    Refused {
        reason: String,
    },
    View(Box<SessionView>),
    Dash(Box<DashWire>),
    /// Something the driver says to this observer (an approval refused, a note taken).
    Said {
        text: String,
    },
    /// The driver offers this observer the wheel, with the files its `run` would take
    /// (absolute paths), so the observer can check it could drive before it accepts.
    Offer {
        from: String,
        #[serde(default)]
        runbook: String,
        #[serde(default)]
        inventory: String,
        #[serde(default)]
        journal: String,
    },
    /// The wheel is yours: the driver has let go of the session; drive it with these.
    HandedOver {
        runbook: String,
        inventory: String,
        journal: String,
    },
}

/// Attached operator → driver.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToDriver {
    Hello {
        protocol: u32,
        version: String,
    },
    /// Four-eyes: approve `step`, typing what its confirmation asks.
    Approve {
        step: String,
        typed: String,
    },
    /// Refuse to approve `step`, with a reason.
    Reject {
        step: String,
        reason: String,
    },
    /// A note for the journal, seen in every view.
    Note {
        text: String,
    },
    /// Accept the driver's offer of the wheel.
    Accept,
    /// Decline it: this operator could not drive the session (`reason` says why).
    Decline {
        reason: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("a message of {0} bytes is over the {MAX_MESSAGE}-byte limit")]
    TooLong(usize),
    #[error("not a message of this protocol: {0}")]
    Malformed(#[from] serde_json::Error),
}

/// Writes one message.
pub async fn send<W: AsyncWrite + Unpin, T: Serialize>(
    w: &mut W,
    msg: &T,
) -> Result<(), WireError> {
    let body = serde_json::to_vec(msg)?;
    if body.len() > MAX_MESSAGE {
        return Err(WireError::TooLong(body.len()));
    }
    let len = u32::try_from(body.len()).map_err(|_| WireError::TooLong(body.len()))?;
    w.write_all(&len.to_be_bytes()).await?;
    w.write_all(&body).await?;
    w.flush().await?;
    Ok(())
}

/// Reads one message; `None` at a clean end of the stream.
pub async fn recv<R: AsyncRead + Unpin, T: for<'de> Deserialize<'de>>(
    r: &mut R,
) -> Result<Option<T>, WireError> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_MESSAGE {
        return Err(WireError::TooLong(len));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).await?;
    Ok(Some(serde_json::from_slice(&body)?))
}

/// The live panes' state with ages instead of instants (instants mean nothing in another
/// process).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DashWire {
    pub servers: Vec<ServerWire>,
    pub maxscale_names: BTreeMap<String, String>,
    pub maxscale: Option<MaxscaleWire>,
    pub lag: BTreeMap<String, LagHistory>,
    pub sql_interval: Duration,
    pub maxscale_interval: Duration,
    /// The driver's header warning about how MaxScale is reached (absent from older drivers).
    #[serde(default)]
    pub maxscale_warning: Option<String>,
    /// Each server's MySQL address, for the replication tree (absent from older drivers).
    #[serde(default)]
    pub addresses: BTreeMap<String, (String, u16)>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ServerWire {
    pub server: String,
    pub age: Duration,
    pub wall_time: SystemTime,
    pub info: Option<ServerInfo>,
    pub error: Option<PollError>,
    pub answered_age: Option<Duration>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MaxscaleWire {
    pub age: Duration,
    pub wall_time: SystemTime,
    pub servers: Vec<MaxscaleServer>,
    pub monitor_master: Option<String>,
    pub monitor: String,
    pub error: Option<String>,
    #[serde(default)]
    pub said_no: bool,
    pub polled: bool,
    pub answered_age: Option<Duration>,
}

impl DashWire {
    pub fn of(d: &Dashboard, now: Instant) -> Self {
        let age = |t: Instant| now.saturating_duration_since(t);
        DashWire {
            servers: d
                .servers
                .iter()
                .map(|s| ServerWire {
                    server: s.server.clone(),
                    age: age(s.taken_at),
                    wall_time: s.wall_time,
                    info: s.info.clone(),
                    error: s.error.clone(),
                    answered_age: d.answered_at.get(&s.server).map(|t| age(*t)),
                })
                .collect(),
            maxscale_names: d.maxscale_names.clone(),
            maxscale: d.maxscale.as_ref().map(|m| MaxscaleWire {
                age: age(m.taken_at),
                wall_time: m.wall_time,
                servers: m.servers.clone(),
                monitor_master: m.monitor_master.clone(),
                monitor: m.monitor.clone(),
                error: m.error.clone(),
                said_no: m.said_no,
                polled: m.polled,
                answered_age: d.maxscale_answered_at.map(age),
            }),
            lag: d.lag.clone(),
            sql_interval: d.sql_interval,
            maxscale_interval: d.maxscale_interval,
            maxscale_warning: d.maxscale_warning.clone(),
            addresses: d.addresses.clone(),
        }
    }

    /// The dashboard as the observer sees it at `now` (ages turned back into instants).
    pub fn into_dashboard(self, now: Instant) -> Dashboard {
        let at = |age: Duration| now.checked_sub(age).unwrap_or(now);
        let mut answered_at = BTreeMap::new();
        let servers = self
            .servers
            .into_iter()
            .map(|s| {
                if let Some(a) = s.answered_age {
                    answered_at.insert(s.server.clone(), at(a));
                }
                ServerSnapshot {
                    server: s.server,
                    taken_at: at(s.age),
                    wall_time: s.wall_time,
                    info: s.info,
                    error: s.error,
                }
            })
            .collect();
        let maxscale_answered_at = self.maxscale.as_ref().and_then(|m| m.answered_age.map(at));
        let whole_window = self.lag.values().any(|h| h.whole);
        Dashboard {
            servers,
            maxscale_names: self.maxscale_names,
            maxscale: self.maxscale.map(|m| MaxscaleSnapshot {
                taken_at: at(m.age),
                wall_time: m.wall_time,
                servers: m.servers,
                monitor_master: m.monitor_master,
                monitor: m.monitor,
                error: m.error,
                said_no: m.said_no,
                polled: m.polled,
            }),
            lag: self.lag,
            answered_at,
            maxscale_answered_at,
            sql_interval: self.sql_interval,
            maxscale_interval: self.maxscale_interval,
            maxscale_warning: self.maxscale_warning,
            whole_window,
            addresses: self.addresses,
        }
    }
}

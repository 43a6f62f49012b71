//! Everything that can go wrong talking to MaxScale, with enough context to show
//! an operator: the request, the HTTP status, and MaxScale's own words.

use std::path::PathBuf;
use std::time::Duration;

/// A failed MaxScale call. `Api` carries MaxScale's `errors[].detail` and
/// `meta.errors[].detail` verbatim; the transport variants tell a MaxScale that is
/// down (refused, unreachable, silent) apart from one that said no.
#[derive(Debug, thiserror::Error)]
pub enum MaxscaleError {
    #[error("{request}: HTTP {status}: {}{}", credentials_hint(*.status), display_messages(.messages))]
    Api {
        request: String,
        status: u16,
        messages: Vec<String>,
    },
    #[error("{request}: MaxScale at {base_url} refused the connection (is it running?)")]
    ConnectionRefused {
        request: String,
        base_url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{request}: cannot connect to MaxScale at {base_url}: {source}")]
    Connect {
        request: String,
        base_url: String,
        #[source]
        source: reqwest::Error,
    },
    /// MaxScale answered, but its certificate was not accepted (or TLS failed otherwise).
    #[error("{request}: TLS with MaxScale at {base_url} failed: {reason}")]
    Tls {
        request: String,
        base_url: String,
        reason: String,
    },
    #[error("{request}: MaxScale at {base_url} did not answer within {timeout:?}")]
    Timeout {
        request: String,
        base_url: String,
        timeout: Duration,
    },
    #[error("{request}: transport error talking to MaxScale at {base_url}: {source}")]
    Transport {
        request: String,
        base_url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error(
        "{request}: unexpected answer (HTTP {status}): {source}; body starts with {body_start:?}"
    )]
    Decode {
        request: String,
        status: u16,
        body_start: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("invalid MaxScale URL {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("cannot use CA file {}: {reason}", path.display())]
    CaFile { path: PathBuf, reason: String },
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

/// A 401 or 403 is MaxScale up and saying no to the inventory's `[maxscale]` user.
fn credentials_hint(status: u16) -> &'static str {
    match status {
        401 | 403 => {
            "MaxScale rejected the credentials (the inventory's [maxscale] user and password): "
        }
        _ => "",
    }
}

fn display_messages(messages: &[String]) -> String {
    if messages.is_empty() {
        "(no error detail)".to_owned()
    } else {
        messages.join(" ")
    }
}

impl MaxscaleError {
    /// The HTTP status, for answers MaxScale gave.
    pub fn status(&self) -> Option<u16> {
        match self {
            MaxscaleError::Api { status, .. } | MaxscaleError::Decode { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }

    /// MaxScale's `detail` messages, verbatim; empty for transport errors.
    pub fn messages(&self) -> &[String] {
        match self {
            MaxscaleError::Api { messages, .. } => messages,
            _ => &[],
        }
    }

    /// True when MaxScale could not be reached at all (down, refused, timed out).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            MaxscaleError::ConnectionRefused { .. }
                | MaxscaleError::Connect { .. }
                | MaxscaleError::Timeout { .. }
        )
    }
}

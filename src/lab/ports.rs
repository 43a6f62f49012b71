//! Free TCP ports on 127.0.0.1 for lab servers and endpoints.
//!
//! A port is free if we can bind it now. Ports handed out by this process are remembered, so
//! labs started in parallel from one test binary never get the same port; a port taken by another
//! process between the check and the server's own bind is handled by the caller retrying.

use std::collections::BTreeSet;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::TcpListener;
use std::sync::Mutex;

use super::error::{LabError, Result};

static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// Below Linux's ephemeral range (32768–60999), so outgoing connections do not take our ports.
const RANGE: std::ops::Range<u16> = 20000..32000;
const SCAN: u16 = 2000;

/// `preferred` if it is free, else a free port scanned from just after it (or from a random
/// point of 20000–32000 when there is no preference; `Some(0)` means none).
pub fn pick(preferred: Option<u16>) -> Result<u16> {
    let preferred = preferred.filter(|p| *p != 0);
    if let Some(p) = preferred {
        if take(p) {
            return Ok(p);
        }
    }
    let start = match preferred {
        Some(p) => p.saturating_add(1),
        None => random_start(),
    };
    scan(start)
}

/// The first free port at or after `start`.
pub fn scan(start: u16) -> Result<u16> {
    let mut port = start.max(1024);
    for _ in 0..SCAN {
        if take(port) {
            return Ok(port);
        }
        port = if port == u16::MAX { 1024 } else { port + 1 };
    }
    Err(LabError::NoFreePort { near: start })
}

fn take(port: u16) -> bool {
    let Ok(mut handed) = HANDED_OUT.lock() else {
        return false;
    };
    if handed.contains(&port) {
        return false;
    }
    if TcpListener::bind(("127.0.0.1", port)).is_err() {
        return false;
    }
    handed.insert(port);
    true
}

fn random_start() -> u16 {
    let seed = RandomState::new().hash_one((std::process::id(), std::time::SystemTime::now()));
    let span = u64::from(RANGE.end - RANGE.start);
    RANGE.start + u16::try_from(seed % span).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_never_handed_out_twice() {
        let a = pick(None).expect("a port");
        let b = pick(Some(a)).expect("another port");
        assert_ne!(a, b);
        assert_ne!(pick(Some(0)).expect("any port"), 0);
    }

    #[test]
    fn a_bound_port_is_skipped() {
        let held = TcpListener::bind(("127.0.0.1", 0)).expect("bind");
        let port = held.local_addr().expect("addr").port();
        let got = pick(Some(port)).expect("a port");
        assert_ne!(got, port);
    }
}

//! MariaDB GTID positions: `domain-server-sequence` lists such as `0-1-42,1-3-7`.
//!
//! A position holds one GTID per replication domain. Comparing two positions per domain
//! says how far one server is behind another, and which transactions a server has that
//! the primary lacks (errant GTIDs).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Gtid {
    pub domain: u32,
    pub server_id: u32,
    pub sequence: u64,
}

/// A GTID position: domain → the last GTID applied in it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GtidPos(pub BTreeMap<u32, Gtid>);

/// On the wire as MariaDB writes it (`0-1-1042,1-2-7`).
impl serde::Serialize for GtidPos {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for GtidPos {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a GTID position (expected domain-server-sequence, comma-separated)")]
pub struct GtidParseError(pub String);

impl FromStr for GtidPos {
    type Err = GtidParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut map = BTreeMap::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let err = || GtidParseError(s.to_string());
            let mut it = part.splitn(3, '-');
            let mut next = || it.next().ok_or_else(err);
            let domain = next()?.parse().map_err(|_| err())?;
            let server_id = next()?.parse().map_err(|_| err())?;
            let sequence = next()?.parse().map_err(|_| err())?;
            map.insert(
                domain,
                Gtid {
                    domain,
                    server_id,
                    sequence,
                },
            );
        }
        Ok(Self(map))
    }
}

impl fmt::Display for GtidPos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .values()
            .map(|g| format!("{}-{}-{}", g.domain, g.server_id, g.sequence))
            .collect();
        f.write_str(&parts.join(","))
    }
}

impl GtidPos {
    pub fn parse_lenient(s: &str) -> Self {
        s.parse().unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn domain(&self, d: u32) -> Option<&Gtid> {
        self.0.get(&d)
    }

    /// Transactions this position lacks of `other` in a domain (0 when at or past it).
    pub fn behind_in(&self, other: &GtidPos, domain: u32) -> u64 {
        let theirs = other.0.get(&domain).map_or(0, |g| g.sequence);
        let mine = self.0.get(&domain).map_or(0, |g| g.sequence);
        theirs.saturating_sub(mine)
    }

    /// Has this position applied everything in `target`, in every domain of `target`?
    pub fn has_reached(&self, target: &GtidPos) -> bool {
        target.0.keys().all(|d| self.behind_in(target, *d) == 0)
    }

    /// Domains where this position is ahead of the primary's: transactions the primary
    /// lacks, which would be lost or conflict on a switchover.
    pub fn errant_against(&self, primary: &GtidPos) -> Vec<u32> {
        self.0
            .iter()
            .filter(|(d, g)| primary.0.get(d).is_none_or(|p| g.sequence > p.sequence))
            .map(|(d, _)| *d)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_multi_domain_positions() {
        let p: GtidPos = "0-1-42, 1-3-7".parse().unwrap();
        assert_eq!(p.domain(1).map(|g| g.sequence), Some(7));
        assert_eq!(p.to_string(), "0-1-42,1-3-7");
        assert!("".parse::<GtidPos>().unwrap().is_empty());
        assert!("0-1".parse::<GtidPos>().is_err());
    }

    #[test]
    fn compares_per_domain() {
        let primary: GtidPos = "0-1-50,1-1-9".parse().unwrap();
        let replica: GtidPos = "0-1-47,1-1-9".parse().unwrap();
        assert_eq!(replica.behind_in(&primary, 0), 3);
        assert!(!replica.has_reached(&primary));
        assert!(primary.has_reached(&replica));
        let errant: GtidPos = "0-1-50,1-1-9,2-2-1".parse().unwrap();
        assert_eq!(errant.errant_against(&primary), vec![2]);
    }
}

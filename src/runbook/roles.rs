//! Which physical server a subject names right now.
//!
//! `primary` and `replica` are live: the map is rebuilt from what MaxScale and the servers
//! report (or, for `plan`, from the inventory, then moved by each switchover the plan
//! walks past). Pins are captured once, when the run begins, and never move. `candidate`
//! (the server a switchover promotes) comes from the inventory file and never moves either.

use std::collections::BTreeMap;

use super::model::Located;
use super::validate::LIVE_ROLES;
use crate::inventory::{Inventory, Role};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleMap {
    /// Every server, in inventory order.
    pub servers: Vec<String>,
    pub primary: Option<String>,
    pub pins: BTreeMap<String, String>,
    /// The inventory's `[roles] replica` and its initial primary: with several replicas,
    /// `replica` is whichever of these two is not the primary now.
    pub pair: Option<(String, String)>,
    /// The inventory's candidate ([`Inventory::candidate`]), or why there is none.
    pub candidate: Result<String, RoleError>,
}

impl Default for RoleMap {
    fn default() -> Self {
        Self {
            servers: Vec::new(),
            primary: None,
            pins: BTreeMap::new(),
            pair: None,
            candidate: Err(RoleError::NoReplica),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RoleError {
    #[error("no server is primary now")]
    NoPrimary,
    #[error("no server is a replica now")]
    NoReplica,
    #[error("`replica` is ambiguous: {0} are replicas; name the server")]
    AmbiguousReplica(String),
    #[error(
        "`candidate` is ambiguous: {0} are replicas; name the one to promote in the inventory: [roles] candidate = \"…\""
    )]
    AmbiguousCandidate(String),
    #[error("`{0}` names several servers; one is needed here")]
    Group(String),
    #[error("unknown server or role `{0}`")]
    Unknown(String),
}

impl RoleMap {
    /// The roles as the inventory states them, with pins captured from them.
    pub fn from_inventory(inv: &Inventory, pins: &BTreeMap<String, Located<String>>) -> Self {
        let primary = inv
            .servers
            .iter()
            .find(|s| s.role == Role::Primary)
            .map(|s| s.name.clone());
        let pair = inv
            .named_replica
            .as_ref()
            .zip(primary.as_ref())
            .map(|((replica, _), primary)| (replica.clone(), primary.clone()));
        let candidate = match inv.candidate() {
            Ok(name) => Ok(name.to_string()),
            Err(none) if none.is_empty() => Err(RoleError::NoReplica),
            Err(several) => Err(RoleError::AmbiguousCandidate(several.join(", "))),
        };
        let mut map = Self {
            servers: inv.servers.iter().map(|s| s.name.clone()).collect(),
            primary,
            pins: BTreeMap::new(),
            pair,
            candidate,
        };
        map.capture_pins(pins);
        map
    }

    /// Binds each pin to whoever holds its role now; pins that cannot be bound stay unset.
    pub fn capture_pins(&mut self, pins: &BTreeMap<String, Located<String>>) {
        for (alias, role) in pins {
            if let Ok(server) = self.resolve_one(&role.value) {
                self.pins.insert(alias.clone(), server);
            }
        }
    }

    pub fn replicas(&self) -> Vec<String> {
        self.servers
            .iter()
            .filter(|s| Some(*s) != self.primary.as_ref())
            .cloned()
            .collect()
    }

    /// All servers a subject names (groups name several).
    pub fn resolve(&self, subject: &str) -> Result<Vec<String>, RoleError> {
        match subject {
            "all" => Ok(self.servers.clone()),
            "replicas" => Ok(self.replicas()),
            _ => self.resolve_one(subject).map(|s| vec![s]),
        }
    }

    /// The one server a subject names.
    pub fn resolve_one(&self, subject: &str) -> Result<String, RoleError> {
        match subject {
            "primary" => self.primary.clone().ok_or(RoleError::NoPrimary),
            "replica" => {
                if let Some((named, first_primary)) = &self.pair {
                    let mut others = [named, first_primary]
                        .into_iter()
                        .filter(|s| Some(*s) != self.primary.as_ref());
                    if let (Some(one), None) = (others.next(), others.next()) {
                        return Ok(one.clone());
                    }
                }
                let mut replicas = self.replicas();
                match replicas.len() {
                    0 => Err(RoleError::NoReplica),
                    1 => Ok(replicas.remove(0)),
                    _ => Err(RoleError::AmbiguousReplica(replicas.join(", "))),
                }
            }
            "candidate" => self.candidate.clone(),
            "all" | "replicas" => Err(RoleError::Group(subject.to_string())),
            _ => {
                if let Some(server) = self.pins.get(subject) {
                    Ok(server.clone())
                } else if self.servers.iter().any(|s| s == subject) {
                    Ok(subject.to_string())
                } else {
                    Err(RoleError::Unknown(subject.to_string()))
                }
            }
        }
    }

    /// What a switchover does to the roles: the new primary takes over.
    pub fn switchover(&mut self, new_primary: &str) {
        self.primary = Some(new_primary.to_string());
    }

    /// "replica → server2", or just the name when the subject is a server.
    pub fn describe(&self, subject: &str) -> String {
        let is_name = self.servers.iter().any(|s| s == subject);
        match self.resolve(subject) {
            Ok(servers) if is_name => servers.join(", "),
            Ok(servers) => format!("{subject} → {}", servers.join(", ")),
            Err(e) => format!("{subject} ({e})"),
        }
    }

    pub fn is_live_role(subject: &str) -> bool {
        LIVE_ROLES.contains(&subject)
    }
}

//! The seed-002 runbook's STATEMENT→ROW guard over several replicas, without a lab: the
//! runbook written out for a primary and two replicas, its conditions judged on facts where
//! one replica lags. "Wait until all slaves have processed all binary logs produced up to
//! the point of this change": one lagging replica holds back the upgrade of every replica.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;

use flightdeck::inventory;
use flightdeck::runbook::condition::{Condition, Fact};
use flightdeck::runbook::eval::{Evaluation, FactSource, FactValue, evaluate};
use flightdeck::runbook::roles::{RoleError, RoleMap};
use flightdeck::runbook::{self, Action, Loaded, Step};

const SEED_002: &str = "runbooks/mysql-5.6-replication-upgrade.toml";

/// server1 primary, server2 and server3 replicas; `lagging` has not applied the primary's
/// last writes; the primary logs `format`.
struct Facts {
    roles: RoleMap,
    lagging: Option<&'static str>,
    format: &'static str,
    succeeded: Vec<&'static str>,
}

impl FactSource for Facts {
    fn resolve(&self, subject: &str) -> Result<Vec<String>, RoleError> {
        self.roles.resolve(subject)
    }
    fn fact(&self, server: &str, fact: Fact) -> FactValue {
        match fact {
            Fact::Up | Fact::IoRunning | Fact::SqlRunning => FactValue::Bool(true),
            Fact::SecondsBehind if Some(server) == self.lagging => FactValue::Int(30),
            Fact::SecondsBehind => FactValue::Int(0),
            Fact::BinlogFormat => FactValue::Text(self.format.into()),
            _ => FactValue::Unknown("not in this test".into()),
        }
    }
    fn caught_up(&self, replica: &str, _: &str) -> Result<bool, String> {
        Ok(Some(replica) != self.lagging)
    }
    fn succeeded(&self, step_id: &str) -> bool {
        self.succeeded.contains(&step_id)
    }
}

fn loaded() -> (Loaded, RoleMap) {
    let inv = inventory::load_file(Path::new("tests/fixtures/three.toml")).expect("inventory");
    let loaded = runbook::load_checked(Path::new(SEED_002), Some(&inv)).expect("runbook is valid");
    let roles = RoleMap::from_inventory(&inv, &BTreeMap::new());
    (loaded, roles)
}

fn step<'a>(l: &'a Loaded, id: &str) -> &'a Step {
    l.runbook.step(id).unwrap_or_else(|| panic!("no step {id}"))
}

fn until(s: &Step) -> &Condition {
    match &s.action {
        Action::Wait { until } => until,
        other => panic!("{} is not a wait: {other:?}", s.id.value),
    }
}

fn gates(s: &Step, facts: &Facts) -> Vec<Evaluation> {
    s.gates.iter().map(|g| evaluate(g, facts)).collect()
}

#[test]
fn one_lagging_replica_holds_back_the_upgrade_of_every_replica() {
    let (l, roles) = loaded();
    let wait = until(step(&l, "p2-wait-caught-up"));
    let mut facts = Facts {
        roles,
        lagging: Some("server3"),
        format: "ROW",
        succeeded: vec![],
    };
    let e = evaluate(wait, &facts);
    assert!(!e.holds, "{:?}", e.observed);
    // Both replicas are looked at; the lagging one is named.
    assert!(
        e.observed
            .contains(&"✘ server3 has NOT applied server1's gtid_binlog_pos".to_string()),
        "{:?}",
        e.observed
    );
    assert!(
        e.observed
            .contains(&"✔ server2 has applied server1's gtid_binlog_pos".to_string()),
        "{:?}",
        e.observed
    );
    assert!(
        e.observed
            .contains(&"✘ server3.seconds_behind = 30".to_string()),
        "{:?}",
        e.observed
    );
    // The first replica's upgrade waits for that wait, not only for its own replication.
    let first = step(&l, "p3-upgrade-replica@server2");
    assert!(
        gates(first, &facts).iter().any(|g| !g.holds),
        "the upgrade of server2 may not start while server3 lags"
    );

    // Caught up: the wait holds, and so does the guard before each replica's upgrade.
    facts.lagging = None;
    assert!(evaluate(wait, &facts).holds);
    facts.succeeded = vec!["p2-wait-caught-up"];
    for member in ["server2", "server3"] {
        let upgrade = step(&l, &format!("p3-upgrade-replica@{member}"));
        assert!(gates(upgrade, &facts).iter().all(|g| g.holds), "{member}");
    }
}

#[test]
fn the_statement_guard_is_checked_again_before_each_replica() {
    let (l, roles) = loaded();
    // Someone put the primary back on STATEMENT after the first replica was upgraded.
    let facts = Facts {
        roles,
        lagging: None,
        format: "STATEMENT",
        succeeded: vec!["p2-wait-caught-up", "p3-wait-replication@server2"],
    };
    let second = step(&l, "p3-upgrade-replica@server3");
    let refused: Vec<_> = gates(second, &facts)
        .into_iter()
        .filter(|g| !g.holds)
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(
        refused[0].observed,
        ["✘ server1.binlog_format = \"STATEMENT\""]
    );
    // The primary's upgrade needs every replica's copy of the wait.
    let primary = step(&l, "p4-upgrade-primary");
    assert!(
        gates(primary, &facts).iter().any(|g| !g.holds),
        "server3 has not been upgraded"
    );
}

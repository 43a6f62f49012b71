//! Expansion of `for_each` blocks: ids, titles, `item` in every place it may stand, the
//! block's order, and what `succeeded(…)` means inside and outside a block.

use std::path::Path;

use crate::diag::SourceFile;
use crate::runbook::model::{Action, MaxscaleAction, Runbook};
use crate::runbook::template::{Context, Escape, Reveal, ServerField};

const INVENTORY: &str = r#"
[[server]]
name = "db1"
role = "primary"
mysql = { host = "127.0.0.1", port = 3306 }
transport = "local"

[[server]]
name = "db2"
role = "replica"
mysql = { host = "127.0.0.2", port = 3306 }
transport = "local"

[[server]]
name = "db3"
role = "replica"
mysql = { host = "127.0.0.3", port = 3306 }
transport = "local"
"#;

const RUNBOOK: &str = r#"
[runbook]
name = "t"

[[phase]]
id = "stop"
title = "Stop {{ item }}"
why = "{{item}} first"
for_each = "replicas"
order = ["db3", "db2"]

[[phase.step]]
id = "maint"
title = "Maintenance on {{ item }}"
kind = "maxscale"
action = "set"
server = "item"

[[phase.step]]
id = "stop-slave"
title = "Stop replication"
kind = "sql"
target = "item"
sql = "SELECT '{{ item }}', '{{ item.host }}'"
gates = ["succeeded(maint)"]

[[phase]]
id = "start"
title = "Start the replica"
for_each = "replicas"

[[phase.step]]
id = "wait"
title = "Caught up"
kind = "wait"
until = "item.io_running and succeeded(stop-slave) and maxscale(item).state contains \"Maint\""

[[phase]]
id = "after"
title = "After"

[[phase.step]]
id = "all"
title = "All stopped"
kind = "check"
condition = "succeeded(stop-slave)"

[[phase]]
id = "each-listed"
title = "Listed"
for_each = ["db1", "db3"]

[[phase.step]]
id = "n"
title = "Note on {{ item }}"
kind = "note"
text = "about {{ item }}"
"#;

fn expanded() -> Runbook {
    let inv = crate::inventory::parse(Path::new("inv.toml"), INVENTORY).unwrap();
    crate::runbook::check_text(SourceFile::new("rb.toml", RUNBOOK), Some(&inv))
        .unwrap()
        .runbook
}

#[test]
fn a_block_runs_all_its_phases_per_member_in_the_given_order() {
    let rb = expanded();
    let phases: Vec<(&str, &str)> = rb
        .phases
        .iter()
        .map(|p| (p.id.as_str(), p.title.as_str()))
        .collect();
    assert_eq!(
        phases,
        [
            ("stop@db3", "Stop db3 — replica 1 of 2: db3"),
            ("start@db3", "Start the replica — replica 1 of 2: db3"),
            ("stop@db2", "Stop db2 — replica 2 of 2: db2"),
            ("start@db2", "Start the replica — replica 2 of 2: db2"),
            ("after", "After"),
            ("each-listed@db1", "Listed — server 1 of 2: db1"),
            ("each-listed@db3", "Listed — server 2 of 2: db3"),
        ]
    );
    assert!(rb.phases.iter().all(|p| p.repeat.is_none()));
    assert_eq!(rb.phases[0].why.as_deref(), Some("db3 first"));
    let ids: Vec<&str> = rb.steps().map(|(_, s)| s.id.value.as_str()).collect();
    assert_eq!(
        ids,
        [
            "maint@db3",
            "stop-slave@db3",
            "wait@db3",
            "maint@db2",
            "stop-slave@db2",
            "wait@db2",
            "all",
            "n@db1",
            "n@db3"
        ]
    );
}

struct Facts;
impl Context for Facts {
    fn var(&self, _: &str) -> Option<String> {
        None
    }
    fn secret(&self, _: &str) -> Option<String> {
        None
    }
    fn fact(&self, subject: &str, field: ServerField) -> Option<String> {
        match field {
            ServerField::Name => Some(subject.to_string()),
            _ => Some(format!("host-of-{subject}")),
        }
    }
}

#[test]
fn item_is_the_member_everywhere_it_may_stand() {
    let rb = expanded();
    let maint = rb.step("maint@db2").unwrap();
    assert_eq!(maint.title, "Maintenance on db2");
    let Action::Maxscale(MaxscaleAction::Set { server, .. }) = &maint.action else {
        panic!("a maxscale set step")
    };
    assert_eq!(server.value, "db2");
    let stop = rb.step("stop-slave@db2").unwrap();
    assert_eq!(stop.target.as_ref().unwrap().value, "db2");
    let Action::Sql { statements, .. } = &stop.action else {
        panic!("an sql step")
    };
    let sql = statements[0]
        .render(&Facts, Escape::SqlString, Reveal::Masked)
        .unwrap();
    assert_eq!(sql, "SELECT 'db2', 'host-of-db2'");
    let Action::Note { text } = &rb.step("n@db1").unwrap().action else {
        panic!("a note")
    };
    assert_eq!(text, "about db1");
}

#[test]
fn succeeded_means_this_members_copy_inside_the_block_and_every_copy_outside() {
    let rb = expanded();
    let stop = rb.step("stop-slave@db2").unwrap();
    assert_eq!(stop.gates[0].to_string(), "succeeded(maint@db2)");
    let Action::Wait { until } = &rb.step("wait@db3").unwrap().action else {
        panic!("a wait")
    };
    assert_eq!(
        until.to_string(),
        "db3.io_running and succeeded(stop-slave@db3) and maxscale(db3).state contains \"Maint\""
    );
    let Action::Check { condition } = &rb.step("all").unwrap().action else {
        panic!("a check")
    };
    assert_eq!(
        condition.to_string(),
        "(succeeded(stop-slave@db3) and succeeded(stop-slave@db2))"
    );
    let ids: Vec<&str> = condition
        .step_refs()
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(ids, ["stop-slave@db3", "stop-slave@db2"]);
}

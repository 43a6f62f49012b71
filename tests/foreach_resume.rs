//! A crash in the second repetition of a `for_each` block resumes at the right member:
//! the journal keys every step copy by `ID@member`, so a replay puts each member's state
//! back where it was. No server is contacted: the journal is written by hand and the
//! session opened from it, as `flightdeck run` does after a crash.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;

use flightdeck::inventory;
use flightdeck::runbook::{self, roles::RoleMap};
use flightdeck::session::journal::{Event, Journal, Outcome, SessionStart, sha256_hex};
use flightdeck::session::mask::Masker;
use flightdeck::session::open::open;
use flightdeck::session::run::{Run, StepState};

fn s(v: &str) -> String {
    v.to_string()
}

fn ran(step: &str, server: &str) -> [Event; 2] {
    [
        Event::StepStart {
            step: s(step),
            attempt: 1,
            target_servers: vec![s(server)],
            rendered: s("…"),
            primary: Some(s("server1")),
        },
        Event::StepEnd {
            step: s(step),
            attempt: 1,
            outcome: Outcome::Succeeded,
            detail: s("ok"),
            exit_code: Some(0),
            sql_errno: None,
        },
    ]
}

#[test]
fn a_crash_in_the_second_repetition_resumes_at_that_member() {
    let inv = inventory::load_file(Path::new("tests/fixtures/three.toml")).unwrap();
    let loaded =
        runbook::load_checked(Path::new("tests/runbooks/each-replica.toml"), Some(&inv)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.jsonl");
    let header = SessionStart::new(
        &loaded.file.path,
        loaded.sha256(),
        &inv.file.path,
        sha256_hex(inv.file.text.as_bytes()),
        BTreeMap::new(),
    );
    let mut journal = Journal::create(&path, header, Masker::none()).unwrap();
    // The block's order is server3, then server2: server3's repetition is done; in
    // server2's, maintenance was skipped, replication stopped against a failed gate, and
    // the process died while the packages were being installed.
    let mut events: Vec<Event> = Vec::new();
    events.extend(ran("backup", "server1"));
    for step in [
        "maint@server3",
        "stop-slave@server3",
        "install@server3",
        "caught-up@server3",
        "clear@server3",
    ] {
        events.extend(ran(step, "server3"));
    }
    events.push(Event::Skip {
        step: s("maint@server2"),
        reason: s("already in maintenance"),
    });
    events.push(Event::Override {
        step: s("stop-slave@server2"),
        justification: s("checked by hand"),
        failed_gates: vec![s("primary.up")],
    });
    events.extend(ran("stop-slave@server2", "server2"));
    let [start, _] = ran("install@server2", "server2");
    events.push(start);
    for e in &events {
        journal.append(e).unwrap();
    }
    drop(journal);

    let mut run = Run::new(loaded.runbook.clone());
    let mut roles = RoleMap::from_inventory(&inv, &loaded.runbook.pins);
    let session = open(&path, &loaded, &inv, &mut run, &mut roles).unwrap();

    // Where the operator is: server2's install, of unknown outcome; server3 untouched.
    assert_eq!(run.current().unwrap().id.value, "install@server2");
    assert_eq!(run.state("install@server2"), &StepState::Unknown);
    assert!(matches!(
        run.state("install@server3"),
        StepState::Succeeded { .. }
    ));
    assert!(matches!(
        run.state("maint@server2"),
        StepState::Skipped { .. }
    ));
    assert!(matches!(
        run.state("maint@server3"),
        StepState::Succeeded { .. }
    ));
    assert_eq!(
        run.overrides.keys().collect::<Vec<_>>(),
        ["stop-slave@server2"]
    );
    assert_eq!(run.resolved["install@server2"].servers, ["server2"]);
    // What is left: server2's last two steps and the primary's phase.
    let pending: Vec<&str> = run
        .runbook
        .steps()
        .map(|(_, st)| st.id.value.as_str())
        .filter(|id| !run.state(id).is_finished())
        .collect();
    assert_eq!(
        pending,
        [
            "install@server2",
            "caught-up@server2",
            "clear@server2",
            "replicas-done"
        ]
    );
    assert!(
        session
            .notices
            .iter()
            .any(|n| n.contains("step install@server2 was running")),
        "{:?}",
        session.notices
    );
    assert!(
        !session
            .notices
            .iter()
            .any(|n| n.contains("runbook changed")),
        "{:?}",
        session.notices
    );
}

/// Facts for the state machine: every step the run says succeeded, nothing else known.
struct Succeeded(Vec<String>);

impl flightdeck::runbook::eval::FactSource for Succeeded {
    fn resolve(&self, subject: &str) -> Result<Vec<String>, flightdeck::runbook::roles::RoleError> {
        Ok(vec![subject.to_string()])
    }
    fn fact(
        &self,
        _: &str,
        _: flightdeck::runbook::condition::Fact,
    ) -> flightdeck::runbook::eval::FactValue {
        flightdeck::runbook::eval::FactValue::Unknown("unset".into())
    }
    fn caught_up(&self, _: &str, _: &str) -> Result<bool, String> {
        Ok(false)
    }
    fn succeeded(&self, id: &str) -> bool {
        self.0.iter().any(|s| s == id)
    }
}

/// A skip is one member's, journaled with the member in the id, and a gate inside the
/// block reads that member's copy: server3's skipped `stop-slave` holds back server3's
/// install, whatever server2's copy did.
#[test]
fn skips_and_gates_are_per_member() {
    use flightdeck::session::run::{Command, Effect, Record, Refusal};
    let inv = inventory::load_file(Path::new("tests/fixtures/three.toml")).unwrap();
    let loaded =
        runbook::load_checked(Path::new("tests/runbooks/each-replica.toml"), Some(&inv)).unwrap();
    let mut run = Run::new(loaded.runbook);
    let now = std::time::Instant::now();
    let facts = Succeeded(vec![s("stop-slave@server2")]);
    let skip = |step: &str| Command::Skip {
        step: s(step),
        reason: s("done by hand"),
    };
    run.command(skip("backup"), &facts, now).unwrap();
    let effects = run.command(skip("maint@server3"), &facts, now).unwrap();
    assert_eq!(
        effects,
        [Effect::Record(Record::Skipped {
            step: s("maint@server3"),
            reason: s("done by hand")
        })]
    );
    assert!(matches!(run.state("maint@server2"), StepState::Pending));
    run.command(skip("stop-slave@server3"), &facts, now)
        .unwrap();
    let go = Command::Run {
        step: s("install@server3"),
        typed: None,
        justification: None,
    };
    assert_eq!(
        run.command(go, &facts, now),
        Err(Refusal::Gates(vec![s("succeeded(stop-slave@server3)")]))
    );
}

//! The run's state machine: order, gates, confirmations, overrides, waits. No I/O: facts
//! are given, executors are simulated by feeding their outcomes back.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::{Duration, Instant};

use flightdeck::diag::SourceFile;
use flightdeck::inventory;
use flightdeck::runbook::check_text;
use flightdeck::runbook::condition::Fact;
use flightdeck::runbook::eval::{FactSource, FactValue};
use flightdeck::runbook::roles::RoleError;
use flightdeck::session::run::{Command, Effect, Outcome, Record, Refusal, Run, StepState};

mod common;

const INVENTORY: &str = common::LOCAL_PAIR;

const RUNBOOK: &str = r#"
[runbook]
name = "t"

[[phase]]
id = "p"
title = "p"

[[phase.step]]
id = "backup"
title = "backup"
kind = "shell"
target = "primary"
command = "true"

[[phase.step]]
id = "stop"
title = "stop the replica"
kind = "shell"
target = "replica"
command = "systemctl stop mariadb"
destructive = true
gates = ["succeeded(backup)", "primary.up"]

[[phase.step]]
id = "wait"
title = "wait"
kind = "wait"
until = "replica.seconds_behind <= 0"
timeout = "10s"
"#;

/// Facts a test sets by hand.
struct Facts {
    primary_up: bool,
    behind: Option<i64>,
    succeeded: Vec<String>,
}

impl FactSource for Facts {
    fn resolve(&self, subject: &str) -> Result<Vec<String>, RoleError> {
        match subject {
            "primary" => Ok(vec!["db1".into()]),
            "replica" => Ok(vec!["db2".into()]),
            s => Err(RoleError::Unknown(s.into())),
        }
    }
    fn fact(&self, server: &str, fact: Fact) -> FactValue {
        match (server, fact) {
            ("db1", Fact::Up) => FactValue::Bool(self.primary_up),
            ("db2", Fact::SecondsBehind) => match self.behind {
                Some(b) => FactValue::Int(b),
                None => FactValue::Unknown("NULL".into()),
            },
            _ => FactValue::Unknown("unset".into()),
        }
    }
    fn caught_up(&self, _: &str, _: &str) -> Result<bool, String> {
        Ok(true)
    }
    fn succeeded(&self, id: &str) -> bool {
        self.succeeded.iter().any(|s| s == id)
    }
}

fn run() -> Run {
    let inv = inventory::parse(Path::new("inv.toml"), INVENTORY).expect("inventory");
    let loaded = check_text(SourceFile::new("rb.toml", RUNBOOK), Some(&inv)).expect("runbook");
    Run::new(loaded.runbook)
}

fn go(step: &str) -> Command {
    Command::Run {
        step: step.into(),
        typed: None,
        justification: None,
    }
}

#[test]
fn steps_run_in_order_and_results_are_recorded() {
    let mut run = run();
    let now = Instant::now();
    let mut facts = Facts {
        primary_up: true,
        behind: Some(0),
        succeeded: vec![],
    };
    assert_eq!(
        run.command(go("stop"), &facts, now),
        Err(Refusal::Earlier("backup".into()))
    );

    let effects = run
        .command(go("backup"), &facts, now)
        .expect("backup may run");
    assert_eq!(
        effects,
        [
            Effect::Record(Record::Confirmed {
                step: "backup".into(),
                typed: None
            }),
            Effect::Start {
                step: "backup".into(),
                attempt: 1,
                servers: vec!["db1".into()]
            },
        ]
    );
    assert!(matches!(run.state("backup"), StepState::Running { .. }));
    assert_eq!(
        run.command(go("stop"), &facts, now),
        Err(Refusal::AlreadyRunning("backup".into()))
    );
    // A stale result of another attempt is dropped.
    assert!(
        run.finished("backup", 7, Outcome::Succeeded("x".into()))
            .is_empty()
    );
    run.finished("backup", 1, Outcome::Succeeded("dump written".into()));
    assert!(run.state("backup").is_finished());

    // The gate reads `succeeded(backup)` from the facts, which the runtime derives from
    // the run; here it is given by hand.
    facts.succeeded.push("backup".into());
    facts.primary_up = false;
    assert_eq!(
        run.command(go("stop"), &facts, now),
        Err(Refusal::Gates(vec!["primary.up".into()]))
    );
}

#[test]
fn destructive_steps_need_the_typed_name_and_overrides_are_recorded() {
    let mut run = run();
    let now = Instant::now();
    let facts = Facts {
        primary_up: false,
        behind: Some(0),
        succeeded: vec!["backup".into()],
    };
    run.command(go("backup"), &facts, now).expect("runs");
    run.finished("backup", 1, Outcome::Succeeded(String::new()));

    let typed = |name: &str, why: Option<&str>| Command::Run {
        step: "stop".into(),
        typed: Some(name.into()),
        justification: why.map(str::to_string),
    };
    // The gate fails (primary down): refused, even with the right name.
    assert!(matches!(
        run.command(typed("db2", None), &facts, now),
        Err(Refusal::Gates(_))
    ));
    // With a justification the gate is overridden, but the name must still match.
    assert_eq!(
        run.command(
            typed("db1", Some("primary poller is firewalled")),
            &facts,
            now
        ),
        Err(Refusal::TypedNameMismatch {
            expected: "db2".into()
        })
    );
    let effects = run
        .command(
            typed("db2", Some("primary poller is firewalled")),
            &facts,
            now,
        )
        .expect("overridden");
    assert!(effects.contains(&Effect::Record(Record::Override {
        step: "stop".into(),
        justification: "primary poller is firewalled".into(),
        failed: vec!["primary.up".into()],
    })));
}

#[test]
fn a_wait_ends_when_its_condition_holds_or_times_out() {
    let mut run = run();
    let t0 = Instant::now();
    let mut facts = Facts {
        primary_up: true,
        behind: Some(3),
        succeeded: vec!["backup".into()],
    };
    for id in ["backup", "stop"] {
        run.command(
            Command::Skip {
                step: id.into(),
                reason: "test".into(),
            },
            &facts,
            t0,
        )
        .expect("skips");
    }
    run.command(go("wait"), &facts, t0).expect("starts");
    assert!(
        run.poll_conditions(
            &facts,
            t0 + Duration::from_secs(1),
            t0 + Duration::from_secs(1)
        )
        .is_empty()
    );
    let StepState::Running {
        progress: Some(p), ..
    } = run.state("wait")
    else {
        panic!("still running with progress")
    };
    assert!(p.contains("db2.seconds_behind = 3"), "{p}");

    facts.behind = Some(0);
    // Facts observed before the wait began are not judged: they may predate a write.
    assert!(
        run.poll_conditions(&facts, t0 + Duration::from_secs(2), t0)
            .is_empty()
    );
    let ended = run.poll_conditions(
        &facts,
        t0 + Duration::from_secs(2),
        t0 + Duration::from_secs(2),
    );
    // The wait was the last step: the runbook is complete.
    assert!(matches!(
        ended[..],
        [
            Effect::Record(Record::Ended {
                outcome: Outcome::Succeeded(_),
                ..
            }),
            Effect::Record(Record::Complete)
        ]
    ));

    // Retry after success is refused; a fresh run that never catches up times out.
    let mut run2 = self::run();
    facts.behind = None;
    for id in ["backup", "stop"] {
        run2.command(
            Command::Skip {
                step: id.into(),
                reason: "test".into(),
            },
            &facts,
            t0,
        )
        .expect("skips");
    }
    run2.command(go("wait"), &facts, t0).expect("starts");
    let ended = run2.poll_conditions(
        &facts,
        t0 + Duration::from_secs(11),
        t0 + Duration::from_secs(11),
    );
    // A wait that never holds ends as timed out, not as a plain failure.
    let [
        Effect::Record(Record::Ended {
            outcome: Outcome::TimedOut(d),
            ..
        }),
    ] = &ended[..]
    else {
        panic!("timed out: {ended:?}")
    };
    assert!(d.starts_with("timed out after 10.0 s"), "{d}");
}

const CHECKED: &str = r#"
[runbook]
name = "checked"

[[phase]]
id = "pre"
title = "pre-checks"

[[phase.step]]
id = "lag"
title = "no lag"
kind = "check"
condition = "replica.seconds_behind <= 0"

[[phase.step]]
id = "switch"
title = "switch over"
kind = "shell"
target = "primary"
command = "true"
"#;

fn checked_run() -> Run {
    let inv = inventory::parse(Path::new("inv.toml"), INVENTORY).expect("inventory");
    let loaded = check_text(SourceFile::new("rb.toml", CHECKED), Some(&inv)).expect("runbook");
    Run::new(loaded.runbook)
}

#[test]
fn a_failed_check_is_accepted_with_a_journaled_justification_not_re_run() {
    let mut run = checked_run();
    let now = Instant::now();
    let facts = Facts {
        primary_up: true,
        behind: Some(5),
        succeeded: vec![],
    };
    run.command(go("lag"), &facts, now)
        .expect("the check starts");
    let ended = run.poll_conditions(&facts, now, now + Duration::from_millis(1));
    assert!(
        matches!(run.state("lag"), StepState::Failed { .. }),
        "{ended:?}"
    );

    let accept = Command::Run {
        step: "lag".into(),
        typed: None,
        justification: Some("lag is a known reporting job".into()),
    };
    let effects = run.command(accept, &facts, now).expect("accepted");
    assert_eq!(
        effects[0],
        Effect::Record(Record::Override {
            step: "lag".into(),
            justification: "lag is a known reporting job".into(),
            failed: vec!["replica.seconds_behind <= 0".into()],
        })
    );
    assert!(
        !effects.iter().any(|e| matches!(e, Effect::Start { .. })),
        "nothing is re-run: {effects:?}"
    );
    assert!(run.state("lag").is_finished());
    assert_eq!(
        run.overrides.get("lag").map(String::as_str),
        Some("lag is a known reporting job")
    );
}

#[test]
fn only_a_step_of_unknown_outcome_is_verified_done_and_the_run_then_completes() {
    let mut run = checked_run();
    let now = Instant::now();
    let facts = Facts {
        primary_up: true,
        behind: Some(0),
        succeeded: vec![],
    };
    let verify = |step: &str| Command::Verified {
        step: step.into(),
        reason: "maxctrl list servers shows it done".into(),
    };
    assert_eq!(
        run.command(verify("lag"), &facts, now),
        Err(Refusal::NotUnknown)
    );
    run.restore(
        "lag",
        StepState::Succeeded {
            detail: String::new(),
        },
        1,
    );
    run.restore("switch", StepState::Unknown, 1);
    let effects = run
        .command(verify("switch"), &facts, now)
        .expect("verified");
    assert_eq!(
        effects,
        [
            Effect::Record(Record::Verified {
                step: "switch".into(),
                reason: "maxctrl list servers shows it done".into(),
            }),
            Effect::Record(Record::Complete),
        ]
    );

    let summary = flightdeck::session::summary::Summary::of(
        &run,
        std::time::SystemTime::UNIX_EPOCH,
        std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(754),
    );
    assert_eq!(
        flightdeck::session::summary::human_duration(summary.duration),
        "12m 34s"
    );
    assert_eq!(summary.verified.len(), 1);
    assert_eq!(
        summary.phases[0].end,
        flightdeck::session::summary::PhaseEnd::Deviated,
        "a phase with a hand-verified step is not shown as clean"
    );
}

#[test]
fn a_started_step_keeps_its_servers_when_the_roles_move() {
    let mut run = checked_run();
    let now = Instant::now();
    let facts = Facts {
        primary_up: true,
        behind: Some(0),
        succeeded: vec![],
    };
    run.restore(
        "lag",
        StepState::Succeeded {
            detail: String::new(),
        },
        1,
    );
    // As replayed from a journal: first started on db2 (then the primary), outcome unknown.
    run.restore("switch", StepState::Unknown, 1);
    run.resolved.insert(
        "switch".into(),
        flightdeck::session::run::Resolved {
            primary: Some("db2".into()),
            servers: vec!["db2".into()],
            sent: Some("on db2:\ntrue".into()),
        },
    );
    let effects = run.command(go("switch"), &facts, now).expect("re-run");
    assert!(effects.contains(&Effect::Start {
        step: "switch".into(),
        attempt: 2,
        servers: vec!["db2".into()],
    }));
}

/// A note whose gate does not hold (a four-eyes note with nobody attached, a fact down),
/// taken past it with a justification, is done then and there: never "running" with no
/// executor to end it.
#[test]
fn a_note_taken_past_its_gates_with_a_justification_is_done_not_left_running() {
    let text = RUNBOOK.replace(
        "[[phase.step]]\nid = \"backup\"",
        "[[phase.step]]\nid = \"read\"\ntitle = \"read this\"\nkind = \"note\"\n\
         text = \"only with the primary up\"\ngates = [\"primary.up\"]\n\n\
         [[phase.step]]\nid = \"backup\"",
    );
    let inv = inventory::parse(Path::new("inv.toml"), INVENTORY).expect("inventory");
    let loaded = check_text(SourceFile::new("rb.toml", text), Some(&inv)).expect("runbook");
    let mut run = Run::new(loaded.runbook);
    let facts = Facts {
        primary_up: false,
        behind: Some(0),
        succeeded: Vec::new(),
    };
    let now = Instant::now();
    assert!(matches!(
        run.command(
            Command::Done {
                step: "read".into()
            },
            &facts,
            now
        ),
        Err(Refusal::Gates(_))
    ));
    let effects = run
        .command(
            Command::Run {
                step: "read".into(),
                typed: None,
                justification: Some("read it out loud to the team".into()),
            },
            &facts,
            now,
        )
        .expect("overridden");
    assert!(effects.contains(&Effect::Record(Record::Override {
        step: "read".into(),
        justification: "read it out loud to the team".into(),
        failed: vec!["primary.up".into()],
    })));
    assert!(
        matches!(run.state("read"), StepState::Succeeded { .. }),
        "{:?}",
        run.state("read")
    );
    assert!(!effects.iter().any(|e| matches!(e, Effect::Start { .. })));
}

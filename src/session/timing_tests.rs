use std::path::Path;
use std::time::Duration;

use super::*;
use crate::session::journal::{Outcome, Record, SessionStart};
use crate::session::replay::replay;

fn start(step: &str) -> Event {
    Event::StepStart {
        step: step.into(),
        attempt: 1,
        target_servers: vec![],
        rendered: String::new(),
        primary: None,
    }
}

fn end(step: &str, outcome: Outcome) -> Event {
    Event::StepEnd {
        step: step.into(),
        attempt: 1,
        outcome,
        detail: String::new(),
        exit_code: None,
        sql_errno: None,
    }
}

/// A journal whose events happen at these seconds past 09:00:00 on 2026-11-27.
fn journal(dir: &Path, events: Vec<(u64, Event)>) -> Replayed {
    let header = SessionStart::new(
        Path::new("runbooks/lab-rolling-upgrade.toml"),
        "0".repeat(64),
        Path::new("lab/inventory.toml"),
        "0".repeat(64),
        Default::default(),
    );
    let mut lines = String::new();
    let all = std::iter::once((0, Event::SessionStart(header))).chain(events);
    for (seq, (secs, event)) in (1..).zip(all) {
        let ts = format!("2026-11-27T09:{:02}:{:02}.000Z", secs / 60, secs % 60);
        let record = Record { seq, ts, event };
        lines.push_str(&serde_json::to_string(&record).expect("encodes"));
        lines.push('\n');
    }
    let path = dir.join("rehearsal.jsonl");
    std::fs::write(&path, lines).expect("written");
    replay(&path).expect("a valid journal")
}

#[test]
fn first_start_to_last_end_and_gaps_for_steps_that_never_started() {
    let dir = tempfile::tempdir().expect("tempdir");
    let replayed = journal(
        dir.path(),
        vec![
            (10, start("a")),
            (15, end("a", Outcome::Failed)),
            (20, start("a")),
            (40, end("a", Outcome::Succeeded)),
            (100, Event::Sample { servers: vec![] }),
            (
                130,
                Event::ManualDone {
                    step: "manual".into(),
                    operator: "alice".into(),
                },
            ),
            (140, start("crashed")),
            (
                150,
                Event::SessionResume {
                    operator: "alice".into(),
                    host: "h".into(),
                    pid: 1,
                },
            ),
            (
                155,
                Event::Skip {
                    step: "skipped".into(),
                    reason: "not here".into(),
                },
            ),
        ],
    );
    let times = step_times(&replayed);
    let secs = |s: u64| Some(Duration::from_secs(s));
    assert_eq!(times.took.get("a").copied(), secs(30), "retries included");
    assert_eq!(
        times.took.get("manual").copied(),
        secs(90),
        "since a ended; the sample does not count"
    );
    assert_eq!(
        times.took.get("skipped").copied(),
        secs(5),
        "since the resume"
    );
    assert_eq!(times.took.get("crashed"), None, "never ended");
    assert_eq!(times.date, "2026-11-27");
    assert_eq!(times.span, Duration::from_secs(155));
}

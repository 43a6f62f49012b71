//! The run journal against real files: round trips, masking, crash tolerance, output
//! bounds, and the one-driver lock (including a writer killed with SIGKILL mid-run).

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use flightdeck::session::journal::{
    Event, Journal, JournalError, OUTPUT_LIMIT_PER_ATTEMPT, Outcome, SessionStart, Stream,
    sha256_hex,
};
use flightdeck::session::lock::{Lock, LockError, LockInfo, current_host, format_rfc3339};
use flightdeck::session::mask::Masker;
use flightdeck::session::replay::{Roles, StepState, replay};

fn header() -> SessionStart {
    let pins = BTreeMap::from([("original_primary".to_string(), "server1".to_string())]);
    SessionStart::new(
        Path::new("runbooks/lab-rolling-upgrade.toml"),
        sha256_hex(b"runbook"),
        Path::new("lab/inventory.toml"),
        sha256_hex(b"inventory"),
        pins,
    )
}

fn s(v: &str) -> String {
    v.to_string()
}

fn start(step: &str, attempt: u32, rendered: &str) -> Event {
    Event::StepStart {
        step: s(step),
        attempt,
        target_servers: vec![s("server2")],
        rendered: s(rendered),
        primary: Some(s("server1")),
    }
}

fn end(step: &str, attempt: u32, outcome: Outcome, exit_code: Option<i32>) -> Event {
    Event::StepEnd {
        step: s(step),
        attempt,
        outcome,
        detail: s("detail"),
        exit_code,
        sql_errno: None,
    }
}

fn out(step: &str, text: &str) -> Event {
    Event::Output {
        step: s(step),
        stream: Stream::Stdout,
        text: s(text),
    }
}

/// A run touching every event kind, ending with a step that started and never ended.
fn a_run() -> Vec<Event> {
    vec![
        Event::Gate {
            step: s("backup"),
            condition: s("primary.up"),
            holds: true,
            observed: vec![s("server1.up = true")],
        },
        Event::Confirm {
            step: s("backup"),
            operator: s("ops"),
            typed: None,
        },
        start("backup", 1, "mysqldump --all-databases"),
        out("backup", "dumped\n"),
        end("backup", 1, Outcome::Succeeded, Some(0)),
        Event::Skip {
            step: s("notes"),
            reason: s("read already"),
        },
        start("stop", 1, "systemctl stop mariadb"),
        end("stop", 1, Outcome::Failed, Some(3)),
        Event::Override {
            step: s("upgrade"),
            justification: s("lag is expected"),
            failed_gates: vec![s("replica.seconds_behind <= 0")],
        },
        start("upgrade", 1, "apt-get install"),
        end("upgrade", 1, Outcome::TimedOut, None),
        Event::ManualDone {
            step: s("check-app"),
            operator: s("ops"),
        },
        Event::Roles {
            primary: Some(s("server2")),
            replicas: vec![s("server1")],
        },
        Event::Confirm {
            step: s("switch"),
            operator: s("ops"),
            typed: Some(s("server2")),
        },
        start("restart", 2, "systemctl restart mariadb"),
    ]
}

fn write_run(path: &Path) -> Vec<Event> {
    let mut journal = Journal::create(path, header(), Masker::none()).unwrap();
    let events = a_run();
    for event in &events {
        journal.append(event).unwrap();
    }
    events
}

#[test]
fn events_round_trip_and_replay_to_step_states() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.jsonl");
    let events = write_run(&path);
    let r = replay(&path).unwrap();

    assert_eq!(r.header, header());
    assert_eq!(r.header.pins["original_primary"], "server1");
    let replayed: Vec<Event> = r
        .events
        .iter()
        .skip(1)
        .map(|rec| rec.event.clone())
        .collect();
    assert_eq!(replayed, events);
    let seqs: Vec<u64> = r.events.iter().map(|rec| rec.seq).collect();
    assert_eq!(seqs, (1..=events.len() as u64 + 1).collect::<Vec<_>>());
    assert_eq!(r.last_seq, events.len() as u64 + 1);

    assert_eq!(r.state("backup"), StepState::Succeeded);
    assert_eq!(
        r.state("notes"),
        StepState::Skipped {
            reason: s("read already")
        }
    );
    let failed = |outcome, exit_code| StepState::Failed {
        outcome,
        detail: s("detail"),
        exit_code,
    };
    assert_eq!(r.state("stop"), failed(Outcome::Failed, Some(3)));
    assert_eq!(r.state("upgrade"), failed(Outcome::TimedOut, None));
    assert_eq!(r.state("check-app"), StepState::ManualDone);
    assert_eq!(r.state("switch"), StepState::Pending);
    assert_eq!(r.state("never-mentioned"), StepState::Pending);
    assert_eq!(r.state("restart"), StepState::Running { attempt: 2 });
    assert_eq!(r.unknown_outcomes().collect::<Vec<_>>(), ["restart"]);
    assert_eq!(r.overrides.len(), 1);
    assert_eq!(
        r.overrides[0].failed_gates,
        [s("replica.seconds_behind <= 0")]
    );
    assert_eq!(
        r.roles,
        Some(Roles {
            primary: Some(s("server2")),
            replicas: vec![s("server1")]
        })
    );
    assert_eq!(r.torn_tail, None);

    // The wire format: one object per line, tagged by "event", with seq and a UTC ts.
    let text = std::fs::read_to_string(&path).unwrap();
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["event"], "session_start");
    assert_eq!(first["seq"], 1);
    assert_eq!(first["runbook_sha256"], sha256_hex(b"runbook"));
    let ts = first["ts"].as_str().unwrap();
    assert!(
        ts.len() == 24 && ts.ends_with('Z') && &ts[10..11] == "T" && &ts[19..20] == ".",
        "{ts}"
    );
    let override_line = text.lines().find(|l| l.contains("\"override\"")).unwrap();
    assert!(
        override_line.contains(r#""event":"override""#),
        "{override_line}"
    );
    assert!(text.contains(r#""outcome":"timed_out""#));
}

#[test]
fn timestamps_are_rfc3339_utc_with_milliseconds() {
    let at = |secs: u64, millis: u64| {
        format_rfc3339(UNIX_EPOCH + Duration::from_millis(secs * 1000 + millis))
    };
    assert_eq!(at(0, 0), "1970-01-01T00:00:00.000Z");
    assert_eq!(at(1_700_000_000, 123), "2023-11-14T22:13:20.123Z");
    assert_eq!(at(1_709_164_799, 999), "2024-02-28T23:59:59.999Z");
    assert_eq!(at(1_709_164_800, 7), "2024-02-29T00:00:00.007Z");
    assert_eq!(at(4_102_444_800, 0), "2100-01-01T00:00:00.000Z");
    assert!(format_rfc3339(SystemTime::now()).starts_with("20"));
}

#[test]
fn secrets_never_reach_the_file() {
    let secret = r#"Pw-9f3k'Q"x\z"#;
    let sql_escaped = secret.replace('\\', r"\\").replace('\'', "''");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.jsonl");
    let masker = Masker::new([secret, "ab"]);
    let mut journal = Journal::create(&path, header(), masker).unwrap();
    let events = [
        Event::Gate {
            step: s("repl"),
            condition: s("ok"),
            holds: false,
            observed: vec![format!("pw {secret}")],
        },
        Event::Confirm {
            step: s("repl"),
            operator: s("ops"),
            typed: Some(s(secret)),
        },
        start(
            "repl",
            1,
            &format!("CHANGE MASTER TO MASTER_PASSWORD='{sql_escaped}'"),
        ),
        out("repl", &format!("password={secret}\n")),
        // The secret split across two chunks, as pipe reads split it.
        out("repl", &format!("again {}", &secret[..4])),
        out("repl", &format!("{} done\n", &secret[4..])),
        Event::Output {
            step: s("repl"),
            stream: Stream::Stderr,
            text: format!("{secret}{secret}"),
        },
        end("repl", 1, Outcome::Failed, Some(1)),
        Event::SessionEnd {
            reason: format!("aborted, see {secret}"),
        },
    ];
    for event in &events {
        journal.append(event).unwrap();
    }
    drop(journal);

    let bytes = std::fs::read(&path).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    let json_escaped = serde_json::to_string(secret).unwrap();
    let json_escaped = &json_escaped[1..json_escaped.len() - 1];
    for needle in [secret, json_escaped, &sql_escaped, "Pw-9", "f3k", "\\\"x"] {
        let found = bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
        assert!(!found, "{needle:?} leaked into the journal:\n{text}");
    }
    let r = replay(&path).unwrap();
    let stdout: String = r
        .events
        .iter()
        .filter_map(|rec| match &rec.event {
            Event::Output {
                stream: Stream::Stdout,
                text,
                ..
            } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(stdout, "password=****\nagain **** done\n");
    assert!(text.contains("MASTER_PASSWORD='****'"), "{text}");
    assert!(text.contains(r#""typed":"****""#));
    assert!(text.contains("aborted, see ****"));
    // Two-character values are not masked (they would mask half of every line).
    assert!(text.contains("ab"));
}

#[test]
fn journal_is_private_to_its_group_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.jsonl");
    write_run(&path);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    // The group may append (an operator taking the wheel); others get nothing whatever
    // the umask.
    assert_eq!(mode & 0o707, 0o600);
    let err = Journal::create(&path, header(), Masker::none()).unwrap_err();
    assert!(matches!(err, JournalError::Exists { .. }), "{err}");
    assert!(err.to_string().contains("already exists"));
}

#[test]
fn a_torn_last_line_is_ignored_and_cut_on_resume() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.jsonl");
    write_run(&path);
    let whole = replay(&path).unwrap();

    // The crash: half of a step_end for the running step reached the disk.
    let mut journal = Journal::open_append(&path, Masker::none()).unwrap();
    journal
        .append(&end("restart", 2, Outcome::Succeeded, Some(0)))
        .unwrap();
    drop(journal);
    let full = std::fs::read(&path).unwrap();
    let last_line_start = full[..full.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap()
        + 1;
    let torn = &full[..last_line_start + (full.len() - last_line_start) / 2];
    std::fs::write(&path, torn).unwrap();

    let r = replay(&path).unwrap();
    assert_eq!(r.steps, whole.steps, "same state minus the torn event");
    assert_eq!(r.state("restart"), StepState::Running { attempt: 2 });
    assert_eq!(
        r.events.len(),
        whole.events.len() + 1,
        "plus the session_resume"
    );
    let tail = r.torn_tail.clone().unwrap();
    assert_eq!(tail.line, r.events.len() + 1);
    assert_eq!(tail.bytes, (torn.len() - last_line_start) as u64);

    // Resuming cuts the torn bytes and goes on numbering after the last whole line.
    let mut journal = Journal::open_append(&path, Masker::none()).unwrap();
    assert_eq!(journal.next_seq(), r.last_seq + 2);
    journal
        .append(&end("restart", 3, Outcome::Succeeded, Some(0)))
        .unwrap();
    drop(journal);
    let r = replay(&path).unwrap();
    assert_eq!(r.torn_tail, None);
    assert_eq!(r.resumes.len(), 2);
    assert_eq!(r.state("restart"), StepState::Succeeded);
}

#[test]
fn corruption_before_the_last_line_is_reported_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.jsonl");
    write_run(&path);
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let rewrite = |lines: Vec<String>| {
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        replay(&path).unwrap_err()
    };
    let owned = || lines.iter().map(|l| l.to_string()).collect::<Vec<_>>();

    let mut garbled = owned();
    garbled[4] = garbled[4][..10].to_string();
    match rewrite(garbled) {
        JournalError::Corrupt { line, .. } => assert_eq!(line, 5),
        e => panic!("{e}"),
    }
    let mut missing = owned();
    missing.remove(6);
    let err = rewrite(missing);
    assert!(
        matches!(err, JournalError::Corrupt { line: 7, .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("sequence number 8 follows 6"),
        "{err}"
    );

    let mut second = owned();
    let n = second.len();
    second.push(lines[0].replace(r#""seq":1,"#, &format!(r#""seq":{},"#, n + 1)));
    let err = rewrite(second);
    assert!(
        matches!(err, JournalError::SecondSessionStart { line, .. } if line == n + 1),
        "{err}"
    );

    let err = rewrite(owned()[1..].to_vec());
    assert!(
        err.to_string()
            .contains(":1: starts with gate, not session_start"),
        "{err}"
    );
}

/// No writer numbers a line u64::MAX, but a damaged or crafted file may: resuming it is
/// refused, and a line after it is out of sequence, rather than the number overflowing.
#[test]
fn a_journal_at_the_last_sequence_number_is_refused_not_overflowed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.jsonl");
    write_run(&path);
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let last = format!(r#""seq":{},"#, u64::MAX);
    let start = lines[0].replace(r#""seq":1,"#, &last);

    std::fs::write(&path, format!("{start}\n")).unwrap();
    assert_eq!(replay(&path).unwrap().last_seq, u64::MAX);
    let Err(err) = Journal::open_append(&path, Masker::none()) else {
        panic!("a journal at u64::MAX was resumed");
    };
    assert!(
        matches!(err, JournalError::Corrupt { line: 1, .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("is the last a journal can hold"),
        "{err}"
    );

    let next = lines[1].replace(r#""seq":2,"#, r#""seq":0,"#);
    std::fs::write(&path, format!("{start}\n{next}\n")).unwrap();
    let err = replay(&path).unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("sequence number 0 follows {}", u64::MAX)),
        "{err}"
    );
}

#[test]
fn output_is_bounded_per_step_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.jsonl");
    let mut journal = Journal::create(&path, header(), Masker::new(["secret-value"])).unwrap();
    journal.append(&start("dump", 1, "mysqldump")).unwrap();
    let chunk = "é".repeat(333) + "\n"; // 667 bytes: cuts fall inside characters
    for _ in 0..200 {
        journal.append(&out("dump", &chunk)).unwrap();
    }
    journal
        .append(&end("dump", 1, Outcome::Succeeded, Some(0)))
        .unwrap();
    journal.append(&start("dump", 2, "mysqldump")).unwrap();
    journal.append(&out("dump", &"x".repeat(10_000))).unwrap();
    journal
        .append(&end("dump", 2, Outcome::Succeeded, Some(0)))
        .unwrap();
    drop(journal);

    let r = replay(&path).unwrap();
    let kinds: Vec<(&str, usize)> = r
        .events
        .iter()
        .map(|rec| match &rec.event {
            Event::Output { text, .. } => ("output", text.len()),
            Event::OutputTruncated { dropped_bytes, .. } => ("truncated", *dropped_bytes as usize),
            Event::StepStart { .. } => ("start", 0),
            Event::StepEnd { .. } => ("end", 0),
            _ => ("other", 0),
        })
        .collect();
    let end1 = kinds.iter().position(|k| k.0 == "end").unwrap();
    let first: usize = kinds[..end1]
        .iter()
        .filter(|k| k.0 == "output")
        .map(|k| k.1)
        .sum();
    assert!(
        first <= OUTPUT_LIMIT_PER_ATTEMPT && first > OUTPUT_LIMIT_PER_ATTEMPT - 4,
        "{first}"
    );
    assert_eq!(
        kinds[end1 - 1],
        ("truncated", 200 * chunk.len() - first),
        "one notice, just before step_end"
    );
    assert_eq!(kinds.iter().filter(|k| k.0 == "truncated").count(), 1);
    let second: usize = kinds[end1..]
        .iter()
        .filter(|k| k.0 == "output")
        .map(|k| k.1)
        .sum();
    assert_eq!(second, 10_000, "a new attempt has a fresh budget");
}

/// A weak or default value (MaxScale's `mariadb`, a short one) is a common word: masking
/// it would corrupt the record (`modules/****mon`) and point at the password, so the
/// journal keeps such words as they are; a strong secret beside it is still masked.
#[test]
fn weak_and_default_secrets_do_not_corrupt_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.jsonl");
    let masker = Masker::new(["mariadb", "admin", "dump", "repl-Secret-9f3k"]);
    assert_eq!(masker.ignored(), 3);
    let mut journal = Journal::create(&path, header(), masker).unwrap();
    journal
        .append(&start(
            "switch",
            1,
            "call command mariadbmon async-switchover",
        ))
        .unwrap();
    let said = "modules/mariadbmon/async-switchover by admin
                /usr/sbin/mariadbd; mariadb-dump done; pw repl-Secret-9f3k
";
    journal.append(&out("switch", said)).unwrap();
    journal
        .append(&end("switch", 1, Outcome::Succeeded, Some(0)))
        .unwrap();
    drop(journal);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !text.contains("repl-Secret") && !text.contains("9f3k"),
        "{text}"
    );
    let stdout: String = replay(&path)
        .unwrap()
        .events
        .iter()
        .filter_map(|r| match &r.event {
            Event::Output { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(stdout, said.replace("repl-Secret-9f3k", "****"));
    assert!(text.contains("mariadbmon async-switchover"), "{text}");
}

#[test]
fn output_is_journaled_in_whole_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.jsonl");
    let mut journal = Journal::create(&path, header(), Masker::new(["secret-value"])).unwrap();
    journal
        .append(&start("upgrade", 1, "mariadb-upgrade"))
        .unwrap();
    // Reads cut lines anywhere, here mid-word and mid-secret.
    for chunk in [
        "Phase 1/8: Check",
        "ing and upgrading tables\nPhase 2",
        "/8: pass=secr",
        "et-value\n",
        "done",
    ] {
        journal.append(&out("upgrade", chunk)).unwrap();
    }
    journal
        .append(&end("upgrade", 1, Outcome::Succeeded, Some(0)))
        .unwrap();
    drop(journal);

    let texts: Vec<String> = replay(&path)
        .unwrap()
        .events
        .iter()
        .filter_map(|r| match &r.event {
            Event::Output { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        texts,
        [
            "Phase 1/8: Checking and upgrading tables\n",
            "Phase 2/8: pass=****\n",
            "done"
        ]
    );
}

#[test]
fn the_lock_refuses_a_second_driver_and_names_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("run.jsonl");
    let lock = Lock::acquire(&journal).unwrap();
    assert_eq!(lock.took_over_stale, None);
    assert_eq!(lock.path(), dir.path().join("run.jsonl.lock"));
    let on_disk: LockInfo = serde_json::from_slice(&std::fs::read(lock.path()).unwrap()).unwrap();
    assert_eq!(&on_disk, lock.info());
    assert_eq!(on_disk.pid, std::process::id());
    let mode = std::fs::metadata(lock.path()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    let err = Lock::acquire(&journal).unwrap_err();
    match &err {
        LockError::Held {
            pid,
            host,
            operator,
            ..
        } => {
            assert_eq!(*pid, std::process::id());
            let msg = err.to_string();
            assert!(
                msg.contains(operator.as_str()) && msg.contains(host.as_str()),
                "{msg}"
            );
            assert!(msg.contains(&format!("pid {pid}")), "{msg}");
        }
        e => panic!("{e}"),
    }
    assert!(lock.still_held().unwrap());
    let path = lock.path().to_path_buf();
    drop(lock);
    assert!(!path.exists(), "dropping the lock removes it");
    assert!(Lock::acquire(&journal).is_ok());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(leftovers.is_empty(), "no temporary files left behind");
}

fn write_lock(journal: &Path, info: &LockInfo) {
    std::fs::write(Lock::lock_path(journal), serde_json::to_vec(info).unwrap()).unwrap();
}

#[test]
fn a_lock_left_by_a_dead_process_is_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("run.jsonl");
    let mut child = Command::new("true").spawn().unwrap();
    let dead_pid = child.id();
    child.wait().unwrap();
    let stale = LockInfo {
        pid: dead_pid,
        operator: s("ghost"),
        host: current_host(),
        since: s("2026-01-01T00:00:00.000Z"),
    };
    write_lock(&journal, &stale);

    let lock = Lock::acquire(&journal).unwrap();
    assert_eq!(lock.took_over_stale, Some(stale));
    assert_eq!(lock.info().pid, std::process::id());
    assert!(lock.still_held().unwrap());
}

#[test]
fn racing_for_a_stale_lock_only_one_wins() {
    for round in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("run.jsonl");
        let mut child = Command::new("true").spawn().unwrap();
        let dead_pid = child.id();
        child.wait().unwrap();
        let stale = LockInfo {
            pid: dead_pid,
            operator: s("ghost"),
            host: current_host(),
            since: s("x"),
        };
        write_lock(&journal, &stale);
        let barrier = std::sync::Barrier::new(6);
        let results: Vec<Result<Lock, LockError>> = std::thread::scope(|scope| {
            let racers: Vec<_> = (0..6)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        Lock::acquire(&journal)
                    })
                })
                .collect();
            racers.into_iter().map(|r| r.join().unwrap()).collect()
        });
        let winners = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(winners, 1, "round {round}: {results:?}");
        for r in &results {
            assert!(matches!(r, Ok(_) | Err(LockError::Held { .. })), "{r:?}");
        }
        drop(results);
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "round {round}: {left:?}");
    }
}

#[test]
fn a_lock_from_another_host_is_refused_as_unverifiable() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("run.jsonl");
    let other = LockInfo {
        pid: 1,
        operator: s("ops"),
        host: s("bastion-2.example"),
        since: s("2026-01-01T00:00:00.000Z"),
    };
    write_lock(&journal, &other);
    let err = Lock::acquire(&journal).unwrap_err();
    assert!(matches!(err, LockError::OtherHost { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("bastion-2.example") && msg.contains("cannot be verified"),
        "{msg}"
    );
    assert!(
        Lock::lock_path(&journal).exists(),
        "a lock that cannot be verified is left alone"
    );
}

const CRASH_ENV: &str = "FLIGHTDECK_JOURNAL_CRASH_CHILD";
const CRASH_SECRET: &str = "crash-secret-42";

/// Not a test on its own: the writer that `a_writer_killed_mid_run_leaves_a_replayable_journal`
/// runs in a child process and kills. It prints a line only after an append returned.
#[test]
fn crash_child() {
    let Some(path) = std::env::var_os(CRASH_ENV) else {
        return;
    };
    let path = Path::new(&path);
    let mut journal = Journal::create(path, header(), Masker::new([CRASH_SECRET])).unwrap();
    let noise = format!("{CRASH_SECRET} {}\n", "row ".repeat(2000));
    for i in 0..100_000 {
        let step = format!("step-{i}");
        journal.append(&start(&step, 1, "SELECT 1")).unwrap();
        println!("started {i}");
        journal.append(&out(&step, &noise)).unwrap();
        journal
            .append(&end(&step, 1, Outcome::Succeeded, Some(0)))
            .unwrap();
        println!("ended {i}");
    }
}

#[test]
fn a_writer_killed_mid_run_leaves_a_replayable_journal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.jsonl");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CRASH_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut acked = Vec::new();
    while !acked.iter().any(|l: &String| l == "ended 25") {
        assert!(Instant::now() < deadline, "the child wrote too slowly");
        match lines.next() {
            Some(line) => acked.push(line.unwrap()),
            None => panic!("the child exited before it was killed: {acked:?}"),
        }
    }
    child.kill().unwrap(); // SIGKILL: no destructors, no flushing
    child.wait().unwrap();
    acked.extend(lines.map_while(Result::ok)); // printed before the kill: acknowledged
    let last = |what: &str| {
        acked
            .iter()
            .filter_map(|l| l.strip_prefix(what)?.parse::<u32>().ok())
            .max()
            .unwrap()
    };
    let (ended, started) = (last("ended "), last("started "));

    let r = replay(&path).unwrap();
    for i in 0..=ended {
        assert_eq!(
            r.state(&format!("step-{i}")),
            StepState::Succeeded,
            "step-{i}"
        );
    }
    if started > ended {
        let state = r.state(&format!("step-{started}"));
        assert!(
            matches!(state, StepState::Running { .. } | StepState::Succeeded),
            "{state:?}"
        );
    }
    let running: Vec<_> = r.unknown_outcomes().collect();
    assert!(running.len() <= 1, "{running:?}");
    assert!(
        r.steps.len() as u32 <= started + 2,
        "nothing beyond what was under way"
    );
    let bytes = std::fs::read(&path).unwrap();
    assert!(
        !bytes
            .windows(CRASH_SECRET.len())
            .any(|w| w == CRASH_SECRET.as_bytes())
    );

    // A new process resumes the journal where the dead one stopped.
    let mut journal = Journal::open_append(&path, Masker::none()).unwrap();
    if let Some(step) = running.first() {
        journal
            .append(&Event::Skip {
                step: s(step),
                reason: s("verified by hand"),
            })
            .unwrap();
    }
    journal
        .append(&Event::SessionEnd { reason: s("done") })
        .unwrap();
    drop(journal);
    let after = replay(&path).unwrap();
    assert_eq!(after.torn_tail, None);
    assert_eq!(after.unknown_outcomes().count(), 0);
    assert_eq!(after.ended.as_deref(), Some("done"));
}

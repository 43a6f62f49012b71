use super::*;
use crate::line::testkit::{self, blocked, step, view};

fn lines(outs: &[Out]) -> Vec<String> {
    outs.iter()
        .map(|o| match o {
            Out::Line(l) => l.clone(),
            Out::Prompt(p) => format!("{p} <"),
        })
        .collect()
}

fn running(mut s: StepView) -> StepView {
    s.status = Status::Running {
        since: std::time::SystemTime::now(),
        progress: None,
    };
    s.attempts = 1;
    s
}

#[test]
fn a_step_is_printed_once_with_its_command_before_the_question() {
    let mut f = Follow::new();
    let v = view(vec![step("a", "shell"), step("b", "shell")], 1);
    let now = Instant::now();
    assert_eq!(
        lines(&f.observe(&v, now)),
        [
            "[1.1] a (shell) the a step",
            "  on: db1 (target db1)",
            "  command:",
            "    on db1:",
            "    echo a",
            "run a? [y/N/s(kip)/o(verride)/q(uit)] <",
        ]
    );
    assert!(f.observe(&v, now).is_empty(), "nothing new");
    // "n": said, and the same question is asked again, without the step again.
    let (said, cmd) = f.line("n", &v);
    assert_eq!(
        (lines(&said), cmd),
        (vec!["not confirmed: nothing was run".into()], None)
    );
    assert_eq!(
        lines(&f.observe(&v, now)),
        ["run a? [y/N/s(kip)/o(verride)/q(uit)] <"]
    );
    let (_, cmd) = f.line("y", &v);
    assert!(matches!(cmd, Some(Command::Run { .. })));
}

#[test]
fn a_running_step_streams_its_news_and_takes_only_c_or_q() {
    let mut f = Follow::new();
    let now = Instant::now();
    f.observe(&view(vec![step("a", "shell"), step("b", "shell")], 1), now);
    let v = view(vec![running(step("a", "shell")), step("b", "shell")], 1);
    assert_eq!(
        lines(&f.observe(&v, now)),
        ["a │ ▶ started (attempt 1) on db1"]
    );
    let (said, cmd) = f.line("y", &v);
    assert_eq!(
        cmd, None,
        "type-ahead never answers a question not yet asked"
    );
    assert!(lines(&said)[0].starts_with("a is running: c cancels it, q quits"));
    let (_, cmd) = f.line("c", &v);
    assert_eq!(cmd, Some(Command::Cancel { step: "a".into() }));
    let (said, cmd) = f.line("q", &v);
    assert!(said.is_empty() && cmd.is_none());
    assert_eq!(
        lines(&f.observe(&v, now)),
        ["a is running: c(ancel it, then quit)/l(eave it running and quit)/N <"]
    );
    let (_, cmd) = f.line("l", &v);
    assert_eq!(cmd, None);
    assert_eq!(
        f.quit_now(),
        Some("operator quit leaving a running (its outcome is unknown on resume)")
    );
}

#[test]
fn the_end_of_a_step_moves_on_to_the_next_one() {
    let mut f = Follow::new();
    let now = Instant::now();
    f.observe(
        &view(vec![running(step("a", "shell")), step("b", "note")], 1),
        now,
    );
    let mut done = step("a", "shell");
    done.status = Status::Succeeded {
        detail: "exit status 0".into(),
    };
    done.attempts = 1;
    let mut b = step("b", "note");
    b.command = Ok(vec!["Read this.".into()]);
    b.target = None;
    b.servers.clear();
    let v = view(vec![done, b], 1);
    assert_eq!(
        lines(&f.observe(&v, now)),
        [
            "a │ ✔ exit status 0",
            "[2.1] b (note) the b step",
            "  Read this.",
            "acknowledge b? [Enter/s(kip)/q(uit)] <",
        ]
    );
}

#[test]
fn a_blocked_step_is_reprinted_only_when_its_gates_change() {
    let mut f = Follow::new();
    let now = Instant::now();
    let v = view(vec![blocked(step("a", "shell"), "db1.up = false")], 1);
    let first = lines(&f.observe(&v, now));
    assert!(first.contains(&"  gate ✘ db1.up — observed: db1.up = false".to_string()));
    assert_eq!(
        first[first.len() - 2..],
        [
            "a ■ waiting: gate does not hold: db1.up — o overrides with a typed justification",
            "waiting for the gates of a: o(verride)/s(kip)/q(uit) <",
        ]
    );
    assert!(f.observe(&v, now).is_empty());
    let v = view(
        vec![blocked(step("a", "shell"), "db1.up = false (refused)")],
        1,
    );
    assert_eq!(
        lines(&f.observe(&v, now)),
        [
            "a ■ the gates now:",
            "  gate ✘ db1.up — observed: db1.up = false (refused)",
            "waiting for the gates of a: o(verride)/s(kip)/q(uit) <",
        ]
    );
    // While a justification is typed, nothing interrupts it.
    f.line("o", &v);
    assert_eq!(
        lines(&f.observe(&v, now)),
        ["justification to run a despite its gates: <"]
    );
    let v = view(vec![blocked(step("a", "shell"), "db1.up = false")], 1);
    assert!(f.observe(&v, now).is_empty());
}

#[test]
fn a_refusal_is_said_and_the_question_asked_again() {
    let mut f = Follow::new();
    let now = Instant::now();
    let v = view(vec![step("a", "shell")], 1);
    f.observe(&v, now);
    f.line("y", &v);
    assert_eq!(
        lines(&f.refused("the typed name does not match")),
        ["refused: the typed name does not match"]
    );
    assert_eq!(
        lines(&f.observe(&v, now)),
        ["run a? [y/N/s(kip)/o(verride)/q(uit)] <"]
    );
}

#[test]
fn the_end_of_the_run_prints_the_summary_and_ends_the_session() {
    let mut f = Follow::new();
    let now = Instant::now();
    f.observe(&view(vec![step("a", "shell")], 1), now);
    let mut a = step("a", "shell");
    a.status = Status::Skipped {
        reason: "not today".into(),
    };
    let mut v = view(vec![a], 1);
    v.completed = true;
    v.summary = Some(testkit::summary());
    let out = lines(&f.observe(&v, now));
    assert_eq!(out[0], "a │ ↷ skipped: not today");
    assert_eq!(out[1], "Runbook complete: unit · 4 steps · 1m 15s");
    assert_eq!(f.quit_now(), Some("run complete"));
}

#[test]
fn end_of_input_says_what_it_leaves_running() {
    let mut f = Follow::new();
    let v = view(vec![running(step("a", "shell"))], 1);
    assert_eq!(
        f.end("stdin closed: operator quit", &v),
        "stdin closed: operator quit leaving a running (its outcome is unknown on resume)"
    );
    let mut f = Follow::new();
    let v = view(vec![step("a", "shell")], 1);
    assert_eq!(
        f.end("SIGTERM: asked to stop", &v),
        "SIGTERM: asked to stop"
    );
    assert_eq!(f.quit_now(), Some("SIGTERM: asked to stop"));
}

#[test]
fn progress_is_printed_when_it_changes_and_not_more_often_than_every_few_seconds() {
    let mut f = Follow::new();
    let t0 = Instant::now();
    let with = |p: &str| {
        let mut s = running(step("w", "wait"));
        s.status = Status::Running {
            since: std::time::SystemTime::now(),
            progress: Some(p.into()),
        };
        view(vec![s], 1)
    };
    f.observe(&with("3 behind"), t0);
    assert!(
        f.observe(&with("2 behind"), t0 + Duration::from_secs(1))
            .is_empty()
    );
    assert_eq!(
        lines(&f.observe(&with("1 behind"), t0 + PROGRESS_EVERY)),
        ["w │ … 1 behind"]
    );
}

#[test]
fn a_gate_that_comes_to_hold_is_said_in_short_and_the_step_asked_to_run() {
    let mut f = Follow::new();
    let now = Instant::now();
    f.observe(
        &view(vec![blocked(step("a", "shell"), "db1.up = false")], 1),
        now,
    );
    let mut a = step("a", "shell");
    a.gates = vec![testkit::gate("db1.up", true, "db1.up = true")];
    let v = view(vec![a], 1);
    assert_eq!(
        lines(&f.observe(&v, now)),
        [
            "a ✔ its gates hold now:",
            "  gate ✔ db1.up — observed: db1.up = true",
            "run a? [y/N/s(kip)/o(verride)/q(uit)] <",
        ]
    );
    let v = view(vec![blocked(step("a", "shell"), "db1.up = false")], 1);
    assert_eq!(
        lines(&f.observe(&v, now)),
        [
            "a ■ waiting: gate does not hold: db1.up — o overrides with a typed justification",
            "  gate ✘ db1.up — observed: db1.up = false",
            "waiting for the gates of a: o(verride)/s(kip)/q(uit) <",
        ]
    );
}

#[test]
fn nothing_more_is_asked_once_the_operator_leaves() {
    let mut f = Follow::new();
    let now = Instant::now();
    let v = view(vec![running(step("a", "shell")), step("b", "shell")], 1);
    f.observe(&v, now);
    f.line("q", &v);
    f.observe(&v, now);
    let (_, cmd) = f.line("c", &v);
    assert_eq!(cmd, Some(Command::Cancel { step: "a".into() }));
    assert_eq!(f.quit_now(), None, "not before the step has stopped");
    let mut a = step("a", "shell");
    a.status = Status::Failed {
        detail: "cancelled by the operator".into(),
    };
    a.attempts = 1;
    let v = view(vec![a, step("b", "shell")], 1);
    assert_eq!(
        lines(&f.observe(&v, now)),
        ["a │ ✘ cancelled by the operator"]
    );
    assert_eq!(f.quit_now(), Some("operator quit after cancelling a"));
}

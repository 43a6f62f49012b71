use super::*;
use crate::line::testkit::{blocked, step, view};

fn main(id: &str) -> Question {
    Question::Main { step: id.into() }
}

fn run(step: &str, typed: Option<&str>, justification: Option<&str>) -> Option<Command> {
    Some(Command::Run {
        step: step.into(),
        typed: typed.map(str::to_string),
        justification: justification.map(str::to_string),
    })
}

#[test]
fn the_prompt_follows_where_the_step_stands() {
    let mut failed = step("f", "shell");
    failed.status = Status::Failed {
        detail: "exit status 3".into(),
    };
    let mut unknown = step("u", "shell");
    unknown.status = Status::Unknown;
    let v = view(
        vec![
            step("r", "shell"),
            failed,
            unknown,
            step("n", "note"),
            step("m", "manual"),
            blocked(step("b", "shell"), "down"),
        ],
        3,
    );
    let p = |id: &str| prompt(&main(id), &v);
    assert_eq!(p("r"), "run r? [y/N/s(kip)/o(verride)/q(uit)]");
    assert_eq!(p("f"), "retry f? [y/N/s(kip)/o(verride)/q(uit)]");
    assert_eq!(p("u"), "re-run u? [y/N/v(erified)/s(kip)/q(uit)]");
    assert_eq!(p("n"), "acknowledge n? [Enter/s(kip)/q(uit)]");
    assert_eq!(p("m"), "m: done by hand? [y/N/s(kip)/q(uit)]");
    assert_eq!(
        p("b"),
        "waiting for the gates of b: o(verride)/s(kip)/q(uit)"
    );
}

#[test]
fn only_a_bare_y_confirms() {
    let v = view(vec![step("a", "shell")], 1);
    for line in ["", "Y", "yes", " y", "y ", "n"] {
        let r = answer(main("a"), line, &v);
        assert_eq!(r.command, None, "{line:?}");
        assert_eq!(r.next, None);
        assert_eq!(r.say, ["not confirmed: nothing was run"]);
    }
    assert_eq!(answer(main("a"), "y", &v).command, run("a", None, None));
}

#[test]
fn a_destructive_step_asks_for_the_name_it_acts_on() {
    let mut s = step("stop", "shell");
    s.destructive = true;
    s.confirm_name = Ok("server2".into());
    let v = view(vec![s], 1);
    let r = answer(main("stop"), "y", &v);
    assert_eq!(r.command, None);
    let q = r.next.expect("asks the name");
    assert_eq!(prompt(&q, &v), "type server2 to confirm:");
    // What is typed goes to the session as typed: it judges the name.
    let r = answer(q, "server1", &v);
    assert_eq!(r.command, run("stop", Some("server1"), None));
}

#[test]
fn a_skip_needs_a_reason_then_a_y() {
    let v = view(vec![step("a", "shell")], 1);
    let q = answer(main("a"), "s", &v).next.expect("asks a reason");
    assert_eq!(prompt(&q, &v), "reason to skip a:");
    let r = answer(q.clone(), "   ", &v);
    assert_eq!(
        (r.command, r.next, r.say),
        (
            None,
            None,
            vec!["no reason given: nothing was skipped".into()]
        )
    );
    let q = answer(q, " done last week ", &v).next.expect("confirms");
    assert_eq!(
        prompt(&q, &v),
        "skip a? nothing is run; the reason is journaled [y/N]"
    );
    assert_eq!(answer(q.clone(), "", &v).command, None);
    assert_eq!(
        answer(q, "y", &v).command,
        Some(Command::Skip {
            step: "a".into(),
            reason: "done last week".into()
        })
    );
}

#[test]
fn failed_gates_wait_and_an_override_needs_a_justification() {
    let mut s = blocked(step("b", "shell"), "db1.up = false");
    s.destructive = true;
    let v = view(vec![s], 1);
    let r = answer(main("b"), "y", &v);
    assert_eq!(r.command, None);
    assert!(r.say[0].starts_with("waiting for the gates to hold (db1.up)"));
    let q = answer(main("b"), "o", &v).next.expect("asks why");
    assert_eq!(prompt(&q, &v), "justification to run b despite its gates:");
    let q = answer(q, "db1 is down on purpose", &v)
        .next
        .expect("confirms");
    assert_eq!(prompt(&q, &v), "run b despite its gates? [y/N]");
    let q = answer(q, "y", &v).next.expect("destructive: the name");
    let r = answer(q, "db1", &v);
    assert_eq!(
        r.command,
        run("b", Some("db1"), Some("db1 is down on purpose"))
    );
}

#[test]
fn a_failed_check_is_accepted_with_a_justification_and_gates_that_hold_need_none() {
    let mut c = step("c", "check");
    c.status = Status::Failed {
        detail: "db1.up = false".into(),
    };
    let v = view(vec![c, step("a", "shell")], 1);
    let q = answer(main("c"), "o", &v).next.expect("asks why");
    assert_eq!(
        prompt(&q, &v),
        "justification to accept the failed check c and go on:"
    );
    assert_eq!(
        answer(q, "checked by hand", &v).command,
        run("c", None, Some("checked by hand"))
    );
    let r = answer(main("a"), "o", &v);
    assert_eq!(r.say, ["its gates hold: y runs it, no override needed"]);
}

#[test]
fn notes_take_enter_manual_steps_a_y_and_unknown_steps_a_verification() {
    let mut u = step("u", "shell");
    u.status = Status::Unknown;
    let v = view(vec![step("n", "note"), step("m", "manual"), u], 2);
    let done = |id: &str| Some(Command::Done { step: id.into() });
    assert_eq!(answer(main("n"), "", &v).command, done("n"));
    assert_eq!(answer(main("n"), "y", &v).command, None);
    assert_eq!(answer(main("m"), "y", &v).command, done("m"));
    assert_eq!(answer(main("m"), "", &v).command, None);
    assert_eq!(
        answer(main("m"), "v", &v).say,
        ["only a step whose outcome is unknown is marked verified done"]
    );
    let q = answer(main("u"), "v", &v)
        .next
        .expect("asks what was checked");
    let q = answer(q, "the service is stopped", &v)
        .next
        .expect("confirms");
    assert_eq!(prompt(&q, &v), "mark u verified done? nothing is run [y/N]");
    assert_eq!(
        answer(q, "y", &v).command,
        Some(Command::Verified {
            step: "u".into(),
            reason: "the service is stopped".into()
        })
    );
}

#[test]
fn quitting_while_a_step_runs_cancels_it_or_leaves_it_running() {
    let v = view(vec![step("a", "shell")], 1);
    let q = Question::Quit { step: "a".into() };
    let r = answer(q.clone(), "c", &v);
    assert_eq!(r.command, Some(Command::Cancel { step: "a".into() }));
    assert_eq!(
        r.quit,
        Some(Quit::WhenIdle("operator quit after cancelling a".into()))
    );
    assert_eq!(
        answer(q.clone(), "l", &v).quit,
        Some(Quit::Now(
            "operator quit leaving a running (its outcome is unknown on resume)".into()
        ))
    );
    let r = answer(q, "", &v);
    assert_eq!((r.command, r.quit), (None, None));
    assert_eq!(
        answer(main("a"), "q", &v).quit,
        Some(Quit::Now("operator quit".into()))
    );
}

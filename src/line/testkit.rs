//! Views built by hand for the unit tests of what line mode prints and asks.

use crate::session::summary::{PhaseEnd, PhaseSummary, Summary};
use crate::session::view::{Blocked, Judged, NoteView, PhaseView, SessionView, Status, StepView};

pub fn step(id: &str, kind: &'static str) -> StepView {
    StepView {
        id: id.into(),
        title: format!("the {id} step"),
        kind: kind.to_string(),
        phase: 0,
        status: Status::Ready,
        attempts: 0,
        destructive: false,
        target: Some("db1".into()),
        servers: vec!["db1".into()],
        frozen: false,
        command: Ok(vec!["on db1:".into(), format!("echo {id}")]),
        sent: None,
        direction: None,
        verdict: None,
        condition_now: None,
        gates: Vec::new(),
        blocked: None,
        confirm_name: Ok("db1".into()),
        confirm: Vec::new(),
        why: None,
        notes: Vec::new(),
        rollback: None,
        replaces: None,
        overridden: None,
        verified: None,
        output: Vec::new(),
        output_dropped: 0,
    }
}

pub fn gate(condition: &str, holds: bool, observed: &str) -> Judged {
    Judged {
        condition: condition.into(),
        holds,
        observed: vec![observed.into()],
    }
}

pub fn note(label: &'static str, text: &str) -> NoteView {
    NoteView {
        label: label.to_string(),
        warning: label == "WARNING",
        text: text.into(),
    }
}

/// A step whose gate does not hold.
pub fn blocked(mut s: StepView, observed: &str) -> StepView {
    s.status = Status::Blocked;
    s.gates = vec![gate("db1.up", false, observed)];
    s.blocked = Some(Blocked {
        message: "gate does not hold: db1.up — o overrides with a typed justification".into(),
        gates: vec!["db1.up".into()],
    });
    s
}

/// Two phases: steps `0..split` in the first, the rest in the second.
pub fn view(mut steps: Vec<StepView>, split: usize) -> SessionView {
    for (i, s) in steps.iter_mut().enumerate() {
        s.phase = usize::from(i >= split);
    }
    let current = steps.iter().position(|s| !s.status.is_finished());
    let running = steps
        .iter()
        .find(|s| matches!(s.status, Status::Running { .. }))
        .map(|s| s.id.clone());
    let n = steps.len();
    SessionView {
        runbook: "unit".into(),
        phases: vec![
            PhaseView {
                title: "first".into(),
                repetition: None,
                first: 0,
                len: split,
                finished: 0,
                skipped: 0,
                overridden: 0,
                verified: 0,
            },
            PhaseView {
                title: "second".into(),
                repetition: None,
                first: split,
                len: n - split,
                finished: 0,
                skipped: 0,
                overridden: 0,
                verified: 0,
            },
        ],
        steps,
        current,
        running,
        ..SessionView::default()
    }
}

pub fn summary() -> Summary {
    let phase = |title: &str, end, skipped| PhaseSummary {
        title: title.into(),
        end,
        finished: 2,
        steps: 2,
        skipped,
        deviated: 0,
    };
    Summary {
        duration: std::time::Duration::from_secs(75),
        steps: 4,
        phases: vec![
            phase("first", PhaseEnd::Clean, 0),
            phase("second", PhaseEnd::Skipped, 1),
        ],
        skipped: vec![crate::session::summary::Deviation {
            step: "b2".into(),
            what: "skipped".to_string(),
            why: "db1 is down on purpose".into(),
        }],
        overridden: Vec::new(),
        retried: Vec::new(),
        verified: Vec::new(),
    }
}

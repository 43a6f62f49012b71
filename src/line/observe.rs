//! `flightdeck attach --no-tui`: a second operator in plain lines. Each step's change of
//! standing is printed as the driver publishes it, with what the step will send when it
//! becomes the one the run stands at; a four-eyes step says how to approve it. Typed
//! commands: `a STEP NAME` approves, `n TEXT` adds a note, `y` takes an offered wheel,
//! `q` (or the end of input) leaves.

use std::collections::HashMap;
use std::path::Path;

use crate::line::{print, stdin_lines};
use crate::session::run::APPROVAL_GATE;
use crate::session::view::SessionView;
use crate::session::wire::{ToDriver, ToObserver};
use crate::tui::attach::{AttachError, Offered, connect_within, disconnected_text, take_wheel};

/// What a typed line asks.
#[derive(Debug, PartialEq)]
pub enum Typed {
    Approve { step: String, typed: String },
    Note(String),
    Accept,
    Quit,
    Unknown(String),
}

pub fn parse(line: &str) -> Typed {
    let line = line.trim();
    let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
    match (word, rest.trim()) {
        ("a", rest) => match rest.split_once(' ') {
            Some((step, typed)) => Typed::Approve {
                step: step.to_string(),
                typed: typed.trim().to_string(),
            },
            None => Typed::Unknown("a STEP NAME: the step, then what its confirmation asks".into()),
        },
        ("n", text) if !text.is_empty() => Typed::Note(text.to_string()),
        ("y", "") => Typed::Accept,
        ("q", "") => Typed::Quit,
        _ => Typed::Unknown(
            "a STEP NAME approves · n TEXT notes · y takes an offered wheel · q leaves".into(),
        ),
    }
}

/// The lines a new view adds: changes of standing, the step reached, a four-eyes wait.
pub fn news(
    view: &SessionView,
    seen: &mut HashMap<String, String>,
    reached: &mut Option<String>,
) -> Vec<String> {
    let mut out = Vec::new();
    for s in &view.steps {
        let tag = format!("{:?}", std::mem::discriminant(&s.status));
        if seen
            .insert(s.id.clone(), tag.clone())
            .is_some_and(|before| before != tag)
        {
            out.extend(print::status_line(s));
        }
    }
    if let Some(i) = view.current
        && reached.as_deref() != Some(view.steps[i].id.as_str())
    {
        *reached = Some(view.steps[i].id.clone());
        out.extend(print::step_lines(view, i));
        let s = &view.steps[i];
        if s.gates
            .iter()
            .any(|g| g.condition == APPROVAL_GATE && !g.holds)
        {
            let name = s.confirm_name.clone().unwrap_or_else(|_| s.id.clone());
            out.push(format!(
                "{} waits for a second operator: a {} {name}",
                s.id, s.id
            ));
        }
    }
    out
}

pub async fn run(target: &Path, wait: std::time::Duration) -> Result<(), AttachError> {
    let mut a = connect_within(target, wait).await?;
    println!("observing {}'s session ({})", a.driver, a.journal);
    let mut lines = stdin_lines();
    let mut seen = HashMap::new();
    let mut reached = None;
    let mut offer: Option<Offered> = None;
    loop {
        tokio::select! {
            msg = a.news.recv() => match msg {
                Some(ToObserver::View(v)) => {
                    for l in news(&v, &mut seen, &mut reached) {
                        println!("{l}");
                    }
                }
                Some(ToObserver::Said { text }) if !text.is_empty() => println!("{text}"),
                Some(ToObserver::Offer { from, runbook, inventory, journal }) => {
                    offer = Some(Offered { runbook, inventory, journal });
                    println!("{from} offers you the wheel: y takes it");
                }
                Some(ToObserver::HandedOver { runbook, inventory, journal }) => {
                    use std::os::unix::process::CommandExt;
                    let exe = std::env::current_exe()?;
                    let err = std::process::Command::new(exe)
                        .args(["run", &runbook, "--inventory", &inventory, "--journal", &journal, "--no-tui"])
                        .exec();
                    return Err(err.into());
                }
                Some(_) => {}
                None => {
                    println!("{}", disconnected_text(&a.driver, &a.journal));
                    return Ok(());
                }
            },
            line = lines.recv() => {
                let request = match line {
                    Some(Ok(Some(l))) => match parse(&l) {
                        Typed::Approve { step, typed } => Some(ToDriver::Approve { step, typed }),
                        Typed::Note(text) => Some(ToDriver::Note { text }),
                        Typed::Accept => match offer.take() {
                            Some(files) => {
                                let (said, request) = take_wheel(true, &files);
                                println!("{said}");
                                request
                            }
                            None => Some(ToDriver::Accept),
                        },
                        Typed::Quit => return Ok(()),
                        Typed::Unknown(help) => { println!("{help}"); None }
                    },
                    _ => return Ok(()),
                };
                if let Some(r) = request && a.requests.send(r).await.is_err() {
                    println!("{}", disconnected_text(&a.driver, &a.journal));
                    return Ok(());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_lines_mean_what_they_say() {
        assert_eq!(
            parse("a p5-switchover server2"),
            Typed::Approve {
                step: "p5-switchover".into(),
                typed: "server2".into()
            }
        );
        assert_eq!(
            parse("n checked the replica by hand"),
            Typed::Note("checked the replica by hand".into())
        );
        assert_eq!(parse("y"), Typed::Accept);
        assert_eq!(parse("q"), Typed::Quit);
        assert!(matches!(parse("a p5-switchover"), Typed::Unknown(_)));
        assert!(matches!(parse("yes"), Typed::Unknown(_)));
    }
}

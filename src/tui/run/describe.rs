//! What a step will do (or did), in words an operator confirms: the servers, the exact
//! masked command, and for a switchover which way writes move. A started step is
//! described as it was resolved when it first started, never from today's roles.

use crate::exec::job::{JobContext, jobs};
use crate::runbook::model::MaxscaleAction;
use crate::runbook::template::{Escape, Reveal};
use crate::runbook::{Action, Step};
use crate::session::run::StepState;

use super::app::RunApp;

/// Writes move from one server to another (a switchover).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Direction {
    pub from: String,
    pub to: String,
}

/// A step resolved for showing.
#[derive(Clone, Debug, PartialEq)]
pub struct Described {
    pub servers: Vec<String>,
    /// The masked lines sent (or to be sent), or why they cannot be resolved.
    pub command: Result<Vec<String>, String>,
    pub direction: Option<Direction>,
    /// Resolved when the step first started (not from the roles as they are now).
    pub frozen: bool,
    /// The latest attempt's text as journaled, when the step has started.
    pub sent: Option<String>,
}

pub fn describe(app: &RunApp, step: &Step) -> Described {
    let roles = app.roles_for(step);
    let succeeded = app.run.succeeded();
    let facts = super::app::facts(&app.dash, &roles, &succeeded);
    let resolved = app.run.resolved.get(&step.id.value);
    let servers = app.run.servers(step, &facts).unwrap_or_default();
    let no_secrets = Default::default();
    let mut ctx = JobContext {
        vars: &app.vars,
        secrets: &no_secrets,
        inventory: &app.inventory,
        roles: &roles,
        target: None,
        reveal: Reveal::Masked,
    };
    let command = match &step.action {
        Action::Wait { until, .. } => Ok(vec![format!("wait until: {until}")]),
        Action::Check { condition } => Ok(vec![format!("must hold: {condition}")]),
        Action::Manual {
            instructions,
            command,
        } => {
            let mut lines = vec![format!("by hand: {}", instructions.trim())];
            if let Some(c) = command {
                for server in servers
                    .iter()
                    .map(Some)
                    .chain(servers.is_empty().then_some(None))
                {
                    ctx.target = server.cloned();
                    match c.render(&ctx, Escape::Shell, Reveal::Masked) {
                        Ok(text) => {
                            let on = server.map_or(String::new(), |s| format!(" (on {s})"));
                            lines.push(format!("command{on}:"));
                            lines.extend(text.lines().map(|l| format!("  {l}")));
                        }
                        Err(e) => lines.push(format!("cannot resolve the command: {e}")),
                    }
                }
            }
            Ok(lines)
        }
        Action::Note { text } => Ok(vec![text.trim().to_string()]),
        _ => jobs(step, &servers, &mut ctx).map(|js| {
            js.iter()
                .flat_map(|j| j.shown().lines().map(str::to_string).collect::<Vec<_>>())
                .collect()
        }),
    };
    let direction = match &step.action {
        Action::Maxscale(MaxscaleAction::Switchover {
            new_primary,
            old_primary,
        }) => match (
            roles.resolve_one(&old_primary.value),
            roles.resolve_one(&new_primary.value),
        ) {
            (Ok(from), Ok(to)) => Some(Direction { from, to }),
            _ => None,
        },
        _ => None,
    };
    Described {
        servers,
        command,
        direction,
        frozen: resolved.is_some(),
        sent: resolved.and_then(|r| r.sent.clone()),
    }
}

/// For a switchover whose outcome is unknown: who is primary now against who the step was
/// meant to make primary, and what that means.
pub fn unknown_switchover(app: &RunApp, step: &Step) -> Option<String> {
    if app.run.state(&step.id.value) != &StepState::Unknown {
        return None;
    }
    let d = describe(app, step).direction?;
    let now = app.dash.primary();
    Some(match now {
        Some(p) if p == d.to => format!(
            "meant to make {} primary; {p} is primary now: the switchover evidently completed. \
             Check, then mark it verified done (v); a re-run would only repeat the same request.",
            d.to
        ),
        Some(p) if p == d.from => format!(
            "meant to make {} primary; {p} is still primary: the switchover evidently did not \
             complete. Enter repeats the same request ({} → {}).",
            d.to, d.from, d.to
        ),
        Some(p) => format!(
            "meant to make {} primary; {p} is primary now: neither side of the request. \
             Find out what happened before going on.",
            d.to
        ),
        None => format!(
            "meant to make {} primary; no primary is known now: wait for the panes, then decide.",
            d.to
        ),
    })
}

/// The confirmation's text: what runs, where, and (for a switchover) where writes go.
pub fn confirm_lines(app: &RunApp, step: &Step, justification: Option<&str>) -> Vec<String> {
    let d = describe(app, step);
    let mut lines = vec![format!("Run {} — {}?", step.id.value, step.title)];
    if let Some(dir) = &d.direction {
        lines.push(format!("Writes move from {} to {}.", dir.from, dir.to));
    }
    if !d.servers.is_empty() {
        lines.push(format!("On: {}", d.servers.join(", ")));
    }
    if app.run.state(&step.id.value) == &StepState::Unknown {
        lines.push("Its outcome is unknown: this repeats the first request.".into());
        if let Some(s) = unknown_switchover(app, step) {
            lines.push(s);
        }
    }
    match d.command {
        Ok(cmd) => lines.extend(cmd.into_iter().map(|l| format!("  {l}"))),
        Err(e) => lines.push(format!("cannot resolve: {e}")),
    }
    if let Some(j) = justification {
        lines.push(format!("Overriding its gates: {j}"));
    }
    lines
}

//! Repetition: a runbook's `for_each` phases written out, against an inventory, as plain
//! phases and steps, so that the state machine, the journal, resume, skips, overrides and
//! approvals (all keyed by step id) work on them unchanged.
//!
//! Consecutive phases with the same `for_each` are one block: all of its phases run for
//! the first member, then all for the next (seed 002: "to upgrade each slave, shut it
//! down, upgrade it, restart it, and restart replication"). The k-th member's copy of
//! phase P is `P@server3`, titled "… — replica 2 of 3: server3", and each of its steps is
//! `ID@server3`: `@` cannot appear in a written id, so a copy never meets a written step.
//! Inside the block, `item` is the member and `succeeded(ID)` of a step of the block
//! names the same member's copy; anywhere else, `succeeded(ID)` of a repeated step holds
//! when every copy succeeded.
//!
//! Members come from the inventory's initial roles, once, when the runbook is read: a
//! switchover inside the block does not change who is repeated over.

use std::collections::HashMap;

use super::model::{
    Action, ForEach, MaxscaleAction, Members, Note, Phase, Repetition, Runbook, Step,
};
use super::repeat::item_in;
use super::template::ITEM;
use crate::inventory::{Inventory, Role};

/// The roles a `for_each` may name.
pub const ROLES: [&str; 3] = ["replicas", "all", "primary"];

/// The servers a `for_each` names in this inventory, in inventory order (or as listed).
pub fn members_of(over: &Members, inv: &Inventory) -> Vec<String> {
    let with_role = |role: Option<Role>| {
        inv.servers
            .iter()
            .filter(|s| role.is_none_or(|r| s.role == r))
            .map(|s| s.name.clone())
            .collect()
    };
    match over {
        Members::Role(r) if r == "replicas" => with_role(Some(Role::Replica)),
        Members::Role(r) if r == "primary" => with_role(Some(Role::Primary)),
        Members::Role(_) => with_role(None),
        Members::Servers(list) => list.iter().map(|l| l.value.clone()).collect(),
    }
}

/// What one member is called in a repeated phase's title ("replica 2 of 3: server3").
fn noun(over: &Members) -> &'static str {
    match over {
        Members::Role(r) if r == "replicas" => "replica",
        Members::Role(r) if r == "primary" => "primary",
        _ => "server",
    }
}

/// A block: consecutive phases with the same `for_each`, and its members in run order.
struct Block<'a> {
    phases: &'a [Phase],
    members: Vec<String>,
    noun: &'static str,
}

/// The runbook with every `for_each` block written out for `inv`. The runbook has been
/// validated against `inv` (members exist, `order` is a permutation of them).
pub fn expand(runbook: &Runbook, inv: &Inventory) -> Runbook {
    let blocks = blocks(&runbook.phases, inv);
    // Every repeated step id → its copies, for `succeeded(…)` from outside its block.
    let mut copies: HashMap<&str, Vec<String>> = HashMap::new();
    for b in blocks.iter().filter_map(|b| b.as_ref().ok()) {
        for step in b.phases.iter().flat_map(|p| &p.steps) {
            let ids = b.members.iter().map(|m| copy_id(&step.id.value, m));
            copies.insert(&step.id.value, ids.collect());
        }
    }
    let mut phases = Vec::new();
    for b in &blocks {
        match b {
            Err(plain) => {
                let refs = |id: &str| copies.get(id).cloned().unwrap_or_else(|| vec![id.into()]);
                let mut phase = (*plain).clone();
                phase.steps = plain
                    .steps
                    .iter()
                    .map(|s| bind_step(s, None, &refs))
                    .collect();
                phases.push(phase);
            }
            Ok(b) => phases.extend(repetitions(b, &copies)),
        }
    }
    Runbook {
        phases,
        ..runbook.clone()
    }
}

/// Phases grouped: a block (`Ok`) or a plain phase (`Err`).
fn blocks<'a>(phases: &'a [Phase], inv: &Inventory) -> Vec<Result<Block<'a>, &'a Phase>> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(phase) = phases.get(i) {
        let Some(f) = &phase.repeat else {
            out.push(Err(phase));
            i = i.saturating_add(1);
            continue;
        };
        let len = phases
            .get(i..)
            .unwrap_or_default()
            .iter()
            .take_while(|p| p.repeat.as_ref().is_some_and(|g| g.over.same(&f.over)))
            .count();
        let end = i.saturating_add(len);
        let block = phases.get(i..end).unwrap_or_default();
        let order = block
            .iter()
            .find_map(|p| p.repeat.as_ref().and_then(|g: &ForEach| g.order.as_ref()));
        let members = match order {
            Some(o) => o.value.iter().map(|l| l.value.clone()).collect(),
            None => members_of(&f.over, inv),
        };
        out.push(Ok(Block {
            phases: block,
            members,
            noun: noun(&f.over),
        }));
        i = end;
    }
    out
}

fn copy_id(id: &str, member: &str) -> String {
    format!("{id}@{member}")
}

/// A block's phases for each member in turn.
fn repetitions(b: &Block<'_>, copies: &HashMap<&str, Vec<String>>) -> Vec<Phase> {
    let own: Vec<&str> = b
        .phases
        .iter()
        .flat_map(|p| &p.steps)
        .map(|s| s.id.value.as_str())
        .collect();
    let total = b.members.len();
    let mut out = Vec::new();
    for (k, member) in (1_usize..).zip(&b.members) {
        // Inside the block a step id means this member's copy.
        let refs = |id: &str| {
            if own.contains(&id) {
                vec![copy_id(id, member)]
            } else {
                copies.get(id).cloned().unwrap_or_else(|| vec![id.into()])
            }
        };
        for phase in b.phases {
            let title = fill(&phase.title, member);
            out.push(Phase {
                id: copy_id(&phase.id, member),
                title: format!("{title} — {} {k} of {total}: {member}", b.noun),
                why: phase.why.as_deref().map(|w| fill(w, member)),
                notes: notes(&phase.notes, member),
                steps: phase
                    .steps
                    .iter()
                    .map(|s| bind_step(s, Some(member), &refs))
                    .collect(),
                repeat: None,
                repetition: Some(Repetition {
                    member: member.clone(),
                    index: k,
                    count: total,
                    title,
                }),
            });
        }
    }
    out
}

/// `{{ item }}` in free text (titles, notes, instructions) replaced by the member.
fn fill(text: &str, member: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(r) = item_in(rest) {
        out.push_str(rest.get(..r.start).unwrap_or(""));
        out.push_str(member);
        rest = rest.get(r.end..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

fn notes(notes: &[Note], member: &str) -> Vec<Note> {
    notes
        .iter()
        .map(|n| Note {
            kind: n.kind,
            text: fill(&n.text, member),
        })
        .collect()
}

/// One step for member `item` (`None`: a step outside any block, whose `succeeded(…)` of
/// repeated steps still needs their copies).
fn bind_step(step: &Step, item: Option<&str>, refs: &dyn Fn(&str) -> Vec<String>) -> Step {
    let mut s = step.clone();
    s.gates = step.gates.iter().map(|g| g.bind(item, refs)).collect();
    let Some(member) = item else {
        s.action = match &step.action {
            Action::Wait { until } => Action::Wait {
                until: until.bind(None, refs),
            },
            Action::Check { condition } => Action::Check {
                condition: condition.bind(None, refs),
            },
            other => other.clone(),
        };
        return s;
    };
    s.id.value = copy_id(&step.id.value, member);
    s.title = fill(&step.title, member);
    s.why = step.why.as_deref().map(|w| fill(w, member));
    s.rollback = step.rollback.as_deref().map(|w| fill(w, member));
    s.notes = notes(&step.notes, member);
    let subject = |l: &super::model::Located<String>| {
        let mut l = l.clone();
        if l.value == ITEM {
            l.value = member.to_string();
        }
        l
    };
    s.target = step.target.as_ref().map(subject);
    let t = |t: &super::template::Template| t.bind_subject(ITEM, member);
    s.action = match &step.action {
        Action::Sql { statements, expect } => Action::Sql {
            statements: statements.iter().map(t).collect(),
            expect: expect.clone(),
        },
        Action::Shell {
            command,
            expect_exit,
        } => Action::Shell {
            command: t(command),
            expect_exit: *expect_exit,
        },
        Action::Maxscale(m) => Action::Maxscale(match m {
            MaxscaleAction::Set {
                server,
                state,
                force,
            } => MaxscaleAction::Set {
                server: subject(server),
                state: *state,
                force: *force,
            },
            MaxscaleAction::Clear { server, state } => MaxscaleAction::Clear {
                server: subject(server),
                state: *state,
            },
            MaxscaleAction::Switchover {
                new_primary,
                old_primary,
            } => MaxscaleAction::Switchover {
                new_primary: subject(new_primary),
                old_primary: subject(old_primary),
            },
        }),
        Action::Wait { until } => Action::Wait {
            until: until.bind(item, refs),
        },
        Action::Check { condition } => Action::Check {
            condition: condition.bind(item, refs),
        },
        Action::Manual {
            instructions,
            command,
        } => Action::Manual {
            instructions: fill(instructions, member),
            command: command.as_ref().map(t),
        },
        Action::Note { text } => Action::Note {
            text: fill(text, member),
        },
        Action::Preflight { to } => Action::Preflight { to: t(to) },
    };
    s
}

#[cfg(test)]
#[path = "expand_tests.rs"]
mod tests;

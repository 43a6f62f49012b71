//! `for_each` and `order` of a phase: reading them (syntax, without an inventory) and the
//! checks that need the whole runbook or the inventory. Expansion is `super::expand`.

use std::collections::HashSet;
use std::ops::Range;

use toml::Spanned;

use super::expand::{ROLES, members_of};
use super::load::{Reader, located};
use super::model::{ForEach, Located, Members, Runbook};
use super::raw::Texts;
use super::template::ITEM;
use crate::diag::{Diagnostics, SourceError, SourceFile};
use crate::inventory::Inventory;

/// A phase's `for_each` and `order` as the model holds them; errors of syntax and of the
/// members a list names are reported here, at their place.
pub(super) fn for_each(
    r: &mut Reader<'_>,
    raw: Option<Spanned<Texts>>,
    order: Option<Spanned<Vec<Spanned<String>>>>,
) -> Option<ForEach> {
    let Some(raw) = raw else {
        if let Some(o) = order {
            r.error(
                o.span(),
                "`order` orders the members of a `for_each`, and this phase has none".into(),
                Some(
                    "add for_each = \"replicas\" (or a list of servers), or remove `order`".into(),
                ),
            );
        }
        return None;
    };
    let span = raw.span();
    let over = match raw.into_inner() {
        Texts::One(role) if ROLES.contains(&role.as_str()) => Members::Role(role),
        Texts::One(role) if role == "replica" => {
            r.error(
                span,
                "`for_each = \"replica\"`: `replica` is exactly one server".into(),
                Some("repeat over every replica with for_each = \"replicas\"".into()),
            );
            return None;
        }
        Texts::One(other) => {
            r.error(
                span,
                format!("`for_each` cannot repeat over `{other}`"),
                Some(format!(
                    "write one of {}, or a list of server names: [\"server2\", \"server3\"]",
                    ROLES.join(", ")
                )),
            );
            return None;
        }
        Texts::Many(names) => {
            if names.is_empty() {
                r.error(span, "`for_each` names no server".into(), None);
                return None;
            }
            if !unique(r, &names, "`for_each`") {
                return None;
            }
            Members::Servers(names.into_iter().map(located).collect())
        }
    };
    let order = match order {
        Some(o) => {
            let o_span = o.span();
            let names = o.into_inner();
            if !unique(r, &names, "`order`") {
                return None;
            }
            if let Members::Servers(list) = &over {
                let members: Vec<&str> = list.iter().map(|l| l.value.as_str()).collect();
                let order: Vec<&str> = names.iter().map(|n| n.get_ref().as_str()).collect();
                if !permutation(r, o_span.clone(), &members, &order, &names) {
                    return None;
                }
            }
            Some(Located::new(
                names.into_iter().map(located).collect(),
                o_span,
            ))
        }
        None => None,
    };
    Some(ForEach { over, span, order })
}

fn unique(r: &mut Reader<'_>, names: &[Spanned<String>], what: &str) -> bool {
    let mut seen = HashSet::new();
    let mut ok = true;
    for n in names {
        if !seen.insert(n.get_ref()) {
            r.error(
                n.span(),
                format!("{what} names `{}` twice", n.get_ref()),
                None,
            );
            ok = false;
        }
    }
    ok
}

/// Whether `order` holds each member exactly once (it has no duplicates by now); else an
/// error at the stray name, or at `order` for a missing one.
fn permutation(
    r: &mut Reader<'_>,
    span: Range<usize>,
    members: &[&str],
    order: &[&str],
    names: &[Spanned<String>],
) -> bool {
    let d = order_errors(span, members, order, names);
    let ok = d.is_empty();
    for (span, message, help) in d {
        r.error(span, message, Some(help));
    }
    ok
}

/// What is wrong with `order` as a permutation of `members`.
fn order_errors(
    span: Range<usize>,
    members: &[&str],
    order: &[&str],
    names: &[Spanned<String>],
) -> Vec<(Range<usize>, String, String)> {
    let mut out = Vec::new();
    let help = format!(
        "`order` lists every member exactly once: {}",
        members.join(", ")
    );
    for n in names {
        if !members.contains(&n.get_ref().as_str()) {
            out.push((
                n.span(),
                format!(
                    "`{}` in `order` is not a member of this for_each",
                    n.get_ref()
                ),
                help.clone(),
            ));
        }
    }
    let missing: Vec<&str> = members
        .iter()
        .filter(|m| !order.contains(m))
        .copied()
        .collect();
    if !missing.is_empty() {
        out.push((
            span,
            format!("`order` leaves out {}", missing.join(", ")),
            help,
        ));
    }
    out
}

/// The checks of `for_each` that need the whole runbook, or the inventory when one is
/// given: one `order` per block, list members that exist, members for every block, and
/// `{{ item }}` in free text only inside a repeated phase.
pub(super) fn check(
    runbook: &Runbook,
    file: &SourceFile,
    inventory: Option<&Inventory>,
    diags: &mut Diagnostics,
) {
    let mut err = |span: Range<usize>, message: String, help: Option<String>| {
        let mut e = SourceError::new(file, span, message);
        if let Some(h) = help {
            e = e.help(h);
        }
        diags.push(e);
    };
    // The block being read: its members and the first `order` one of its phases gives.
    type Order = Located<Vec<Located<String>>>;
    let mut block: Option<(&Members, Option<&Order>)> = None;
    for phase in &runbook.phases {
        let Some(f) = &phase.repeat else {
            block = None;
            continue;
        };
        match &mut block {
            Some((over, order)) if over.same(&f.over) => match (*order, &f.order) {
                // A block's phases share one order: a second, different one is a mistake.
                (Some(a), Some(b))
                    if !a
                        .value
                        .iter()
                        .map(|l| &l.value)
                        .eq(b.value.iter().map(|l| &l.value)) =>
                {
                    err(
                        b.span.clone(),
                        "this phase repeats in the same block as the one before, with another \
                         `order`"
                            .into(),
                        Some(
                            "a block of phases with the same for_each has one order: give it once"
                                .into(),
                        ),
                    );
                }
                (None, Some(b)) => *order = Some(b),
                _ => {}
            },
            _ => block = Some((&f.over, f.order.as_ref())),
        }
        if let Members::Servers(list) = &f.over {
            let known: Vec<&str> = match inventory {
                Some(inv) => inv.servers.iter().map(|s| s.name.as_str()).collect(),
                None => runbook
                    .meta
                    .servers
                    .iter()
                    .map(|s| s.value.as_str())
                    .collect(),
            };
            for name in list.iter().filter(|n| !known.contains(&n.value.as_str())) {
                let help = match inventory {
                    Some(_) => format!("the inventory has: {}", known.join(", ")),
                    None => "servers named directly must be listed in [runbook] servers".into(),
                };
                err(
                    name.span.clone(),
                    format!("unknown server `{}` in `for_each`", name.value),
                    Some(help),
                );
            }
        }
        let Some(inv) = inventory else { continue };
        let members = members_of(&f.over, inv);
        if members.is_empty() {
            err(
                f.span.clone(),
                format!(
                    "`for_each` repeats over no server in {}",
                    inv.file.path.display()
                ),
                Some(
                    "a phase that runs for nobody is a mistake of the runbook or the inventory"
                        .into(),
                ),
            );
        }
        if let (Some(o), Members::Role(_)) = (&f.order, &f.over) {
            let members: Vec<&str> = members.iter().map(String::as_str).collect();
            let order: Vec<&str> = o.value.iter().map(|l| l.value.as_str()).collect();
            let names: Vec<Spanned<String>> = o
                .value
                .iter()
                .map(|l| Spanned::new(l.span.clone(), l.value.clone()))
                .collect();
            for (span, message, help) in order_errors(o.span.clone(), &members, &order, &names) {
                err(span, message, Some(help));
            }
        }
    }
    free_text(runbook, file, &mut err);
}

/// `{{ item }}` in a title, why, note, rollback or instructions of a phase without
/// `for_each`: there is no member to write there.
fn free_text(
    runbook: &Runbook,
    file: &SourceFile,
    err: &mut impl FnMut(Range<usize>, String, Option<String>),
) {
    for phase in runbook.phases.iter().filter(|p| p.repeat.is_none()) {
        let mut texts: Vec<(&str, usize)> = vec![(&phase.title, 0)];
        texts.extend(phase.why.as_deref().map(|w| (w, 0)));
        texts.extend(phase.notes.iter().map(|n| (n.text.as_str(), 0)));
        for step in &phase.steps {
            let at = step.id.span.start;
            texts.push((&step.title, at));
            texts.extend(step.why.as_deref().map(|w| (w, at)));
            texts.extend(step.rollback.as_deref().map(|w| (w, at)));
            texts.extend(step.notes.iter().map(|n| (n.text.as_str(), at)));
            match &step.action {
                super::model::Action::Manual { instructions, .. } => texts.push((instructions, at)),
                super::model::Action::Note { text } => texts.push((text, at)),
                _ => {}
            }
        }
        for (text, from) in texts {
            let Some(found) = item_in(text) else { continue };
            let needle = text.get(found).unwrap_or(ITEM);
            let span = file
                .text
                .get(from..)
                .and_then(|rest| rest.find(needle))
                .map_or(from..from, |i| {
                    let start = from.saturating_add(i);
                    start..start.saturating_add(needle.len())
                });
            err(span, outside_message(), Some(outside_help()));
        }
    }
}

/// Where `{{ item }}` (any spacing) first stands in free text.
pub(super) fn item_in(text: &str) -> Option<Range<usize>> {
    let mut rest = 0;
    while let Some(open) = text.get(rest..)?.find("{{").map(|i| rest.saturating_add(i)) {
        let close = text
            .get(open..)?
            .find("}}")
            .map(|i| open.saturating_add(i))?;
        let end = close.saturating_add(2);
        if text.get(open.saturating_add(2)..close)?.trim() == ITEM {
            return Some(open..end);
        }
        rest = end;
    }
    None
}

pub(super) fn outside_message() -> String {
    "`item` names the current member of a `for_each` phase, and this phase has no `for_each`".into()
}

pub(super) fn outside_help() -> String {
    "add for_each = \"replicas\" (or a list of servers) to the phase, or name the server".into()
}

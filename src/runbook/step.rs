//! Turning a flat `RawStep` into a typed `Step`: which fields each kind takes, and the
//! parsing of the conditions, templates and durations inside it.

use std::time::Duration;

use toml::Spanned;

use super::condition::Pattern;
use super::duration::parse_bounded;
use super::load::{Reader, condition, content_start, located, shift};
use super::model::{Action, Expect, ExpectTest, MaxscaleAction, ServerStateFlag, Step};
use super::raw::{RawExpect, RawStep, Texts};
use std::collections::BTreeMap;

use super::template::{Context, Escape, Reference, Reveal, ServerField, Template};

/// Fields each kind accepts besides the common ones, and the one it requires.
pub(super) const KINDS: [(&str, &[&str], &str); 8] = [
    ("sql", &["sql", "expect"], "sql"),
    ("shell", &["command", "expect_exit"], "command"),
    (
        "maxscale",
        &[
            "action",
            "server",
            "state",
            "force",
            "new_primary",
            "old_primary",
        ],
        "action",
    ),
    ("wait", &["until"], "until"),
    ("check", &["condition"], "condition"),
    ("manual", &["instructions", "command"], "instructions"),
    ("note", &["text"], "text"),
    ("preflight", &["to"], "to"),
];

pub fn default_timeout(kind: &str) -> Duration {
    match kind {
        "shell" => Duration::from_secs(30 * 60),
        "wait" => Duration::from_secs(5 * 60),
        _ => Duration::from_secs(60),
    }
}

pub(super) fn convert_step(r: &mut Reader<'_>, mut raw: RawStep) -> Option<Step> {
    let before = r.diags.len();
    let kind = raw.kind.get_ref().clone();
    let Some((_, allowed, required)) = KINDS.iter().find(|(k, _, _)| *k == kind) else {
        let names: Vec<&str> = KINDS.iter().map(|(k, _, _)| *k).collect();
        r.error(
            raw.kind.span(),
            format!("unknown step kind `{kind}`"),
            Some(format!("expected one of: {}", names.join(", "))),
        );
        return None;
    };
    let id = raw.id.get_ref();
    let id_ok = id.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c));
    if !id_ok {
        r.error(
            raw.id.span(),
            format!("invalid step id `{id}`"),
            Some("ids are lowercase letters, digits, `_`, `.` and `-`".into()),
        );
    }
    let fields = raw.specific_fields();
    for (name, span) in &fields {
        if !allowed.contains(name) {
            r.error(
                span.clone(),
                format!("`{name}` is not a field of a {kind} step"),
                Some(format!("a {kind} step takes: {}", allowed.join(", "))),
            );
        }
    }
    if !fields.iter().any(|(n, _)| n == required) {
        r.error(
            raw.kind.span(),
            format!("a {kind} step needs `{required}`"),
            None,
        );
        return None;
    }
    if matches!(kind.as_str(), "sql" | "shell") && raw.target.is_none() {
        r.error(
            raw.id.span(),
            format!("a {kind} step needs a `target`"),
            Some("a role (primary, replica), a pin, a server name, or all".into()),
        );
    }
    let second_approval = match &raw.approval {
        None => false,
        Some(a) if a.get_ref() == "second" => true,
        Some(a) => {
            r.error(
                a.span(),
                format!("unknown approval `{}`", a.get_ref()),
                Some("`approval = \"second\"`: a second operator approves before it runs".into()),
            );
            false
        }
    };
    let timeout = match &raw.timeout {
        Some(t) => duration(r, t).unwrap_or_else(|| default_timeout(&kind)),
        None => default_timeout(&kind),
    };
    let gates = raw.gates.iter().filter_map(|g| condition(r, g)).collect();
    let notes = r.notes(std::mem::take(&mut raw.notes));
    let action = action(r, &kind, &mut raw)?;
    if r.diags.len() > before {
        return None;
    }
    Some(Step {
        id: located(raw.id),
        title: raw.title,
        reference: raw.reference,
        why: raw.why,
        target: raw.target.map(located),
        notes,
        destructive: raw.destructive,
        second_approval,
        rollback: raw.rollback,
        timeout,
        gates,
        action,
        overridden: None,
        probe: raw.probe,
    })
}

fn action(r: &mut Reader<'_>, kind: &str, raw: &mut RawStep) -> Option<Action> {
    Some(match kind {
        "sql" => Action::Sql {
            statements: templates(r, raw.sql.take()?),
            expect: raw
                .expect
                .take()
                .map(|e| {
                    e.into_inner()
                        .into_iter()
                        .filter_map(|x| expectation(r, x))
                        .collect()
                })
                .unwrap_or_default(),
        },
        "shell" => Action::Shell {
            command: joined_template(r, raw.command.take()?)?,
            expect_exit: raw.expect_exit.as_ref().map_or(0, |e| *e.get_ref()),
        },
        "maxscale" => Action::Maxscale(maxscale(r, raw)?),
        "wait" => Action::Wait {
            until: condition(r, raw.until.as_ref()?)?,
        },
        "check" => Action::Check {
            condition: condition(r, raw.condition.as_ref()?)?,
        },
        "manual" => Action::Manual {
            instructions: raw.instructions.take()?.into_inner(),
            command: match raw.command.take() {
                Some(c) => Some(joined_template(r, c)?),
                None => None,
            },
        },
        "preflight" => Action::Preflight {
            to: template(r, raw.to.as_ref()?)?,
        },
        _ => Action::Note {
            text: raw.text.take()?.into_inner(),
        },
    })
}

fn maxscale(r: &mut Reader<'_>, m: &mut RawStep) -> Option<MaxscaleAction> {
    let action = m.action.take()?;
    let need = |r: &mut Reader<'_>, f: Option<Spanned<String>>, name: &str| match f {
        Some(v) => Some(located(v)),
        None => {
            r.error(
                action.span(),
                format!("a maxscale `{}` step needs `{name}`", action.get_ref()),
                None,
            );
            None
        }
    };
    let state = |r: &mut Reader<'_>, s: Option<Spanned<String>>| {
        let s = s?;
        match s.get_ref().as_str() {
            "maintenance" => Some(ServerStateFlag::Maintenance),
            "drain" => Some(ServerStateFlag::Drain),
            other => {
                r.error(
                    s.span(),
                    format!("unknown server state `{other}`"),
                    Some("expected maintenance or drain".into()),
                );
                None
            }
        }
    };
    match action.get_ref().as_str() {
        "set" | "clear" => {
            let server = need(r, m.server.take(), "server");
            let st = match m.state.take() {
                Some(s) => state(r, Some(s)),
                None => Some(ServerStateFlag::Maintenance),
            };
            let (server, st) = (server?, st?);
            Some(if action.get_ref() == "set" {
                MaxscaleAction::Set {
                    server,
                    state: st,
                    force: m.force.as_ref().is_some_and(|f| *f.get_ref()),
                }
            } else {
                MaxscaleAction::Clear { server, state: st }
            })
        }
        "switchover" => {
            let new_primary = need(r, m.new_primary.take(), "new_primary");
            let old_primary = need(r, m.old_primary.take(), "old_primary");
            Some(MaxscaleAction::Switchover {
                new_primary: new_primary?,
                old_primary: old_primary?,
            })
        }
        other => {
            r.error(
                action.span(),
                format!("unknown maxscale action `{other}`"),
                Some("expected set, clear or switchover".into()),
            );
            None
        }
    }
}

fn expectation(r: &mut Reader<'_>, e: Spanned<RawExpect>) -> Option<Expect> {
    let span = e.span();
    let mut e = e.into_inner();
    for value in [&mut e.equals, &mut e.starts_with, &mut e.matches]
        .into_iter()
        .flatten()
    {
        *value = substitute(r, &Spanned::new(span.clone(), value.clone()))?;
    }
    let mut tests = Vec::new();
    if let Some(v) = e.equals {
        tests.push(ExpectTest::Equals(v));
    }
    if let Some(v) = e.starts_with {
        tests.push(ExpectTest::StartsWith(v));
    }
    if let Some(v) = e.matches {
        // Compiled here, once: a bad pattern is an error of `check`, never of a running step.
        match Pattern::new(&v) {
            Ok(pattern) => tests.push(ExpectTest::Matches(pattern)),
            Err(err) => {
                r.error(
                    span.clone(),
                    format!("invalid regular expression: {err}"),
                    None,
                );
                return None;
            }
        }
    }
    if let Some(v) = e.at_least {
        tests.push(ExpectTest::AtLeast(v));
    }
    if let Some(v) = e.at_most {
        tests.push(ExpectTest::AtMost(v));
    }
    if e.not_empty == Some(true) {
        tests.push(ExpectTest::NotEmpty);
    }
    if tests.len() != 1 {
        r.error(
            span,
            format!(
                "an expect item needs exactly one test, found {}",
                tests.len()
            ),
            Some("one of: equals, starts_with, matches, at_least, at_most, not_empty".into()),
        );
        return None;
    }
    Some(Expect {
        column: e.column,
        test: tests.remove(0),
    })
}

/// Fills `{{ vars.NAME }}` into an expected value. Only vars: these are
/// fixed when the runbook is read (with the inventory's overrides), unlike server facts.
fn substitute(r: &mut Reader<'_>, s: &Spanned<String>) -> Option<String> {
    if !s.get_ref().contains("{{") {
        return Some(s.get_ref().clone());
    }
    let at = content_start(r.file, &s.span());
    let t = match Template::parse(s.get_ref()) {
        Ok(t) => t,
        Err(e) => {
            r.error(
                shift(&e.range, at),
                format!("template: {}", e.message),
                None,
            );
            return None;
        }
    };
    let mut ok = true;
    let mut errors = Vec::new();
    for (reference, range) in t.references() {
        match reference {
            Reference::Var(name) if r.vars.contains_key(name) => {}
            Reference::Var(name) => errors.push((
                shift(range, at),
                format!("undefined variable `vars.{name}`"),
            )),
            _ => errors.push((
                shift(range, at),
                "only `{{ vars.NAME }}` can be filled into a condition or an expected value"
                    .to_string(),
            )),
        }
    }
    for (span, message) in errors {
        ok = false;
        r.error(span, message, None);
    }
    if !ok {
        return None;
    }
    t.render(&VarsOnly(&r.vars), Escape::None, Reveal::Masked)
        .ok()
}

struct VarsOnly<'a>(&'a BTreeMap<String, String>);

impl Context for VarsOnly<'_> {
    fn var(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
    fn secret(&self, _: &str) -> Option<String> {
        None
    }
    fn fact(&self, _: &str, _: ServerField) -> Option<String> {
        None
    }
}

fn template(r: &mut Reader<'_>, s: &Spanned<String>) -> Option<Template> {
    match Template::parse(s.get_ref()) {
        Ok(t) => Some(t),
        Err(e) => {
            let at = content_start(r.file, &s.span());
            r.error(
                shift(&e.range, at),
                format!("template: {}", e.message),
                None,
            );
            None
        }
    }
}

fn templates(r: &mut Reader<'_>, texts: Spanned<Texts>) -> Vec<Template> {
    let span = texts.span();
    match texts.into_inner() {
        Texts::One(s) => template(r, &Spanned::new(span, s)).into_iter().collect(),
        Texts::Many(items) => items.iter().filter_map(|s| template(r, s)).collect(),
    }
}

/// A command given as an array is one script, a line per item.
fn joined_template(r: &mut Reader<'_>, texts: Spanned<Texts>) -> Option<Template> {
    let parts = templates(r, texts);
    let source: Vec<&str> = parts.iter().map(|t| t.source.as_str()).collect();
    Template::parse(&source.join("\n")).ok()
}

fn duration(r: &mut Reader<'_>, s: &Spanned<String>) -> Option<Duration> {
    match parse_bounded(s.get_ref()) {
        Ok(d) => Some(d),
        Err(e) => {
            r.error(
                s.span(),
                e.to_string(),
                Some("write e.g. 500ms, 30s, 5m, 1h or 1m30s; at most 24h".into()),
            );
            None
        }
    }
}

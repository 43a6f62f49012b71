//! Checks that need more than one step's view: names of servers, roles, pins, vars,
//! secrets and steps, with or without an inventory. Nothing here connects anywhere.

use std::collections::HashSet;
use std::ops::Range;

use super::condition::Condition;
use super::load::{content_start, shift};
use super::model::{Action, MaxscaleAction, Runbook, Step};
use super::template::{ITEM, Reference, Template};
use crate::diag::{Diagnostics, SourceError, SourceFile};
use crate::inventory::{Inventory, Role};

mod roles;

/// Live roles: resolved from what MaxScale and the servers report when a step runs.
pub const LIVE_ROLES: [&str; 2] = ["primary", "replica"];
/// Subjects that name several servers; not valid where one server is needed.
pub const GROUPS: [&str; 2] = ["replicas", "all"];
/// The server a switchover promotes: fixed by the inventory (`[roles] candidate`, or its
/// only replica), not live.
pub const CANDIDATE: &str = "candidate";

/// `file` is the runbook's; `overlay`, when the runbook extends another, the extending
/// file, where its overriding steps are written (their errors point there).
pub fn validate(
    runbook: &Runbook,
    file: &SourceFile,
    overlay: Option<&SourceFile>,
    inventory: Option<&Inventory>,
) -> Diagnostics {
    let mut v = Validator {
        runbook,
        file,
        inventory,
        diags: Diagnostics::default(),
        done: HashSet::new(),
        repeated: false,
        reported: HashSet::new(),
    };
    v.meta();
    for (phase, step) in runbook.steps() {
        v.file = match (&step.overridden, overlay) {
            (Some(_), Some(o)) => o,
            _ => file,
        };
        v.repeated = phase.repeat.is_some();
        v.step(step);
        v.done.insert(step.id.value.clone());
    }
    super::repeat::check(runbook, file, inventory, &mut v.diags);
    v.diags
}

struct Validator<'a> {
    runbook: &'a Runbook,
    file: &'a SourceFile,
    inventory: Option<&'a Inventory>,
    diags: Diagnostics,
    /// Steps before the one being checked, for `succeeded(…)`.
    done: HashSet<String>,
    /// The step being checked is in a `for_each` phase, where `item` names its member.
    repeated: bool,
    /// Roles already refused for this inventory (`candidate`, `replicas`): said once, at
    /// the first use, rather than at each of a runbook's many uses.
    reported: HashSet<&'static str>,
}

#[derive(Clone, Copy, PartialEq)]
enum Want {
    OneServer,
    AnyServers,
}

impl Validator<'_> {
    fn error(&mut self, span: Range<usize>, message: String, help: Option<String>) {
        let mut e = SourceError::new(self.file, span, message);
        if let Some(h) = help {
            e = e.help(h);
        }
        self.diags.push(e);
    }

    /// The inventory's replicas when there are several and its `[roles]` names none:
    /// `replica` (and a pin of it) then names no one server. With three servers the seed runbook ran with unresolved gates.
    fn ambiguous_replicas(&self) -> Option<String> {
        let inv = self.inventory.filter(|i| i.named_replica.is_none())?;
        let replicas: Vec<&str> = inv
            .servers
            .iter()
            .filter(|s| s.role == Role::Replica)
            .map(|s| s.name.as_str())
            .collect();
        (replicas.len() > 1).then(|| replicas.join(", "))
    }

    fn ambiguous(&mut self, what: Option<String>, span: Range<usize>) -> bool {
        let Some(list) = self.ambiguous_replicas() else {
            return false;
        };
        let what = what.map(|w| format!("{w}: ")).unwrap_or_default();
        self.error(
            span,
            format!("{what}`replica` is ambiguous with this inventory ({list} are replicas)"),
            Some(
                "name the server instead, or say which one in the inventory: \
                 [roles] replica = \"server2\""
                    .into(),
            ),
        );
        true
    }

    fn meta(&mut self) {
        let pins: Vec<_> = self
            .runbook
            .pins
            .iter()
            .map(|(alias, pin)| (alias.clone(), pin.value.clone(), pin.span.clone()))
            .collect();
        for (alias, role, span) in pins {
            if !LIVE_ROLES.contains(&role.as_str()) {
                self.error(
                    span,
                    format!("a pin captures a live role, not `{role}`"),
                    Some("write primary or replica".into()),
                );
            } else if role == "replica" {
                self.ambiguous(Some(format!("pin `{alias}` cannot be bound")), span);
            }
        }
        let Some(inv) = self.inventory else { return };
        // Shell steps need a way onto every server they may reach (roles move at a
        // switchover): said once, at the first shell step.
        let shellless: Vec<&str> = inv
            .servers
            .iter()
            .filter(|s| s.transport == crate::inventory::Transport::None)
            .map(|s| s.name.as_str())
            .collect();
        let first_shell = self
            .runbook
            .steps()
            .find(|(_, s)| matches!(s.action, Action::Shell { .. }))
            .map(|(_, s)| s.id.span.clone());
        if let (false, Some(span)) = (shellless.is_empty(), first_shell) {
            self.error(
                span,
                format!(
                    "this runbook runs shell steps, and the inventory gives no shell access to {}",
                    shellless.join(", ")
                ),
                Some(
                    "add ssh = { host = \"…\" } (or transport = \"local\" for a lab host) to each"
                        .into(),
                ),
            );
        }
        for role in &self.runbook.meta.roles {
            let wanted = match role.value.as_str() {
                "primary" => Role::Primary,
                "replica" => Role::Replica,
                "replicas" => {
                    self.some_replicas(role.span.clone());
                    continue;
                }
                CANDIDATE => {
                    self.candidate(role.span.clone());
                    continue;
                }
                other => {
                    self.error(
                        role.span.clone(),
                        format!("unknown role `{other}`"),
                        Some("roles are primary, replica, replicas and candidate".into()),
                    );
                    continue;
                }
            };
            if !inv.servers.iter().any(|s| s.role == wanted) {
                self.error(
                    role.span.clone(),
                    format!(
                        "the runbook needs a {} but inventory {} has none",
                        role.value,
                        inv.file.path.display()
                    ),
                    None,
                );
            }
        }
        for server in &self.runbook.meta.servers {
            if inv.server(&server.value).is_none() {
                self.error(
                    server.span.clone(),
                    format!("server `{}` is not in the inventory", server.value),
                    Some(format!(
                        "the inventory has: {}",
                        self.server_names().join(", ")
                    )),
                );
            }
        }
    }

    fn server_names(&self) -> Vec<String> {
        match self.inventory {
            Some(inv) => inv.servers.iter().map(|s| s.name.clone()).collect(),
            None => self
                .runbook
                .meta
                .servers
                .iter()
                .map(|s| s.value.clone())
                .collect(),
        }
    }

    /// Is `name` a subject this runbook and inventory know?
    fn subject(&mut self, name: &str, span: Range<usize>, want: Want) {
        if name == ITEM {
            if !self.repeated {
                let (message, help) = (
                    super::repeat::outside_message(),
                    super::repeat::outside_help(),
                );
                self.error(span, message, Some(help));
            }
            return;
        }
        if GROUPS.contains(&name) {
            if name == "replicas" {
                self.some_replicas(span.clone());
            }
            if want == Want::OneServer {
                self.error(
                    span,
                    format!("`{name}` names several servers; one is needed here"),
                    Some("use primary, replica, a pin or a server name".into()),
                );
            }
            return;
        }
        if name == "replica" && self.ambiguous(None, span.clone()) {
            return;
        }
        if name == CANDIDATE {
            self.candidate(span);
            return;
        }
        let known = LIVE_ROLES.contains(&name)
            || self.runbook.pins.contains_key(name)
            || self.server_names().iter().any(|s| s == name);
        if !known {
            let mut options: Vec<String> = LIVE_ROLES.iter().map(|s| s.to_string()).collect();
            options.push(CANDIDATE.to_string());
            options.extend(self.runbook.pins.keys().cloned());
            options.extend(self.server_names());
            let help = if self.inventory.is_none() {
                "servers named directly must be listed in [runbook] servers".to_string()
            } else {
                format!("known: {}", options.join(", "))
            };
            self.error(span, format!("unknown target `{name}`"), Some(help));
        }
    }

    fn step(&mut self, step: &Step) {
        if let Some(t) = &step.target {
            self.subject(&t.value, t.span.clone(), Want::AnyServers);
        }
        for gate in &step.gates {
            self.condition(gate);
        }
        match &step.action {
            Action::Sql { statements, .. } => {
                for t in statements {
                    self.template(t, step);
                    for e in super::sql_context::check(t) {
                        let span = self.locate_in(t, &e.range, step);
                        self.error(span, e.message, Some(e.help));
                    }
                }
            }
            Action::Shell { command, .. } => {
                self.template(command, step);
                self.shell_quoting(command, step);
            }
            Action::Manual {
                command: Some(c), ..
            } => {
                self.template(c, step);
                self.shell_quoting(c, step);
            }
            Action::Maxscale(m) => {
                let servers = match m {
                    MaxscaleAction::Set { server, .. } | MaxscaleAction::Clear { server, .. } => {
                        vec![server]
                    }
                    MaxscaleAction::Switchover {
                        new_primary,
                        old_primary,
                    } => vec![new_primary, old_primary],
                };
                for s in servers {
                    self.subject(&s.value, s.span.clone(), Want::OneServer);
                }
            }
            Action::Wait { until, .. } => self.condition(until),
            Action::Check { condition } => self.condition(condition),
            Action::Preflight { to } => self.template(to, step),
            Action::Manual { .. } | Action::Note { .. } => {}
        }
    }

    fn condition(&mut self, c: &Condition) {
        let at = content_start(self.file, &c.span);
        for s in c.subjects() {
            self.subject(&s.name, shift(&s.range, at), Want::AnyServers);
        }
        for s in c.step_refs() {
            let span = shift(&s.range, at);
            if self.done.contains(&s.name) {
                continue;
            }
            if self.runbook.step(&s.name).is_some() {
                self.error(
                    span,
                    format!("`succeeded({})` names a step that comes later", s.name),
                    Some("a gate can only wait for steps before it".into()),
                );
            } else {
                self.error(span, format!("no step has id `{}`", s.name), None);
            }
        }
    }

    /// Templates keep no file span of their own; find the text in the file.
    fn template(&mut self, t: &Template, step: &Step) {
        for (r, range) in t.references() {
            let span = self.locate(&t.source[range.clone()], step);
            match r {
                Reference::Var(name) => {
                    let defined = self.runbook.vars.contains_key(name)
                        || self.inventory.is_some_and(|i| i.vars.contains_key(name));
                    if !defined {
                        self.error(
                            span,
                            format!("undefined variable `vars.{name}`"),
                            Some(format!("define it in [vars]: {name} = \"…\"")),
                        );
                    }
                }
                Reference::Secret(name) => {
                    if !self.runbook.secrets.contains_key(name) {
                        self.error(
                            span,
                            format!("undefined secret `secret.{name}`"),
                            Some(format!(
                                "declare it in [secrets]: {name} = \"what it is\" (the value comes from the inventory's source)"
                            )),
                        );
                    }
                }
                Reference::Fact { subject, .. } if subject == "target" => {
                    if step.target.is_none() {
                        self.error(
                            span,
                            "`target` is used but the step has no target".into(),
                            None,
                        );
                    }
                }
                Reference::Fact { subject, .. } => {
                    self.subject(subject, span, Want::OneServer);
                }
            }
        }
    }

    /// The place of `range` of a template: inside the whole template's text when the file
    /// holds it as is (no escapes), else the excerpt's first occurrence.
    fn locate_in(&self, t: &Template, range: &Range<usize>, step: &Step) -> Range<usize> {
        let from = step.id.span.start;
        match self
            .file
            .text
            .get(from..)
            .and_then(|rest| rest.find(&t.source))
        {
            Some(i) => shift(range, from.saturating_add(i)),
            None => self.locate(t.source.get(range.clone()).unwrap_or(""), step),
        }
    }

    /// A reference in a shell command where no quoting keeps its value literal (issue 11).
    fn shell_quoting(&mut self, t: &Template, step: &Step) {
        if let Err(e) = t.shell_spots() {
            let span = self.locate_in(t, &e.range, step);
            self.error(span, e.message, Some(e.help));
        }
    }

    /// The place of a template excerpt in the file: after the step id, its first occurrence.
    fn locate(&self, needle: &str, step: &Step) -> Range<usize> {
        let from = step.id.span.start;
        match self.file.text[from..].find(needle) {
            Some(i) => shift(&(0..needle.len()), from.saturating_add(i)),
            None => step.id.span.clone(),
        }
    }
}

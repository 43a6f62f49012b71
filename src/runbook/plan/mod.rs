//! The fully resolved runbook for a change ticket: every command and statement with its
//! values filled in, targets resolved to servers, gates spelled out, secrets as `****`.
//!
//! Resolution walks the runbook in order and follows each switchover, so a step after the
//! switchover shows the server that will hold the role by then.

pub mod outline;
mod render;

use std::time::Duration;

pub use outline::Rehearsal;
pub use render::{render_markdown, render_text};

use super::Loaded;
use super::model::{Action, MaxscaleAction, Note};
use super::roles::RoleMap;
use super::template::{Context, Escape, Reveal, ServerField, Template};
use crate::inventory::{Inventory, Transport};

/// What a ticket reader needs about one step.
#[derive(Clone, Debug)]
pub struct PlanStep {
    pub number: String,
    pub id: String,
    pub title: String,
    pub kind: &'static str,
    pub reference: Option<String>,
    pub why: Option<String>,
    pub target: Option<String>,
    pub gates: Vec<String>,
    pub body: Vec<Block>,
    pub notes: Vec<Note>,
    pub destructive: bool,
    pub second_approval: bool,
    /// The write-availability probe measures it: `Some(configured)` when marked (and
    /// whether the inventory has a `[probe]`).
    pub probe: Option<bool>,
    pub rollback: Option<String>,
    pub timeout: Option<Duration>,
}

/// A piece of a step's description.
#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    /// Code to run, with its language (`sql`, `sh`, `http`) and where it runs.
    Code {
        lang: &'static str,
        on: Option<String>,
        text: String,
    },
    /// A labelled line, e.g. `expect: VERSION() starts with "11.4"`.
    Line(&'static str, String),
}

#[derive(Clone, Debug)]
pub struct PlanPhase {
    pub number: usize,
    pub id: String,
    pub title: String,
    pub why: Option<String>,
    pub notes: Vec<Note>,
    pub steps: Vec<PlanStep>,
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub name: String,
    pub description: Option<String>,
    pub versions: Option<String>,
    pub source: Option<String>,
    pub runbook_path: String,
    pub inventory_path: String,
    /// One line per server: name, initial role, addresses.
    pub servers: Vec<String>,
    pub pins: Vec<(String, String)>,
    /// Secret name and where its value will come from (never the value).
    pub secrets: Vec<(String, String)>,
    pub phases: Vec<PlanPhase>,
    /// A rehearsal's journal to estimate the phases' durations from; without one, the
    /// outline adds up the step timeouts.
    pub rehearsal: Option<Rehearsal>,
}

/// Template values as `plan` sees them: the inventory, the simulated roles, no secrets.
struct PlanContext<'a> {
    loaded: &'a Loaded,
    inv: &'a Inventory,
    roles: &'a RoleMap,
    target: Option<String>,
}

impl Context for PlanContext<'_> {
    fn var(&self, name: &str) -> Option<String> {
        self.inv
            .vars
            .get(name)
            .or_else(|| self.loaded.runbook.vars.get(name))
            .cloned()
    }

    fn secret(&self, _: &str) -> Option<String> {
        None // plans never hold secrets; rendering masks them before asking
    }

    fn fact(&self, subject: &str, field: ServerField) -> Option<String> {
        let name = match subject {
            "target" => self.target.clone()?,
            s => self.roles.resolve_one(s).ok()?,
        };
        let server = self.inv.server(&name)?;
        Some(server.field(field))
    }
}

pub fn resolve(loaded: &Loaded, inv: &Inventory) -> Plan {
    let rb = &loaded.runbook;
    let mut roles = RoleMap::from_inventory(inv, &rb.pins);
    let mut phases = Vec::new();
    // Phases and steps are numbered from 1.
    for (phase_no, phase) in (1_usize..).zip(&rb.phases) {
        let mut steps = Vec::new();
        for (step_no, step) in (1_usize..).zip(&phase.steps) {
            let servers = step
                .target
                .as_ref()
                .map(|t| roles.resolve(&t.value).unwrap_or_default())
                .unwrap_or_default();
            let mut body = Vec::new();
            if let Some(o) = &step.overridden {
                body.push(Block::Line("override", o.to_string()));
            }
            let render = |t: &Template, escape, target: Option<&String>| {
                let ctx = PlanContext {
                    loaded,
                    inv,
                    roles: &roles,
                    target: target.cloned(),
                };
                t.render(&ctx, escape, Reveal::Masked)
                    .unwrap_or_else(|e| format!("{}  ⚠ {e}", t.source))
            };
            // A step on several servers shows its text per server when it differs.
            let per_server = |lang, escape, t: &Template, body: &mut Vec<Block>| {
                let texts: Vec<(Option<String>, String)> = if servers.is_empty() {
                    vec![(None, render(t, escape, None))]
                } else {
                    servers
                        .iter()
                        .map(|s| (Some(s.clone()), render(t, escape, Some(s))))
                        .collect()
                };
                let same = texts.windows(2).all(|w| w[0].1 == w[1].1);
                for (on, text) in texts.into_iter().take(if same { 1 } else { usize::MAX }) {
                    let on = if same && servers.len() > 1 {
                        Some(servers.join(", "))
                    } else {
                        on
                    };
                    body.push(Block::Code { lang, on, text });
                }
            };
            match &step.action {
                Action::Sql { statements, expect } => {
                    for t in statements {
                        per_server("sql", Escape::SqlString, t, &mut body);
                    }
                    for e in expect {
                        body.push(Block::Line("expect", e.to_string()));
                    }
                }
                Action::Shell {
                    command,
                    expect_exit,
                } => {
                    per_server("sh", Escape::Shell, command, &mut body);
                    body.push(Block::Line("expect exit", expect_exit.to_string()));
                }
                Action::Maxscale(m) => {
                    let (rest, maxctrl) = maxscale_call(m, &roles, inv);
                    body.push(Block::Code {
                        lang: "http",
                        on: Some("MaxScale REST API".into()),
                        text: rest,
                    });
                    body.push(Block::Line("maxctrl", maxctrl));
                    if let MaxscaleAction::Switchover { new_primary, .. } = m
                        && let Ok(new) = roles.resolve_one(&new_primary.value)
                    {
                        roles.switchover(&new);
                    }
                }
                Action::Wait { until } => {
                    body.push(Block::Line("wait until", until.to_string()));
                }
                Action::Check { condition } => {
                    body.push(Block::Line("must hold", condition.to_string()));
                }
                Action::Manual {
                    instructions,
                    command,
                } => {
                    body.push(Block::Line("by hand", instructions.clone()));
                    if let Some(c) = command {
                        per_server("sh", Escape::Shell, c, &mut body);
                    }
                }
                Action::Note { text } => body.push(Block::Line("note", text.clone())),
                Action::Preflight { to } => body.push(Block::Line(
                    "preflight",
                    format!(
                        "flightdeck preflight --to {} against every server of the inventory \
                         (fails on a blocker)",
                        render(to, Escape::None, None)
                    ),
                )),
            }
            let waits = matches!(step.action, Action::Manual { .. } | Action::Note { .. });
            steps.push(PlanStep {
                number: format!("{phase_no}.{step_no}"),
                id: step.id.value.clone(),
                title: step.title.clone(),
                kind: step.action.kind(),
                reference: step.reference.clone(),
                why: step.why.clone(),
                target: step.target.as_ref().map(|t| roles.describe(&t.value)),
                gates: step.gates.iter().map(|g| g.to_string()).collect(),
                body,
                notes: step.notes.clone(),
                destructive: step.destructive,
                second_approval: step.second_approval,
                probe: step.probed().then_some(inv.probe.is_some()),
                rollback: step.rollback.clone(),
                timeout: (!waits).then_some(step.timeout),
            });
        }
        phases.push(PlanPhase {
            number: phase_no,
            id: phase.id.clone(),
            title: phase.title.clone(),
            why: phase.why.clone(),
            notes: phase.notes.clone(),
            steps,
        });
    }
    header(loaded, inv, phases)
}

fn header(loaded: &Loaded, inv: &Inventory, phases: Vec<PlanPhase>) -> Plan {
    let rb = &loaded.runbook;
    let initial = RoleMap::from_inventory(inv, &rb.pins);
    let servers = inv
        .servers
        .iter()
        .map(|s| {
            let via = match &s.transport {
                Transport::Ssh(ssh) => format!(
                    "ssh {}@{}:{}",
                    ssh.user.as_deref().unwrap_or("(ssh config)"),
                    ssh.host,
                    ssh.port.unwrap_or(22)
                ),
                Transport::Local => "local commands".into(),
                Transport::None => "no shell access".into(),
            };
            let operator = s
                .mysql
                .operator
                .as_ref()
                .filter(|o| o.user != s.mysql.user)
                .map(|o| format!(" (sql steps as {})", o.user))
                .unwrap_or_default();
            format!(
                "{} ({}) mysql {}:{} as {}{operator}, {}",
                s.name,
                s.role.as_str(),
                s.mysql.host,
                s.mysql.port,
                s.mysql.user,
                via
            )
        })
        .collect();
    let versions = match (&rb.meta.from_version, &rb.meta.to_version) {
        (Some(f), Some(t)) => Some(format!("{f} → {t}")),
        (Some(f), None) => Some(format!("from {f}")),
        (None, Some(t)) => Some(format!("to {t}")),
        (None, None) => None,
    };
    Plan {
        name: rb.meta.name.clone(),
        description: rb.meta.description.clone(),
        versions,
        source: rb.meta.source.clone(),
        runbook_path: match &loaded.base {
            Some(base) => format!(
                "{} (extends {})",
                loaded.file.path.display(),
                base.path.display()
            ),
            None => loaded.file.path.display().to_string(),
        },
        inventory_path: inv.file.path.display().to_string(),
        servers,
        pins: initial.pins.clone().into_iter().collect(),
        secrets: rb
            .secrets
            .keys()
            .map(|k| (k.clone(), inv.secret_source(k).to_string()))
            .collect(),
        phases,
        rehearsal: None,
    }
}

/// The REST request and the maxctrl command a MaxScale step amounts to.
fn maxscale_call(m: &MaxscaleAction, roles: &RoleMap, inv: &Inventory) -> (String, String) {
    let monitor = inv
        .maxscale
        .as_ref()
        .map_or("MariaDB-Monitor".to_string(), |m| m.monitor.clone());
    let name = |subject: &str| -> Result<String, std::convert::Infallible> {
        Ok(roles
            .resolve_one(subject)
            .ok()
            .and_then(|s| inv.server(&s).map(|s| s.maxscale_name.clone()))
            .unwrap_or_else(|| format!("<{subject}>")))
    };
    let Ok(call) = m.call(&monitor, name);
    let mut rest = call.rest_line();
    if matches!(
        call,
        crate::maxscale::MaxscaleAction::AsyncSwitchover { .. }
    ) {
        let fetch = crate::maxscale::MaxscaleAction::FetchCmdResult { monitor };
        rest = format!(
            "{rest}\n{}  (until it reports completion)",
            fetch.rest_line()
        );
    }
    (rest, call.maxctrl())
}

pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 3_600_000 == 0 && ms > 0 {
        format!("{}h", ms / 3_600_000)
    } else if ms % 60_000 == 0 && ms > 0 {
        format!("{}m", ms / 60_000)
    } else if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

//! The validated runbook: what the cockpit runs and `plan` prints.
//!
//! Built from the TOML by `load`; every string that came from the file keeps its byte
//! span so later checks (against an inventory) can still point at the source.

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use super::condition::Condition;
use super::template::Template;

#[derive(Clone, Debug)]
pub struct Runbook {
    pub meta: Meta,
    /// `[vars]`: name → value.
    pub vars: BTreeMap<String, String>,
    /// `[secrets]`: name → what it is. Values are never in the runbook.
    pub secrets: BTreeMap<String, String>,
    /// `[pins]`: alias → the live role it captures when the run begins.
    pub pins: BTreeMap<String, Located<String>>,
    pub phases: Vec<Phase>,
}

#[derive(Clone, Debug, Default)]
pub struct Meta {
    pub name: String,
    pub description: Option<String>,
    pub from_version: Option<String>,
    pub to_version: Option<String>,
    pub roles: Vec<Located<String>>,
    pub servers: Vec<Located<String>>,
    pub source: Option<String>,
}

/// A value and where it stands in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located<T> {
    pub value: T,
    pub span: Range<usize>,
}

impl<T> Located<T> {
    pub fn new(value: T, span: Range<usize>) -> Self {
        Self { value, span }
    }
}

#[derive(Clone, Debug)]
pub struct Phase {
    pub id: String,
    pub title: String,
    pub why: Option<String>,
    pub notes: Vec<Note>,
    pub steps: Vec<Step>,
    /// `for_each`: the phase runs once per member (see `super::expand`). `None` once the
    /// runbook is expanded against an inventory.
    pub repeat: Option<ForEach>,
    /// Set by expansion on each copy of a repeated phase: which member it runs for.
    pub repetition: Option<Repetition>,
}

/// One repetition of a `for_each` phase: the k-th of n members.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repetition {
    pub member: String,
    /// From 1.
    pub index: usize,
    pub count: usize,
    /// The phase's title as written (`{{ item }}` filled in), without the member.
    pub title: String,
}

/// A phase's `for_each` and `order`, as written.
#[derive(Clone, Debug)]
pub struct ForEach {
    pub over: Members,
    /// Where the `for_each` value is written.
    pub span: Range<usize>,
    pub order: Option<Located<Vec<Located<String>>>>,
}

/// Who a repeated phase runs for.
#[derive(Clone, Debug)]
pub enum Members {
    /// A role: `replicas`, `all` or `primary`, resolved from the inventory's initial roles.
    Role(String),
    /// Server names, in this order unless `order` says otherwise.
    Servers(Vec<Located<String>>),
}

impl Members {
    /// Whether two phases repeat over the same members (and so belong to one block).
    pub fn same(&self, other: &Members) -> bool {
        match (self, other) {
            (Members::Role(a), Members::Role(b)) => a == b,
            (Members::Servers(a), Members::Servers(b)) => {
                a.iter().map(|l| &l.value).eq(b.iter().map(|l| &l.value))
            }
            _ => false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoteKind {
    Note,
    Tip,
    Warning,
}

impl NoteKind {
    pub fn label(self) -> &'static str {
        match self {
            NoteKind::Note => "NOTE",
            NoteKind::Tip => "TIP",
            NoteKind::Warning => "WARNING",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Note {
    pub kind: NoteKind,
    pub text: String,
}

#[derive(Clone, Debug)]
pub struct Step {
    pub id: Located<String>,
    pub title: String,
    pub reference: Option<String>,
    pub why: Option<String>,
    /// A subject (role, pin, server name, `all`, `replicas`), if the kind needs one.
    pub target: Option<Located<String>>,
    pub notes: Vec<Note>,
    pub destructive: bool,
    /// A second operator, attached to the session, must approve it before it runs.
    pub second_approval: bool,
    pub rollback: Option<String>,
    pub timeout: Duration,
    pub gates: Vec<Condition>,
    pub action: Action,
    /// Set when an extending runbook's `[[override]]` put this step in place of the base's.
    pub overridden: Option<Overridden>,
    /// The write-availability probe runs while this step does (see [`Step::probe_default`]);
    /// `None` until the runbook is read whole.
    pub probe: Option<bool>,
}

impl Step {
    /// Whether this step is a MaxScale switchover.
    pub fn is_switchover(&self) -> bool {
        matches!(
            self.action,
            Action::Maxscale(MaxscaleAction::Switchover { .. })
        )
    }

    /// Whether the probe runs while this step does.
    pub fn probed(&self) -> bool {
        self.probe.unwrap_or(false)
    }
}

/// Where a step came from when it replaces a step of the runbook it extends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Overridden {
    /// The kind of the base's step it replaces.
    pub base_kind: &'static str,
    /// The base file, and the line of the replaced step's id in it.
    pub base: std::path::PathBuf,
    pub base_line: usize,
    /// The extending file, where this step is written.
    pub file: std::path::PathBuf,
}

impl std::fmt::Display for Overridden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "replaces the {} step at {}:{}",
            self.base_kind,
            self.base.display(),
            self.base_line
        )
    }
}

/// What a step does, by kind.
#[derive(Clone, Debug)]
pub enum Action {
    Sql {
        statements: Vec<Template>,
        expect: Vec<Expect>,
    },
    Shell {
        command: Template,
        expect_exit: i32,
    },
    Maxscale(MaxscaleAction),
    /// Ends when `until` holds on live facts (evaluated on every new snapshot, so it
    /// needs no polling interval of its own) or when the step's timeout passes.
    Wait {
        until: Condition,
    },
    Check {
        condition: Condition,
    },
    Manual {
        instructions: String,
        command: Option<Template>,
    },
    Note {
        text: String,
    },
    /// `flightdeck preflight` from the bastion against every server of the inventory, for
    /// an upgrade to `to`: fails on a blocker; warnings are said and pass.
    Preflight {
        to: Template,
    },
}

impl Action {
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Sql { .. } => "sql",
            Action::Shell { .. } => "shell",
            Action::Maxscale(_) => "maxscale",
            Action::Wait { .. } => "wait",
            Action::Check { .. } => "check",
            Action::Manual { .. } => "manual",
            Action::Note { .. } => "note",
            Action::Preflight { .. } => "preflight",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerStateFlag {
    Maintenance,
    Drain,
}

impl ServerStateFlag {
    pub fn as_str(self) -> &'static str {
        match self {
            ServerStateFlag::Maintenance => "maintenance",
            ServerStateFlag::Drain => "drain",
        }
    }
}

#[derive(Clone, Debug)]
pub enum MaxscaleAction {
    Set {
        server: Located<String>,
        state: ServerStateFlag,
        force: bool,
    },
    Clear {
        server: Located<String>,
        state: ServerStateFlag,
    },
    Switchover {
        new_primary: Located<String>,
        old_primary: Located<String>,
    },
}

impl MaxscaleAction {
    /// The REST call this step makes: server subjects named as MaxScale names them
    /// (`name` resolves a role, pin or server), a switchover as the asynchronous command
    /// that `fetch-cmd-result` then polls. Plans show it, executors send it.
    pub fn call<E>(
        &self,
        monitor: &str,
        name: impl Fn(&str) -> Result<String, E>,
    ) -> Result<crate::maxscale::MaxscaleAction, E> {
        use crate::maxscale::{AdminState, MaxscaleAction as Call};
        let admin = |s: ServerStateFlag| match s {
            ServerStateFlag::Maintenance => AdminState::Maintenance,
            ServerStateFlag::Drain => AdminState::Drain,
        };
        Ok(match self {
            MaxscaleAction::Set {
                server,
                state,
                force,
            } => Call::SetState {
                server: name(&server.value)?,
                state: admin(*state),
                force: *force,
            },
            MaxscaleAction::Clear { server, state } => Call::ClearState {
                server: name(&server.value)?,
                state: admin(*state),
            },
            MaxscaleAction::Switchover {
                new_primary,
                old_primary,
            } => Call::AsyncSwitchover {
                monitor: monitor.to_string(),
                new: name(&new_primary.value)?,
                old: Some(name(&old_primary.value)?),
            },
        })
    }
}

/// One check on the first row of an SQL step's last result set.
#[derive(Clone, Debug, PartialEq)]
pub struct Expect {
    pub column: String,
    pub test: ExpectTest,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExpectTest {
    Equals(String),
    StartsWith(String),
    /// Compiled when the runbook is read.
    Matches(crate::runbook::condition::Pattern),
    AtLeast(f64),
    AtMost(f64),
    NotEmpty,
}

impl std::fmt::Display for Expect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.column;
        match &self.test {
            ExpectTest::Equals(v) => write!(f, "{c} = {v:?}"),
            ExpectTest::StartsWith(v) => write!(f, "{c} starts with {v:?}"),
            ExpectTest::Matches(v) => write!(f, "{c} matches /{}/", v.as_str()),
            ExpectTest::AtLeast(v) => write!(f, "{c} ≥ {v}"),
            ExpectTest::AtMost(v) => write!(f, "{c} ≤ {v}"),
            ExpectTest::NotEmpty => write!(f, "{c} is not empty"),
        }
    }
}

impl Runbook {
    pub fn steps(&self) -> impl Iterator<Item = (&Phase, &Step)> {
        self.phases
            .iter()
            .flat_map(|p| p.steps.iter().map(move |s| (p, s)))
    }

    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps().map(|(_, s)| s).find(|s| s.id.value == id)
    }

    /// Marks the steps the write-availability probe measures where the runbook does not
    /// say: every MaxScale switchover, and the `wait` right after one (the switchover's
    /// effect on clients can outlast the REST call).
    pub fn default_probes(&mut self) {
        let mut after_switchover = false;
        for step in self.phases.iter_mut().flat_map(|p| p.steps.iter_mut()) {
            let default = step.is_switchover()
                || (after_switchover && matches!(step.action, Action::Wait { .. }));
            after_switchover = step.is_switchover();
            step.probe.get_or_insert(default);
        }
    }
}

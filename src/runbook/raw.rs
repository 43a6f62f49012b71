//! The runbook as written: serde structs with spans, before kind-specific validation.
//!
//! Every table denies unknown fields, so a misspelled key is an error at its place. A
//! step is one flat table whatever its kind; `load` then checks which fields the kind
//! allows, which gives a clearer message ("`sql` is not a field of a shell step") than an
//! internally tagged enum would, and keeps the spans.
//!
//! The same structs give the runbook's JSON Schema (`super::schema`): their doc comments
//! are what an editor shows on hover, so they are written for the runbook's author.
//! `toml::Spanned` has no schema of its own, hence the `schemars(with)` beside each.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, SeqAccess, Visitor};
use toml::Spanned;

/// `[runbook]`: what the runbook is and what it needs from an inventory.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMeta {
    /// The runbook's name, shown in the cockpit, plans and reports.
    pub name: String,
    /// What the runbook does, in a few sentences.
    pub description: Option<String>,
    /// The version upgraded from, shown in plans and reports (e.g. "10.5").
    pub from_version: Option<String>,
    /// The version upgraded to, shown in plans and reports (e.g. "11.4").
    pub to_version: Option<String>,
    /// Roles the inventory must provide when the run starts (`check --inventory` says
    /// when one does not resolve).
    #[serde(default)]
    #[schemars(with = "Vec<RunbookRole>")]
    pub roles: Vec<Spanned<String>>,
    /// Physical server names the runbook names directly (rare): each must be in the inventory.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub servers: Vec<Spanned<String>>,
    /// The document this runbook encodes, e.g. "seeds/000".
    pub source: Option<String>,
}

/// A live role: resolved when a step runs from what MaxScale and the servers report.
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
// Only its schema is used: `roles` and `[pins]` are read as spanned strings and checked
// by `validate`, which says where a wrong one is.
#[allow(dead_code)]
pub enum LiveRole {
    /// Whichever server is the primary now.
    Primary,
    /// The one replica (an inventory with several names it in `[roles] replica`).
    Replica,
}

/// A role a runbook needs from the inventory.
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
// Only its schema is used, as for `LiveRole`.
#[allow(dead_code)]
pub enum RunbookRole {
    /// A primary.
    Primary,
    /// Exactly one replica (an inventory with several names it in `[roles] replica`).
    Replica,
    /// At least one replica.
    Replicas,
    /// The replica a switchover promotes: the only one, or `[roles] candidate`.
    Candidate,
}

pub type RawVars = BTreeMap<String, String>;
pub type RawSecrets = BTreeMap<String, String>;
pub type RawPins = BTreeMap<String, Spanned<String>>;

/// A phase, `[[phase]]`: steps that belong together, run in order.
// Only the phase's own fields: its `step` array is read step by step, not through this.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPhase {
    /// The phase's id, unique among phases.
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    /// What the phase does, shown in the checklist.
    pub title: String,
    /// Why the phase is there.
    pub why: Option<String>,
    /// Notes, tips and warnings shown with the phase.
    #[serde(default)]
    #[schemars(with = "Vec<RawNote>")]
    pub notes: Vec<Spanned<RawNote>>,
    /// Repeat the phase once per member, one member at a time: "replicas" (every server
    /// whose inventory role is replica), "all", "primary", or a list of server names.
    /// Consecutive phases with the same `for_each` form one block: all its phases run for
    /// the first member, then all for the next. Inside, `item` (a target, a subject,
    /// `{{ item }}`) is the current member.
    #[schemars(with = "Option<Texts>")]
    pub for_each: Option<Spanned<Texts>>,
    /// The members' order (default: inventory order): every member exactly once.
    #[schemars(with = "Option<Vec<String>>")]
    pub order: Option<Spanned<Vec<Spanned<String>>>>,
}

/// A note shown with a phase or a step: `{ kind = "warning", text = "…" }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Note")]
pub struct RawNote {
    /// How it is shown: note, tip or warning.
    #[schemars(with = "String", extend("enum" = ["note", "tip", "warning"]))]
    pub kind: Spanned<String>,
    /// The note's text.
    pub text: String,
}

/// A step, one `[[phase.step]]` table: the common fields, and those of its `kind`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "StepFields")]
pub struct RawStep {
    /// The step's id, unique in the runbook: lowercase letters, digits, `_`, `.` and `-`.
    #[schemars(with = "String", regex(pattern = r"^[a-z0-9][a-z0-9_.-]*$"))]
    pub id: Spanned<String>,
    /// What the step does, shown in the checklist.
    pub title: String,
    /// What the step is: sql, shell, maxscale, wait, check, manual, note or preflight.
    #[schemars(with = "String")]
    pub kind: Spanned<String>,
    /// The section of the source document the step encodes.
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    /// Why the step is there, shown before it is confirmed.
    pub why: Option<String>,
    /// What the step acts on: a live role (primary, replica, replicas), a pin, a server
    /// name, or all.
    #[schemars(with = "Option<String>")]
    pub target: Option<Spanned<String>>,
    /// Notes, tips and warnings shown with the step.
    #[serde(default)]
    #[schemars(with = "Vec<RawNote>")]
    pub notes: Vec<Spanned<RawNote>>,
    /// The operator confirms by typing the target server's name.
    #[serde(default)]
    pub destructive: bool,
    /// `"second"`: a second operator, attached to the session, approves before it runs.
    #[schemars(with = "Option<String>", extend("enum" = ["second"]))]
    pub approval: Option<Spanned<String>>,
    /// How to undo the step, shown with it and in the plan's outline.
    pub rollback: Option<String>,
    /// How long the step may run: 500ms, 30s, 5m, 1h, 1m30s; at most 24h. Default 60s
    /// (shell 30m, wait 5m).
    #[schemars(
        with = "Option<String>",
        regex(
            pattern = r"^\s*(\d+\s*(nsec|ns|usec|us|msec|ms|seconds|second|sec|s|minutes|minute|min|m|hours|hour|hr|h|days|day|d|weeks|week|w|months|month|M|years|year|y)\s*)+$"
        )
    )]
    pub timeout: Option<Spanned<String>>,
    /// Conditions that must hold before the step may run, e.g. "primary.up".
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub gates: Vec<Spanned<String>>,
    /// Measure write availability through the router while it runs (default: on for a
    /// MaxScale switchover and the wait right after it).
    pub probe: Option<bool>,
    // sql
    /// sql: the statements, run in order on one connection to the target.
    #[schemars(with = "Option<Texts>")]
    pub sql: Option<Spanned<Texts>>,
    /// sql: tests of the first row of the last result set, e.g.
    /// `{ column = "Slave_SQL_Running", equals = "Yes" }`.
    #[schemars(with = "Option<Vec<RawExpect>>")]
    pub expect: Option<Spanned<Vec<Spanned<RawExpect>>>>,
    // shell (and manual, shown only)
    /// shell: the script run on the target's host (an array is one script, a line per
    /// item); manual: a command shown to the operator, not run.
    #[schemars(with = "Option<Texts>")]
    pub command: Option<Spanned<Texts>>,
    /// shell: the exit status that means success (default 0).
    #[schemars(with = "Option<i32>")]
    pub expect_exit: Option<Spanned<i32>>,
    // maxscale
    /// maxscale: set or clear a server state, or switchover.
    #[schemars(with = "Option<String>", extend("enum" = ["set", "clear", "switchover"]))]
    pub action: Option<Spanned<String>>,
    /// maxscale set/clear: the server (a role, a pin or a server name).
    #[schemars(with = "Option<String>")]
    pub server: Option<Spanned<String>>,
    /// maxscale set/clear: the state (default maintenance).
    #[schemars(with = "Option<String>", extend("enum" = ["maintenance", "drain"]))]
    pub state: Option<Spanned<String>>,
    /// maxscale set: force maintenance, closing the server's connections at once.
    #[schemars(with = "Option<bool>")]
    pub force: Option<Spanned<bool>>,
    /// maxscale switchover: the server that becomes primary.
    #[schemars(with = "Option<String>")]
    pub new_primary: Option<Spanned<String>>,
    /// maxscale switchover: the primary now.
    #[schemars(with = "Option<String>")]
    pub old_primary: Option<Spanned<String>>,
    // wait / check
    /// wait: the condition that ends the wait, on facts observed after it began.
    #[schemars(with = "Option<String>")]
    pub until: Option<Spanned<String>>,
    /// check: the condition that must hold now.
    #[schemars(with = "Option<String>")]
    pub condition: Option<Spanned<String>>,
    // manual / note
    /// manual: what the operator does by hand before marking the step done.
    #[schemars(with = "Option<String>")]
    pub instructions: Option<Spanned<String>>,
    /// note: the information shown.
    #[schemars(with = "Option<String>")]
    pub text: Option<Spanned<String>>,
    // preflight
    /// preflight: the version upgraded to (templates allowed, e.g. "{{ vars.to_version }}").
    #[schemars(with = "Option<String>")]
    pub to: Option<Spanned<String>>,
}

impl RawStep {
    /// The kind-specific fields present, by name, with their spans.
    pub fn specific_fields(&self) -> Vec<(&'static str, std::ops::Range<usize>)> {
        let mut out = Vec::new();
        macro_rules! field {
            ($($name:ident),*) => {$(
                if let Some(v) = &self.$name {
                    out.push((stringify!($name), v.span()));
                }
            )*};
        }
        field!(
            sql,
            expect,
            command,
            expect_exit,
            action,
            server,
            state,
            force,
            new_primary,
            old_primary,
            until,
            condition,
            instructions,
            text,
            to
        );
        out
    }
}

/// A test of a column of the first row: `column` and exactly one test.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Expect")]
// Exactly one test, as `step::expectation` counts them (`not_empty = false` is none).
#[schemars(extend("oneOf" = [
    { "required": ["equals"] },
    { "required": ["starts_with"] },
    { "required": ["matches"] },
    { "required": ["at_least"] },
    { "required": ["at_most"] },
    { "required": ["not_empty"], "properties": { "not_empty": { "const": true } } }
]))]
pub struct RawExpect {
    /// The column's name as the server returns it, e.g. "VERSION()".
    pub column: String,
    /// The value is exactly this text.
    pub equals: Option<String>,
    /// The value starts with this text.
    pub starts_with: Option<String>,
    /// The value matches this regular expression (Rust regex syntax).
    pub matches: Option<String>,
    /// The value is a number at least this.
    pub at_least: Option<f64>,
    /// The value is a number at most this.
    pub at_most: Option<f64>,
    /// true: the value is not empty (false is no test).
    pub not_empty: Option<bool>,
}

/// A string, or an array of strings each with its own span.
#[derive(Debug)]
pub enum Texts {
    One(String),
    Many(Vec<Spanned<String>>),
}

impl<'de> Deserialize<'de> for Texts {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TextsVisitor;
        impl<'de> Visitor<'de> for TextsVisitor {
            type Value = Texts;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Texts, E> {
                Ok(Texts::One(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Texts, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<String>>()? {
                    items.push(item);
                }
                Ok(Texts::Many(items))
            }
        }
        d.deserialize_any(TextsVisitor)
    }
}

/// What the visitor above accepts. One schema with both types rather than an `anyOf`, so
/// that a validator names the wrong item rather than the whole field.
impl JsonSchema for Texts {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Texts".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": ["string", "array"],
            "items": { "type": "string" }
        })
    }
}

//! The JSON Schema of runbook files (`flightdeck schema runbook`), built from the raw types
//! the loader deserializes and from its table of step kinds, so that the two move together.
//!
//! How it is put together, for the editors that read it (taplo, i.e. Even Better TOML,
//! first):
//! - A plain runbook and one that `extends` another are one schema: the properties of both
//!   forms, and an `if` on `runbook.extends` that forbids what the other form lacks. A
//!   `oneOf` of the two forms would turn every error anywhere in the file into one error on
//!   the whole document ("not valid under any of the given schemas").
//! - A step is its flat fields (`RawStep`: one table whatever its kind, as the loader reads
//!   it) and one `if kind == K` per kind that forbids the other kinds' fields and requires
//!   its own, so an editor marks `sql` on a shell step at `sql` itself; a `oneOf` by kind
//!   would mark the whole step without saying which key is wrong. taplo completes and
//!   explains keys from `properties` (through `allOf`, not `then`), so every field and its
//!   description stays in the flat part.

use std::borrow::Cow;
use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::{Map, Value, json};

use super::overlay::{HOST_LEVEL, RawOverlayMeta};
use super::raw::{LiveRole, RawMeta, RawPhase, RawSecrets, RawStep, RawVars};
use super::step::KINDS;

/// The schema of a runbook file, plain or extending another.
pub fn schema() -> Schema {
    crate::schema::generator().into_root_schema_for::<RunbookFile>()
}

/// A runbook: what to do in a change window, in order, and which facts must hold before
/// each move. Nothing in it names a host or holds a password: that is the inventory's.
/// One with `[runbook] extends` holds only `[runbook]`, `[vars]` and `[[override]]`: the
/// rest comes from the runbook it extends.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
// Only the schema of these two is used; the loader reads each table on its own.
#[allow(dead_code)]
struct Plain {
    /// What the runbook is and what it needs from an inventory.
    runbook: RawMeta,
    /// Plain values, referenced as `{{ vars.NAME }}`; an inventory's `[vars]` overrides them.
    #[serde(default)]
    vars: RawVars,
    /// Secrets by name, each with what it is (`repl_password = "password of the
    /// replication user"`): values never live in a runbook, the inventory says where each
    /// comes from.
    #[serde(default)]
    secrets: RawSecrets,
    /// Names for whoever held a live role when the run began (`original_primary =
    /// "primary"`): captured once at session start and journaled, they never move.
    #[serde(default)]
    pins: BTreeMap<String, LiveRole>,
    /// The phases, in order: `[[phase]]` tables, each with its `[[phase.step]]` tables.
    phase: Vec<PhaseTable>,
}

/// A runbook that extends another and replaces only its host-level steps.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Overlay {
    /// `extends`, and what differs from the base's `[runbook]`.
    runbook: RawOverlayMeta,
    /// Values over the base's `[vars]`; the inventory's `[vars]` win over both.
    #[serde(default)]
    vars: RawVars,
    /// Steps of the base replaced by id: only shell, manual and note steps, each by a step
    /// of one of those kinds. Phases, gates, pins and secrets come from the base.
    #[serde(default, rename = "override")]
    overrides: Vec<OverrideTable>,
}

struct RunbookFile;

impl JsonSchema for RunbookFile {
    fn schema_name() -> Cow<'static, str> {
        "Runbook".into()
    }

    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let plain = Plain::json_schema(g);
        let overlay = Overlay::json_schema(g);
        let meta = take_definition::<RawMeta>(g);
        let overlay_meta = take_definition::<RawOverlayMeta>(g);
        let mut header = json!({
            "description": "`[runbook]`: what the runbook is; with `extends`, the runbook it \
                            extends and what differs from that one's.",
            "type": "object",
            "properties": union(properties(&meta), properties(&overlay_meta)),
            "additionalProperties": false,
        });
        let mut props = union(properties(&plain), properties(&overlay));
        if let Some(runbook) = props.get_mut("runbook") {
            // The header in either form: one table whose keys depend on `extends`.
            std::mem::swap(runbook, &mut header);
        }
        let mut root = json_schema!({
            "title": "flightdeck runbook",
            "type": "object",
            "properties": props,
            "additionalProperties": false,
            "if": {
                "required": ["runbook"],
                "properties": { "runbook": { "required": ["extends"] } }
            },
            "then": only(&overlay, &plain, &overlay_meta, &meta),
            "else": only(&plain, &overlay, &meta, &overlay_meta),
        });
        copy_description(&plain, &mut root);
        root
    }
}

/// What one form of the document adds to the union: its own required keys, and `false`
/// for the other form's keys, at the top and in `[runbook]`.
fn only(form: &Schema, other: &Schema, header: &Schema, other_header: &Schema) -> Value {
    let mut header_rules = forbid(properties(other_header), properties(header));
    header_rules.insert("required".into(), required(header));
    let mut rules = forbid(properties(other), properties(form));
    if let Some(Value::Object(p)) = rules.get_mut("properties") {
        p.insert("runbook".into(), Value::Object(header_rules));
    }
    rules.insert("required".into(), required(form));
    Value::Object(rules)
}

/// `{ "properties": { KEY: false } }` for each key of `other` that `own` lacks.
fn forbid(other: Map<String, Value>, own: Map<String, Value>) -> Map<String, Value> {
    let denied: Map<String, Value> = other
        .into_iter()
        .filter(|(k, _)| !own.contains_key(k))
        .map(|(k, _)| (k, Value::Bool(false)))
        .collect();
    let mut out = Map::new();
    out.insert("properties".into(), Value::Object(denied));
    out
}

/// A phase's own fields (`RawPhase`) and its steps, which the loader reads apart.
struct PhaseTable;

impl JsonSchema for PhaseTable {
    fn schema_name() -> Cow<'static, str> {
        "Phase".into()
    }

    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let mut phase = RawPhase::json_schema(g);
        let mut steps = g.subschema_for::<Vec<StepTable>>();
        steps.insert(
            "description".into(),
            "The phase's steps, in order: `[[phase.step]]` tables.".into(),
        );
        if let Some(Value::Object(p)) = phase.get_mut("properties") {
            p.insert("step".into(), steps.to_value());
        }
        phase
    }
}

struct StepTable;

impl JsonSchema for StepTable {
    fn schema_name() -> Cow<'static, str> {
        "Step".into()
    }

    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let kinds: Vec<&str> = KINDS.iter().map(|(k, _, _)| *k).collect();
        step(RawStep::json_schema(g), &kinds)
    }
}

/// `[[override]]`: a step of the base runbook replaced, named by `step` instead of `id`.
struct OverrideTable;

impl JsonSchema for OverrideTable {
    fn schema_name() -> Cow<'static, str> {
        "Override".into()
    }

    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let mut fields = RawStep::json_schema(g);
        if let Some(Value::Object(p)) = fields.get_mut("properties")
            && let Some(Value::Object(mut id)) = p.remove("id")
        {
            let what = "The id of the base runbook's step this one replaces (a shell, manual \
                        or note step).";
            id.insert("description".into(), what.into());
            p.insert("step".into(), Value::Object(id));
        }
        if let Some(Value::Array(required)) = fields.get_mut("required") {
            for name in required.iter_mut().filter(|n| *n == "id") {
                *name = "step".into();
            }
        }
        let what = "A step of the base runbook replaced, in its place, by a shell, manual or \
                    note step: `step` names it, the rest is the new step's.";
        fields.insert("description".into(), what.into());
        step(fields, &HOST_LEVEL)
    }
}

/// The flat fields with `kind` limited to `kinds` (and without the fields none of them
/// takes), and each kind's rules.
fn step(mut fields: Schema, kinds: &[&str]) -> Schema {
    let specific: Vec<&str> = KINDS
        .iter()
        .flat_map(|(_, f, _)| f.iter().copied())
        .collect();
    let taken: Vec<&str> = KINDS
        .iter()
        .filter(|(k, _, _)| kinds.contains(k))
        .flat_map(|(_, f, _)| f.iter().copied())
        .collect();
    if let Some(Value::Object(p)) = fields.get_mut("properties") {
        p.retain(|name, _| taken.contains(&name.as_str()) || !specific.contains(&name.as_str()));
        if let Some(Value::Object(kind)) = p.get_mut("kind") {
            kind.insert("enum".into(), json!(kinds));
        }
    }
    let mut all_of = vec![fields.clone().to_value()];
    for (kind, allowed, needed) in KINDS.iter().filter(|(k, _, _)| kinds.contains(k)) {
        let mut rules = json!({
            "required": [needed],
            "properties": taken
                .iter()
                .filter(|f| !allowed.contains(f))
                .map(|f| ((*f).to_string(), Value::Bool(false)))
                .collect::<Map<String, Value>>(),
        });
        extra_rules(kind, &mut rules);
        all_of.push(json!({
            "if": { "required": ["kind"], "properties": { "kind": { "const": kind } } },
            "then": rules,
        }));
    }
    // The description on both: taplo shows the `allOf` parts', other tools the whole's.
    let mut out = json_schema!({ "allOf": all_of });
    copy_description(&fields, &mut out);
    out
}

/// What `step::convert_step` and `step::maxscale` require beyond a kind's one field.
fn extra_rules(kind: &str, rules: &mut Value) {
    let when_action = |actions: Value, needs: Value| {
        json!({
            "if": { "required": ["action"], "properties": { "action": { "enum": actions } } },
            "then": { "required": needs },
        })
    };
    match kind {
        "sql" | "shell" => {
            if let Some(Value::Array(required)) = rules.get_mut("required") {
                required.push("target".into());
            }
        }
        "maxscale" => {
            if let Value::Object(r) = rules {
                let set_clear = when_action(json!(["set", "clear"]), json!(["server"]));
                let switchover =
                    when_action(json!(["switchover"]), json!(["new_primary", "old_primary"]));
                r.insert("allOf".into(), json!([set_clear, switchover]));
            }
        }
        _ => {}
    }
}

/// Removes `T`'s definition, which only the union header above uses, and returns it.
fn take_definition<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    let value = g.definitions_mut().remove(T::schema_name().as_ref());
    value
        .and_then(|v| Schema::try_from(v).ok())
        .unwrap_or_else(|| T::json_schema(g))
}

fn properties(schema: &Schema) -> Map<String, Value> {
    match schema.get("properties") {
        Some(Value::Object(p)) => p.clone(),
        _ => Map::new(),
    }
}

fn required(schema: &Schema) -> Value {
    schema.get("required").cloned().unwrap_or_else(|| json!([]))
}

fn copy_description(from: &Schema, to: &mut Schema) {
    if let Some(d) = from.get("description") {
        to.insert("description".into(), d.clone());
    }
}

/// The keys of both, the first one's description where both have a key.
fn union(first: Map<String, Value>, second: Map<String, Value>) -> Map<String, Value> {
    let mut out = second;
    out.extend(first);
    out
}

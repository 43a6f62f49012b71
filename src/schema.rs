//! JSON Schemas of runbook and inventory files, generated from the types their loaders
//! deserialize (schemars), for editors to check a file as it is typed and explain its keys.
//! `flightdeck schema runbook|inventory` prints them; `assets/schema/` ships them, and a
//! test (tests/schema.rs) fails when those files are behind the types.
//!
//! Draft 7 rather than schemars' default 2020-12: it is the draft every editor's JSON
//! Schema support reads, taplo's (Even Better TOML) included.

use schemars::generate::SchemaSettings;
use schemars::transform::{Transform, transform_subschemas};
use schemars::{Schema, SchemaGenerator};
use serde_json::Value;

/// The file formats that have a schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Runbook,
    Inventory,
}

/// The schema of `format`'s files.
pub fn schema(format: Format) -> Schema {
    match format {
        Format::Runbook => crate::runbook::schema::schema(),
        Format::Inventory => crate::inventory::schema::schema(),
    }
}

/// The schema as the shipped files hold it: pretty JSON with a final newline.
pub fn to_json(schema: &Schema) -> String {
    format!("{:#}\n", schema.as_value())
}

/// The generator both schemas are built with.
pub(crate) fn generator() -> SchemaGenerator {
    SchemaSettings::draft07()
        .with_transform(NoNull)
        .into_generator()
}

/// TOML has no null, so an `Option` field is absent or has a value: the `null` schemars
/// allows for an `Option` (which a JSON document may hold) is taken out again.
#[derive(Clone)]
struct NoNull;

impl Transform for NoNull {
    fn transform(&mut self, schema: &mut Schema) {
        let is_null = |v: &Value| v == "null" || v.get("type").is_some_and(|t| t == "null");
        if let Some(Value::Array(types)) = schema.get_mut("type") {
            types.retain(|t| !is_null(t));
            if let [only] = types.as_slice() {
                let only = only.clone();
                schema.insert("type".into(), only);
            }
        }
        if let Some(Value::Array(values)) = schema.get_mut("enum") {
            values.retain(|v| !v.is_null());
        }
        if let Some(Value::Array(any)) = schema.get_mut("anyOf") {
            any.retain(|s| !is_null(s));
            // `anyOf: [X]` is X. A `$ref` beside other keywords (the field's description)
            // goes into an `allOf`, as schemars does it for draft 7, which ignores them.
            if let [Value::Object(only)] = any.as_slice() {
                let only = only.clone();
                schema.remove("anyOf");
                let alone = schema.as_object().is_some_and(|o| o.is_empty());
                if only.contains_key("$ref") && !alone {
                    schema.insert("allOf".into(), Value::Array(vec![Value::Object(only)]));
                } else {
                    for (k, v) in only {
                        schema.insert(k, v);
                    }
                }
            }
        }
        transform_subschemas(self, schema);
    }
}

/// The validation errors of a TOML text against `format`'s schema, one line each
/// (`/pointer: what`): empty when it is valid.
#[cfg(test)]
pub(crate) fn errors(format: Format, toml_text: &str) -> Vec<String> {
    fn leaves(e: &boon::ValidationError<'_, '_>, out: &mut Vec<String>) {
        if e.causes.is_empty() {
            out.push(format!("{}: {}", e.instance_location, e.kind));
        }
        for cause in &e.causes {
            leaves(cause, out);
        }
    }
    let document: Value = match toml::from_str(toml_text) {
        Ok(v) => v,
        Err(e) => return vec![format!("not TOML: {e}")],
    };
    let mut compiler = boon::Compiler::new();
    let mut schemas = boon::Schemas::new();
    let url = "file:///flightdeck.schema.json";
    if let Err(e) = compiler.add_resource(url, schema(format).to_value()) {
        return vec![format!("the schema is no resource: {e:#}")];
    }
    let index = match compiler.compile(url, &mut schemas) {
        Ok(i) => i,
        Err(e) => return vec![format!("the schema does not compile: {e:#}")],
    };
    let mut out = Vec::new();
    if let Err(e) = schemas.validate(&document, index) {
        leaves(&e, &mut out);
    }
    out
}

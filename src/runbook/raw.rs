//! The runbook as written: serde structs with spans, before kind-specific validation.
//!
//! Every table denies unknown fields, so a misspelled key is an error at its place. A
//! step is one flat table whatever its kind; `load` then checks which fields the kind
//! allows, which gives a clearer message ("`sql` is not a field of a shell step") than an
//! internally tagged enum would, and keeps the spans.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, SeqAccess, Visitor};
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMeta {
    pub name: String,
    pub description: Option<String>,
    pub from_version: Option<String>,
    pub to_version: Option<String>,
    #[serde(default)]
    pub roles: Vec<Spanned<String>>,
    #[serde(default)]
    pub servers: Vec<Spanned<String>>,
    pub source: Option<String>,
}

pub type RawVars = BTreeMap<String, String>;
pub type RawSecrets = BTreeMap<String, String>;
pub type RawPins = BTreeMap<String, Spanned<String>>;

/// A phase's own fields; its `step` array is read step by step, not through this.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPhase {
    pub id: Spanned<String>,
    pub title: String,
    pub why: Option<String>,
    #[serde(default)]
    pub notes: Vec<Spanned<RawNote>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNote {
    pub kind: Spanned<String>,
    pub text: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub id: Spanned<String>,
    pub title: String,
    pub kind: Spanned<String>,
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    pub why: Option<String>,
    pub target: Option<Spanned<String>>,
    #[serde(default)]
    pub notes: Vec<Spanned<RawNote>>,
    #[serde(default)]
    pub destructive: bool,
    /// `"second"`: a second operator, attached to the session, approves before it runs.
    pub approval: Option<Spanned<String>>,
    pub rollback: Option<String>,
    pub timeout: Option<Spanned<String>>,
    #[serde(default)]
    pub gates: Vec<Spanned<String>>,
    /// Measure write availability through the router while it runs (default: on for a
    /// MaxScale switchover and the wait right after it).
    pub probe: Option<bool>,
    // sql
    pub sql: Option<Spanned<Texts>>,
    pub expect: Option<Spanned<Vec<Spanned<RawExpect>>>>,
    // shell (and manual, shown only)
    pub command: Option<Spanned<Texts>>,
    pub expect_exit: Option<Spanned<i32>>,
    // maxscale
    pub action: Option<Spanned<String>>,
    pub server: Option<Spanned<String>>,
    pub state: Option<Spanned<String>>,
    pub force: Option<Spanned<bool>>,
    pub new_primary: Option<Spanned<String>>,
    pub old_primary: Option<Spanned<String>>,
    // wait / check
    pub until: Option<Spanned<String>>,
    pub condition: Option<Spanned<String>>,
    // manual / note
    pub instructions: Option<Spanned<String>>,
    pub text: Option<Spanned<String>>,
    // preflight
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExpect {
    pub column: String,
    pub equals: Option<String>,
    pub starts_with: Option<String>,
    pub matches: Option<String>,
    pub at_least: Option<f64>,
    pub at_most: Option<f64>,
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
